#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Record rtnetlink notifications of the current network namespace.

The benchmarks run this inside the instance namespace (`ip netns exec`).
It joins the link, address, route and rule groups of both families and
writes each datagram to stdout as a frame: a header of the
CLOCK_MONOTONIC time in nanoseconds when recv() returned and the length
(struct "<QI"), then the datagram. That clock is shared by every network
namespace, so the benchmark compares the stamps with its own
time.monotonic(). The first frame is empty and marks that the groups are
joined. A later frame with length 0 means that recv() failed (ENOBUFS),
so notifications were lost. Parsing happens in the reader (records()), so
that the listener keeps up with a burst of thousands of notifications.

records() turns a datagram into dicts: "t" (s), "m" (NEWLINK, DELADDR,
...), "f" (address family), "if" (ifindex of a link or address), "name"
(link), "a" (address or destination as text/prefixlen), "oif", "table",
"proto", "prio".
"""

import ipaddress
import os
import socket
import struct
import sys
import time

SOL_NETLINK = 270
NETLINK_ADD_MEMBERSHIP = 1
GROUPS = (1, 5, 7, 8, 9, 11, 19)  # RTNLGRP_LINK ... RTNLGRP_IPV6_RULE
TYPES = {16: "NEWLINK", 17: "DELLINK", 20: "NEWADDR", 21: "DELADDR",
         24: "NEWROUTE", 25: "DELROUTE", 32: "NEWRULE", 33: "DELRULE"}


def attributes(data, offset):
    """Yield (type, payload) of the rtattrs from offset to the end."""
    while offset + 4 <= len(data):
        length, kind = struct.unpack_from("HH", data, offset)
        if length < 4:
            return
        yield kind & 0x3FFF, data[offset + 4:offset + length]
        offset += (length + 3) & ~3


def address_text(family, payload, prefixlen):
    if family == socket.AF_INET and len(payload) == 4:
        return "%s/%d" % (ipaddress.IPv4Address(payload), prefixlen)
    if family == socket.AF_INET6 and len(payload) == 16:
        return "%s/%d" % (ipaddress.IPv6Address(payload), prefixlen)
    return None


def parse_link(body, record):
    _, _, _, index, _, _ = struct.unpack_from("BBHiII", body)
    record["if"] = index
    for kind, payload in attributes(body, 16):
        if kind == 3:  # IFLA_IFNAME
            record["name"] = payload.rstrip(b"\0").decode()


def parse_addr(body, record):
    family, prefixlen, _, _, index = struct.unpack_from("BBBBI", body)
    record.update({"f": family, "if": index})
    attrs = dict(attributes(body, 8))
    payload = attrs.get(2, attrs.get(1, b""))  # IFA_LOCAL, IFA_ADDRESS
    record["a"] = address_text(family, payload, prefixlen)


def parse_route(body, record):
    family, dst_len, _, _, table, proto, _, _ = struct.unpack_from("8B", body)
    attrs = dict(attributes(body, 12))
    if 15 in attrs:  # RTA_TABLE
        table = struct.unpack("I", attrs[15][:4])[0]
    zero = b"\0" * (4 if family == socket.AF_INET else 16)
    record.update({"f": family, "table": table, "proto": proto,
                   "a": address_text(family, attrs.get(1, zero), dst_len)})
    if 4 in attrs:  # RTA_OIF
        record["oif"] = struct.unpack("I", attrs[4][:4])[0]


def parse_rule(body, record):
    family, _, src_len, _, table, _, _, _ = struct.unpack_from("8B", body)
    attrs = dict(attributes(body, 12))
    if 15 in attrs:  # FRA_TABLE
        table = struct.unpack("I", attrs[15][:4])[0]
    record.update({"f": family, "table": table})
    if 2 in attrs:  # FRA_SRC
        record["a"] = address_text(family, attrs[2], src_len)
    if 6 in attrs:  # FRA_PRIORITY
        record["prio"] = struct.unpack("I", attrs[6][:4])[0]
    if 21 in attrs:  # FRA_PROTOCOL
        record["proto"] = attrs[21][0]


PARSERS = {"LINK": parse_link, "ADDR": parse_addr, "ROUTE": parse_route,
           "RULE": parse_rule}


def records(data, stamp):
    """Yield the notifications of one datagram as dicts."""
    offset = 0
    while offset + 16 <= len(data):
        length, kind = struct.unpack_from("IH", data, offset)
        if length < 16:
            return
        name = TYPES.get(kind)
        if name is not None:
            record = {"t": stamp, "m": name}
            PARSERS[name[3:]](data[offset + 16:offset + length], record)
            yield record
        offset += (length + 3) & ~3


HEADER = struct.Struct("<QI")


def main():
    sock = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW,
                         socket.NETLINK_ROUTE)
    sock.setsockopt(socket.SOL_SOCKET, 33, 16 << 20)  # SO_RCVBUFFORCE
    sock.bind((0, 0))
    for group in GROUPS:
        sock.setsockopt(SOL_NETLINK, NETLINK_ADD_MEMBERSHIP, group)
    out = sys.stdout.buffer
    out.write(HEADER.pack(time.monotonic_ns(), 0))
    out.flush()
    while True:
        try:
            data = sock.recv(1 << 20)
        except OSError:
            data = b""
        out.write(HEADER.pack(time.monotonic_ns(), len(data)) + data)
        out.flush()


if __name__ == "__main__":
    try:
        main()
    except (KeyboardInterrupt, BrokenPipeError):
        pass
