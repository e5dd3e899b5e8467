#!/usr/bin/env python3
"""Sends IPv6 router advertisements (RFC 4861 4.2) on a link, as a router
would, for test_slaac.sh: the standard library only (a raw ICMPv6 socket:
the kernel fills in the source address and the checksum).

  ra.py DEV PREFIX/64 [--lifetime S] [--valid S] [--preferred S]
        [--count N] [--interval S] [--mtu N]

Sends COUNT advertisements INTERVAL seconds apart to all-nodes (ff02::1)
from DEV's link-local address, with hop limit 255, a source link-layer
address option, and a prefix information option for PREFIX with the
on-link and autonomous flags. Router lifetime S seconds (0: not a default
router)."""
import argparse
import fcntl
import ipaddress
import socket
import struct
import sys
import time

SIOCGIFHWADDR = 0x8927


def mac_of(dev):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        ifr = fcntl.ioctl(s.fileno(), SIOCGIFHWADDR, struct.pack("256s", dev.encode()[:15]))
    finally:
        s.close()
    return ifr[18:24]


def advertisement(mac, prefix, plen, lifetime, valid, preferred, mtu):
    # Type 134, code 0, checksum (the kernel's), cur hop limit 64, no M/O
    # flags, router lifetime, reachable time 0 and retrans timer 0
    # (unspecified).
    msg = struct.pack("!BBHBBHII", 134, 0, 0, 64, 0, lifetime, 0, 0)
    msg += struct.pack("!BB6s", 1, 1, mac)  # source link-layer address
    if mtu:
        msg += struct.pack("!BBHI", 5, 1, 0, mtu)
    # Prefix information: L (on-link) and A (autonomous).
    msg += struct.pack("!BBBBIII16s", 3, 4, plen, 0xC0, valid, preferred, 0, prefix.packed)
    return msg


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("dev")
    ap.add_argument("prefix")
    ap.add_argument("--lifetime", type=int, default=1800)
    ap.add_argument("--valid", type=int, default=86400)
    ap.add_argument("--preferred", type=int, default=14400)
    ap.add_argument("--count", type=int, default=1)
    ap.add_argument("--interval", type=float, default=1.0)
    ap.add_argument("--mtu", type=int, default=0)
    a = ap.parse_args()
    net = ipaddress.IPv6Network(a.prefix)
    msg = advertisement(mac_of(a.dev), net.network_address, net.prefixlen, a.lifetime, a.valid,
                        a.preferred, a.mtu)
    s = socket.socket(socket.AF_INET6, socket.SOCK_RAW, socket.IPPROTO_ICMPV6)
    s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_MULTICAST_HOPS, 255)
    s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_UNICAST_HOPS, 255)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_BINDTODEVICE, a.dev.encode())
    idx = socket.if_nametoindex(a.dev)
    s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_MULTICAST_IF, idx)
    for i in range(a.count):
        if i:
            time.sleep(a.interval)
        s.sendto(msg, ("ff02::1", 0, 0, idx))
    return 0


if __name__ == "__main__":
    sys.exit(main())
