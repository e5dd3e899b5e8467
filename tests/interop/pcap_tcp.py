"""Decode the TCP segments of a pcap file (classic libpcap format, Ethernet,
IPv4) and check the TCP options ustack negotiated with its kernel peer, as
they went over the wire. Standard library only.

usage:
  pcap_tcp.py dump PCAP
      one line per TCP segment, in the style of tcpdump -nn -v
  pcap_tcp.py check PCAP --ustack ADDR --role server|client --ts on|off
                         --sack on|off [--mss N] [--wscale N]
      the capture must hold one TCP connection between ustack (ADDR) and
      its peer; --role says which side ustack was (server: the peer sent
      the SYN), --ts and --sack whether the peer's kernel has timestamps
      and SACK on. Checks:
        the handshake: ustack's SYN offers MSS N (default 1460), SACK-
          permitted, timestamps (TSecr 0) and window scale N (default 7);
          its SYN-ACK answers exactly what the peer's SYN offered (TSecr =
          the SYN's TSval); the peer's SYN or SYN-ACK has TS and SACK-
          permitted as --ts and --sack say;
        every later segment from ustack but RSTs: no MSS, window scale or
          SACK-permitted; timestamps if and only if both SYNs had them,
          TSval non-decreasing (mod 2^32) at 1 per ms of capture time,
          TSecr a TSval ustack had received from the peer before; SACK blocks only if both SYNs
          had SACK-permitted, each one non-empty, above the segment's ACK
          number, disjoint from the others, and within data ustack had
          received from the peer before it sent the block;
        every frame: well-formed options, correct IPv4 and TCP checksums.
      Prints what it saw, then counters as NAME=VALUE lines for the test
      to judge (for example acks_with_sack=12).

Exit status: 0 all checks passed; 1 a check failed (the segments at fault
are printed decoded); 2 the file is unreadable or malformed, or bad usage.
"""
import argparse
import bisect
import struct
import sys

ETH_IPV4 = 0x0800
ETH_VLAN = (0x8100, 0x88A8)
PROTO_TCP = 6

FIN, SYN, RST, PSH, ACK, URG, ECE, CWR = 0x01, 0x02, 0x04, 0x08, 0x10, 0x20, 0x40, 0x80
M32 = 0xFFFFFFFF


class Malformed(Exception):
    """The file is not a pcap of Ethernet frames we can decode."""


def seq_lt(a, b):
    return a != b and ((b - a) & M32) < 0x80000000


def seq_le(a, b):
    return ((b - a) & M32) < 0x80000000


def cksum(data, start=0):
    if len(data) % 2:
        data += b"\0"
    s = start + sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return s


def ip_str(b):
    return "%d.%d.%d.%d" % tuple(b)


def read_pcap(path):
    """Yields (frame number from 1, timestamp in seconds, frame bytes,
    original length)."""
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError as e:
        raise Malformed("cannot read: %s" % e.strerror)
    if len(data) < 24:
        raise Malformed("%d bytes: too short for a pcap file header (24 bytes)" % len(data))
    magic = data[:4]
    formats = {
        b"\xd4\xc3\xb2\xa1": ("<", 1e-6), b"\xa1\xb2\xc3\xd4": (">", 1e-6),
        b"\x4d\x3c\xb2\xa1": ("<", 1e-9), b"\xa1\xb2\x3c\x4d": (">", 1e-9),
    }
    if magic == b"\x0a\x0d\x0d\x0a":
        raise Malformed("a pcapng file; only the classic pcap format is read")
    if magic not in formats:
        raise Malformed("bad magic %s: not a pcap file" % magic.hex())
    bo, tick = formats[magic]
    major, minor, _, _, snaplen, network = struct.unpack(bo + "HHiIII", data[4:24])
    if major != 2:
        raise Malformed("pcap version %d.%d, expected 2.x" % (major, minor))
    linktype = network & 0x0FFFFFFF
    if linktype != 1:
        raise Malformed("link type %d, expected 1 (Ethernet)" % linktype)
    off = 24
    n = 0
    while off < len(data):
        n += 1
        if off + 16 > len(data):
            raise Malformed("record %d at offset %d: header cut short (%d of 16 bytes)" %
                            (n, off, len(data) - off))
        sec, frac, incl, orig = struct.unpack(bo + "IIII", data[off:off + 16])
        if incl > 262144 or (snaplen and incl > snaplen):
            raise Malformed("record %d at offset %d: captured length %d, but the snap "
                            "length is %d" % (n, off, incl, snaplen))
        if incl > orig:
            raise Malformed("record %d at offset %d: captured length %d > original length %d" %
                            (n, off, incl, orig))
        if off + 16 + incl > len(data):
            raise Malformed("record %d at offset %d: %d bytes of frame, but the file ends "
                            "after %d" % (n, off, incl, len(data) - off - 16))
        yield n, sec + frac * tick, data[off + 16:off + 16 + incl], orig
        off += 16 + incl


