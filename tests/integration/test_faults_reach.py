# SPDX-License-Identifier: MIT
"""Reaching the service when main's default route moves away.

The mock listens on the link-local address 169.254.10.10 in the router
namespace, which the instance reaches over M0's link. Once enid runs,
main's DHCP default route is replaced by one through a dummy path (a veth
named vpn0, default via 10.99.0.1), which has no way to the mock. enid
binds its requests to the primary ENI's link when the endpoint is
link-local, so it still reaches the mock and configures an ENI attached
after the move.
"""

import os
import unittest

from case import wait_until
from faultcase import FaultCase
from enidproc import Enid
from imds_mock import MockProcess

MOCK_ADDRESS = "169.254.10.10"
VPN_ADDRESS = "10.99.0.2/24"
VPN_GATEWAY = "10.99.0.1"
CONFIGURE_DEADLINE = 10.0


class MovedDefaultTest(FaultCase):
    LISTED = ("M0", "M1")
    ATTACHED = ("M0",)

    def setUp(self):
        super().setUp()
        # The mock of RigCase listens on the instance's loopback, but this
        # one listens in the router namespace. Its address goes on the
        # router's loopback because Rig.sync() removes every other address
        # from router ports. The router replies to ARP for it on r-M0.
        self.mock.stop()
        self.rig.ip("vpc", "addr", "add", MOCK_ADDRESS + "/32", "dev", "lo")
        workdir = os.path.join(self.workdir, "vpc-mock")
        os.makedirs(workdir, exist_ok=True)
        self.mock = MockProcess(
            workdir, self.meta.snapshot(),
            lambda argv, **kw: self.rig.spawn("vpc", argv, **kw),
            address=MOCK_ADDRESS)
        self.mock.start()
        self.addCleanup(self.mock.stop)
        self.enid = Enid(self.rig, self.workdir, self.mock.url, **self.CONFIG)
        self.addCleanup(self.enid.kill)

    def move_default(self):
        """Replace the DHCP default route with one through vpn0."""
        self.rig.ip("inst", "link", "add", "vpn0", "type", "veth", "peer",
                    "name", "vpn0-peer")
        self.rig.ip("inst", "addr", "add", VPN_ADDRESS, "dev", "vpn0")
        self.rig.ip("inst", "link", "set", "vpn0", "up")
        self.rig.ip("inst", "link", "set", "vpn0-peer", "up")
        self.rig.ip("inst", "route", "del", "default", "proto", "dhcp")
        self.rig.ip("inst", "route", "add", "default", "via", VPN_GATEWAY,
                    "dev", "vpn0")

    def reachable(self, *curl_args):
        """Return whether curl in the instance gets an HTTP status from the
        mock."""
        code = self.rig.exec("inst", ["curl", "-s", "-o", "/dev/null",
                                      "-w", "%{http_code}", "--max-time",
                                      "1"] + list(curl_args)
                             + [self.mock.url + "/latest/meta-data/"],
                             check=False)
        return code.strip() not in ("", "000")

    def test_bound_to_primary_link(self):
        self.start_enid()
        self.wait_configured(self.plans(["M0"]))
        self.move_default()
        self.assertEqual(self.rig.route_get(MOCK_ADDRESS), "vpn0",
                         "the mock is still on main's path")
        self.assertFalse(self.reachable(),
                         "an unbound client still reaches the mock")
        self.assertTrue(self.reachable("--interface", "if!M0"),
                        "a client bound to M0 does not reach the mock")

        sent = len(self.mock.requests())
        self.meta.list("M1")
        self.publish()
        self.attach_link("M1")
        plans = self.plans(["M0", "M1"])
        self.wait_configured(plans, timeout=CONFIGURE_DEADLINE)
        self.assertTrue(wait_until(lambda: len(self.mock.requests()) > sent,
                                   1.0))
        self.assert_exact_rules(plans)
        self.assert_running()


if __name__ == "__main__":
    unittest.main()
