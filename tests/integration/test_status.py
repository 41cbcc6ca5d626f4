# SPDX-License-Identifier: MIT
"""Operator views: `enid status` (text and JSON) and `enid cleanup`.

status joins the daemon's status file with a kernel dump; cleanup removes
every object carrying enid's protocol and nothing else.
"""

import json
import os
import subprocess
import time
import unittest

from case import EnidCase
import expected


class StatusTest(EnidCase):
    LISTED = ATTACHED = ("M0", "M1")

    def run_enid(self, *args):
        env = dict(os.environ, RUNTIME_DIRECTORY=self.enid.runtime_dir)
        argv = self.rig.exec_argv("inst", [self.enid.binary, "-c",
                                           self.enid.config_path] +
                                  list(args))
        return subprocess.run(argv, env=env, capture_output=True, text=True,
                              timeout=20)

    def test_status_json_and_text(self):
        plans = self.plans()
        self.start_enid()
        self.wait_configured(plans)

        done = self.run_enid("status", "--json")
        self.assertEqual(done.returncode, 0, done.stderr)
        blocks = {b["name"]: b for b in json.loads(done.stdout)}
        m1 = blocks["M1"]
        self.assertEqual(m1["state"], "configured")
        self.assertEqual(m1["table"], str(plans["M1"].table))
        self.assertEqual(m1["device"], "1")
        self.assertEqual(m1["mac"], self.meta.mac("M1"))
        self.assertTrue(m1["eni"].startswith("eni-"))
        owned = [a["address"] for a in m1["addresses"] if a["enid"]]
        self.assertIn("10.0.1.20/24", owned)
        sources = [r["from"] for r in m1["rules"]]
        self.assertIn("10.0.1.20/32", sources)
        m0 = blocks["M0"]
        dhcp = [a for a in m0["addresses"] if a["address"] == "10.0.0.10/24"]
        self.assertEqual(len(dhcp), 1)
        self.assertFalse(dhcp[0]["enid"], "DHCP's address marked as enid's")

        text = self.run_enid("status")
        self.assertEqual(text.returncode, 0, text.stderr)
        self.assertIn("M1 (ifindex", text.stdout)
        self.assertIn("state:        configured", text.stdout)
        self.assertIn("10.0.1.20/24 (enid)", text.stdout)

    def test_status_counts_conflicts(self):
        plans = self.plans()
        self.start_enid()
        self.wait_configured(plans)
        for _ in range(2):
            self.rig.ip("inst", "rule", "del", "priority", "10001", "from",
                        "10.0.1.20", "lookup", "10001")
            self.wait_configured(plans, timeout=3.0)
            time.sleep(0.5)

        done = self.run_enid("status", "--json")
        blocks = {b["name"]: b for b in json.loads(done.stdout)}
        self.assertEqual(blocks["M1"]["state"], "configured")
        self.assertRegex(blocks["M1"]["reason"] or "",
                         r"in conflict: .* 2 times")
        self.assertIsNone(blocks["M0"]["reason"])

    def test_cleanup_removes_only_enid_objects(self):
        plans = self.plans()
        self.start_enid()
        self.wait_configured(plans)
        self.stop_enid()
        self.rig.ip("inst", "rule", "add", "priority", "10001", "from",
                    "10.0.1.99", "lookup", "100")

        done = self.run_enid("cleanup")
        self.assertEqual(done.returncode, 0, done.stderr)
        self.assertIn("delete rule 10001", done.stdout)

        leftovers = (self.enid_rules("-4") + self.enid_rules("-6") +
                     self.enid_routes("-4") + self.enid_routes("-6"))
        self.assertEqual(leftovers, [])
        # iproute2 6.1 does not show an address's protocol, so check the
        # addresses enid added by value.
        for p in plans.values():
            present = [a["local"] for a in self.rig.addresses(p.name, "-4")]
            for added in p.added_addresses:
                self.assertNotIn(str(added), present, p.name)
        foreign = [r for r in self.rig.rules("-4")
                   if r.get("src") == "10.0.1.99"]
        self.assertEqual(len(foreign), 1, "cleanup removed a foreign rule")
        self.assert_dhcp_untouched(plans)
        self.assertFalse(expected.is_enid(foreign[0]))


if __name__ == "__main__":
    unittest.main()
