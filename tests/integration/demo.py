#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Show enid at work on a hot-attached ENI (`sudo make demo`).

Everything happens in network namespaces that this script creates and
removes: an EC2 instance, the VPC router, a client in another subnet and a
peer in the primary ENI's subnet. A metadata mock in the instance namespace
serves data/demo.json. The demo pings the ENI addresses before and after
enid runs and exits 0 only if every ping gave the expected result.
"""

import copy
import functools
import os
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import expected  # noqa: E402
import rig  # noqa: E402
from enidproc import BINARY, Enid  # noqa: E402
from imds_mock import MockProcess  # noqa: E402
from metadata import Metadata  # noqa: E402

ATTACH_DEADLINE = 5.0
step_number = 0


def heading(text):
    global step_number
    step_number += 1
    print("\n== %d. %s" % (step_number, text), flush=True)


def indent(text):
    return "".join("    " + line + "\n" for line in text.splitlines())


class Demo:
    def __init__(self, workdir):
        self.workdir = workdir
        self.rig = rig.Rig()
        self.meta = Metadata.load("demo.json", listed=["M0"])
        self.mock = None
        self.enid = None
        self.results = []  # (probe description, expected, got)

    def run(self):
        self.create_namespaces()
        self.start_mock()
        self.attach_primary()
        before = self.plans(["M0", "M2"])
        heading("Pings before enid: only the DHCP address 10.0.0.10 answers")
        self.ping_all(before, expect_added=False)
        self.start_enid()
        self.hot_attach("M2")
        after = self.plans(["M0", "M2"])
        heading("Pings after enid: every address answers")
        self.ping_all(after, expect_added=True)
        self.show_egress(after)
        self.show_state()
        return self.summary()

    def plans(self, names):
        meta = copy.deepcopy(self.meta)
        for name in names:
            if not meta.is_listed(name):
                meta.list(name)
        return expected.plan(meta, names)

    def create_namespaces(self):
        heading("Creating the network namespaces")
        self.rig.create()
        roles = {"inst": "instance (runs enid and the metadata mock)",
                 "vpc": "VPC router (one port per ENI, drops packets whose "
                        "source is not the ENI's)",
                 "cli": "client 10.0.9.5 in another subnet",
                 "peer": "peer 10.0.0.99 in the primary ENI's subnet"}
        for role, text in roles.items():
            print("    %-22s %s" % (self.rig.ns(role), text))

    def start_mock(self):
        heading("Starting the metadata mock in the instance namespace")
        spawn = functools.partial(self.rig.spawn, "inst")
        self.mock = MockProcess(self.workdir, self.meta.snapshot(), spawn)
        self.mock.start()
        self.rig.sync(self.meta.data)
        keys = self.meta.iface("M0")
        print("    %s serves data/demo.json" % self.mock.url)
        print("    primary ENI M0: MAC %s, local-ipv4s %s, subnet %s" % (
            self.meta.mac("M0"), " ".join(keys["local-ipv4s"]),
            keys["subnet-ipv4-cidr-block"]))

    def attach_primary(self):
        heading("Attaching the primary ENI M0, configured as by a DHCP client")
        p = self.plans(["M0"])["M0"]
        self.rig.attach("M0", p.mac)
        self.rig.dhcp("M0", p.interface(p.dhcp_address), p.gateway)
        print("    M0 up with %s (dynamic) and default via %s" % (
            p.interface(p.dhcp_address), p.gateway))

    def start_enid(self):
        heading("Starting enid in the instance namespace")
        self.enid = Enid(self.rig, self.workdir, self.mock.url)
        self.enid.start()
        seconds = self.enid.wait_ready()
        print("    %s -c %s --imds-url %s" % (BINARY, self.enid.config_path,
                                               self.mock.url))
        print("    READY=1 after %.2f s" % seconds)

    def hot_attach(self, name):
        heading("Hot attach: ENI %s appears while enid runs" % name)
        self.meta.list(name)
        self.mock.update(self.meta.snapshot())
        self.rig.sync(self.meta.data)
        p = self.plans([name])[name]
        started = time.monotonic()
        self.rig.attach(name, p.mac)
        print("    metadata lists %s (device %d, %s in %s); link %s created" % (
            p.mac, p.device, " ".join(map(str, p.addresses)), p.subnet, name))
        if self.wait_configured(p):
            print("    enid configured %s after %.2f s" % (
                name, time.monotonic() - started))
        else:
            print("    enid did NOT configure %s within %.0f s" % (
                name, ATTACH_DEADLINE))

    def wait_configured(self, p):
        deadline = time.monotonic() + ATTACH_DEADLINE
        expected_sources = {str(a) for a in p.addresses}
        while time.monotonic() < deadline:
            sources = {r.get("src") for r in self.rig.rules("-4")
                       if r.get("table") == str(p.table)}
            if expected_sources <= sources:
                return True
            time.sleep(0.1)
        return False

    def ping_all(self, plans, expect_added):
        probes = []
        for p in plans.values():
            for addr in p.addresses:
                expect = expect_added or addr == p.dhcp_address
                for role in ("cli", "peer"):
                    probes.append(((role, str(addr), None), expect, p.name))
        results = self.rig.pings([probe for probe, _, _ in probes])
        for probe, expect, name in probes:
            role, addr, _ = probe
            got = results[probe]
            source = {"cli": "client", "peer": "peer"}[role]
            verdict = "as expected" if got == expect else "UNEXPECTED"
            print("    %-6s -> %-10s (%s)  %-9s %s" % (
                source, addr, name, "reply" if got else "no reply", verdict))
            self.results.append(("%s -> %s" % (source, addr), expect, got))

    def show_egress(self, plans):
        heading("The ENI replies leave through (ip route get %s from ADDR)"
                % self.rig.client4)
        for p in plans.values():
            for addr in p.addresses:
                dev = self.rig.route_get(self.rig.client4, addr)
                print("    from %-10s -> dev %s" % (addr, dev))

    def show_state(self):
        heading("enid's log")
        print(indent(self.enid.log()), end="")
        heading("ip rule (IPv4, then IPv6)")
        print(indent(self.rig.ip("inst", "-4", "rule", "show")), end="")
        print(indent(self.rig.ip("inst", "-6", "rule", "show")), end="")
        heading("enid's routes (ip route show table all, protocol %d)" %
                expected.PROTOCOL)
        for family in ("-4", "-6"):
            text = self.rig.ip("inst", family, "route", "show", "table", "all",
                               "proto", str(expected.PROTOCOL))
            print(indent(text), end="")

    def summary(self):
        heading("Stopping enid and removing the namespaces")
        status = self.enid.stop()
        print("    enid exited with status %s after SIGTERM" % status)
        wrong = [r for r in self.results if r[1] != r[2]]
        print("\nResult: %d of %d pings as expected" % (
            len(self.results) - len(wrong), len(self.results)))
        for probe, expect, _ in wrong:
            print("    %s: expected %s" % (probe,
                                         "reply" if expect else "no reply"))
        return not wrong and status == 0

    def close(self):
        if self.enid is not None:
            self.enid.kill()
        self.rig.destroy()


def main():
    if os.geteuid() != 0:
        print("demo.py: the demo creates network namespaces and needs root; "
              "run: sudo make demo", file=sys.stderr)
        return 2
    if not os.access(BINARY, os.X_OK):
        print("demo.py: %s is missing; build it with make" % BINARY,
              file=sys.stderr)
        return 2
    rig.install_signal_handlers()
    with tempfile.TemporaryDirectory(prefix="enid-demo-") as workdir:
        demo = Demo(workdir)
        try:
            ok = demo.run()
        finally:
            demo.close()
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
