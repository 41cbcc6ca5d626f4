# SPDX-License-Identifier: MIT
"""Malformed metadata values: a warning naming MAC and key, no change.

An error is never data: a value that does not parse leaves the ENI as it
was (unconfigured, or as last applied), and the other ENIs are configured
as usual.
"""

import unittest

from case import EnidCase, wait_until

LOG_DEADLINE = 5.0
# ENI -> (key, malformed value).
BAD_VALUES = {
    "M1": ("local-ipv4s", ["10.0.1.999"]),
    "M3": ("subnet-ipv4-cidr-block", "10.0.3.0/33"),
}


class BadMetadataTest(EnidCase):
    LISTED = ATTACHED = ("M0", "M1", "M2", "M3")

    def prepare_metadata(self):
        for name, (key, value) in BAD_VALUES.items():
            self.meta.iface(name)[key] = value

    def logged(self, name, key):
        mac = self.meta.mac(name).lower()
        return [line for line in self.enid.log().splitlines()
                if mac in line.lower() and key in line]

    def assert_logged(self, name, key):
        found = wait_until(lambda: self.logged(name, key), LOG_DEADLINE)
        self.assertTrue(found, "no log line with %s and %s%s" % (
            self.meta.mac(name), key, self.context()))

    def test_malformed_values_rejected(self):
        good = self.plans(["M0", "M2"])
        state = {name: self.rig.links()[name] for name in BAD_VALUES}
        self.start_enid()
        self.wait_configured(good)
        for name, (key, _) in BAD_VALUES.items():
            self.assert_logged(name, key)
        self.wait_refresh()
        for name in BAD_VALUES:
            link = self.rig.links()[name]
            self.assertEqual(link["flags"], state[name]["flags"], name)
            self.assertEqual(link["mtu"], state[name]["mtu"], name)
            self.assertEqual(link.get("group"), state[name].get("group"), name)
            self.assertEqual(self.rig.addresses(name), [], name)
            self.assert_unconfigured(name)
        self.assert_exact_rules(good)
        self.assert_reachable(good)
        self.stop_enid()


class BadRefreshTest(EnidCase):
    LISTED = ATTACHED = ("M0", "M1")

    def test_malformed_refresh_keeps_state(self):
        plans = self.plans()
        self.start_enid()
        self.wait_configured(plans)
        before = self.rig.text_dump()
        self.meta.iface("M1")["local-ipv4s"] = ["10.0.1.20", "10.0.1.999"]
        self.mock.update(self.meta.snapshot())
        mac = self.meta.mac("M1").lower()
        found = wait_until(lambda: [
            l for l in self.enid.log().splitlines()
            if mac in l.lower() and "local-ipv4s" in l], LOG_DEADLINE)
        self.assertTrue(found, "no log line with %s and local-ipv4s%s" % (
            mac, self.context()))
        self.wait_refresh()
        self.assertMultiLineEqual(self.rig.text_dump(), before)
        self.assert_configured(plans)
        self.assert_reachable(plans)
        self.stop_enid()


if __name__ == "__main__":
    unittest.main()
