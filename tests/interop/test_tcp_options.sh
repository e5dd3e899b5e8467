#!/usr/bin/env bash
# tcp_options: the TCP options ustack negotiates with the Linux kernel, as
# they go over the wire. Each part records a capture with --pcap, and
# pcap_tcp.py decodes it and checks every segment (see its header):
#  1. the kernel connects to the runner's echo (TCP_OPTIONS_MB, default 4):
#     the kernel's SYN offers MSS, SACK-permitted, timestamps and window
#     scale; ustack's SYN-ACK answers MSS 1460, SACK-permitted, TS with
#     TSecr = the SYN's TSval, window scale 7; every later ustack segment
#     but RSTs has TS (TSval non-decreasing, TSecr a TSval it received), no
#     SACK-permitted or window scale;
#  2. the same through the runner's --faults (2% of frames lost each way):
#     ustack's ACKs carry SACK blocks, each above the ACK number and within
#     data it had received; the echo is byte-exact, and ustack recovered
#     from its own losses with SACK (tcp.sack_recoveries, sack_retransmits);
#  3. the tcpc example (ustack as the client) to a kernel echo server:
#     ustack's SYN offers MSS 1460, SACK-permitted, TS with TSecr 0, window
#     scale 7; the kernel's SYN-ACK answers them; its data segments have TS;
#  4. with tcp_timestamps=0 and tcp_sack=0 in the test's namespace only
#     (per-namespace sysctls: checked before they are set; the host's are
#     only read): ustack's SYN-ACK has neither TS nor SACK-permitted and no
#     later ustack segment has TS or SACK blocks, though losses made holes;
#     and tcpc toward that kernel stops sending TS after its SYN-ACK.
# Parts 1, 3 and 4b run with --offload off, so that the capture holds every
# wire segment (the thresholds count them); part 1b repeats part 1 with the
# offloads on: the capture then holds super-frames, whose header (options
# included) the kernel copies into each piece, checked the same way.
# shellcheck source=lib.sh source-path=SCRIPTDIR disable=SC2119
source "$(dirname "$0")/lib.sh"
need_root_and_tun
PY=$(python3_bin)
need_ustack
TCPC=${TCPC_BIN:-$(dirname "$USTACK")/tcpc}
[ -x "$TCPC" ] || fail "tcpc not found at $TCPC (set TCPC_BIN, or run make build)"
MB=${TCP_OPTIONS_MB:-4}
PCAP_TCP=$INTEROP_DIR/pcap_tcp.py
ns_setup

# ---- helpers ----

ECHO_PID=""
# shellcheck disable=SC2317 # called by the EXIT trap
cleanup_echo() {
    local rc=$?
    set +e
    if [ -n "$ECHO_PID" ]; then
        kill -TERM "$ECHO_PID" 2>/dev/null
        wait "$ECHO_PID" 2>/dev/null
        ECHO_PID=""
    fi
    (exit "$rc")
    _cleanup
}
trap cleanup_echo EXIT
# shellcheck disable=SC2317 # called through wait_until
_echo_gone() { ! kill -0 "$ECHO_PID" 2>/dev/null; }

# tcpc_echo LABEL PORT FILE: a kernel echo server (tcp_peer.py echo-server)
# on $HOST_ADDR:PORT, and tcpc sending FILE to it with a capture in
# $WORK/LABEL.pcap; what comes back must be FILE again.
tcpc_echo() {
    local label=$1 port=$2 data=$3
    local ready=$WORK/$label.ready
    ip netns exec "$NS" "$PY" "$INTEROP_DIR/tcp_peer.py" echo-server "$port" "$ready" \
        >"$WORK/$label.echo.log" 2>&1 </dev/null &
    ECHO_PID=$!
    wait_until 10 test -s "$ready" || fail "the echo server did not start: $(cat "$WORK/$label.echo.log")"
    local rc=0
    in_ns timeout 60 "$TCPC" --tap "$TAP" --addr "$USTACK_ADDR/24" --pcap "$WORK/$label.pcap" --offload off \
        --log info "$HOST_ADDR" "$port" <"$data" >"$WORK/$label.out" 2>"$WORK/$label.err" || rc=$?
    if [ "$rc" -ne 0 ]; then
        cat "$WORK/$label.err" >&2
        fail "$label: tcpc exited with code $rc"
    fi
    assert "$label: tcpc got back the $(stat -c %s "$data") bytes it sent (sha256)" \
        test "$(sha256sum <"$data")" = "$(sha256sum <"$WORK/$label.out")"
    wait_until 15 _echo_gone || fail "$label: the echo server did not finish after the connection closed"
    wait "$ECHO_PID" || fail "$label: the echo server failed: $(cat "$WORK/$label.echo.log")"
    ECHO_PID=""
}

