# SPDX-License-Identifier: MIT
"""Network namespaces that play an EC2 instance, its VPC, a client and a peer.

Topology (namespace names are unique per run and per rig):

    client 10.0.9.5 ---- r-cli  +-------------+  r-M0 ---- M0  +----------+
                                | vpc: router |  r-M1 ---- M1  | instance |
    peer 10.0.0.99 ----- r-peer +-------------+  ...           | (enid,   |
                                                               |  mock)   |
                                                               +----------+

Each ENI is a veth pair: the near end (named after its MAC placeholder,
"M1", carrying the ENI's MAC) sits in the instance namespace, the far end
("r-M1") is its own router port. A router port has the subnet's gateway as
a /32 and fe80:ec2::1/64 and replies to ARP requests for every address
(proxy_arp, as the VPC does). The router has a /32 (/128) route back to
each address and delegated prefix of that ENI. Strict rp_filter on the
router (and an nftables "fib saddr . iif oif missing drop" rule for IPv6)
then drops a packet whose source is not an address of the ENI it came
from, as the VPC's per-ENI source check does. Two ENIs in one subnet need no shared L2 for this.

Every namespace and every process started through spawn() is removed when
the rig is destroyed, on normal exit (atexit) and on SIGTERM or SIGINT.
"""

import atexit
import ipaddress
import json
import os
import signal
import subprocess
import threading
import time

RUN_PREFIX = "enid%d" % os.getpid()
VPC_ROUTER6 = "fe80:ec2::1"
ROUTER_MTU = 9001
CLIENT4, CLIENT_GW4 = "10.0.9.5/24", "10.0.9.1/24"
CLIENT6, CLIENT_GW6 = "2001:db8:9::5/64", "2001:db8:9::1/64"
ROUTER_RULES = """
table inet enidrig {
  chain prerouting {
    type filter hook prerouting priority 0; policy accept;
    ip6 saddr != { ::, fe80::/10 } fib saddr . iif oif missing counter drop
  }
}
"""

_live_rigs = set()
_rig_counter = 0
_lock = threading.Lock()


class CommandError(RuntimeError):
    pass


def run(argv, check=True, timeout=20, input=None):
    """Run a command; return its stdout, raise CommandError when check fails."""
    proc = subprocess.run(argv, input=input, capture_output=True, text=True,
                          timeout=timeout)
    if check and proc.returncode != 0:
        raise CommandError("%s: exit %d: %s" % (
            " ".join(argv), proc.returncode, proc.stderr.strip()))
    return proc.stdout


def run_namespaces():
    """Return the names of this process's namespaces that still exist."""
    names = []
    for line in run(["ip", "netns", "list"]).splitlines():
        name = line.split()[0] if line.strip() else ""
        if name.startswith(RUN_PREFIX + "-"):
            names.append(name)
    return names


def eui64_link_local(mac):
    """Return the EUI-64 link-local address the kernel derives from a MAC."""
    octets = [int(x, 16) for x in mac.split(":")]
    octets[0] ^= 0x02
    eui = octets[:3] + [0xFF, 0xFE] + octets[3:]
    groups = ["%02x%02x" % (eui[i], eui[i + 1]) for i in range(0, 8, 2)]
    return str(ipaddress.IPv6Address("fe80::" + ":".join(groups)))


def link_group(link):
    """Return the numeric group of an `ip -j link` entry ("default" is 0)."""
    value = link.get("group", "default")
    if value == "default":
        return 0
    return int(value, 0)


def parse_network(text, version):
    try:
        net = ipaddress.ip_network(str(text), strict=True)
    except ValueError:
        return None
    return net if net.version == version else None


def parse_address(text, version):
    try:
        addr = ipaddress.ip_address(str(text))
    except ValueError:
        return None
    return addr if addr.version == version else None


def as_list(value):
    if value is None:
        return []
    if isinstance(value, list):
        return value
    return str(value).split("\n")


