#!/usr/bin/env bash
# tcp_many: 200 connections from the kernel to the runner's echo service
# (port 7), all established before any of them sends (python threads behind
# a barrier), each echoing 20 kB of its own random data byte-exact. The
# runner serves them all from one thread with ust_poll.
# TCP_MANY_CONNS and TCP_MANY_BYTES change the figures.
# shellcheck source=lib.sh source-path=SCRIPTDIR disable=SC2119
source "$(dirname "$0")/lib.sh"
need_root_and_tun
PY=$(python3_bin)
need_ustack
CONNS=${TCP_MANY_CONNS:-200}
BYTES=${TCP_MANY_BYTES:-20000}
ns_setup
start_ustack

assert "$CONNS concurrent connections echo $BYTES bytes each" \
    in_ns timeout 100 "$PY" "$INTEROP_DIR/tcp_peer.py" many "$USTACK_ADDR" 7 "$CONNS" "$BYTES"

# Every connection is over on ustack's side as well: the runner closed each
# socket after the kernel's FIN (passive close: LAST-ACK, then gone).
stop_ustack
assert_ge "tcp.passive_opens" "$(counter tcp.passive_opens)" "$CONNS"
assert_ge "tcp.established" "$(counter tcp.established)" "$CONNS"
assert_eq "tcp.resets" "$(counter tcp.resets)" 0
assert_eq "tcp.aborts" "$(counter tcp.aborts)" 0
assert_eq "tcp.timeouts" "$(counter tcp.timeouts)" 0
assert_eq "packet buffers freed (pkb.alloc == pkb.free)" "$(counter pkb.alloc)" "$(counter pkb.free)"
pass
