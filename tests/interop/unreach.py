"""Sends one IPv4 packet with an unknown protocol to the stack and expects an
ICMP protocol unreachable (type 3, code 2) that quotes the packet's IP header
and the first 8 bytes of its payload (RFC 792). Standard library only; run
inside the test's namespace.

usage: unreach.py SRC DST [PROTO]"""
import os
import select
import socket
import struct
import sys
import time


def checksum(b):
    if len(b) % 2:
        b += b"\0"
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def fail(msg):
    print("unreach.py: FAIL: " + msg, file=sys.stderr)
    sys.exit(1)


def main():
    src, dst = sys.argv[1], sys.argv[2]
    proto = int(sys.argv[3]) if len(sys.argv) > 3 else 253
    payload = b"ustack-interop:" + os.urandom(8).hex().encode()

    icmp = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
    out = socket.socket(socket.AF_INET, socket.SOCK_RAW, proto)
    out.bind((src, 0))
    out.sendto(payload, (dst, 0))
    print("sent %d bytes with protocol %d from %s to %s" % (len(payload), proto, src, dst))

    deadline = time.monotonic() + 5.0
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            fail("no ICMP destination unreachable within 5 s")
        r, _, _ = select.select([icmp], [], [], left)
        if not r:
            continue
        pkt, (frm, _) = icmp.recvfrom(65535)
        ihl = (pkt[0] & 0x0F) * 4
        msg = pkt[ihl:]
        if frm != dst or len(msg) < 8:
            continue
        typ, code, csum = struct.unpack("!BBH", msg[:4])
        print("received ICMP type %d code %d from %s, %d bytes" % (typ, code, frm, len(msg)))
        if typ != 3:
            continue  # not an error for us (e.g. an echo reply elsewhere)
        break

    if code != 2:
        fail("expected code 2 (protocol unreachable), got %d" % code)
    if checksum(msg) != 0:
        fail("bad ICMP checksum")
    if pkt[9] != socket.IPPROTO_ICMP or socket.inet_ntoa(pkt[12:16]) != dst:
        fail("outer IP header is not ICMP from %s" % dst)
    if socket.inet_ntoa(pkt[16:20]) != src:
        fail("outer IP header is not addressed to %s" % src)
    if struct.unpack("!I", msg[4:8])[0] != 0:
        fail("the unused word is not zero")

    quoted = msg[8:]
    if len(quoted) < 20:
        fail("quotes only %d bytes" % len(quoted))
    qihl = (quoted[0] & 0x0F) * 4
    if quoted[0] >> 4 != 4 or qihl < 20 or len(quoted) < qihl + 8:
        fail("quote is not an IPv4 header plus 8 bytes: %s" % quoted.hex())
    qlen, = struct.unpack("!H", quoted[2:4])
    if quoted[9] != proto:
        fail("quoted protocol %d, expected %d" % (quoted[9], proto))
    if socket.inet_ntoa(quoted[12:16]) != src or socket.inet_ntoa(quoted[16:20]) != dst:
        fail("quoted addresses %s > %s" % (socket.inet_ntoa(quoted[12:16]),
                                           socket.inet_ntoa(quoted[16:20])))
    if qlen != qihl + len(payload):
        fail("quoted total length %d, expected %d" % (qlen, qihl + len(payload)))
    if checksum(quoted[:qihl]) != 0:
        fail("the quoted header's checksum does not verify (was it altered?)")
    if quoted[qihl:qihl + 8] != payload[:8]:
        fail("quoted data %r, expected %r" % (quoted[qihl:qihl + 8], payload[:8]))
    print("ok: protocol unreachable quotes the original header (proto %d, %s > %s, "
          "total length %d) and its first 8 data bytes" % (proto, src, dst, qlen))


if __name__ == "__main__":
    main()
