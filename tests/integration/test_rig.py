# SPDX-License-Identifier: MIT
"""Tests of the rig itself, without enid.

They configure by hand (with `ip`) what enid should configure and show that
the router accepts exactly that: pings fail before and pass after. A reply
that leaves through another ENI than the one owning its source address is
dropped by the router's per-ENI source check.
"""

import ipaddress
import json
import unittest

import expected
import rig
from case import RigCase


class RigLifecycleTest(unittest.TestCase):

    def test_rig_removes_namespaces(self):
        r = rig.Rig()
        try:
            r.create()
            names = set(r.namespaces.values())
            self.assertEqual(len(names), 4)
            self.assertTrue(names <= set(rig.run_namespaces()))
            proc = r.spawn("inst", ["sleep", "60"])
        finally:
            r.destroy()
        self.assertFalse(names & set(rig.run_namespaces()))
        self.assertIsNotNone(proc.poll(), "process in the namespace still runs")

    def test_attach_moves_link_with_mac(self):
        r = rig.Rig()
        self.addCleanup(r.destroy)
        r.create()
        r.attach("M1", "02:ec:1d:00:00:01")
        link = r.links()["M1"]
        self.assertEqual(link["address"], "02:ec:1d:00:00:01")
        self.assertNotIn("UP", link["flags"])
        self.assertEqual(link["mtu"], 1500)
        self.assertEqual(rig.link_group(link), 0)
        self.assertIn("r-M1", r.links("vpc"))
        r.detach("M1")
        self.assertNotIn("M1", r.links())
        self.assertNotIn("r-M1", r.links("vpc"))


class RigIpv4Test(RigCase):
    """M0 (DHCP 10.0.0.10 + 10.0.0.11), M1 in 10.0.1.0/24, M2 in M0's subnet."""

    def test_unconfigured_addresses_fail(self):
        self.assert_before_enid(self.plans())

    def test_hand_configuration_passes(self):
        plans = self.plans()
        expected.configure_by_hand(self.rig, plans)
        self.assert_reachable(plans)

    def test_reply_through_wrong_eni_dropped(self):
        plans = self.plans()
        expected.configure_by_hand(self.rig, plans, rules=False)
        drops = self.rig.rp_filter_drops()
        # Without source rules, replies from M1's and M2's addresses follow
        # main's routes out of M0, and the router drops them.
        others = plans["M1"].addresses + plans["M2"].addresses
        self.assert_pings(False, others, phase="without source rules")
        self.assertGreater(self.rig.rp_filter_drops(), drops)
        self.assertEqual(self.rig.route_get(self.rig.client4, "10.0.0.30"),
                         "M0")
        ok = self.rig.ping("inst", self.rig.client4, src="10.0.0.30")
        self.assertFalse(ok, "10.0.0.30 reached the client through M0")
        # M0's own secondary address is fine through M0.
        self.assert_pings(True, plans["M0"].addresses, phase="M0's addresses")

    def test_source_rules_fix_replies(self):
        plans = self.plans()
        expected.configure_by_hand(self.rig, plans, rules=False)
        self.assert_pings(False, ["10.0.0.30"], phase="without source rules")
        expected.configure_by_hand(self.rig, plans, addresses=False)
        self.assert_reachable(plans)
        ok = self.rig.ping("inst", self.rig.client4, src="10.0.0.30")
        self.assertTrue(ok, "10.0.0.30 could not reach the client")

    def test_bridge_routes_bypass_tables(self):
        plans = self.plans()
        expected.configure_by_hand(self.rig, plans)
        self.rig.ip("inst", "link", "add", "name", "br0", "type", "bridge")
        self.rig.ip("inst", "addr", "add", "10.200.0.1/16", "dev", "br0")
        self.rig.ip("inst", "link", "set", "br0", "up")
        for p in plans.values():
            for addr in p.addresses:
                self.assertEqual(self.rig.route_get("10.200.0.2", addr), "br0")

    def test_sync_follows_metadata(self):
        self.meta.iface("M1")["local-ipv4s"] = ["10.0.1.20", "10.0.1.21",
                                               "10.0.1.999"]
        self.publish()
        routes = {r["dst"] for r in self.rig.routes("-4", "main", role="vpc")}
        self.assertIn("10.0.1.21", routes)
        self.meta.iface("M1")["local-ipv4s"] = ["10.0.1.20"]
        self.publish()
        routes = {r["dst"] for r in self.rig.routes("-4", "main", role="vpc")}
        self.assertNotIn("10.0.1.21", routes)
        self.assertIn("10.0.1.20", routes)

    def test_mock_serves_instance_namespace(self):
        token = self.rig.exec("inst", [
            "curl", "-sf", "-X", "PUT", "-H",
            "X-aws-ec2-metadata-token-ttl-seconds: 60",
            self.mock.url + "/latest/api/token"])
        mac = self.rig.exec("inst", [
            "curl", "-sf", "-H", "X-aws-ec2-metadata-token: " + token,
            self.mock.url + "/latest/meta-data/mac"])
        self.assertEqual(mac, self.meta.mac("M0"))
        self.assertEqual(len(self.mock.requests()), 2)


