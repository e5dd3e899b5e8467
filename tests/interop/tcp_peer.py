"""The kernel's side of the TCP interop tests. Standard library only; run
inside the test's namespace. Every wait is bounded: a connection that makes
no progress for STALL seconds fails.

usage:
  tcp_peer.py echo HOST PORT FILE          send FILE, half-close, read the echo
                                           to EOF; sha256 and length must match
  tcp_peer.py discard HOST PORT FILE       send FILE, half-close, wait for the
                                           server to close (it read it all)
  tcp_peer.py chargen HOST PORT NBYTES     read NBYTES, half-close, read to EOF;
                                           check RFC 864's pattern
  tcp_peer.py many HOST PORT N BYTES       N connections open at once, each
                                           echoes BYTES of its own random data
  tcp_peer.py refused HOST PORT            connect must fail: ECONNREFUSED
  tcp_peer.py send HOST PORT FILE          send FILE one way, half-close, wait
                                           for EOF; prints "BYTES SECONDS"
  tcp_peer.py sink PORT READYFILE          accept one connection on PORT, read
                                           to EOF, print "BYTES SECONDS"
Results go to stdout, failures to stderr with exit status 1.
"""
import hashlib
import os
import socket
import sys
import threading
import time

STALL = float(os.environ.get("TCP_PEER_STALL", "30"))
CHUNK = 256 * 1024


def fail(msg):
    print("tcp_peer.py: FAIL: " + msg, file=sys.stderr)
    sys.exit(1)


def connect(host, port):
    s = socket.create_connection((host, port), timeout=STALL)
    s.settimeout(STALL)
    return s


def file_chunks(path):
    with open(path, "rb") as f:
        while True:
            b = f.read(CHUNK)
            if not b:
                return
            yield b


def sender(s, path, out):
    """Sends the file and half-closes; out gets (bytes, sha256) or an error."""
    h = hashlib.sha256()
    n = 0
    try:
        for b in file_chunks(path):
            s.sendall(b)
            h.update(b)
            n += len(b)
        s.shutdown(socket.SHUT_WR)
        out.append((n, h.hexdigest()))
    except OSError as e:
        out.append(e)


def read_to_eof(s, limit=None):
    """(bytes, sha256) of everything read until EOF."""
    h = hashlib.sha256()
    n = 0
    while True:
        try:
            b = s.recv(CHUNK)
        except socket.timeout:
            fail("no data for %.0f s after %d bytes" % (STALL, n))
        if not b:
            return n, h.hexdigest()
        h.update(b)
        n += len(b)
        if limit is not None and n > limit:
            fail("more than the %d bytes expected" % limit)


def cmd_echo(host, port, path):
    size = os.path.getsize(path)
    s = connect(host, port)
    t0 = time.monotonic()
    out = []
    th = threading.Thread(target=sender, args=(s, path, out))
    th.start()
    got_n, got_h = read_to_eof(s, size)
    th.join(STALL)
    dt = time.monotonic() - t0
    if th.is_alive() or not out:
        fail("the sender did not finish")
    if isinstance(out[0], Exception):
        fail("send failed: %s" % out[0])
    sent_n, sent_h = out[0]
    s.close()
    print("sent     %d bytes sha256 %s" % (sent_n, sent_h))
    print("received %d bytes sha256 %s (%.1f s, %.1f Mbit/s each way)" %
          (got_n, got_h, dt, sent_n * 8 / dt / 1e6))
    if got_n != sent_n or got_h != sent_h:
        fail("the echo differs from what was sent")


def cmd_discard(host, port, path):
    s = connect(host, port)
    t0 = time.monotonic()
    out = []
    sender(s, path, out)
    if isinstance(out[0], Exception):
        fail("send failed: %s" % out[0])
    n, _ = read_to_eof(s, 0)  # discard sends nothing back, then closes
    dt = time.monotonic() - t0
    s.close()
    print("sent %d bytes (%.1f s, %.1f Mbit/s); the server closed after EOF" %
          (out[0][0], dt, out[0][0] * 8 / dt / 1e6))


def cmd_send(host, port, path):
    s = connect(host, port)
    t0 = time.monotonic()
    out = []
    sender(s, path, out)
    if isinstance(out[0], Exception):
        fail("send failed: %s" % out[0])
    read_to_eof(s)
    dt = time.monotonic() - t0
    s.close()
    print("%d %.6f" % (out[0][0], dt))


def cmd_sink(port, ready):
    ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind(("192.0.2.1", port))
    ls.listen(1)
    ls.settimeout(STALL)
    with open(ready, "w") as f:
        f.write("ready\n")
    s, _ = ls.accept()
    s.settimeout(STALL)
    t0 = time.monotonic()
    n, _ = read_to_eof(s)
    dt = time.monotonic() - t0
    s.close()
    print("%d %.6f" % (n, dt))


def check_chargen(data):
    """RFC 864: lines of 72 printable characters and CR LF; within a line each
    character follows the one before in the 95-character cycle, and each line
    starts one character later than the line before."""
    lines = data.split(b"\r\n")
    lines.pop()  # the last, partial line (or the empty string after CR LF)
    if len(lines) < 2:
        fail("fewer than two whole lines of chargen")
    prev = None
    for i, line in enumerate(lines):
        if len(line) != 72:
            fail("line %d has %d characters, not 72" % (i, len(line)))
        for j, c in enumerate(line):
            if not 32 <= c <= 126:
                fail("line %d, column %d: not printable (%d)" % (i, j, c))
            if j and c != 32 + (line[j - 1] - 32 + 1) % 95:
                fail("line %d, column %d: %r does not follow %r" % (i, j, chr(c), chr(line[j - 1])))
        if prev is not None and line[0] != 32 + (prev - 32 + 1) % 95:
            fail("line %d starts with %r after a line starting with %r" % (i, chr(line[0]), chr(prev)))
        prev = line[0]
    return len(lines)


