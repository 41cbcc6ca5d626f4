# SPDX-License-Identifier: MIT
"""udev: a new link is configured only after udev has processed it, and a
link that udev's ID_NET_MANAGED_BY gives to another manager is left alone.

No udev runs for the test namespaces, so the tests play udev: enid reads
its database from a directory given with --udev-data-dir, and the test
writes n<ifindex> files there as udev would.
"""

import os
import time
import unittest

from case import EnidCase, wait_until


class UdevTest(EnidCase):
    LISTED = ("M0", "M1", "M2")
    ATTACHED = ("M0",)

    def setUp(self):
        super().setUp()
        self.udev_dir = os.path.join(self.workdir, "udev-data")
        os.makedirs(self.udev_dir, exist_ok=True)
        self.processed("M0")

    def processed(self, name, properties=()):
        """Write the database file udev writes once it is done with name."""
        ifindex = self.rig.links()[name]["ifindex"]
        path = os.path.join(self.udev_dir, "n%d" % ifindex)
        with open(path + ".tmp", "w") as f:
            f.write("I:1000000\n")
            for key, value in properties:
                f.write("E:%s=%s\n" % (key, value))
        os.rename(path + ".tmp", path)

    def link_untouched(self, name):
        link = self.rig.links()[name]
        return ("UP" not in link["flags"] and link["mtu"] != 9001 and
                not self.rig.addresses(name, "-4"))

    def test_waits_for_udev(self):
        self.start_enid("--udev-data-dir", self.udev_dir)
        self.rig.attach("M1", self.meta.mac("M1"))

        # udev has not written the file yet: nothing happens to M1.
        time.sleep(1.5)
        self.assertTrue(self.link_untouched("M1"),
                        "configured before udev was done" + self.context())

        self.processed("M1")
        plans = self.plans(["M0", "M1"])
        self.wait_configured(plans)
        self.assert_reachable(plans)

    def test_managed_by_other_manager(self):
        self.start_enid("--udev-data-dir", self.udev_dir)
        self.rig.attach("M2", self.meta.mac("M2"))
        self.processed("M2", [("ID_NET_MANAGED_BY", "io.systemd.Network")])
        self.rig.attach("M1", self.meta.mac("M1"))
        self.processed("M1", [("ID_NET_MANAGED_BY", "enid")])

        self.wait_configured(self.plans(["M0", "M1"]))
        time.sleep(1.0)
        self.assertTrue(self.link_untouched("M2"),
                        "touched a link of another manager" + self.context())
        table = self.plans(["M2"])["M2"].table
        self.assert_unconfigured("M2", table)
        self.assertTrue(wait_until(
            lambda: "ID_NET_MANAGED_BY" in self.enid.log(), 2.0),
            "no log line names ID_NET_MANAGED_BY" + self.context())


if __name__ == "__main__":
    unittest.main()
