# SPDX-License-Identifier: MIT
"""Golden images: enid writes nothing outside its runtime directory.

An image built on one instance must carry nothing of that instance to the
next, so every file enid creates or writes must be under its runtime
directory (/run/enid, a tmpfs) or be a network sysctl under /proc/sys/net.
The test traces a one-shot run with strace and checks every path it
opened for writing, created, renamed or removed.
"""

import os
import re
import shutil
import subprocess
import unittest

from case import EnidCase

WRITE_FLAGS = re.compile(r"O_WRONLY|O_RDWR|O_CREAT|O_TRUNC|O_APPEND")
PATH_CALL = re.compile(r'^\d+\s+(\w+)\((?:AT_FDCWD, )?"([^"]*)"(.*)$')
MODIFYING = {"mkdir", "mkdirat", "rename", "renameat", "renameat2", "unlink",
             "unlinkat", "rmdir", "link", "linkat", "symlink", "symlinkat",
             "creat", "chmod", "fchmodat", "chown", "fchownat", "truncate"}


@unittest.skipUnless(shutil.which("strace"), "strace not installed")
class ImageTest(EnidCase):
    LISTED = ATTACHED = ("M0", "M1")

    def written_paths(self, trace):
        paths = []
        with open(trace) as f:
            for line in f:
                match = PATH_CALL.match(line)
                if not match or "= -1" in line:
                    continue
                call, path, rest = match.groups()
                if call in ("open", "openat") and WRITE_FLAGS.search(rest):
                    paths.append(path)
                elif call in MODIFYING:
                    paths.append(path)
        return paths

    def test_writes_only_runtime_directory(self):
        trace = os.path.join(self.workdir, "strace.txt")
        argv = ["strace", "-f", "-qq", "-o", trace, "-e",
                "trace=%file"] + self.enid.argv("--oneshot")
        self.enid.write_config()
        log_path = self.enid.new_log()
        with open(log_path, "wb") as log:
            proc = self.rig.spawn("inst", argv, stdin=subprocess.DEVNULL,
                                  stdout=log, stderr=log,
                                  env=self.enid.environment(False))
            self.assertEqual(proc.wait(60), 0, self.enid.log(log_path))
        self.assert_configured(self.plans())

        paths = self.written_paths(trace)
        runtime = os.path.realpath(self.enid.runtime_dir)
        self.assertTrue(any(p.startswith(runtime) for p in paths),
                        "the trace shows no write at all: %s" % paths)
        outside = [p for p in paths
                   if not os.path.realpath(p).startswith(runtime + "/")
                   and os.path.realpath(p) != runtime
                   and not p.startswith("/proc/sys/net/")]
        self.assertEqual(outside, [], "written outside the runtime directory")


if __name__ == "__main__":
    unittest.main()
