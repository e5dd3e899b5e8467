#!/usr/bin/env python3
"""Clients that hold a server's connections, for the interop tests of the
runner's limits and timeouts (test_http_slow.sh, test_http_limits.sh,
test_tcp_limits.sh, test_tcp_idle_many.sh). Standard library only; one
thread, non-blocking sockets; every mode is bounded in time.

  slow_clients.py slowloris HOST PORT N SECONDS INTERVAL SOURCES STATUS [FIRST EVERY]
      N connections (source addresses taken in turn from SOURCES, a comma
      list) each send a request line and one header, then another header
      line every INTERVAL seconds, never the empty line that ends the
      header, for at most SECONDS. FIRST and EVERY (with \\r\\n escapes)
      replace what is sent first and then at each interval. STATUS gets
      "held N" once all N are connected and have sent their first bytes.
      Prints JSON: how many connected; how many the server closed (reset),
      after how long (min and max), whether a 408 came first.

  slow_clients.py hold HOST PORT N SECONDS SOURCES STATUS [REQUEST]
      N connections held open (sending REQUEST, if given, on each), at most
      SECONDS, or until STATUS.stop exists. STATUS gets "held K" once all
      N are settled (K connected; refused or failed ones are counted
      apart). Prints JSON: connected, failed (and why), how many the
      server closed or reset and after how long, what it sent first.

  slow_clients.py idle HOST PORT REQUEST SECONDS
      One connection: sends REQUEST (with \\r\\n escapes), reads the
      response, then waits (at most SECONDS) for the server to close.
      Prints JSON: the response's status line and when the server closed,
      counted from the end of the response (null: it did not).

  slow_clients.py noread HOST PORT REQUEST SECONDS
      One connection with a small receive buffer: sends REQUEST and never
      reads. Prints JSON: whether and when (from the request) the server
      reset it, within SECONDS.
"""
import errno
import json
import os
import select
import socket
import sys
import time


def unescape(s):
    return s.encode().decode("unicode_escape").encode("latin-1")


def open_conn(host, port, source):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setblocking(False)
    if source:
        # IP_BIND_ADDRESS_NO_PORT (24): the port is chosen at connect(),
        # unique for the 4-tuple; bind() alone takes one of half the range
        # (30,000 a source address).
        s.setsockopt(socket.IPPROTO_IP, 24, 1)
        s.bind((source, 0))
    rc = s.connect_ex((host, port))
    if rc not in (0, errno.EINPROGRESS):
        s.close()
        raise OSError(rc, os.strerror(rc))
    return s


class Conn:
    def __init__(self, sock, t):
        self.sock = sock
        self.t_open = t          # connect() called
        self.t_conn = None       # established
        self.t_closed = None     # the server closed or reset it
        self.reset = False
        self.rx = b""
        self.next_send = None
        self.failed = None


def write_status(path, text):
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        f.write(text + "\n")
    os.replace(tmp, path)