OPT_NAMES = {2: "mss", 3: "wscale", 4: "sackOK", 5: "sack", 8: "TS"}
OPT_LEN = {2: 4, 3: 3, 4: 2, 8: 10}


def parse_options(o):
    """Returns (dict of options, list of text items, list of errors)."""
    opts = {"mss": None, "ws": None, "sackok": False, "ts": None, "sack": [], "kinds": []}
    text, errors = [], []
    i = 0
    while i < len(o):
        kind = o[i]
        if kind == 0:
            text.append("eol")
            break
        if kind == 1:
            text.append("nop")
            i += 1
            continue
        if i + 1 >= len(o):
            errors.append("option kind %d at byte %d has no length byte" % (kind, i))
            break
        olen = o[i + 1]
        if olen < 2 or i + olen > len(o):
            errors.append("option kind %d at byte %d: length %d runs past the %d option bytes" %
                          (kind, i, olen, len(o)))
            break
        v = o[i + 2:i + olen]
        name = OPT_NAMES.get(kind, "opt-%d" % kind)
        if name in opts["kinds"] and kind in OPT_NAMES:
            errors.append("option %s appears twice" % name)
        opts["kinds"].append(name)
        if kind in OPT_LEN and olen != OPT_LEN[kind]:
            errors.append("option %s has length %d, not %d" % (name, olen, OPT_LEN[kind]))
        elif kind == 5 and (olen < 10 or (olen - 2) % 8):
            errors.append("SACK option length %d is not 2 + 8n (n >= 1)" % olen)
        elif kind == 2:
            opts["mss"] = struct.unpack("!H", v)[0]
            text.append("mss %d" % opts["mss"])
        elif kind == 3:
            opts["ws"] = v[0]
            text.append("wscale %d" % v[0])
        elif kind == 4:
            opts["sackok"] = True
            text.append("sackOK")
        elif kind == 8:
            opts["ts"] = struct.unpack("!II", v)
            text.append("TS val %d ecr %d" % opts["ts"])
        elif kind == 5:
            blocks = [struct.unpack("!II", v[k:k + 8]) for k in range(0, len(v), 8)]
            opts["sack"] = blocks
            text.append("sack %d %s" % (len(blocks), " ".join("{%d:%d}" % b for b in blocks)))
        else:
            text.append("%s len %d" % (name, olen))
        i += olen
    return opts, text, errors


class Seg:
    __slots__ = ("n", "t", "src", "dst", "sport", "dport", "seq", "ack", "flags", "win", "len",
                 "opts", "opt_text", "errors")

    def flag_str(self):
        s = "".join(c for bit, c in ((SYN, "S"), (FIN, "F"), (RST, "R"), (PSH, "P"), (URG, "U"),
                                     (ECE, "E"), (CWR, "W")) if self.flags & bit)
        return s + ("." if self.flags & ACK else "")

    def __str__(self):
        s = "#%d %s:%d > %s:%d [%s] seq %d" % (self.n, self.src, self.sport, self.dst, self.dport,
                                                self.flag_str(), self.seq)
        if self.flags & ACK:
            s += " ack %d" % self.ack
        s += " win %d len %d" % (self.win, self.len)
        if self.opt_text:
            s += " <%s>" % ",".join(self.opt_text)
        if self.errors:
            s += " !! " + "; ".join(self.errors)
        return s


