#!/usr/bin/env bash
# iperf3_timeouts: a client cannot hold the runner's iperf3 service (one test
# at a time) by going quiet (--iperf3-timeout 2 --iperf3-idle-timeout 3):
#  - a control connection that says nothing holds the service (a real
#    iperf3 client meanwhile hears "the server is busy") until the step
#    timeout drops it; then the next test runs;
#  - a test whose client stops mid-test (after TEST_RUNNING, nothing more
#    on any connection) is dropped after the idle timeout; then the next
#    test runs.
# shellcheck source=lib.sh source-path=SCRIPTDIR disable=SC2119
source "$(dirname "$0")/lib.sh"
# shellcheck source=holders.sh
source "$(dirname "$0")/holders.sh"
need_root_and_tun
holders_init
need_cmd iperf3
need_ustack
ns_setup

# a_test NAME: a 1 s iperf3 test; succeeds if it ran and moved data.
# shellcheck disable=SC2317 # called through assert
a_test() {
    in_ns timeout 30 iperf3 -c "$USTACK_ADDR" -t 1 -J >"$WORK/$1.out" 2>&1 &&
        "$PY" -c 'import json, sys; sys.exit(not json.load(open(sys.argv[1]))["end"]["sum_received"]["bytes"] > 0)' \
            "$WORK/$1.out"
}

start_ustack --iperf3-timeout 2 --iperf3-idle-timeout 3

# ---- a silent control connection ----
hold_start silent 5201 1 20 ""
assert_eq "a silent client holds the control connection" "$(hold_wait silent)" 1
rc=0
in_ns timeout 30 iperf3 -c "$USTACK_ADDR" -t 1 >"$WORK/busy.out" 2>&1 || rc=$?
assert "while it is held, a real client hears that the server is busy" \
    grep -qi "busy" "$WORK/busy.out"
hold_end silent
log "silent: $(cat "$WORK/silent.json")"
assert_eq "the silent control connection is dropped" "$(get silent closed_by_server)" 1
assert "... after the step timeout, 2 s ($(get silent close_after_max) s)" \
    within "$(get silent close_after_max)" 1.8 4
assert "the next test runs" a_test after-silent

# ---- a client that stops mid-test ----
in_ns timeout 30 "${SLOW[@]}" iperf3-stall "$USTACK_ADDR" 5201 15 >"$WORK/stall.json" ||
    fail "iperf3-stall failed"
log "stall: $(cat "$WORK/stall.json")"
assert "a test stalled after TEST_RUNNING is dropped after the idle timeout, 3 s ($(get stall closed_after) s)" \
    within "$(get stall closed_after)" 2.8 5
assert "the next test runs" a_test after-stall

stop_ustack
assert_eq "iperf3.timeout_request" "$(counter iperf3.timeout_request)" 1
assert_eq "iperf3.timeout_idle" "$(counter iperf3.timeout_idle)" 1
assert "no errors logged" bash -c "! grep -q '\[E\]' '$USTACK_LOGFILE'"
assert_eq "packet buffers freed (pkb.alloc == pkb.free)" "$(counter pkb.alloc)" "$(counter pkb.free)"
pass
