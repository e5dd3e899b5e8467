#!/usr/bin/env python3
"""Writes the seed corpus of the ust_fuzz_frame libFuzzer target.

Usage: tests/fuzz/make-corpus.py [OUTDIR]   (default: tests/fuzz/corpus)

Each input is a sequence of records [op:1][arg:2, big-endian][bytes], as
fuzz_frame.c reads them (its header comment is the reference):
  0 ETH    arg bytes follow: a frame delivered on eth0 (arg & 0x8000: arg & 0x7fff
           bytes follow, [virtio-net header:10][frame], the header as metadata)
  1 LO     arg bytes follow: a bare IPv4 packet delivered on lo
  2 CLOCK  no bytes: the clock jumps by arg ms, then the stack polls
  3 PING   arg bytes follow: [dst:4][seq:2][payload]: send an echo request
  4 RECV   no bytes: read up to arg ping replies and datagrams
  5 USEND  arg bytes follow: [dst:4][port:2][payload] from the UDP socket on port 7
  6 CSEND  arg bytes follow: payload from the UDP socket connected to 192.0.2.1:9
  7 TSEG   arg bytes follow: [sport:2][dport:2][seq:4][ack:4][flags:1][window:2]
           [optcode:1][options][payload]: a TCP segment from 192.0.2.1; ack is
           relative to the ISS of the connection the ports name, or with none,
           seq and ack to the latest SYN-ACK's ack and seq (optcode 0x40:
           absolute), optcode & 0x3f option bytes, 0x80: a bad checksum
  8 TSEND  arg bytes follow: [sel:1][data] sent on TCP socket sel (sel & 0x80:
           256 x arg bytes of a pattern instead)
  9 TRECV  no bytes: read ((arg >> 8) + 1) x 256 bytes from TCP socket arg & 0x7f
 10 TCLOSE no bytes: close TCP socket arg & 0xff (arg & 0x100: SO_LINGER 0 first)
 11 TSHUT  no bytes: shutdown(TCP socket arg & 0xff, (SHUT_RD, SHUT_WR, SHUT_RDWR)[arg >> 8])
 12 TCONN  arg bytes follow: [lport:2][dport:2][dst:1]: connect out again
 13 TOPT   no bytes: socket option (arg >> 8) % 8 on TCP socket arg & 0xff
TCP socket sel counts the open ones: the outgoing connection first (while it
is open), then the accepted ones.
The stack under test: eth0 02:00:00:00:00:02 at 192.0.2.2/24, default route
via 192.0.2.1, lo at 127.0.0.1/8, ping identifier 0x5501, a TCP listener on
port 80 and a TCP connection from port 40000 to 192.0.2.1:80 (its SYN waits
for the peer's MAC address).

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

(OP_ETH, OP_LO, OP_CLOCK, OP_PING, OP_RECV, OP_USEND, OP_CSEND, OP_TSEG, OP_TSEND, OP_TRECV,
 OP_TCLOSE, OP_TSHUT, OP_TCONN, OP_TOPT) = range(14)


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


def vnet(flags=0, gso_type=0, hdr_len=0, gso_size=0, csum_start=0, csum_offset=0):
    """A virtio-net header (little-endian, 10 bytes)."""
    return struct.pack("<BBHHHH", flags, gso_type, hdr_len, gso_size, csum_start, csum_offset)


def VETH(hdr, frame):
    return rec(OP_ETH, 0x8000 | (len(hdr) + len(frame)), hdr + frame)


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

# ---- TCP ----
FIN, SYN, RST, PSH, ACK, URG = 0x01, 0x02, 0x04, 0x08, 0x10, 0x20
LISTEN_PORT = 80      # the stack's listener
OUT_PORT = 40000      # the stack's outgoing connection, to PEER:80
SHUT_RD, SHUT_WR, SHUT_RDWR = 0, 1, 2


def opt_mss(v=1460):
    return struct.pack("!BBH", 2, 4, v)


def TSEG(sport, dport, seq, ack=0, flags=ACK, window=65535, opts=b"", payload=b"",
         absolute=False, bad_sum=False):
    """A TCP segment from PEER; ack is relative to our ISS unless absolute."""
    code = len(opts) | (0x40 if absolute else 0) | (0x80 if bad_sum else 0)
    body = (struct.pack("!HHIIBHB", sport, dport, seq & 0xFFFFFFFF, ack & 0xFFFFFFFF, flags,
                        window, code) + opts + payload)
    return rec(OP_TSEG, len(body), body)


def TSEND(sel, data=b"", bulk=False):
    body = bytes([sel | (0x80 if bulk else 0)]) + data
    return rec(OP_TSEND, len(body), body)


def TRECV(sel, n256=0, peek=False):
    return rec(OP_TRECV, (n256 << 8) | (0x80 if peek else 0) | sel)


def TCLOSE(sel, abort=False):
    return rec(OP_TCLOSE, (0x100 if abort else 0) | sel)


def TSHUT(sel, how):
    return rec(OP_TSHUT, (how << 8) | sel)


def TCONN(lport=0, dport=0, other=False):
    body = struct.pack("!HHB", lport, dport, 1 if other else 0)
    return rec(OP_TCONN, len(body), body)


def TOPT(sel, which):
    return rec(OP_TOPT, (which << 8) | sel)


def tcp_raw(sport, dport, seq, ack, flags, window=65535, doff=None, opts=b"", payload=b"",
            src=PEER, dst=US):
    """A TCP segment with a free-form data offset (for malformed headers)."""
    hl = 20 + len(opts)
    off = (hl // 4) if doff is None else doff
    hdr = struct.pack("!HHIIBBHHH", sport, dport, seq, ack, off << 4, flags, window, 0, 0) + opts
    seg = hdr + payload
    pseudo = src + dst + struct.pack("!BBH", 0, 6, len(seg))
    s = cksum(pseudo + seg)
    return seg[:16] + struct.pack("!H", s) + seg[18:]


def passive_open(sport, iss=1000, opts=None):
    """The peer connects to port 80: SYN, then the ACK of our SYN-ACK."""
    return (TSEG(sport, LISTEN_PORT, iss, 0, SYN, opts=opt_mss() if opts is None else opts, absolute=True)
            + TSEG(sport, LISTEN_PORT, iss + 1, 1, ACK))


def opt_ts(tsval, tsecr=0):
    return b"\x01\x01\x08\x0a" + struct.pack("!II", tsval, tsecr)


def opt_ts_sack(tsval, blocks):
    """Timestamps, then SACK blocks given as absolute (start, end) pairs."""
    body = b"".join(struct.pack("!II", a & 0xFFFFFFFF, b & 0xFFFFFFFF) for a, b in blocks)
    return opt_ts(tsval) + b"\x01\x01\x05" + bytes([2 + len(body)]) + body


# MSS 1460, SACK-permitted, timestamps, NOP, window scale 7: Linux's SYN.
SYN_ALL = b"\x02\x04\x05\xb4\x04\x02\x08\x0a" + struct.pack("!II", 100, 0) + b"\x01\x03\x03\x07"


def passive_open_ts(sport, iss=1000):
    """passive_open with SACK and timestamps agreed (the ACK must carry them)."""
    return (TSEG(sport, LISTEN_PORT, iss, 0, SYN, opts=SYN_ALL, absolute=True)
            + TSEG(sport, LISTEN_PORT, iss + 1, 1, ACK, opts=opt_ts(101)))


ACTIVE_OPEN = LEARN_PEER + TSEG(LISTEN_PORT, OUT_PORT, 5000, 1, SYN | ACK, opts=opt_mss())


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

    # ---- TCP ----
    # Passive open (socket 1: the outgoing connection is socket 0), a request,
    # a response, our FIN first (we end in TIME-WAIT).
    req = b"GET / HTTP/1.0\r\n\r\n"
    resp = b"HTTP/1.0 200 OK\r\n\r\nhello"
    c["tcp-passive-http"] = (LEARN_PEER + passive_open(5000)
                             + TSEG(5000, 80, 1001, 1, PSH | ACK, payload=req) + TRECV(1)
                             + TSEND(1, resp) + TSEG(5000, 80, 1001 + len(req), 1 + len(resp))
                             + TCLOSE(1) + TSEG(5000, 80, 1001 + len(req), 2 + len(resp), FIN | ACK)
                             + CLOCK(3000))
    # Active open: the SYN-ACK for the outgoing connection, data both ways,
    # the peer closes first (we go CLOSE-WAIT, LAST-ACK).
    c["tcp-active-data"] = (ACTIVE_OPEN + TSEND(0, b"hello server") + CLOCK(1)
                            + TSEG(80, OUT_PORT, 5001, 13, PSH | ACK, payload=b"hello client")
                            + CLOCK(50) + TRECV(0) + TSEG(80, OUT_PORT, 5013, 13, FIN | ACK)
                            + TRECV(0) + TSHUT(0, SHUT_WR) + TSEG(80, OUT_PORT, 5014, 14, ACK)
                            + TRECV(0) + TCLOSE(0))
    # SYN retransmissions give up: ETIMEDOUT on the outgoing connection.
    c["tcp-syn-timeout"] = LEARN_PEER + CLOCK(20000) + CLOCK(20000) + TRECV(0) + TOPT(0, 6)
    # RST for our SYN: connection refused; then connect again, elsewhere.
    c["tcp-refused"] = (LEARN_PEER + TSEG(80, OUT_PORT, 0, 1, RST | ACK) + TRECV(0) + TSEND(0, b"x")
                        + TCLOSE(0) + TCONN(0, 8080) + CLOCK(1)
                        + TCONN(0, 8080, other=True) + CLOCK(5000))
    c["tcp-connect-unresolved"] = (TCLOSE(0) + TCONN(0, 80, other=True)
                                   + b"".join(CLOCK(1000) for _ in range(6)) + TRECV(0))
    # Simultaneous open: the peer's SYN crosses ours, then its SYN-ACK.
    c["tcp-simultaneous-open"] = (LEARN_PEER + TSEG(80, OUT_PORT, 7000, 0, SYN, opts=opt_mss(), absolute=True)
                                  + TSEG(80, OUT_PORT, 7000, 1, SYN | ACK, opts=opt_mss())
                                  + TSEG(80, OUT_PORT, 7001, 1, ACK) + TSEND(0, b"after simultaneous open"))
    # Simultaneous close.
    c["tcp-simultaneous-close"] = (ACTIVE_OPEN + TSHUT(0, SHUT_WR)
                                   + TSEG(80, OUT_PORT, 5001, 1, FIN | ACK)
                                   + TSEG(80, OUT_PORT, 5002, 2, ACK) + CLOCK(2500) + TCLOSE(0))
    # Out-of-order, duplicate and overlapping data; the hole filled last.
    data = bytes(range(256)) * 8
    segs = [(0, 500), (1000, 1500), (500, 1000), (1200, 1800), (1500, 2048), (0, 700)]
    c["tcp-reassembly"] = (LEARN_PEER + passive_open(5001, iss=0x7fffff00)
                           + b"".join(TSEG(5001, 80, 0x7fffff01 + a, 1, ACK, payload=data[a:b])
                                      for a, b in segs[:2])
                           + TSEG(5001, 80, 0x7fffff01 + 1000, 1, ACK, payload=data[1000:1500])
                           + b"".join(TSEG(5001, 80, 0x7fffff01 + a, 1, ACK, payload=data[a:b])
                                      for a, b in segs[2:])
                           + TRECV(1, 8) + CLOCK(100) + TRECV(1, 8))
    # Sequence numbers wrapping through zero.
    c["tcp-seq-wrap"] = (LEARN_PEER + passive_open(5002, iss=0xfffffff0)
                         + TSEG(5002, 80, 0xfffffff1, 1, PSH | ACK, payload=b"w" * 100)
                         + TSEG(5002, 80, 0xfffffff1 + 100, 1, FIN | ACK) + TRECV(1) + TCLOSE(1)
                         + TSEG(5002, 80, 0xfffffff1 + 101, 2, ACK))
    # Receive window full (8 kB), then read; the window update.
    c["tcp-recv-window-full"] = (LEARN_PEER + passive_open(5003)
                                 + b"".join(TSEG(5003, 80, 1001 + i * 1460, 1, ACK, payload=b"z" * 1460)
                                            for i in range(7))
                                 + TRECV(1, 15) + TSEG(5003, 80, 1001 + 7 * 1460, 1, ACK, payload=b"y" * 1460)
                                 + TRECV(1, 255))
    # The peer's zero window: persist probes, then the window opens.
    c["tcp-zero-window"] = (ACTIVE_OPEN + TSEG(80, OUT_PORT, 5001, 1, ACK, window=0)
                            + TSEND(0, b"waiting for a window") + CLOCK(1500) + CLOCK(3000)
                            + TSEG(80, OUT_PORT, 5001, 1, ACK, window=0) + CLOCK(6000)
                            + TSEG(80, OUT_PORT, 5001, 1, ACK, window=1000) + CLOCK(10)
                            + TSEG(80, OUT_PORT, 5001, 21, ACK))
    # A zero window, then our close: the orphan's probes give up.
    c["tcp-zero-window-orphan"] = (ACTIVE_OPEN + TSEG(80, OUT_PORT, 5001, 1, ACK, window=0)
                                   + TSEND(0, b"never sent") + TCLOSE(0) + CLOCK(60000))
    # Bulk send, losses: duplicate ACKs (fast retransmit), partial ACKs, RTO.
    c["tcp-fast-retransmit"] = (ACTIVE_OPEN + TSEND(0, b"\0" * 40, bulk=True) + CLOCK(1)
                                + b"".join(TSEG(80, OUT_PORT, 5001, 1 + 1460, ACK) for _ in range(5))
                                + TSEG(80, OUT_PORT, 5001, 1 + 3 * 1460, ACK)
                                + TSEG(80, OUT_PORT, 5001, 1 + 6 * 1460, ACK) + CLOCK(2000)
                                + CLOCK(4000) + TSEG(80, OUT_PORT, 5001, 1 + 10 * 1460, ACK))
    c["tcp-rto-give-up"] = (ACTIVE_OPEN + TSEND(0, b"no one acks this") + CLOCK(30000)
                            + CLOCK(60000) + TRECV(0) + TSEND(0, b"x"))
    # RST: exact (reset), in window but not exact (challenge ACK), outside.
    c["tcp-rst"] = (ACTIVE_OPEN + TSEG(80, OUT_PORT, 5100, 0, RST, absolute=True)
                    + TSEG(80, OUT_PORT, 900000, 0, RST, absolute=True)
                    + TSEG(80, OUT_PORT, 5001, 0, RST, absolute=True) + TRECV(0) + TSEND(0, b"x")
                    + LEARN_PEER + passive_open(5004) + TSEG(5004, 80, 1001, 1, RST | ACK)
                    + passive_open(5005) + TCLOSE(1, abort=True))
    # RFC 5961: SYN in a synchronized state, an ACK from too long ago,
    # one acknowledging the future; many, to reach the rate limit.
    c["tcp-challenge"] = (ACTIVE_OPEN + TSEG(80, OUT_PORT, 6000, 0, SYN, absolute=True)
                          + TSEG(80, OUT_PORT, 5001, 0x80000000, ACK)
                          + TSEG(80, OUT_PORT, 5001, 500000, ACK, payload=b"future")
                          + b"".join(TSEG(80, OUT_PORT, 5001 + i, 0, RST, absolute=True)
                                     for i in range(1, 40)))
    # SYN-RECEIVED: the SYN again (our SYN-ACK lost), a bad ACK, a RST.
    c["tcp-syn-received"] = (LEARN_PEER + TSEG(5006, 80, 1000, 0, SYN, absolute=True)
                             + TSEG(5006, 80, 1000, 0, SYN, absolute=True) + CLOCK(1200)
                             + TSEG(5006, 80, 1001, 77, ACK) + TSEG(5006, 80, 1001, 0, RST, absolute=True)
                             + TSEG(5007, 80, 2000, 0, SYN, absolute=True) + CLOCK(20000))
    # A SYN flood beyond the backlog (4); then the accept slots (8) overflow.
    c["tcp-backlog"] = (LEARN_PEER + b"".join(TSEG(6000 + i, 80, 100 * i, 0, SYN, absolute=True)
                                              for i in range(8))
                        + b"".join(passive_open(7000 + i) for i in range(12)) + CLOCK(100))
    # SYN cookies: the backlog (4) full of half-open connections, a SYN
    # with every option draws a cookie; the ACK of that SYN-ACK (seq 0 and
    # ack 1 are relative to it) makes the connection, data follows; then a
    # forged cookie ACK and one from another port.
    c["tcp-syncookie"] = (LEARN_PEER + b"".join(TSEG(6100 + i, 80, 100 * i, 0, SYN, absolute=True)
                                                for i in range(4))
                          + TSEG(6104, 80, 5000, 0, SYN, opts=SYN_ALL, absolute=True)
                          + TSEG(6104, 80, 0, 1, ACK, opts=opt_ts(101, 0))
                          + TSEG(6104, 80, 0, 1, ACK | PSH, opts=opt_ts(102, 0), payload=b"GET /")
                          + TSEG(6105, 80, 0, 2, ACK, opts=opt_ts(103, 0))
                          + TSEG(6104, 80, 5, 1, ACK | FIN, opts=opt_ts(104, 0)) + CLOCK(200))
    # Options: none (MSS 536), tiny MSS, window scale, SACK, timestamps,
    # NOPs, EOL, zero and overrunning lengths.
    c["tcp-options"] = (LEARN_PEER + passive_open(5010, opts=b"")
                        + passive_open(5011, opts=struct.pack("!BBH", 2, 4, 64))
                        + passive_open(5012, opts=b"\x01\x03\x03\x07\x04\x02\x08\x0a" + b"\0" * 8)
                        + passive_open(5013, opts=b"\x01" * 40)
                        + passive_open(5014, opts=b"\x02\x04\x05\xb4\x00\x00\x00\x00")
                        + TSEG(5015, 80, 1, 0, SYN, opts=b"\x02\x00\x05\xb4", absolute=True)
                        + TSEG(5016, 80, 1, 0, SYN, opts=b"\x02\x08\x05\xb4", absolute=True)
                        + TSEG(5017, 80, 1, 0, SYN, opts=b"\x02\x03\x05\x00", absolute=True)
                        + TSEG(5018, 80, 1, 0, SYN, opts=b"\x02\x04\x00\x00", absolute=True)
                        + TSEND(1, b"x" * 100) + TSEND(2, b"y" * 100))
    # Malformed headers: data offset too small or beyond the segment, SYN+FIN,
    # SYN+RST, port 0, bad checksums, truncated.
    c["tcp-malformed"] = (LEARN_PEER + b"".join(ETH(ip_frame(ipv4(PEER, US, 6, seg))) for seg in [
        tcp_raw(5020, 80, 1, 0, SYN, doff=4), tcp_raw(5020, 80, 1, 0, SYN, doff=15),
        tcp_raw(5020, 80, 1, 0, SYN | FIN), tcp_raw(5020, 80, 1, 0, SYN | RST),
        tcp_raw(0, 80, 1, 0, SYN), tcp_raw(5020, 0, 1, 0, SYN), tcp_raw(5020, 80, 1, 0, SYN)[:19],
        tcp_raw(5020, 81, 1, 0, SYN), tcp_raw(5020, 81, 1, 9, ACK), tcp_raw(5020, 81, 1, 0, RST)])
        + TSEG(5021, 80, 1, 0, SYN, bad_sum=True, absolute=True)
        + TSEG(5021, 80, 1, 0, 0xff, absolute=True) + TSEG(5021, 80, 1, 0, URG | ACK | PSH, absolute=True))
    # TCP over the gateway (off-link source) and to a broadcast address.
    c["tcp-odd-addresses"] = (LEARN_PEER
                              + ETH(ip_frame(ipv4(REMOTE, US, 6, tcp_raw(5030, 80, 1, 0, SYN, src=REMOTE))))
                              + ETH(ip_frame(ipv4(PEER, SUBNET_BCAST, 6,
                                                  tcp_raw(5031, 80, 1, 0, SYN, dst=SUBNET_BCAST)),
                                             dst_mac=BCAST_MAC))
                              + CLOCK(2000))
    # Half-close: the peer's FIN, we keep sending; shutdown(SHUT_RD) discards.
    # Timestamps and SACK (RFC 7323, RFC 2018): out-of-order data makes our
    # SACK blocks; an old timestamp is a PAWS drop; one without is dropped.
    c["tcp-ts-sack-receiver"] = (LEARN_PEER + passive_open_ts(5020)
                                 + TSEG(5020, 80, 1001 + 3000, 1, ACK, opts=opt_ts(102), payload=b"c" * 500)
                                 + TSEG(5020, 80, 1001 + 1000, 1, ACK, opts=opt_ts(103), payload=b"b" * 500)
                                 + TSEG(5020, 80, 1001, 1, ACK, opts=opt_ts(50), payload=b"old")
                                 + TSEG(5020, 80, 1001, 1, ACK, payload=b"none")
                                 + TSEG(5020, 80, 1001, 1, ACK | PSH, opts=opt_ts(104), payload=b"a" * 1000)
                                 + TRECV(1, 16) + CLOCK(50))
    # Our data SACKed by the peer: recovery by RFC 6675. (SACK blocks carry
    # absolute sequence numbers and the ISS is not known here, so these
    # mostly test the checks; the fuzzer finds the rest.)
    c["tcp-ts-sack-sender"] = (LEARN_PEER
                               + TSEG(LISTEN_PORT, OUT_PORT, 5000, 1, SYN | ACK, opts=SYN_ALL)
                               + TSEND(0, b"\x3f", bulk=True)
                               + b"".join(TSEG(LISTEN_PORT, OUT_PORT, 5001, 1, ACK,
                                               opts=opt_ts_sack(110 + k, [(1 + 1448, 1 + 1448 * (k + 2))]))
                                          for k in range(4))
                               + CLOCK(300) + TSEG(LISTEN_PORT, OUT_PORT, 5001, 1 + 1448 * 6, ACK,
                                                   opts=opt_ts(120)))
    c["tcp-half-close"] = (LEARN_PEER + passive_open(5040)
                           + TSEG(5040, 80, 1001, 1, FIN | ACK) + TRECV(1)
                           + TSEND(1, b"still talking" * 50) + TSEG(5040, 80, 1002, 651, ACK)
                           + TSHUT(1, SHUT_RDWR) + TSEG(5040, 80, 1002, 652, ACK) + TCLOSE(1)
                           + passive_open(5041) + TSHUT(1, SHUT_RD)
                           + TSEG(5041, 80, 1001, 1, ACK, payload=b"ignored") + TRECV(1))
    # TIME-WAIT: a retransmitted FIN, then a new SYN reopening the pair.
    c["tcp-time-wait"] = (ACTIVE_OPEN + TCLOSE(0) + TSEG(80, OUT_PORT, 5001, 2, FIN | ACK)
                          + TSEG(80, OUT_PORT, 5001, 2, FIN | ACK) + CLOCK(500)
                          + TCONN(OUT_PORT, 80) + CLOCK(2500) + TCONN(OUT_PORT, 80)
                          + LEARN_PEER + passive_open(5050) + TCLOSE(1)
                          + TSEG(5050, 80, 1001, 2, FIN | ACK)
                          + TSEG(5050, 80, 90000, 0, SYN, opts=opt_mss(), absolute=True))
    # Closing with unread data aborts (RST); FIN-WAIT-2 orphan times out.
    c["tcp-close-unread"] = (LEARN_PEER + passive_open(5060)
                             + TSEG(5060, 80, 1001, 1, ACK, payload=b"unread") + TCLOSE(1)
                             + passive_open(5061) + TCLOSE(1) + TSEG(5061, 80, 1001, 2, ACK)
                             + CLOCK(6000))
    # Keepalive (1 s idle, 1 s interval, 2 probes), unanswered; options.
    c["tcp-keepalive"] = (ACTIVE_OPEN + TOPT(0, 2) + TOPT(0, 0) + TOPT(0, 7) + CLOCK(1500)
                          + CLOCK(1000) + TSEG(80, OUT_PORT, 5001, 1, ACK) + CLOCK(1000) + CLOCK(1000)
                          + CLOCK(1000) + TRECV(0) + TOPT(0, 6))
    # Data on a connection after we closed it (FIN-WAIT): RST.
    c["tcp-data-after-close"] = (ACTIVE_OPEN + TCLOSE(0)
                                 + TSEG(80, OUT_PORT, 5001, 1, ACK, payload=b"too late"))
    # ICMP errors about our segments: port unreachable for the SYN.
    quoted_syn = ipv4(US, PEER, 6, struct.pack("!HHI", OUT_PORT, 80, 0))[:28]
    c["tcp-icmp-error"] = (LEARN_PEER + ETH(ip_frame(ipv4(PEER, US, 1, icmp(3, 3, 0, quoted_syn))))
                           + ETH(ip_frame(ipv4(PEER, US, 1, icmp(3, 1, 0, quoted_syn))))
                           + TRECV(0))
    # Over the loopback: a SYN to port 80 from ourselves (the SYN-ACK loops
    # back to a port with no connection: RST).
    c["tcp-loopback"] = (LOP(ipv4(LO, LO, 6, tcp_raw(5070, 80, 1, 0, SYN, src=LO, dst=LO)))
                         + LOP(ipv4(LO, US, 6, tcp_raw(5071, 80, 1, 0, SYN, src=LO, dst=US)))
                         + CLOCK(10) + CLOCK(2000))
    # Offload metadata (virtio-net headers): a checksum vouched for, a
    # partial one, a super-segment, and headers that lie about the frame.
    good_udp = ip_frame(ipv4(PEER, US, 17, udp(5000, 7, b"valid")))
    bad_udp = good_udp[:-1] + bytes([good_udp[-1] ^ 0xff])
    seg = tcp_raw(5090, 80, 1001, 0, ACK | PSH, payload=bytes(range(256)) * 24)
    c["vnet-csum"] = (LEARN_PEER + VETH(vnet(flags=2), bad_udp)
                      + VETH(vnet(flags=1, csum_start=34, csum_offset=6), good_udp)
                      + VETH(vnet(flags=1, csum_start=30, csum_offset=6), good_udp) + RECV())
    c["vnet-super"] = (passive_open(5090)
                       + VETH(vnet(flags=1, gso_type=1, hdr_len=54, gso_size=1448, csum_start=34,
                                   csum_offset=16), ip_frame(ipv4(PEER, US, 6, seg)))
                       + TRECV(1, 30) + CLOCK(50))
    c["vnet-lies"] = (LEARN_PEER
                      + VETH(vnet(flags=1, csum_start=60000, csum_offset=6), good_udp)
                      + VETH(vnet(flags=0x40), good_udp)
                      + VETH(vnet(gso_type=1, gso_size=100, hdr_len=54), good_udp)
                      + VETH(vnet(flags=1, gso_type=3, gso_size=100, csum_start=34, csum_offset=6), good_udp)
                      + VETH(vnet(flags=1, gso_type=1, gso_size=100, csum_start=34, csum_offset=6), good_udp)
                      + VETH(vnet(flags=1, gso_type=9, gso_size=100), good_udp)
                      + VETH(vnet(flags=1, gso_type=1, gso_size=1, hdr_len=9999, csum_start=34,
                                  csum_offset=16), ip_frame(ipv4(PEER, US, 6, seg)))
                      + VETH(b"\x01\x01", b""))
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