# check_wire LABEL PCAP ARGS...: pcap_tcp.py check on the capture; its
# report goes to the log, and any segment at fault fails the test. The
# NAME=VALUE counters it prints are then read with `wire LABEL NAME`.
check_wire() {
    local label=$1 cap=$2
    shift 2
    local rc=0
    "$PY" "$PCAP_TCP" check "$cap" --ustack "$USTACK_ADDR" "$@" >"$WORK/$label.check" 2>&1 || rc=$?
    grep -vE '^[a-z_]+=[0-9]+$' "$WORK/$label.check" | sed "s/^/[$TEST_NAME]   | /"
    if [ "$rc" -ne 0 ]; then
        log "decoded capture (first 40 TCP segments):"
        "$PY" "$PCAP_TCP" dump "$cap" 2>&1 | head -n 40 | sed "s/^/[$TEST_NAME]   : /"
        fail "$label: the options on the wire are wrong (pcap_tcp.py exit $rc, report above)"
    fi
    log "ok: $label: every segment's options as expected on the wire"
}
wire() {
    local v
    v=$(grep -E "^$2=[0-9]+$" "$WORK/$1.check" | cut -d= -f2)
    echo "${v:-missing}"
}

# The namespace's own TCP sysctls. A net.ipv4 sysctl is per network
# namespace exactly when it is writable inside a namespace other than the
# initial one: the kernel hides the global ones there or makes them
# read-only (mode 0444, as net.core.rmem_max here). So this reads modes and
# values, and writes only once that holds.
host_netns=$(readlink /proc/self/ns/net)
test_netns=$(in_ns readlink /proc/self/ns/net)
[ "$host_netns" != "$test_netns" ] || fail "$NS is the host's network namespace ($host_netns)"
declare -A HOST_SYSCTL
for k in tcp_timestamps tcp_sack tcp_window_scaling; do
    HOST_SYSCTL[$k]=$(cat "/proc/sys/net/ipv4/$k") # read, never written
    mode=$(in_ns stat -c %a "/proc/sys/net/ipv4/$k" 2>/dev/null) ||
        fail "net.ipv4.$k does not exist inside $NS: not per namespace on $(uname -r); not setting it"
    [ $((8#$mode & 8#200)) -ne 0 ] ||
        fail "net.ipv4.$k is read-only (mode $mode) inside $NS: global on $(uname -r); not setting it"
done
log "ok: net.ipv4.tcp_timestamps, tcp_sack, tcp_window_scaling are writable inside $NS" \
    "($test_netns, the host is $host_netns): per-namespace on $(uname -r)"
# ns_tcp TS SACK: set the namespace's tcp_timestamps and tcp_sack (window
# scaling stays on), and check they took there and not on the host.
ns_tcp() {
    in_ns sysctl -qw "net.ipv4.tcp_timestamps=$1" "net.ipv4.tcp_sack=$2" net.ipv4.tcp_window_scaling=1
    assert_eq "$NS: tcp_timestamps tcp_sack tcp_window_scaling" \
        "$(in_ns cat /proc/sys/net/ipv4/tcp_timestamps /proc/sys/net/ipv4/tcp_sack \
            /proc/sys/net/ipv4/tcp_window_scaling | tr '\n' ' ')" "$1 $2 1 "
    local k
    for k in "${!HOST_SYSCTL[@]}"; do
        assert_eq "the host's net.ipv4.$k unchanged" "$(cat "/proc/sys/net/ipv4/$k")" "${HOST_SYSCTL[$k]}"
    done
}

data=$WORK/data.bin
head -c "$((MB * 1024 * 1024))" /dev/urandom >"$data"
small=$WORK/small.bin
head -c "$((2 * 1024 * 1024))" /dev/urandom >"$small"
min_segs=$((MB * 1024 * 1024 / 1460))

ns_tcp 1 1

# ---- 1. the kernel connects: ustack's SYN-ACK and what follows ----
log "part 1: kernel client -> ustack echo, $MB MB"
start_ustack --pcap "$WORK/p1.pcap" --offload off
assert "p1: echo of $MB MB came back byte-exact (sha256)" \
    in_ns timeout 100 "$PY" "$INTEROP_DIR/tcp_peer.py" echo "$USTACK_ADDR" 7 "$data"
stop_ustack
check_wire p1 "$WORK/p1.pcap" --role server --ts on --sack on
assert_eq "p1: timestamps negotiated" "$(wire p1 ts_negotiated)" 1
assert_eq "p1: SACK negotiated" "$(wire p1 sack_negotiated)" 1
assert_ge "p1: ustack data segments checked" "$(wire p1 data)" "$min_segs"
assert_eq "p1: ustack segments with TS, of all after the handshake" "$(wire p1 with_ts)" "$(wire p1 later)"

log "part 1b: the same with the TAP's offloads (super-frames in the capture)"
start_ustack --pcap "$WORK/p1b.pcap"
assert "p1b: echo of $MB MB came back byte-exact (sha256)" \
    in_ns timeout 100 "$PY" "$INTEROP_DIR/tcp_peer.py" echo "$USTACK_ADDR" 7 "$data"
stop_ustack
assert_ge "p1b: super-frames sent (offload.tx_super)" "$(counter offload.tx_super)" 1
check_wire p1b "$WORK/p1b.pcap" --role server --ts on --sack on
assert_ge "p1b: ustack data segments checked (64 KiB at most each)" "$(wire p1b data)" \
    $((MB * 1024 * 1024 / 65536))
assert_eq "p1b: ustack segments with TS, of all after the handshake" "$(wire p1b with_ts)" \
    "$(wire p1b later)"

# ---- 2. losses: SACK blocks from ustack, SACK recovery by ustack ----
log "part 2: kernel client -> ustack echo, $MB MB, 2% of frames lost each way"
start_ustack --pcap "$WORK/p2.pcap" --faults drop=0.02 --seed 7
assert "p2: echo of $MB MB through losses came back byte-exact (sha256)" \
    in_ns timeout 100 "$PY" "$INTEROP_DIR/tcp_peer.py" echo "$USTACK_ADDR" 7 "$data"
stop_ustack
check_wire p2 "$WORK/p2.pcap" --role server --ts on --sack on
assert_ge "p2: kernel data segments that arrived above a hole" "$(wire p2 k_ooo)" 1
assert_ge "p2: ustack ACKs with SACK blocks (all checked)" "$(wire p2 acks_with_sack)" 1
assert_eq "p2: ustack segments with TS, of all after the handshake" "$(wire p2 with_ts)" "$(wire p2 later)"
assert_ge "p2: kernel ACKs with SACK blocks (ustack's losses)" "$(wire p2 k_with_sack)" 1
assert_ge "p2: ustack data segments sent again (on the wire)" "$(wire p2 u_retrans)" 1
assert_ge "p2: tcp.sack_recoveries" "$(counter tcp.sack_recoveries)" 1
assert_ge "p2: tcp.sack_retransmits" "$(counter tcp.sack_retransmits)" 1
assert_eq "p2: tcp.resets" "$(counter tcp.resets)" 0

# ---- 3. ustack connects: its SYN, the kernel's SYN-ACK ----
log "part 3: tcpc (ustack client) -> kernel echo server, 2 MB"
tcpc_echo p3 7777 "$small"
check_wire p3 "$WORK/p3.pcap" --role client --ts on --sack on
assert_eq "p3: timestamps negotiated" "$(wire p3 ts_negotiated)" 1
assert_eq "p3: SACK negotiated" "$(wire p3 sack_negotiated)" 1
assert_ge "p3: ustack data segments checked" "$(wire p3 data)" $((2 * 1024 * 1024 / 1460))
assert_eq "p3: ustack segments with TS, of all after the handshake" "$(wire p3 with_ts)" "$(wire p3 later)"

# ---- 4. the kernel without timestamps and SACK ----
ns_tcp 0 0
log "part 4: kernel client without TS and SACK -> ustack echo, 2 MB, 2% of frames lost each way"
start_ustack --pcap "$WORK/p4.pcap" --faults drop=0.02 --seed 11
assert "p4: echo of 2 MB through losses came back byte-exact (sha256)" \
    in_ns timeout 100 "$PY" "$INTEROP_DIR/tcp_peer.py" echo "$USTACK_ADDR" 7 "$small"
stop_ustack
check_wire p4 "$WORK/p4.pcap" --role server --ts off --sack off
assert_eq "p4: timestamps negotiated" "$(wire p4 ts_negotiated)" 0
assert_eq "p4: SACK negotiated" "$(wire p4 sack_negotiated)" 0
assert_ge "p4: ustack segments checked after the handshake" "$(wire p4 later)" $((2 * 1024 * 1024 / 1460))
assert_eq "p4: ustack segments with TS" "$(wire p4 with_ts)" 0
assert_ge "p4: kernel data segments that arrived above a hole (SACK blocks would be due)" \
    "$(wire p4 k_ooo)" 1
assert_eq "p4: ustack segments with SACK blocks" "$(wire p4 acks_with_sack)" 0
assert_ge "p4: tcp.ooo_segments" "$(counter tcp.ooo_segments)" 1
assert_eq "p4: tcp.sack_recoveries" "$(counter tcp.sack_recoveries)" 0

log "part 4b: tcpc (ustack client) -> kernel echo server without TS and SACK, 2 MB"
tcpc_echo p4b 7778 "$small"
check_wire p4b "$WORK/p4b.pcap" --role client --ts off --sack off
assert_eq "p4b: timestamps negotiated" "$(wire p4b ts_negotiated)" 0
assert_ge "p4b: ustack data segments checked" "$(wire p4b data)" $((2 * 1024 * 1024 / 1460))
assert_eq "p4b: ustack segments with TS after the handshake" "$(wire p4b with_ts)" 0
pass