class EniView:
    """What the VPC routes to one ENI, read from its metadata keys."""

    def __init__(self, mac, keys):
        self.mac = mac
        self.subnet4 = parse_network(keys.get("subnet-ipv4-cidr-block"), 4)
        self.subnets6 = [n for n in (parse_network(t, 6) for t in
                         as_list(keys.get("subnet-ipv6-cidr-blocks"))) if n]
        self.addrs4 = self.valid(keys.get("local-ipv4s"), parse_address, 4)
        self.addrs6 = self.valid(keys.get("ipv6s"), parse_address, 6)
        self.prefixes4 = self.valid(keys.get("ipv4-prefix"), parse_network, 4)
        self.prefixes6 = self.valid(keys.get("ipv6-prefix"), parse_network, 6)

    @staticmethod
    def valid(value, parse, version):
        return [x for x in (parse(t, version) for t in as_list(value)) if x]

    @property
    def gateway4(self):
        return self.subnet4.network_address + 1 if self.subnet4 else None


class Rig:
    """The namespaces and links of one test; see the module docstring."""

    def __init__(self, instance_rp_filter=0, peer4="10.0.0.99/24",
                 peer_gateway4="10.0.0.1", peer6="2001:db8::99/64"):
        global _rig_counter
        with _lock:
            _rig_counter += 1
            self.prefix = "%s-%d" % (RUN_PREFIX, _rig_counter)
        self.instance_rp_filter = instance_rp_filter
        self.peer4 = ipaddress.ip_interface(peer4)
        self.peer_gateway4 = ipaddress.ip_address(peer_gateway4)
        self.peer6 = ipaddress.ip_interface(peer6)
        self.namespaces = {}  # role -> namespace name, in creation order
        self.ports = {}  # instance link name -> MAC, for attached ENIs
        self.data = None  # the metadata the router follows (see sync())
        self.processes = []
        self.destroyed = False

    # -- namespaces and commands -------------------------------------------

    def ns(self, role):
        return self.namespaces[role]

    def add_namespace(self, role):
        name = "%s-%s" % (self.prefix, role)
        run(["ip", "netns", "add", name])
        self.namespaces[role] = name
        self.ip(role, "link", "set", "lo", "up")
        return name

    def ip(self, role, *args, check=True, json_output=False):
        """Run `ip -n <ns> args`; with json_output, parse `ip -j`."""
        argv = ["ip", "-n", self.ns(role)]
        if json_output:
            argv.append("-j")
        out = run(argv + list(args), check=check)
        if json_output:
            return json.loads(out) if out.strip() else []
        return out

    def ip_json(self, role, *args):
        return self.ip(role, *args, json_output=True)

    def exec_argv(self, role, argv):
        return ["ip", "netns", "exec", self.ns(role)] + list(argv)

    def exec(self, role, argv, check=True, timeout=20):
        return run(self.exec_argv(role, argv), check=check, timeout=timeout)

    def spawn(self, role, argv, **popen_args):
        """Start a process in a namespace; destroy() ends it if still running."""
        proc = subprocess.Popen(self.exec_argv(role, argv), **popen_args)
        self.processes.append(proc)
        return proc

    def sysctl(self, role, settings):
        """Write /proc/sys values in a namespace ("net/ipv4/...": value)."""
        script = "".join("echo %s > /proc/sys/%s\n" % (value, key)
                         for key, value in settings.items())
        self.exec(role, ["sh", "-e", "-c", script])

    def read_proc(self, role, path):
        return self.exec(role, ["cat", path])

    # -- creation and removal ----------------------------------------------

    def create(self):
        """Create the instance, router, client and peer namespaces."""
        _live_rigs.add(self)
        install_signal_handlers()
        for role in ("inst", "vpc", "cli", "peer"):
            self.add_namespace(role)
        self.setup_instance()
        self.setup_router()
        self.setup_client()
        self.setup_peer()
        return self

    def setup_instance(self):
        rp = self.instance_rp_filter
        settings = {"net/ipv4/ip_forward": 0}
        for scope in ("all", "default"):
            settings.update({
                "net/ipv4/conf/%s/rp_filter" % scope: rp,
                "net/ipv4/conf/%s/arp_ignore" % scope: 1,
                "net/ipv4/conf/%s/arp_announce" % scope: 2,
                "net/ipv4/conf/%s/promote_secondaries" % scope: 1,
                "net/ipv6/conf/%s/disable_ipv6" % scope: 0,
                "net/ipv6/conf/%s/forwarding" % scope: 0,
                "net/ipv6/conf/%s/accept_ra" % scope: 0,
                "net/ipv6/conf/%s/accept_dad" % scope: 0,
                "net/ipv6/conf/%s/addr_gen_mode" % scope: 0,
                "net/ipv6/conf/%s/keep_addr_on_down" % scope: 0,
            })
        self.sysctl("inst", settings)

    def setup_router(self):
        settings = {"net/ipv4/ip_forward": 1}
        for scope in ("all", "default"):
            settings.update({
                "net/ipv4/conf/%s/forwarding" % scope: 1,
                "net/ipv4/conf/%s/rp_filter" % scope: 1,
                "net/ipv4/conf/%s/arp_ignore" % scope: 0,
                "net/ipv4/conf/%s/arp_announce" % scope: 2,
                "net/ipv4/conf/%s/send_redirects" % scope: 0,
                "net/ipv6/conf/%s/disable_ipv6" % scope: 0,
                "net/ipv6/conf/%s/forwarding" % scope: 1,
                "net/ipv6/conf/%s/accept_ra" % scope: 0,
                "net/ipv6/conf/%s/accept_dad" % scope: 0,
                "net/ipv6/conf/%s/proxy_ndp" % scope: 1,
            })
        self.sysctl("vpc", settings)
        run(self.exec_argv("vpc", ["nft", "-f", "-"]), input=ROUTER_RULES)

    def setup_host_namespace(self, role):
        settings = {}
        for scope in ("all", "default"):
            settings.update({
                "net/ipv4/conf/%s/rp_filter" % scope: 0,
                "net/ipv6/conf/%s/disable_ipv6" % scope: 0,
                "net/ipv6/conf/%s/accept_ra" % scope: 0,
                "net/ipv6/conf/%s/accept_dad" % scope: 0,
            })
        self.sysctl(role, settings)

    def add_router_port(self, port, peer_role, peer_name):
        """Create a veth pair: port in the router, peer_name in peer_role."""
        self.ip("vpc", "link", "add", "name", port, "mtu", str(ROUTER_MTU),
                "type", "veth", "peer", "name", peer_name, "netns",
                self.ns(peer_role))
        self.set_port_sysctls(port)
        self.ip("vpc", "link", "set", port, "up")

    def set_port_sysctls(self, port):
        # proxy_delay 0: proxy replies go out at once, not after a random
        # delay of up to 0.8 s. Namespaces other than the host's have no
        # neigh/default entry, so each port gets it.
        self.sysctl("vpc", {
            "net/ipv4/neigh/%s/proxy_delay" % port: 0,
            "net/ipv6/neigh/%s/proxy_delay" % port: 0,
            "net/ipv4/conf/%s/rp_filter" % port: 1,
            "net/ipv4/conf/%s/proxy_arp" % port: 1,
            "net/ipv4/conf/%s/forwarding" % port: 1,
            "net/ipv6/conf/%s/proxy_ndp" % port: 1,
            "net/ipv6/conf/%s/forwarding" % port: 1,
        })

    def setup_client(self):
        self.setup_host_namespace("cli")
        self.add_router_port("r-cli", "cli", "eth0")
        self.sysctl("vpc", {"net/ipv4/conf/r-cli/proxy_arp": 0})
        self.ip("vpc", "addr", "add", CLIENT_GW4, "dev", "r-cli")
        self.ip("vpc", "addr", "add", CLIENT_GW6, "dev", "r-cli", "nodad")
        self.ip("cli", "link", "set", "eth0", "mtu", str(ROUTER_MTU), "up")
        self.ip("cli", "addr", "add", CLIENT4, "dev", "eth0")
        self.ip("cli", "addr", "add", CLIENT6, "dev", "eth0", "nodad")
        gw4 = CLIENT_GW4.split("/")[0]
        gw6 = CLIENT_GW6.split("/")[0]
        self.ip("cli", "route", "add", "default", "via", gw4)
        self.ip("cli", "-6", "route", "add", "default", "via", gw6)

    def setup_peer(self):
        self.setup_host_namespace("peer")
        self.add_router_port("r-peer", "peer", "eth0")
        self.ip("vpc", "addr", "add", "%s/32" % self.peer_gateway4, "dev",
                "r-peer")
        self.ip("vpc", "addr", "add", VPC_ROUTER6 + "/64", "dev", "r-peer",
                "nodad")
        self.ip("vpc", "route", "add", "%s/32" % self.peer4.ip, "dev",
                "r-peer", "proto", "static")
        self.ip("vpc", "route", "add", "%s/128" % self.peer6.ip, "dev",
                "r-peer", "proto", "static")
        self.ip("peer", "link", "set", "eth0", "mtu", str(ROUTER_MTU), "up")
        self.ip("peer", "addr", "add", str(self.peer4), "dev", "eth0")
        self.ip("peer", "addr", "add", str(self.peer6), "dev", "eth0",
                "nodad")
        self.ip("peer", "route", "add", "default", "via",
                str(self.peer_gateway4))
        self.ip("peer", "-6", "route", "add", "default", "via", VPC_ROUTER6,
                "dev", "eth0")

    @property
    def client4(self):
        return CLIENT4.split("/")[0]

    @property
    def client6(self):
        return CLIENT6.split("/")[0]

    def destroy(self):
        """End the rig's processes and delete its namespaces (idempotent)."""
        if self.destroyed:
            return
        self.destroyed = True
        for proc in self.processes:
            stop_process(proc)
        for name in reversed(list(self.namespaces.values())):
            run(["ip", "netns", "del", name], check=False)
        _live_rigs.discard(self)

    # -- ENIs ----------------------------------------------------------------

    def attach(self, name, mac, up=False, first_name=None, rename_after=0.0):
        """Hot attach: a veth pair whose near end appears in the instance.

        The router port is configured first, from the metadata last given
        to sync(). Then the near end, with the ENI's MAC, moves into the
        instance namespace, where one new link appears: named name, or named
        first_name and renamed to name rename_after seconds later, as udev
        renames a fresh "ethN". With rename_after None, the request that
        moves the link also renames it, and the kernel carries that out as
        a move followed by a rename, microseconds apart.
        """
        port = "r-" + name
        near = first_name or name
        self.ip("vpc", "link", "add", "name", port, "mtu", str(ROUTER_MTU),
                "type", "veth", "peer", "name", near, "address", mac)
        self.set_port_sysctls(port)
        self.ip("vpc", "addr", "add", VPC_ROUTER6 + "/64", "dev", port,
                "nodad")
        self.ip("vpc", "link", "set", port, "up")
        self.ports[name] = mac
        if self.data is not None:
            self.sync(self.data)
        move = ["link", "set", near, "netns", self.ns("inst")]
        if first_name and rename_after is None:
            self.ip("vpc", *move, "name", name)
        else:
            self.ip("vpc", *move)
        if first_name and rename_after is not None:
            time.sleep(rename_after)
            self.ip("inst", "link", "set", first_name, "name", name)
        if up:
            self.ip("inst", "link", "set", name, "up")

    def detach(self, name):
        """Delete the ENI's link (both ends of the pair)."""
        self.ip("inst", "link", "del", name)
        self.ports.pop(name, None)
        if self.data is not None:
            self.sync(self.data)

    def dhcp(self, name, interface, gateway, lifetime=3600):
        """Configure the link as a DHCP client would: a dynamic address with
        its prefix route and a default route with proto dhcp, metric 100."""
        self.ip("inst", "link", "set", name, "up")
        self.ip("inst", "addr", "add", str(interface), "dev", name,
                "valid_lft", str(lifetime), "preferred_lft", str(lifetime))
        self.ip("inst", "route", "add", "default", "via", str(gateway), "dev",
                name, "proto", "dhcp", "metric", "100")

    # -- the router follows the metadata ------------------------------------

    def sync(self, data):
        """Make the router's ports route what the metadata assigns to ENIs.

        data is the mock's data (imds_mock.py format). Values that do not
        parse are skipped, because the VPC never assigns such values.
        """
        self.data = data
        interfaces = {mac.lower(): keys for mac, keys in
                      (data.get("interfaces") or {}).items()}
        views = {}
        for name, mac in self.ports.items():
            views[name] = EniView(mac, interfaces.get(mac.lower()) or {})
        for name, view in views.items():
            self.sync_port("r-" + name, view)
        self.sync_proxy_ndp(views)

    def sync_port(self, port, view):
        want_addrs = set()
        if view.gateway4 is not None:
            want_addrs.add("%s/32" % view.gateway4)
        want_routes = {}
        for addr in view.addrs4:
            want_routes["%s/32" % addr] = ["dev", port]
        first4 = view.addrs4[0] if view.addrs4 else None
        for prefix in view.prefixes4:
            if first4 is not None:
                want_routes[str(prefix)] = ["via", str(first4), "dev", port,
                                            "onlink"]
        for addr in view.addrs6:
            want_routes["%s/128" % addr] = ["dev", port]
        for prefix in view.prefixes6:
            want_routes[str(prefix)] = ["via", eui64_link_local(view.mac),
                                        "dev", port]
        self.sync_port_addrs(port, want_addrs)
        self.sync_port_routes(port, want_routes)

    def sync_port_addrs(self, port, want):
        have = set()
        for link in self.ip_json("vpc", "-4", "addr", "show", "dev", port):
            for info in link.get("addr_info", []):
                have.add("%s/%d" % (info["local"], info["prefixlen"]))
        for cidr in sorted(have - want):
            self.ip("vpc", "addr", "del", cidr, "dev", port)
        for cidr in sorted(want - have):
            self.ip("vpc", "addr", "add", cidr, "dev", port)

    def sync_port_routes(self, port, want):
        have = {}
        for family in ("-4", "-6"):
            for route in self.ip_json("vpc", family, "route", "show", "dev",
                                      port, "proto", "static"):
                dst = route["dst"]
                if "/" not in dst:
                    dst += "/32" if ":" not in dst else "/128"
                have[dst] = route
        for dst in sorted(set(have) - set(want)):
            self.ip("vpc", "route", "del", dst, "dev", port, "proto", "static")
        for dst, route_args in sorted(want.items()):
            self.ip("vpc", "route", "replace", dst, *route_args, "proto",
                    "static")

    def sync_proxy_ndp(self, views):
        """Add proxy NDP entries for hosts behind other router ports.

        Linux has no IPv6 counterpart to proxy_arp's "reply for all", so
        each port gets a proxy entry for every known host address of its
        subnets that the router reaches through another port.
        """
        hosts = [(addr, "r-" + name) for name, view in views.items()
                 for addr in view.addrs6]
        hosts.append((self.peer6.ip, "r-peer"))
        subnets = {"r-" + name: view.subnets6 for name, view in views.items()}
        subnets["r-peer"] = [self.peer6.network]
        want = set()
        for port, nets in subnets.items():
            for addr, behind in hosts:
                if behind != port and any(addr in net for net in nets):
                    want.add((str(addr), port))
        have = set()
        for entry in self.ip_json("vpc", "-6", "neigh", "show", "proxy"):
            have.add((entry["dst"], entry["dev"]))
        for addr, port in sorted(have - want):
            self.ip("vpc", "-6", "neigh", "del", "proxy", addr, "dev", port,
                    check=False)
        for addr, port in sorted(want - have):
            self.ip("vpc", "-6", "neigh", "add", "proxy", addr, "dev", port)

    # -- probes ----------------------------------------------------------------

    def ping_argv(self, role, dst, src=None, count=2):
        argv = ["ping", "-n", "-q", "-c", str(count), "-i", "0.2", "-W", "1"]
        if ":" in str(dst):
            argv.append("-6")
        if src is not None:
            argv += ["-I", str(src)]
        return self.exec_argv(role, argv + [str(dst)])

    def pings(self, probes, count=2):
        """Run pings in parallel; probes are (role, dst, src or None).

        Returns {probe: True if at least one reply came back}. Each ping
        sends count packets 0.2 s apart and waits at most 1 s per reply.
        """
        started = []
        for probe in probes:
            role, dst, src = probe
            proc = subprocess.Popen(self.ping_argv(role, dst, src, count),
                                    stdout=subprocess.DEVNULL,
                                    stderr=subprocess.DEVNULL)
            started.append((probe, proc))
        results = {}
        for probe, proc in started:
            try:
                results[probe] = proc.wait(timeout=count + 5) == 0
            except subprocess.TimeoutExpired:
                stop_process(proc)
                results[probe] = False
        return results

    def ping(self, role, dst, src=None, count=2):
        return self.pings([(role, dst, src)], count)[(role, dst, src)]

    def route_get(self, dst, src=None, role="inst"):
        """Return the device `ip route get dst from src` picks, or None."""
        argv = ["route", "get", str(dst)]
        if src is not None:
            argv += ["from", str(src)]
        try:
            routes = self.ip_json(role, *argv)
        except CommandError:
            return None
        return routes[0].get("dev") if routes else None

    def links(self, role="inst"):
        return {link["ifname"]: link for link in
                self.ip_json(role, "-d", "link", "show")}

    def addresses(self, name, family="-4", role="inst"):
        """Return the addr_info entries of a link in the kernel's order
        (family "-4", "-6", or None for both)."""
        args = ([family] if family else []) + ["addr", "show", "dev", name]
        links = self.ip_json(role, *args)
        return links[0].get("addr_info", []) if links else []

    def rules(self, family="-4", role="inst"):
        return self.ip_json(role, family, "rule", "show")

    def routes(self, family="-4", table="all", role="inst"):
        """Return the routes of a table, or [] when the table does not exist
        (an IPv6 table exists only while it contains a route)."""
        try:
            return self.ip_json(role, family, "route", "show", "table",
                                str(table))
        except CommandError as e:
            if "table does not exist" in str(e):
                return []
            raise

    def dump(self, role="inst"):
        """Return the namespace's links, addresses, routes and rules (both
        families) without address lifetimes, which change by themselves."""
        state = {
            "link": self.ip_json(role, "-d", "link", "show"),
            "addr": self.ip_json(role, "addr", "show"),
            "route4": self.routes("-4", role=role),
            "route6": self.routes("-6", role=role),
            "rule4": self.rules("-4", role=role),
            "rule6": self.rules("-6", role=role),
        }
        for link in state["addr"]:
            for info in link.get("addr_info", []):
                info.pop("valid_life_time", None)
                info.pop("preferred_life_time", None)
        return state

    def text_dump(self, role="inst"):
        """Return `ip rule` and `ip route show table all` output, both
        families."""
        parts = []
        for family in ("-4", "-6"):
            parts.append("# ip %s rule\n" % family
                         + self.ip(role, family, "rule", "show"))
            parts.append("# ip %s route show table all\n" % family
                         + self.ip(role, family, "route", "show", "table",
                                   "all"))
        return "".join(parts)

    def rp_filter_drops(self):
        """Return the router's IPReversePathFilter counter: the packets the
        IPv4 source check dropped."""
        text = self.read_proc("vpc", "/proc/net/netstat")
        lines = [line.split() for line in text.splitlines()
                 if line.startswith("TcpExt:")]
        names, values = lines[0], lines[1]
        return int(values[names.index("IPReversePathFilter")])

    def nft_drops(self):
        """Return the packets the router's IPv6 source check rule dropped."""
        text = self.exec("vpc", ["nft", "-j", "list", "table", "inet",
                                 "enidrig"])
        for item in json.loads(text)["nftables"]:
            rule = item.get("rule")
            if not rule:
                continue
            for expr in rule["expr"]:
                if "counter" in expr:
                    return expr["counter"]["packets"]
        return 0


def stop_process(proc, timeout=3.0):
    """Terminate a child process we started, then kill it if it lingers."""
    if proc.poll() is not None:
        return proc.returncode
    proc.terminate()
    try:
        return proc.wait(timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        return proc.wait()


def destroy_all():
    """Destroy every live rig of this process (atexit, signals)."""
    for rig in list(_live_rigs):
        try:
            rig.destroy()
        except Exception as e:  # keep removing the other rigs
            print("rig: cleanup of %s failed: %s" % (rig.prefix, e))


_handlers_installed = False


def _on_signal(signum, frame):
    destroy_all()
    raise KeyboardInterrupt("signal %d" % signum)


def install_signal_handlers():
    """Turn SIGTERM and SIGINT into KeyboardInterrupt after cleaning up."""
    global _handlers_installed
    if _handlers_installed:
        return
    if threading.current_thread() is not threading.main_thread():
        return
    signal.signal(signal.SIGTERM, _on_signal)
    signal.signal(signal.SIGINT, _on_signal)
    _handlers_installed = True


atexit.register(destroy_all)