class RigIpv6Test(RigCase):
    """Dual-stack data: IPv6 addresses and delegated prefixes on M1."""

    DATA = "dualstack.json"

    def configure_ipv6(self, name, table, addresses=True, rules=True):
        keys = self.meta.iface(name)
        subnet = ipaddress.ip_network(keys["subnet-ipv6-cidr-blocks"][0])
        self.rig.ip("inst", "link", "set", name, "up")
        for addr in keys["ipv6s"] if addresses else []:
            self.rig.ip("inst", "addr", "add", "%s/%d" % (addr,
                        subnet.prefixlen), "dev", name, "noprefixroute",
                        "nodad")
        if not rules:
            return
        self.rig.ip("inst", "-6", "route", "add", str(subnet), "dev", name,
                    "table", str(table))
        self.rig.ip("inst", "-6", "route", "add", "default", "via",
                    rig.VPC_ROUTER6, "dev", name, "table", str(table))
        for addr in keys["ipv6s"]:
            self.rig.ip("inst", "-6", "rule", "add", "priority", str(table),
                        "from", addr, "lookup", str(table))

    def test_reply_through_wrong_eni_dropped(self):
        # A default route through M0, as router advertisements would add.
        self.rig.ip("inst", "-6", "route", "add", "default", "via",
                    rig.VPC_ROUTER6, "dev", "M0")
        self.configure_ipv6("M1", 10001, rules=False)
        drops = self.rig.nft_drops()
        self.assertFalse(self.rig.ping("cli", "2001:db8:0:1::20"))
        self.assertGreater(self.rig.nft_drops(), drops)
        self.rig.ip("inst", "-6", "rule", "add", "priority", "9999", "lookup",
                    "main", "suppress_ifgroup", "0x2ec")
        self.rig.ip("inst", "link", "set", "M1", "group", "0x2ec")
        self.rig.ip("inst", "link", "set", "M0", "group", "0x2ec")
        self.configure_ipv6("M1", 10001, addresses=False)
        results = self.ping_results(["2001:db8:0:1::20", "2001:db8:0:1::21"])
        self.assertTrue(all(results.values()), results)

    def test_same_subnet_peer_reaches_ipv6(self):
        self.configure_ipv6("M2", 10002)
        self.rig.ip("inst", "-6", "route", "add", "2001:db8::/64", "dev",
                    "M2", "metric", "514")
        self.assertTrue(self.rig.ping("peer", "2001:db8::30"))
        self.assertTrue(self.rig.ping("cli", "2001:db8::30"))

    def test_delegated_prefixes_routed(self):
        self.configure_ipv6("M1", 10001)
        p = expected.plan(self.meta, ["M0", "M1"])
        expected.configure_by_hand(self.rig, p)
        self.rig.ip("inst", "route", "add", "local", "10.0.1.48/28", "dev",
                    "M1", "table", "local")
        self.rig.ip("inst", "rule", "add", "priority", "10001", "from",
                    "10.0.1.48/28", "lookup", "10001")
        self.rig.ip("inst", "-6", "route", "add", "local",
                    "2001:db8:0:1:1::/80", "dev", "M1", "table", "local")
        self.rig.ip("inst", "-6", "rule", "add", "priority", "10001", "from",
                    "2001:db8:0:1:1::/80", "lookup", "10001")
        results = self.ping_results(["10.0.1.50", "2001:db8:0:1:1::5"])
        self.assertTrue(all(results.values()), results)

    def test_router_ports_hold_gateways(self):
        addrs = {}
        for link in self.rig.ip_json("vpc", "addr", "show"):
            addrs[link["ifname"]] = {a["local"] for a in link["addr_info"]}
        self.assertIn("10.0.1.1", addrs["r-M1"])
        self.assertIn("fe80:ec2::1", addrs["r-M1"])
        self.assertIn("10.0.0.1", addrs["r-M2"])
        text = self.rig.exec("vpc", ["nft", "-j", "list", "ruleset"])
        self.assertIn("fib", json.dumps(json.loads(text)))


if __name__ == "__main__":
    unittest.main()
