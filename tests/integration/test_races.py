# SPDX-License-Identifier: MIT
"""Races between links, their names and the metadata.

RenameRaceTest attaches M1 as tmpNNNN and renames it after a random
0-300 ms while the mock delays its responses for M1's keys by 150 ms, as
udev renames a fresh link. ENID_RENAME_ITERATIONS sets the count (5; 50 with
ENID_STRESS=1). LinkChangeTest sets a configured link down, renames it
and sets it up, moves it to another namespace, and sets it down and up.
InFlightTest deletes a link while its metadata requests are in flight, and
UnattachedTest lists a MAC that has no link. LostEventsTest makes 300 links appear at once while enid's notification
socket has a 4 KiB receive buffer.
"""

import json
import time
import unittest

import expected
from case import wait_until
from rig import run
from stress import ReliabilityCase, count, seeded_random

PROMPT = 2.0  # seconds for enid to follow a link change


class RaceCase(ReliabilityCase):
    def ip_batch(self, *lines, timeout=20):
        """Run `ip -batch` with these lines in the instance namespace."""
        run(["ip", "-n", self.rig.ns("inst"), "-batch", "-"],
            input="".join(line + "\n" for line in lines), timeout=timeout)

    def table_leftovers(self, table):
        table = str(table)
        found = [r for family in ("-4", "-6")
                 for r in self.rig.rules(family) if r.get("table") == table]
        return found + self.rig.routes("-4", table) + \
            self.rig.routes("-6", table)

    def assert_gone(self, table, what):
        gone = wait_until(lambda: not self.table_leftovers(table), PROMPT,
                          step=0.05)
        self.assertTrue(gone, "%s: left after %.0f s: %s%s" % (
            what, PROMPT, self.table_leftovers(table), self.context()))


class RenameRaceTest(RaceCase):
    LISTED = ("M0", "M1")
    ATTACHED = ("M0",)

    def prepare_metadata(self):
        self.meta.add_fault(path="/macs/%s/" % self.meta.mac("M1"),
                            latency=0.15)

    def test_rename_after_appearing(self):
        rng = seeded_random(self)
        iterations = count("ENID_RENAME_ITERATIONS", 5, 50)
        self.start_enid()
        self.wait_configured(self.plans(["M0"]))
        plans = self.plans(["M0", "M1"])
        for number in range(iterations):
            delay = rng.uniform(0, 0.3)
            self.attach_link("M1", first_name="tmp%04d" % number,
                             rename_after=delay)
            what = "iteration %d, rename after %.3f s (seed %d)" % (
                number, delay, self.seed)
            ok = wait_until(lambda: not self.missing(plans["M1"]), 5.0,
                            step=0.05)
            self.assertTrue(ok, "%s: %s%s" % (what, self.missing(
                plans["M1"]), self.context()))
            self.assert_exact_rules(plans)
            self.rig.detach("M1")
            self.assert_gone(plans["M1"].table, what)
        self.assertTrue(self.enid.running())
        self.stop_enid()


class LinkChangeTest(RaceCase):
    DATA = "dualstack.json"
    LISTED = ATTACHED = ("M0", "M1")
    M1_IPV6 = ("2001:db8:0:1::20", "2001:db8:0:1::21")

    def configured(self):
        plans = self.plans()
        self.start_enid()
        self.wait_configured(plans)
        return plans

    def global6(self, name):
        return sorted(a["local"] for a in self.rig.addresses(name, "-6")
                      if a.get("scope") == "global")

    def enid_route_keys(self, name):
        """enid's routes through a link, both families, without its name."""
        keys = []
        for family in ("-4", "-6"):
            for r in self.enid_routes(family):
                if r.get("dev") == name:
                    keys.append((family, r.get("table", "main"), r["dst"],
                                 r.get("gateway"), r.get("metric")))
        return sorted(keys)

    def test_down_rename_up(self):
        self.configured()
        wait_until(lambda: self.global6("M1"), PROMPT)
        link = self.rig.links()["M1"]
        addresses6 = self.global6("M1")
        routes = self.enid_route_keys("M1")

        monitor = self.monitor("rule")
        # The kernel renames only links that are down. One `ip` process
        # makes the three changes, so a repair by enid between the down and
        # the rename is unlikely (it would make the rename fail).
        self.ip_batch("link set M1 down", "link set M1 name ens6",
                      "link set ens6 up")
        renamed = self.rig.links().get("ens6")
        self.assertIsNotNone(renamed, "ens6 is missing")
        self.assertEqual(renamed["ifindex"], link["ifindex"])
        self.assertEqual(renamed["address"], link["address"])

        plan = expected.EniPlan("ens6", self.meta.mac("M1"),
                                self.meta.iface("M1"), False)
        self.wait_configured({"ens6": plan}, timeout=PROMPT)
        back = wait_until(lambda: self.global6("ens6") == addresses6 and
                          self.enid_route_keys("ens6") == routes, PROMPT)
        self.assertTrue(back, "IPv6 addresses %s (were %s), routes %s "
                        "(were %s)%s" % (self.global6("ens6"), addresses6,
                                         self.enid_route_keys("ens6"),
                                         routes, self.context()))
        time.sleep(0.5)
        self.assertEqual(monitor.lines(), [], "rule changes" + self.context())

        done = self.run_subcommand("status", "--json")
        self.assertEqual(done.returncode, 0, done.stderr)
        names = {b["mac"]: b["name"] for b in json.loads(done.stdout)}
        self.assertEqual(names.get(self.meta.mac("M1")), "ens6",
                         "status: %s" % names)
        self.stop_enid()

    def test_moved_to_another_namespace(self):
        plans = self.configured()
        self.rig.ip("inst", "link", "set", "M1", "netns", self.rig.ns("vpc"))
        self.assert_gone(plans["M1"].table, "M1 moved away")
        self.assert_configured(self.plans(["M0"]))
        self.assertTrue(self.enid.running())
        self.stop_enid()

    def test_admin_down_up(self):
        plans = self.configured()
        self.ip_batch("link set M1 down", "link set M1 up")
        self.wait_configured(plans, timeout=PROMPT)
        self.assert_exact_tables(plans)
        self.assert_main_routes(plans)
        self.stop_enid()


