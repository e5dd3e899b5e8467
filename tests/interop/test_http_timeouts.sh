#!/usr/bin/env bash
# http_timeouts: each of the HTTP service's timeouts, with the kernel as the
# client (the runner with short ones: idle 2 s, header 3 s, request 4 s,
# send 2 s), each measured from the client's side:
#  - a kept-alive connection left idle after a response is closed (FIN)
#    after the idle timeout;
#  - a connection that sends nothing is closed after the header timeout,
#    with nothing said (there was no request to answer);
#  - a request whose body trickles in is answered, then reset when the
#    request timeout ends;
#  - a client that asks for a 5 MB file and never reads is reset after the
#    send timeout;
# and each is counted (http.timeout_*). A client reading a response with
# Connection: close slowly (300 KB at 40 KB/s, longer than any of these
# timeouts) gets all of it: the send timeout is about progress, and the
# close after the response does not cut off what the stack still holds.
# shellcheck source=lib.sh source-path=SCRIPTDIR disable=SC2119
source "$(dirname "$0")/lib.sh"
# shellcheck source=holders.sh
source "$(dirname "$0")/holders.sh"
need_root_and_tun
holders_init
need_cmd curl
need_ustack
ns_setup
ROOT=$WORK/root
mkdir -p "$ROOT"
echo "timeouts test page" >"$ROOT/index.html"
head -c $((5 * 1024 * 1024)) /dev/zero >"$ROOT/big.bin"
head -c 300000 /dev/urandom >"$ROOT/slow.bin"
start_ustack --http-root "$ROOT" --http-idle-timeout 2 --http-header-timeout 3 \
    --http-request-timeout 4 --send-timeout 2

# slow MODE ARGS...: run slow_clients.py in the namespace, JSON to $WORK/MODE.json
slow() {
    local mode=$1
    shift
    in_ns timeout 30 "${SLOW[@]}" "$mode" "$USTACK_ADDR" 80 "$@" >"$WORK/$mode.json" 2>"$WORK/$mode.err" ||
        fail "slow_clients.py $mode failed: $(cat "$WORK/$mode.err")"
    log "$mode: $(cat "$WORK/$mode.json")"
}

slow idle 'GET / HTTP/1.1\r\nHost: x\r\n\r\n' 10
assert_eq "idle: the request was answered" "$(get idle status)" "HTTP/1.1 200 OK"
assert "idle: closed 2 s after the response ($(get idle closed_after) s)" \
    within "$(get idle closed_after)" 1.8 3.5

slow hold 1 10 "" "$WORK/silent.status"
assert_eq "silent: closed by the server" "$(get hold closed_by_server)" 1
assert_eq "silent: without a reset" "$(get hold reset_by_server)" 0
assert_eq "silent: and without a word" "$(get hold first_lines)" "['']"
assert "silent: after the header timeout, 3 s ($(get hold close_after_max) s)" \
    within "$(get hold close_after_max)" 2.8 4.5

slow slowloris 1 10 0.5 "" "$WORK/body.status" \
    'GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n' 'x'
assert_eq "slow body: answered first" "$(get slowloris first_lines)" "['HTTP/1.1 200 OK']"
assert_eq "slow body: then reset" "$(get slowloris reset_by_server)" 1
assert "slow body: at the request timeout, 4 s ($(get slowloris close_after_max) s)" \
    within "$(get slowloris close_after_max)" 3.8 5.5

slow noread 'GET /big.bin HTTP/1.1\r\nHost: x\r\n\r\n' 15
assert "not reading: reset after the send timeout, 2 s ($(get noread reset_after) s)" \
    within "$(get noread reset_after)" 2 8

rc=0
in_ns curl -sS --max-time 30 --limit-rate 40k -H 'Connection: close' -o "$WORK/slow.bin" \
    "http://$USTACK_ADDR/slow.bin" 2>"$WORK/slow.err" || rc=$?
assert_eq "a slow reader of a Connection: close response: curl's exit code" "$rc" 0
assert "... and it has all 300 KB, byte-exact" cmp -s "$WORK/slow.bin" "$ROOT/slow.bin"

stop_ustack
assert_eq "http.timeout_idle" "$(counter http.timeout_idle)" 1
assert_eq "http.timeout_header" "$(counter http.timeout_header)" 1
assert_eq "http.timeout_request" "$(counter http.timeout_request)" 1
assert_eq "http.timeout_send" "$(counter http.timeout_send)" 1
assert_eq "packet buffers freed (pkb.alloc == pkb.free)" "$(counter pkb.alloc)" "$(counter pkb.free)"
pass
