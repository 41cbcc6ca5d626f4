# SPDX-License-Identifier: MIT
"""amazon-ec2-net-utils 2.3.0 (Debian's package), unpacked to a temporary
folder and pointed at the benchmark's metadata mock.

The package is fetched with `apt-get download` and unpacked with `dpkg -x`
into a temporary folder, and it is never installed. A copy of lib.sh gets
the mock's URL in place of both metadata endpoints, and the unpacked
80-ec2.network in place of /usr/lib/systemd/network. lib_for() checks
that copy with grep, so that no metadata address of EC2 is left in it.
A stub directory first in PATH replaces logger, networkctl and systemctl
with scripts that do nothing, so nothing reaches the host's syslog or
systemd.

run_setup() calls lib.sh's setup_interface() (the per-interface work of
setup-policy-routes start, without its wait for systemd-networkd) inside
the instance namespace, with unitdir, lockdir and reload_flag in a
temporary folder. It times the calls with bash's EPOCHREALTIME, so the
figure excludes starting bash and sourcing lib.sh.
"""

import glob
import os
import re
import shutil
import subprocess
import tempfile

PACKAGE = "amazon-ec2-net-utils"
VERSION_PREFIX = "2.3.0"
LIB_PATH = "usr/share/amazon-ec2-net-utils/lib.sh"
FORBIDDEN = ("169.254.169.254", "fd00:ec2::254")
STUBS = ("logger", "networkctl", "systemctl")

RUNNER = r"""
set -eo pipefail -o noclobber -o nounset
export PATH="$STUBS:$PATH"
. "$LIB"
lockdir="$WORK/lock"
reload_flag="$WORK/reload"
# Each argument is NAME=MAC; all of them run at once, in background
# subshells, as systemd runs one policy-routes@ unit per interface.
start=$EPOCHREALTIME
for pair in "$@"; do
    ( iface=${pair%%=*}; ether=${pair#*=}
      unitdir="$WORK/network"
      setup_interface "$iface" "$ether" > "$WORK/changes.$iface" ) &
done
wait
end=$EPOCHREALTIME
echo "elapsed ${start} ${end}"
"""


class Ec2NetUtils:
    """An unpacked, redirected copy of the package."""

    def __init__(self):
        self.root = tempfile.mkdtemp(prefix="enid-bench-ec2nu-")
        self.tree = None
        self.libs = {}  # mock URL -> redirected copy of lib.sh
        self.version = None

    def prepare(self):
        """Download and unpack the package once (later calls do nothing)."""
        if self.tree is not None:
            return self
        subprocess.run(["apt-get", "download", PACKAGE], cwd=self.root,
                       check=True, capture_output=True)
        debs = glob.glob(os.path.join(self.root, PACKAGE + "_*.deb"))
        if len(debs) != 1:
            raise RuntimeError("apt-get download: %s" % debs)
        self.version = os.path.basename(debs[0]).split("_")[1]
        if not self.version.startswith(VERSION_PREFIX):
            raise RuntimeError("%s %s, not %s" % (PACKAGE, self.version,
                                                  VERSION_PREFIX))
        self.tree = os.path.join(self.root, "tree")
        subprocess.run(["dpkg", "-x", debs[0], self.tree], check=True)
        self.make_stubs()
        return self

    def lib_for(self, url):
        """Return a copy of lib.sh that sends its requests to url."""
        if url in self.libs:
            return self.libs[url]
        original = os.path.join(self.tree, LIB_PATH)
        with open(original) as f:
            text = f.read()
        text, count = re.subn(r"declare -r imds_endpoints=\(.*\)",
                              'declare -r imds_endpoints=("%s/latest")' % url,
                              text)
        if count != 1:
            raise RuntimeError("imds_endpoints not found in lib.sh")
        text = text.replace("/usr/lib/systemd/network",
                            os.path.join(self.tree, "usr/lib/systemd/network"))
        path = os.path.join(self.root, "lib-%d.sh" % len(self.libs))
        with open(path, "w") as f:
            f.write(text)
        for address in FORBIDDEN:
            found = subprocess.run(["grep", "-F", address, path],
                                   capture_output=True, text=True).stdout
            if found.strip():
                raise RuntimeError("%s still in %s" % (address, path))
        self.libs[url] = path
        return path

    def make_stubs(self):
        self.stubs = os.path.join(self.root, "stubs")
        os.makedirs(self.stubs)
        for name in STUBS:
            path = os.path.join(self.stubs, name)
            with open(path, "w") as f:
                f.write("#!/bin/sh\nexit 0\n")
            os.chmod(path, 0o755)

    def run_setup(self, rig, url, links):
        """Run setup_interface for links ({name: mac}) at once in the
        instance namespace; return seconds from the first call to the end
        of the last and the folder holding the files it wrote."""
        work = tempfile.mkdtemp(prefix="run-", dir=self.root)
        env = dict(os.environ, STUBS=self.stubs, LIB=self.lib_for(url),
                   WORK=work)
        argv = ["bash", "-c", RUNNER, "runner"]
        argv += ["%s=%s" % (name, mac) for name, mac in links.items()]
        proc = subprocess.run(rig.exec_argv("inst", argv), env=env,
                              capture_output=True, text=True, timeout=120)
        for line in proc.stdout.splitlines():
            if line.startswith("elapsed "):
                _, start, end = line.split()
                return float(end) - float(start), work
        raise RuntimeError("setup_interface failed: %s" % proc.stderr[-2000:])

    def written(self, work):
        """Return the networkd files a run wrote (relative paths)."""
        base = os.path.join(work, "network")
        return sorted(os.path.relpath(os.path.join(d, f), base)
                      for d, _, files in os.walk(base) for f in files)

    def remove(self):
        shutil.rmtree(self.root, ignore_errors=True)
