# SPDX-License-Identifier: MIT
"""Tests of the mock features that the fault tests add: the "rate" limit,
the "upper" effect and the "mac_case" option.

The mock runs on 127.0.0.1 of the namespace the tests run in, and no root
is needed.
"""

import http.client
import shutil
import tempfile
import unittest

from imds_mock import MockProcess
from metadata import Metadata

M1 = "02:ec:1d:00:00:01"
MACS = "/latest/meta-data/network/interfaces/macs/"


class MockFaultTest(unittest.TestCase):

    def setUp(self):
        self.workdir = tempfile.mkdtemp(prefix="enid-mock-")
        self.addCleanup(shutil.rmtree, self.workdir, True)
        self.meta = Metadata.load("vpc.json", listed=["M0", "M1"])
        self.meta.data["token_required"] = False
        self.mock = MockProcess(self.workdir, self.meta.snapshot()).start()
        self.addCleanup(self.mock.stop)

    def publish(self):
        self.mock.update(self.meta.snapshot())

    def get(self, path):
        conn = http.client.HTTPConnection("127.0.0.1", self.mock.port,
                                          timeout=5)
        try:
            conn.request("GET", path)
            response = conn.getresponse()
            return response.status, response.read().decode()
        finally:
            conn.close()

    def test_rate_rejects_excess(self):
        self.meta.add_fault(path="/local-ipv4s$", rate=3, status=429)
        self.publish()
        statuses = [self.get(MACS + M1 + "/local-ipv4s")[0]
                    for _ in range(6)]
        self.assertEqual(statuses[:3], [200, 200, 200])
        self.assertEqual(statuses[3:], [429, 429, 429])
        other = self.get(MACS + M1 + "/device-number")[0]
        self.assertEqual(other, 200, "a path the fault does not match")

    def test_upper_listing(self):
        self.meta.add_fault(path="/interfaces/macs/$", upper=True)
        self.publish()
        status, body = self.get(MACS)
        self.assertEqual(status, 200)
        self.assertIn(M1.upper() + "/", body.split("\n"))

    def test_mac_case_any(self):
        path = MACS + M1.upper() + "/local-ipv4s"
        self.assertEqual(self.get(path)[0], 404, "upper case by default")
        self.meta.data["mac_case"] = "any"
        self.publish()
        self.assertEqual(self.get(path), (200, "10.0.1.20"))


if __name__ == "__main__":
    unittest.main()
