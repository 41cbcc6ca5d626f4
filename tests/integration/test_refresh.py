# SPDX-License-Identifier: MIT
"""Addresses assigned or removed after attach, found by refresh or SIGHUP.

Such changes produce no netlink event, so enid re-reads each managed ENI's
address keys every refresh_interval (2 s here) and on SIGHUP. An address
enid added goes when the metadata drops it; an address someone else added
stays, even one the metadata listed for a while. An unchanged response sends
nothing to the kernel.
"""

import signal
import time
import unittest

from case import EnidCase, wait_until
from monitor import Monitor

NEW = "10.0.1.21"
BY_HAND = "10.0.1.99"
REFRESH_DEADLINE = 2 * 2.0 + 2.0  # two refresh cycles and a margin
SIGHUP_DEADLINE = 1.5


class RefreshCase(EnidCase):
    LISTED = ATTACHED = ("M0", "M1")

    def m1_addresses(self):
        return [a["local"] for a in self.rig.addresses("M1")]

    def wait_address(self, addr, present, timeout):
        return wait_until(lambda: (addr in self.m1_addresses()) == present,
                          timeout, step=0.1)

    def set_m1_addresses(self, addresses):
        self.meta.iface("M1")["local-ipv4s"] = list(addresses)
        self.publish()

    def sighup(self):
        self.enid.proc.send_signal(signal.SIGHUP)


class RefreshTest(RefreshCase):

    def test_address_added_and_removed_by_refresh(self):
        self.start_enid()
        self.wait_configured(self.plans())
        self.assert_pings(False, [NEW], phase="before the metadata lists it")
        self.set_m1_addresses(["10.0.1.20", NEW])
        self.assertTrue(self.wait_address(NEW, True, REFRESH_DEADLINE),
                        "%s not added within %.0f s%s" % (
                            NEW, REFRESH_DEADLINE, self.context()))
        plans = self.plans()
        self.wait_configured(plans)
        self.assert_reachable(plans)
        self.set_m1_addresses(["10.0.1.20"])
        self.assertTrue(self.wait_address(NEW, False, REFRESH_DEADLINE),
                        "%s not removed within %.0f s%s" % (
                            NEW, REFRESH_DEADLINE, self.context()))
        rules = [r for r in self.enid_rules() if r.get("src") == NEW]
        self.assertEqual(rules, [], "rule of the removed address")
        self.assert_pings(False, [NEW], phase="after the metadata dropped it")
        self.assert_exact_rules(self.plans())
        self.stop_enid()

    def test_address_added_by_hand_stays(self):
        self.start_enid()
        self.wait_configured(self.plans())
        self.rig.ip("inst", "addr", "add", BY_HAND + "/24", "dev", "M1",
                    "noprefixroute")
        self.wait_refresh(2)
        self.sighup()
        self.wait_refresh()
        self.assertIn(BY_HAND, self.m1_addresses(), "hand-made address gone"
                      + self.context())
        # Listed for a while, then dropped: still not enid's to remove.
        self.set_m1_addresses(["10.0.1.20", BY_HAND])
        ok = wait_until(lambda: [r for r in self.enid_rules()
                                 if r.get("src") == BY_HAND],
                        REFRESH_DEADLINE, step=0.1)
        self.assertTrue(ok, "no rule for %s once listed%s" % (
            BY_HAND, self.context()))
        self.set_m1_addresses(["10.0.1.20"])
        ok = wait_until(lambda: not [r for r in self.enid_rules()
                                     if r.get("src") == BY_HAND],
                        REFRESH_DEADLINE, step=0.1)
        self.assertTrue(ok, "rule for %s kept after it was unlisted%s" % (
            BY_HAND, self.context()))
        self.wait_refresh()
        self.assertIn(BY_HAND, self.m1_addresses(), "enid removed an address "
                      "it did not add" + self.context())
        self.stop_enid()

    def test_unchanged_response_sends_nothing(self):
        self.start_enid()
        self.wait_configured(self.plans())
        self.wait_refresh()
        monitor = Monitor(self.rig, self.workdir + "/monitor.log",
                          objects=("link", "address", "route", "rule")).start()
        self.addCleanup(monitor.stop)
        self.wait_refresh(4)
        self.sighup()
        self.wait_refresh()
        events = monitor.lines()
        self.assertEqual(events, [], "kernel changes with unchanged metadata"
                         + self.context())
        refreshes = [r for r in self.mock.requests()
                     if r["path"].endswith("/local-ipv4s")]
        self.assertGreaterEqual(len(refreshes), 4, "local-ipv4s reads")
        self.stop_enid()


class SighupTest(RefreshCase):
    # Neither the refresh nor the settle window re-reads during the test.
    CONFIG = {"refresh_interval": "60s", "settle_window": "0s"}

    def test_sighup_reads_at_once(self):
        self.start_enid()
        self.wait_configured(self.plans())
        time.sleep(1.0)
        self.set_m1_addresses(["10.0.1.20", NEW])
        self.assertFalse(self.wait_address(NEW, True, 3.0),
                         "%s added without SIGHUP (the control)" % NEW)
        self.sighup()
        self.assertTrue(self.wait_address(NEW, True, SIGHUP_DEADLINE),
                        "%s not added within %.1f s of SIGHUP%s" % (
                            NEW, SIGHUP_DEADLINE, self.context()))
        plans = self.plans()
        self.wait_configured(plans)
        self.assert_reachable(plans)
        self.set_m1_addresses(["10.0.1.20"])
        self.sighup()
        self.assertTrue(self.wait_address(NEW, False, SIGHUP_DEADLINE),
                        "%s not removed within %.1f s of SIGHUP%s" % (
                            NEW, SIGHUP_DEADLINE, self.context()))
        self.stop_enid()


if __name__ == "__main__":
    unittest.main()
