# SPDX-License-Identifier: MIT
"""Secondary IPv4 addresses on the primary ENI and on another ENI.

The primary's first address belongs to the DHCP client: enid adds the
others after it and never touches it. On M1, the first line of
local-ipv4s is the ENI's primary address and must stay first.
"""

import unittest

from case import EnidCase


class SecondaryAddressTest(EnidCase):
    LISTED = ATTACHED = ("M0", "M1")

    def prepare_metadata(self):
        self.meta.iface("M1")["local-ipv4s"] = ["10.0.1.20", "10.0.1.21"]

    def test_secondary_addresses_reachable(self):
        plans = self.plans()
        self.assertEqual([str(a) for a in plans["M0"].added_addresses],
                         ["10.0.0.11"])
        self.assert_before_enid(plans)
        self.start_enid()
        self.wait_configured(plans)
        self.assert_exact_rules(plans)
        self.assert_dhcp_untouched(plans)
        m0 = [a["local"] for a in self.rig.addresses("M0")]
        self.assertEqual(m0, ["10.0.0.10", "10.0.0.11"])
        m1 = self.rig.addresses("M1")
        self.assertEqual([a["local"] for a in m1], ["10.0.1.20", "10.0.1.21"])
        self.assertTrue(m1[1].get("secondary"), "10.0.1.21 flags: %s" % m1[1])
        self.assert_reachable(plans)
        self.stop_enid()


if __name__ == "__main__":
    unittest.main()
