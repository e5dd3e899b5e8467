#!/usr/bin/env python3
"""Writes the seed corpus of the ust_fuzz_frame libFuzzer target.

Usage: tests/fuzz/make-corpus.py [OUTDIR]   (default: tests/fuzz/corpus)

Each input is a sequence of records [op:1][arg:2, big-endian][bytes], as
fuzz_frame.c reads them:
  0 ETH    arg bytes follow: a frame delivered on eth0
  1 LO     arg bytes follow: a bare IPv4 packet delivered on lo
  2 CLOCK  no bytes: the clock jumps by arg ms, then the stack polls
  3 PING   arg bytes follow: [dst:4][seq:2][payload]: send an echo request
  4 RECV   no bytes: read up to arg ping replies
The stack under test: eth0 02:00:00:00:00:02 at 192.0.2.2/24, default route
via 192.0.2.1, lo at 127.0.0.1/8, ping identifier 0x5501.

The output is deterministic; rerun after changing the format and commit the
result.
"""
import os
import struct
import sys

US_MAC = bytes.fromhex("020000000002")
PEER_MAC = bytes.fromhex("020000000001")
OTHER_MAC = bytes.fromhex("020000000003")
BCAST_MAC = b"\xff" * 6
ZERO_MAC = b"\x00" * 6


def ip(a):
    return bytes(int(x) for x in a.split("."))


US = ip("192.0.2.2")
PEER = ip("192.0.2.1")
OTHER = ip("192.0.2.3")
REMOTE = ip("198.51.100.7")
SUBNET_BCAST = ip("192.0.2.255")
LIMITED_BCAST = ip("255.255.255.255")
LO = ip("127.0.0.1")
PING_ID = 0x5501

OP_ETH, OP_LO, OP_CLOCK, OP_PING, OP_RECV, OP_USEND, OP_CSEND = range(7)


# ---- wire builders ----

def cksum(data):
    if len(data) % 2:
        data += b"\x00"
    s = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def eth(dst, src, etype, payload, pad=True):
    f = dst + src + struct.pack("!H", etype) + payload
    if pad and len(f) < 60:
        f += b"\x00" * (60 - len(f))
    return f


def arp(op, sha, spa, tha, tpa, hrd=1, pro=0x0800, hln=6, pln=4):
    return struct.pack("!HHBBH", hrd, pro, hln, pln, op) + sha + spa + tha + tpa


def arp_frame(op, sha, spa, tha, tpa, dst=None, **kw):
    if dst is None:
        dst = BCAST_MAC if op == 1 else US_MAC
    return eth(dst, sha, 0x0806, arp(op, sha, spa, tha, tpa, **kw))


def ipv4(src, dst, proto, payload, ident=0x1234, frag=0, ttl=64, options=b"",
         total=None, bad_sum=False, version=4, ihl=None):
    if ihl is None:
        ihl = 5 + len(options) // 4
    tl = total if total is not None else 20 + len(options) + len(payload)
    hdr = struct.pack("!BBHHHBBH4s4s", (version << 4) | ihl, 0, tl, ident, frag, ttl,
                      proto, 0, src, dst) + options
    s = cksum(hdr)
    if bad_sum:
        s ^= 0x0101
    hdr = hdr[:10] + struct.pack("!H", s) + hdr[12:]
    return hdr + payload


def icmp(itype, code, rest, payload=b"", bad_sum=False):
    m = struct.pack("!BBHI", itype, code, 0, rest) + payload
    s = cksum(m)
    if bad_sum:
        s ^= 0x8000
    return m[:2] + struct.pack("!H", s) + m[4:]


def echo(itype, ident, seq, payload=b"", **kw):
    return icmp(itype, 0, (ident << 16) | seq, payload, **kw)


def ip_frame(pkt, dst_mac=US_MAC, src_mac=PEER_MAC):
    return eth(dst_mac, src_mac, 0x0800, pkt)


