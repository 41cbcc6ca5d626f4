# SPDX-License-Identifier: MIT
"""Drift: outside changes to enid's objects are
undone; other programs' objects are never touched.

DriftTest changes one enid object or link setting per test from outside
and expects it back within 1 s with one log line for it. A sequence test
makes those changes one after another, 3 s apart, as an administrator
might. ForeignTest adds the user's own rules and routes, some in enid's
tables and at enid's priorities, and checks them across attach, detach,
SIGHUP and refresh. FightTest deletes an address 100 ms after each time it
appears and bounds how often enid puts it back; ENID_FIGHT_SECONDS
sets its length (40; 120 with ENID_STRESS=1). FlushTest removes every rule
at priorities 9999-10999 and table 10001's default route at once, as a
network manager might.
"""

import collections
import math
import re
import signal
import threading
import time
import unittest

from case import wait_until
from stress import ReliabilityCase, count

RESTORE_DEADLINE = 1.0
M1_ADDRESS = "10.0.1.20/24"


class DriftCase(ReliabilityCase):
    LISTED = ATTACHED = ("M0", "M1")

    def configured(self):
        plans = self.plans()
        self.start_enid()
        self.wait_configured(plans)
        time.sleep(0.5)
        return plans

    def assert_restored(self, plans, what, mark):
        """Wait RESTORE_DEADLINE for plans, then check that no log line
        since mark came twice."""
        started = time.monotonic()
        gaps = lambda: [g for p in plans.values() for g in self.missing(p)]
        ok = wait_until(lambda: not gaps(), RESTORE_DEADLINE, step=0.02)
        elapsed = time.monotonic() - started
        self.assertTrue(ok, "%s: not restored within %.1f s: %s%s" % (
            what, RESTORE_DEADLINE, "; ".join(gaps()), self.context()))
        time.sleep(0.5)
        lines = self.log_since(mark)
        twice = [line for line, n in collections.Counter(lines).items()
                 if n > 1]
        self.assertEqual(twice, [], "%s: logged more than once%s" % (
            what, self.context()))
        return elapsed, lines


# Each change: (description, ip arguments, a text the repair's log line
# has after its verb).
CHANGES = (
    ("rule deleted", ("rule", "del", "priority", "10001", "from",
                      "10.0.1.20", "lookup", "10001"),
     "rule 10001: from 10.0.1.20/32"),
    ("table route deleted", ("route", "del", "default", "table", "10001"),
     "route default via 10.0.1.1 dev M1 table 10001"),
    ("subnet route in table deleted", ("route", "del", "10.0.1.0/24",
                                       "table", "10001"),
     "route 10.0.1.0/24 dev M1 table 10001"),
    ("main route deleted", ("route", "del", "10.0.1.0/24", "dev", "M1",
                            "metric", "513"),
     "route 10.0.1.0/24 dev M1 table main"),
    ("address deleted", ("addr", "del", M1_ADDRESS, "dev", "M1"),
     "address " + M1_ADDRESS),
    ("MTU changed", ("link", "set", "M1", "mtu", "1500"), "mtu 9001"),
    ("group changed", ("link", "set", "M1", "group", "0"), "group 0x2ec"),
    ("set down", ("link", "set", "M1", "down"), "set link M1 up"),
)


class DriftTest(DriftCase):
    def change_and_check(self, plans, description, argv, repair):
        mark = self.log_mark()
        self.rig.ip("inst", *argv)
        _, lines = self.assert_restored(plans, description, mark)
        repairs = [line for line in lines if repair in line]
        self.assertEqual(len(repairs), 1, "%s: log lines with %r: %s%s" % (
            description, repair, repairs, self.context()))

    def drift(self, index):
        plans = self.configured()
        self.change_and_check(plans, *CHANGES[index])
        self.assert_exact_rules(plans)
        self.assert_shared_rules()
        self.stop_enid()

    def test_rule_deleted(self):
        self.drift(0)

    def test_table_default_deleted(self):
        self.drift(1)

    def test_table_subnet_route_deleted(self):
        self.drift(2)

    def test_main_route_deleted(self):
        self.drift(3)

    def test_address_deleted(self):
        self.drift(4)

    def test_mtu_changed(self):
        self.drift(5)

    def test_group_changed(self):
        self.drift(6)

    def test_set_down(self):
        self.drift(7)

    def test_changes_3s_apart(self):
        """One change after another: each one is an administrator's
        mistake, not a fight, and each is undone within 1 s."""
        plans = self.configured()
        for change in CHANGES:
            self.change_and_check(plans, *change)
            time.sleep(3.0)
        self.assert_exact_rules(plans)
        self.stop_enid()