def decode(path):
    """The TCP segments in the file, and counts of what else it held."""
    segs = []
    other = {"frames": 0, "non_ipv4": 0, "non_tcp": 0, "fragments": 0}
    for n, t, fr, orig in read_pcap(path):
        other["frames"] += 1
        where = "frame %d" % n
        if len(fr) < 14:
            raise Malformed("%s: %d bytes, shorter than an Ethernet header" % (where, len(fr)))
        etype = struct.unpack("!H", fr[12:14])[0]
        off = 14
        while etype in ETH_VLAN:
            if len(fr) < off + 4:
                raise Malformed("%s: VLAN tag cut short" % where)
            etype = struct.unpack("!H", fr[off + 2:off + 4])[0]
            off += 4
        if etype != ETH_IPV4:
            other["non_ipv4"] += 1
            continue
        ip = fr[off:]
        if len(ip) < 20:
            raise Malformed("%s: IPv4 header cut short (%d bytes)" % (where, len(ip)))
        ver, ihl = ip[0] >> 4, (ip[0] & 15) * 4
        tot = struct.unpack("!H", ip[2:4])[0]
        if ver != 4 or ihl < 20:
            raise Malformed("%s: IPv4 header with version %d, length %d" % (where, ver, ihl))
        if tot < ihl or len(ip) < ihl:
            raise Malformed("%s: IPv4 total length %d, header %d, %d bytes there" %
                            (where, tot, ihl, len(ip)))
        if tot > len(ip):
            if len(fr) == orig:
                raise Malformed("%s: IPv4 total length %d, but only %d bytes follow the "
                                "Ethernet header" % (where, tot, len(ip)))
            raise Malformed("%s: captured only %d of %d bytes (snap length too small)" %
                            (where, len(fr), orig))
        ip = ip[:tot]  # without Ethernet padding
        src, dst = ip_str(ip[12:16]), ip_str(ip[16:20])
        ip_ok = cksum(ip[:ihl]) == 0xFFFF
        frag = struct.unpack("!H", ip[6:8])[0]
        if ip[9] != PROTO_TCP:
            other["non_tcp"] += 1
            continue
        if frag & 0x3FFF:  # MF or an offset: a fragment
            other["fragments"] += 1
            continue
        tcp = ip[ihl:]
        if len(tcp) < 20:
            raise Malformed("%s: TCP header cut short (%d bytes)" % (where, len(tcp)))
        doff = (tcp[12] >> 4) * 4
        if doff < 20 or doff > len(tcp):
            raise Malformed("%s: TCP data offset %d in a %d-byte segment" % (where, doff, len(tcp)))
        g = Seg()
        g.n, g.t, g.src, g.dst = n, t, src, dst
        g.sport, g.dport, g.seq, g.ack = struct.unpack("!HHII", tcp[:12])
        g.flags = tcp[13]
        g.win = struct.unpack("!H", tcp[14:16])[0]
        g.len = len(tcp) - doff
        g.opts, g.opt_text, g.errors = parse_options(tcp[20:doff])
        if not ip_ok:
            g.errors.append("bad IPv4 header checksum")
        pseudo = cksum(ip[12:20] + struct.pack("!HH", PROTO_TCP, len(tcp)))
        if cksum(tcp, pseudo) != 0xFFFF:
            g.errors.append("bad TCP checksum")
        segs.append(g)
    return segs, other


