#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Run the integration tests (`make integration`).

Runs every test_*.py module of this directory with unittest, prints a
summary with the time of each test, and fails when a test fails or when one
of this run's network namespaces is left behind. Needs root (network
namespaces) and ./enid built in the repository root.

    run.py [-v] [-k PATTERN]... [--harness-only] [--enid-arg ARG]... [--keep]
"""

import argparse
import os
import shutil
import sys
import tempfile
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import rig  # noqa: E402
from enidproc import BINARY  # noqa: E402

# Modules that test the harness itself and need no enid.
HARNESS_MODULES = ("test_mock", "test_rig")


class TimedResult(unittest.TextTestResult):
    """A test result that records each test's outcome and duration."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.timings = []  # (test id, outcome, seconds)
        self.started = None

    def startTest(self, test):
        self.started = time.monotonic()
        super().startTest(test)

    def record(self, test, outcome):
        elapsed = time.monotonic() - (self.started or time.monotonic())
        self.timings.append((test.id(), outcome, elapsed))

    def addSuccess(self, test):
        super().addSuccess(test)
        self.record(test, "ok")

    def addFailure(self, test, err):
        super().addFailure(test, err)
        self.record(test, "FAIL")

    def addError(self, test, err):
        super().addError(test, err)
        self.record(test, "ERROR")

    def addSkip(self, test, reason):
        super().addSkip(test, reason)
        self.record(test, "skipped")

    def addExpectedFailure(self, test, err):
        super().addExpectedFailure(test, err)
        self.record(test, "expected failure")

    def addUnexpectedSuccess(self, test):
        super().addUnexpectedSuccess(test)
        self.record(test, "UNEXPECTED SUCCESS")


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-v", "--verbose", action="store_true",
                        help="print each test's name as it runs")
    parser.add_argument("-k", dest="patterns", action="append", default=[],
                        help="run only tests whose name contains PATTERN "
                        "(may be repeated)")
    parser.add_argument("--harness-only", action="store_true",
                        help="run only the tests of the mock and the rig, "
                        "which need no ./enid")
    parser.add_argument("--enid-arg", action="append", default=[],
                        metavar="ARG", help="pass ARG to every enid run, "
                        "for example --enid-arg=-v (may be repeated)")
    parser.add_argument("--keep", action="store_true",
                        help="keep the work directory (logs, mock data) "
                        "even when every test passes")
    return parser.parse_args()


def load_tests(args):
    loader = unittest.TestLoader()
    if args.patterns:
        loader.testNamePatterns = ["*%s*" % p for p in args.patterns]
    suite = loader.discover(HERE, pattern="test_*.py", top_level_dir=HERE)
    if not args.harness_only:
        return suite
    selected = unittest.TestSuite()
    for test in iterate(suite):
        if test.id().split(".")[0] in HARNESS_MODULES:
            selected.addTest(test)
    return selected


def iterate(suite):
    for item in suite:
        if isinstance(item, unittest.TestSuite):
            yield from iterate(item)
        else:
            yield item


def print_summary(result, elapsed):
    print("\nSummary")
    width = max([len(t[0]) for t in result.timings] + [10])
    for test_id, outcome, seconds in result.timings:
        print("  %-*s  %6.1f s  %s" % (width, test_id, seconds, outcome))
    failed = len(result.failures) + len(result.errors)
    print("%d tests, %d failed, %d skipped, %.1f s in all" % (
        result.testsRun, failed, len(result.skipped), elapsed))


def check_leftovers():
    """Return the names of this run's namespaces that still exist."""
    rig.destroy_all()
    return rig.run_namespaces()


def main():
    args = parse_args()
    if os.geteuid() != 0:
        print("run.py: the integration tests create network namespaces and "
              "need root; run them with: sudo make integration",
              file=sys.stderr)
        return 2
    if not args.harness_only and not os.access(BINARY, os.X_OK):
        print("run.py: %s is missing or not executable; build it with make "
              "(or use --harness-only)" % BINARY, file=sys.stderr)
        return 2

    rig.install_signal_handlers()
    workdir = tempfile.mkdtemp(prefix="enid-it-")
    os.environ["ENID_IT_WORKDIR"] = workdir
    os.environ["ENID_IT_ARGS"] = " ".join(args.enid_arg)
    suite = load_tests(args)

    runner = unittest.TextTestRunner(verbosity=2 if args.verbose else 1,
                                     resultclass=TimedResult, stream=sys.stdout)
    started = time.monotonic()
    try:
        result = runner.run(suite)
    except KeyboardInterrupt as e:
        leftovers = check_leftovers()
        print("\nrun.py: interrupted (%s); namespaces left behind: %s; "
              "logs and mock data: %s" % (e, " ".join(leftovers) or "none",
                                          workdir))
        return 130
    leftovers = check_leftovers()
    print_summary(result, time.monotonic() - started)

    ok = result.wasSuccessful() and result.testsRun > 0
    if leftovers:
        print("FAIL: namespaces left behind: %s" % " ".join(leftovers))
        ok = False
    if ok and not args.keep:
        shutil.rmtree(workdir, ignore_errors=True)
    else:
        print("logs and mock data: %s" % workdir)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
