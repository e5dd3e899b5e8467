"""preload_v6.py: AF_INET6 sockets of a stock python3 under
libustack-preload.so (test_preload_ipv6.sh runs it, with the kernel in the
namespace listening on [::]:7000 and saying "hi" to each connection, and
holding fe80::1 and 2001:db8::1 on tap0). Prints "ok: ..." or "FAIL: ..."
per check; exits 1 if one failed."""
import errno
import os
import socket
import subprocess
import sys

failures = 0


def check(what, cond, detail=""):
    global failures
    print(("ok: " if cond else "FAIL: ") + what + ("" if cond else " (%s)" % detail), flush=True)
    if not cond:
        failures += 1


def err_of(fn):
    try:
        fn()
        return 0
    except OSError as e:
        return e.errno


TAP = socket.if_nametoindex(os.environ.get("USTACK_TAP", "tap0"))
ll, glob, mapped = "fe80::1", "2001:db8::1", "::ffff:192.0.2.1"

s = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
check("SO_DOMAIN of an AF_INET6 socket", s.getsockopt(socket.SOL_SOCKET, socket.SO_DOMAIN) == socket.AF_INET6)
check("IPV6_V6ONLY is 0 (dual-stack) by default", s.getsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY) == 0)
s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_UNICAST_HOPS, 7)
check("IPV6_UNICAST_HOPS set and got", s.getsockopt(socket.IPPROTO_IPV6, socket.IPV6_UNICAST_HOPS) == 7)
s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_TCLASS, 0x20)
check("IPV6_TCLASS set and got", s.getsockopt(socket.IPPROTO_IPV6, socket.IPV6_TCLASS) == 0x20)

# Link-local, scoped with the kernel's index of tap0 (what if_nametoindex
# and "%tap0" give the program).
s.settimeout(10)
s.connect((ll, 7000, 0, TAP))
check("connect to %s%%tap0: the kernel says hi" % ll, s.recv(16) == b"hi\n")
peer, name = s.getpeername(), s.getsockname()
check("getpeername: (fe80::1, 7000, 0, tap0's index)", peer == (ll, 7000, 0, TAP), str(peer))
check("getsockname: a link-local address scoped to tap0", name[0].startswith("fe80:") and name[3] == TAP,
      str(name))
s.close()

s = socket.create_connection((glob, 7000), timeout=10)
check("connect to %s: the kernel says hi" % glob, s.recv(16) == b"hi\n")
check("getsockname: 2001:db8::2, no scope", s.getsockname()[0] == "2001:db8::2" and s.getsockname()[3] == 0,
      str(s.getsockname()))
s.close()

s = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
s.settimeout(10)
s.connect((mapped, 7000))
check("dual-stack: connect to %s (IPv4): the kernel says hi" % mapped, s.recv(16) == b"hi\n")
check("getpeername: ::ffff:192.0.2.1", s.getpeername()[:2] == (mapped, 7000), str(s.getpeername()))
check("getsockname: ::ffff:192.0.2.2", s.getsockname()[0] == "::ffff:192.0.2.2", str(s.getsockname()))
s.close()

s = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
check("IPV6_V6ONLY 1: set and got", s.getsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY) == 1)
s.settimeout(5)
check("IPV6_V6ONLY 1: an IPv4-mapped peer is refused", err_of(lambda: s.connect((mapped, 7000))) != 0)
s.close()

s = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
check("connect to fe80::1 with an unknown scope id: ENODEV",
      err_of(lambda: s.connect((ll, 7000, 0, 999))) == errno.ENODEV)
check("bind to fe80::1 with an unknown scope id: ENODEV", err_of(lambda: s.bind((ll, 0, 0, 999))) == errno.ENODEV)
s.close()

# A dual-stack listener: the kernel connects over IPv6 and over IPv4 (bash's
# /dev/tcp: kernel sockets, the child has no LD_PRELOAD).
env = {k: v for k, v in os.environ.items() if k != "LD_PRELOAD"}
ls = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
ls.bind(("::", 7100))
ls.listen(4)
ls.settimeout(10)
for dst, want in (("2001:db8::2", glob), ("192.0.2.2", mapped)):
    p = subprocess.Popen(["bash", "-c", "exec 3<>/dev/tcp/%s/7100; read -t 5 x <&3; echo \"$x\"" % dst],
                         env=env, stdout=subprocess.PIPE)
    c, a = ls.accept()
    c.sendall(b"v6\n")
    out = p.communicate(timeout=10)[0]
    check("a listener on [::]: the kernel's client from %s, accepted as %s" % (dst, want),
          a[0] == want and out == b"v6\n", "%s %r" % (a, out))
    c.close()
ls.close()

u = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
u.bind(("::", 7200))
v = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
v.sendto(b"over ::1", ("::1", 7200))
u.settimeout(5)
data, a = u.recvfrom(64)
check("UDP over ustack's ::1", data == b"over ::1" and a[0] == "::1", "%r %s" % (data, a))
sys.exit(1 if failures else 0)