class Coverage:
    """Sequence ranges seen, as merged half-open intervals of offsets from
    a base (so that comparisons need no modular arithmetic)."""

    def __init__(self, base):
        self.base = base
        self.starts, self.ends = [], []

    def rel(self, seq):
        return (seq - self.base) & M32

    def contiguous_end(self):
        return self.ends[0] if self.starts and self.starts[0] == 0 else 0

    def add(self, a, b):
        i = bisect.bisect_left(self.ends, a)  # the first interval ending at or after a
        j = bisect.bisect_right(self.starts, b)  # intervals from i to j-1 touch [a, b)
        if i < j:
            a = min(a, self.starts[i])
            b = max(b, self.ends[j - 1])
        self.starts[i:j] = [a]
        self.ends[i:j] = [b]

    def covers(self, a, b):
        i = bisect.bisect_right(self.starts, a) - 1
        return i >= 0 and self.ends[i] >= b


class Checker:
    def __init__(self):
        self.failures = {}

    def fail(self, what, seg=None, detail=""):
        lst = self.failures.setdefault(what, [])
        lst.append((seg, detail))

    def report(self):
        for what, lst in self.failures.items():
            print("FAIL: %s (%d segment%s)" % (what, len(lst), "" if len(lst) == 1 else "s"))
            for seg, detail in lst[:8]:
                print("    %s%s" % (seg if seg else "", ("  -- " + detail) if detail else ""))
            if len(lst) > 8:
                print("    ... and %d more" % (len(lst) - 8))
        return not self.failures