class InFlightTest(RaceCase):
    LISTED = ("M0", "M1")
    ATTACHED = ("M0",)
    CONFIG = {"imds_timeout": "3s"}

    def prepare_metadata(self):
        self.meta.add_fault(path="/macs/%s/" % self.meta.mac("M1"),
                            latency=1.0)

    def test_deleted_while_requests_in_flight(self):
        self.start_enid()
        self.wait_configured(self.plans(["M0"]))
        mac = self.meta.mac("M1")
        self.attach_link("M1")
        in_flight = wait_until(lambda: [r for r in self.mock.requests()
                                        if mac in r["path"]], 3.0)
        self.assertTrue(in_flight, "no request for M1" + self.context())
        time.sleep(0.3)
        self.rig.detach("M1")
        detached = time.time()
        time.sleep(3.0)
        late = ["%.2f s after: %s" % (r["t"] - detached, r["path"])
                for r in self.mock.requests()
                if mac in r["path"] and r["t"] > detached + 0.1]
        self.assertEqual(late, [], "requests after the detach"
                         + self.context())
        self.assertEqual(self.table_leftovers(10001), [])
        self.assertNotIn("M1", self.rig.links())
        self.assert_configured(self.plans(["M0"]))
        self.stop_enid()


class UnattachedTest(RaceCase):
    LISTED = ("M0", "M1", "M2")
    ATTACHED = ("M0", "M1")

    def test_listed_mac_without_link(self):
        plans = self.plans()
        self.start_enid()
        self.wait_configured(plans)
        self.wait_refresh()
        mark = self.log_mark()
        self.wait_refresh(3)
        table = expected.plan(self.meta, ["M2"])["M2"].table
        self.assertEqual(self.table_leftovers(table), [])
        self.assertEqual(self.log_since(mark), [],
                         "log lines in three quiet refresh cycles")
        mac = self.meta.mac("M2")
        mentions = [line for line in self.enid.log().splitlines()
                    if mac in line or "M2" in line]
        self.assertLessEqual(len(mentions), 1, "lines about M2: %s" %
                             mentions)
        self.assert_exact_rules(plans)
        self.stop_enid()


class LostEventsTest(RaceCase):
    LISTED = ("M0", "M1", "M2", "M3")
    ATTACHED = ("M0",)
    LINKS = 300

    def batch(self):
        """`ip -batch` lines that create LINKS links (veth pairs), M1 to M3
        among them with their ENIs' MACs."""
        lines = []
        for name in ("M1", "M2", "M3"):
            lines.append("link add name %s address %s type veth peer name "
                         "p%s" % (name, self.meta.mac(name), name))
        for number in range(self.LINKS // 2 - 3):
            lines.append("link add name va%d type veth peer name vb%d" % (
                number, number))
        for name in ("M1", "M2", "M3"):
            lines.append("link set p%s up" % name)
        return lines

    def test_overrun_leads_to_resync(self):
        self.start_enid("--netlink-rcvbuf", "4096")
        self.wait_configured(self.plans(["M0"]))
        self.ip_batch(*self.batch(), timeout=120)
        plans = self.plans(["M0", "M1", "M2", "M3"])
        self.wait_configured(plans, timeout=30.0)
        self.assertIn("notifications were lost", self.enid.log(),
                      "no overrun logged" + self.context())
        self.assert_exact_rules(plans)
        self.assertTrue(self.enid.running())
        self.stop_enid()


if __name__ == "__main__":
    unittest.main()
