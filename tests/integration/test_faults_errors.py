# SPDX-License-Identifier: MIT
"""Metadata errors, rate limits and retries.

A 429, a connection reset, a 5xx or a timeout is never data: the kernel
keeps its state while the service fails, the failing requests back off,
and the ENI is configured soon after the service recovers. A request that
fails past its deadline marks the ENI in `enid status`. The daemon stays
up, and the other ENIs go on as usual, and one slow ENI delays no other.
"""

import time
import unittest

from faultcase import FaultCase, Monitor

FAIL_WINDOW = 10.0  # seconds of 500s on device-number
MAX_TRIES = 9  # requests for the failing key in FAIL_WINDOW ("about 8")
STEP = 7.0  # one backoff step (5 s cap, 20 % jitter) plus the fetch
TOKEN = "^/latest/api/token$"


class RateLimitTest(FaultCase):
    """Above 10 requests/s the mock rejects requests (429) or resets them."""

    LISTED = ATTACHED = ("M0", "M1", "M2", "M3")
    RATE = 10
    CONFIGURE_DEADLINE = 20.0
    QUIET = 6.0  # refresh cycles watched after every ENI is configured

    def limited(self, **effect):
        self.meta.add_fault(rate=self.RATE, **effect)
        self.publish()
        plans = self.plans()
        self.start_enid()
        self.wait_configured(plans, timeout=self.CONFIGURE_DEADLINE)
        self.assertTrue(self.faulted(), "the rate limit never applied")
        before = self.rig.dump()
        monitor = Monitor(self)
        since = time.time()
        time.sleep(self.QUIET)
        self.assert_running()
        self.assertEqual(monitor.events(), [], "kernel changes while "
                         "throttled" + self.context())
        self.assert_same_dump(before, self.rig.dump(), "throttled refresh")
        self.assert_exact_rules(plans)
        self.assert_exact_tables(plans)
        self.assert_tokens_used()
        tokens = [r for r in self.requests_for(TOKEN, method="PUT")
                  if r.get("status") == 200]
        self.assertEqual(len(tokens), 1, "tokens issued for a 6 h TTL")
        return self.faulted(since)

    def test_429_above_rate(self):
        self.limited(status=429)

    def test_reset_above_rate(self):
        self.limited(reset=True)


class ServerErrorTest(FaultCase):
    """M1's device-number returns 500 for 10 s after its attach."""

    LISTED = ATTACHED = ("M0",)

    def test_500_for_10s_then_configured(self):
        self.start_enid()
        self.wait_configured(self.plans(["M0"]))
        before = self.routing()
        monitor = Monitor(self)
        self.meta.list("M1")
        self.fault("M1", "device-number", mac=self.meta.mac("M1"),
                   until=FAIL_WINDOW, status=500)
        self.publish()
        attached = time.time()
        self.attach_link("M1")
        link = self.link_snapshot("M1")

        time.sleep(FAIL_WINDOW - 0.5)
        self.assert_running()
        self.assertEqual(monitor.events(), [],
                         "kernel changes while device-number fails")
        self.assert_same_dump(before, self.without_link(self.routing(),
                                                        "M1"),
                              "while device-number fails")
        self.assertEqual(self.untouched("M1", link), [])
        plans = self.plans(["M0", "M1"])
        self.wait_configured(plans, timeout=0.5 + STEP + 5.0)
        late = time.time() - attached - FAIL_WINDOW
        self.assertLessEqual(late, STEP, "configured %.1f s after the "
                             "service recovered%s" % (late, self.context()))
        self.assert_exact_rules(plans)
        self.assert_running()

        tries = [r for r in self.key_requests("M1", "device-number")
                 if r["t"] < attached + FAIL_WINDOW]
        self.assertTrue(1 <= len(tries) <= MAX_TRIES, "%d requests for "
                        "device-number in the first %.0f s, at %s s%s" % (
                            len(tries), FAIL_WINDOW,
                            [round(r["t"] - attached, 2) for r in tries],
                            self.context()))


class DeadlineTest(FaultCase):
    """M1's device-number returns 500 for the whole test."""

    LISTED = ATTACHED = ("M0", "M1", "M2")
    DEADLINE = 10.0  # the daemon's per-request deadline

    def prepare_metadata(self):
        self.fault("M1", "device-number", status=500)

    def test_500_past_deadline(self):
        good = self.plans(["M0", "M2"])
        link = self.link_snapshot("M1")
        self.enid.start()
        self.wait_configured(good)
        self.assertTrue(self.enid.wait_ready(timeout=10.0))
        time.sleep(self.DEADLINE + 2.0)
        self.assert_running()
        block = self.status().get("M1")
        self.assertIsNotNone(block, "M1 missing from enid status")
        self.assertNotEqual(block["state"], "configured", block)
        self.assertIn("500", block.get("reason") or "", "status does not "
                      "name the error: %s%s" % (block, self.context()))
        self.assertEqual(self.untouched("M1", link), [])
        self.assert_unconfigured("M1", 10001)
        self.assert_exact_rules(good)
        self.assert_exact_tables(good)
        self.assert_reachable(good)


class SlowEniTest(FaultCase):
    """Every key of M1 is served after 3 s. M2, attached just after M1, is
    configured without waiting for it."""

    LISTED = ATTACHED = ("M0",)
    CONFIG = {"imds_timeout": "5s"}
    LATENCY = 3.0

    def test_slow_eni_delays_no_other(self):
        self.start_enid()
        self.wait_configured(self.plans(["M0"]))
        self.meta.list("M1")
        self.meta.list("M2")
        self.fault("M1", "[a-z0-9-]+", latency=self.LATENCY)
        self.publish()
        self.attach_link("M1")
        attached = time.monotonic()
        self.attach_link("M2")
        self.wait_configured(self.plans(["M0", "M2"]), timeout=5.0)
        elapsed = time.monotonic() - attached
        self.assertLess(elapsed, self.LATENCY - 0.5, "M2 configured %.1f s "
                        "after its attach, behind M1's slow keys%s" % (
                            elapsed, self.context()))
        self.assertTrue(self.missing(self.plans(["M1"])["M1"]),
                        "M1 configured before its keys answered")
        plans = self.plans(["M0", "M1", "M2"])
        self.wait_configured(plans, timeout=3 * self.LATENCY + 3.0)
        self.assert_exact_rules(plans)
        self.assert_running()


if __name__ == "__main__":
    unittest.main()