def check(args):
    segs, other = decode(args.pcap)
    me = args.ustack
    mine = [g for g in segs if me in (g.src, g.dst)]
    conns = sorted({(g.sport, g.dst, g.dport) if g.src == me else (g.dport, g.src, g.sport)
                    for g in mine})
    print("capture: %d frames, %d TCP segments to or from %s; %d not IPv4, %d not TCP" %
          (other["frames"], len(mine), me, other["non_ipv4"], other["non_tcp"]))
    if len(conns) != 1:
        print("FAIL: expected one TCP connection in the capture, found %d: %s" %
              (len(conns), ", ".join("%s:%d <-> %s:%d" % (me, c[0], c[1], c[2]) for c in conns)))
        return 1
    uport, peer, pport = conns[0]
    ck = Checker()
    for g in mine:
        if g.errors:
            ck.fail("malformed segment (%s)" %
                    ("from ustack" if g.src == me else "from the peer"), g)

    from_me = lambda g: g.src == me  # noqa: E731
    first = next((g for g in mine if g.flags & SYN), None)
    if first is None or first.flags & ACK:
        print("FAIL: the capture holds no SYN opening the connection")
        for g in mine[:5]:
            print("    %s" % g)
        return 1
    role = "client" if from_me(first) else "server"
    print("connection: %s:%d (%s) <-> %s:%d (%s kernel)" %
          (me, uport, "ustack, " + role, peer, pport, "server" if role == "client" else "client"))
    if role != args.role:
        ck.fail("ustack was the %s, the test expected the %s" % (role, args.role), first)

    ts_on, sack_on = args.ts == "on", args.sack == "on"
    syns = [g for g in mine if g.flags & SYN and not g.flags & ACK]
    synacks = [g for g in mine if g.flags & SYN and g.flags & ACK]
    c_syns = [g for g in syns if from_me(g) == (role == "client")]
    s_synacks = [g for g in synacks if from_me(g) == (role == "server")]
    if not s_synacks:
        print("FAIL: no SYN-ACK in the capture")
        return 1
    u_syn_list = c_syns if role == "client" else s_synacks
    k_syn_list = s_synacks if role == "client" else c_syns
    for g in u_syn_list:
        print("ustack %s: %s" % ("SYN" if role == "client" else "SYN-ACK", g))
    for g in k_syn_list:
        print("kernel %s: %s" % ("SYN-ACK" if role == "client" else "SYN", g))

    # The kernel's offer or answer: the namespace's sysctls at work.
    k_syn = k_syn_list[0]
    ksaid = "kernel %s" % ("SYN-ACK" if role == "client" else "SYN")
    for g in k_syn_list:
        if g.opts["mss"] is None:
            ck.fail("%s without MSS" % ksaid, g)
        if (g.opts["ts"] is not None) != ts_on:
            ck.fail("%s %s timestamps, but the test set tcp_timestamps=%d" %
                    (ksaid, "has" if g.opts["ts"] else "lacks", ts_on), g)
        if g.opts["sackok"] != sack_on:
            ck.fail("%s %s SACK-permitted, but the test set tcp_sack=%d" %
                    (ksaid, "has" if g.opts["sackok"] else "lacks", sack_on), g)
        if g.opts["ws"] is None:
            ck.fail("%s without window scale" % ksaid, g)

    # ustack's SYN or SYN-ACK.
    k_tsvals = set()   # TSvals ustack has received from the peer so far
    u_tsvals = set()   # TSvals ustack sent (for the kernel's SYN-ACK's TSecr)
    for g in mine:
        if not from_me(g) or not g.flags & SYN:
            continue
        o = g.opts
        if o["mss"] != args.mss:
            ck.fail("ustack SYN%s MSS is %s, expected %d" %
                    ("-ACK" if role == "server" else "", o["mss"], args.mss), g)
        if o["sack"]:
            ck.fail("ustack SYN with SACK blocks", g)
        if role == "client":
            if not o["sackok"]:
                ck.fail("ustack SYN does not offer SACK-permitted", g)
            if o["ts"] is None:
                ck.fail("ustack SYN does not offer timestamps", g)
            elif o["ts"][1] != 0:
                ck.fail("ustack SYN's TSecr is %d, expected 0" % o["ts"][1], g)
            if o["ws"] != args.wscale:
                ck.fail("ustack SYN's window scale is %s, expected %d" % (o["ws"], args.wscale), g)
        else:
            offered = [s for s in c_syns if s.n < g.n]
            if not offered:
                ck.fail("ustack SYN-ACK before any SYN", g)
                continue
            ks = offered[-1]
            if o["sackok"] != ks.opts["sackok"]:
                ck.fail("ustack SYN-ACK %s SACK-permitted, the kernel's SYN %s" %
                        ("has" if o["sackok"] else "lacks",
                         "offered it" if ks.opts["sackok"] else "did not"), g, "SYN %s" % ks)
            if (o["ts"] is not None) != (ks.opts["ts"] is not None):
                ck.fail("ustack SYN-ACK %s timestamps, the kernel's SYN %s" %
                        ("has" if o["ts"] else "lacks",
                         "offered them" if ks.opts["ts"] else "did not"), g, "SYN %s" % ks)
            elif o["ts"] is not None:
                syn_tsvals = {s.opts["ts"][0] for s in offered if s.opts["ts"]}
                if o["ts"][1] not in syn_tsvals:
                    ck.fail("ustack SYN-ACK's TSecr %d is not the TSval of the kernel's SYN (%s)" %
                            (o["ts"][1], ", ".join(map(str, sorted(syn_tsvals)))), g)
            want_ws = args.wscale if ks.opts["ws"] is not None else None
            if o["ws"] != want_ws:
                ck.fail("ustack SYN-ACK's window scale is %s, expected %s" % (o["ws"], want_ws), g)
            if g.ack != (ks.seq + 1) & M32:
                ck.fail("ustack SYN-ACK acknowledges %d, not the SYN's %d + 1" % (g.ack, ks.seq), g)
        if o["ts"]:
            u_tsvals.add(o["ts"][0])
    if role == "client":
        for g in k_syn_list:
            if g.opts["ts"] and g.opts["ts"][1] not in u_tsvals:
                ck.fail("kernel SYN-ACK's TSecr %d echoes no TSval of ustack's SYN" %
                        g.opts["ts"][1], g)

    u_syn = u_syn_list[-1]
    ts_ok = u_syn.opts["ts"] is not None and k_syn.opts["ts"] is not None
    sack_ok = u_syn.opts["sackok"] and k_syn.opts["sackok"]
    print("negotiated: timestamps %s, SACK %s, window scale %s "
          "(ustack's shift %s, the kernel's %s)" %
          ("yes" if ts_ok else "no", "yes" if sack_ok else "no",
           "yes" if u_syn.opts["ws"] is not None and k_syn.opts["ws"] is not None else "no",
           u_syn.opts["ws"], k_syn.opts["ws"]))

    # Everything after: walk the capture in order (which is the order in
    # which ustack received and sent the frames).
    k_isn = k_syn.seq
    cov = Coverage(k_isn)
    cov.add(0, 1)  # the SYN
    n = {"later": 0, "data": 0, "with_ts": 0, "acks_with_sack": 0, "sack_blocks": 0,
         "rst_skipped": 0, "k_segs": 0, "k_data": 0, "k_ooo": 0, "k_with_ts": 0,
         "k_with_sack": 0, "u_retrans": 0}
    last_tsval = None
    k_fin = None
    u_max_end = None
    tsval_lo = tsval_hi = None
    ts_first = ts_last = None  # (capture time, TSval) of ustack's first and last
    for g in mine:
        o = g.opts
        if not from_me(g):
            if g.errors:
                continue  # ustack dropped it (and it was reported above)
            if o["ts"]:
                k_tsvals.add(o["ts"][0])
            if g.flags & (SYN | RST):
                continue
            n["k_segs"] += 1
            n["k_with_ts"] += o["ts"] is not None
            n["k_with_sack"] += bool(o["sack"])
            seglen = g.len + (1 if g.flags & FIN else 0)
            if g.flags & FIN:
                k_fin = cov.rel(g.seq + g.len)
            if seglen:
                a = cov.rel(g.seq)
                if g.len:
                    n["k_data"] += 1
                    n["k_ooo"] += a > cov.contiguous_end()
                cov.add(a, a + seglen)
            continue
        if o["ts"]:
            if last_tsval is not None and seq_lt(o["ts"][0], last_tsval):
                ck.fail("ustack TSval went backwards (from %d to %d)" % (last_tsval, o["ts"][0]), g)
            last_tsval = o["ts"][0]
            if not g.flags & SYN:  # a SYN may wait for ARP after its TSval is taken
                ts_last = (g.t, last_tsval)
                ts_first = ts_first or ts_last
            tsval_lo = last_tsval if tsval_lo is None else tsval_lo
            tsval_hi = last_tsval
        if g.flags & SYN:
            continue
        if g.flags & RST:
            n["rst_skipped"] += 1
            continue
        n["later"] += 1
        n["data"] += g.len > 0
        end = (g.seq + g.len + (1 if g.flags & FIN else 0)) & M32
        if g.len and u_max_end is not None and seq_lt(g.seq, u_max_end):
            n["u_retrans"] += 1
        if u_max_end is None or seq_lt(u_max_end, end):
            u_max_end = end
        for name, what in (("mss", "MSS"), ("ws", "window scale")):
            if o[name] is not None:
                ck.fail("ustack %s option outside the SYN" % what, g)
        if o["sackok"]:
            ck.fail("ustack SACK-permitted outside the SYN", g)
        if o["ts"] is None:
            if ts_ok:
                ck.fail("ustack segment without timestamps (both SYNs had them)", g)
        else:
            n["with_ts"] += 1
            if not ts_ok:
                ck.fail("ustack segment with timestamps, which were not negotiated", g)
            elif o["ts"][1] not in k_tsvals:
                ck.fail("ustack TSecr %d is no TSval it had received from the kernel" %
                        o["ts"][1], g)
        if o["sack"]:
            n["acks_with_sack"] += 1
            n["sack_blocks"] += len(o["sack"])
            if not sack_ok:
                ck.fail("ustack SACK blocks, but SACK was not negotiated", g)
                continue
            if not g.flags & ACK:
                ck.fail("ustack SACK blocks in a segment without ACK", g)
                continue
            seen = []
            for s, e in o["sack"]:
                blk = "block {%d:%d} (relative {%d:%d}, ACK relative %d)" % (
                    s, e, cov.rel(s), cov.rel(e), cov.rel(g.ack))
                if not seq_lt(s, e):
                    ck.fail("ustack SACK block empty or reversed", g, blk)
                elif not seq_lt(g.ack, s):
                    ck.fail("ustack SACK block not above the segment's ACK number", g, blk)
                elif not cov.covers(cov.rel(s), cov.rel(e)):
                    ck.fail("ustack SACK block covers data it had not received", g, blk)
                for s2, e2 in seen:
                    if seq_lt(s, e2) and seq_lt(s2, e):
                        ck.fail("ustack SACK blocks overlap", g, blk)
                seen.append((s, e))

    print("ustack segments after the handshake: %d checked (%d with data, %d retransmitted), "
          "%d with timestamps%s; %d RST not checked" %
          (n["later"], n["data"], n["u_retrans"], n["with_ts"],
           "" if not n["with_ts"] else " (TSval %d .. %d, %d ms apart)" %
           (tsval_lo, tsval_hi, (tsval_hi - tsval_lo) & M32), n["rst_skipped"]))
    if ts_first and ts_last[0] > ts_first[0]:
        # The capture's times come from the stack's clock: TSval must follow
        # them at 1 per ms (the RFC 7323 clock ustack uses), within a few ms.
        ms = (ts_last[0] - ts_first[0]) * 1000
        ticks = (ts_last[1] - ts_first[1]) & M32
        print("ustack's timestamp clock: TSval advanced %d over %.1f ms of capture (after the "
              "handshake)" % (ticks, ms))
        if abs(ticks - ms) > 10 + 0.02 * ms:
            ck.fail("ustack's TSval does not run at 1 per ms (%d over %.1f ms)" % (ticks, ms))
    print("ustack segments with SACK blocks: %d (%d blocks; each checked against the ACK and "
          "the data received before it)" % (n["acks_with_sack"], n["sack_blocks"]))
    contig = max(cov.contiguous_end() - 1, 0)  # less the SYN
    fin_in = k_fin is not None and k_fin < cov.contiguous_end()
    contig -= fin_in
    print("kernel segments after the handshake: %d (%d with data, %d of them above a hole), "
          "%d with timestamps, %d with SACK blocks; received without holes: %d bytes%s" %
          (n["k_segs"], n["k_data"], n["k_ooo"], n["k_with_ts"], n["k_with_sack"],
           contig, " and the FIN" if fin_in else ""))
    ok = ck.report()
    for k in ("later", "data", "with_ts", "acks_with_sack", "sack_blocks", "u_retrans",
              "k_segs", "k_data", "k_ooo", "k_with_ts", "k_with_sack"):
        print("%s=%d" % (k, n[k]))
    print("ts_negotiated=%d" % ts_ok)
    print("sack_negotiated=%d" % sack_ok)
    return 0 if ok else 1


def dump(args):
    segs, other = decode(args.pcap)
    for g in segs:
        print(g)
    print("%d frames, %d TCP segments" % (other["frames"], len(segs)), file=sys.stderr)
    return 0


def main(argv):
    ap = argparse.ArgumentParser(prog="pcap_tcp.py", description=__doc__.split("\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    d = sub.add_parser("dump")
    d.add_argument("pcap")
    c = sub.add_parser("check")
    c.add_argument("pcap")
    c.add_argument("--ustack", required=True, help="ustack's IPv4 address")
    c.add_argument("--role", required=True, choices=("server", "client"))
    c.add_argument("--ts", required=True, choices=("on", "off"))
    c.add_argument("--sack", required=True, choices=("on", "off"))
    c.add_argument("--mss", type=int, default=1460)
    c.add_argument("--wscale", type=int, default=7)
    args = ap.parse_args(argv[1:])
    try:
        return dump(args) if args.cmd == "dump" else check(args)
    except Malformed as e:
        print("pcap_tcp.py: %s: %s" % (args.pcap, e), file=sys.stderr)
        return 2
    except BrokenPipeError:
        return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
