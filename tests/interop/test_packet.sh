#!/usr/bin/env bash
# packet: the runner attached with --packet (AF_PACKET) to one end of a veth
# pair, beside the kernel of its namespace, serving the kernel of another
# namespace on the other end.
#  - ping, TCP echo of 20 MB byte-exact, iperf3 both ways (-n 20M), with
#    --pcap recording what went through (the capture holds the pings);
#  - the interface set down: the runner says so, nothing gets through, and
#    it does not spin on the socket's error; set up again: the runner says
#    so and ping works again;
#  - the interface deleted: the runner says what happened and exits 1;
#  - an interface that does not exist, or is down, at start: exit 1 and a
#    message that says what to do.
# PACKET_MB sets the size of the echo and iperf3 transfers (default 20).
# shellcheck source=lib.sh source-path=SCRIPTDIR disable=SC2119
source "$(dirname "$0")/lib.sh"
need_root_and_tun
PY=$(python3_bin)
need_cmd iperf3 tcpdump ping
need_ustack
MB=${PACKET_MB:-20}
ns_setup_veth
cap=$WORK/capture.pcap

# runner_says TEXT: wait until the runner has logged TEXT.
runner_says() {
    wait_until 20 grep -q -- "$1" "$USTACK_LOGFILE" || fail "the runner did not log '$1'"
    log "ok: the runner says: $(grep -- "$1" "$USTACK_LOGFILE" | tail -n 1 | cut -c1-160)"
}
pings() { in_peer ping -n -q -c "$1" -i 0.05 -W 1 "$USTACK_ADDR" >/dev/null 2>&1; }

start_ustack --packet "$VETH_USTACK" --pcap "$cap"
runner_says "attached to interface $VETH_USTACK through AF_PACKET"

# ---- the kernel on the other end is served ----
out=$(in_peer ping -n -c 5 -i 0.05 -w 10 "$USTACK_ADDR" 2>&1) || true
assert "5 pings answered" grep -q " 5 received" <<<"$out"
# IPv6 too: neighbour discovery's multicast must get through the
# driver's filter (33:33:...), or the kernel never finds the stack.
in_peer sysctl -qw "net.ipv6.conf.$VETH_KERNEL.disable_ipv6=0"
in_peer sysctl -qw "net.ipv6.conf.$VETH_KERNEL.accept_dad=0"
in_peer ip addr add 2001:db8::1/64 dev "$VETH_KERNEL" nodad
assert "ping -6 answered through AF_PACKET" \
    wait_until 20 in_peer ping -6 -n -q -c 1 -W 1 2001:db8::2

data=$WORK/data.bin
head -c "$((MB * 1024 * 1024))" /dev/urandom >"$data"
assert "echo: $MB MB came back byte-exact (sha256)" \
    in_peer timeout 100 "$PY" "$INTEROP_DIR/tcp_peer.py" echo "$USTACK_ADDR" 7 "$data"

CHECK=("$PY" "$INTEROP_DIR/iperf3_check.py")
for dir in forward reverse; do
    args=(-n "${MB}M")
    # ustack sends exactly -n; the kernel's iperf3 may send a block more.
    rev=0 nbytes=(--at-least $((MB * 1024 * 1024)))
    [ "$dir" = reverse ] && args+=(-R) && rev=1 nbytes=(--bytes $((MB * 1024 * 1024)))
    rc=0
    in_peer timeout 60 iperf3 -c "$USTACK_ADDR" -J "${args[@]}" >"$WORK/$dir.json" 2>"$WORK/$dir.err" || rc=$?
    [ "$rc" -eq 0 ] || { cat "$WORK/$dir.json" "$WORK/$dir.err" >&2; fail "iperf3 -c ${args[*]} exited $rc"; }
    assert "iperf3 $dir (-n ${MB}M): $MB MB moved, received == sent" \
        "${CHECK[@]}" result "$WORK/$dir.json" "iperf3 $dir" --streams 1 --reverse "$rev" \
        "${nbytes[@]}" --equal
done

