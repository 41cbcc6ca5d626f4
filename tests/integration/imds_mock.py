#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""A mock of the EC2 instance metadata service (IMDS) for integration tests.

The server behaves like IMDS: IMDSv2 tokens from PUT /latest/api/token,
401 for a missing or invalid token when tokens are required, 404 for absent
keys, directory listings with "/" after subdirectories, LF-separated lists
without a final newline. It re-reads its JSON data file on every request,
so a test changes the metadata by replacing that file (write_data() writes
a temporary file and renames it).

Data file format:

    {
      "token_required": true,       # GETs without a token get 401
      "token_api": true,            # false: the token PUT returns 404 (v1 only)
      "mac": "02:ec:1d:00:00:00",   # top-level "mac": the primary ENI
      "meta-data": {...},           # other keys under /latest/meta-data/
      "interfaces": {               # network/interfaces/macs/<mac>/...
        "02:ec:1d:00:00:00": {
          "device-number": "0",
          "local-ipv4s": ["10.0.0.10", "10.0.0.11"],
          "ipv4-associations": {"198.51.100.20": "10.0.0.10"},
          ...
        }
      },
      "attach_times": {"<mac>": <unix time>},   # set by the test harness
      "faults": [...],
      "names": {"M0": "<mac>"}      # for the test rig; the server ignores it
    }

Values: a string or number is a leaf, a list is a multi-valued leaf (one
item per line), an object is a directory. null, [] and {} mean absent:
neither listed nor served, as IMDS leaves out keys without a value. "" is
served as an empty 200 body, which the real service never sends. Each
interface gets a "mac" leaf with its own MAC unless it sets "mac" itself.

Faults: each entry of "faults" applies to requests whose path matches the
regular expression "path" (re.search on the full path, for example
"/macs/02:ec:1d:00:00:01/device-number$"; default: every path), optionally
only for "method", and only while its time window is open. The window is
["from", "until") seconds after a reference time: the attach time of "mac"
when that key is given (attach_times, else the moment the server first saw
the MAC listed), else the unix time "epoch", else the server's start.
"first": N limits it to the first N matching requests in the window (a
"hide" fault ignores "first", because listings check it too). "rate": N
makes it a rate limit: it applies to a matching request that comes when N
matching requests were let through in the last second, and requests it
applies to do not count.
Effects, merged in list order (a later fault overrides an earlier one):

    "latency": seconds      wait before answering
    "status": code          answer with this status (error page body)
    "body": text or list    answer with this body (200 unless "status")
    "body_hex": hex         answer with these raw bytes
    "oversize": bytes       answer with a body of this many bytes
    "body_rate": bytes/s    send the body slowly, in small pieces
    "hide": true            as if absent: 404, and left out of listings
    "reset": true           close the connection with a TCP reset, no answer
    "upper": true           upper-case the body (for the macs/ listing)

A top-level "mac_case": "any" makes the server find a MAC directory under
any letter case (02:EC:1D:... as 02:ec:1d:...). By default only the case
of the data file is served.

