# SPDX-License-Identifier: MIT
"""A local bridge with a container, as Docker sets one up.

Rule 9999 looks up main first but rejects a result that leaves through an
ENI. So the bridge's route serves every source address, while traffic for
the VPC still falls through to the source's own table.
"""

import unittest

import rig
from case import EnidCase

BRIDGE = "10.200.0.1/16"
CONTAINER = "10.200.0.2/16"


class BridgeTest(EnidCase):
    LISTED = ATTACHED = ("M0", "M1", "M2")

    def setUp(self):
        super().setUp()
        r = self.rig
        r.add_namespace("ctr")
        r.setup_host_namespace("ctr")
        r.ip("inst", "link", "add", "name", "br0", "type", "bridge")
        r.ip("inst", "addr", "add", BRIDGE, "dev", "br0")
        r.ip("inst", "link", "add", "name", "veth-c", "type", "veth", "peer",
             "name", "eth0", "netns", r.ns("ctr"))
        r.ip("inst", "link", "set", "veth-c", "master", "br0", "up")
        r.ip("inst", "link", "set", "br0", "up")
        r.ip("ctr", "link", "set", "eth0", "up")
        r.ip("ctr", "addr", "add", CONTAINER, "dev", "eth0")
        r.ip("ctr", "route", "add", "default", "via", BRIDGE.split("/")[0])

    def test_bridge_reachable_from_every_address(self):
        plans = self.plans()
        container = CONTAINER.split("/")[0]
        addresses = [a for p in plans.values() for a in p.addresses]
        self.start_enid()
        self.wait_configured(plans)
        self.assert_reachable(plans)
        self.assert_pings(True, addresses, sources=("ctr",),
                          phase="container to ENI addresses")
        probes = [("inst", container, str(a)) for a in addresses]
        results = self.rig.pings(probes)
        failed = [src for (_, _, src), ok in results.items() if not ok]
        self.assertEqual(failed, [], "ping -I <addr> %s failed" % container)
        for addr in addresses:
            self.assertEqual(self.rig.route_get(container, addr), "br0",
                             "route get %s from %s" % (container, addr))
        links = self.rig.links()
        self.assertEqual(rig.link_group(links["br0"]), 0)
        self.assertEqual(rig.link_group(links["veth-c"]), 0)
        self.stop_enid()


if __name__ == "__main__":
    unittest.main()
