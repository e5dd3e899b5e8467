#!/usr/bin/env python3
"""Writes the seed corpus of the ust_fuzz_wire6 libFuzzer target.

Usage: tests/fuzz/make-corpus-wire6.py [OUTDIR]   (default: tests/fuzz/corpus-wire6)

Each input is a sequence of records [op:1][len:2, big-endian][bytes], as
fuzz_wire6.c reads them (its header comment is the reference):
  0 PKT    len bytes follow: an IPv6 packet (op | 0x80: its ICMPv6 or UDP
           checksum made right before it is parsed)
  1 CLOCK  no bytes: the clock advances by len x 100 ms
  2 TEXT   len bytes follow: an address or prefix as text
  3 FRAG   len bytes follow: a packet cut for an MTU of 1280 + 8 x (op >> 2),
           then put back together
The kernel's packets come from tests/unit/v6_vectors.h (captured on a veth
pair between two namespaces). The output is deterministic; rerun after
changing the format and commit the result.
"""
import os
import re
import struct
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
VECTORS = os.path.join(HERE, "..", "unit", "v6_vectors.h")


def kernel_packets():
    text = open(VECTORS).read()
    out = {}
    for m in re.finditer(r"static const uint8_t (\w+)\[\d+\] = \{(.*?)\};", text, re.S):
        out[m.group(1)] = bytes(int(x, 16) for x in re.findall(r"0x([0-9a-f]{2})", m.group(2)))
    return out


def rec(op, data=b"", length=None):
    return struct.pack(">BH", op, len(data) if length is None else length) + data


def addr(s):
    import ipaddress
    return ipaddress.IPv6Address(s).packed


def ipv6(src, dst, nh, payload, hlim=64):
    return struct.pack(">IHBB", 6 << 28, len(payload), nh, hlim) + addr(src) + addr(dst) + payload


def udp(n):
    body = bytes((i * 7) & 0xFF for i in range(n))
    return struct.pack(">HHHH", 5000, 7, 8 + n, 0) + body


