#!/usr/bin/env bash
# udp_client: ustack as the client. The udpc example (in place of the runner,
# on the same TAP device) sends lines to a kernel UDP echo server in the
# namespace and prints the replies: they equal the input, including a line of
# 8000 bytes that crosses the wire in fragments both ways (the kernel's own
# counters in /proc/net/snmp show it reassembled and fragmented). A datagram
# to a closed kernel port makes udpc's connected socket fail with
# ECONNREFUSED: udpc exits 1 and says "Connection refused".
# shellcheck source=lib.sh source-path=SCRIPTDIR disable=SC2119
source "$(dirname "$0")/lib.sh"
need_root_and_tun
PY=$(python3_bin)
UDPC=${UDPC_BIN:-$REPO_DIR/build/bin/udpc}
[ -x "$UDPC" ] || fail "udpc not found at $UDPC (set UDPC_BIN, or run make build)"
ns_setup

SERVER_PID=""
# shellcheck disable=SC2317 # called by the EXIT trap
cleanup_server() {
    local rc=$?
    set +e
    if [ -n "$SERVER_PID" ]; then
        kill -TERM "$SERVER_PID" 2>/dev/null
        wait_until 5 _server_gone || kill -KILL "$SERVER_PID" 2>/dev/null
        wait "$SERVER_PID" 2>/dev/null
        SERVER_PID=""
    fi
    (exit "$rc")
    _cleanup
}
# shellcheck disable=SC2317 # called through wait_until
_server_gone() { ! kill -0 "$SERVER_PID" 2>/dev/null; }
trap cleanup_server EXIT

# snmp_ip FIELD: a counter of the namespace kernel's IP layer.
snmp_ip() {
    # shellcheck disable=SC2016 # an awk program
    in_ns awk -v f="$1" '$1 == "Ip:" { if (!h) { for (i = 2; i <= NF; i++) col[$i] = i; h = 1 }
        else print $col[f] }' /proc/net/snmp
}

ready=$WORK/server.ready
# ip netns exec (and setpriv) exec the server: $! is python's own pid. It gets
# SIGTERM if this shell dies without cleaning up.
pdeath=()
if setpriv --help 2>/dev/null | grep -q -- --pdeathsig; then
    pdeath=(setpriv --pdeathsig TERM --)
fi
ip netns exec "$NS" "${pdeath[@]}" "$PY" "$INTEROP_DIR/udp_peer.py" server 9999 "$ready" \
    >"$WORK/server.log" 2>&1 </dev/null &
SERVER_PID=$!
wait_until 10 test -s "$ready" || fail "the kernel echo server did not start: $(cat "$WORK/server.log")"
log "kernel echo server on $HOST_ADDR:9999 (pid $SERVER_PID)"

# run_udpc OUT ERR ARGS...: udpc on tap0 (bounded), stdin from the caller.
run_udpc() {
    local out=$1 err=$2
    shift 2
    local rc=0
    in_ns timeout 60 "$UDPC" --tap "$TAP" --addr "$USTACK_ADDR/24" --log info "$@" >"$out" 2>"$err" || rc=$?
    return "$rc"
}

input=$WORK/input.txt
{
    echo "hello, kernel"
    echo "a second line, with some spaces   and a tab	here"
    echo ""
    # 7999 printable bytes and a newline: one 8000-byte datagram.
    head -c 6000 /dev/urandom | base64 -w 0 | head -c 7999
    echo
    echo "and a short one after the long one"
} >"$input"
assert_eq "the long line is 8000 bytes" "$(sed -n 4p "$input" | wc -c)" 8000

reasm0=$(snmp_ip ReasmOKs)
fragc0=$(snmp_ip FragOKs)
rc=0
run_udpc "$WORK/udpc.out" "$WORK/udpc.err" "$HOST_ADDR" 9999 --timeout 5000 <"$input" || rc=$?
if [ "$rc" -ne 0 ]; then
    cat "$WORK/udpc.err" >&2
    fail "udpc exited with code $rc"
fi
assert "udpc printed exactly the lines it sent" cmp "$input" "$WORK/udpc.out"
assert_eq "datagrams the kernel server echoed" "$(grep -c '^echoed' "$WORK/server.log")" 5
assert "the 8000-byte line came through whole" grep -q '^echoed 8000 bytes' "$WORK/server.log"
assert_ge "kernel reassembled ustack's fragments (Ip ReasmOKs)" $(($(snmp_ip ReasmOKs) - reasm0)) 1
assert_ge "kernel fragmented its echo (Ip FragOKs)" $(($(snmp_ip FragOKs) - fragc0)) 1

# A closed port: the kernel answers with ICMP port unreachable.
rc=0
echo "is anyone on 9998?" | run_udpc "$WORK/closed.out" "$WORK/closed.err" "$HOST_ADDR" 9998 || rc=$?
cat "$WORK/closed.err"
assert_eq "udpc exit code toward a closed port" "$rc" 1
assert "udpc reports the refusal" grep -q "Connection refused" "$WORK/closed.err"
assert "udpc printed no reply" test ! -s "$WORK/closed.out"
pass
