# SPDX-License-Identifier: MIT
"""Shared pieces of the benchmarks: metadata, the rig, the listener.

Metadata: eni_keys() builds one ENI's keys; a benchmark ENI on card 0 with
device number i has MAC 02:be:0c:00:00:<i>, subnet 10.0.<16 i>.0/20,
addresses from 10.0.<16 i>.10 up, /28 delegated prefixes from
10.0.<16 i + 8>.0 up and, with IPv6, 2001:db8:0:<i>::10 in
2001:db8:0:<i>::/64 with the delegated prefix 2001:db8:0:<i>:1::/80.

Setup: Bench creates a rig (tests/integration/rig.py) and starts the mock
(tests/integration/imds_mock.py) and the rtnetlink listener (nlwatch.py)
in its instance namespace. The rig removes all of it on exit. The rig's
router does not follow the metadata, because no benchmark sends traffic.
"""

import json
import os
import signal
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "integration"))

from enidproc import BINARY, Enid  # noqa: E402
from imds_mock import MockProcess  # noqa: E402
from rig import Rig  # noqa: E402

import nlwatch  # noqa: E402

NLWATCH = os.path.join(HERE, "nlwatch.py")
MOCKRTT = os.path.join(HERE, "mockrtt.py")
# enid opens up to 8 connections at once; leave room for a burst.
MOCK_BACKLOG = 64
TMPFS = "/dev/shm" if os.path.isdir("/dev/shm") else None
PROTOCOL = 236
TABLE_BASE = 10000
# enid's defaults, but for the veth driver of the rig and no IPv6
# endpoint (the mock listens on 127.0.0.1 only).
BENCH_CONFIG = {
    "drivers": "veth",
    "refresh_interval": "60s",
    "settle_window": "60s",
    "ready_timeout": "10s",
    "imds_timeout": "1s",
    "imds_url_ipv6": "",
}


def mac_of(i):
    return "02:be:0c:00:00:%02x" % i


def eni_keys(i, n4=1, prefixes4=0, ipv6=False):
    """Return the metadata keys of benchmark ENI i (device number i)."""
    third = 16 * i
    keys = {
        "device-number": str(i),
        "network-card": "0",
        "interface-id": "eni-0be0c%012x" % i,
        "subnet-id": "subnet-0be0c%07x" % i,
        "vpc-id": "vpc-0be0c0000000001",
        "owner-id": "123456789012",
        "vpc-ipv4-cidr-block": "10.0.0.0/16",
        "vpc-ipv4-cidr-blocks": ["10.0.0.0/16"],
        "subnet-ipv4-cidr-block": "10.0.%d.0/20" % third,
        "local-ipv4s": ["10.0.%d.%d" % (third, 10 + k) for k in range(n4)],
        "ipv4-prefix": ["10.0.%d.%d/28" % (third + 8, 16 * k)
                        for k in range(prefixes4)],
    }
    if ipv6:
        keys["ipv6s"] = ["2001:db8:0:%x::10" % i]
        keys["subnet-ipv6-cidr-blocks"] = ["2001:db8:0:%x::/64" % i]
        keys["ipv6-prefix"] = ["2001:db8:0:%x:1::/80" % i]
    return keys


def mock_data(enis, latency):
    """Return the mock's data: enis maps device number to eni_keys()."""
    data = {
        "token_required": True,
        "mac": mac_of(0),
        "meta-data": {"instance-id": "i-0be0c000000000001",
                      "instance-type": "c6in.32xlarge",
                      "local-ipv4": "10.0.0.10"},
        "interfaces": {mac_of(i): keys for i, keys in enis.items()},
        "faults": [],
    }
    set_latency(data, latency)
    return data


def set_latency(data, latency):
    """Make the mock wait latency seconds before every response."""
    data["faults"] = [{"latency": latency}] if latency else []


def summary(values):
    """Return the count, min, p50, p90, p99 and max of a list of numbers
    (p90 and p99 are the nearest-rank percentiles)."""
    ordered = sorted(values)
    if not ordered:
        return {"n": 0}

    def pick(q):
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))]
    return {"n": len(ordered), "p50": statistics.median(ordered),
            "p90": pick(0.90), "p99": pick(0.99), "max": ordered[-1],
            "min": ordered[0]}


def median_spread(values):
    """Return (median, min, max) of repeated measurements."""
    return statistics.median(values), min(values), max(values)


class Watch:
    """The listener nlwatch.py in the instance namespace and the events it
    recorded (dicts from nlwatch.records(), "t" in seconds)."""

    def __init__(self, rig):
        self.events = []
        self.lost_frames = 0
        self.cond = threading.Condition()
        self.proc = rig.spawn("inst", [sys.executable, NLWATCH],
                              stdin=subprocess.DEVNULL,
                              stdout=subprocess.PIPE)
        if len(self.proc.stdout.read(nlwatch.HEADER.size)) != \
                nlwatch.HEADER.size:
            raise RuntimeError("nlwatch.py did not start")
        self.thread = threading.Thread(target=self.read, daemon=True)
        self.thread.start()

    def read(self):
        stream = self.proc.stdout
        while True:
            header = stream.read(nlwatch.HEADER.size)
            if len(header) < nlwatch.HEADER.size:
                return
            stamp, length = nlwatch.HEADER.unpack(header)
            data = stream.read(length)
            events = list(nlwatch.records(data, stamp / 1e9))
            with self.cond:
                if not length:
                    self.lost_frames += 1
                self.events.extend(events)
                self.cond.notify_all()

    def mark(self):
        """Return an index: events after it are the ones to come."""
        with self.cond:
            return len(self.events)

    def wait(self, predicate, start, timeout):
        """Wait until predicate(events[start:]) is true; return its value
        or None after timeout seconds."""
        deadline = time.monotonic() + timeout
        with self.cond:
            while True:
                value = predicate(self.events[start:])
                if value:
                    return value
                left = deadline - time.monotonic()
                if left <= 0:
                    return None
                self.cond.wait(min(left, 0.05))

    def lost(self):
        """Return how often the listener lost notifications (ENOBUFS)."""
        with self.cond:
            return self.lost_frames