def cmd_chargen(host, port, nbytes):
    s = connect(host, port)
    buf = bytearray()
    while len(buf) < nbytes:
        try:
            b = s.recv(CHUNK)
        except socket.timeout:
            fail("no chargen data for %.0f s after %d bytes" % (STALL, len(buf)))
        if not b:
            fail("chargen closed after %d bytes" % len(buf))
        buf += b
    # An orderly end: half-close, and read what the server still sends
    # until it closes too (closing with unread data would be a RST).
    s.shutdown(socket.SHUT_WR)
    while True:
        try:
            b = s.recv(CHUNK)
        except socket.timeout:
            fail("chargen did not close within %.0f s of our FIN" % STALL)
        if not b:
            break
        buf += b
        if len(buf) > nbytes + (16 << 20):
            fail("chargen went on after our FIN")
    s.close()
    n = check_chargen(bytes(buf))
    print("chargen: %d bytes, %d whole lines in RFC 864's pattern, first line %r" %
          (len(buf), n, bytes(buf[:72]).decode()))


def cmd_many(host, port, n, nbytes):
    """n connections, all established before any sends: n at once."""
    barrier = threading.Barrier(n, timeout=STALL * 2)
    errors = []
    ok = []
    lock = threading.Lock()

    def one(i):
        try:
            s = connect(host, port)
        except OSError as e:
            with lock:
                errors.append("connection %d: connect: %s" % (i, e))
            barrier.abort()
            return
        try:
            barrier.wait()
            data = os.urandom(nbytes)
            out = []
            th = threading.Thread(target=lambda: (s.sendall(data), s.shutdown(socket.SHUT_WR),
                                                  out.append(True)))
            th.start()
            buf = bytearray()
            while True:
                b = s.recv(65536)
                if not b:
                    break
                buf += b
                if len(buf) > nbytes:
                    break
            th.join(STALL)
            if bytes(buf) != data:
                raise ValueError("echo of %d bytes came back as %d bytes%s" %
                                 (nbytes, len(buf), "" if len(buf) != nbytes else ", different"))
            if not out:
                raise ValueError("the sender did not finish")
            with lock:
                ok.append(i)
        except (OSError, ValueError, threading.BrokenBarrierError) as e:
            with lock:
                errors.append("connection %d: %s: %s" % (i, type(e).__name__, e))
        finally:
            s.close()

    t0 = time.monotonic()
    threads = [threading.Thread(target=one, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(STALL * 4)
    dt = time.monotonic() - t0
    if any(t.is_alive() for t in threads):
        errors.append("some connections did not finish")
    if errors:
        for e in errors[:10]:
            print(e, file=sys.stderr)
        fail("%d of %d connections failed" % (n - len(ok), n))
    print("%d concurrent connections each echoed %d bytes byte-exact (%.1f s)" % (n, nbytes, dt))


def cmd_refused(host, port):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.settimeout(STALL)
    try:
        s.connect((host, port))
    except ConnectionRefusedError:
        print("connect to %s:%d: refused (ECONNREFUSED)" % (host, port))
        return
    except OSError as e:
        fail("connect to %s:%d: %s, expected ECONNREFUSED" % (host, port, e))
    fail("connect to %s:%d succeeded, expected ECONNREFUSED" % (host, port))


def cmd_echo_server(port, ready):
    """One connection on 192.0.2.1:port, echoed until the peer's FIN, then
    FIN back. Reading and writing the socket directly cannot deadlock the
    way `socat ... PIPE` can (socat blocks writing into a full pipe that
    only it reads, and stops reading its socket)."""
    ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind(("192.0.2.1", port))
    ls.listen(1)
    ls.settimeout(STALL)
    with open(ready, "w") as f:
        f.write("ready\n")
    s, _ = ls.accept()
    s.settimeout(STALL)
    n = 0
    while True:
        b = s.recv(65536)
        if not b:
            break
        s.sendall(b)
        n += len(b)
    s.shutdown(socket.SHUT_WR)
    s.close()
    print(n)


def main(argv):
    if len(argv) < 2:
        fail(__doc__)
    cmd, args = argv[1], argv[2:]
    if cmd == "echo" and len(args) == 3:
        cmd_echo(args[0], int(args[1]), args[2])
    elif cmd == "discard" and len(args) == 3:
        cmd_discard(args[0], int(args[1]), args[2])
    elif cmd == "send" and len(args) == 3:
        cmd_send(args[0], int(args[1]), args[2])
    elif cmd == "echo-server" and len(args) == 2:
        cmd_echo_server(int(args[0]), args[1])
    elif cmd == "sink" and len(args) == 2:
        cmd_sink(int(args[0]), args[1])
    elif cmd == "chargen" and len(args) == 3:
        cmd_chargen(args[0], int(args[1]), int(args[2]))
    elif cmd == "many" and len(args) == 4:
        cmd_many(args[0], int(args[1]), int(args[2]), int(args[3]))
    elif cmd == "refused" and len(args) == 2:
        cmd_refused(args[0], int(args[1]))
    else:
        fail("bad arguments\n" + __doc__)


if __name__ == "__main__":
    main(sys.argv)
