# SPDX-License-Identifier: MIT
"""Starting and stopping ./enid inside a rig's instance namespace.

The daemon gets a configuration file with short intervals, the mock's URL
(--imds-url), RUNTIME_DIRECTORY (its state directory) and NOTIFY_SOCKET (a
datagram socket this module binds to receive "READY=1"). Its stderr goes
to a log file per start (enid.1.log, enid.2.log, ...) in the work directory.
"""

import os
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
# ENID_IT_BINARY runs the tests against another build (a sanitizer build).
BINARY = os.environ.get("ENID_IT_BINARY") or os.path.join(REPO, "enid")

TEST_CONFIG = {
    "drivers": "veth",
    "refresh_interval": "2s",
    "settle_window": "10s",
    "ready_timeout": "5s",
    "imds_timeout": "1s",
    "imds_url_ipv6": "",
}
REFRESH_SECONDS = 2.0  # refresh_interval of TEST_CONFIG
# sockaddr_un.sun_path has room for 108 bytes with the final NUL.
MAX_SOCKET_PATH = 107


class EnidError(AssertionError):
    """enid did not behave as a test expects (the message has its log)."""


class Enid:
    """One daemon under test; start(), wait_ready(), stop() or run()."""

    def __init__(self, rig, workdir, imds_url, binary=BINARY, **config):
        self.rig = rig
        self.workdir = workdir
        self.imds_url = imds_url
        self.binary = binary
        self.config = dict(TEST_CONFIG)
        self.config.update(config)
        self.runtime_dir = os.path.join(workdir, "run")
        os.makedirs(self.runtime_dir, exist_ok=True)
        self.config_path = os.path.join(workdir, "enid.conf")
        self.notify_path = os.path.join(workdir, "notify")
        if len(self.notify_path) > MAX_SOCKET_PATH:
            self.notify_path = os.path.join(
                tempfile.mkdtemp(prefix="enid-notify-"), "notify")
        self.proc = None
        self.sock = None
        self.starts = 0
        self.log_paths = []
        self.notifications = []  # (monotonic time, datagram text)
        self.lock = threading.Lock()

    def write_config(self):
        with open(self.config_path, "w") as f:
            f.write("# written by the integration tests\n")
            for key, value in self.config.items():
                f.write("%s = %s\n" % (key, value))

    def argv(self, *args):
        # ENID_IT_ARGS (run.py --enid-arg) adds options such as -v to
        # every run.
        extra = os.environ.get("ENID_IT_ARGS", "").split()
        return [self.binary, "-c", self.config_path, "--imds-url",
                self.imds_url] + extra + list(args)

    def environment(self, notify):
        env = dict(os.environ)
        env["RUNTIME_DIRECTORY"] = self.runtime_dir
        env.pop("NOTIFY_SOCKET", None)
        env.pop("JOURNAL_STREAM", None)
        if notify:
            env["NOTIFY_SOCKET"] = self.notify_path
        return env

    def new_log(self):
        self.starts += 1
        path = os.path.join(self.workdir, "enid.%d.log" % self.starts)
        self.log_paths.append(path)
        return path

    def bind_notify_socket(self):
        """Bind NOTIFY_SOCKET and read it in a thread, as systemd does: a
        full socket queue (net.unix.max_dgram_qlen, 10 by default) would
        block the daemon's sd_notify() calls."""
        self.close_notify_socket()
        if os.path.exists(self.notify_path):
            os.unlink(self.notify_path)
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(self.notify_path)
        self.sock.settimeout(0.1)
        self.notifications = []
        self.reader_stop = threading.Event()
        self.reader = threading.Thread(target=self.read_notifications,
                                       args=(self.sock, self.reader_stop),
                                       daemon=True)
        self.reader.start()

    def read_notifications(self, sock, stop):
        while not stop.is_set():
            try:
                message = sock.recv(4096).decode(errors="replace")
            except socket.timeout:
                continue
            except OSError:
                return
            with self.lock:
                self.notifications.append((time.monotonic(), message))

    def close_notify_socket(self):
        if self.sock is None:
            return
        self.reader_stop.set()
        self.reader.join()
        self.sock.close()
        self.sock = None

    def notified(self, name):
        """The values sent as NAME=value, in order (e.g. "READY")."""
        prefix = name + "="
        with self.lock:
            messages = [m for _, m in self.notifications]
        return [line[len(prefix):] for m in messages
                for line in m.split("\n") if line.startswith(prefix)]

    def start(self, *args):
        """Start the daemon (not waiting for READY=1)."""
        if self.proc is not None and self.proc.poll() is None:
            raise EnidError("enid is already running")
        self.write_config()
        self.bind_notify_socket()
        with open(self.new_log(), "wb") as log:
            self.proc = self.rig.spawn("inst", self.argv(*args),
                                       stdin=subprocess.DEVNULL,
                                       stdout=log, stderr=log,
                                       env=self.environment(True))
        self.started_at = time.monotonic()
        return self

    def wait_ready(self, timeout=10.0):
        """Wait for READY=1; return the seconds since start()."""
        deadline = self.started_at + timeout
        while True:
            if "1" in self.notified("READY"):
                return time.monotonic() - self.started_at
            if self.proc.poll() is not None:
                raise EnidError("enid exited with %d before READY=1\n%s" % (
                    self.proc.returncode, self.log_tail()))
            if time.monotonic() >= deadline:
                raise EnidError("no READY=1 within %.0f s\n%s" % (
                    timeout, self.log_tail()))
            time.sleep(0.02)

    def running(self):
        return self.proc is not None and self.proc.poll() is None

    def stop(self, timeout=5.0):
        """Send SIGTERM and return the exit status (None if it had to be
        killed after timeout seconds)."""
        if self.proc is None:
            return None
        if self.proc.poll() is not None:
            return self.proc.returncode
        self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            return None

    def kill(self):
        """End the daemon without checks (test clean-up)."""
        if self.running():
            self.proc.kill()
            self.proc.wait()
        self.close_notify_socket()
        directory = os.path.dirname(self.notify_path)
        if os.path.basename(directory).startswith("enid-notify-"):
            shutil.rmtree(directory, ignore_errors=True)

    def run(self, *args, timeout=30.0):
        """Run a command that exits by itself (--oneshot, --dry-run).

        Returns (exit status, stdout, stderr); raises EnidError on timeout.
        """
        self.write_config()
        log_path = self.new_log()
        with open(log_path, "wb") as log:
            proc = self.rig.spawn("inst", self.argv(*args),
                                  stdin=subprocess.DEVNULL,
                                  stdout=subprocess.PIPE, stderr=log,
                                  env=self.environment(False))
            try:
                out, _ = proc.communicate(timeout=timeout)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.communicate()
                raise EnidError("enid %s did not exit within %.0f s\n%s" % (
                    " ".join(args), timeout, self.log_tail()))
        return proc.returncode, out.decode(errors="replace"), self.log(log_path)

    def log(self, path=None):
        """The stderr of one start (path) or of all starts, concatenated."""
        paths = [path] if path else self.log_paths
        text = []
        for p in paths:
            try:
                with open(p, errors="replace") as f:
                    text.append(f.read())
            except FileNotFoundError:
                pass
        return "".join(text)

    def log_tail(self, lines=40):
        tail = self.log().splitlines()[-lines:]
        return "--- enid log (last %d lines) ---\n%s" % (len(tail),
                                                         "\n".join(tail))
