#!/usr/bin/env bash
# steps.sh STEP: runs one of the learner's step programs that needs a TAP
# device (examples/steps/, docs/LEARN.md) in a namespace of its own, with the
# kernel on the other end of tap0, does what its step asks of the host, and
# checks what the step promises: its own exit code 0 (it checks its
# counters), the host's view, and for the TCP steps the debug log's story.
#
#   bash tests/interop/steps.sh step04_arp      (STEPS_DIR: where the programs are)
set -euo pipefail
STEP=${1:?usage: steps.sh STEP}
TEST_NAME=$STEP
source "$(dirname "$0")/lib.sh"
STEPS_DIR=${STEPS_DIR:-$REPO_DIR/build/bin}
PROG=$STEPS_DIR/$STEP

need_root_and_tun
[ -x "$PROG" ] || fail "$PROG not built"
ns_setup
OUT="$WORK/$STEP.out"
ERR="$WORK/$STEP.err"

# start_step LEVEL ARGS...: the program in the namespace, stdout to $OUT and
# its log to $ERR; waits for its first line (it is up). USTACK_PID holds it,
# so the cleanup stops it should the test fail.
start_step() {
    local level=$1
    shift
    : >"$OUT"
    ip netns exec "$NS" env USTACK_LOG="$level" "$PROG" "$@" >"$OUT" 2>"$ERR" </dev/null &
    USTACK_PID=$!
    wait_until 15 test -s "$OUT" || fail "$STEP printed nothing in 15 s: $(cat "$ERR")"
    log "$(head -n 1 "$OUT")"
}

# end_step: waits (bounded) for the program; it must exit 0.
end_step() {
    wait_until 30 _ustack_gone || fail "$STEP still running after 30 s"
    local rc=0
    wait "$USTACK_PID" || rc=$?
    USTACK_PID=""
    sed "s/^/[$STEP] /" "$OUT"
    [ "$rc" -eq 0 ] || fail "$STEP exited $rc; its log: $(tail -n 30 "$ERR")"
    grep -q "^${STEP%%_*}: ok" "$OUT" || fail "$STEP did not say ok"
}

# told TEXT...: the debug log has a line with every TEXT.
told() {
    local line t
    line=$(cat "$ERR")
    for t in "$@"; do line=$(grep -F -- "$t" <<<"$line" || true); done
    [ -n "$line" ] || fail "the debug log does not tell: $*"
    log "told: $*"
}

case $STEP in
step03_tap)
    start_step info tap0 3
    in_ns ping -c 3 -i 0.2 -W 2 192.0.2.2 >/dev/null || true
    end_step
    assert "frames counted" grep -Eq "eth rx [3-9]" "$OUT"
    ;;
step04_arp)
    need_cmd arping
    start_step info tap0
    assert "the kernel's arping is answered" in_ns arping -c 1 -w 5 -I tap0 192.0.2.2
    end_step
    assert "the host was resolved" in_ns ip neigh show 192.0.2.2 dev tap0
    ;;
step05_ipv4)
    start_step debug tap0 3
    # One datagram of protocol 253 (RFC 3692, experiments): nobody speaks it.
    in_ns python3 -c 'import socket; s = socket.socket(socket.AF_INET, socket.SOCK_RAW, 253); s.sendto(b"step05", ("192.0.2.2", 0))'
    in_ns ping -c 3 -i 0.2 -W 2 192.0.2.2 >/dev/null || true
    end_step
    assert "protocol 253 counted as unknown" grep -q "unknown protocol 1" "$OUT"
    told "icmp_input: dev=tap0, src=192.0.2.1, type=8" "echo request: answered with an echo reply"
    ;;
step06_icmp)
    start_step debug tap0 3
    end_step
    assert "three replies printed" test "$(grep -c 'reply from 192.0.2.1' "$OUT")" -eq 3
    told "icmp_input: dev=tap0, src=192.0.2.1, type=0" "echo reply: to the ping endpoint"
    ;;
step07_route)
    in_ns ip addr add 198.51.100.1/32 dev lo
    start_step info tap0
    end_step
    assert "no route first" grep -q "without a route: ENETUNREACH" "$OUT"
    ;;
step08_udp | step09_runtime)
    start_step info tap0 1
    got=$(echo "hello $STEP" | in_ns nc -u -w 2 192.0.2.2 7 || true)
    assert_eq "the echo" "$got" "hello $STEP"
    end_step
    ;;
step10_tcp_handshake)
    start_step debug tap0
    assert "nc connects" in_ns nc -z -w 5 192.0.2.2 7
    end_step
    told "tcp_listen_input: in 192.0.2.1:" "[S]" "LISTEN: SYN: a half-open child"
    told "CLOSED -> SYN-RECEIVED"
    told "out [stack] 192.0.2.2:7 > 192.0.2.1:" "[S.]" "SYN-ACK"
    told "SYN-RECEIVED: ACK of our SYN-ACK"
    told "SYN-RECEIVED -> ESTABLISHED"
    told "poll step:" "frames in"
    ;;
step11_tcp_data)
    start_step debug tap0
    got=$(printf 'hello, step 11\n' | in_ns nc -q 1 -w 5 192.0.2.2 7 || true)
    assert_eq "the echo" "$got" "hello, step 11"
    end_step
    told "[P.]" "len=15: ESTABLISHED:" "15 bytes in order: to the receive ring"
    told "out [app] 192.0.2.2:7 > 192.0.2.1:" "len=15: new data"
    told "FIN: the peer is done sending"
    told "ESTABLISHED -> CLOSE-WAIT"
    told "CLOSE-WAIT -> LAST-ACK"
    told "out [app] 192.0.2.2:7 > 192.0.2.1:" "[F.]" "FIN: we have no more to send"
    ;;
step12_tcp_close)
    start_step debug tap0
    got=$(in_ns nc -w 5 192.0.2.2 7 </dev/null || true)
    assert_eq "what the server said" "$got" "bye"
    end_step
    told "ESTABLISHED -> FIN-WAIT-1"
    told "FIN-WAIT-1 -> FIN-WAIT-2"
    told "FIN-WAIT-2 -> TIME-WAIT"
    told "TIME-WAIT -> CLOSED"
    ;;
step14_ipv6)
    # lib.sh turns IPv6 off in its namespaces; this step wants it on tap0.
    in_ns sysctl -qw net.ipv6.conf.all.disable_ipv6=0
    in_ns sysctl -qw net.ipv6.conf.tap0.disable_ipv6=0
    in_ns ip -6 addr add 2001:db8::1/64 dev tap0 nodad
    start_step debug tap0 3
    # Our address is usable once its duplicate detection is over (about 1 s).
    assert "ping -6 is answered" in_ns ping -6 -c 3 -i 0.3 -w 20 2001:db8::2
    end_step
    assert "the host learnt our MAC by neighbour discovery" in_ns ip -6 neigh show 2001:db8::2 dev tap0
    ;;
*) fail "no such TAP step: $STEP" ;;
esac
pass
