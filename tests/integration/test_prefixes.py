# SPDX-License-Identifier: MIT
"""Delegated prefixes (ipv4-prefix, ipv6-prefix) on a secondary ENI.

M1 of dualstack.json has ipv4-prefix 10.0.1.48/28 and ipv6-prefix
2001:db8:0:1:1::/80: each gets a rule `from <prefix> lookup 10001` at
priority 10001. The rules are installed once and never deleted and
re-added by refresh cycles or SIGHUP (`ip monitor rule` proves it). A failed
read of ipv4-prefix (500, no response within imds_timeout, a reset or a
malformed body) is not data, so both rules stay. A later 404 means "no
prefix" and removes only the IPv4 rule. With prefix_routes = local the host also replies for addresses
inside the prefixes (a local route in table local).
"""

import signal
import unittest

import expected
from case import EnidCase, wait_until
from monitor import Monitor

PREFIX4 = "10.0.1.48/28"
PREFIX6 = "2001:db8:0:1:1::/80"
INSIDE4 = "10.0.1.50"
INSIDE6 = "2001:db8:0:1:1::5"
TABLE = "10001"
DEADLINE = 8.0


class PrefixCase(EnidCase):
    DATA = "dualstack.json"
    LISTED = ATTACHED = ("M0", "M1")

    def prefix_rules(self, family, prefix):
        """enid's rules from prefix (the same key once per rule)."""
        net, length = prefix.split("/")
        return [r for r in self.rig.rules(family) if expected.is_enid(r)
                and r.get("src") == net and r.get("srclen") == int(length)]

    def rule_ok(self, family, prefix):
        rules = self.prefix_rules(family, prefix)
        return (len(rules) == 1 and rules[0]["priority"] == int(TABLE)
                and rules[0].get("table") == TABLE)

    def wait_prefix_rules(self):
        ok = wait_until(lambda: self.rule_ok("-4", PREFIX4)
                        and self.rule_ok("-6", PREFIX6), DEADLINE, step=0.1)
        self.assertTrue(ok, "prefix rules: -4 %s, -6 %s%s" % (
            self.prefix_rules("-4", PREFIX4), self.prefix_rules("-6", PREFIX6),
            self.context()))

    def start_and_wait(self):
        self.start_enid()
        self.wait_configured(self.plans())
        self.wait_prefix_rules()

    def local_routes(self, family, prefix):
        return [r for r in self.rig.routes(family, "local")
                if r["dst"] == prefix and r.get("type") == "local"]

    def m1_mac_path(self, key):
        return "/macs/%s/%s$" % (self.meta.mac("M1"), key)

    def faulted_requests(self, key):
        return [r for r in self.mock.requests() if r["path"].endswith(
            "/%s/%s" % (self.meta.mac("M1"), key)) and r["faults"]]


class PrefixRuleTest(PrefixCase):

    def test_prefix_rules_stable(self):
        self.start_and_wait()
        monitor = Monitor(self.rig, self.workdir + "/rules.log",
                          objects=("rule",)).start()
        self.addCleanup(monitor.stop)
        self.wait_refresh(5)
        # An unrelated address comes and goes on M1: a link event, but the
        # prefix rules stay as they are.
        self.rig.ip("inst", "addr", "add", "10.0.1.99/24", "dev", "M1")
        self.wait_refresh()
        self.rig.ip("inst", "addr", "del", "10.0.1.99/24", "dev", "M1")
        self.wait_refresh(4)
        self.enid.proc.send_signal(signal.SIGHUP)
        self.wait_refresh()
        events = monitor.lines()
        self.assertEqual(events, [], "rule events over ten refresh cycles and "
                         "SIGHUP" + self.context())
        self.assertTrue(self.rule_ok("-4", PREFIX4))
        self.assertTrue(self.rule_ok("-6", PREFIX6))
        self.stop_enid()


