#!/usr/bin/env bash
# tcp_netem: the TCP echo check through a bad link. netem on tap0 (inside the
# namespace) loses 2%, duplicates 1%, reorders 5% (with a 2 ms delay for the
# rest) and corrupts 0.5% of the kernel's frames to ustack; 10 MB of random
# data go through the runner's echo (port 7) and must come back with the same
# sha256. ustack sees the damage: out-of-order segments, checksum failures.
# Skipped when the kernel has no sch_netem (tc qdisc add fails).
# TCP_NETEM_MB sets the size (default 10).
# shellcheck source=lib.sh source-path=SCRIPTDIR disable=SC2119
source "$(dirname "$0")/lib.sh"
need_root_and_tun
PY=$(python3_bin)
need_cmd tc
need_ustack
MB=${TCP_NETEM_MB:-10}
ns_setup

NETEM=(loss 2% duplicate 1% delay 2ms reorder 5% corrupt 0.5%)
if ! in_ns tc qdisc add dev "$TAP" root netem "${NETEM[@]}" 2>"$WORK/tc.err"; then
    skip "sch_netem is not available: tc qdisc add dev $TAP root netem failed: $(cat "$WORK/tc.err")"
fi
log "netem on $TAP: $(in_ns tc qdisc show dev "$TAP" | head -n 1)"
start_ustack

data=$WORK/data.bin
head -c "$((MB * 1024 * 1024))" /dev/urandom >"$data"
assert "echo through netem: $MB MB came back byte-exact (sha256)" \
    in_ns timeout 100 "$PY" "$INTEROP_DIR/tcp_peer.py" echo "$USTACK_ADDR" 7 "$data"

# What netem did, as the qdisc counted it.
in_ns tc -s qdisc show dev "$TAP" | sed 's/^/[tcp_netem] netem: /'

stop_ustack
assert_ge "tcp.ooo_segments (reordered or after a loss)" "$(counter tcp.ooo_segments)" 1
# A flipped bit fails a checksum, or a header check before it (or hits a
# source MAC address or padding, which nobody checks).
damaged=0
for c in tcp.drop_checksum tcp.drop_malformed ip.drop_checksum ip.drop_version ip.drop_hdr_len \
    ip.drop_total_len ip.drop_not_ours ip.drop_bad_src eth.drop_not_for_us eth.drop_unknown_type \
    eth.drop_vlan; do
    damaged=$((damaged + $(counter "$c")))
done
assert_ge "corrupted frames dropped (checksum and header checks)" "$damaged" 1
assert_eq "tcp.resets" "$(counter tcp.resets)" 0
assert_eq "tcp.timeouts" "$(counter tcp.timeouts)" 0
assert_eq "packet buffers freed (pkb.alloc == pkb.free)" "$(counter pkb.alloc)" "$(counter pkb.free)"
pass
