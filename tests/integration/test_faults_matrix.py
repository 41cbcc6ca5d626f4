# SPDX-License-Identifier: MIT
"""The fault matrix: each metadata fault at boot, on hot attach and during
refresh.

Every fault of FAULTS goes on one key of M1 or on the macs/ listing. Each
is tried at three moments. At boot, enid starts while the fault is active.
On attach, the fault is on the keys of an ENI attached while enid runs.
During refresh, the fault starts after M1 is configured. After each, the
kernel contains exactly the last good state, read from a dump, and enid
still runs.

Three kinds of fault:
- "error": the service fails (5xx, 429, reset, timeout, a body slower
  than imds_timeout). Nothing changes, and the request is retried.
- "bad": a 200 whose body is hostile or malformed. Nothing changes, and
  enid's log has a warning naming M1's MAC and the key.
- "ok": valid but unusual (CRLF line ends, a final newline or none,
  upper-case MACs in the listing). M1 is configured as usual.
"""

import time
import unittest

from case import wait_until
from faultcase import FaultCase

ADDR = "local-ipv4s"
SUBNET = "subnet-ipv4-cidr-block"
LISTING = "LISTING"  # the fault goes on the macs/ listing, not on a key
SLOW_BODY = ["10.0.1.%d" % n for n in range(20, 28)]  # 79 bytes

# name -> (kind, key, mock fault effect, seconds to wait for the warning).
# The warning about a slow body comes when the request deadline (10 s)
# ends its retries.
FAULTS = {
    "status_500": ("error", ADDR, {"status": 500}, None),
    "status_429": ("error", ADDR, {"status": 429}, None),
    "reset": ("error", ADDR, {"reset": True}, None),
    "timeout": ("error", ADDR, {"latency": 1.5}, None),
    "slow_drip": ("error", ADDR, {"body": SLOW_BODY, "body_rate": 16},
                  15.0),
    "oversize": ("bad", ADDR, {"oversize": 100000}, 5.0),
    "garbage": ("bad", ADDR, {"body_hex": "ff fe 80 c3 28 0a 25 73"}, 5.0),
    "nul_byte": ("bad", ADDR, {"body_hex": "31302e302e312e323000"}, 5.0),
    "empty_body": ("bad", ADDR, {"body": ""}, 5.0),
    "duplicate_lines": ("bad", ADDR,
                        {"body": ["10.0.1.20", "10.0.1.20"]}, 5.0),
    "cidr_host_bits": ("bad", SUBNET, {"body": "10.0.1.5/24"}, 5.0),
    "ipv6_prefix_for_ipv4": ("bad", SUBNET, {"body": "2001:db8:1::/64"},
                             5.0),
    "crlf": ("ok", ADDR, {"body": "10.0.1.20\r\n"}, None),
    "final_newline": ("ok", ADDR, {"body": "10.0.1.20\n"}, None),
    "no_final_newline": ("ok", SUBNET, {"body": "10.0.1.0/24"}, None),
    "upper_case_macs": ("ok", LISTING, {"upper": True}, None),
}

CONFIGURE_DEADLINE = 5.0
EXERCISE_DEADLINE = 5.0  # enid requests the faulted key within this
SETTLE = 0.5  # after the fault was exercised, before the dump


