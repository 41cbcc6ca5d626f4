# SPDX-License-Identifier: MIT
"""Base classes of the integration tests: a rig, a mock and enid per test.

RigCase builds the namespaces and starts the metadata mock in the instance
namespace. EnidCase adds the daemon and the checks every scenario shares:
pings from the client and the peer, `ip route get` per source address, and
the kernel objects enid should own (see expected.py).
"""

import functools
import os
import re
import shutil
import tempfile
import time
import unittest

import expected
from enidproc import BINARY, REFRESH_SECONDS, Enid
from imds_mock import MockProcess
from metadata import Metadata
from rig import Rig, link_group

PING_SOURCES = ("cli", "peer")


def workdir_for(test):
    """Create a directory for one test's files.

    Under run.py it is inside ENID_IT_WORKDIR, which run.py removes when
    every test passed. Otherwise it is removed after the test unless
    ENID_IT_KEEP is set.
    """
    base = os.environ.get("ENID_IT_WORKDIR")
    if base is None:
        path = tempfile.mkdtemp(prefix="enid-it-")
        if not os.environ.get("ENID_IT_KEEP"):
            test.addCleanup(shutil.rmtree, path, True)
        return path
    path = os.path.join(base, re.sub(r"[^A-Za-z0-9_.-]", "_", test.id()))
    os.makedirs(path, exist_ok=True)
    return path


def wait_until(predicate, timeout, step=0.05):
    """Poll predicate until it returns a true value or timeout seconds pass;
    return its last value."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value or time.monotonic() >= deadline:
            return value
        time.sleep(step)


class RigCase(unittest.TestCase):
    """A rig with the mock serving DATA, listing LISTED, links ATTACHED."""

    DATA = "vpc.json"
    LISTED = ("M0", "M1", "M2")
    ATTACHED = ("M0", "M1", "M2")
    INSTANCE_RP_FILTER = 0

    def setUp(self):
        self.workdir = workdir_for(self)
        self.rig = Rig(instance_rp_filter=self.INSTANCE_RP_FILTER)
        self.addCleanup(self.rig.destroy)
        self.rig.create()
        self.meta = Metadata.load(self.DATA, listed=self.LISTED)
        self.prepare_metadata()
        spawn = functools.partial(self.rig.spawn, "inst")
        self.mock = MockProcess(self.workdir, self.meta.snapshot(), spawn)
        self.mock.start()
        self.rig.sync(self.meta.data)
        for name in self.ATTACHED:
            self.attach_link(name)

    def prepare_metadata(self):
        """Change self.meta before the mock starts (for subclasses)."""

    def attach_link(self, name, mac=None, **attach_args):
        """Create the ENI's link; the primary gets its DHCP configuration."""
        self.rig.attach(name, mac or self.meta.mac(name), **attach_args)
        if name == self.meta.primary and self.meta.is_listed(name):
            p = expected.plan(self.meta, [name])[name]
            self.rig.dhcp(name, p.interface(p.dhcp_address), p.gateway)

    def publish(self):
        """Serve the current metadata and make the router follow it."""
        self.mock.update(self.meta.snapshot())
        self.rig.sync(self.meta.data)

    def plans(self, names=None):
        if names is None:
            names = [n for n in self.ATTACHED if self.meta.is_listed(n)]
        return expected.plan(self.meta, names)

    # -- reachability ----------------------------------------------------------

    def ping_results(self, addresses, sources=PING_SOURCES):
        probes = [(role, str(addr), None) for addr in addresses
                  for role in sources]
        return self.rig.pings(probes)

    def assert_pings(self, expect, addresses, sources=PING_SOURCES,
                     phase="pings"):
        """Check that pings from every source to every address succeed (expect
        True) or fail (expect False)."""
        results = self.ping_results(addresses, sources)
        # A neighbour entry that failed before enid ran is probed again
        # only once a second, so a first ping may go unanswered on a busy
        # machine: probes that must pass get two more tries.
        for _ in range(2 if expect else 0):
            missing = [probe for probe, ok in results.items() if not ok]
            if not missing:
                break
            time.sleep(0.5)
            results.update(self.rig.pings(missing, count=3))
        wrong = ["%s -> %s" % (role, dst) for (role, dst, _), ok in
                 results.items() if ok != expect]
        verdict = "replied" if not expect else "no reply"
        self.assertEqual(wrong, [], "%s (%s)%s" % (
            verdict, phase, self.context()))

    def assert_before_enid(self, plans):
        """Check that the DHCP address replies and no address enid adds does."""
        dhcp = [p.dhcp_address for p in plans.values() if p.dhcp_address]
        added = [a for p in plans.values() for a in p.added_addresses]
        self.assert_pings(True, dhcp, phase="DHCP address before enid")
        self.assert_pings(False, added, phase="enid's addresses before enid")

    def assert_reachable(self, plans):
        """Check that every address replies to the client and the peer, and
        that replies to the client leave through the address's own ENI."""
        addresses = [a for p in plans.values() for a in p.addresses]
        self.assert_pings(True, addresses, phase="after enid")
        self.assert_egress(plans)

    def assert_egress(self, plans):
        for p in plans.values():
            for addr in p.addresses:
                dev = self.rig.route_get(self.rig.client4, addr)
                self.assertEqual(dev, p.name, "route get %s from %s%s" % (
                    self.rig.client4, addr, self.context()))

    def context(self):
        """Text appended to failure messages (overridden with enid's log)."""
        return ""


