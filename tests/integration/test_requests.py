# SPDX-License-Identifier: MIT
"""The request budget of the periodic refresh.

Each refresh cycle reads only the keys whose values change after attach
(local-ipv4s, ipv6s, ipv4-prefix, ipv6-prefix), at most once per key per
ENI, and one token serves every request.
"""

import collections
import math
import time
import unittest

from case import EnidCase
from enidproc import REFRESH_SECONDS

WATCH_SECONDS = 10.0
ADDRESS_KEYS = ("local-ipv4s", "ipv6s", "ipv4-prefix", "ipv6-prefix")
# The refresh interval carries +-20 % jitter.
SHORTEST_CYCLE = REFRESH_SECONDS * 0.8


class RefreshBudgetTest(EnidCase):
    LISTED = ATTACHED = ("M0", "M1", "M2")

    def test_one_read_per_key_per_cycle(self):
        self.start_enid()
        self.wait_configured(self.plans())
        time.sleep(1.0)
        start = time.time()
        time.sleep(WATCH_SECONDS)
        end = time.time()

        window = [r for r in self.mock.requests()
                  if start <= r["t"] < end]
        per_key = collections.Counter()
        for r in window:
            if r["method"] != "GET" or "/macs/" not in r["path"]:
                continue
            mac, _, key = r["path"].split("/macs/")[1].partition("/")
            per_key[(mac, key)] += 1

        self.assertTrue(per_key, "no refresh reads in %.0f s" % WATCH_SECONDS)
        bound = math.ceil(WATCH_SECONDS / SHORTEST_CYCLE) + 1
        for (mac, key), count in per_key.items():
            self.assertIn(key, ADDRESS_KEYS,
                          "%s of %s read during refresh" % (key, mac))
            self.assertLessEqual(count, bound, "%s of %s read %d times in "
                                 "%.0f s" % (key, mac, count, WATCH_SECONDS))
        tokens = [r for r in window if r["method"] == "PUT"]
        self.assertEqual(tokens, [], "a token request during refresh")
        self.stop_enid()


if __name__ == "__main__":
    unittest.main()