class MatrixCase(FaultCase):
    """Applies one entry of FAULTS and checks the outcome."""

    def add_case_fault(self, name):
        kind, key, effect, _ = FAULTS[name]
        if key == LISTING:
            self.meta.data["mac_case"] = "any"
            self.meta.add_fault(path="/interfaces/macs/$", **effect)
        else:
            self.fault("M1", key, **effect)
        self.publish()
        return kind, key

    def exercised(self, name, since):
        """Requests since the given time that the case's fault applied to."""
        return [r for r in self.faulted(since)
                if self.case_path(name) in r["path"]]

    def case_path(self, name):
        key = FAULTS[name][1]
        if key == LISTING:
            return "/interfaces/macs/"
        return "/%s/%s" % (self.meta.mac("M1"), key)

    def wait_outcome(self, name, since, log_line):
        """Wait until the fault was applied, and for an error until the
        request was retried once, so that the first attempt has ended.
        Then wait for the warning, if the case expects one. Returns False
        when enid did not request the faulted key."""
        kind, key, _, warn = FAULTS[name]
        least = 2 if kind == "error" else 1
        requested = wait_until(
            lambda: len(self.exercised(name, since)) >= least,
            EXERCISE_DEADLINE, step=0.1)
        if warn and requested:
            self.wait_logged("M1", key, warn, since_line=log_line)
        time.sleep(SETTLE)
        return bool(requested)

    def check_not_applied(self, before, link, plans):
        """The kernel as before, apart from M1's link existing, untouched."""
        self.assert_running()
        after = self.without_shared_rules(self.routing())
        self.assert_same_dump(self.without_shared_rules(before),
                              self.without_link(after, "M1"), "fault")
        self.assertEqual(self.untouched("M1", link), [], self.context())
        self.assert_unconfigured("M1", plans["M1"].table)


def add_tests(cls, runner):
    """Give cls a test_<fault> method per entry of FAULTS."""
    for name in FAULTS:
        def test(self, name=name):
            runner(self, name)
        test.__name__ = "test_" + name
        test.__doc__ = "%s: %s" % (cls.MOMENT, name)
        setattr(cls, test.__name__, test)
    return cls


def run_at_boot(self, name):
    kind, _ = self.add_case_fault(name)
    plans = self.plans(["M0", "M1"])
    link = self.link_snapshot("M1")
    since = time.time()
    self.enid.start()
    if kind == "ok":
        self.wait_configured(plans, timeout=CONFIGURE_DEADLINE)
        self.assert_exact_rules(plans)
        self.assert_running()
        return
    good = self.plans(["M0"])
    self.wait_configured(good, timeout=CONFIGURE_DEADLINE)
    self.assertTrue(self.wait_outcome(name, since, 0),
                    "the fault was never exercised" + self.context())
    self.assert_exact_rules(good)
    self.assert_exact_tables(good)
    self.assert_running()
    self.assertEqual(self.untouched("M1", link), [], self.context())
    self.assert_unconfigured("M1", plans["M1"].table)
    self.assert_main_routes(good)


def run_on_attach(self, name):
    self.start_enid()
    self.wait_configured(self.plans(["M0"]))
    before = self.routing()
    log_line = self.log_lines()
    kind, _ = self.add_case_fault(name)
    since = time.time()
    self.hot_attach("M1")
    link = self.link_snapshot("M1")
    plans = self.plans(["M0", "M1"])
    if kind == "ok":
        self.wait_configured(plans, timeout=CONFIGURE_DEADLINE)
        self.assert_exact_rules(plans)
        self.assert_running()
        return
    self.assertTrue(self.wait_outcome(name, since, log_line),
                    "the fault was never exercised" + self.context())
    self.check_not_applied(before, link, plans)


def run_in_refresh(self, name):
    plans = self.plans(["M0", "M1"])
    self.start_enid()
    self.wait_configured(plans)
    before = self.rig.dump()
    log_line = self.log_lines()
    since = time.time()
    self.add_case_fault(name)
    requested = self.wait_outcome(name, since, log_line)
    self.assert_running()
    self.assert_same_dump(before, self.rig.dump(), "refresh with " + name)
    self.assert_configured(plans)
    if not requested:
        self.skipTest("the refresh does not read %s (kernel unchanged)" %
                      FAULTS[name][1])


class BootFaultTest(MatrixCase):
    """enid starts while M1's key is faulty."""

    MOMENT = "boot"
    LISTED = ATTACHED = ("M0", "M1")


class AttachFaultTest(MatrixCase):
    """M1 is attached while enid runs, with the fault on its keys."""

    MOMENT = "attach"
    LISTED = ATTACHED = ("M0",)


class RefreshFaultTest(MatrixCase):
    """The fault starts once M1 is configured."""

    MOMENT = "refresh"
    LISTED = ATTACHED = ("M0", "M1")


add_tests(BootFaultTest, run_at_boot)
add_tests(AttachFaultTest, run_on_attach)
add_tests(RefreshFaultTest, run_in_refresh)


if __name__ == "__main__":
    unittest.main()
