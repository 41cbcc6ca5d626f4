# SPDX-License-Identifier: MIT
"""ENIs on two network cards that reuse device numbers.

M0 is card 0 device 0 (the primary), M1 card 0 device 1 and M2 card 1
device 0. Tables and rule priorities must be 10000, 10001 and 10100, main
metrics 512, 513 and 612, and M2, though device 0, is not the primary: its
first address is enid's to add, and it gets no DHCP treatment.
"""

import unittest

from case import EnidCase


class NetworkCardTest(EnidCase):
    LISTED = ATTACHED = ("M0", "M1", "M2")

    def prepare_metadata(self):
        keys = self.meta.iface("M2")
        keys["network-card"] = "1"
        keys["device-number"] = "0"
        keys["local-ipv4s"] = ["10.0.0.30", "10.0.0.31"]

    def test_cards_get_distinct_tables(self):
        plans = self.plans()
        numbers = {n: (p.table, p.metric) for n, p in plans.items()}
        self.assertEqual(numbers, {"M0": (10000, 512), "M1": (10001, 513),
                                   "M2": (10100, 612)})
        self.assertFalse(plans["M2"].primary)
        self.assert_before_enid(plans)
        self.start_enid()
        self.wait_configured(plans)
        self.assert_exact_rules(plans)
        self.assert_exact_tables(plans)
        self.assert_main_routes(plans)
        self.assert_dhcp_untouched(plans)
        m2 = self.rig.addresses("M2")
        self.assertEqual([a["local"] for a in m2], ["10.0.0.30", "10.0.0.31"])
        self.assertTrue(all(a.get("noprefixroute") for a in m2),
                        "M2's addresses: %s" % m2)
        for table in (10000, 10001, 10100):
            devs = {r.get("dev") for r in self.rig.routes("-4", table)}
            self.assertEqual(len(devs), 1, "table %d: %s" % (table, devs))
        self.assertEqual(self.rig.routes("-4", 10002), [])
        self.assert_reachable(plans)
        self.stop_enid()


if __name__ == "__main__":
    unittest.main()