Request log (--log): one JSON object per line with the time, method, path,
status, whether a token was sent and whether it was valid, the token TTL
header, whether X-Forwarded-For was present, the User-Agent, the body
length and the indexes of the faults applied.
"""

import argparse
import base64
import http.server
import json
import os
import re
import secrets
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time

TOKEN_PATH = "/latest/api/token"
META_PREFIX = "/latest/meta-data"
TTL_HEADER = "X-aws-ec2-metadata-token-ttl-seconds"
TOKEN_HEADER = "X-aws-ec2-metadata-token"
MAX_TTL = 21600
PIECE = 16  # bytes per write when a fault slows the body down


class Fault:
    """A fault entry of the data file together with its request counter."""

    def __init__(self, index, spec):
        self.index = index
        self.spec = spec
        self.path = re.compile(spec.get("path", ""))

    def matches(self, method, path):
        method_ok = self.spec.get("method", method).upper() == method
        return method_ok and self.path.search(path) is not None

    def window_open(self, state, data, now):
        reference = self.reference(state, data)
        if reference is None:
            return False
        elapsed = now - reference
        start = float(self.spec.get("from", 0))
        end = self.spec.get("until")
        return elapsed >= start and (end is None or elapsed < float(end))

    def reference(self, state, data):
        mac = self.spec.get("mac")
        if mac is not None:
            mac = mac.lower()
            times = data.get("attach_times") or {}
            if mac in times:
                return float(times[mac])
            return state.first_seen.get(mac)
        if "epoch" in self.spec:
            return float(self.spec["epoch"])
        return state.started


class State:
    """What the server keeps between requests: tokens, counters, the log."""

    def __init__(self, data_path, log_path):
        self.data_path = data_path
        self.started = time.time()
        self.lock = threading.Lock()
        self.tokens = {}  # token -> monotonic expiry
        self.first_seen = {}  # mac -> unix time it was first listed
        self.fault_counts = {}  # (index, spec text) -> requests matched
        self.fault_times = {}  # (index, spec text) -> recent request times
        self.log = open(log_path, "a", encoding="utf-8") if log_path else None

    def load(self):
        with open(self.data_path, encoding="utf-8") as f:
            data = json.load(f)
        self.note_macs(data)
        return data

    def note_macs(self, data):
        now = time.time()
        with self.lock:
            for mac in data.get("interfaces") or {}:
                self.first_seen.setdefault(mac.lower(), now)

    def new_token(self, ttl):
        token = base64.b64encode(secrets.token_bytes(32)).decode()
        with self.lock:
            self.tokens[token] = time.monotonic() + ttl
        return token

    def token_valid(self, token):
        with self.lock:
            expiry = self.tokens.get(token)
        return expiry is not None and time.monotonic() < expiry

    def active_faults(self, data, method, path):
        """Return the faults that apply to this request, counting them."""
        now = time.time()
        active = []
        for index, spec in enumerate(data.get("faults") or []):
            fault = Fault(index, spec)
            if not fault.matches(method, path):
                continue
            if not fault.window_open(self, data, now):
                continue
            if "first" in spec and not self.count(fault):
                continue
            if "rate" in spec and not self.over_rate(fault, now):
                continue
            active.append(fault)
        return active

    def count(self, fault):
        key = (fault.index, json.dumps(fault.spec, sort_keys=True))
        with self.lock:
            seen = self.fault_counts.get(key, 0)
            self.fault_counts[key] = seen + 1
        return seen < int(fault.spec["first"])

    def over_rate(self, fault, now):
        """Return True when "rate" matching requests were let through in
        the last second. Otherwise count this one as let through."""
        key = (fault.index, json.dumps(fault.spec, sort_keys=True))
        with self.lock:
            times = [t for t in self.fault_times.get(key, []) if t > now - 1]
            rejected = len(times) >= float(fault.spec["rate"])
            if not rejected:
                times.append(now)
            self.fault_times[key] = times
        return rejected

    def hidden(self, data, path):
        """Return True when a "hide" fault covers this path now."""
        now = time.time()
        for index, spec in enumerate(data.get("faults") or []):
            if not spec.get("hide"):
                continue
            fault = Fault(index, spec)
            if fault.matches("GET", path) and fault.window_open(self, data, now):
                return True
        return False

    def write_log(self, entry):
        if self.log is None:
            return
        line = json.dumps(entry, sort_keys=True)
        with self.lock:
            self.log.write(line + "\n")
            self.log.flush()


def build_tree(data):
    """Build the /latest/meta-data/ tree (nested dicts) from the data file."""
    tree = dict(data.get("meta-data") or {})
    if data.get("mac") is not None:
        tree["mac"] = data["mac"]
    macs = {}
    for mac, keys in (data.get("interfaces") or {}).items():
        node = {"mac": mac}
        node.update(keys or {})
        macs[mac] = node
    if macs:
        network = tree.setdefault("network", {})
        network.setdefault("interfaces", {})["macs"] = macs
    return tree


def is_absent(value):
    return value is None or value == [] or value == {}


def render_leaf(value):
    if isinstance(value, list):
        return "\n".join(str(item) for item in value)
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def lookup(tree, parts):
    """Return the node at parts, or None when it is absent."""
    node = tree
    for part in parts:
        if not isinstance(node, dict) or part not in node:
            return None
        node = node[part]
        if is_absent(node):
            return None
    return node


def fold_mac_case(data, parts):
    """Replace a MAC directory name by the data file's spelling of it."""
    spelling = {mac.lower(): mac for mac in data.get("interfaces") or {}}
    if parts[:3] != ["network", "interfaces", "macs"] or len(parts) < 4:
        return parts
    return parts[:3] + [spelling.get(parts[3].lower(), parts[3])] + parts[4:]


