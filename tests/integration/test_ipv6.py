# SPDX-License-Identifier: MIT
"""IPv6 on secondary ENIs, IPv6-only ENIs and router advertisements.

M1 of dualstack.json lists two ipv6s and writes its subnet
uncompressed (2001:db8:0:1:0:0:0:0/64). enid should add both addresses as
/64 with nodad and noprefixroute, a rule per address at 10001, the /64 and
`default via fe80:ec2::1 dev M1` in table 10001, and the /64 in main at
metric 513. M4 has no IPv4 keys at all and gets IPv6 objects only.
In ipv6only.json every ENI is IPv6-only, each link holding a link-local IPv4 /32 that DHCPv4
gave it. Router advertisements on a secondary ENI must not add a default
route to main (enid sets accept_ra_defrtr to 0 there, never on the primary).
"""

import ipaddress
import os
import sys
import time
import unittest

import expected
from case import EnidCase, wait_until

HERE = os.path.dirname(os.path.abspath(__file__))
ROUTER6 = "fe80:ec2::1"
CONFIG_DEADLINE = 8.0
SETTLE_SECONDS = 10.0  # settle_window of enidproc.TEST_CONFIG
IPV4_KEYS = ("/local-ipv4s", "/subnet-ipv4-cidr-block")


class Ipv6Plan:
    """The IPv6 objects enid should install for one ENI."""

    def __init__(self, name, keys):
        self.name = name
        card = int(keys.get("network-card", 0))
        device = int(keys["device-number"])
        self.table = expected.TABLE_BASE + 100 * card + device
        self.metric = expected.METRIC_BASE + 100 * card + device
        subnets = keys["subnet-ipv6-cidr-blocks"]
        subnets = subnets if isinstance(subnets, list) else [subnets]
        self.subnet = ipaddress.ip_network(subnets[0])
        self.addresses = [ipaddress.ip_address(a) for a in keys["ipv6s"]]


def ipv6_plans(meta, names):
    return {name: Ipv6Plan(name, meta.iface(name)) for name in names}


class Ipv6Checks:
    """IPv6 checks on kernel dumps, mixed into EnidCase subclasses."""

    def ipv6_gaps(self, p):
        gaps = []
        have = {a["local"]: a for a in self.rig.addresses(p.name, "-6")}
        for addr in p.addresses:
            info = have.get(str(addr))
            if info is None:
                gaps.append("address %s on %s" % (addr, p.name))
                continue
            if info["prefixlen"] != p.subnet.prefixlen:
                gaps.append("%s is /%d" % (addr, info["prefixlen"]))
            for flag in ("nodad", "noprefixroute"):
                if not info.get(flag):
                    gaps.append("%s lacks %s" % (addr, flag))
        rules = {expected.rule_key(r) for r in self.rig.rules("-6")
                 if expected.is_enid(r)}
        for addr in p.addresses:
            key = (p.table, str(addr), str(p.table))
            if key not in rules:
                gaps.append("-6 rule %s: from %s lookup %s" % key)
        table = {self.route6_key(r) for r in self.rig.routes("-6", p.table)
                 if expected.is_enid(r)}
        for want in [("default", ROUTER6, p.name, p.metric),
                     (str(p.subnet), None, p.name, p.metric)]:
            if want not in table:
                gaps.append("route %s table %s" % (want, p.table))
        main = {self.route6_key(r) for r in self.rig.routes("-6", "main")
                if expected.is_enid(r)}
        if (str(p.subnet), None, p.name, p.metric) not in main:
            gaps.append("route %s dev %s metric %d in main" % (
                p.subnet, p.name, p.metric))
        return gaps

    @staticmethod
    def route6_key(route):
        return (route["dst"], route.get("gateway"), route.get("dev"),
                route.get("metric", 0))

    def wait_ipv6(self, plans, timeout=CONFIG_DEADLINE):
        def gaps():
            return [g for p in plans.values() for g in self.ipv6_gaps(p)]
        if not wait_until(lambda: not gaps(), timeout, step=0.1):
            self.fail("IPv6 not configured within %.0f s: %s%s" % (
                timeout, "; ".join(gaps()), self.context()))

    def addresses6(self, plans):
        return [a for p in plans.values() for a in p.addresses]

    def assert_no_ipv4_objects(self, name, table):
        """No IPv4 address, rule or route of enid's for this ENI."""
        addrs = self.rig.addresses(name, "-4")
        self.assertEqual(addrs, [], "IPv4 addresses on %s" % name)
        rules = [r for r in self.rig.rules("-4")
                 if r.get("table") == str(table)]
        self.assertEqual(rules, [], "IPv4 rules for table %d" % table)
        routes = [r for r in self.rig.routes("-4")
                  if r.get("dev") == name or r.get("table") == str(table)]
        self.assertEqual(routes, [], "IPv4 routes of %s" % name)


