# Helpers for the tests of the runner's limits and timeouts, sourced after
# lib.sh (and after need_root_and_tun, ns_setup): clients that hold
# connections (slow_clients.py) in the test's namespace, and reading what
# they report.
#
#   holders_init                   sets PY and SLOW; call once
#   hold_start NAME PORT N SECONDS SOURCES [REQUEST]
#                                  N connections held in the background
#   hold_settled NAME              true once they are all settled
#   hold_wait NAME                 waits (20 s at most) until they are, and
#                                  prints how many are held
#   hold_release NAME              stops the holder, waits for its report
#   hold_end NAME                  waits for the holder to end by itself (the
#                                  server closed them all, or its SECONDS)
#   get NAME KEY                   KEY of the JSON report $WORK/NAME.json
#   within VALUE LO HI             LO <= VALUE <= HI (numbers, maybe decimal)
#   echo_once                      one new client of the echo service:
#                                  prints what came back ("still here")
#   snapshot                       asks the runner for its counters (SIGUSR1)
#                                  and waits until they are printed
# shellcheck shell=bash

holders_init() {
    PY=$(python3_bin)
    SLOW=("$PY" "$INTEROP_DIR/slow_clients.py")
    declare -gA HOLDER_PID=()
}

hold_start() {
    local name=$1 port=$2 n=$3 seconds=$4 sources=$5
    shift 5
    ip netns exec "$NS" "${SLOW[@]}" hold "$USTACK_ADDR" "$port" "$n" "$seconds" "$sources" \
        "$WORK/$name.status" "$@" >"$WORK/$name.json" 2>"$WORK/$name.err" &
    HOLDER_PID[$name]=$!
}

hold_settled() {
    [ -s "$WORK/$1.status" ] || ! kill -0 "${HOLDER_PID[$1]}" 2>/dev/null
}

hold_wait() {
    wait_until 20 hold_settled "$1" || fail "$1: the connections did not settle: $(cat "$WORK/$1.err")"
    [ -s "$WORK/$1.status" ] || fail "$1: the holder ended early: $(cat "$WORK/$1.err")"
    cut -d' ' -f2 "$WORK/$1.status"
}

hold_release() {
    touch "$WORK/$1.status.stop"
    wait "${HOLDER_PID[$1]}" || fail "$1: slow_clients.py failed: $(cat "$WORK/$1.err")"
}

hold_end() {
    wait "${HOLDER_PID[$1]}" || fail "$1: slow_clients.py failed: $(cat "$WORK/$1.err")"
}

get() { "${SLOW[@]}" get "$WORK/$1.json" "$2"; }
within() { "${SLOW[@]}" within "$@"; }

echo_once() {
    in_ns timeout 20 "$PY" -c '
import socket, sys
s = socket.create_connection((sys.argv[1], 7), timeout=15)
s.sendall(b"still here\n")
print(s.recv(100).decode().strip())' "$USTACK_ADDR" 2>&1 || true
}

snapshot() {
    local before
    before=$(grep -c -- '---- ustack counters ----' "$USTACK_LOGFILE" || true)
    kill -USR1 "$USTACK_PID"
    # shellcheck disable=SC2317 # called through wait_until
    printed() { [ "$(grep -c -- '---- ustack counters ----' "$USTACK_LOGFILE" || true)" -gt "$before" ] &&
        grep -q '^pkb.alloc=' <(tac "$USTACK_LOGFILE" | sed '/---- ustack counters ----/q'); }
    wait_until 30 printed || fail "the runner did not print its counters on SIGUSR1"
}
