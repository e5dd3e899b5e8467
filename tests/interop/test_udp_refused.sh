#!/usr/bin/env bash
# udp_refused: a datagram from the kernel to a UDP port where ustack has no
# socket gets an ICMP port unreachable, which the kernel turns into
# ECONNREFUSED on its connected socket (python: ConnectionRefusedError).
# Three closed ports, three refusals; ustack counts each.
# shellcheck source=lib.sh source-path=SCRIPTDIR disable=SC2119
source "$(dirname "$0")/lib.sh"
need_root_and_tun
PY=$(python3_bin)
need_ustack
ns_setup
start_ustack

assert "connected kernel sockets see ECONNREFUSED from closed ports 1, 5000, 65535" \
    in_ns "$PY" "$INTEROP_DIR/udp_peer.py" refused "$USTACK_ADDR" 1 5000 65535
# The port next door is open: echo still works afterwards.
assert "the echo port still answers" \
    in_ns "$PY" "$INTEROP_DIR/udp_peer.py" echo "$USTACK_ADDR" 7 16

stop_ustack
assert_eq "udp.drop_no_port" "$(counter udp.drop_no_port)" 3
assert_eq "icmp.tx_dest_unreach" "$(counter icmp.tx_dest_unreach)" 3
assert_eq "icmp.rate_limited" "$(counter icmp.rate_limited)" 0
assert_eq "udp.rx" "$(counter udp.rx)" 4
assert_eq "packet buffers freed (pkb.alloc == pkb.free)" "$(counter pkb.alloc)" "$(counter pkb.free)"
pass
