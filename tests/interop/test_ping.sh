#!/usr/bin/env bash
# ping: the kernel pings ustack. 200 quick echoes and 20 full-size (1500-byte
# IP packets, DF set) all come back; the runner's counters agree.
# shellcheck source=lib.sh source-path=SCRIPTDIR disable=SC2119
source "$(dirname "$0")/lib.sh"
need_root_and_tun
need_cmd ping
need_ustack
ns_setup
start_ustack

# ping_received OUT: the "N received" figure of ping's summary.
ping_received() {
    sed -nE 's/.* ([0-9]+) received.*/\1/p' <<<"$1" | tail -n 1
}

# -w is a deadline so a stack that stops answering cannot hang the test.
out=$(in_ns ping -n -c 200 -i 0.01 -w 30 "$USTACK_ADDR" 2>&1) || true
echo "$out" | tail -n 3
assert_eq "replies to 200 echo requests" "$(ping_received "$out")" 200

out=$(in_ns ping -n -c 20 -i 0.02 -s 1472 -M "do" -w 30 "$USTACK_ADDR" 2>&1) || true
echo "$out" | tail -n 3
assert_eq "replies to 20 echo requests of 1500 bytes (DF)" "$(ping_received "$out")" 20
assert "full-size replies carry 1480 bytes of ICMP" grep -q "^1480 bytes from $USTACK_ADDR" <<<"$out"

stop_ustack
assert_ge "icmp.tx_echo_reply" "$(counter icmp.tx_echo_reply)" 220
assert_ge "icmp.rx_echo_request" "$(counter icmp.rx_echo_request)" 220
assert_eq "packet buffers freed (pkb.alloc == pkb.free)" "$(counter pkb.alloc)" "$(counter pkb.free)"
pass