def error_page(status, reason):
    return (
        '<?xml version="1.0" encoding="iso-8859-1"?>\n'
        "<!DOCTYPE html>\n<html><head><title>%d - %s</title></head>\n"
        "<body><h1>%d - %s</h1></body></html>\n" % (status, reason, status, reason)
    ).encode()


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "EC2ws"
    sys_version = ""

    def setup(self):
        super().setup()
        # The headers and the body go out in two writes. Without
        # TCP_NODELAY, Nagle's algorithm delays the body until the client
        # acknowledges the headers, and the client's delayed ACK makes
        # that about 40 ms. --tcp-nodelay removes the stall (the
        # benchmarks use it).
        if self.server.tcp_nodelay:
            self.connection.setsockopt(socket.IPPROTO_TCP,
                                       socket.TCP_NODELAY, 1)

    def log_message(self, format, *args):  # the JSON request log replaces it
        pass

    def do_GET(self):
        self.handle_request(send_body=True)

    def do_HEAD(self):
        self.handle_request(send_body=False)

    def do_PUT(self):
        self.handle_request(send_body=True)

    def do_POST(self):
        self.handle_request(send_body=True)

    def do_DELETE(self):
        self.handle_request(send_body=True)

    def handle_request(self, send_body):
        state = self.server.state
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            self.rfile.read(length)

        self.log_entry = {
            "t": round(time.time(), 6),
            "method": self.command,
            "path": self.path,
            "token": TOKEN_HEADER in self.headers,
            "ttl": self.headers.get(TTL_HEADER),
            "xff": "X-Forwarded-For" in self.headers,
            "user_agent": self.headers.get("User-Agent"),
            "faults": [],
        }
        try:
            data = state.load()
        except (OSError, ValueError) as e:
            self.log_entry["error"] = "data file: %s" % e
            self.reply(500, error_page(500, "Internal Server Error"), send_body)
            return

        faults = state.active_faults(data, self.command, self.path)
        self.log_entry["faults"] = [f.index for f in faults]
        effect = {}
        for fault in faults:
            effect.update(fault.spec)
        if effect.get("latency"):
            time.sleep(float(effect["latency"]))
        if effect.get("reset"):
            self.reset_connection()
            return

        status, body, headers = self.answer(state, data)
        status, body = self.apply_effect(effect, status, body)
        self.reply(status, body, send_body, headers, effect.get("body_rate"))

    def answer(self, state, data):
        """Return (status, body, extra headers) of the undisturbed service."""
        path = self.path.split("?", 1)[0]
        if path == TOKEN_PATH:
            return self.answer_token(state, data)
        if path.endswith("/api/token"):
            return 403, error_page(403, "Forbidden"), {}
        if self.command not in ("GET", "HEAD"):
            return 405, error_page(405, "Method Not Allowed"), {"Allow": "GET, HEAD"}
        token = self.headers.get(TOKEN_HEADER)
        if token is not None:
            valid = state.token_valid(token)
            self.log_entry["token_valid"] = valid
            if not valid:
                return 401, error_page(401, "Unauthorized"), {}
        elif data.get("token_required", True):
            return 401, error_page(401, "Unauthorized"), {}
        return self.answer_metadata(state, data, path)

    def answer_token(self, state, data):
        if self.command != "PUT":
            return 405, error_page(405, "Method Not Allowed"), {"Allow": "PUT"}
        if not data.get("token_api", True):
            return 404, error_page(404, "Not Found"), {}
        if "X-Forwarded-For" in self.headers:
            return 403, error_page(403, "Forbidden"), {}
        text = self.headers.get(TTL_HEADER, "")
        if not re.fullmatch(r"[0-9]{1,6}", text) or not 1 <= int(text) <= MAX_TTL:
            return 400, error_page(400, "Bad Request"), {}
        token = state.new_token(int(text))
        return 200, token.encode(), {TTL_HEADER: text}

    def answer_metadata(self, state, data, path):
        if path != META_PREFIX and not path.startswith(META_PREFIX + "/"):
            return 404, error_page(404, "Not Found"), {}
        if state.hidden(data, path):
            return 404, error_page(404, "Not Found"), {}
        parts = [p for p in path[len(META_PREFIX):].split("/") if p]
        if data.get("mac_case") == "any":
            parts = fold_mac_case(data, parts)
        node = lookup(build_tree(data), parts)
        if node is None:
            return 404, error_page(404, "Not Found"), {}
        if isinstance(node, dict):
            base = path if path.endswith("/") else path + "/"
            return 200, self.listing(state, data, node, base), {}
        if path.endswith("/"):
            return 404, error_page(404, "Not Found"), {}
        return 200, render_leaf(node).encode(), {}

    def listing(self, state, data, node, base):
        # IMDS lists keys in alphabetical order; the order of the MACs is not
        # documented, so the MAC list keeps the order of the data file.
        items = list(node.items())
        if not base.endswith("/macs/"):
            items.sort(key=lambda item: item[0])
        names = []
        for name, child in items:
            if is_absent(child):
                continue
            if state.hidden(data, base + name) or state.hidden(data, base + name + "/"):
                continue
            names.append(name + "/" if isinstance(child, dict) else name)
        return "\n".join(names).encode()

    def apply_effect(self, effect, status, body):
        if effect.get("hide"):
            return 404, error_page(404, "Not Found")
        if "body" in effect:
            body = render_leaf(effect["body"]).encode()
            status = 200
        if "body_hex" in effect:
            body = bytes.fromhex(effect["body_hex"])
            status = 200
        if "oversize" in effect:
            line = b"10.0.255.254\n"
            size = int(effect["oversize"])
            body = (line * (size // len(line) + 1))[:size]
            status = 200
        if effect.get("upper"):
            body = body.upper()
        if "status" in effect:
            status = int(effect["status"])
            if "body" not in effect and "body_hex" not in effect and status != 200:
                body = error_page(status, self.responses.get(status, ("Error",))[0])
        return status, body

    def reply(self, status, body, send_body, headers=None, rate=None):
        self.log_entry["status"] = status
        self.log_entry["bytes"] = len(body)
        self.server.state.write_log(self.log_entry)
        self.send_response(status)
        ctype = "text/plain" if status == 200 else "text/html"
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        if not send_body:
            return
        if not rate:
            self.wfile.write(body)
            return
        for offset in range(0, len(body), PIECE):
            self.wfile.write(body[offset:offset + PIECE])
            self.wfile.flush()
            time.sleep(PIECE / float(rate))

    def reset_connection(self):
        self.log_entry["status"] = "reset"
        self.log_entry["bytes"] = 0
        self.server.state.write_log(self.log_entry)
        # SO_LINGER with a zero timeout makes close() send a TCP RST.
        linger = struct.pack("ii", 1, 0)
        self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, linger)
        self.close_connection = True
        self.connection.close()


class Server(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address, state, tcp_nodelay=False, backlog=None):
        if ":" in address[0]:
            self.address_family = socket.AF_INET6
        self.state = state
        self.tcp_nodelay = tcp_nodelay
        # socketserver listens with a backlog of 5. When more connections
        # than that wait to be accepted, the kernel drops the next
        # handshakes and the client's connect() waits for a retransmission.
        if backlog:
            self.request_queue_size = backlog
        super().__init__(address, Handler)


def write_data(path, data):
    """Replace the data file atomically (temporary file, then rename)."""
    directory = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=".imds-", suffix=".json")
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        json.dump(data, f, indent=1, sort_keys=True)
    os.rename(tmp, path)