def run_many(host, port, n, seconds, sources, status, first, every, interval,
             wave=int(os.environ.get("SLOW_WAVE", "400"))):
    """Opens n connections (at most `wave` handshakes at once: SLOW_WAVE,
    default 400), sends
    `first` once connected and `every` each interval; watches for the
    server closing them. Returns the Conn list."""
    ep = select.epoll()
    conns, byfd = [], {}
    t0 = time.monotonic()
    end = t0 + seconds
    opened = pending = done = 0  # done: closed by the server, or failed
    announced = False
    stop_file = status + ".stop" if status else None

    def fail(c, why):
        nonlocal done
        c.failed = why
        done += 1

    while True:
        now = time.monotonic()
        if now >= end or (stop_file and os.path.exists(stop_file)):
            break
        while opened < n and pending < wave:
            src = sources[opened % len(sources)] if sources else None
            opened += 1
            try:
                s = open_conn(host, port, src)
            except OSError as e:
                c = Conn(None, now)
                conns.append(c)
                fail(c, "connect: " + e.strerror)
                continue
            c = Conn(s, now)
            conns.append(c)
            byfd[s.fileno()] = c
            ep.register(s.fileno(), select.EPOLLOUT | select.EPOLLIN)
            pending += 1
        settled = opened == n and pending == 0
        if settled and done == n:
            break  # the server closed them all: nothing left to hold
        if settled and not announced and status:
            write_status(status, "held %d" % (n - done))
            announced = True
        timeout = end - now
        if interval:
            due = [c.next_send for c in conns if c.next_send and not c.t_closed]
            if due:
                timeout = min(timeout, max(0, min(due) - now))
        if stop_file:
            timeout = min(timeout, 0.05)
        for fd, ev in ep.poll(max(0.0, timeout)):
            c = byfd.get(fd)
            if not c:
                continue
            now = time.monotonic()
            if c.t_conn is None:
                err = c.sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
                if err or not ev & select.EPOLLOUT:
                    if not err:
                        continue
                    pending -= 1
                    ep.unregister(fd)
                    c.sock.close()
                    c.sock = None
                    del byfd[fd]
                    fail(c, os.strerror(err))
                    continue
                c.t_conn = now
                pending -= 1
                ep.modify(fd, select.EPOLLIN)
                if first:
                    c.sock.send(first)
                if interval:
                    c.next_send = now + interval
                continue
            try:
                d = c.sock.recv(65536)
            except ConnectionResetError:
                d, c.reset = b"", True
            except BlockingIOError:
                continue
            if d:
                c.rx += d[: max(0, 4096 - len(c.rx))]
                continue
            c.t_closed = now
            done += 1
            ep.unregister(fd)
        if interval:
            now = time.monotonic()
            for c in conns:
                if c.next_send and not c.t_closed and now >= c.next_send:
                    try:
                        c.sock.send(every)
                    except OSError:
                        pass  # the server is closing it: its recv will say
                    c.next_send = now + interval
    for c in conns:
        if c.sock:
            c.sock.close()
    return conns


def status_line(rx):
    return rx.split(b"\r\n", 1)[0].decode("latin-1") if rx else None


def summary(conns):
    closed = [c for c in conns if c.t_closed]
    after = [c.t_closed - c.t_conn for c in closed if c.t_conn]
    return {
        "close_after_min": min(after) if after else None,
        "close_after_max": max(after) if after else None,
        "connected": sum(1 for c in conns if c.t_conn),
        "failed": sum(1 for c in conns if c.failed),
        "failures": sorted({c.failed for c in conns if c.failed}),
        "closed_by_server": len(closed),
        # Reset after the handshake, read or not yet seen (SO_ERROR).
        "reset_by_server": sum(1 for c in closed if c.reset)
        + sum(1 for c in conns if c.failed == os.strerror(errno.ECONNRESET)),
        "first_lines": sorted({status_line(c.rx) or "" for c in closed}),
    }


def slowloris(host, port, n, seconds, interval, sources, status, first=None, every=None):
    first = unescape(first) if first else b"GET / HTTP/1.1\r\nHost: slow\r\n"
    every = unescape(every) if every else b"X-Slow: 1\r\n"
    conns = run_many(host, port, int(n), float(seconds), sources, status, first, every,
                     float(interval))
    out = summary(conns)
    closed = [c for c in conns if c.t_closed and c.t_conn]
    out["got_408"] = sum(1 for c in closed if c.rx.startswith(b"HTTP/1.1 408 "))
    # Wall-clock moment of the first close, to compare with other clients'.
    if closed:
        first = min(c.t_closed for c in closed)
        out["first_close_wall"] = time.time() - (time.monotonic() - first)
    return out


def hold(host, port, n, seconds, sources, status, request=None):
    conns = run_many(host, port, int(n), float(seconds), sources, status,
                     unescape(request) if request else b"", b"", 0)
    return summary(conns)