def echo_req_frame(src=PEER, dst=US, ident=0x77, seq=1, payload=b"ping data", **kw):
    return ip_frame(ipv4(src, dst, 1, echo(8, ident, seq, payload)), **kw)


# ---- records ----

def rec(op, arg, data=b""):
    return struct.pack("!BH", op, arg) + data


def ETH(frame):
    return rec(OP_ETH, len(frame), frame)


def LOP(pkt):
    return rec(OP_LO, len(pkt), pkt)


def CLOCK(ms):
    return rec(OP_CLOCK, ms)


def PING(dst, seq, payload=b""):
    body = dst + struct.pack("!H", seq) + payload
    return rec(OP_PING, len(body), body)


def RECV(n=16):
    return rec(OP_RECV, n)


def USEND(dst, port, payload=b""):
    body = dst + struct.pack("!H", port) + payload
    return rec(OP_USEND, len(body), body)


def CSEND(payload=b""):
    return rec(OP_CSEND, len(payload), payload)


def udp(sport, dport, payload, src=PEER, dst=US, zero_sum=False, bad_sum=False, length=None):
    ulen = 8 + len(payload) if length is None else length
    hdr = struct.pack("!HHHH", sport, dport, ulen, 0)
    if zero_sum:
        return hdr + payload
    pseudo = src + dst + struct.pack("!BBH", 0, 17, 8 + len(payload))
    s = cksum(pseudo + hdr + payload) or 0xFFFF
    if bad_sum:
        s ^= 0x5555
    return struct.pack("!HHHH", sport, dport, ulen, s) + payload


