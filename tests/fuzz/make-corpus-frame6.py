#!/usr/bin/env python3
"""Writes the IPv6 seeds of the ust_fuzz_frame libFuzzer target.

Usage: tests/fuzz/make-corpus-frame6.py [OUTDIR]   (default: tests/fuzz/corpus)

Records as make-corpus.py describes them (ETH: op 0, arg = frame length,
then the frame). The stack under test has 2001:db8::2/64 on eth0 (DAD
off), an IPv6-only UDP socket on port 7 and an IPv6-only TCP listener on
port 80 (fuzz_frame.c). The peer is fe80::1 / 2001:db8::1 at
02:00:00:00:00:01. The output is deterministic.
"""
import os
import struct
import sys

US_MAC = bytes.fromhex("020000000002")
PEER_MAC = bytes.fromhex("020000000001")
US = bytes.fromhex("20010db8000000000000000000000002")
PEER = bytes.fromhex("20010db8000000000000000000000001")
PEER_LL = bytes.fromhex("fe800000000000000000000000000001")
ALL_NODES = bytes.fromhex("ff020000000000000000000000000001")
SN_US = bytes.fromhex("ff0200000000000000000001ff000002")


def csum(data):
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return (~s) & 0xFFFF


def with_sum(src, dst, nh, msg, off):
    ph = src + dst + struct.pack("!IxxxB", len(msg), nh)
    c = csum(ph + msg[:off] + b"\0\0" + msg[off + 2:])
    return msg[:off] + struct.pack("!H", c) + msg[off + 2:]


def ipv6(src, dst, nh, payload, hlim=64):
    return struct.pack("!IHBB", 6 << 28, len(payload), nh, hlim) + src + dst + payload


def eth(dst_mac, pkt):
    return dst_mac + PEER_MAC + b"\x86\xdd" + pkt


def mcast_mac(a):
    return b"\x33\x33" + a[12:]


def rec(frame):
    return struct.pack("!BH", 0, len(frame)) + frame


def clock(ms):
    return struct.pack("!BH", 2, ms)


def icmp6(src, dst, typ, code, rest, body, hlim=64, dmac=None):
    msg = struct.pack("!BBHI", typ, code, 0, rest) + body
    msg = with_sum(src, dst, 58, msg, 2)
    return eth(dmac or (mcast_mac(dst) if dst[0] == 0xFF else US_MAC), ipv6(src, dst, 58, msg, hlim))


def ns(src, target, slla=True):
    body = target + (b"\x01\x01" + PEER_MAC if slla else b"")
    dst = SN_US
    return icmp6(src, dst, 135, 0, 0, body, 255)


def na(src, target, flags=0x60):
    body = target + b"\x02\x01" + PEER_MAC
    return icmp6(src, US, 136, 0, flags << 24, body, 255)


def ra(prefix=bytes.fromhex("20010db8000100000000000000000000"), lifetime=1800, mtu=1400):
    rest = (64 << 24) | lifetime
    body = struct.pack("!II", 30000, 1000) + b"\x01\x01" + PEER_MAC
    body += struct.pack("!BBHI", 5, 1, 0, mtu)
    body += struct.pack("!BBBBIII", 3, 4, 64, 0xC0, 3600, 1800, 0) + prefix
    return icmp6(PEER_LL, ALL_NODES, 134, 0, rest, body, 255)


def udp6(src, dst, sport, dport, data):
    u = struct.pack("!HHHH", sport, dport, 8 + len(data), 0) + data
    u = with_sum(src, dst, 17, u, 6)
    return eth(US_MAC, ipv6(src, dst, 17, u))


def tcp6(src, dst, sport, dport, seq, ack, flags, data=b"", opts=b""):
    off = (20 + len(opts)) // 4
    t = struct.pack("!HHIIBBHHH", sport, dport, seq, ack, off << 4, flags, 65535, 0, 0) + opts + data
    t = with_sum(src, dst, 6, t, 16)
    return eth(US_MAC, ipv6(src, dst, 6, t))


def frag6(src, dst, nh, payload, ident, mtu_chunk):
    out = []
    off = 0
    while off < len(payload):
        chunk = payload[off:off + mtu_chunk]
        more = 1 if off + len(chunk) < len(payload) else 0
        fh = struct.pack("!BBHI", nh, 0, (off & ~7) | more, ident)
        out.append(eth(US_MAC, ipv6(src, dst, 44, fh + chunk)))
        off += len(chunk)
    return out


def seeds():
    s = {}
    nsr = ns(PEER, US)
    s["v6-ns-echo"] = [nsr, icmp6(PEER, US, 128, 0, 0x12340001, b"ping6 seed")]
    s["v6-ns-dad-unspec"] = [icmp6(bytes(16), SN_US, 135, 0, 0, US, 255)]
    s["v6-na-unsolicited"] = [na(PEER, PEER, 0x20)]
    s["v6-ra-slaac"] = [ra(), clock(2000), icmp6(PEER_LL, ALL_NODES, 128, 0, 7, b"all")]
    s["v6-ra-withdraw"] = [ra(), ra(lifetime=0), clock(1000)]
    s["v6-udp-echo"] = [nsr, udp6(PEER, US, 4000, 7, b"hello over ipv6"), udp6(PEER, US, 4000, 9, b"closed")]
    s["v6-tcp-syn"] = [nsr, tcp6(PEER, US, 5000, 80, 1000, 0, 0x02, opts=b"\x02\x04\x05\xa0")]
    s["v6-tcp-rst-closed"] = [nsr, tcp6(PEER, US, 5001, 81, 1, 0, 0x02)]
    u = struct.pack("!HHHH", 4000, 7, 8 + 3000, 0) + bytes(range(256)) * 11 + bytes(184)
    u = with_sum(PEER, US, 17, u, 6)
    s["v6-frag-udp"] = [nsr] + frag6(PEER, US, 17, u, 0xABCD, 1448)
    s["v6-frag-overlap"] = [nsr] + frag6(PEER, US, 17, u, 0xABCE, 1448)[:1] + \
        frag6(PEER, US, 17, u[8:], 0xABCE, 1448)[:1]
    s["v6-hbh-unknown-option"] = [nsr, eth(US_MAC, ipv6(PEER, US, 0, bytes([59, 0, 0x80, 4, 0, 0, 0, 0])))]
    s["v6-routing-type0"] = [nsr, eth(US_MAC, ipv6(PEER, US, 43, bytes([59, 0, 0, 1, 0, 0, 0, 0])))]
    s["v6-unknown-nh"] = [nsr, eth(US_MAC, ipv6(PEER, US, 253, b"\0" * 8))]
    s["v6-ptb"] = [nsr, icmp6(PEER, US, 2, 0, 1280, ipv6(US, PEER, 17, b"\0" * 16))]
    s["v6-mld-query"] = [icmp6(PEER_LL, ALL_NODES, 130, 0, 1000 << 16, bytes(16), 1)]
    return s


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "corpus")
    os.makedirs(out, exist_ok=True)
    for name, frames in seeds().items():
        with open(os.path.join(out, name), "wb") as f:
            for fr in frames:
                f.write(fr if fr[:1] == b"\x02" and len(fr) == 3 else rec(fr))


if __name__ == "__main__":
    main()
