#!/usr/bin/env bash
# udp_echo: the kernel talks to the runner's UDP echo service (port 7).
# Datagrams of 0, 1, 1472 (a full 1500-byte packet), 8000 and 65000 bytes of
# random data come back byte-exact; 8000 and 65000 are fragmented on the wire
# both ways, so ustack reassembles the kernel's fragments and fragments its
# own replies (its counters say so). netcat-openbsd gets a one-line echo, and
# the discard service (port 9) swallows what it is sent.
# shellcheck source=lib.sh source-path=SCRIPTDIR disable=SC2119
source "$(dirname "$0")/lib.sh"
need_root_and_tun
PY=$(python3_bin)
need_cmd nc
need_ustack
ns_setup
start_ustack

assert "datagrams of 0..65000 bytes echoed byte-exact" \
    in_ns "$PY" "$INTEROP_DIR/udp_peer.py" echo "$USTACK_ADDR" 7 1 0 1472 8000 65000 1 8000

# Discard (port 9) swallows a datagram. Sent before the netcat echo below, so
# by the time that echo is back, ustack has taken this one in as well.
echo "into the void" | in_ns timeout 20 nc -u -n -w 1 -q 0 "$USTACK_ADDR" 9 || true

# netcat: -W 1 quits after the first datagram comes back; -w bounds the wait.
out=$(echo "hello from netcat" | in_ns timeout 20 nc -u -n -W 1 -w 5 "$USTACK_ADDR" 7) || true
assert_eq "nc -u one-line echo" "$out" "hello from netcat"

stop_ustack
# 8000 bytes of UDP payload travel as 6 fragments of up to 1480 bytes, 65000
# as 44; both sides cut the same way: 6 + 6 + 44 each way.
assert_eq "ip.frag_rx (fragments from the kernel)" "$(counter ip.frag_rx)" 56
assert_eq "ip.reasm_ok (8000 twice, 65000)" "$(counter ip.reasm_ok)" 3
assert_eq "ip.frag_ok (replies that needed fragments)" "$(counter ip.frag_ok)" 3
assert_eq "ip.frag_tx (fragments sent)" "$(counter ip.frag_tx)" 56
# 7 datagrams from python and 1 from nc echoed, 1 discarded.
assert_eq "udp.rx" "$(counter udp.rx)" 9
assert_eq "udp.queued" "$(counter udp.queued)" 9
assert_eq "udp.tx (echoes)" "$(counter udp.tx)" 8
assert_eq "udp.drop_checksum" "$(counter udp.drop_checksum)" 0
assert_eq "udp.drop_no_port" "$(counter udp.drop_no_port)" 0
assert_eq "ip.reasm_timeout" "$(counter ip.reasm_timeout)" 0
assert_eq "packet buffers freed (pkb.alloc == pkb.free)" "$(counter pkb.alloc)" "$(counter pkb.free)"
pass
