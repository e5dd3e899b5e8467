#!/usr/bin/env bash
# service_modes: the runner's services on the stack thread (the default) and
# on threads of their own (--service-threads), and busy polling.
#  - default: every service says it runs on the stack thread, and the
#    runner has two threads (main and the stack thread) while it answers a
#    TCP echo, a UDP echo, an HTTP GET and an iperf3 test: nothing else
#    can have served them;
#  - --service-threads: the same answers, from one thread per service
#    (ten threads), and no service says "on the stack thread";
#  - --busy-poll 200: says so, answers ping and the same requests;
#    --busy-poll with a bad value prints the usage and exits 2.
# shellcheck source=lib.sh source-path=SCRIPTDIR disable=SC2119
source "$(dirname "$0")/lib.sh"
need_root_and_tun
PY=$(python3_bin)
need_cmd nc
need_cmd curl
need_cmd iperf3
need_ustack
ns_setup

data=$WORK/data.bin
head -c 200000 /dev/urandom >"$data"

# serve_all: the four kinds of request, answered correctly.
serve_all() {
    assert "TCP echo: 200 kB back byte-exact" \
        in_ns timeout 60 "$PY" "$INTEROP_DIR/tcp_peer.py" echo "$USTACK_ADDR" 7 "$data"
    local out
    out=$(echo "hello over udp" | in_ns timeout 20 nc -u -n -W 1 -w 5 "$USTACK_ADDR" 7) || true
    assert_eq "UDP echo" "$out" "hello over udp"
    out=$(in_ns timeout 20 curl -s -o /dev/null -w '%{http_code}' "http://$USTACK_ADDR/") || true
    assert_eq "HTTP GET / status" "$out" 200
    assert "iperf3 -n 2M completes" in_ns timeout 60 iperf3 -c "$USTACK_ADDR" -n 2M
}

threads() { ls "/proc/$USTACK_PID/task" | wc -l; }

start_ustack
assert_eq "services on the stack thread (log lines)" \
    "$(grep -c 'listening on .* on the stack thread' "$USTACK_LOGFILE")" 8
serve_all
assert_eq "threads of the runner (main, stack thread)" "$(threads)" 2
stop_ustack

start_ustack --service-threads
assert_eq "services on the stack thread with --service-threads" \
    "$(grep -c 'on the stack thread' "$USTACK_LOGFILE" || true)" 0
serve_all
assert_eq "threads of the runner (main, stack thread, 8 services)" "$(threads)" 10
stop_ustack

start_ustack --busy-poll 200
assert "busy polling is said at start" grep -q 'busy polling: the stack thread polls for 200 us' \
    "$USTACK_LOGFILE"
assert "ping with busy polling" in_ns ping -n -q -c 20 -i 0.01 -W 2 "$USTACK_ADDR"
serve_all
stop_ustack

rc=0
in_ns "$USTACK" --busy-poll 2000000 >/dev/null 2>"$WORK/bad.err" || rc=$?
assert_eq "--busy-poll 2000000: exit code" "$rc" 2
assert "--busy-poll 2000000: says what is wrong" grep -q -- '--busy-poll 2000000: expected microseconds' \
    "$WORK/bad.err"
assert "--busy-poll 2000000: prints the usage" grep -q '^Usage: ustack' "$WORK/bad.err"
pass
