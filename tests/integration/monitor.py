# SPDX-License-Identifier: MIT
"""`ip monitor` in a rig's namespace, for tests that prove nothing changed.

Monitor starts `ip monitor OBJECTS` in a namespace, writing to a file in
the test's work directory; lines() stops it and returns the events it
printed. Every event in the instance namespace comes from enid or from the
test itself, so a test that changes nothing by hand expects no lines.
"""

import subprocess
import time

SUBSCRIBE_DELAY = 0.3  # seconds for the monitor to join its groups


class Monitor:
    """One `ip monitor` process; start() then lines()."""

    def __init__(self, rig, path, objects=("address", "route", "rule"),
                 role="inst"):
        self.rig = rig
        self.path = path
        self.objects = list(objects)
        self.role = role
        self.proc = None
        self.log = None

    def start(self):
        self.log = open(self.path, "w+")
        self.proc = self.rig.spawn(self.role, ["ip", "monitor"] + self.objects,
                                   stdout=self.log, stderr=subprocess.STDOUT)
        time.sleep(SUBSCRIBE_DELAY)
        return self

    def stop(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait()
        if self.log is not None and not self.log.closed:
            self.log.close()

    def lines(self, stop=True):
        """Return the non-empty event lines so far (stop: end the monitor)."""
        if stop:
            self.stop()
        else:
            self.log.flush()
        with open(self.path, errors="replace") as f:
            return [line for line in f.read().splitlines() if line.strip()]
