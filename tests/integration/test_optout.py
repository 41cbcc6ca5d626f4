# SPDX-License-Identifier: MIT
"""Opt-outs: excluded ENIs, unlisted veths and secondary_addresses = no.

A CNI owns M2 (device 2): it sets the link up and adds table 2 with
`default via 10.0.0.1 dev M2` and the rules `1536: from 10.0.0.30 lookup 2`
and `512: to 10.0.0.30 lookup main`. With M2 excluded (by device number,
MAC or name glob) enid must leave M2, table 2 and those rules exactly as
they are through the attach of M1, refresh cycles, SIGHUP and the detach
of M1. M2's device-number reads 0 for its first 3 s; enid must not
act on M2 even then. Veths whose MACs the metadata does not list are
never touched, and enid sends no request about them.
"""

import signal
import time
import unittest

from case import EnidCase, wait_until
from monitor import Monitor

CNI_ADDRESS = "10.0.0.30"
CNI_GATEWAY = "10.0.0.1"
M2_TABLE = 10002


class ExcludedByDeviceTest(EnidCase):
    """A CNI's ENI excluded with exclude_device_numbers = 0:2-15."""

    LISTED = ("M0", "M1", "M2")
    ATTACHED = ("M0", "M2")
    CONFIG = {"exclude_device_numbers": "0:2-15"}

    def setUp(self):
        super().setUp()
        r = self.rig
        r.ip("inst", "link", "set", "M2", "up")
        r.ip("inst", "route", "add", "default", "via", CNI_GATEWAY, "dev",
             "M2", "table", "2", "onlink")
        r.ip("inst", "rule", "add", "priority", "1536", "from", CNI_ADDRESS,
             "lookup", "2")
        r.ip("inst", "rule", "add", "priority", "512", "to", CNI_ADDRESS,
             "lookup", "main")

    def m2_state(self):
        """What must not change: M2, its addresses, table 2, the CNI's
        rules, main's routes through M2 and any 10002 object."""
        link = self.rig.links()["M2"]
        rules = {}
        objects = []
        for family in ("-4", "-6"):
            rules[family] = [r for r in self.rig.rules(family)
                             if r["priority"] in (512, 1536)]
            objects += [r for r in self.rig.rules(family)
                        if r["priority"] == M2_TABLE
                        or r.get("table") == str(M2_TABLE)]
            objects += self.rig.routes(family, M2_TABLE)
        return {
            "link": {k: link.get(k) for k in
                     ("flags", "mtu", "group", "operstate", "address")},
            "addr": self.rig.addresses("M2", None),
            "table2": self.rig.routes("-4", 2) + self.rig.routes("-6", 2),
            "rules": rules,
            "main": [r for r in self.rig.routes("-4", "main")
                     + self.rig.routes("-6", "main")
                     if r.get("dev") == "M2" and not
                     r["dst"].startswith("fe80::")],
            "10002": objects,
        }

    def assert_m2_same(self, before, step):
        self.assertEqual(self.m2_state(), before,
                         "M2 changed (%s)%s" % (step, self.context()))

    def assert_main_one_default(self):
        defaults = [r for r in self.rig.routes("-4", "main")
                    if r["dst"] == "default"]
        self.assertEqual(len(defaults), 1, "defaults in main: %s" % defaults)

    def test_excluded_eni_untouched(self):
        before = self.m2_state()
        self.assertEqual(len(before["table2"]), 1)
        self.assertEqual(before["main"], [])
        self.assertEqual(before["10002"], [])
        self.start_enid()
        self.wait_configured(self.plans(["M0"]))
        self.assert_m2_same(before, "start")
        self.meta.list("M1")
        self.publish()
        self.attach_link("M1")
        self.wait_configured(self.plans(["M0", "M1"]))
        self.assert_m2_same(before, "attach of M1")
        self.wait_refresh(3)
        self.assert_m2_same(before, "three refresh cycles")
        self.enid.proc.send_signal(signal.SIGHUP)
        self.wait_refresh()
        self.assert_m2_same(before, "SIGHUP")
        self.meta.unlist("M1")
        self.publish()
        self.rig.detach("M1")
        table = self.plans(["M0"])["M0"].table + 1
        ok = wait_until(lambda: not [r for r in self.enid_rules()
                                     if r.get("table") == str(table)],
                        3.0, step=0.1)
        self.assertTrue(ok, "M1's rules left after detach" + self.context())
        self.assert_m2_same(before, "detach of M1")
        self.assert_main_one_default()
        self.stop_enid()


class ExcludedByMacTest(ExcludedByDeviceTest):
    CONFIG = {"exclude_macs": "02:EC:1D:00:00:02"}


