#!/usr/bin/env bash
# tcp_faults: the TCP echo check through a bad link made by ustack itself,
# for machines whose kernel has no sch_netem (this project's CI has none):
# the runner's --faults wraps its TAP device in a seeded fault injector that
# loses 2%, duplicates 1%, reorders 5% and corrupts 0.5% of the frames in
# BOTH directions, so the kernel's TCP recovers from losses too. 5 MB of
# random data go through the runner's echo (port 7) and must come back with
# the same sha256; both sides must have retransmitted.
# TCP_FAULTS_MB sets the size (default 5).
# shellcheck source=lib.sh source-path=SCRIPTDIR disable=SC2119
source "$(dirname "$0")/lib.sh"
need_root_and_tun
PY=$(python3_bin)
need_ustack
MB=${TCP_FAULTS_MB:-5}
ns_setup
start_ustack --faults drop=0.02,dup=0.01,reorder=0.05,corrupt=0.005 --seed 7

before=$(in_ns awk '/^Tcp:/ {n++; if (n == 2) print $13}' /proc/net/snmp)
data=$WORK/data.bin
head -c "$((MB * 1024 * 1024))" /dev/urandom >"$data"
assert "echo through injected faults: $MB MB came back byte-exact (sha256)" \
    in_ns timeout 100 "$PY" "$INTEROP_DIR/tcp_peer.py" echo "$USTACK_ADDR" 7 "$data"
after=$(in_ns awk '/^Tcp:/ {n++; if (n == 2) print $13}' /proc/net/snmp)

stop_ustack
assert_ge "kernel retransmitted (Tcp RetransSegs grew)" "$((after - before))" 1
assert_ge "ustack retransmitted (tcp.retransmits)" "$(counter tcp.retransmits)" 1
assert_ge "tcp.ooo_segments (reordered or after a loss)" "$(counter tcp.ooo_segments)" 1
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
