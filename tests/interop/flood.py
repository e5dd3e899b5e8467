"""Bounded attack traffic for the interop tests: frames written straight onto
the test namespace's TAP device with a packet socket, so they reach the
runner as if a hostile host on the link had sent them. Standard library
only; run inside the test's namespace, as root.

Safety: every frame carries IPv4 addresses in 192.0.2.0/24 (the TAP's
subnet) and leaves only through the TAP device named on the command line;
the count is bounded (at most 200,000 frames) and so is the time (--seconds,
at most 60, spreads the frames evenly; the default sends as fast as it
can).

usage:
  flood.py arp-flood  IFACE COUNT [--seconds S] [--claim-host]
                                                  requests for 192.0.2.2 from
                                                  made-up MACs and addresses
                                                  (with --claim-host, one in
                                                  253 claims 192.0.2.1)
  flood.py arp-spoof  IFACE IP MAC                one forged reply: IP is at MAC
  flood.py frag-flood IFACE COUNT [--sources N] [--size B] [--seconds S]
                                                  first fragments (MF=1,
                                                  offset 0) that never complete
  flood.py syn-flood  IFACE COUNT [--port P] [--seconds S] [--dst-mac MAC]
                                                  TCP SYNs to 192.0.2.2:P (80)
                                                  from made-up hosts, MACs,
                                                  ports and ISNs, with an MSS;
                                                  to MAC (the runner's by
                                                  default: bench/run.sh gives
                                                  the kernel's on a veth)
Prints "sending N frames" when it starts, then what it sent and the time
it took."""
import os
import socket
import struct
import sys
import time

from unreach import checksum  # RFC 1071, beside this script

TARGET_IP = "192.0.2.2"
TARGET_MAC = bytes([0x02, 0x00, 0xC0, 0x00, 0x02, 0x02])  # the runner's default MAC
BCAST = b"\xff" * 6
MAX_FRAMES = 200000
ETH_P_ARP = 0x0806
ETH_P_IP = 0x0800


def die(msg):
    print("flood.py: " + msg, file=sys.stderr)
    sys.exit(2)


def ip4(a):
    b = socket.inet_aton(a)
    if b[:3] != bytes([192, 0, 2]):
        die("refusing an address outside 192.0.2.0/24: " + a)
    return b


def made_up_mac(i):
    """A locally administered unicast MAC from a counter (never ours)."""
    return bytes([0x06, 0x5E]) + struct.pack("!I", 0x10000000 + i)


def made_up_host(i):
    """192.0.2.3 .. 192.0.2.254: never the host (.1) or the runner (.2)."""
    return bytes([192, 0, 2, 3 + i % 252])


def any_host(i):
    """192.0.2.1 and 192.0.2.3 .. 192.0.2.254: claims the host's address too."""
    return bytes([192, 0, 2, 1 if i % 253 == 0 else 2 + i % 253])


def arp_frame(eth_dst, op, sha, spa, tha, tpa):
    arp = struct.pack("!HHBBH", 1, ETH_P_IP, 6, 4, op) + sha + spa + tha + tpa
    return eth_dst + sha + struct.pack("!H", ETH_P_ARP) + arp


def first_fragment(eth_src, src, ident, size):
    payload = struct.pack("!HHHH", 40000 + ident % 1000, 9, size, 0)
    payload += bytes(size - len(payload))
    hdr = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + size, ident & 0xFFFF, 0x2000, 64, 17, 0,
                      src, ip4(TARGET_IP))
    hdr = hdr[:10] + struct.pack("!H", checksum(hdr)) + hdr[12:]
    return TARGET_MAC + eth_src + struct.pack("!H", ETH_P_IP) + hdr + payload


