# SPDX-License-Identifier: MIT
"""Boot ordering: links and DHCP addresses that arrive after enid starts.

A one-shot run at boot waits on netlink events for the primary's link and
gives up with a failure naming it. The primary's other addresses are added
only once the DHCP client's address is there, so that address stays the
primary one of the prefix; while it is gone (a lease lost and regained),
they are kept and the link is not touched otherwise.
"""

import os
import subprocess
import threading
import time
import unittest

import expected
from case import EnidCase, wait_until


class LatePrimaryLinkTest(EnidCase):
    LISTED = ("M0", "M1")
    ATTACHED = ("M1",)

    def attach_primary_later(self, delay):
        def attach():
            time.sleep(delay)
            self.attach_link("M0")
        thread = threading.Thread(target=attach)
        thread.start()
        self.addCleanup(thread.join)

    def test_oneshot_waits_for_primary_link(self):
        self.attach_primary_later(2.0)
        started = time.monotonic()
        status, _, log = self.enid.run("--oneshot", "--timeout", "20s",
                                       timeout=30.0)
        elapsed = time.monotonic() - started
        self.assertEqual(status, 0, "--oneshot with a late primary\n" + log)
        self.assertGreaterEqual(elapsed, 2.0, "exited before M0 existed")
        plans = self.plans(["M0", "M1"])
        self.assert_configured(plans)
        self.assert_reachable(plans)

    def test_oneshot_fails_without_primary_link(self):
        status, _, log = self.enid.run("--oneshot", "--timeout", "3s",
                                       timeout=20.0)
        self.assertEqual(status, 1, "--oneshot without M0's link\n" + log)
        self.assertIn(self.meta.mac("M0"), log,
                      "the failure does not name the primary's MAC")


class LateDhcpAddressTest(EnidCase):
    LISTED = ATTACHED = ("M0",)

    def attach_link(self, name, mac=None, **attach_args):
        # M0 comes up without its DHCP address; the test adds it later.
        self.rig.attach(name, mac or self.meta.mac(name), **attach_args)
        self.rig.ip("inst", "link", "set", name, "up")

    def dhcp_address(self):
        p = self.plans()["M0"]
        return p, p.interface(p.dhcp_address)

    def order(self):
        """The IPv4 addresses of M0 in the kernel's order, with flags."""
        return [(a["local"], bool(a.get("secondary")))
                for a in self.rig.addresses("M0")]

    def test_secondaries_wait_for_dhcp(self):
        p, interface = self.dhcp_address()
        self.start_enid()
        time.sleep(1.5)
        self.assertEqual(self.order(), [],
                         "an address was added before DHCP's" + self.context())

        self.rig.dhcp("M0", interface, p.gateway)
        plans = self.plans()
        self.wait_configured(plans)
        order = self.order()
        self.assertEqual(order[0], (str(p.dhcp_address), False), order)
        self.assertTrue(all(secondary for _, secondary in order[1:]), order)
        src = self.rig.exec("inst", ["ip", "-j", "route", "get",
                                     self.rig.client4])
        self.assertIn(str(p.dhcp_address), src)

    def test_lease_lost_and_regained(self):
        p, interface = self.dhcp_address()
        self.rig.dhcp("M0", interface, p.gateway)
        plans = self.plans()
        self.start_enid()
        self.wait_configured(plans)
        added = [str(a) for a in p.added_addresses]

        # The lease is lost: enid removes nothing of its own meanwhile.
        self.rig.ip("inst", "addr", "del", str(interface), "dev", "M0")
        time.sleep(1.5)
        present = [local for local, _ in self.order()]
        for address in added:
            self.assertIn(address, present, "removed while DHCP's was gone")

        # Regained: DHCP's address is back and everything is as before.
        self.rig.ip("inst", "addr", "add", str(interface), "dev", "M0",
                    "valid_lft", "3600", "preferred_lft", "3600")
        self.rig.ip("inst", "route", "replace", "default", "via",
                    str(p.gateway), "dev", "M0", "proto", "dhcp",
                    "metric", "100")
        self.wait_configured(plans)
        self.assertTrue(wait_until(
            lambda: self.order()[0] == (str(p.dhcp_address), False), 3.0),
            "DHCP's address is not the primary one again: %s%s" % (
                self.order(), self.context()))
        self.assert_exact_rules(plans)
        self.assert_reachable(plans)


class JournalPrefixTest(EnidCase):
    LISTED = ATTACHED = ("M0",)

    def test_priority_prefixes_under_journald(self):
        # systemd sets JOURNAL_STREAM to the device and inode of stderr.
        plans = self.plans()
        log_path = self.enid.new_log()
        with open(log_path, "wb") as log:
            st = os.fstat(log.fileno())
            env = self.enid.environment(False)
            env["JOURNAL_STREAM"] = "%d:%d" % (st.st_dev, st.st_ino)
            self.enid.write_config()
            proc = self.rig.spawn("inst", self.enid.argv("--oneshot"),
                                  stdin=subprocess.DEVNULL, stdout=log,
                                  stderr=log, env=env)
            self.assertEqual(proc.wait(30), 0, self.enid.log(log_path))
        lines = [line for line in self.enid.log(log_path).splitlines()
                 if line]
        self.assertTrue(lines)
        for line in lines:
            self.assertRegex(line, r"^<[0-7]>", line)
        self.assertTrue(any(line.startswith("<6>M0: ") for line in lines),
                        "no info line starts with the interface name")
        self.assert_configured(plans)


if __name__ == "__main__":
    unittest.main()
