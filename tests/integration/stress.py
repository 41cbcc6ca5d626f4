#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""The reliability tests' sizes and probes, and their driver (make stress).

As a module, it gives test_churn.py, test_crash.py, test_drift.py and
test_races.py their counts (count(): small under `make check`, full with
ENID_STRESS=1, or set one by one with the variable each test names),
readings of the daemon's /proc entries, an `ip monitor` that records what it
prints, and ReliabilityCase, the EnidCase they share.

As a program it runs those four modules with ENID_STRESS=1, then the churn
test against an ASan and UBSan build (--asan PATH) and a shorter churn
under valgrind (tests/integration/valgrind-enid as ENID_IT_BINARY):

    stress.py [--asan build/asan/enid] [--no-valgrind] [--enid-arg ARG]...
"""

import argparse
import os
import random
import shutil
import subprocess
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

from case import EnidCase  # noqa: E402
from enidproc import BINARY, REPO  # noqa: E402
from rig import stop_process  # noqa: E402

MODULES = ("test_churn", "test_crash", "test_drift", "test_races")
VALGRIND_WRAPPER = os.path.join(HERE, "valgrind-enid")
VALGRIND_CHURN_CYCLES = 100


def stress():
    """True when the tests run at full size (ENID_STRESS=1)."""
    return os.environ.get("ENID_STRESS", "") not in ("", "0")


def count(variable, check, full):
    """A test's size: $variable if set, else full under ENID_STRESS=1, else
    check (the size `make check` runs)."""
    value = os.environ.get(variable)
    if value:
        return int(value)
    return full if stress() else check


def instrumented():
    """True when enid runs under a sanitizer or valgrind (another binary
    than ./enid), which makes it slower and bigger."""
    return os.path.abspath(BINARY) != os.path.join(REPO, "enid")


def seeded_random(test):
    """A random generator whose seed ENID_STRESS_SEED can repeat; the seed
    goes to the test's failure messages."""
    seed = int(os.environ.get("ENID_STRESS_SEED") or time.time_ns() % 10**9)
    test.seed = seed
    return random.Random(seed)


# -- the daemon's /proc entries ----------------------------------------------

def fd_count(pid):
    return len(os.listdir("/proc/%d/fd" % pid))


def fd_targets(pid):
    """What each open fd of a process refers to, sorted (for messages)."""
    targets = []
    for fd in os.listdir("/proc/%d/fd" % pid):
        try:
            targets.append(os.readlink("/proc/%d/fd/%s" % (pid, fd)))
        except OSError:
            pass
    return sorted(targets)


def tcp_socket_inodes(pid):
    """The inodes of the TCP sockets in the network namespace of a process
    (from /proc/PID/net/tcp and tcp6)."""
    inodes = set()
    for name in ("tcp", "tcp6"):
        try:
            with open("/proc/%d/net/%s" % (pid, name)) as f:
                rows = f.read().splitlines()[1:]
        except FileNotFoundError:
            continue
        inodes.update(row.split()[9] for row in rows)
    return inodes


def tcp_fd_count(pid):
    """Count the open fds of a process that are TCP sockets (for enid,
    its metadata connections)."""
    tcp = tcp_socket_inodes(pid)
    return sum(1 for target in fd_targets(pid)
               if target.startswith("socket:[") and target[8:-1] in tcp)