def read_log(path):
    """Return the request log as a list of dicts (empty if not written yet)."""
    try:
        with open(path, encoding="utf-8") as f:
            return [json.loads(line) for line in f if line.strip()]
    except FileNotFoundError:
        return []


def watch_data(state, stop):
    """Note when MACs first appear, also between requests (10 times/s)."""
    while not stop.wait(0.1):
        try:
            state.load()
        except (OSError, ValueError):
            pass


def write_port_file(path, port):
    directory = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=".port-")
    with os.fdopen(fd, "w") as f:
        f.write("%d\n" % port)
    os.rename(tmp, path)


def parse_args(argv):
    parser = argparse.ArgumentParser(description="EC2 metadata service mock")
    parser.add_argument("--data", required=True, help="JSON data file")
    parser.add_argument("--address", default="127.0.0.1",
                        help="listen address (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=0,
                        help="listen port (default: any free port)")
    parser.add_argument("--port-file",
                        help="write the port here once listening")
    parser.add_argument("--log", help="append a JSON line per request here")
    parser.add_argument("--tcp-nodelay", action="store_true",
                        help="send each write at once (no Nagle delay)")
    parser.add_argument("--backlog", type=int,
                        help="listen backlog (default 5, socketserver's)")
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    state = State(args.data, args.log)
    server = Server((args.address, args.port), state, args.tcp_nodelay,
                    args.backlog)
    stop = threading.Event()

    def on_signal(signum, frame):
        stop.set()
        threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    threading.Thread(target=watch_data, args=(state, stop), daemon=True).start()
    port = server.server_address[1]
    if args.port_file:
        write_port_file(args.port_file, port)
    print("imds_mock: listening on %s port %d" % (args.address, port),
          file=sys.stderr, flush=True)
    server.serve_forever(poll_interval=0.1)
    server.server_close()
    return 0