class PrefixFaultTest(PrefixCase):

    def fail_then_remove(self, **effect):
        self.start_and_wait()
        self.meta.add_fault(path=self.m1_mac_path("ipv4-prefix"), **effect)
        self.publish()
        monitor = Monitor(self.rig, self.workdir + "/rules.log",
                          objects=("rule",)).start()
        self.addCleanup(monitor.stop)
        ok = wait_until(lambda: len(self.faulted_requests("ipv4-prefix")) >= 2,
                        4 * 2.0 + 5, step=0.2)
        self.assertTrue(ok, "no failed ipv4-prefix reads in the mock's log")
        self.wait_refresh()
        events = monitor.lines()
        self.assertEqual(events, [], "rule events while ipv4-prefix fails"
                         + self.context())
        self.assertTrue(self.rule_ok("-4", PREFIX4), "IPv4 prefix rule after "
                        "a failed read" + self.context())
        self.assertTrue(self.rule_ok("-6", PREFIX6))
        # Now the key is gone: a 404, which means "no prefix".
        self.meta.data["faults"] = []
        del self.meta.iface("M1")["ipv4-prefix"]
        self.publish()
        gone = wait_until(lambda: not self.prefix_rules("-4", PREFIX4),
                          2 * 2.0 + 5, step=0.2)
        self.assertTrue(gone, "IPv4 prefix rule kept after a 404"
                        + self.context())
        self.assertTrue(self.rule_ok("-6", PREFIX6), "IPv6 prefix rule after "
                        "the IPv4 prefix went" + self.context())
        self.assert_configured(self.plans())
        self.stop_enid()

    def test_prefix_read_500_keeps_rules(self):
        self.fail_then_remove(status=500)

    def test_prefix_read_timeout_keeps_rules(self):
        self.fail_then_remove(latency=3)

    def test_prefix_read_reset_keeps_rules(self):
        self.fail_then_remove(reset=True)

    def test_prefix_read_malformed_keeps_rules(self):
        self.fail_then_remove(body="10.0.1.48/")

    def test_prefix_host_bits_keep_rules(self):
        self.fail_then_remove(body="10.0.1.49/28")


class TwoPrefixTest(PrefixCase):

    def test_two_prefixes_two_rules(self):
        self.start_and_wait()
        self.meta.iface("M1")["ipv4-prefix"] = [PREFIX4, "10.0.1.64/28"]
        self.publish()
        ok = wait_until(lambda: self.rule_ok("-4", "10.0.1.64/28"),
                        2 * 2.0 + 2.0, step=0.1)
        self.assertTrue(ok, "no rule for the second prefix" + self.context())
        self.assertTrue(self.rule_ok("-4", PREFIX4))
        self.assertTrue(self.rule_ok("-6", PREFIX6))
        self.stop_enid()


class LocalPrefixRoutesTest(PrefixCase):
    CONFIG = {"prefix_routes": "local"}

    def test_local_prefix_routes_reply(self):
        self.assert_pings(False, [INSIDE4, INSIDE6], sources=("cli",),
                          phase="prefix addresses before enid")
        self.start_and_wait()
        ok = wait_until(lambda: self.local_routes("-4", PREFIX4)
                        and self.local_routes("-6", PREFIX6), DEADLINE)
        self.assertTrue(ok, "local routes for the prefixes: %s%s" % (
            self.rig.text_dump(), self.context()))
        for family, prefix in (("-4", PREFIX4), ("-6", PREFIX6)):
            route = self.local_routes(family, prefix)[0]
            self.assertTrue(expected.is_enid(route), "protocol of %s" % route)
        self.assert_pings(True, [INSIDE4, INSIDE6], sources=("cli",),
                          phase="prefix addresses with prefix_routes = local")
        self.stop_enid()


class NoLocalPrefixRoutesTest(PrefixCase):
    def test_no_local_prefix_routes_by_default(self):
        self.start_and_wait()
        self.wait_refresh()
        self.assertEqual(self.local_routes("-4", PREFIX4), [])
        self.assertEqual(self.local_routes("-6", PREFIX6), [])
        self.assert_pings(False, [INSIDE4, INSIDE6], sources=("cli",),
                          phase="prefix addresses without prefix_routes")
        self.stop_enid()


if __name__ == "__main__":
    unittest.main()
