#!/usr/bin/env bash
# tcp_refused: refusals both ways, and ustack as the TCP client.
#  - the kernel connects to a port where the runner does not listen: ustack
#    answers the SYN with a RST, connect() fails with ECONNREFUSED;
#  - the tcpc example (in place of the runner, on the same TAP device)
#    connects out to a kernel `socat TCP-LISTEN ... PIPE` echo and sends 5 MB
#    of random data: what it prints has the same sha256;
#  - tcpc to a closed kernel port exits 1 saying "Connection refused".
# shellcheck source=lib.sh source-path=SCRIPTDIR disable=SC2119
source "$(dirname "$0")/lib.sh"
need_root_and_tun
PY=$(python3_bin)
need_cmd socat
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
SOCAT_PID=""
# shellcheck disable=SC2317 # called by the EXIT trap
cleanup_socat() {
    local rc=$?
    set +e
    if [ -n "$SOCAT_PID" ]; then
        kill -TERM "$SOCAT_PID" 2>/dev/null
        wait_until 5 _socat_gone || kill -KILL "$SOCAT_PID" 2>/dev/null
        wait "$SOCAT_PID" 2>/dev/null
        SOCAT_PID=""
    fi
    (exit "$rc")
    _cleanup
}
# shellcheck disable=SC2317 # called through wait_until
_socat_gone() { ! kill -0 "$SOCAT_PID" 2>/dev/null; }
trap cleanup_socat EXIT

# shellcheck disable=SC2317 # called through wait_until
_socat_listening() { in_ns ss -Hltn "sport = :7777" | grep -q LISTEN; }

# One connection, echoed through a pipe; after tcpc's FIN socat passes the
# EOF on, returns what is left and closes (-t: up to 10 s for that).
pdeath=()
if setpriv --help 2>/dev/null | grep -q -- --pdeathsig; then
    pdeath=(setpriv --pdeathsig TERM --)
fi
ip netns exec "$NS" "${pdeath[@]}" socat -t 10 -T 60 \
    "TCP-LISTEN:7777,bind=$HOST_ADDR,reuseaddr" PIPE >"$WORK/socat.log" 2>&1 </dev/null &
SOCAT_PID=$!
wait_until 10 _socat_listening || fail "socat is not listening: $(cat "$WORK/socat.log")"
log "kernel echo: socat on $HOST_ADDR:7777 (pid $SOCAT_PID)"

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
wait_until 15 _socat_gone || fail "socat did not finish after the connection closed"
wait "$SOCAT_PID" || fail "socat failed: $(cat "$WORK/socat.log")"
SOCAT_PID=""

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
pass
