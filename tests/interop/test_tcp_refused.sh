#!/usr/bin/env bash
# tcp_refused: refusals both ways, and ustack as the TCP client.
#  - the kernel connects to a port where the runner does not listen: ustack
#    answers the SYN with a RST, connect() fails with ECONNREFUSED;
#  - the tcpc example (in place of the runner, on the same TAP device)
#    connects out to a kernel echo server (tcp_peer.py echo-server) and sends
#    5 MB of random data: what it prints has the same sha256. Not `socat
#    TCP-LISTEN ... PIPE`: that deadlocks by itself under bulk data (it
#    blocks writing into its full pipe, which only it reads, and stops
#    reading the socket), which made this test hang in about 4 runs of 10;
#  - tcpc to a closed kernel port exits 1 saying "Connection refused";
#  - tcpc to an on-link address nobody holds (192.0.2.77, 2001:db8::77)
#    exits 1 saying "No route to host" once ARP or neighbour discovery gives
#    up (a few seconds; RFC 4861 7.2.2), not after its SYN retries.
# shellcheck source=lib.sh source-path=SCRIPTDIR disable=SC2119
source "$(dirname "$0")/lib.sh"
need_root_and_tun
PY=$(python3_bin)
need_ustack
TCPC=${TCPC_BIN:-$(dirname "$USTACK")/tcpc}
[ -x "$TCPC" ] || fail "tcpc not found at $TCPC (set TCPC_BIN, or run make build)"
ns_setup

# ---- the kernel is refused by ustack ----
start_ustack
assert "kernel connect to $USTACK_ADDR:4444 (no listener) is refused" \
    in_ns timeout 30 "$PY" "$INTEROP_DIR/tcp_peer.py" refused "$USTACK_ADDR" 4444
stop_ustack
assert_ge "tcp.drop_no_conn (the SYN)" "$(counter tcp.drop_no_conn)" 1
assert_ge "tcp.rst_tx (the answer)" "$(counter tcp.rst_tx)" 1

# ---- ustack's tcpc against a kernel echo ----
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
# shellcheck disable=SC2317 # called through wait_until
_echo_gone() { ! kill -0 "$ECHO_PID" 2>/dev/null; }
trap cleanup_echo EXIT

ready=$WORK/echo.ready
ip netns exec "$NS" "$PY" "$INTEROP_DIR/tcp_peer.py" echo-server 7777 "$ready" \
    >"$WORK/echo.log" 2>&1 </dev/null &
ECHO_PID=$!
wait_until 10 test -s "$ready" || fail "the echo server did not start: $(cat "$WORK/echo.log")"
log "kernel echo: tcp_peer.py echo-server on $HOST_ADDR:7777 (pid $ECHO_PID)"

data=$WORK/data.bin
head -c $((5 * 1024 * 1024)) /dev/urandom >"$data"
rc=0
in_ns timeout 60 "$TCPC" --tap "$TAP" --addr "$USTACK_ADDR/24" --log info "$HOST_ADDR" 7777 \
    <"$data" >"$WORK/tcpc.out" 2>"$WORK/tcpc.err" || rc=$?
if [ "$rc" -ne 0 ]; then
    cat "$WORK/tcpc.err" >&2
    fail "tcpc exited with code $rc"
fi
log "sent     $(stat -c %s "$data") bytes sha256 $(sha256sum <"$data" | cut -c1-64)"
log "received $(stat -c %s "$WORK/tcpc.out") bytes sha256 $(sha256sum <"$WORK/tcpc.out" | cut -c1-64)"
assert "tcpc printed exactly the 5 MB it sent (sha256)" \
    test "$(sha256sum <"$data")" = "$(sha256sum <"$WORK/tcpc.out")"
wait_until 15 _echo_gone || fail "the echo server did not finish after the connection closed"
wait "$ECHO_PID" || fail "the echo server failed: $(cat "$WORK/echo.log")"
ECHO_PID=""

# ---- tcpc is refused by the kernel ----
rc=0
echo "anyone on 7778?" | in_ns timeout 30 "$TCPC" --tap "$TAP" --addr "$USTACK_ADDR/24" \
    "$HOST_ADDR" 7778 >"$WORK/closed.out" 2>"$WORK/closed.err" || rc=$?
cat "$WORK/closed.err"
# (A sanitizer report also exits 1: make sure that is not why.)
# shellcheck disable=SC2317 # called through assert
no_sanitizer_report() { ! grep -E "ERROR: (Address|Leak)Sanitizer|runtime error:" "$1"; }
assert "tcpc ended without a sanitizer report" no_sanitizer_report "$WORK/closed.err"
assert_eq "tcpc exit code toward a closed port" "$rc" 1
assert "tcpc reports the refusal" grep -q "Connection refused" "$WORK/closed.err"
assert "tcpc printed nothing" test ! -s "$WORK/closed.out"

# ---- no one holds the address: host unreachable ----
for peer in 192.0.2.77 2001:db8::77; do
    rc=0
    start=$(date +%s)
    in_ns timeout 60 "$TCPC" --tap "$TAP" --addr "$USTACK_ADDR/24" --addr 2001:db8::2/64 \
        "$peer" 7 </dev/null >"$WORK/gone.out" 2>"$WORK/gone.err" || rc=$?
    took=$(($(date +%s) - start))
    cat "$WORK/gone.err"
    assert "tcpc to $peer ended without a sanitizer report" no_sanitizer_report "$WORK/gone.err"
    assert_eq "tcpc exit code toward $peer (nobody there)" "$rc" 1
    assert "tcpc reports $peer unreachable" grep -q "No route to host" "$WORK/gone.err"
    log "tcpc gave up on $peer after ${took} s (the SYN retries alone would take minutes)"
done
pass
