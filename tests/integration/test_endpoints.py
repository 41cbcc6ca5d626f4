# SPDX-License-Identifier: MIT
"""The IPv6 metadata endpoint, used when the IPv4 one refuses connections.

enid gets both endpoints from its configuration file (no --imds-url, which
would replace both): imds_url names a loopback port nobody listens on,
imds_url_ipv6 a mock on ::1 in the instance namespace. The instance has
IPv6-only ENIs, as an instance whose metadata service answers only on
IPv6 would.
"""

import os
import subprocess
import unittest

from case import EnidCase
from imds_mock import MockProcess
# Import the module, not its TestCase classes, so that unittest does not
# collect and run them a second time from this module.
import test_ipv6
from test_ipv6 import Ipv6Checks, ipv6_plans

# A port on 127.0.0.1 with no listener: connections are refused.
REFUSED_URL = "http://127.0.0.1:9"


class Ipv6EndpointTest(Ipv6Checks, EnidCase):
    DATA = "ipv6only.json"
    LISTED = ATTACHED = ("M0", "M1")
    LINK_LOCAL = test_ipv6.AllIpv6OnlyTest.LINK_LOCAL
    attach_link = test_ipv6.AllIpv6OnlyTest.attach_link

    def setUp(self):
        super().setUp()
        os.makedirs(os.path.join(self.workdir, "v6"), exist_ok=True)
        self.mock6 = MockProcess(os.path.join(self.workdir, "v6"),
                                 self.meta.snapshot(),
                                 lambda argv, **kw: self.rig.spawn(
                                     "inst", argv, **kw),
                                 address="::1")
        self.mock6.start()
        self.addCleanup(self.mock6.stop)

    def test_ipv6_endpoint_when_ipv4_refused(self):
        self.enid.config["imds_url"] = REFUSED_URL
        self.enid.config["imds_url_ipv6"] = self.mock6.url
        self.enid.write_config()
        argv = [self.enid.binary, "-c", self.enid.config_path, "--oneshot",
                "--timeout", "20s"]
        log_path = self.enid.new_log()
        with open(log_path, "wb") as log:
            proc = self.rig.spawn("inst", argv, stdin=subprocess.DEVNULL,
                                  stdout=log, stderr=log,
                                  env=self.enid.environment(False))
            status = proc.wait(40)
        text = self.enid.log(log_path)
        self.assertEqual(status, 0, text)
        self.assertIn("switching to " + self.mock6.url, text)
        plans6 = ipv6_plans(self.meta, self.LISTED)
        self.wait_ipv6(plans6, timeout=1.0)
        self.assert_pings(True, self.addresses6(plans6), sources=("cli",),
                          phase="IPv6 after --oneshot")


if __name__ == "__main__":
    unittest.main()
