# SPDX-License-Identifier: MIT
"""Shared helpers of the metadata fault tests (test_faults*.py,
test_propagation.py, test_tokens.py).

FaultCase adds these to EnidCase: mock faults on one ENI's keys, the
mock's request log filtered by path, and enid's log lines naming a MAC and
a key. It also runs `enid status --json`, starts `ip monitor` before a
change and dumps the kernel state to compare before and after a fault.
"""

import json
import os
import re
import subprocess
import time

import expected
from case import EnidCase, wait_until

LOG_DEADLINE = 5.0  # seconds until enid logs a warning about a bad value


def key_path(mac, key):
    """Return a fault path for keys of one MAC (key is a regex)."""
    return "/macs/%s/%s$" % (re.escape(mac), key)


class Monitor:
    """`ip monitor` in the instance namespace, writing to a file."""

    def __init__(self, case, objects=("address", "route", "rule")):
        self.path = os.path.join(case.workdir, "monitor.%d.log" % id(self))
        self.file = open(self.path, "w")
        case.addCleanup(self.file.close)
        self.proc = case.rig.spawn("inst", ["ip", "-ts", "monitor"]
                                   + list(objects), stdout=self.file,
                                   stderr=subprocess.STDOUT)
        case.addCleanup(self.stop)
        time.sleep(0.3)  # give it time to subscribe before the change

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait()

    def text(self):
        with open(self.path, errors="replace") as f:
            return f.read()

    def events(self):
        """Return the event lines, without the timestamp lines of ip -ts."""
        return [line for line in self.text().splitlines()
                if line.strip() and not line.startswith("Timestamp:")]


class FaultCase(EnidCase):
    """EnidCase plus the helpers above."""

    # -- the mock ---------------------------------------------------------

    def fault(self, name, key, **effect):
        """Add a fault on keys of an ENI (key is a regular expression)."""
        mac = self.meta.mac(name)
        self.meta.add_fault(path=key_path(mac, key), **effect)

    def clear_faults(self):
        self.meta.data["faults"] = []
        self.mock.update(self.meta.snapshot())

    def requests_for(self, pattern, since=0.0, method=None):
        """Requests whose path matches pattern, at or after unix time since."""
        regex = re.compile(pattern)
        return [r for r in self.mock.requests()
                if regex.search(r["path"]) and r["t"] >= since
                and (method is None or r["method"] == method)]

    def key_requests(self, name, key, since=0.0):
        return self.requests_for(key_path(self.meta.mac(name), key), since,
                                 "GET")

    def faulted(self, since=0.0):
        """Requests the mock served with a fault applied."""
        return [r for r in self.mock.requests()
                if r.get("faults") and r["t"] >= since]

    def hot_attach(self, name):
        """List the ENI in the metadata, then create its link."""
        self.meta.list(name)
        self.publish()
        self.attach_link(name)

    # -- enid -------------------------------------------------------------

    def logged(self, name, key, since_line=0):
        """enid's log lines that name the ENI's MAC and the key."""
        mac = self.meta.mac(name).lower()
        lines = self.enid.log().splitlines()[since_line:]
        return [line for line in lines
                if mac in line.lower() and key in line]

    def log_lines(self):
        return len(self.enid.log().splitlines())

    def wait_logged(self, name, key, timeout=LOG_DEADLINE, since_line=0):
        found = wait_until(lambda: self.logged(name, key, since_line),
                           timeout, step=0.1)
        self.assertTrue(found, "no log line naming %s and %s%s" % (
            self.meta.mac(name), key, self.context()))
        return found

    def run_enid(self, *args):
        env = dict(os.environ, RUNTIME_DIRECTORY=self.enid.runtime_dir)
        argv = self.rig.exec_argv("inst", [self.enid.binary, "-c",
                                           self.enid.config_path]
                                  + list(args))
        return subprocess.run(argv, env=env, capture_output=True, text=True,
                              timeout=20)

    def status(self):
        """`enid status --json` as {link name: block}."""
        done = self.run_enid("status", "--json")
        self.assertEqual(done.returncode, 0, "enid status --json: %s" % (
            done.stderr))
        return {block["name"]: block for block in json.loads(done.stdout)}

    def assert_running(self):
        self.assertTrue(self.enid.running(), "enid exited with %s%s" % (
            self.enid.proc.returncode, self.context()))

    # -- the kernel -------------------------------------------------------

    def link_snapshot(self, name):
        """The attributes enid changes on a link it configures."""
        link = self.rig.links()[name]
        return {"flags": sorted(link["flags"]), "mtu": link["mtu"],
                "group": link.get("group")}

    def untouched(self, name, before):
        """Describe how a link differs from an unconfigured link snapshot."""
        gaps = []
        if self.link_snapshot(name) != before:
            gaps.append("%s changed: %s -> %s" % (
                name, before, self.link_snapshot(name)))
        addrs = [a["local"] for a in self.rig.addresses(name, None)]
        if addrs:
            gaps.append("%s has addresses %s" % (name, addrs))
        return gaps

    def routing(self):
        """Addresses, routes and rules of both families, without address
        lifetimes (rig.dump without its links)."""
        state = self.rig.dump()
        state.pop("link")
        return state

    def without_shared_rules(self, state):
        """A copy of routing() output without rule 9999, which enid adds
        at start whatever the metadata contains."""
        copy = dict(state)
        for part in ("rule4", "rule6"):
            copy[part] = [r for r in state[part]
                          if r["priority"] != expected.SHARED_PRIORITY]
        return copy

    def assert_same_dump(self, before, after, what):
        for part in sorted(set(before) | set(after)):
            self.assertEqual(after.get(part), before.get(part),
                             "%s: %s changed%s" % (what, part,
                                                   self.context()))

    def without_link(self, state, name):
        """A copy of routing() output without one link's addresses."""
        copy = dict(state)
        copy["addr"] = [link for link in state["addr"]
                        if link.get("ifname") != name]
        return copy
