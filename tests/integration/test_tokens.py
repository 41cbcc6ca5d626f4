# SPDX-License-Identifier: MIT
"""IMDSv2 tokens: renewal before expiry, one token for all ENIs, no
plain GET unless the v1 fallback is on, and backoff when the token request
is refused.
"""

import time
import unittest

from case import wait_until
from faultcase import FaultCase

TOKEN = "^/latest/api/token$"


class TokenRenewalTest(FaultCase):
    """token_ttl = 5s over a 20 s run with three ENIs."""

    TTL = 5.0
    RUN = 20.0
    CONFIG = {"token_ttl": "5s"}

    def test_renewed_before_expiry_once_per_period(self):
        plans = self.plans()
        self.start_enid()
        self.wait_configured(plans)
        started = time.time()
        time.sleep(self.RUN)
        self.assert_running()
        self.assert_configured(plans)
        requests = self.mock.requests()
        self.assertEqual([r["path"] for r in requests
                          if r.get("status") == 401], [],
                         "requests answered 401")
        self.assert_tokens_used()
        puts = [r for r in requests
                if r["method"] == "PUT" and r["t"] >= started]
        for put in puts:
            self.assertEqual(put["ttl"], "5", "token TTL asked for")
        # A renewal per period (at most TTL seconds apart while GETs go
        # out every refresh), and not one per ENI.
        low = int(self.RUN / self.TTL)
        high = int(self.RUN / (self.TTL / 2)) + 1
        self.assertTrue(low <= len(puts) <= high, "%d token requests in "
                        "%.0f s (want %d to %d)" % (len(puts), self.RUN,
                                                    low, high))
        times = [r["t"] for r in puts]
        gaps = [b - a for a, b in zip(times, times[1:])]
        self.assertFalse([g for g in gaps if g < 1.0],
                         "token requests less than 1 s apart: %s" % gaps)
        self.assertFalse([g for g in gaps if g > self.TTL],
                         "token requests more than a TTL apart: %s" % gaps)


class TokenNotFoundTest(FaultCase):
    """The token PUT returns 404, as a service without IMDSv2 does."""

    LISTED = ATTACHED = ("M0", "M1")
    WATCH = 10.0

    def prepare_metadata(self):
        self.meta.data["token_api"] = False

    def test_no_fallback_configures_nothing(self):
        self.meta.data["token_required"] = True
        self.publish()
        self.enid.config["imds_v1_fallback"] = "no"
        before = self.routing()
        self.enid.start()
        time.sleep(self.WATCH)
        self.assert_running()
        gets = [r["path"] for r in self.mock.requests()
                if r["method"] == "GET"]
        self.assertEqual(gets, [], "GETs without IMDSv2 and fallback off")
        self.assert_same_dump(before, self.without_shared_rules(
            self.routing()), "fallback off")
        puts = self.requests_for(TOKEN, method="PUT")
        self.assertTrue(1 <= len(puts) <= 8, "%d token requests in "
                        "%.0f s" % (len(puts), self.WATCH))

    def test_fallback_uses_plain_gets(self):
        self.meta.data["token_required"] = False
        self.publish()
        self.enid.config["imds_v1_fallback"] = "yes"
        plans = self.plans()
        self.start_enid()
        self.wait_configured(plans)
        gets = [r for r in self.mock.requests() if r["method"] == "GET"]
        self.assertTrue(gets)
        self.assertEqual([r["path"] for r in gets if r["token"]], [],
                         "GETs with a token after a 404 on the token PUT")
        self.assert_reachable(plans)
        self.assert_running()


class TokenForbiddenTest(FaultCase):
    """The token PUT returns 403, and enid backs off."""

    LISTED = ATTACHED = ("M0", "M1")
    WATCH = 10.0

    def prepare_metadata(self):
        self.meta.add_fault(path=TOKEN, method="PUT", status=403)

    def test_backs_off(self):
        before = self.routing()
        self.enid.start()
        first = wait_until(lambda: self.requests_for(TOKEN), 5.0)
        self.assertTrue(first, "no token request" + self.context())
        started = first[0]["t"]
        time.sleep(self.WATCH)
        self.assert_running()
        puts = [r for r in self.requests_for(TOKEN, method="PUT")
                if r["t"] < started + self.WATCH]
        self.assertTrue(1 <= len(puts) <= 8, "%d token requests in the "
                        "first %.0f s" % (len(puts), self.WATCH))
        tokenless = [r["path"] for r in self.mock.requests()
                     if r["method"] == "GET" and not r["token"]]
        self.assertEqual(tokenless, [], "GETs without a token")
        self.assert_same_dump(before, self.without_shared_rules(
            self.routing()), "token refused")


if __name__ == "__main__":
    unittest.main()
