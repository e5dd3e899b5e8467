#!/usr/bin/env bash
# arp_spoof: one forged ARP reply tells the runner that the host
# (192.0.2.1) is at a made-up MAC while the host pings it 20 times a
# second (100 in all). The entry is in use, so the runner asks the MAC it has (a
# unicast request), the host answers, and the forged MAC is never used:
# the pings keep coming back. Before, the runner answered into the void
# until the host's own ARP traffic repaired the entry (26 s measured).
# shellcheck source=lib.sh source-path=SCRIPTDIR disable=SC2119
source "$(dirname "$0")/lib.sh"
need_root_and_tun
need_cmd ping
PY=$(python3_bin)
need_ustack
ns_setup
start_ustack

assert "ping before the forgery" quietly in_ns ping -n -c 2 -i 0.2 -w 5 "$USTACK_ADDR"
: >"$WORK/ping.out"
in_ns ping -n -i 0.05 -c 100 -w 30 "$USTACK_ADDR" >"$WORK/ping.out" 2>&1 &
ping_pid=$!
# 30 replies in: the host's last ARP (its request for us, before the first
# ping) is more than a second old, so the runner checks rather than just
# ignoring the claim.
# shellcheck disable=SC2317 # called through wait_until
_pinging() { [ "$(grep -c "bytes from" "$WORK/ping.out" || true)" -ge 30 ]; }
wait_until 20 _pinging || fail "ping did not get going: $(cat "$WORK/ping.out")"
assert "one forged reply: $HOST_ADDR is at 06:5e:de:ad:be:ef" \
    in_ns "$PY" "$INTEROP_DIR/flood.py" arp-spoof "$TAP" "$HOST_ADDR" 06:5e:de:ad:be:ef
wait "$ping_pid" || true
tail -n 2 "$WORK/ping.out"
# ping -c goes on until 100 replies (or 30 s): the loss is what it sent more.
sent=$(sed -nE 's/^([0-9]+) packets transmitted.*/\1/p' "$WORK/ping.out" | tail -n 1)
received=$(sed -nE 's/.* ([0-9]+) received.*/\1/p' "$WORK/ping.out" | tail -n 1)
assert_eq "echo replies" "$received" 100
assert_le "echo requests lost around the forgery" "$((sent - received))" 2

stop_ustack
assert_eq "the runner checked the host's MAC" "$(counter arp.mac_verify)" 1
assert_eq "the host answered the check" "$(counter arp.mac_kept)" 1
assert_eq "the host's MAC replaced" "$(counter arp.mac_changed)" 0
pass