class DualStackSecondaryTest(Ipv6Checks, EnidCase):
    """Two ipv6s on M1, its subnet written uncompressed."""

    DATA = "dualstack.json"
    LISTED = ATTACHED = ("M0", "M1")

    def test_dual_stack_secondary(self):
        keys = self.meta.iface("M1")
        self.assertEqual(keys["subnet-ipv6-cidr-blocks"],
                         ["2001:db8:0:1:0:0:0:0/64"])
        plans6 = ipv6_plans(self.meta, ["M1"])
        self.assertEqual(plans6["M1"].table, 10001)
        self.assertEqual(plans6["M1"].metric, 513)
        self.assert_pings(False, self.addresses6(plans6), sources=("cli",),
                          phase="IPv6 before enid")
        self.start_enid()
        self.wait_configured(self.plans())
        self.wait_ipv6(plans6)
        self.assert_pings(True, self.addresses6(plans6), sources=("cli",),
                          phase="IPv6 after enid")
        for addr in self.addresses6(plans6):
            self.assertEqual(self.rig.route_get(self.rig.client6, addr), "M1",
                             "route get %s from %s" % (self.rig.client6, addr))
        self.stop_enid()


class Ipv6OnlySecondaryTest(Ipv6Checks, EnidCase):
    """M4 has ipv6s and an IPv6 subnet and no IPv4 key."""

    DATA = "dualstack.json"
    LISTED = ATTACHED = ("M0", "M4")

    def test_ipv6_only_secondary(self):
        keys = self.meta.iface("M4")
        self.assertNotIn("local-ipv4s", keys)
        self.assertNotIn("subnet-ipv4-cidr-block", keys)
        plans6 = ipv6_plans(self.meta, ["M4"])
        self.assert_pings(False, self.addresses6(plans6), sources=("cli",),
                          phase="IPv6 before enid")
        m0_before = self.rig.addresses("M0", None)
        self.start_enid()
        started = time.time()
        self.wait_configured(self.plans(["M0"]))
        self.wait_ipv6(plans6)
        self.wait_refresh()

        self.assert_no_ipv4_objects("M4", plans6["M4"].table)
        self.assert_pings(True, self.addresses6(plans6), sources=("cli",),
                          phase="IPv6 after enid")

        # The IPv4 keys, absent from M4's key listing, are not polled once
        # the settle window (10 s in the tests) is over.
        window_end = started + SETTLE_SECONDS + 1.0
        time.sleep(max(0.0, window_end - time.time()))
        self.wait_refresh(2)
        mac = self.meta.mac("M4")
        late = [r["path"] for r in self.mock.requests()
                if r["t"] > window_end and mac in r["path"]
                and r["path"].endswith(IPV4_KEYS)]
        self.assertEqual(late, [], "IPv4 keys of M4 polled after the "
                         "settle window" + self.context())
        m0_ipv4 = [a for a in self.rig.addresses("M0", "-4")]
        self.assertEqual([a["local"] for a in m0_ipv4],
                         [a["local"] for a in m0_before
                          if a["family"] == "inet"] + ["10.0.0.11"])
        self.stop_enid()


