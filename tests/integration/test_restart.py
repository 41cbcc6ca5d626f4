# SPDX-License-Identifier: MIT
"""Restart: a second start finds everything in place and changes nothing."""

import collections
import subprocess
import time
import unittest

from case import EnidCase


class RestartTest(EnidCase):
    LISTED = ATTACHED = ("M0", "M1", "M2")

    def restart(self):
        plans = self.plans()
        self.start_enid()
        self.wait_configured(plans)
        self.stop_enid()
        return plans, self.rig.text_dump()

    def assert_no_duplicates(self):
        for family in ("-4", "-6"):
            rules = [(r["priority"], r.get("src"), r.get("srclen"),
                      r.get("table"), r.get("suppress_ifgroup"),
                      r.get("protocol")) for r in self.rig.rules(family)]
            twice = [k for k, n in collections.Counter(rules).items() if n > 1]
            self.assertEqual(twice, [], "%s rules listed twice" % family)
            routes = [(r.get("type"), r.get("table"), r["dst"],
                       r.get("gateway"), r.get("dev"), r.get("metric"))
                      for r in self.rig.routes(family)]
            twice = [k for k, n in collections.Counter(routes).items()
                     if n > 1]
            self.assertEqual(twice, [], "%s routes listed twice" % family)

    def test_restart_keeps_state(self):
        plans, before = self.restart()
        self.start_enid()
        self.wait_refresh()
        after = self.rig.text_dump()
        self.assertMultiLineEqual(before, after)
        self.assert_no_duplicates()
        self.assert_exact_rules(plans)
        self.assert_reachable(plans)
        self.stop_enid()

    def test_restart_sends_no_changes(self):
        _, before = self.restart()
        log = open(self.workdir + "/monitor.log", "w+")
        self.addCleanup(log.close)
        monitor = self.rig.spawn("inst", ["ip", "monitor", "address", "route",
                                          "rule"], stdout=log,
                                 stderr=subprocess.STDOUT)
        time.sleep(0.3)  # let the monitor subscribe before enid starts
        self.start_enid()
        self.wait_refresh(2)
        monitor.terminate()
        monitor.wait()
        log.seek(0)
        # Nothing else changes addresses, routes or rules in the instance
        # namespace, so every event comes from enid.
        events = [line for line in log.read().splitlines() if line.strip()]
        self.assertEqual(events, [], "kernel changes after restart"
                         + self.context())
        self.assertMultiLineEqual(before, self.rig.text_dump())
        self.stop_enid()


if __name__ == "__main__":
    unittest.main()