def syn(eth_dst, eth_src, src, sport, isn, dport):
    """A SYN with an MSS option (1460), checksummed over the pseudo-header."""
    dst = ip4(TARGET_IP)
    tcp = struct.pack("!HHIIBBHHH", sport, dport, isn, 0, 6 << 4, 0x02, 65535, 0, 0)
    tcp += struct.pack("!BBH", 2, 4, 1460)
    pseudo = src + dst + struct.pack("!BBH", 0, 6, len(tcp))
    tcp = tcp[:16] + struct.pack("!H", checksum(pseudo + tcp)) + tcp[18:]
    hdr = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(tcp), isn & 0xFFFF, 0, 64, 6, 0, src, dst)
    hdr = hdr[:10] + struct.pack("!H", checksum(hdr)) + hdr[12:]
    return eth_dst + eth_src + struct.pack("!H", ETH_P_IP) + hdr + tcp


def send_all(iface, frames, seconds):
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
    s.bind((iface, 0))
    print("sending %d frames" % len(frames), flush=True)  # what a test can wait for
    t0 = time.monotonic()
    n = len(frames)
    sent = 0
    for i, f in enumerate(frames):
        if seconds > 0:
            due = t0 + seconds * i / n
            while time.monotonic() < due:
                pass
        try:
            s.send(f)
            sent += 1
        except OSError:  # the TAP queue is full: the frame is lost, as on a wire
            pass
    return sent, time.monotonic() - t0


def opt(args, name, default, conv):
    if name in args:
        i = args.index(name)
        if i + 1 >= len(args):
            die(name + " needs a value")
        v = conv(args[i + 1])
        del args[i:i + 2]
        return v
    return default


def main():
    args = sys.argv[1:]
    if len(args) < 2:
        die(__doc__)
    cmd, iface = args[0], args[1]
    rest = args[2:]
    seconds = opt(rest, "--seconds", 0.0, float)
    if not 0 <= seconds <= 60:
        die("--seconds must be 0..60")
    claim_host = "--claim-host" in rest
    if claim_host:
        rest.remove("--claim-host")
    if cmd == "arp-flood":
        count = int(rest[0])
        if not 0 < count <= MAX_FRAMES:
            die("COUNT must be 1..%d" % MAX_FRAMES)
        host = any_host if claim_host else made_up_host
        frames = [arp_frame(BCAST, 1, made_up_mac(i), host(i), bytes(6), ip4(TARGET_IP))
                  for i in range(count)]
    elif cmd == "arp-spoof":
        ip, mac = ip4(rest[0]), bytes.fromhex(rest[1].replace(":", ""))
        if len(mac) != 6:
            die("bad MAC " + rest[1])
        frames = [arp_frame(TARGET_MAC, 2, mac, ip, TARGET_MAC, ip4(TARGET_IP))]
    elif cmd == "frag-flood":
        sources = opt(rest, "--sources", 1, int)
        size = opt(rest, "--size", 8, int)
        count = int(rest[0])
        if not 0 < count <= MAX_FRAMES or not 1 <= sources <= 252 or not 8 <= size <= 1480 \
                or size % 8:
            die("COUNT 1..%d, --sources 1..252, --size a multiple of 8 in 8..1480" % MAX_FRAMES)
        src_mac = made_up_mac(999999)
        base = struct.unpack("!H", os.urandom(2))[0]
        frames = [first_fragment(src_mac, made_up_host(i % sources), base + i, size)
                  for i in range(count)]
    elif cmd == "syn-flood":
        port = opt(rest, "--port", 80, int)
        dst_mac = bytes.fromhex(opt(rest, "--dst-mac", TARGET_MAC.hex(), str).replace(":", ""))
        if len(dst_mac) != 6:
            die("bad --dst-mac")
        count = int(rest[0])
        if not 0 < count <= MAX_FRAMES or not 0 < port < 65536:
            die("COUNT 1..%d, --port 1..65535" % MAX_FRAMES)
        rnd = os.urandom(8 * count)
        frames = []
        for i in range(count):
            sport, isn, _ = struct.unpack_from("!HIH", rnd, 8 * i)
            frames.append(syn(dst_mac, made_up_mac(i), made_up_host(i), 1024 + sport % 60000, isn,
                              port))
    else:
        die("unknown command " + cmd)
    sent, took = send_all(iface, frames, seconds)
    print("%s: sent %d of %d frames in %.3f s" % (cmd, sent, len(frames), took))


if __name__ == "__main__":
    main()
