#!/usr/bin/env bash
# tcp_loss: TCP through random loss both ways, with SACK on both ends.
# This project's kernels have no sch_netem, and a drop in the namespace's
# own output path is no loss to the kernel's TCP (it sees the failed
# transmit and sends again, counting nothing). So the losses are made
# below each sender's TCP:
#   ustack -> kernel: nftables `numgen random` at the TAP's ingress hook
#                     (netdev family), as netem on the far side would;
#   kernel -> ustack: the runner's fault injector (--faults drop=), which
#                     also drops some of ustack's own frames after its TCP.
# 10 MB of random data go through the runner's echo (port 7) and must come
# back with the same sha256. Both ends must have recovered: ustack with SACK
# (RFC 6675), and the kernel using ustack's SACK blocks.
# TCP_LOSS_MB sets the size (default 10), TCP_LOSS_PERMILLE the kernel-side
# loss (10) and TCP_LOSS_FAULTS ustack's (0.01).
# shellcheck source=lib.sh source-path=SCRIPTDIR disable=SC2119
source "$(dirname "$0")/lib.sh"
need_root_and_tun
PY=$(python3_bin)
need_cmd nft
need_ustack
MB=${TCP_LOSS_MB:-10}
LOSS=${TCP_LOSS_PERMILLE:-10}
FAULTS=${TCP_LOSS_FAULTS:-0.01}
ns_setup

# The rules live in the test's own namespace and die with it.
if ! in_ns nft -f - 2>"$WORK/nft.err" <<NFT
table netdev ustloss {
    chain in { type filter hook ingress device "$TAP" priority 0; numgen random mod 1000 < $LOSS counter drop; }
}
NFT
then
    skip "nftables cannot load a ruleset here: $(cat "$WORK/nft.err")"
fi
log "loss: $LOSS per mille of what ustack sends (nftables, $TAP ingress), $FAULTS of each way in ustack"
start_ustack --faults "drop=$FAULTS" --seed 11

kstat() { # kstat FIELD: a TcpExt counter of the namespace's kernel
    in_ns awk -v f="$1" '/^TcpExt:/ { if (!n) { for (i = 1; i <= NF; i++) if ($i == f) c = i; n = 1 } else print $c }' /proc/net/netstat
}
# The kernel used our SACK blocks: segments it marked SACKed (merged into,
# shifted onto or tagged beside others: TcpExt TCPSackMerged,
# TCPSackShifted, TCPSackShiftFallback).
ksacked() { echo $(($(kstat TCPSackMerged) + $(kstat TCPSackShifted) + $(kstat TCPSackShiftFallback))); }
before=$(ksacked)
tcpstat() { in_ns awk -v c="$1" '/^Tcp:/ {n++; if (n == 2) print $c}' /proc/net/snmp; }
out_before=$(tcpstat 12) # OutSegs
retrans_before=$(tcpstat 13) # RetransSegs
data=$WORK/data.bin
head -c "$((MB * 1024 * 1024))" /dev/urandom >"$data"
assert "echo through $LOSS per mille loss: $MB MB came back byte-exact (sha256)" \
    in_ns timeout 100 "$PY" "$INTEROP_DIR/tcp_peer.py" echo "$USTACK_ADDR" 7 "$data"
after=$(ksacked)
out_after=$(tcpstat 12)
retrans_after=$(tcpstat 13)
log "kernel: TCPSackRecovery $(kstat TCPSackRecovery), TCPLossProbeRecovery $(kstat TCPLossProbeRecovery), TCPFastRetrans $(kstat TCPFastRetrans)"
log "nftables dropped $(in_ns nft list table netdev ustloss | grep -o 'counter packets [0-9]*' | grep -o '[0-9]*$') of ustack's frames"

stop_ustack
assert_ge "kernel retransmitted (Tcp RetransSegs grew)" "$((retrans_after - retrans_before))" 1
# ustack drops $FAULTS of what the kernel sends; our SACK blocks must tell
# it which: it may resend the lost and a few more (tail probes), not the
# ends of ranges it was never told of (7% of its segments at 1% loss, when
# fewer ACKs reported the lowest ranges instead of the latest).
log "kernel: $((out_after - out_before)) segments out, $((retrans_after - retrans_before)) retransmitted"
assert_le "kernel retransmissions per 1000 segments sent (ustack drops $FAULTS)" \
    "$(((retrans_after - retrans_before) * 1000 / (out_after - out_before)))" 20
assert_ge "kernel took ustack's SACK blocks (TcpExt TCPSack{Merged,Shifted,ShiftFallback} grew)" "$((after - before))" 1
assert_ge "ustack recovered with SACK (tcp.sack_recoveries)" "$(counter tcp.sack_recoveries)" 1
assert_ge "ustack's SACK retransmissions (tcp.sack_retransmits)" "$(counter tcp.sack_retransmits)" 1
assert_ge "tcp.ooo_segments (after a loss)" "$(counter tcp.ooo_segments)" 1
assert_eq "tcp.drop_paws (the kernel's timestamps never go back)" "$(counter tcp.drop_paws)" 0
assert_eq "tcp.resets" "$(counter tcp.resets)" 0
assert_eq "tcp.timeouts" "$(counter tcp.timeouts)" 0
assert_eq "packet buffers freed (pkb.alloc == pkb.free)" "$(counter pkb.alloc)" "$(counter pkb.free)"
pass