class EnidCase(RigCase):
    """RigCase plus enid, not started yet (self.enid)."""

    CONFIG = {}  # configuration keys that replace enidproc.TEST_CONFIG's

    def setUp(self):
        if not os.access(BINARY, os.X_OK):
            self.skipTest("%s not built (run make)" % BINARY)
        super().setUp()
        self.enid = Enid(self.rig, self.workdir, self.mock.url, **self.CONFIG)
        self.addCleanup(self.enid.kill)

    def context(self):
        return "\n" + self.enid.log_tail(25)

    def start_enid(self, *args):
        """Start the daemon and wait for READY=1."""
        self.enid.start(*args)
        return self.enid.wait_ready()

    def stop_enid(self):
        status = self.enid.stop()
        self.assertEqual(status, 0,
                         "exit status after SIGTERM" + self.context())

    def wait_refresh(self, cycles=1):
        """Sleep through refresh cycles (plus a margin for the requests)."""
        time.sleep(cycles * REFRESH_SECONDS + 1.0)

    # -- kernel state ---------------------------------------------------------

    def enid_rules(self, family="-4"):
        return [r for r in self.rig.rules(family) if expected.is_enid(r)]

    def enid_routes(self, family="-4", table="all"):
        return [r for r in self.rig.routes(family, table)
                if expected.is_enid(r)]

    def missing(self, p):
        """Return what the kernel lacks of plan p, as descriptions."""
        gaps = []
        link = self.rig.links().get(p.name)
        if link is None:
            return ["link %s is gone" % p.name]

        if "UP" not in link["flags"]:
            gaps.append("%s is down" % p.name)
        if link["mtu"] != expected.MTU:
            gaps.append("%s mtu %d" % (p.name, link["mtu"]))
        if link_group(link) != expected.GROUP:
            gaps.append("%s group %s" % (p.name, link.get("group")))

        have = {(a["local"], a["prefixlen"], bool(a.get("noprefixroute")))
                for a in self.rig.addresses(p.name)}
        for addr in p.added_addresses:
            want = (str(addr), p.subnet.prefixlen, True)
            if want not in have:
                gaps.append("address %s noprefixroute on %s" % (
                    p.interface(addr), p.name))

        rules = {expected.rule_key(r) for r in self.enid_rules()}
        for rule in p.rules():
            if rule not in rules:
                gaps.append("rule %s: from %s lookup %s" % rule)

        routes = {(r.get("table", "main"),) + expected.route_key(r)
                  for r in self.enid_routes()}
        expected_routes = [(str(p.table),) + r for r in p.table_routes()]
        expected_routes.append(("main",) + p.main_route())
        for table, dst, gateway, dev, metric in expected_routes:
            if (table, dst, gateway, dev, metric) not in routes:
                via = " via %s" % gateway if gateway else ""
                gaps.append("route %s%s dev %s metric %s table %s" % (
                    dst, via, dev, metric, table))
        return gaps

    def wait_configured(self, plans, timeout=5.0):
        """Poll until every plan is in the kernel; fail naming what lacks."""
        def gaps():
            return [g for p in plans.values() for g in self.missing(p)]
        ok = wait_until(lambda: not gaps(), timeout, step=0.1)
        if not ok:
            self.fail("not configured within %.0f s: %s%s" % (
                timeout, "; ".join(gaps()), self.context()))

    def assert_configured(self, plans):
        """Check that every plan is in the kernel now (no waiting)."""
        gaps = [g for p in plans.values() for g in self.missing(p)]
        if gaps:
            self.fail("missing: %s%s" % ("; ".join(gaps), self.context()))

    def assert_shared_rules(self):
        """Check that rule 9999 exists once in each family, with enid's marks."""
        for family in ("-4", "-6"):
            shared = [r for r in self.rig.rules(family)
                      if r["priority"] == expected.SHARED_PRIORITY]
            self.assertEqual(len(shared), 1, "%s rule %d: %s" % (
                family, expected.SHARED_PRIORITY, shared))
            rule = shared[0]
            self.assertEqual(rule.get("src", "all"), "all")
            self.assertEqual(rule.get("table"), "main")
            self.assertEqual(int(rule.get("suppress_ifgroup", "-1"), 0),
                             expected.GROUP, "suppress_ifgroup of %s" % rule)
            self.assertIn(str(rule.get("protocol")), expected.PROTOCOL_NAMES)

    def assert_exact_rules(self, plans):
        """Check that enid's IPv4 rules are those of the plans plus rule 9999."""
        want = sorted([r for p in plans.values() for r in p.rules()]
                      + [(expected.SHARED_PRIORITY, "all", "main")])
        have = sorted(expected.rule_key(r) for r in self.enid_rules())
        self.assertEqual(have, want, "enid's IPv4 rules" + self.context())

    def assert_exact_tables(self, plans):
        """Check that each ENI table contains exactly its two routes, both
        marked as enid's."""
        for p in plans.values():
            routes = self.rig.routes("-4", p.table)
            have = sorted(expected.route_key(r) for r in routes)
            want = sorted(p.table_routes())
            self.assertEqual(have, want, "table %d" % p.table)
            for route in routes:
                self.assertTrue(expected.is_enid(route),
                                "protocol of %s" % route)

    def assert_unconfigured(self, name, table=None):
        """Check that no enid object for this link or its table remains."""
        for family in ("-4", "-6"):
            for rule in self.enid_rules(family):
                self.assertNotEqual(rule.get("table"), str(table),
                                    "rule left: %s" % rule)
            for route in self.enid_routes(family):
                self.assertNotEqual(route.get("dev"), name,
                                    "route left: %s" % route)

    def assert_main_routes(self, plans):
        """Check that each ENI's subnet route is in main once, with its
        metric, and that main keeps one default route (the DHCP client's)."""
        main = [r for r in self.rig.routes("-4", "main")]
        keys = [expected.route_key(r) for r in main if expected.is_enid(r)]
        for p in plans.values():
            self.assertEqual(keys.count(p.main_route()), 1,
                             "main route %s in %s" % (p.main_route(), keys))
        defaults = [r for r in main if r["dst"] == "default"]
        self.assertEqual(len(defaults), 1, "defaults in main: %s" % defaults)
        self.assertEqual(defaults[0].get("protocol"), "dhcp")

    def assert_dhcp_untouched(self, plans):
        """Check that the primary's DHCP address is still first and dynamic,
        with its prefix route and the DHCP client's default route."""
        p = next(p for p in plans.values() if p.primary)
        first = self.rig.addresses(p.name)[0]
        self.assertEqual(first["local"], str(p.dhcp_address))
        self.assertEqual(first["prefixlen"], p.subnet.prefixlen)
        self.assertTrue(first.get("dynamic"), "DHCP address %s" % first)
        self.assertLessEqual(first["valid_life_time"], 3600)
        self.assertNotIn("noprefixroute", first)
        main = self.rig.routes("-4", "main")
        prefix = [r for r in main if r["dst"] == str(p.subnet)
                  and r.get("protocol") == "kernel" and r["dev"] == p.name]
        self.assertEqual(len(prefix), 1, "prefix route of %s" % first)
        dhcp = [r for r in main if r.get("protocol") == "dhcp"]
        self.assertEqual(len(dhcp), 1, "DHCP default route: %s" % main)
        self.assertEqual(dhcp[0].get("metric"), 100)

    def assert_tokens_used(self):
        """Check that every metadata GET carried a token, that no request
        had X-Forwarded-For and that token requests had a valid TTL."""
        requests = self.mock.requests()
        gets = [r for r in requests if r["method"] == "GET"]
        self.assertTrue(gets, "no metadata requests")
        tokenless = [r["path"] for r in gets if not r["token"]]
        self.assertEqual(tokenless, [], "GETs without a token")
        self.assertFalse([r for r in requests if r["xff"]],
                         "requests with X-Forwarded-For")
        for put in (r for r in requests if r["method"] == "PUT"):
            self.assertTrue(1 <= int(put["ttl"] or 0) <= 21600,
                            "token TTL %r" % put["ttl"])
