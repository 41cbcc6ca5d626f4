# SPDX-License-Identifier: MIT
"""What enid should install for given metadata, in `ip -j` terms.

The numbers follow enid's defaults. An ENI on card c with device d gets
table and rule priority 10000 + 100c + d and metric 512 + 100c + d in main.
Routes and rules carry routing protocol 236, managed links get interface
group 0x2ec and MTU 9001, and the shared rule is "9999: from all lookup main
suppress_ifgroup 0x2ec" in both families.

configure_by_hand() installs the same objects with `ip`, so the rig's own
test can show the topology rejects and accepts what it should without enid.
"""

import ipaddress

TABLE_BASE = 10000
METRIC_BASE = 512
GROUP = 0x2EC
PROTOCOL = 236
PROTOCOL_NAMES = ("236", "enid")
MTU = 9001
SHARED_PRIORITY = TABLE_BASE - 1


class EniPlan:
    """The IPv4 objects enid should install for one ENI."""

    def __init__(self, name, mac, keys, primary):
        self.name = name
        self.mac = mac
        self.primary = primary
        self.card = int(keys.get("network-card", 0))
        self.device = int(keys["device-number"])
        self.table = TABLE_BASE + 100 * self.card + self.device
        self.metric = METRIC_BASE + 100 * self.card + self.device
        self.subnet = ipaddress.ip_network(keys["subnet-ipv4-cidr-block"])
        self.gateway = self.subnet.network_address + 1
        local = keys["local-ipv4s"]
        local = local if isinstance(local, list) else local.split("\n")
        self.addresses = [ipaddress.ip_address(a) for a in local]

    @property
    def dhcp_address(self):
        """The address the DHCP client owns (the primary's first), or None."""
        return self.addresses[0] if self.primary else None

    @property
    def added_addresses(self):
        """The addresses enid adds (all but the DHCP client's)."""
        return self.addresses[1:] if self.primary else list(self.addresses)

    def interface(self, addr):
        return "%s/%d" % (addr, self.subnet.prefixlen)

    def rules(self):
        """Expected rules as (priority, source, table) tuples."""
        return [(self.table, str(addr), str(self.table))
                for addr in self.addresses]

    def table_routes(self):
        """Expected routes of the ENI's table as (dst, gateway, dev, metric)."""
        return [("default", str(self.gateway), self.name, self.metric),
                (str(self.subnet), None, self.name, self.metric)]

    def main_route(self):
        return (str(self.subnet), None, self.name, self.metric)


def plan(meta, names):
    """EniPlans for the named, listed ENIs, keyed by link name."""
    primary = meta.primary
    return {name: EniPlan(name, meta.mac(name), meta.iface(name),
                          name == primary) for name in names}


def is_enid(obj):
    return str(obj.get("protocol")) in PROTOCOL_NAMES


def rule_key(rule):
    return (rule["priority"], rule.get("src", "all"), rule.get("table"))


def route_key(route):
    return (route["dst"], route.get("gateway"), route.get("dev"),
            route.get("metric", 0))


def configure_by_hand(rig, plans, addresses=True, rules=True):
    """Install with `ip` what enid should install for plans (IPv4)."""
    for p in plans.values():
        link = ["link", "set", p.name, "mtu", str(MTU), "group", hex(GROUP),
                "up"]
        rig.ip("inst", *link)
        if addresses:
            for addr in p.added_addresses:
                rig.ip("inst", "addr", "add", p.interface(addr), "dev",
                       p.name, "noprefixroute")
        if not rules:
            continue
        common = ["dev", p.name, "metric", str(p.metric), "proto",
                  str(PROTOCOL)]
        rig.ip("inst", "route", "add", str(p.subnet), *common)
        rig.ip("inst", "route", "add", str(p.subnet), *common, "table",
               str(p.table))
        rig.ip("inst", "route", "add", "default", "via", str(p.gateway),
               *common, "table", str(p.table))
        for priority, source, table in p.rules():
            rig.ip("inst", "rule", "add", "priority", str(priority), "from",
                   source, "lookup", table, "proto", str(PROTOCOL))
    if rules:
        for family in ("-4", "-6"):
            rig.ip("inst", family, "rule", "add", "priority",
                   str(SHARED_PRIORITY), "lookup", "main", "suppress_ifgroup",
                   hex(GROUP), "proto", str(PROTOCOL))
