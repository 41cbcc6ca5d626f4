# SPDX-License-Identifier: MIT
"""Metadata that is incomplete for a while after a hot attach.

Right after an attach, IMDS may not list the MAC yet, and device-number
may read 0 (the primary's value) before the real one. enid must wait for
settled values and never give the new ENI the primary's table.
"""

import subprocess
import time
import unittest

from case import EnidCase

SETTLE_DEADLINE = 5.0  # after the metadata turns complete


class SettlingTest(EnidCase):
    LISTED = ATTACHED = ("M0",)

    def start_monitor(self):
        log = open(self.workdir + "/monitor.log", "w+")
        self.addCleanup(log.close)
        proc = self.rig.spawn("inst", ["ip", "monitor", "route", "rule"],
                              stdout=log, stderr=subprocess.STDOUT)
        time.sleep(0.3)  # let the monitor subscribe
        return proc, log

    def attach_with_fault(self, seconds, **fault):
        self.start_enid()
        self.wait_configured(self.plans(["M0"]))
        monitor, log = self.start_monitor()
        mac = self.meta.mac("M1")
        self.meta.list("M1")
        self.meta.add_fault(mac=mac, until=seconds, **fault)
        self.publish()
        self.attach_link("M1")
        plans = self.plans(["M0", "M1"])
        self.wait_configured(plans, timeout=seconds + SETTLE_DEADLINE)
        monitor.terminate()
        monitor.wait()
        log.seek(0)
        return plans, log.read()

    def assert_not_primary_numbers(self, events):
        wrong = [line for line in events.splitlines()
                 if ("10.0.1.20" in line and "lookup 10000" in line)
                 or ("dev M1" in line and ("table 10000" in line
                                           or "metric 512" in line))]
        self.assertEqual(wrong, [], "M1 got the primary's table or metric")

    def test_device_number_zero_at_first(self):
        plans, events = self.attach_with_fault(
            2.0, path="/%s/device-number$" % self.meta.mac("M1"), body="0")
        self.assert_not_primary_numbers(events)
        self.assert_exact_rules(plans)
        self.assert_reachable(plans)
        self.stop_enid()

    def test_mac_unlisted_at_first(self):
        plans, events = self.attach_with_fault(
            1.5, path="/macs/%s" % self.meta.mac("M1"), hide=True)
        self.assert_not_primary_numbers(events)
        self.assert_exact_rules(plans)
        self.assert_reachable(plans)
        self.stop_enid()


if __name__ == "__main__":
    unittest.main()