class RouterAdvertisementTest(Ipv6Checks, EnidCase):
    """RAs reach M0 and M1 (accept_ra 1); only the primary may take their
    default route."""

    DATA = "dualstack.json"
    LISTED = ATTACHED = ("M0", "M1")

    def sysctl6(self, name, key):
        path = "/proc/sys/net/ipv6/conf/%s/%s" % (name, key)
        return int(self.rig.read_proc("inst", path).strip())

    def send_ra(self, port, count=3):
        argv = [sys.executable, os.path.join(HERE, "ra_sender.py"), port,
                "--count", str(count)]
        self.rig.exec("vpc", argv, timeout=20)

    def ra_defaults(self, name):
        return [r for r in self.rig.routes("-6", "main")
                if r["dst"] == "default" and r.get("dev") == name]

    def test_ra_default_route_only_on_primary(self):
        for name in ("M0", "M1"):
            self.rig.sysctl("inst", {"net/ipv6/conf/%s/accept_ra" % name: 1})
        self.assertEqual(self.sysctl6("M0", "accept_ra_defrtr"), 1)
        self.assertEqual(self.sysctl6("M1", "accept_ra_defrtr"), 1)
        self.start_enid()
        self.wait_configured(self.plans())
        self.wait_ipv6(ipv6_plans(self.meta, ["M1"]))
        self.assertEqual(self.sysctl6("M1", "accept_ra_defrtr"), 0,
                         "accept_ra_defrtr of M1" + self.context())
        self.assertEqual(self.sysctl6("M0", "accept_ra_defrtr"), 1,
                         "accept_ra_defrtr of M0 (primary)")
        self.send_ra("r-M1")
        # The same sender on the primary's port proves the RAs are taken.
        self.send_ra("r-M0")
        ok = wait_until(lambda: self.ra_defaults("M0"), 3.0, step=0.1)
        self.assertTrue(ok, "the RA on M0 added no default route: %s" %
                        self.rig.routes("-6", "main"))
        time.sleep(0.5)
        self.assertEqual(self.ra_defaults("M1"), [],
                         "default route from the RA on M1" + self.context())
        self.stop_enid()


class AllIpv6OnlyTest(Ipv6Checks, EnidCase):
    """M0, M1 and M2 IPv6-only, each with a link-local IPv4 /32."""

    DATA = "ipv6only.json"
    LISTED = ATTACHED = ("M0", "M1", "M2")
    LINK_LOCAL = {"M0": "169.254.0.10/32", "M1": "169.254.0.11/32",
                  "M2": "169.254.0.12/32"}

    def attach_link(self, name, mac=None, **attach_args):
        # No IPv4 subnet, so no DHCP lease: DHCPv4 leaves a link-local /32.
        self.rig.attach(name, mac or self.meta.mac(name), **attach_args)
        self.rig.ip("inst", "link", "set", name, "up")
        self.rig.ip("inst", "addr", "add", self.LINK_LOCAL[name], "dev", name)

    def link_local_state(self):
        return {name: [(a["local"], a["prefixlen"], a.get("protocol"))
                       for a in self.rig.addresses(name, "-4")]
                for name in self.LISTED}

    def test_all_ipv6_only_oneshot(self):
        plans6 = ipv6_plans(self.meta, self.LISTED)
        before = self.link_local_state()
        self.assert_pings(False, self.addresses6(plans6), sources=("cli",),
                          phase="IPv6 before enid")
        status, _, log = self.enid.run("--oneshot")
        self.assertEqual(status, 0, "--oneshot exit status\n" + log)
        self.wait_ipv6(plans6, timeout=1.0)
        self.assertEqual(self.link_local_state(), before,
                         "link-local /32s changed")
        for name, p in plans6.items():
            rules = [r for r in self.rig.rules("-4")
                     if r.get("table") == str(p.table)
                     or r.get("src", "").startswith("169.254.")]
            self.assertEqual(rules, [], "IPv4 rules for %s" % name)
            routes = [r for r in self.rig.routes("-4")
                      if expected.is_enid(r) and r.get("dev") == name]
            self.assertEqual(routes, [], "enid IPv4 routes on %s" % name)
        self.assert_pings(True, self.addresses6(plans6), sources=("cli",),
                          phase="IPv6 after --oneshot")


if __name__ == "__main__":
    unittest.main()
