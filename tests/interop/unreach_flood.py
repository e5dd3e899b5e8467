"""Port-unreachable triggers: from each source address given, RATE UDP
datagrams a second for SECONDS seconds to closed ports of DST, interleaved;
counts the ICMP port unreachables that come back to each source, and when
(seconds since the start). Standard library only; run inside the test's
namespace with every source address on its TAP device.

usage: unreach_flood.py RATE SECONDS DST SRC...
prints, per source: "SRC sent=N errors=M in_first_second=K after=T0,T1,..."
"""
import select
import socket
import struct
import sys
import time


def main():
    rate, seconds, dst = int(sys.argv[1]), float(sys.argv[2]), sys.argv[3]
    srcs = sys.argv[4:]
    if not srcs or not 0 < rate <= 1000 or not 0 < seconds <= 10:
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    for a in [dst] + srcs:
        if not a.startswith("192.0.2."):
            sys.exit("unreach_flood.py: refusing %s (outside 192.0.2.0/24)" % a)
    icmp = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
    socks = []
    for a in srcs:
        u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        u.bind((a, 0))
        socks.append(u)
    sent = {a: 0 for a in srcs}
    got = {a: [] for a in srcs}
    t0 = time.monotonic()
    total = int(rate * seconds)
    i = 0

    def drain(timeout):
        while True:
            r, _, _ = select.select([icmp], [], [], timeout)
            if not r:
                return
            pkt, (frm, _) = icmp.recvfrom(65535)
            ihl = (pkt[0] & 0x0F) * 4
            m = pkt[ihl:]
            if frm != dst or len(m) < 8 + 20 or m[0] != 3 or m[1] != 3:
                continue
            q = m[8:]
            qsrc = socket.inet_ntoa(q[12:16])
            if qsrc in got:
                got[qsrc].append(time.monotonic() - t0)
            timeout = 0

    while i < total:
        due = t0 + i / rate
        now = time.monotonic()
        if now < due:
            drain(due - now)
            continue
        for a, u in zip(srcs, socks):
            u.sendto(b"x", (dst, 40000 + i % 1000))
            sent[a] += 1
        i += 1
    drain(1.0)
    for a in srcs:
        ts = got[a]
        print("%s sent=%d errors=%d in_first_second=%d after=%s" % (
            a, sent[a], len(ts), sum(1 for t in ts if t < 1.0),
            ",".join("%.2f" % t for t in ts[:40])))


if __name__ == "__main__":
    main()
