# SPDX-License-Identifier: MIT
"""Routes someone else put in main are mirrored into the ENI's table.

Rule 9999 rejects any main route that leaves through an ENI, so a static
route to a peered network via an appliance on M1 would be bypassed for
M1's addresses. enid copies such a route into table 10001 as its own
(protocol 236) and removes the copy when the original goes. Default routes
and the kernel's prefix routes are not copied.
"""

import unittest

import expected
from case import EnidCase, wait_until

STATIC = "10.70.0.0/16"
APPLIANCE = "10.0.1.50"
PROBE = "10.70.1.1"
M1_ADDRESS = "10.0.1.20"
DEADLINE = 2 * 2.0 + 2.0


class MirrorTest(EnidCase):
    LISTED = ATTACHED = ("M0", "M1")

    def copies(self, table, dst):
        return [r for r in self.rig.routes("-4", table) if r["dst"] == dst]

    def route_get(self, dst, src):
        return self.rig.ip_json("inst", "route", "get", dst, "from", src)[0]

    def test_static_route_mirrored(self):
        plans = self.plans()
        self.start_enid()
        self.wait_configured(plans)
        before = self.route_get(PROBE, M1_ADDRESS)
        self.assertEqual(before.get("gateway"), "10.0.1.1",
                         "before the static route: %s" % before)

        self.rig.ip("inst", "route", "add", STATIC, "via", APPLIANCE, "dev",
                    "M1", "proto", "static")
        ok = wait_until(lambda: self.copies(plans["M1"].table, STATIC),
                        DEADLINE, step=0.1)
        self.assertTrue(ok, "%s not in table %d%s" % (
            STATIC, plans["M1"].table, self.context()))
        copies = self.copies(plans["M1"].table, STATIC)
        self.assertEqual(len(copies), 1, "copies: %s" % copies)
        copy = copies[0]
        self.assertTrue(expected.is_enid(copy), "protocol of %s" % copy)
        self.assertEqual(copy.get("gateway"), APPLIANCE)
        self.assertEqual(copy.get("dev"), "M1")

        got = self.route_get(PROBE, M1_ADDRESS)
        self.assertEqual((got.get("gateway"), got.get("dev")),
                         (APPLIANCE, "M1"), "route get %s from %s: %s" % (
                             PROBE, M1_ADDRESS, got))
        self.assertEqual(len(self.copies("main", STATIC)), 1,
                         "the original in main")

        self.rig.ip("inst", "route", "del", STATIC, "via", APPLIANCE, "dev",
                    "M1", "proto", "static")
        gone = wait_until(lambda: not self.copies(plans["M1"].table, STATIC),
                          DEADLINE, step=0.1)
        self.assertTrue(gone, "copy of %s left in table %d%s" % (
            STATIC, plans["M1"].table, self.context()))
        self.assert_exact_tables(plans)
        self.stop_enid()

    def test_default_and_prefix_routes_not_mirrored(self):
        plans = self.plans()
        self.start_enid()
        self.wait_configured(plans)
        # A second default route in main through M1, as a manager adds one.
        self.rig.ip("inst", "route", "add", "default", "via", "10.0.1.1",
                    "dev", "M1", "proto", "static", "metric", "900")
        # A hand-made address with a kernel prefix route on M1.
        self.rig.ip("inst", "addr", "add", "10.0.77.1/24", "dev", "M1")
        kernel = [r for r in self.rig.routes("-4", "main")
                  if r.get("protocol") == "kernel" and r.get("dev") == "M1"]
        self.assertTrue(kernel, "no kernel prefix route on M1: %s" %
                        self.rig.ip("inst", "route", "show", "table", "all"))
        self.wait_refresh(2)
        # M0's table also ignores the DHCP default and M0's prefix route.
        self.assert_exact_tables(plans)
        self.rig.ip("inst", "route", "del", "default", "via", "10.0.1.1",
                    "dev", "M1", "proto", "static", "metric", "900")
        self.stop_enid()


if __name__ == "__main__":
    unittest.main()
