# SPDX-License-Identifier: MIT
"""`make install DESTDIR=...` puts every file where the unit expects it.

Needs no namespace: it only copies files into a temporary root.
"""

import os
import subprocess
import tempfile
import unittest

from enidproc import REPO


class InstallTest(unittest.TestCase):
    def test_install_into_destdir(self):
        with tempfile.TemporaryDirectory(prefix="enid-install-") as root:
            done = subprocess.run(["make", "-C", REPO, "install",
                                   "DESTDIR=" + root],
                                  capture_output=True, text=True, timeout=300)
            self.assertEqual(done.returncode, 0, done.stdout + done.stderr)

            binary = os.path.join(root, "usr/sbin/enid")
            self.assertTrue(os.access(binary, os.X_OK), binary)
            unit = os.path.join(root, "lib/systemd/system/enid.service")
            with open(unit) as f:
                self.assertIn("ExecStart=/usr/sbin/enid", f.read())

            with open(os.path.join(root, "etc/enid/enid.conf")) as f:
                config = f.read()
            # Every line is a comment or blank: the defaults apply.
            active = [line for line in config.splitlines()
                      if line.strip() and not line.lstrip().startswith("#")]
            self.assertEqual(active, [])
            self.assertIn("#table_base = 10000", config)

            with open(os.path.join(root,
                                   "etc/iproute2/rt_protos.d/enid.conf")) as f:
                entries = [line.split() for line in f
                           if line.strip() and not line.startswith("#")]
            self.assertEqual(entries, [["236", "enid"]])

            # The installed binary runs (without touching any network).
            check = subprocess.run([binary, "--version"],
                                   capture_output=True, text=True, timeout=10)
            self.assertEqual(check.returncode, 0, check.stderr)
            self.assertTrue(check.stdout.startswith("enid "))


if __name__ == "__main__":
    unittest.main()