class Bench:
    """A rig with the mock and the listener, and enid once started."""

    def __init__(self, enis, latency):
        # tmpfs, as /run is: enid rewrites its status file in
        # RUNTIME_DIRECTORY on every state change.
        self.workdir = tempfile.mkdtemp(prefix="enid-bench-", dir=TMPFS)
        self.rig = Rig().create()
        self.enis = dict(enis)
        self.data = mock_data(self.enis, latency)
        spawn = lambda argv, **kw: self.rig.spawn("inst", argv, **kw)
        self.mock = MockProcess(self.workdir, self.data, spawn,
                                tcp_nodelay=True, backlog=MOCK_BACKLOG)
        self.mock.start()
        self.watch = Watch(self.rig)
        self.enid = None
        self.log_offset = 0

    def set_latency(self, latency):
        set_latency(self.data, latency)
        self.mock.update(self.data)

    def attach(self, i, name):
        """Attach ENI i as link name (the primary gets its DHCP address)."""
        self.rig.attach(name, mac_of(i))
        if i == 0:
            keys = self.enis[0]
            prefixlen = keys["subnet-ipv4-cidr-block"].split("/")[1]
            gateway = "10.0.0.1"
            self.rig.dhcp(name, "%s/%s" % (keys["local-ipv4s"][0],
                                           prefixlen), gateway)

    def start_enid(self, binary=BINARY, **config):
        settings = dict(BENCH_CONFIG)
        settings.update(config)
        self.enid = Enid(self.rig, self.workdir, self.mock.url,
                         binary=binary, **settings)
        self.enid.start()
        return self.enid

    def ready_seconds(self, timeout=30.0):
        """Wait for READY=1; return seconds from start() to its arrival."""
        self.enid.wait_ready(timeout)
        with self.enid.lock:
            for stamp, message in self.enid.notifications:
                if "READY=1" in message.split("\n"):
                    return stamp - self.enid.started_at
        return None

    def new_requests(self):
        """Return the mock's request log entries since the last call, with
        "t" moved from the wall clock to time.monotonic()."""
        offset = time.time() - time.monotonic()
        with open(self.mock.log_path, encoding="utf-8") as f:
            f.seek(self.log_offset)
            text = f.read()
        end = text.rfind("\n") + 1
        self.log_offset += len(text[:end].encode())
        entries = [json.loads(line) for line in text[:end].splitlines()
                   if line.strip()]
        for entry in entries:
            entry["t"] -= offset
        return entries

    def mock_rtt(self, mac):
        """Return the mock's own timing (see mockrtt.py) as a dict."""
        out = self.rig.exec("inst", [sys.executable, MOCKRTT, self.mock.url,
                                     mac], timeout=60)
        return json.loads(out)

    def destroy(self):
        if self.enid is not None:
            self.enid.kill()
        self.mock.stop()
        # Stopping a wrapper (strace, perf) can leave enid running in the
        # instance namespace, so end whatever still runs there.
        pids = subprocess.run(["ip", "netns", "pids", self.rig.ns("inst")],
                              capture_output=True, text=True).stdout.split()
        for pid in pids:
            try:
                os.kill(int(pid), signal.SIGKILL)
            except ProcessLookupError:
                pass
        self.rig.destroy()
        if not os.environ.get("BENCH_KEEP"):
            shutil.rmtree(self.workdir, ignore_errors=True)


def proc_status(pid):
    """Return /proc/PID/status as a dict of each line's first word."""
    return proc_status_path("/proc/%d/status" % pid)


def cpu_seconds(pid):
    """Return utime + stime of a process in seconds (/proc/PID/stat)."""
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    ticks = int(fields[11]) + int(fields[12])
    return ticks / os.sysconf("SC_CLK_TCK")


def wakeups(pid):
    """Return the times the process's threads were scheduled in (the
    third field of /proc/PID/task/*/schedstat) and its voluntary context
    switches, summed over its threads."""
    runs = switches = 0
    for task in os.listdir("/proc/%d/task" % pid):
        base = "/proc/%d/task/%s/" % (pid, task)
        with open(base + "schedstat") as f:
            runs += int(f.read().split()[2])
        switches += int(proc_status_path(base + "status")
                        .get("voluntary_ctxt_switches", 0))
    return runs, switches


def proc_status_path(path):
    values = {}
    with open(path) as f:
        for line in f:
            key, _, rest = line.partition(":")
            values[key] = rest.split()[0] if rest.split() else ""
    return values


def load_average():
    with open("/proc/loadavg") as f:
        return " ".join(f.read().split()[:3])


def fd_count(pid):
    return len(os.listdir("/proc/%d/fd" % pid))