def opts_hdr(nh, opts):
    """A hop-by-hop or destination options header holding opts, padded."""
    body = bytes([nh, 0]) + opts
    pad = (-len(body)) % 8
    if pad == 1:
        body += b"\x00"
    elif pad:
        body += bytes([1, pad - 2]) + bytes(pad - 2)
    return bytes([nh, len(body) // 8 - 1]) + body[2:]


def frag_hdr(nh, off, more, ident):
    return struct.pack(">BBHI", nh, 0, off | (1 if more else 0), ident)


def main():
    outdir = sys.argv[1] if len(sys.argv) > 1 else os.path.join(HERE, "corpus-wire6")
    os.makedirs(outdir, exist_ok=True)
    k = kernel_packets()
    seeds = {}
    for name in ("k_mld2_report_ll", "k_mld2_report_unspec", "k_rs", "k_ns", "k_ns_dad", "k_na",
                 "k_na_nud", "k_echo_req", "k_port_unreach", "k_udp"):
        seeds["kernel-" + name[2:].replace("_", "-")] = rec(0, k[name])
    seeds["kernel-fragments"] = rec(0, k["k_frag0"]) + rec(0, k["k_frag2"]) + rec(0, k["k_frag1"])
    seeds["fragments-timeout"] = rec(0, k["k_frag0"]) + rec(0, k["k_frag1"]) + rec(1, length=610)
    seeds["fragments-overlap"] = rec(0, k["k_frag0"]) + rec(0, k["k_frag0"][:60] + k["k_frag1"][60:])

    A, B = "2001:db8::1", "2001:db8::2"
    u = udp(16)
    for t, name in ((0x1E, "skip"), (0x5E, "discard"), (0x9E, "icmp"), (0xDE, "icmp-unicast")):
        o = opts_hdr(17, bytes([t, 2, 0xAA, 0xBB]))
        seeds["ext-option-" + name] = rec(0x80, ipv6(A, B, 60, o + u)) + \
            rec(0x80, ipv6(A, "ff02::1", 60, o + u))
    seeds["ext-router-alert"] = rec(0x80, ipv6(A, B, 0, opts_hdr(17, b"\x05\x02\x00\x00") + u))
    seeds["ext-hbh-not-first"] = rec(0x80, ipv6(A, B, 60, opts_hdr(0, b"") + opts_hdr(17, b"") + u))
    rt0 = bytes([17, 2, 0, 1]) + bytes(20)
    seeds["ext-routing-type0"] = rec(0x80, ipv6(A, B, 43, rt0 + u))
    seeds["ext-routing-done"] = rec(0x80, ipv6(A, B, 43, bytes([17, 0, 4, 0]) + bytes(4) + u))
    chain = b"".join(opts_hdr(60, b"") for _ in range(8)) + opts_hdr(17, b"")
    seeds["ext-too-many"] = rec(0x80, ipv6(A, B, 60, chain + u))
    seeds["ext-truncated"] = rec(0, ipv6(A, B, 60, bytes([17, 4]) + bytes(6)))

    # ND built from scratch (checksums fixed by the harness).
    slla = bytes([1, 1, 2, 0, 0, 0, 0, 1])
    prefix = struct.pack(">BBBBIII", 3, 4, 64, 0xC0, 86400, 14400, 0) + addr("2001:db8::")
    mtu = struct.pack(">BBHI", 5, 1, 0, 1480)
    ra = struct.pack(">BBHBBHII", 134, 0, 0, 64, 0xC0, 1800, 30000, 1000) + slla + mtu + prefix
    seeds["nd-ra"] = rec(0x80, ipv6("fe80::1", "ff02::1", 58, ra, 255))
    redirect = struct.pack(">BBHI", 137, 0, 0, 0) + addr("fe80::9") + addr("2001:db8:5::1") + \
        bytes([4, 2]) + bytes(6) + k["k_udp"][:8]
    seeds["nd-redirect"] = rec(0x80, ipv6("fe80::1", A, 58, redirect, 255))
    bad = bytearray(k["k_ns"])
    bad[40 + 25] = 0
    seeds["nd-ns-option-len-0"] = rec(0x80, bytes(bad))
    seeds["nd-ra-many-prefixes"] = rec(0x80, ipv6("fe80::1", "ff02::1", 58, ra[:16] + prefix * 12, 255))

    # Fragments built here: a first fragment without the chain, a bad length.
    seeds["frag-first-incomplete"] = rec(0, ipv6(A, B, 44, frag_hdr(6, 0, True, 9) + bytes(16)))
    seeds["frag-bad-length"] = rec(0, ipv6(A, B, 44, frag_hdr(17, 8, True, 9) + bytes(13)))
    seeds["frag-past-65535"] = rec(0, ipv6(A, B, 44, frag_hdr(17, 65528, False, 9) + bytes(16)))
    seeds["frag-atomic"] = rec(0, ipv6(A, B, 44, frag_hdr(17, 0, False, 9) + u))

    seeds["text-addresses"] = b"".join(rec(2, s.encode()) for s in (
        "2001:db8::1", "::", "::ffff:192.0.2.1", "fe80::ff:fe00:b", "1:0:0:2:0:0:0:3",
        "2001:db8::/32", "64:ff9b::192.0.2.33", "1::2::3", "::1.2.3.256"))

    seeds["roundtrip-fragmenter"] = rec(3, k["k_echo_req"]) + \
        rec(3, ipv6(A, B, 0, opts_hdr(17, b"") + udp(3000))) + \
        rec(3 | (4 << 2), ipv6(A, B, 0, opts_hdr(43, b"") + bytes([60, 0, 0, 0]) + bytes(4) +
                               opts_hdr(17, b"") + udp(2000)))
    for name, data in sorted(seeds.items()):
        with open(os.path.join(outdir, name), "wb") as f:
            f.write(data)


if __name__ == "__main__":
    main()
