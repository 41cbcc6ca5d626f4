# SPDX-License-Identifier: MIT
"""Tests of the metadata mock: the IMDS protocol it imitates and its faults.

The mock runs on 127.0.0.1 of the namespace the tests run in; no root is
needed.
"""

import http.client
import os
import shutil
import signal
import tempfile
import time
import unittest

from imds_mock import MockProcess
from metadata import Metadata

TTL = "X-aws-ec2-metadata-token-ttl-seconds"
TOKEN = "X-aws-ec2-metadata-token"
M0 = "02:ec:1d:00:00:00"
M1 = "02:ec:1d:00:00:01"
MACS = "/latest/meta-data/network/interfaces/macs/"


class MockTest(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        cls.workdir = tempfile.mkdtemp(prefix="enid-mock-")
        cls.meta = Metadata.load("vpc.json", listed=["M0", "M1"])
        cls.mock = MockProcess(cls.workdir, cls.meta.snapshot()).start()

    @classmethod
    def tearDownClass(cls):
        cls.mock.stop()
        shutil.rmtree(cls.workdir, ignore_errors=True)

    def setUp(self):
        self.meta = Metadata.load("vpc.json", listed=["M0", "M1"])
        self.mock.update(self.meta.snapshot())
        self.conn = http.client.HTTPConnection("127.0.0.1", self.mock.port,
                                               timeout=5)
        self.addCleanup(self.conn.close)

    def request(self, method, path, headers=None):
        self.conn.request(method, path, headers=headers or {})
        response = self.conn.getresponse()
        return response.status, response.read(), response

    def token(self, ttl="60"):
        status, body, _ = self.request("PUT", "/latest/api/token", {TTL: ttl})
        self.assertEqual(status, 200)
        return body.decode()

    def get(self, path, token=None):
        headers = {TOKEN: token if token is not None else self.token()}
        status, body, _ = self.request("GET", path, headers)
        return status, body.decode()

    def publish(self):
        self.mock.update(self.meta.snapshot())

    # -- tokens ------------------------------------------------------------

    def test_token_put_echoes_ttl(self):
        status, body, response = self.request("PUT", "/latest/api/token",
                                              {TTL: "21600"})
        self.assertEqual(status, 200)
        self.assertEqual(len(body), 44)
        self.assertEqual(response.getheader(TTL), "21600")

    def test_token_ttl_invalid(self):
        for ttl in ("0", "21601", "abc", "", "-5"):
            status, _, _ = self.request("PUT", "/latest/api/token", {TTL: ttl})
            self.assertEqual(status, 400, "ttl %r" % ttl)
        status, _, _ = self.request("PUT", "/latest/api/token")
        self.assertEqual(status, 400, "no ttl header")

    def test_token_forwarded_rejected(self):
        status, _, _ = self.request("PUT", "/latest/api/token",
                                    {TTL: "60", "X-Forwarded-For": "10.0.0.5"})
        self.assertEqual(status, 403)

    def test_token_versioned_path_forbidden(self):
        status, _, _ = self.request("PUT", "/2021-03-23/api/token", {TTL: "60"})
        self.assertEqual(status, 403)

    def test_token_get_not_allowed(self):
        status, _, _ = self.request("GET", "/latest/api/token")
        self.assertEqual(status, 405)

    def test_get_without_token_unauthorized(self):
        status, _, _ = self.request("GET", "/latest/meta-data/mac")
        self.assertEqual(status, 401)

    def test_get_with_unknown_token_unauthorized(self):
        status, _ = self.get("/latest/meta-data/mac", token="bogus")
        self.assertEqual(status, 401)

    def test_token_expires(self):
        token = self.token(ttl="1")
        status, _ = self.get("/latest/meta-data/mac", token)
        self.assertEqual(status, 200)
        time.sleep(1.1)
        status, _ = self.get("/latest/meta-data/mac", token)
        self.assertEqual(status, 401)

    def test_tokens_optional(self):
        self.meta.data["token_required"] = False
        self.publish()
        status, body, _ = self.request("GET", "/latest/meta-data/mac")
        self.assertEqual(status, 200)
        self.assertEqual(body.decode(), M0)

    def test_token_api_absent(self):
        self.meta.data["token_api"] = False
        self.publish()
        status, _, _ = self.request("PUT", "/latest/api/token", {TTL: "60"})
        self.assertEqual(status, 404)

    # -- metadata ------------------------------------------------------------

    def test_mac_leaf(self):
        self.assertEqual(self.get("/latest/meta-data/mac"), (200, M0))

    def test_macs_listing(self):
        status, body = self.get(MACS)
        self.assertEqual(status, 200)
        self.assertEqual(body, "%s/\n%s/" % (M0, M1))

    def test_directory_without_slash(self):
        self.assertEqual(self.get(MACS.rstrip("/")), self.get(MACS))

    def test_interface_listing(self):
        status, body = self.get(MACS + M0 + "/")
        self.assertEqual(status, 200)
        keys = body.split("\n")
        self.assertEqual(keys, sorted(keys))
        self.assertIn("ipv4-associations/", keys)
        self.assertIn("mac", keys)
        self.assertIn("local-ipv4s", keys)
        self.assertNotIn("ipv6s", keys)
        self.assertFalse(body.endswith("\n"))

    def test_multivalued_leaf(self):
        status, body = self.get(MACS + M0 + "/local-ipv4s")
        self.assertEqual(status, 200)
        self.assertEqual(body, "10.0.0.10\n10.0.0.11")

    def test_absent_key_not_found(self):
        self.meta.iface("M1")["ipv6s"] = []
        self.meta.iface("M1")["ipv4-prefix"] = None
        self.publish()
        self.assertEqual(self.get(MACS + M1 + "/ipv6s")[0], 404)
        self.assertEqual(self.get(MACS + M1 + "/ipv4-prefix")[0], 404)
        self.assertEqual(self.get(MACS + M1 + "/no-such-key")[0], 404)
        self.assertEqual(self.get(MACS + "02:ec:1d:00:00:42/")[0], 404)
        _, listing = self.get(MACS + M1 + "/")
        self.assertNotIn("ipv6s", listing.split("\n"))

    def test_leaf_with_slash_not_found(self):
        self.assertEqual(self.get(MACS + M0 + "/local-ipv4s/")[0], 404)

    def test_nested_directory(self):
        status, body = self.get(MACS + M0 + "/ipv4-associations/198.51.100.20")
        self.assertEqual((status, body), (200, "10.0.0.10"))

    def test_data_reread_per_request(self):
        self.meta.iface("M1")["local-ipv4s"] = ["10.0.1.20", "10.0.1.21"]
        self.publish()
        _, body = self.get(MACS + M1 + "/local-ipv4s")
        self.assertEqual(body, "10.0.1.20\n10.0.1.21")

    def test_keep_alive(self):
        token = self.token()
        sock = self.conn.sock
        for _ in range(3):
            self.assertEqual(self.get("/latest/meta-data/mac", token)[0], 200)
        self.assertIs(self.conn.sock, sock)

    def test_head_has_no_body(self):
        status, body, response = self.request(
            "HEAD", "/latest/meta-data/mac", {TOKEN: self.token()})
        self.assertEqual(status, 200)
        self.assertEqual(body, b"")
        self.assertEqual(response.getheader("Content-Length"), str(len(M0)))

    def test_request_log(self):
        before = len(self.mock.requests())
        token = self.token()
        self.get("/latest/meta-data/mac", token)
        entries = self.mock.requests()[before:]
        self.assertEqual([e["method"] for e in entries], ["PUT", "GET"])
        self.assertEqual(entries[0]["ttl"], "60")
        self.assertFalse(entries[0]["token"])
        self.assertTrue(entries[1]["token"])
        self.assertTrue(entries[1]["token_valid"])
        self.assertEqual(entries[1]["status"], 200)
        self.assertEqual(entries[1]["path"], "/latest/meta-data/mac")

    # -- faults --------------------------------------------------------------

    def test_fault_latency(self):
        self.meta.add_fault(path="/mac$", latency=0.5)
        self.publish()
        token = self.token()
        started = time.monotonic()
        self.assertEqual(self.get("/latest/meta-data/mac", token)[0], 200)
        self.assertGreaterEqual(time.monotonic() - started, 0.5)

    def test_fault_status(self):
        self.meta.add_fault(path="device-number$", status=503)
        self.publish()
        self.assertEqual(self.get(MACS + M1 + "/device-number")[0], 503)
        self.assertEqual(self.get(MACS + M1 + "/local-ipv4s")[0], 200)

    def test_fault_status_before_token_check(self):
        self.meta.add_fault(path="/api/token$", method="PUT", status=429)
        self.publish()
        status, _, _ = self.request("PUT", "/latest/api/token", {TTL: "60"})
        self.assertEqual(status, 429)

    def test_fault_body(self):
        self.meta.add_fault(path=M1 + "/device-number$", body="0")
        self.publish()
        self.assertEqual(self.get(MACS + M1 + "/device-number"), (200, "0"))

    def test_fault_first_requests(self):
        self.meta.add_fault(path="local-ipv4s$", status=500, first=2)
        self.publish()
        token = self.token()
        path = MACS + M0 + "/local-ipv4s"
        statuses = [self.get(path, token)[0] for _ in range(3)]
        self.assertEqual(statuses, [500, 500, 200])

    def test_fault_window_after_attach(self):
        self.meta.list("M1", when=time.time())
        self.meta.add_fault(mac=M1, path=M1 + "/device-number$", body="0",
                            until=1.0)
        self.publish()
        path = MACS + M1 + "/device-number"
        self.assertEqual(self.get(path), (200, "0"))
        time.sleep(1.1)
        self.assertEqual(self.get(path), (200, "1"))

    def test_fault_window_starts_later(self):
        self.meta.add_fault(epoch=time.time(), path="/mac$", status=500,
                            **{"from": 0.5})
        self.publish()
        self.assertEqual(self.get("/latest/meta-data/mac")[0], 200)
        time.sleep(0.6)
        self.assertEqual(self.get("/latest/meta-data/mac")[0], 500)

    def test_fault_hide(self):
        self.meta.add_fault(path=M1 + "/ipv6s|" + M1 + "/local-ipv4s",
                            hide=True)
        self.meta.add_fault(path="macs/" + M0, hide=True)
        self.publish()
        self.assertEqual(self.get(MACS + M1 + "/local-ipv4s")[0], 404)
        _, listing = self.get(MACS + M1 + "/")
        self.assertNotIn("local-ipv4s", listing.split("\n"))
        self.assertEqual(self.get(MACS), (200, M1 + "/"))
        self.assertEqual(self.get(MACS + M0 + "/mac")[0], 404)

    def test_fault_reset(self):
        self.meta.add_fault(path="/mac$", reset=True)
        self.publish()
        token = self.token()
        with self.assertRaises((ConnectionError, http.client.HTTPException)):
            self.get("/latest/meta-data/mac", token)

    def test_fault_oversize(self):
        self.meta.add_fault(path="local-ipv4s$", oversize=100000)
        self.publish()
        status, body = self.get(MACS + M0 + "/local-ipv4s")
        self.assertEqual(status, 200)
        self.assertEqual(len(body), 100000)

    def test_fault_slow_body(self):
        self.meta.add_fault(path="local-ipv4s$", body_rate=64)
        self.publish()
        token = self.token()
        started = time.monotonic()
        status, body = self.get(MACS + M0 + "/local-ipv4s", token)
        self.assertEqual(body, "10.0.0.10\n10.0.0.11")
        self.assertGreaterEqual(time.monotonic() - started, 0.25)

    def test_fault_raw_body(self):
        self.meta.add_fault(path="local-ipv4s$", body_hex="3130002e30")
        self.publish()
        status, body, _ = self.request(
            "GET", MACS + M0 + "/local-ipv4s", {TOKEN: self.token()})
        self.assertEqual((status, body), (200, b"10\x00.0"))


class MockProcessTest(unittest.TestCase):

    def test_sigterm_exits_cleanly(self):
        workdir = tempfile.mkdtemp(prefix="enid-mock-")
        self.addCleanup(shutil.rmtree, workdir, True)
        mock = MockProcess(workdir, {"mac": M0}).start()
        self.addCleanup(mock.stop)
        os.kill(mock.proc.pid, signal.SIGTERM)
        self.assertEqual(mock.proc.wait(5), 0)

    def test_fixed_port_and_address(self):
        workdir = tempfile.mkdtemp(prefix="enid-mock-")
        self.addCleanup(shutil.rmtree, workdir, True)
        mock = MockProcess(workdir, {"mac": M0}, address="::1").start()
        self.addCleanup(mock.stop)
        self.assertTrue(mock.url.startswith("http://[::1]:"))
        conn = http.client.HTTPConnection("::1", mock.port, timeout=5)
        self.addCleanup(conn.close)
        conn.request("PUT", "/latest/api/token", headers={TTL: "5"})
        self.assertEqual(conn.getresponse().status, 200)


if __name__ == "__main__":
    unittest.main()