# ---- the interface goes down, and comes back ----
ip -n "$NS" link set "$VETH_USTACK" down
runner_says "interface $VETH_USTACK was set down"
# cpu_ticks: the runner's user + system time so far, in clock ticks.
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$USTACK_PID/stat"; }
t0=$(cpu_ticks)
assert "no ping gets through while it is down" bash -c "! ip netns exec $NS_PEER ping -n -q -c 2 -i 0.2 -W 1 $USTACK_ADDR >/dev/null 2>&1"
# Those pings took over a second; a stack thread woken again and again by
# the socket's pending error would have used most of it.
assert_le "CPU ticks the runner used meanwhile (it does not spin)" $(($(cpu_ticks) - t0)) $(($(getconf CLK_TCK) / 10))
# The kernel reports it to the socket: the stack logs it too (on receive or
# on the next transmit), once.
runner_says "dev=$VETH_USTACK: the interface is down"
assert_eq "and the stack does not think it works meanwhile" \
    "$(grep -c "dev=$VETH_USTACK: working again" "$USTACK_LOGFILE" || true)" 0
ip -n "$NS" link set "$VETH_USTACK" up
runner_says "interface $VETH_USTACK is up again"
assert "ping works again once it is up" wait_until 20 pings 1
assert "and keeps working" pings 3
runner_says "dev=$VETH_USTACK: working again"

stop_ustack
assert_eq "the stack logged the interface down once" \
    "$(grep -c "dev=$VETH_USTACK: the interface is down" "$USTACK_LOGFILE")" 1
assert_ge "eth.dev_errors (the interface went down)" "$(counter eth.dev_errors)" 1
assert_ge "eth.rx (frames received through the ring)" "$(counter eth.rx)" $((2 * MB * 1024 * 1024 / 1514))
assert_ge "eth.tx (frames sent through the TX ring)" "$(counter eth.tx)" $((2 * MB * 1024 * 1024 / 1514))
assert_eq "tcp.drop_checksum" "$(counter tcp.drop_checksum)" 0
assert_eq "packet buffers freed (pkb.alloc == pkb.free)" "$(counter pkb.alloc)" "$(counter pkb.free)"

# ---- what the pcap writer recorded, as with TAP ----
tcpdump -r "$cap" -nn >"$WORK/dump.txt" 2>"$WORK/dump.err" || { cat "$WORK/dump.err" >&2; fail "tcpdump cannot read the capture"; }
assert_ge "ICMP echo requests in the capture" \
    "$(grep -c "IP $HOST_ADDR > $USTACK_ADDR: ICMP echo request" "$WORK/dump.txt")" 5
assert_ge "ICMP echo replies in the capture" \
    "$(grep -c "IP $USTACK_ADDR > $HOST_ADDR: ICMP echo reply" "$WORK/dump.txt")" 5
assert "the ARP reply from ustack's own MAC" \
    grep -q "ARP, Reply $USTACK_ADDR is-at 02:00:c0:00:02:02" "$WORK/dump.txt"

# ---- the interface is deleted under the runner ----
start_ustack --packet "$VETH_USTACK"
assert "ping before the interface is deleted" wait_until 20 pings 1
ip -n "$NS" link del "$VETH_USTACK"
runner_says "interface $VETH_USTACK was deleted"
assert "the runner exits by itself" wait_until 10 _ustack_gone
rc=0
wait "$USTACK_PID" || rc=$?
USTACK_PID=""
assert_eq "its exit code" "$rc" 1
runner_says "$VETH_USTACK is gone, shutting down"

# ---- interfaces it cannot use, at start ----
# expect_refusal DESCRIPTION TEXT ARGS...: the runner exits 1 and logs TEXT.
expect_refusal() {
    local what=$1 text=$2 rc=0
    shift 2
    in_ns "$USTACK" "$@" >"$WORK/refusal.out" 2>&1 </dev/null || rc=$?
    assert_eq "$what: exit code" "$rc" 1
    assert "$what: it says '$text'" grep -q -- "$text" "$WORK/refusal.out"
}
expect_refusal "no such interface" "there is no interface nosuch0 here" --packet nosuch0
ip -n "$NS" link add vd0 type veth peer name vd1
expect_refusal "an interface that is down" "vd0 is down: bring it up first (ip link set vd0 up)" \
    --packet vd0
expect_refusal "not an Ethernet interface" "lo is not an Ethernet interface" --packet lo
pass
