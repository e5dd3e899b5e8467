#!/usr/bin/env python3
"""Speaks iperf3's control protocol by hand, badly on purpose, for
test_iperf3.sh: the server must answer malformed input with SERVER_ERROR
(or by closing), never crash or hang.

  iperf3_raw.py HOST PORT CASE

Cases:
  truncated-json   parameters cut off mid-object        -> SERVER_ERROR 114
  not-json         parameters that are not JSON          -> SERVER_ERROR 114
  not-object       parameters that are a JSON array      -> SERVER_ERROR 114
  huge-length      a length of 0xffffffff                -> SERVER_ERROR 114
  bad-type         "parallel": "four"                    -> SERVER_ERROR 114
  too-many         "parallel": 100000                    -> SERVER_ERROR 6
  deep             an array nested 100000 deep           -> SERVER_ERROR 114
  short-cookie     10 bytes of cookie, then close        -> the server closes
  bad-results      a real test, then malformed results   -> SERVER_ERROR 117
Prints what happened; exits 0 if the server answered as expected.
"""
import socket
import struct
import sys

COOKIE = b"abcdefghijklmnopqrstuvwxyz2345672345\0"  # 36 characters and a NUL
PARAM_EXCHANGE, CREATE_STREAMS, TEST_START, TEST_RUNNING = 9, 10, 1, 2
TEST_END, EXCHANGE_RESULTS, SERVER_ERROR = 4, 13, -2


def recv_exact(s, n):
    buf = b""
    while len(buf) < n:
        d = s.recv(n - len(buf))
        if not d:
            raise EOFError("the server closed after %d of %d bytes" % (len(buf), n))
        buf += d
    return buf


def state(s):
    return struct.unpack("b", recv_exact(s, 1))[0]


def send_json(s, text):
    data = text.encode() if isinstance(text, str) else text
    s.sendall(struct.pack(">I", len(data)) + data)


def expect_error(s, want_ierr):
    st = state(s)
    if st != SERVER_ERROR:
        sys.exit("expected SERVER_ERROR (-2), got state %d" % st)
    ierr, err = struct.unpack(">ii", recv_exact(s, 8))
    if ierr != want_ierr:
        sys.exit("SERVER_ERROR with i_errno %d (errno %d), expected %d" % (ierr, err, want_ierr))
    # Then the server closes the control connection.
    s.settimeout(10)
    if s.recv(1) != b"":
        sys.exit("the server sent more after SERVER_ERROR")
    print("SERVER_ERROR %d, then the server closed the connection" % ierr)


def connect(host, port):
    s = socket.create_connection((host, port), timeout=10)
    s.sendall(COOKIE)
    st = state(s)
    if st != PARAM_EXCHANGE:
        sys.exit("expected PARAM_EXCHANGE (9), got %d" % st)
    return s


def bad_results(host, port):
    s = connect(host, port)
    send_json(s, '{"tcp":true,"time":1,"parallel":1,"len":1024}')
    if state(s) != CREATE_STREAMS:
        sys.exit("expected CREATE_STREAMS")
    d = socket.create_connection((host, port), timeout=10)
    d.sendall(COOKIE)
    if state(s) != TEST_START or state(s) != TEST_RUNNING:
        sys.exit("expected TEST_START, TEST_RUNNING")
    d.sendall(b"x" * 10000)
    s.sendall(struct.pack("b", TEST_END))
    if state(s) != EXCHANGE_RESULTS:
        sys.exit("expected EXCHANGE_RESULTS")
    send_json(s, '{"cpu_util_total":1,"streams":[{"id":1}]}')  # no cpu_util_user, ...
    expect_error(s, 117)
    d.close()


def main():
    host, port, case = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    if case == "short-cookie":
        s = socket.create_connection((host, port), timeout=10)
        s.sendall(COOKIE[:10])
        s.close()
        print("sent 10 bytes of cookie and closed")
        return
    if case == "bad-results":
        bad_results(host, port)
        return
    s = connect(host, port)
    if case == "truncated-json":
        send_json(s, '{"tcp":true,"parallel":')
        expect_error(s, 114)
    elif case == "not-json":
        send_json(s, "\x00\xff garbage \"\\u12")
        expect_error(s, 114)
    elif case == "not-object":
        send_json(s, '[1, 2, 3]')
        expect_error(s, 114)
    elif case == "huge-length":
        s.sendall(struct.pack(">I", 0xFFFFFFFF) + b"{}")
        expect_error(s, 114)
    elif case == "bad-type":
        send_json(s, '{"tcp":true,"parallel":"four"}')
        expect_error(s, 114)
    elif case == "too-many":
        send_json(s, '{"tcp":true,"parallel":100000}')
        expect_error(s, 6)
    elif case == "deep":
        send_json(s, "[" * 100000 + "]" * 100000)
        expect_error(s, 114)
    else:
        sys.exit("unknown case " + case)


main()
