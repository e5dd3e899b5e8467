#!/usr/bin/env bash
# tcp_limits: echo, discard and chargen each bounded on their own, with the
# kernel as the client:
#  - discard full (--max-conns discard=50): the 51st connection is reset at
#    once, while echo and HTTP serve new clients; the 50 stay open, idle
#    (no idle timeout by default);
#  - a chargen client that never reads is reset after the send timeout;
#  - with --idle-timeout, an idle discard connection is closed after it.
# shellcheck source=lib.sh source-path=SCRIPTDIR disable=SC2119
source "$(dirname "$0")/lib.sh"
# shellcheck source=holders.sh
source "$(dirname "$0")/holders.sh"
need_root_and_tun
holders_init
need_cmd curl
need_ustack
ns_setup

start_ustack --max-conns discard=50 --send-timeout 2

hold_start full 9 50 60 ""
assert_eq "discard holds its 50" "$(hold_wait full)" 50

in_ns timeout 20 "${SLOW[@]}" hold "$USTACK_ADDR" 9 1 3 "" "$WORK/over.status" >"$WORK/over.json" ||
    fail "the 51st connection: slow_clients.py failed"
log "the 51st: $(cat "$WORK/over.json")"
assert_eq "the 51st discard connection is reset (within the 3 s it waited)" \
    "$(get over reset_by_server)" 1
assert_eq "echo serves a new client meanwhile" "$(echo_once)" "still here"
assert_eq "HTTP serves a new client meanwhile" \
    "$(in_ns curl -s --max-time 10 -o /dev/null -w '%{http_code}' "http://$USTACK_ADDR/")" 200

in_ns timeout 30 "${SLOW[@]}" noread "$USTACK_ADDR" 19 "" 15 >"$WORK/chargen.json" ||
    fail "chargen noread: slow_clients.py failed"
assert "a chargen client that never reads is reset after the send timeout, 2 s ($(get chargen reset_after) s)" \
    within "$(get chargen reset_after)" 2 8

hold_release full
assert_eq "the 50 were never closed by the server (no idle timeout)" "$(get full closed_by_server)" 0
stop_ustack
assert_ge "discard.refused_limit" "$(counter discard.refused_limit)" 1
assert_eq "discard.conns_peak" "$(counter discard.conns_peak)" 50
assert_eq "chargen.timeout_send" "$(counter chargen.timeout_send)" 1
assert_eq "discard.timeout_idle" "$(counter discard.timeout_idle)" 0

# ---- --idle-timeout ----
start_ustack --idle-timeout 2
in_ns timeout 20 "${SLOW[@]}" hold "$USTACK_ADDR" 9 1 10 "" "$WORK/idle.status" >"$WORK/idle.json" ||
    fail "idle: slow_clients.py failed"
assert_eq "an idle discard connection is closed" "$(get idle closed_by_server)" 1
assert "... after the idle timeout, 2 s ($(get idle close_after_max) s)" \
    within "$(get idle close_after_max)" 1.8 3.5
stop_ustack
assert_eq "discard.timeout_idle" "$(counter discard.timeout_idle)" 1
assert_eq "packet buffers freed (pkb.alloc == pkb.free)" "$(counter pkb.alloc)" "$(counter pkb.free)"
pass