def connect_blocking(host, port, rcvbuf=None):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    if rcvbuf:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
    s.settimeout(10)
    s.connect((host, port))
    return s


def idle(host, port, request, seconds):
    s = connect_blocking(host, port)
    s.sendall(unescape(request))
    rx = b""
    while b"\r\n\r\n" not in rx:
        d = s.recv(65536)
        if not d:
            break
        rx += d
    head, _, body = rx.partition(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n")[1:]:
        k, _, v = line.partition(b":")
        if k.strip().lower() == b"content-length":
            length = int(v)
    while len(body) < length:
        d = s.recv(65536)
        if not d:
            break
        body += d
    t_resp = time.monotonic()
    s.settimeout(float(seconds))
    closed = None
    try:
        d = s.recv(1)
        if not d:
            closed = time.monotonic() - t_resp
    except socket.timeout:
        pass
    except ConnectionResetError:
        closed = time.monotonic() - t_resp
    return {"status": status_line(rx), "closed_after": closed}


def noread(host, port, request, seconds):
    s = connect_blocking(host, port, rcvbuf=4096)
    t = time.monotonic()
    s.sendall(unescape(request))
    p = select.poll()
    p.register(s.fileno(), 0)  # errors and hang-ups only: nothing is read
    reset = None
    for fd, ev in p.poll(float(seconds) * 1000):
        if ev & (select.POLLERR | select.POLLHUP):
            reset = time.monotonic() - t
    err = s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
    return {"reset_after": reset, "error": os.strerror(err) if err else None}


def iperf3_stall(host, port, seconds):
    cookie = b"stall" * 7 + b"2\0"  # 36 characters and a NUL

    def state(s):
        d = s.recv(1)
        if not d:
            raise EOFError("the server closed")
        return int.from_bytes(d, "big", signed=True)

    c = connect_blocking(host, port)
    c.sendall(cookie)
    if state(c) != 9:  # PARAM_EXCHANGE
        sys.exit("expected PARAM_EXCHANGE")
    params = b'{"tcp":true,"time":30,"parallel":1,"len":1024}'
    c.sendall(len(params).to_bytes(4, "big") + params)
    if state(c) != 10:  # CREATE_STREAMS
        sys.exit("expected CREATE_STREAMS")
    d = connect_blocking(host, port)
    d.sendall(cookie)
    if state(c) != 1 or state(c) != 2:  # TEST_START, TEST_RUNNING
        sys.exit("expected TEST_START, TEST_RUNNING")
    t = time.monotonic()
    c.settimeout(float(seconds))
    closed = None
    try:
        while c.recv(1):
            pass
        closed = time.monotonic() - t
    except socket.timeout:
        pass
    except ConnectionResetError:
        closed = time.monotonic() - t
    d.close()
    c.close()
    return {"closed_after": closed}


def main():
    if sys.argv[1] == "get":
        v = json.load(open(sys.argv[2]))[sys.argv[3]]
        print("%.3f" % v if isinstance(v, float) else v)
        return
    if sys.argv[1] == "within":
        try:
            ok = float(sys.argv[3]) <= float(sys.argv[2]) <= float(sys.argv[4])
        except ValueError:
            ok = False
        sys.exit(0 if ok else 1)
    mode, host, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
    a = sys.argv[4:]
    if mode == "slowloris":
        out = slowloris(host, port, a[0], a[1], a[2], [x for x in a[3].split(",") if x], a[4],
                        *a[5:7])
    elif mode == "hold":
        out = hold(host, port, a[0], a[1], [x for x in a[2].split(",") if x], a[3],
                   a[4] if len(a) > 4 else None)
    elif mode == "idle":
        out = idle(host, port, a[0], a[1])
    elif mode == "noread":
        out = noread(host, port, a[0], a[1])
    elif mode == "iperf3-stall":
        out = iperf3_stall(host, port, a[0])
    else:
        sys.exit("unknown mode " + mode)
    print(json.dumps(out))


main()