class ExcludedByNameTest(ExcludedByDeviceTest):
    CONFIG = {"exclude_interfaces": "M[2-9]*"}


class UnsettledDeviceNumberTest(EnidCase):
    """M2 reads device-number 0 for its first 3 s."""

    LISTED = ATTACHED = ("M0", "M2")
    CONFIG = {"exclude_device_numbers": "0:2-15"}
    WINDOW = 3.0

    def test_unsettled_device_number_not_acted_on(self):
        mac = self.meta.mac("M2")
        path = "/macs/%s/device-number$" % mac
        self.meta.data["attach_times"][mac] = time.time()
        self.meta.add_fault(path=path, body="0", mac=mac, until=self.WINDOW)
        self.publish()
        monitor = Monitor(self.rig, self.workdir + "/monitor.log",
                          objects=("link", "address", "route",
                                   "rule")).start()
        self.addCleanup(monitor.stop)
        self.start_enid()
        self.wait_configured(self.plans(["M0"]))
        time.sleep(self.WINDOW)
        self.wait_refresh()
        events = [line for line in monitor.lines()
                  if "M2" in line or str(M2_TABLE) in line
                  or "10.0.0.30" in line]
        self.assertEqual(events, [], "events on M2" + self.context())
        zero_reads = [r for r in self.mock.requests()
                if r["path"].endswith(mac + "/device-number") and r["faults"]]
        self.assertTrue(zero_reads, "no device-number read inside the 3 s window")
        link = self.rig.links()["M2"]
        self.assertNotIn("UP", link["flags"])
        self.assertEqual(self.rig.addresses("M2"), [])
        self.stop_enid()


class UnlistedVethTest(EnidCase):
    """Veths named like ENIs, with MACs the metadata does not list."""

    LISTED = ATTACHED = ("M0", "M1")
    VETHS = {"eni1a2b3c4d": "02:aa:00:00:00:01", "ens9": "02:aa:00:00:00:02"}

    def veth_state(self):
        links = self.rig.links()
        return {name: ({k: links[name].get(k) for k in
                        ("flags", "mtu", "group", "address")},
                       self.rig.addresses(name, None))
                for name in self.VETHS}

    def test_unlisted_veths_untouched(self):
        self.rig.add_namespace("ctr")
        for i, (name, mac) in enumerate(sorted(self.VETHS.items())):
            self.rig.ip("inst", "link", "add", "name", name, "address", mac,
                        "type", "veth", "peer", "name", "eth%d" % i,
                        "netns", self.rig.ns("ctr"))
        self.rig.ip("inst", "link", "set", "ens9", "up")
        before = self.veth_state()
        self.start_enid()
        plans = self.plans()
        self.wait_configured(plans)
        self.wait_refresh()
        self.enid.proc.send_signal(signal.SIGHUP)
        self.wait_refresh()
        self.assertEqual(self.veth_state(), before, "veths changed"
                         + self.context())
        for name in self.VETHS:
            self.assert_unconfigured(name)
        requested = [r["path"] for r in self.mock.requests()
                 if any(mac in r["path"].lower()
                        for mac in self.VETHS.values())]
        self.assertEqual(requested, [], "requests for unlisted MACs")
        self.assert_exact_rules(plans)
        self.stop_enid()


class NoSecondaryAddressesTest(EnidCase):
    """secondary_addresses = no: only each ENI's first address is added
    (the primary's first is DHCP's), rules for every address."""

    LISTED = ATTACHED = ("M0", "M1")
    CONFIG = {"secondary_addresses": "no"}

    def prepare_metadata(self):
        self.meta.iface("M1")["local-ipv4s"] = ["10.0.1.20", "10.0.1.21"]

    def test_only_first_addresses(self):
        plans = self.plans()
        self.start_enid()
        ok = wait_until(lambda: "10.0.1.20" in
                        [a["local"] for a in self.rig.addresses("M1")], 5.0)
        self.assertTrue(ok, "M1's first address not added" + self.context())
        self.wait_refresh()
        self.assertEqual([a["local"] for a in self.rig.addresses("M0")],
                         ["10.0.0.10"])
        self.assertEqual([a["local"] for a in self.rig.addresses("M1")],
                         ["10.0.1.20"])
        self.assert_exact_rules(plans)
        self.assert_exact_tables(plans)
        self.assert_pings(True, ["10.0.0.10", "10.0.1.20"],
                          phase="first addresses")
        self.assert_pings(False, ["10.0.0.11", "10.0.1.21"],
                          phase="secondary addresses not added")
        self.stop_enid()


if __name__ == "__main__":
    unittest.main()
