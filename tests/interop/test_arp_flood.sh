#!/usr/bin/env bash
# arp_flood: 10,000 ARP requests for the runner from made-up MACs and
# addresses in 2 s, one in 253 of them claiming the host's address
# (192.0.2.1) for a made-up MAC, while the host pings the runner 100 times
# a second. The host's entry is in use, so the flood never displaces it
# (the runner sends no request for it) and a claim never replaces its MAC
# without the host failing to answer: ping loses under 5%. Before, the
# entry was evicted every 63 frames and the claims took over: 14% lost.
# shellcheck source=lib.sh source-path=SCRIPTDIR disable=SC2119
source "$(dirname "$0")/lib.sh"
need_root_and_tun
need_cmd ping
PY=$(python3_bin)
need_ustack
ns_setup
start_ustack

# The runner learns the host (from its request) and uses the entry.
assert "ping before the flood" quietly in_ns ping -n -c 2 -i 0.2 -w 5 "$USTACK_ADDR"

# shellcheck disable=SC2317 # called through wait_until
_flooding() { grep -q "^sending" "$WORK/flood.out"; }
: >"$WORK/flood.out"
in_ns "$PY" "$INTEROP_DIR/flood.py" arp-flood "$TAP" 10000 --seconds 2 --claim-host \
    >"$WORK/flood.out" 2>&1 &
flood_pid=$!
wait_until 20 _flooding || fail "the flood did not start: $(cat "$WORK/flood.out")"
out=$(in_ns ping -n -i 0.01 -c 200 -w 30 "$USTACK_ADDR" 2>&1) || true
wait "$flood_pid" || fail "flood.py failed: $(cat "$WORK/flood.out")"
tail -n 1 "$WORK/flood.out"
echo "$out" | tail -n 2
# ping -c goes on until 200 replies (or 30 s): the loss is what it sent more.
sent=$(sed -nE 's/^([0-9]+) packets transmitted.*/\1/p' <<<"$out" | tail -n 1)
received=$(sed -nE 's/.* ([0-9]+) received.*/\1/p' <<<"$out" | tail -n 1)
assert_eq "echo replies" "$received" 200
assert_le "echo requests lost during the flood (under 5% of $sent)" "$((sent - received))" \
    "$((sent / 20))"

stop_ustack
assert_ge "ARP requests answered" "$(counter arp.tx_reply)" 9000
# Every request the runner sent was its announcement or a unicast check
# of the host after a claim: none to resolve the host again.
assert_eq "ARP requests sent beyond the announcement and the checks" \
    "$(($(counter arp.tx_request) - $(counter arp.tx_announce) - $(counter arp.mac_verify)))" 0
assert_eq "entries in use evicted" "$(counter arp.evict_in_use)" 0
assert_eq "the host's MAC replaced" "$(counter arp.mac_changed)" 0
assert_eq "packet buffers freed (pkb.alloc == pkb.free)" "$(counter pkb.alloc)" "$(counter pkb.free)"
pass
