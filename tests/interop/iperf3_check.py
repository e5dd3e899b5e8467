#!/usr/bin/env python3
"""Checks an iperf3 -J result (stock iperf3's or iperf3c's) for test_iperf3.sh.

  iperf3_check.py result FILE LABEL [--streams N] [--reverse 0|1] [--bytes N]
                  [--at-least N] [--seconds S] [--equal]
      no "error" key; start.test_start.reverse as given; N streams, each
      with bytes moved; sum_sent and sum_received with bytes > 0 and
      bits_per_second > 0, received <= sent; with --bytes, the sender sent
      exactly N (the test was -n N); with --at-least N, the sender sent N
      and at most one 128 KiB block more (Debian's iperf3 3.12 client can
      send one block past -n: its multisend loop skips the byte check on
      its last turn; upstream documents -n as "at least"); with --equal,
      received == sent; with
      --seconds, the sender's seconds within [S - 0.25, S + 1]; with
      --retransmits, sum_sent reports the sender's retransmissions (an
      integer >= 0: ustack's come from TCP_INFO). Prints one line with both
      sides' throughput.
  iperf3_check.py same CLIENT SERVER
      the figures the client got from the server (iperf3c's -J) are the
      server's own (iperf3 -s -J): sum_sent and sum_received bytes agree on
      the side the server measured.
"""
import json
import sys


def fail(msg):
    print("iperf3_check: " + msg, file=sys.stderr)
    sys.exit(1)


def load(path):
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError) as e:
        fail("%s: not a JSON document: %s" % (path, e))


def opt(args, name, conv, default=None):
    if name in args:
        i = args.index(name)
        return conv(args[i + 1])
    return default


def result(path, label, args):
    d = load(path)
    if "error" in d:
        fail("%s: iperf3 reported an error: %s" % (label, d["error"]))
    try:
        ts = d["start"]["test_start"]
        end = d["end"]
        sent, recv = end["sum_sent"], end["sum_received"]
        streams = end["streams"]
    except (KeyError, TypeError) as e:
        fail("%s: missing %s in the result" % (label, e))
    reverse = opt(args, "--reverse", int)
    if reverse is not None and int(ts.get("reverse", -1)) != reverse:
        fail("%s: start.test_start.reverse is %s, expected %d" % (label, ts.get("reverse"), reverse))
    n = opt(args, "--streams", int)
    if n is not None:
        if len(streams) != n:
            fail("%s: %d streams in the result, expected %d" % (label, len(streams), n))
        if int(ts.get("num_streams", -1)) != n:
            fail("%s: test_start.num_streams is %s, expected %d" % (label, ts.get("num_streams"), n))
    for s in streams:
        for side in ("sender", "receiver"):
            if s.get(side, {}).get("bytes", 0) <= 0:
                fail("%s: a stream's %s moved no bytes: %s" % (label, side, s))
    for name, side in (("sum_sent", sent), ("sum_received", recv)):
        if side.get("bytes", 0) <= 0 or side.get("bits_per_second", 0) <= 0:
            fail("%s: %s has no bytes or no throughput: %s" % (label, name, side))
    if recv["bytes"] > sent["bytes"]:
        fail("%s: received %d bytes, more than the %d sent" % (label, recv["bytes"], sent["bytes"]))
    nbytes = opt(args, "--bytes", int)
    if nbytes is not None and sent["bytes"] != nbytes:
        fail("%s: -n %d, but the sender sent %d" % (label, nbytes, sent["bytes"]))
    least = opt(args, "--at-least", int)
    if least is not None and not least <= sent["bytes"] <= least + 131072:
        fail("%s: -n %d, but the sender sent %d (more than one block off)"
             % (label, least, sent["bytes"]))
    if "--equal" in args and recv["bytes"] != sent["bytes"]:
        fail("%s: received %d bytes, sent %d" % (label, recv["bytes"], sent["bytes"]))
    secs = opt(args, "--seconds", float)
    if secs is not None and not secs - 0.25 <= sent["seconds"] <= secs + 1:
        fail("%s: the sender's seconds are %.3f, expected about %g" % (label, sent["seconds"], secs))
    if "--retransmits" in args:
        r = sent.get("retransmits")
        if not isinstance(r, int) or r < 0:
            fail("%s: sum_sent does not report the sender's retransmissions: %s" % (label, sent))
    print("%s: sender %d bytes in %.2f s = %.0f Mbit/s, receiver %d bytes in %.2f s = %.0f Mbit/s"
          % (label, sent["bytes"], sent["seconds"], sent["bits_per_second"] / 1e6,
             recv["bytes"], recv["seconds"], recv["bits_per_second"] / 1e6))


def same(client_path, server_path):
    c, s = load(client_path), load(server_path)
    for d, who in ((c, "client"), (s, "server")):
        if "error" in d:
            fail("%s: %s" % (who, d["error"]))
    reverse = int(c["start"]["test_start"]["reverse"])
    # The server measured what it received (forward) or sent (reverse).
    key = "sum_sent" if reverse else "sum_received"
    cb, sb = c["end"][key]["bytes"], s["end"][key]["bytes"]
    if cb != sb:
        fail("%s: the client reports %d bytes, the server measured %d" % (key, cb, sb))
    print("%s agrees with the server: %d bytes" % (key, cb))


def main():
    a = sys.argv[1:]
    if len(a) >= 3 and a[0] == "result":
        result(a[1], a[2], a[3:])
    elif len(a) == 3 and a[0] == "same":
        same(a[1], a[2])
    else:
        fail("usage: iperf3_check.py result FILE LABEL [options] | same CLIENT SERVER")


main()