class MockProcess:
    """The mock running as a child process, optionally in a network namespace.

    spawn(argv, **popen_args) starts a process and returns its Popen; the test
    rig passes one that runs the command inside the instance namespace.
    """

    def __init__(self, workdir, data, spawn=None, address="127.0.0.1",
                 tcp_nodelay=False, backlog=None):
        self.data_path = os.path.join(workdir, "imds.json")
        self.log_path = os.path.join(workdir, "imds-requests.log")
        self.port_path = os.path.join(workdir, "imds.port")
        self.stderr_path = os.path.join(workdir, "imds-mock.stderr")
        self.address = address
        self.tcp_nodelay = tcp_nodelay
        self.backlog = backlog
        self.port = None
        self.proc = None
        self.spawn = spawn or (lambda argv, **kw: subprocess.Popen(argv, **kw))
        write_data(self.data_path, data)

    def start(self, timeout=10.0):
        argv = [sys.executable, os.path.abspath(__file__),
                "--data", self.data_path, "--address", self.address,
                "--port-file", self.port_path, "--log", self.log_path]
        if self.tcp_nodelay:
            argv.append("--tcp-nodelay")
        if self.backlog:
            argv += ["--backlog", str(self.backlog)]
        with open(self.stderr_path, "ab") as err:
            self.proc = self.spawn(argv, stdin=subprocess.DEVNULL,
                                   stdout=subprocess.DEVNULL, stderr=err)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if os.path.exists(self.port_path):
                with open(self.port_path) as f:
                    self.port = int(f.read())
                return self
            if self.proc.poll() is not None:
                break
            time.sleep(0.02)
        self.stop()
        with open(self.stderr_path, errors="replace") as f:
            raise RuntimeError("imds mock did not start: " + f.read()[-2000:])

    @property
    def url(self):
        host = "[%s]" % self.address if ":" in self.address else self.address
        return "http://%s:%d" % (host, self.port)

    def update(self, data):
        write_data(self.data_path, data)

    def requests(self):
        return read_log(self.log_path)

    def stop(self, timeout=5.0):
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.terminate()
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


if __name__ == "__main__":
    sys.exit(main())
