# SPDX-License-Identifier: MIT
"""Detach: when an ENI's link goes, enid removes its rules.

The kernel drops the link's addresses and routes by itself, but source
rules stay until someone deletes them. The metadata keeps listing M1, as
it may for a while after a real detach.
"""

import unittest

from case import EnidCase, wait_until

DETACH_DEADLINE = 2.0


class DetachTest(EnidCase):
    LISTED = ATTACHED = ("M0", "M1")

    def m1_leftovers(self, table):
        rules = [r for family in ("-4", "-6") for r in self.rig.rules(family)
                 if r.get("table") == str(table)]
        routes = self.rig.routes("-4", table) + self.rig.routes("-6", table)
        return rules + routes

    def test_detach_removes_rules(self):
        plans = self.plans()
        self.start_enid()
        self.wait_configured(plans)
        table = plans["M1"].table
        self.rig.detach("M1")
        gone = wait_until(lambda: not self.m1_leftovers(table),
                          DETACH_DEADLINE, step=0.05)
        self.assertTrue(gone, "left %.0f s after detach: %s%s" % (
            DETACH_DEADLINE, self.m1_leftovers(table), self.context()))
        self.assert_unconfigured("M1", table)
        remaining = self.plans(["M0"])
        self.assert_configured(remaining)
        self.assert_exact_rules(remaining)
        self.assert_shared_rules()
        self.assert_reachable(remaining)
        self.assertTrue(self.enid.running(), "enid exited" + self.context())
        self.stop_enid()


if __name__ == "__main__":
    unittest.main()
