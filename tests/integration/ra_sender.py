#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Send a few ICMPv6 router advertisements on one link, then exit.

    ra_sender.py IFNAME [--count N] [--interval S] [--lifetime S]

Runs inside the router namespace of a rig. Each advertisement goes to
ff02::1 with hop limit 255 and announces a default router with the given
lifetime (no prefix, so hosts configure no address from it). The kernel
fills in the ICMPv6 checksum of a raw ICMPv6 socket.
"""

import argparse
import socket
import struct
import sys
import time

ND_ROUTER_ADVERT = 134
ALL_NODES = "ff02::1"


def advertisement(lifetime):
    # type, code, checksum, cur hop limit, flags, router lifetime,
    # reachable time, retransmission timer
    return struct.pack("!BBHBBHII", ND_ROUTER_ADVERT, 0, 0, 64, 0, lifetime,
                       0, 0)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("ifname")
    parser.add_argument("--count", type=int, default=3)
    parser.add_argument("--interval", type=float, default=0.3)
    parser.add_argument("--lifetime", type=int, default=1800)
    args = parser.parse_args(argv)
    count = max(1, min(args.count, 50))  # bounded whatever the caller says
    index = socket.if_nametoindex(args.ifname)
    sock = socket.socket(socket.AF_INET6, socket.SOCK_RAW,
                         socket.IPPROTO_ICMPV6)
    sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_MULTICAST_HOPS, 255)
    sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_MULTICAST_IF, index)
    sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_UNICAST_HOPS, 255)
    packet = advertisement(args.lifetime)
    for i in range(count):
        sock.sendto(packet, (ALL_NODES, 0, 0, index))
        if i + 1 < count:
            time.sleep(args.interval)
    sock.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
