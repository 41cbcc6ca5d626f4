# SPDX-License-Identifier: MIT
"""Coexistence with the real systemd-networkd, which manages the primary.

networkd runs in the instance namespace in a mount namespace of its own.
It gets a private /run (its state and the .network file) and a read-only
/sys, so it takes links as initialized instead of waiting for a udev that
does not run there. With its default ManageForeignRoutingPolicyRules= and
ManageForeignRoutes=, `networkctl reconfigure` makes it delete the rules,
routes and addresses it did not configure. enid must put its own back
within two seconds, and networkd's address and route on the primary must
stay as networkd made them.
"""

import os
import shutil
import subprocess
import time
import unittest

from case import EnidCase, wait_until
from rig import stop_process

NETWORKD = "/lib/systemd/systemd-networkd"
RESTORE_DEADLINE = 2.0

NETWORK_FILE = """[Match]
Name=M0

[Network]
Address=10.0.0.10/24
Gateway=10.0.0.1
"""

# Runs in the instance namespace: a private /run with a D-Bus system bus of
# its own (networkctl reaches networkd through it) and a read-only /sys.
# The shell stops networkd and the bus when it receives SIGTERM.
LAUNCHER = """set -e
mount --make-rprivate /
mount -t tmpfs tmpfs /run
mkdir -p /run/systemd/network /run/systemd/netif /run/dbus
cp "$1" /run/systemd/network/10-m0.network
chown -R systemd-network: /run/systemd/netif
umount /sys 2>/dev/null || true
mount -t sysfs -o ro sysfs /sys
dbus-daemon --system --nofork --nopidfile &
BUS=$!
sleep 0.3
{networkd} &
NETWORKD=$!
trap 'kill $NETWORKD $BUS 2>/dev/null' EXIT TERM INT
wait $NETWORKD
""".format(networkd=NETWORKD)


@unittest.skipUnless(os.access(NETWORKD, os.X_OK) and
                     shutil.which("dbus-daemon") and shutil.which("unshare"),
                     "systemd-networkd or dbus-daemon not installed "
                     "(Debian's systemd and dbus packages)")
class NetworkdTest(EnidCase):
    LISTED = ATTACHED = ("M0", "M1")

    def attach_link(self, name, mac=None, **attach_args):
        # networkd, not the harness's DHCP stand-in, configures M0.
        self.rig.attach(name, mac or self.meta.mac(name), **attach_args)

    def start_networkd(self, number):
        network_file = os.path.join(self.workdir, "10-m0.network")
        with open(network_file, "w") as f:
            f.write(NETWORK_FILE)
        log = open(os.path.join(self.workdir, "networkd.%d.log" % number),
                   "w")
        self.addCleanup(log.close)
        proc = self.rig.spawn("inst", ["unshare", "--mount", "sh", "-c",
                                       LAUNCHER, "launcher", network_file],
                              stdout=log, stderr=log)
        self.addCleanup(stop_process, proc)
        return proc

    def networkd_log(self):
        text = []
        for name in sorted(os.listdir(self.workdir)):
            if name.startswith("networkd."):
                with open(os.path.join(self.workdir, name)) as f:
                    text.append(f.read()[-2000:])
        return "\n".join(text)

    def primary_state(self):
        """networkd's address and default route on M0."""
        addresses = [a["local"] + "/" + str(a["prefixlen"])
                     for a in self.rig.addresses("M0")]
        defaults = [r for r in self.rig.routes("-4", "main")
                    if r["dst"] == "default" and r.get("dev") == "M0" and
                    r.get("protocol") == "static"]
        return addresses, defaults

    def networkctl(self, networkd, *args):
        """Run networkctl in networkd's namespaces (its bus is in its /run)."""
        return subprocess.run(["nsenter", "-t", str(networkd.pid), "-m", "-n",
                               "networkctl"] + list(args),
                              capture_output=True, text=True, timeout=20)

    def test_enid_survives_networkd_reconfigure(self):
        networkd = self.start_networkd(1)
        self.assertTrue(wait_until(
            lambda: self.primary_state()[1] != [], 15.0),
            "networkd did not configure M0:\n" + self.networkd_log())

        plans = self.plans()
        self.start_enid()
        self.wait_configured(plans, timeout=10.0)
        self.assert_reachable(plans)
        logged = len(self.enid.log().splitlines())

        # networkd drops every rule and route it did not configure.
        done = self.networkctl(networkd, "reconfigure", "M0")
        self.assertEqual(done.returncode, 0, done.stdout + done.stderr)
        self.assertTrue(wait_until(lambda: any(
            "added rule" in line
            for line in self.enid.log().splitlines()[logged:]), 5.0),
            "networkd removed nothing, or enid did not notice:\n" +
            self.networkd_log() + self.context())

        self.wait_configured(plans, timeout=RESTORE_DEADLINE)
        self.assert_exact_rules(plans)
        self.assert_shared_rules()
        self.assert_reachable(plans)

        # networkd's own configuration of the primary is as it made it.
        addresses, routes = self.primary_state()
        self.assertEqual(addresses[0], "10.0.0.10/24")
        self.assertEqual(len(routes), 1, routes)
        self.assertEqual(routes[0].get("gateway"), "10.0.0.1")
        self.assertIsNone(networkd.poll(), "networkd exited:\n" +
                          self.networkd_log())


if __name__ == "__main__":
    unittest.main()
