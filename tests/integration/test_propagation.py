# SPDX-License-Identifier: MIT
"""Metadata that lags behind a hot attach.

A fresh ENI's MAC may be missing from the listing, its device-number may
read 0, its keys may return 404 and its ipv6s may come seconds after its
IPv4 data. enid configures it once it is complete, never with the
primary's numbers, applies late IPv6 data when it comes, and leaves an ENI
still incomplete at the end of the settle window unconfigured, with
`enid status` naming what it waits for.
"""

import time
import unittest

from case import wait_until
from faultcase import FaultCase, Monitor

PROMPT = 3.0  # configured within this after the metadata turns complete
M1_IPV6 = "2001:db8:1::10"
M1_SUBNET6 = "2001:db8:1::/64"


class PropagationTest(FaultCase):
    LISTED = ATTACHED = ("M0",)

    def setUp(self):
        super().setUp()
        self.start_enid()
        self.wait_configured(self.plans(["M0"]))

    def attach_lagging(self, seconds, key, **effect):
        """Attach M1 with a fault on its keys for its first seconds.

        Returns the monitor started before the attach and the attach time.
        """
        monitor = Monitor(self)
        self.meta.list("M1")
        self.fault("M1", key, mac=self.meta.mac("M1"), until=seconds,
                   **effect)
        self.publish()
        attached = time.monotonic()
        self.attach_link("M1")
        return monitor, attached

    def assert_not_primary_numbers(self, monitor):
        wrong = [line for line in monitor.events()
                 if ("10.0.1.20" in line and "lookup 10000" in line)
                 or ("dev M1" in line and ("table 10000" in line
                                           or "metric 512" in line))]
        self.assertEqual(wrong, [], "M1 got the primary's table or metric")

    def assert_configured_after(self, attached, seconds):
        """M1 configured within PROMPT of the fault's end, not before."""
        plans = self.plans(["M0", "M1"])
        self.wait_configured(plans, timeout=seconds + PROMPT + 5.0)
        elapsed = time.monotonic() - attached
        self.assertLessEqual(elapsed, seconds + PROMPT, "M1 configured "
                             "%.1f s after the attach, %.1f s after the "
                             "metadata turned complete%s" % (
                                 elapsed, elapsed - seconds, self.context()))
        self.assert_exact_rules(plans)
        self.assert_exact_tables(plans)
        self.assert_main_routes(plans)
        return plans

    def test_mac_unlisted_for_3s(self):
        """The MAC is missing from macs/ for 3 s after the attach."""
        monitor, attached = self.attach_lagging(3.0, ".*", hide=True)
        self.assertTrue(self.missing(self.plans(["M1"])["M1"]))
        plans = self.assert_configured_after(attached, 3.0)
        self.assert_not_primary_numbers(monitor)
        self.assert_reachable(plans)
        self.assert_running()

    def test_device_number_zero_for_3s(self):
        """device-number reads 0 for 3 s, then 1."""
        monitor, attached = self.attach_lagging(
            3.0, "device-number", body="0")
        self.assert_configured_after(attached, 3.0)
        elapsed = time.monotonic() - attached
        self.assertGreaterEqual(elapsed, 2.5, "M1 configured while its "
                                "device-number read 0" + self.context())
        self.assert_not_primary_numbers(monitor)
        self.assert_running()

    def test_keys_404_while_listed(self):
        """The MAC is listed, but its keys return 404 for 3 s."""
        monitor, attached = self.attach_lagging(
            3.0, "[a-z0-9-]+", status=404)
        plans = self.assert_configured_after(attached, 3.0)
        self.assert_not_primary_numbers(monitor)
        self.assert_reachable(plans)
        self.assert_running()


class LateIpv6Test(FaultCase):
    """ipv6s and the IPv6 subnet are absent for 5 s after the attach."""

    LISTED = ATTACHED = ("M0",)
    LATE = 5.0

    def prepare_metadata(self):
        keys = self.meta.catalog[self.meta.mac("M1")]
        keys["ipv6s"] = [M1_IPV6]
        keys["subnet-ipv6-cidr-blocks"] = [M1_SUBNET6]

    def ipv6_objects(self):
        rules = [r for r in self.rig.rules("-6") if r.get("src") == M1_IPV6]
        addrs = [a for a in self.rig.addresses("M1", "-6")
                 if a["local"] == M1_IPV6]
        return rules, addrs

    def test_ipv4_first_ipv6_later(self):
        self.start_enid()
        self.wait_configured(self.plans(["M0"]))
        monitor = Monitor(self)
        self.meta.list("M1")
        mac = self.meta.mac("M1")
        self.meta.add_fault(path="/macs/%s/(ipv6s|subnet-ipv6)" % mac,
                            mac=mac, until=self.LATE, hide=True)
        self.publish()
        attached = time.monotonic()
        self.attach_link("M1")

        self.wait_configured(self.plans(["M0", "M1"]), timeout=PROMPT)
        self.assertLess(time.monotonic() - attached, self.LATE - 0.5,
                        "IPv4 held back for IPv6" + self.context())
        rules, addrs = self.ipv6_objects()
        self.assertEqual((rules, addrs), ([], []),
                         "IPv6 objects before ipv6s answered")

        def both():
            rules, addrs = self.ipv6_objects()
            return rules and addrs
        found = wait_until(both, self.LATE + PROMPT, step=0.1)
        self.assertTrue(found, "no IPv6 rule and address for %s within "
                        "%.0f s of the attach: %s%s" % (
                            M1_IPV6, self.LATE + PROMPT,
                            self.ipv6_objects(), self.context()))
        self.assertGreaterEqual(time.monotonic() - attached, self.LATE - 0.5)
        rules, _ = self.ipv6_objects()
        self.assertEqual(rules[0].get("table"), "10001", rules)
        self.assertFalse([e for e in monitor.events()
                          if "dev M1" in e and "table 10000" in e])
        self.assert_running()


class SettleWindowTest(FaultCase):
    """An ENI incomplete at the end of a short settle window: M1 reads
    device-number 0 and M2 lacks local-ipv4s throughout."""

    LISTED = ATTACHED = ("M0",)
    CONFIG = {"settle_window": "4s"}
    WINDOW = 4.0

    def test_incomplete_after_window(self):
        self.start_enid()
        self.wait_configured(self.plans(["M0"]))
        before = {}
        for name in ("M1", "M2"):
            self.meta.list(name)
        self.fault("M1", "device-number", body="0")
        self.fault("M2", "local-ipv4s", hide=True)
        self.publish()
        for name in ("M1", "M2"):
            self.attach_link(name)
            before[name] = self.link_snapshot(name)
        time.sleep(self.WINDOW + 2.0)

        status = self.status()
        for name, key in (("M1", "device-number"), ("M2", "local-ipv4s")):
            block = status.get(name)
            self.assertIsNotNone(block, "%s not in status: %s" % (
                name, status))
            self.assertNotEqual(block["state"], "configured", block)
            self.assertIn(key, block.get("reason") or "",
                          "%s: status does not name %s: %s%s" % (
                              name, key, block, self.context()))
            self.assertEqual(self.untouched(name, before[name]), [])
            self.assert_unconfigured(name, 10000 + int(name[1]))
        self.assert_exact_rules(self.plans(["M0"]))
        self.assert_running()


if __name__ == "__main__":
    unittest.main()
