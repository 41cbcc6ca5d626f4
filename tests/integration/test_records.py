# SPDX-License-Identifier: MIT
"""The address record, for kernels that keep no address protocol.

Before Linux 6.1 an address carries no IFA_PROTO, so enid records the
addresses it added in its runtime directory and takes only those as its
own. The test option --address-records makes enid work that way on any
kernel: it then sends no IFA_PROTO at all, so only the record can mark
its addresses.
"""

import os
import unittest

from test_refresh import BY_HAND, NEW, REFRESH_DEADLINE, RefreshCase


class AddressRecordTest(RefreshCase):

    def recorded(self):
        path = os.path.join(self.enid.runtime_dir, "addresses")
        try:
            with open(path) as f:
                return [line.split()[1] for line in f if line.strip()]
        except FileNotFoundError:
            return []

    def all_addresses(self):
        return [(name, a["local"], a["prefixlen"]) for name in ("M0", "M1")
                for a in self.rig.addresses(name)]

    def test_record_marks_enid_addresses(self):
        self.start_enid("--address-records")
        plans = self.plans()
        self.wait_configured(plans)
        self.assertIn("10.0.1.20/24", self.recorded())
        self.assertIn("10.0.0.11/24", self.recorded())
        self.assertNotIn("10.0.0.10/24", self.recorded(),
                         "the DHCP client's address was recorded")

        # A listed address comes and goes; a hand-made one stays.
        self.rig.ip("inst", "addr", "add", BY_HAND + "/24", "dev", "M1",
                    "noprefixroute")
        self.set_m1_addresses(["10.0.1.20", NEW])
        self.assertTrue(self.wait_address(NEW, True, REFRESH_DEADLINE),
                        "%s not added%s" % (NEW, self.context()))
        self.set_m1_addresses(["10.0.1.20"])
        self.assertTrue(self.wait_address(NEW, False, REFRESH_DEADLINE),
                        "%s not removed%s" % (NEW, self.context()))
        self.assertIn(BY_HAND, self.m1_addresses(), "hand-made address gone")
        self.assertNotIn(NEW + "/24", self.recorded())

        # A restart finds its addresses in the record and changes nothing.
        self.stop_enid()
        before = (self.rig.text_dump(), self.all_addresses())
        self.start_enid("--address-records")
        self.wait_refresh()
        self.assertEqual((self.rig.text_dump(), self.all_addresses()), before,
                         "a restart changed the kernel" + self.context())

        # cleanup removes the recorded addresses, not the others.
        self.stop_enid()
        status, out, log = self.enid.run("cleanup")
        self.assertEqual(status, 0, out + log)
        self.assertNotIn("10.0.1.20", self.m1_addresses())
        self.assertIn(BY_HAND, self.m1_addresses())
        self.assertIn("10.0.0.10", [a["local"]
                                    for a in self.rig.addresses("M0")])


if __name__ == "__main__":
    unittest.main()
