"""The kernel's side of the UDP interop tests. Standard library only; run
inside the test's namespace. Every wait is bounded.

usage:
  udp_peer.py echo HOST PORT SIZE...    send one datagram of random bytes per
                                        size; each must come back byte-exact
  udp_peer.py refused HOST PORT...      a connected socket sends to each
                                        (closed) port; recv must raise
                                        ConnectionRefusedError
  udp_peer.py server PORT READYFILE     echo server on 192.0.2.1:PORT until
                                        SIGTERM; writes READYFILE once bound
  udp_peer.py modes HOST BIN [ARGS...]  runs the udp_modes program BIN and
                                        plays its peer (see udp_modes.c)
"""
import hashlib
import os
import select
import signal
import socket
import subprocess
import sys
import time

TIMEOUT = 5.0  # seconds for any single reply


def fail(msg):
    print("udp_peer.py: FAIL: " + msg, file=sys.stderr)
    sys.exit(1)


def digest(b):
    return hashlib.sha256(b).hexdigest()[:16]


def udp_socket():
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    # Room for a 64 KiB datagram that arrived as 45 fragments.
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
    return s


def recv_within(s, timeout):
    """One datagram, or None after timeout seconds."""
    deadline = time.monotonic() + timeout
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            return None
        r, _, _ = select.select([s], [], [], left)
        if r:
            return s.recvfrom(65536)


def cmd_echo(host, port, sizes):
    s = udp_socket()
    s.connect((host, port))
    for size in sizes:
        data = os.urandom(size)
        s.send(data)
        got = recv_within(s, TIMEOUT)
        if got is None:
            fail("no echo of the %d-byte datagram within %.0f s" % (size, TIMEOUT))
        reply, frm = got
        if frm != (host, port):
            fail("reply from %s:%d, expected %s:%d" % (frm[0], frm[1], host, port))
        if len(reply) != size or digest(reply) != digest(data):
            fail("the %d-byte datagram came back as %d bytes, sha256 %s instead of %s" %
                 (size, len(reply), digest(reply), digest(data)))
        print("ok: %d bytes echoed byte-exact (sha256 %s)" % (size, digest(data)))


def cmd_refused(host, ports):
    for port in ports:
        s = udp_socket()
        s.connect((host, port))
        s.send(b"anybody there?")
        deadline = time.monotonic() + TIMEOUT
        try:
            # The error is reported to the next call on the connected socket.
            while time.monotonic() < deadline:
                r, _, _ = select.select([s], [], [], deadline - time.monotonic())
                if r:
                    data = s.recv(65536)
                    fail("port %d answered %r instead of refusing" % (port, data))
            fail("no ICMP port unreachable for port %d within %.0f s" % (port, TIMEOUT))
        except ConnectionRefusedError as e:
            print("ok: port %d refused: %s" % (port, e))
        s.close()


def cmd_server(port, readyfile):
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    s = udp_socket()
    s.bind(("192.0.2.1", port))
    with open(readyfile, "w") as f:
        f.write("ready\n")
    n = 0
    while True:
        data, frm = s.recvfrom(65536)
        s.sendto(data, frm)
        n += 1
        print("echoed %d bytes to %s:%d (%d so far)" % (len(data), frm[0], frm[1], n),
              flush=True)


class Program:
    """The udp_modes program: reads its "ready ..." lines from stdout."""

    def __init__(self, argv):
        self.p = subprocess.Popen(argv, stdout=subprocess.PIPE, text=True, bufsize=1)

    def expect(self, word, timeout=30.0):
        """Waits for a line starting with word; returns its other fields."""
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                self.kill()
                fail("udp_modes did not say %r within %.0f s" % (word, timeout))
            r, _, _ = select.select([self.p.stdout], [], [], left)
            if not r:
                continue
            line = self.p.stdout.readline()
            if not line:
                rc = self.p.wait(timeout=10)
                fail("udp_modes exited (code %s) while we waited for %r" % (rc, word))
            fields = line.split()
            print("udp_modes says: " + line.rstrip())
            if fields and fields[0] == word:
                return fields[1:]

    def kill(self):
        if self.p.poll() is None:
            self.p.kill()
            self.p.wait()


def cmd_modes(host, argv):
    # On SIGTERM (timeout) too, the finally below stops the program.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    prog = Program(argv)
    try:
        modes_steps(host, prog)
    finally:
        prog.kill()


def modes_steps(host, prog):
    s = udp_socket()
    s.bind(("192.0.2.1", 0))

    # 1. Blocking recvfrom: the program waits, we send, it echoes.
    port = int(prog.expect("blocking")[0])
    data = os.urandom(1000)
    s.sendto(data, (host, port))
    got = recv_within(s, TIMEOUT)
    if got is None or got[0] != data or got[1] != (host, port):
        prog.kill()
        fail("blocking: no exact echo from port %d: %r" % (port, got and got[1]))
    print("ok: blocking recvfrom received and echoed 1000 bytes")

    # 2. Non-blocking: it saw EAGAIN before we send, then ust_poll wakes it.
    port = int(prog.expect("nonblocking")[0])
    data = b"non-blocking " + os.urandom(100)
    s.sendto(data, (host, port))
    got = recv_within(s, TIMEOUT)
    if got is None or got[0] != data:
        prog.kill()
        fail("non-blocking: no exact echo from port %d" % port)
    print("ok: non-blocking socket woke by ust_poll and echoed")

    # 3. ust_poll over several sockets: only the one we send to is ready.
    ports = [int(p) for p in prog.expect("poll")]
    target = ports[len(ports) // 2]
    data = b"only this one " + os.urandom(50)
    s.sendto(data, (host, target))
    got = recv_within(s, TIMEOUT)
    if got is None or got[0] != data or got[1] != (host, target):
        prog.kill()
        fail("poll: no exact echo from port %d" % target)
    print("ok: echo from port %d, the one of %s we sent to" % (target, ports))
    # The program tells which port it found ready; it also checks itself.
    ready = prog.expect("polled")
    if ready != [str(target)]:
        prog.kill()
        fail("poll: the program found %s ready, we sent to %d" % (ready, target))

    # 4. SO_RCVTIMEO: nothing is sent; the program reports EAGAIN by itself.
    prog.expect("rcvtimeo")
    prog.expect("done")
    rc = prog.p.wait(timeout=30)
    if rc != 0:
        fail("udp_modes exited with code %d" % rc)
    print("ok: udp_modes exited 0")


def main():
    if len(sys.argv) < 2:
        fail(__doc__)
    cmd, args = sys.argv[1], sys.argv[2:]
    if cmd == "echo":
        cmd_echo(args[0], int(args[1]), [int(a) for a in args[2:]])
    elif cmd == "refused":
        cmd_refused(args[0], [int(a) for a in args[1:]])
    elif cmd == "server":
        cmd_server(int(args[0]), args[1])
    elif cmd == "modes":
        cmd_modes(args[0], args[1:])
    else:
        fail("unknown command " + cmd)


if __name__ == "__main__":
    main()