class ForeignTest(DriftCase):
    LISTED = ("M0", "M1", "M2")
    ATTACHED = ("M0", "M1")
    # The user's objects: routes in main and in enid's table 10001, one of
    # another protocol, rules at other and at enid's own priorities.
    ROUTES = (
        ("10.50.0.0/16", "via", "10.0.1.254", "dev", "M1", "onlink",
         "proto", "static"),
        ("10.60.0.0/16", "via", "10.0.1.254", "dev", "M1", "onlink",
         "table", "10001", "proto", "static"),
        ("10.61.0.0/16", "dev", "M1", "table", "10001", "proto", "99"),
    )
    RULES = (
        ("priority", "500", "from", "10.0.1.116", "fwmark", "0x2711",
         "lookup", "10001"),
        ("priority", "1000", "fwmark", "0x1", "lookup", "100"),
        ("priority", "10001", "from", "10.0.1.99", "lookup", "10001"),
        ("priority", "10002", "from", "10.0.0.77", "lookup", "10002",
         "proto", "static"),
    )
    MARKERS = ("10.50.0.0", "10.60.0.0", "10.61.0.0", "10.0.1.116",
               "fwmark 0x1 ", "10.0.1.99", "10.0.0.77", "2001:db8:b::20")

    def foreign(self):
        """The user's rules and routes as `ip` prints them (enid's copies
        of main's routes in its tables left out)."""
        text = self.rig.text_dump()
        return sorted(line for line in text.splitlines()
                      if any(m in line for m in self.MARKERS)
                      and "proto 236" not in line
                      and "proto enid" not in line)

    def test_foreign_objects_survive(self):
        plans = self.configured()
        for route in self.ROUTES:
            self.rig.ip("inst", "route", "add", *route)
        for rule in self.RULES:
            self.rig.ip("inst", "rule", "add", *rule)
        self.rig.ip("inst", "-6", "rule", "add", "priority", "10001",
                    "from", "2001:db8:b::20", "lookup", "10001")
        mine = self.foreign()
        self.assertEqual(len(mine), len(self.ROUTES) + len(self.RULES) + 1,
                         "the user's objects: %s" % mine)
        monitor = self.monitor("route", "rule")

        def check(step):
            self.assertEqual(self.foreign(), mine, "after %s%s" % (
                step, self.context()))
            deleted = [line for _, line in monitor.lines()
                       if line.startswith("Deleted")
                       and any(m in line for m in self.MARKERS)
                       and "proto 236" not in line
                       and "proto enid" not in line]
            self.assertEqual(deleted, [], "deleted after %s" % step)

        self.attach_link("M2")
        with_m2 = self.plans(["M0", "M1", "M2"])
        self.wait_configured(with_m2)
        check("attach of M2")
        self.rig.detach("M2")
        wait_until(lambda: not [r for r in self.enid_rules()
                                if r.get("table") == "10002"], 2.0)
        check("detach of M2")
        self.enid.proc.send_signal(signal.SIGHUP)
        self.wait_refresh()
        check("SIGHUP")
        self.wait_refresh(2)
        check("two refresh cycles")
        self.assert_configured(plans)
        self.stop_enid()


class FightTest(DriftCase):
    """Another program deletes M1's address 100 ms after it appears."""

    def test_delete_loop_backs_off(self):
        seconds = count("ENID_FIGHT_SECONDS", 40, 120)
        window = seconds / 2.0
        # The repair delay doubles up to 10 s: at most 6 re-adds a minute,
        # plus one for where the window cuts the schedule.
        bound = math.ceil(6 * window / 60.0) + 1
        self.configured()
        adds = []
        deleter_stop = threading.Event()

        def on_line(now, line):
            if line.startswith("Deleted") or " inet 10.0.1.20/24" not in line:
                return
            adds.append(now)
            timer = threading.Timer(0.1, self.rig.ip, args=(
                "inst", "addr", "del", M1_ADDRESS, "dev", "M1"),
                kwargs={"check": False})
            if not deleter_stop.is_set():
                timer.start()

        mark = self.log_mark()
        monitor = self.monitor("address", on_line=on_line)
        started = time.monotonic()
        self.rig.ip("inst", "addr", "del", M1_ADDRESS, "dev", "M1")
        time.sleep(seconds)
        deleter_stop.set()
        time.sleep(0.3)
        monitor.stop()
        late = [t for t in adds if t - started >= seconds - window]
        self.assertLessEqual(len(late), bound, "re-adds in the last %.0f s "
                             "of %.0f s: %d (all at %s)%s" % (
                                 window, seconds, len(late),
                                 ["%.1f" % (t - started) for t in adds],
                                 self.context()))
        lines = [line for line in self.log_since(mark)
                 if "10.0.1.20" in line or "warn" in line.lower()]
        self.assertLessEqual(len(lines), 2 * len(adds) + 1,
                             "log lines for %d re-adds: %s" % (
                                 len(adds), lines))
        self.assertTrue(self.enid.running(), "enid exited" + self.context())
        # Left alone, enid puts the address back.
        self.wait_configured(self.plans(), timeout=12.0)
        self.stop_enid()


class FlushTest(DriftCase):
    def enid_rule_priorities(self, family):
        return [r["priority"] for r in self.rig.rules(family)
                if 9999 <= r["priority"] <= 10999]

    def test_flush_of_rules_and_table_default(self):
        plans = self.configured()
        mark = self.log_mark()
        for family in ("-4", "-6"):
            for priority in self.enid_rule_priorities(family):
                self.rig.ip("inst", family, "rule", "del", "priority",
                            str(priority))
        self.rig.ip("inst", "route", "del", "default", "table", "10001")
        _, lines = self.assert_restored(plans, "flush", mark)
        self.assert_exact_rules(plans)
        self.assert_shared_rules()
        self.assert_exact_tables(plans)
        adds = [line for line in lines if re.search(r"\badd(ed)? ", line)]
        self.assertEqual(len(adds), len(set(adds)), "adds: %s" % adds)
        self.stop_enid()


if __name__ == "__main__":
    unittest.main()