def rss_kib(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def cpu_seconds(pid):
    """utime + stime of a process, in seconds."""
    with open("/proc/%d/stat" % pid) as f:
        text = f.read()
    fields = text[text.rindex(")") + 2:].split()
    # fields[0] is field 3 (state); utime and stime are fields 14 and 15.
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


# -- ip monitor ----------------------------------------------------------------

class Monitor:
    """`ip monitor OBJECTS` in a namespace; lines() returns what it printed
    as (monotonic time, line) pairs."""

    def __init__(self, rig, role, *objects, on_line=None):
        self.proc = rig.spawn(role, ["ip", "monitor"] + list(objects),
                              stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, text=True, bufsize=1)
        self.on_line = on_line
        self.events = []
        self.lock = threading.Lock()
        self.thread = threading.Thread(target=self.read, daemon=True)
        self.thread.start()
        time.sleep(0.3)  # let it subscribe before the test acts

    def read(self):
        for line in self.proc.stdout:
            line = line.rstrip("\n")
            if not line.strip():
                continue
            now = time.monotonic()
            with self.lock:
                self.events.append((now, line))
            if self.on_line:
                self.on_line(now, line)

    def lines(self, since=0.0):
        with self.lock:
            return [(t, line) for t, line in self.events if t >= since]

    def stop(self):
        stop_process(self.proc)
        self.thread.join(2.0)


# -- the shared test case --------------------------------------------------------

class ReliabilityCase(EnidCase):
    """EnidCase plus the reliability tests' helpers."""

    def ready_timeout(self):
        return 60.0 if instrumented() else 10.0

    def start_enid(self, *args):
        self.enid.start(*args)
        return self.enid.wait_ready(self.ready_timeout())

    @property
    def pid(self):
        """The daemon's process id (`ip netns exec` execs it in place)."""
        return self.enid.proc.pid

    def monitor(self, *objects, on_line=None):
        mon = Monitor(self.rig, "inst", *objects, on_line=on_line)
        self.addCleanup(mon.stop)
        return mon

    def run_subcommand(self, *args):
        """Run `enid ARGS` (status, cleanup) in the instance namespace."""
        env = dict(os.environ, RUNTIME_DIRECTORY=self.enid.runtime_dir)
        argv = self.rig.exec_argv("inst", [self.enid.binary, "-c",
                                           self.enid.config_path] + list(args))
        return subprocess.run(argv, env=env, capture_output=True, text=True,
                              timeout=60)

    def log_mark(self):
        """A position in enid's log; log_since() returns what follows it."""
        return len(self.enid.log())

    def log_since(self, mark):
        return self.enid.log()[mark:].splitlines()

    def assert_clean_log(self):
        """Check that no sanitizer or valgrind report is in enid's log."""
        markers = ("runtime error:", "AddressSanitizer", "LeakSanitizer",
                   "definitely lost: ", "Invalid read", "Invalid write",
                   "uninitialised")
        found = [line for line in self.enid.log().splitlines()
                 if any(m in line for m in markers)
                 and "definitely lost: 0 bytes" not in line]
        self.assertEqual(found, [], "sanitizer or valgrind report"
                         + self.context())


# -- the driver ------------------------------------------------------------------

def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--asan", metavar="PATH",
                        help="an ASan and UBSan build of enid to run the "
                        "churn test against")
    parser.add_argument("--no-valgrind", action="store_true",
                        help="skip the churn run under valgrind")
    parser.add_argument("--enid-arg", action="append", default=[],
                        metavar="ARG", help="pass ARG to every enid run")
    return parser.parse_args()


def run_step(title, env, patterns, enid_args):
    argv = [sys.executable, os.path.join(HERE, "run.py")]
    argv += ["-k%s" % p for p in patterns]
    argv += ["--enid-arg=%s" % a for a in enid_args]
    print("== %s: %s" % (title, " ".join(argv)), flush=True)
    started = time.monotonic()
    status = subprocess.call(argv, env=env)
    print("== %s: exit %d after %.0f s" % (title, status,
                                           time.monotonic() - started),
          flush=True)
    return status


def main():
    args = parse_args()
    base = dict(os.environ, ENID_STRESS="1")
    steps = [("full counts", base, MODULES)]
    if args.asan:
        env = dict(base, ENID_IT_BINARY=os.path.abspath(args.asan),
                   ASAN_OPTIONS="detect_leaks=1:abort_on_error=0",
                   UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1")
        steps.append(("churn under ASan and UBSan", env, ("test_churn",)))
    if not args.no_valgrind:
        if shutil.which("valgrind"):
            env = dict(base, ENID_IT_BINARY=VALGRIND_WRAPPER,
                       ENID_CHURN_CYCLES=str(VALGRIND_CHURN_CYCLES))
            steps.append(("churn under valgrind", env,
                          ("test_churn.ChurnTest.test_churn",)))
        else:
            print("stress: valgrind not found; skipping its run")
    failed = []
    for title, env, patterns in steps:
        if run_step(title, env, patterns, args.enid_arg) != 0:
            failed.append(title)
    if failed:
        print("stress: failed: %s" % ", ".join(failed))
        return 1
    print("stress: every step passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