def fragments(pkt_payload, proto, ident, size, order=None, src=PEER, dst=US):
    """Splits an IP payload into fragments of `size` bytes (a multiple of 8)."""
    frags = []
    for off in range(0, len(pkt_payload), size):
        chunk = pkt_payload[off:off + size]
        more = off + size < len(pkt_payload)
        frags.append(ip_frame(ipv4(src, dst, proto, chunk, ident=ident,
                                   frag=(off // 8) | (0x2000 if more else 0))))
    if order:
        frags = [frags[i] for i in order]
    return b"".join(ETH(f) for f in frags)


LEARN_PEER = ETH(arp_frame(2, PEER_MAC, PEER, US_MAC, US))


def corpus():
    c = {}
    # ARP
    c["arp-request"] = ETH(arp_frame(1, PEER_MAC, PEER, ZERO_MAC, US))
    c["arp-reply-unsolicited"] = LEARN_PEER + CLOCK(61000)
    c["arp-request-not-ours"] = ETH(arp_frame(1, PEER_MAC, PEER, ZERO_MAC, ip("192.0.2.77")))
    c["arp-probe"] = ETH(arp_frame(1, PEER_MAC, b"\0\0\0\0", ZERO_MAC, US))
    c["arp-bad-senders"] = (ETH(arp_frame(1, b"\x01\x00\x5e\x00\x00\x01", PEER, ZERO_MAC, US))
                            + ETH(arp_frame(1, US_MAC, PEER, ZERO_MAC, US))
                            + ETH(arp_frame(1, OTHER_MAC, US, ZERO_MAC, US))
                            + ETH(arp_frame(2, PEER_MAC, ip("224.0.0.1"), US_MAC, US)))
    c["arp-truncated"] = ETH(eth(BCAST_MAC, PEER_MAC, 0x0806,
                                 arp(1, PEER_MAC, PEER, ZERO_MAC, US)[:20], pad=False))
    c["arp-unsupported"] = (ETH(arp_frame(1, PEER_MAC, PEER, ZERO_MAC, US, hrd=6))
                            + ETH(arp_frame(3, PEER_MAC, PEER, ZERO_MAC, US)))
    c["arp-cache-fill"] = b"".join(
        ETH(arp_frame(1, bytes([2, 0, 0, 0, 1, i]), ip("192.0.2.%d" % (100 + i)), ZERO_MAC, US))
        for i in range(70)) + CLOCK(30000) + CLOCK(40000)
    c["arp-update-mac"] = (LEARN_PEER + ETH(arp_frame(2, OTHER_MAC, PEER, US_MAC, US))
                           + PING(PEER, 1, b"x"))

    # ICMP echo
    c["echo-request"] = LEARN_PEER + ETH(echo_req_frame())
    c["echo-request-unresolved"] = (ETH(echo_req_frame(payload=b"A" * 56)) + CLOCK(5)
                                    + ETH(arp_frame(2, PEER_MAC, PEER, US_MAC, US)))
    c["echo-request-options"] = LEARN_PEER + b"".join(
        ETH(ip_frame(ipv4(PEER, US, 1, echo(8, 9, n, b"opt"), options=opt)))
        for n, opt in enumerate([b"\x01\x01\x01\x00",                       # NOP, EOL
                                 b"\x07\x07\x04" + b"\0" * 4 + b"\x00",     # record route
                                 b"\x01" * 40]))                            # longest header
    c["echo-request-big"] = LEARN_PEER + ETH(echo_req_frame(payload=bytes(range(256)) * 5 + b"end"))
    c["echo-request-remote"] = ETH(echo_req_frame(src=REMOTE)) + CLOCK(1000) + LEARN_PEER
    c["echo-broadcast"] = (ETH(echo_req_frame(dst=SUBNET_BCAST, dst_mac=BCAST_MAC))
                           + ETH(echo_req_frame(dst=LIMITED_BCAST, dst_mac=BCAST_MAC))
                           + ETH(echo_req_frame(dst=US, dst_mac=BCAST_MAC))
                           + ETH(echo_req_frame(dst=ip("192.0.2.0"), dst_mac=BCAST_MAC)))
    c["echo-reply-for-us"] = LEARN_PEER + b"".join(
        ETH(ip_frame(ipv4(PEER, US, 1, echo(0, PING_ID, s, b"pong")))) for s in range(20)) + RECV(8)
    c["echo-to-loopback-addr-on-eth"] = LEARN_PEER + ETH(echo_req_frame(dst=LO))
    c["echo-bad-checksums"] = LEARN_PEER + (
        ETH(ip_frame(ipv4(PEER, US, 1, echo(8, 1, 1, b"x", bad_sum=True))))
        + ETH(ip_frame(ipv4(PEER, US, 1, echo(8, 1, 2, b"x"), bad_sum=True)))
        + ETH(ip_frame(ipv4(PEER, US, 1, b"\x08\x00\x00"))))

    # IPv4 oddities
    c["ipv4-fragments"] = LEARN_PEER + (
        ETH(ip_frame(ipv4(PEER, US, 1, echo(8, 1, 1, b"a" * 16), frag=0x2000)))
        + ETH(ip_frame(ipv4(PEER, US, 1, b"b" * 16, frag=0x0002)))
        + ETH(ip_frame(ipv4(PEER, US, 99, b"c" * 16, frag=0x2000))))
    c["ipv4-unknown-protocols"] = LEARN_PEER + b"".join(
        ETH(ip_frame(ipv4(PEER, US, proto, b"\x00\x35\x00\x35\x00\x0c\x00\x00data")))
        for proto in (6, 17, 99, 255)) + b"".join(
        ETH(ip_frame(ipv4(PEER, US, 17, b"burst%d" % i))) for i in range(15)) + CLOCK(200)
    c["ipv4-malformed"] = LEARN_PEER + (
        ETH(ip_frame(ipv4(PEER, US, 1, echo(8, 1, 1), version=6)))
        + ETH(ip_frame(ipv4(PEER, US, 1, echo(8, 1, 1), ihl=4)))
        + ETH(ip_frame(ipv4(PEER, US, 1, echo(8, 1, 1), ihl=15)))
        + ETH(ip_frame(ipv4(PEER, US, 1, echo(8, 1, 1), total=400)))
        + ETH(ip_frame(ipv4(PEER, US, 1, echo(8, 1, 1), total=10)))
        + ETH(ip_frame(ipv4(ip("0.0.0.0"), US, 1, echo(8, 1, 1))))
        + ETH(ip_frame(ipv4(ip("127.0.0.5"), US, 1, echo(8, 1, 1))))
        + ETH(ip_frame(ipv4(SUBNET_BCAST, US, 1, echo(8, 1, 1))))
        + ETH(ip_frame(ipv4(PEER, OTHER, 1, echo(8, 1, 1)))))
    c["icmp-errors-in"] = LEARN_PEER + b"".join(
        ETH(ip_frame(ipv4(PEER, US, 1, icmp(t, code, 0, ipv4(US, REMOTE, 17, b"\0" * 8)))))
        for t, code in ((3, 3), (3, 4), (4, 0), (5, 1), (11, 0), (12, 0), (13, 0), (42, 7)))

    # Ethernet oddities
    c["eth-truncated"] = ETH(b"") + ETH(b"\xff" * 5) + ETH(US_MAC + PEER_MAC + b"\x08") + \
        ETH(US_MAC + PEER_MAC + b"\x08\x00") + ETH(eth(US_MAC, PEER_MAC, 0x0800, b"\x45" * 19, pad=False))
    c["eth-other-types"] = (ETH(eth(US_MAC, PEER_MAC, 0x8100, b"\x00\x01\x08\x00" + b"\0" * 40))
                            + ETH(eth(US_MAC, PEER_MAC, 0x86DD, b"\x60" + b"\0" * 50))
                            + ETH(eth(OTHER_MAC, PEER_MAC, 0x0800, b"\0" * 46))
                            + ETH(eth(b"\x01\x00\x5e\x00\x00\x01", PEER_MAC, 0x0800, b"\0" * 46)))

    # Pings from the stack, ARP and timers
    c["ping-then-arp-reply"] = (PING(PEER, 1, b"hello") + PING(PEER, 2, b"again") + CLOCK(10)
                                + LEARN_PEER
                                + ETH(ip_frame(ipv4(PEER, US, 1, echo(0, PING_ID, 1, b"hello"))))
                                + RECV(4))
    c["ping-remote-arp-gives-up"] = PING(REMOTE, 7, b"far away") + b"".join(CLOCK(1000) for _ in range(5))
    c["ping-pending-overflow"] = b"".join(PING(OTHER, s, b"q%d" % s) for s in range(12)) + \
        ETH(arp_frame(2, OTHER_MAC, OTHER, US_MAC, US))
    c["ping-broadcasts"] = (LEARN_PEER + PING(SUBNET_BCAST, 1) + PING(LIMITED_BCAST, 2) + PING(ip("0.0.0.0"), 3)
                            + PING(ip("224.0.0.1"), 4) + PING(ip("192.0.2.0"), 5))
    c["ping-too-big"] = LEARN_PEER + PING(PEER, 1, b"z" * 1473) + PING(PEER, 2, b"z" * 1472)
    c["arp-refresh"] = LEARN_PEER + b"".join(PING(PEER, s) + CLOCK(10000) for s in range(7)) + \
        ETH(arp_frame(2, PEER_MAC, PEER, US_MAC, US)) + CLOCK(30000)
    c["ping-truncated-record"] = PING(PEER, 1)[:6]

    # Loopback
    c["lo-ping-self"] = (PING(LO, 1, b"to lo") + PING(US, 2, b"to eth addr") + RECV(4)
                         + PING(ip("127.0.0.9"), 3) + PING(ip("127.255.255.255"), 4) + RECV(4))
    c["lo-packets"] = (LEARN_PEER + LOP(ipv4(LO, LO, 1, echo(8, PING_ID, 9, b"lo echo")))
                       + LOP(ipv4(LO, US, 1, echo(8, 3, 3)))
                       + LOP(ipv4(LO, LO, 17, b"udp?"))
                       + LOP(ipv4(REMOTE, LO, 1, echo(8, 4, 4)))
                       + LOP(b"\x45\x00") + RECV(8))
    c["lo-ping-big"] = PING(LO, 1, bytes(range(256)) * 8) + RECV(1)

    # UDP: to the bound socket (port 7), to a closed port, broken headers
    c["udp-in"] = (LEARN_PEER + ETH(ip_frame(ipv4(PEER, US, 17, udp(1234, 7, b"hello udp"))))
                   + ETH(ip_frame(ipv4(PEER, US, 17, udp(1234, 7, b"no sum", zero_sum=True))))
                   + ETH(ip_frame(ipv4(PEER, US, 17, udp(1234, 7, b"bad sum", bad_sum=True))))
                   + ETH(ip_frame(ipv4(PEER, US, 17, udp(1234, 7, b"liar", length=200))))
                   + ETH(ip_frame(ipv4(PEER, US, 17, udp(1234, 4444, b"closed port"))))
                   + ETH(ip_frame(ipv4(PEER, ip("192.0.2.255"), 17,
                                       udp(1234, 7, b"bcast", dst=ip("192.0.2.255"))),
                                  dst_mac=b"\xff" * 6))
                   + RECV(8))
    c["udp-send"] = (LEARN_PEER + USEND(PEER, 9, b"datagram") + USEND(REMOTE, 53, b"via gw")
                     + USEND(ip("192.0.2.255"), 9, b"bcast") + USEND(PEER, 0, b"port 0")
                     + USEND(PEER, 9, b"x" * 3000) + CSEND(b"connected") + RECV(4))
    # ICMP port unreachable quoting the connected socket's datagram
    quoted = ipv4(US, PEER, 17, udp(0, 9, b"", src=US, dst=PEER))[:28]
    c["udp-icmp-error"] = (LEARN_PEER + CSEND(b"ping?") + ETH(ip_frame(ipv4(PEER, US, 1,
                           icmp(3, 3, 0, quoted)))) + RECV(2) + CSEND(b"again"))

    # Reassembly: in order, reversed, overlapping, duplicate, missing last
    big = udp(1234, 7, bytes(range(256)) * 12)
    c["frag-udp-in-order"] = LEARN_PEER + fragments(big, 17, 0x100, 1480) + RECV(2)
    c["frag-udp-reversed"] = LEARN_PEER + fragments(big, 17, 0x101, 1480, order=[2, 1, 0]) + RECV(2)
    c["frag-overlap"] = (LEARN_PEER + fragments(big, 17, 0x102, 1480)[:1600]
                         + fragments(big[8:], 17, 0x102, 1480)[:800] + CLOCK(31000))
    c["frag-duplicate"] = LEARN_PEER + fragments(big, 17, 0x103, 1024, order=[0, 0, 1, 2, 2, 1])
    c["frag-missing-last"] = LEARN_PEER + fragments(big, 17, 0x104, 1480, order=[0, 1]) + CLOCK(31000)
    c["frag-echo-request"] = LEARN_PEER + fragments(echo(8, 0x55, 1, b"z" * 3000), 1, 0x105, 1480)
    c["ping-fragmented"] = LEARN_PEER + PING(PEER, 7, b"q" * 5000) + RECV(1)
    return c


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus")
    os.makedirs(out, exist_ok=True)
    for name in os.listdir(out):
        os.unlink(os.path.join(out, name))
    c = corpus()
    for name, data in sorted(c.items()):
        with open(os.path.join(out, name), "wb") as f:
            f.write(data)
    print("wrote %d inputs to %s" % (len(c), out))


if __name__ == "__main__":
    main()
