#!/usr/bin/env bash
# iperf3: the kernel's stock iperf3 (3.x) against the runner's iperf3
# service on port 5201, and the iperf3c example (ustack as the client)
# against a stock `iperf3 -s`.
#  - iperf3 -c with -J: default (10 s), -R, -P 4, -n 20M (both ways), -t 2,
#    -R -P 4, --bidir and -k: no "error" key, the streams asked for,
#    start.test_start.reverse right, bytes and throughput > 0 on both
#    sides; where we receive, received == sent (the service waits for bytes
#    still in flight at TEST_END); with -n, exactly N sent;
#  - a UDP test (-u) is refused ("not implemented"), cleanly;
#  - a second client while a test runs gets "the server is busy", and the
#    running test and the other services carry on;
#  - clients killed mid-test (either direction) and malformed control
#    messages (iperf3_raw.py) end only their own test: the next one works;
#  - --iperf3-port moves the service, --iperf3-port none turns it off;
#  - iperf3c against iperf3 -s -1 -J, both directions and -P 4: success,
#    bytes moved, and the figures it prints for the server's side are the
#    server's own; bad options exit 2 with the usage.
# shellcheck source=lib.sh source-path=SCRIPTDIR disable=SC2119
source "$(dirname "$0")/lib.sh"
need_root_and_tun
PY=$(python3_bin)
need_cmd iperf3 curl
need_ustack
IPERF3C=${IPERF3C_BIN:-$REPO_DIR/build/bin/iperf3c}
[ -x "$IPERF3C" ] || fail "iperf3c not found at $IPERF3C (set IPERF3C_BIN, or run make build)"
ns_setup
CHECK=("$PY" "$INTEROP_DIR/iperf3_check.py")

# client NAME ARGS...: stock iperf3 -J against the runner; JSON in
# $WORK/NAME.json. Fails if iperf3 fails.
client() {
    local name=$1
    shift
    local rc=0
    in_ns timeout 60 iperf3 -c "$USTACK_ADDR" -J "$@" >"$WORK/$name.json" 2>"$WORK/$name.err" || rc=$?
    if [ "$rc" -ne 0 ]; then
        cat "$WORK/$name.json" "$WORK/$name.err" >&2
        fail "iperf3 -c $USTACK_ADDR $* exited $rc"
    fi
}

# runner_says TEXT [COUNT]: wait until the runner has logged TEXT at least
# COUNT times (default 1).
count_lines() { grep -c -- "$1" "$USTACK_LOGFILE" || true; }
runner_says() {
    local want=${2:-1}
    # shellcheck disable=SC2317 # called through wait_until
    enough() { [ "$(count_lines "$1")" -ge "$want" ]; }
    wait_until 20 enough "$1" || fail "the runner did not log '$1' (x$want)"
}

start_ustack

# ---- stock iperf3 against the service ----
client default
assert "default (10 s): JSON results right" "${CHECK[@]}" result "$WORK/default.json" "iperf3 -c" \
    --streams 1 --reverse 0 --seconds 10 --equal
client reverse -R -t 3
assert "-R: the server sends, and reports its retransmissions" "${CHECK[@]}" result \
    "$WORK/reverse.json" "iperf3 -c -R" --streams 1 --reverse 1 --seconds 3 --retransmits
client p4 -P 4 -t 3
assert "-P 4: four streams" "${CHECK[@]}" result "$WORK/p4.json" "iperf3 -c -P 4" \
    --streams 4 --reverse 0 --seconds 3 --equal
client n20 -n 20M
# The kernel's iperf3 client may send one block past -n (see iperf3_check.py).
assert "-n 20M: 20 MiB (or one block more), all received" "${CHECK[@]}" result "$WORK/n20.json" \
    "iperf3 -c -n 20M" --streams 1 --reverse 0 --at-least 20971520 --equal
client t2 -t 2
assert "-t 2" "${CHECK[@]}" result "$WORK/t2.json" "iperf3 -c -t 2" --streams 1 --reverse 0 \
    --seconds 2 --equal
client rp4 -R -P 4 -t 2
assert "-R -P 4" "${CHECK[@]}" result "$WORK/rp4.json" "iperf3 -c -R -P 4" --streams 4 --reverse 1 \
    --seconds 2 --retransmits
client rn20 -R -n 20M
assert "-R -n 20M: we send exactly 20 MiB, all received" "${CHECK[@]}" result "$WORK/rn20.json" \
    "iperf3 -c -R -n 20M" --streams 1 --reverse 1 --bytes 20971520 --equal
client bidir --bidir -t 2
assert "--bidir: both directions' streams" "$PY" -c '
import json, sys
d = json.load(open(sys.argv[1]))
assert "error" not in d, d.get("error")
e = d["end"]
assert len(e["streams"]) == 2, e["streams"]
for k in ("sum_sent", "sum_received", "sum_sent_bidir_reverse", "sum_received_bidir_reverse"):
    assert e[k]["bytes"] > 0 and e[k]["bits_per_second"] > 0, (k, e[k])
print("--bidir: client->server %.0f Mbit/s, server->client %.0f Mbit/s" % (
    e["sum_received"]["bits_per_second"] / 1e6, e["sum_received_bidir_reverse"]["bits_per_second"] / 1e6))
' "$WORK/bidir.json"
client blocks -k 100 -l 64K
assert "-k 100 -l 64K" "${CHECK[@]}" result "$WORK/blocks.json" "iperf3 -c -k 100" --streams 1 --equal
assert_eq "every test logged at info" "$(count_lines 'test done:')" 9

# ---- UDP: refused ----
rc=0
in_ns timeout 30 iperf3 -c "$USTACK_ADDR" -u -t 1 >"$WORK/udp.out" 2>&1 || rc=$?
assert "-u: iperf3 fails" test "$rc" -ne 0
assert "-u: the server says it is not implemented" grep -q "not implemented" "$WORK/udp.out"
assert "-u: the runner says why" grep -q "only TCP tests are supported" "$USTACK_LOGFILE"

# ---- a second client while a test runs ----
running=$(count_lines "test running:")
ip netns exec "$NS" timeout 60 iperf3 -c "$USTACK_ADDR" -t 5 >"$WORK/first.out" 2>&1 &
first=$!
runner_says "test running:" $((running + 1))
rc=0
in_ns timeout 30 iperf3 -c "$USTACK_ADDR" -t 1 >"$WORK/second.out" 2>&1 || rc=$?
assert "a second client is refused" test "$rc" -ne 0
assert "... with 'the server is busy'" grep -q "the server is busy" "$WORK/second.out"
assert "the other services still answer during a test" \
    quietly in_ns curl -sS --max-time 10 -o /dev/null "http://$USTACK_ADDR/"
rc=0
wait "$first" || rc=$?
assert_eq "the first test still completes" "$rc" 0
assert "... with its summary" grep -q "receiver" "$WORK/first.out"

# ---- clients that die mid-test ----
for dir in "" "-R"; do
    running=$(count_lines "test running:")
    ended=$(count_lines "test ended in")
    # shellcheck disable=SC2086 # $dir: no option, or -R
    ip netns exec "$NS" iperf3 -c "$USTACK_ADDR" -t 30 $dir >/dev/null 2>&1 &
    victim=$!
    runner_says "test running:" $((running + 1))
    kill -KILL "$victim"
    wait "$victim" 2>/dev/null || true
    runner_says "test ended in" $((ended + 1))
    log "ok: a client killed mid-test${dir:+ ($dir)} ends its test: $(grep 'test ended in' "$USTACK_LOGFILE" | tail -n 1 | sed 's/.*test ended/test ended/')"
    # shellcheck disable=SC2086
    client "after-kill$dir" -t 1 $dir
    assert "a new test runs after the kill" "${CHECK[@]}" result "$WORK/after-kill$dir.json" "after kill" --streams 1
done

# ---- malformed control messages ----
for case in truncated-json not-json not-object huge-length bad-type too-many deep short-cookie bad-results; do
    assert "malformed input ($case) is answered cleanly" \
        in_ns timeout 30 "$PY" "$INTEROP_DIR/iperf3_raw.py" "$USTACK_ADDR" 5201 "$case"
done
client after-raw -t 1
assert "a real test still works after them" "${CHECK[@]}" result "$WORK/after-raw.json" "after raw" --streams 1

stop_ustack
assert_eq "packet buffers freed (pkb.alloc == pkb.free)" "$(counter pkb.alloc)" "$(counter pkb.free)"
assert "no errors logged" bash -c "! grep -q '\[E\]' '$USTACK_LOGFILE'"

# ---- --iperf3-port ----
start_ustack --iperf3-port 5301
in_ns timeout 30 iperf3 -c "$USTACK_ADDR" -p 5301 -t 1 -J >"$WORK/port.json"
assert "--iperf3-port 5301 moves the service" "${CHECK[@]}" result "$WORK/port.json" "-p 5301" --streams 1
stop_ustack
start_ustack --iperf3-port none
rc=0
in_ns timeout 30 iperf3 -c "$USTACK_ADDR" -t 1 >"$WORK/none.out" 2>&1 || rc=$?
assert "--iperf3-port none: nothing on 5201" test "$rc" -ne 0
assert "... the connection is refused" grep -qi "refused" "$WORK/none.out"
assert "... and the runner does not start the service" bash -c "! grep -q 'tcp/iperf3' '$USTACK_LOGFILE'"
stop_ustack

# ---- iperf3c (ustack) against a stock iperf3 -s (the kernel) ----
# (Bad options, even, run inside the namespace: nothing may touch the host.)
rc=0
in_ns "$IPERF3C" -c 192.0.2.1 -t 2 -n 5M >/dev/null 2>"$WORK/usage.err" || rc=$?
assert_eq "iperf3c with -t and -n: exit code" "$rc" 2
assert "... with the usage" grep -q "^Usage: iperf3c" "$WORK/usage.err"
rc=0
in_ns "$IPERF3C" -t 2 >/dev/null 2>"$WORK/usage.err" || rc=$?
assert_eq "iperf3c without -c: exit code" "$rc" 2
rc=0
in_ns "$IPERF3C" -c 192.0.2.1 -P 0 >/dev/null 2>"$WORK/usage.err" || rc=$?
assert_eq "iperf3c -P 0: exit code" "$rc" 2

# shellcheck disable=SC2317 # called through wait_until
_server_listening() { in_ns ss -Hltn 'sport = :5201' | grep -q LISTEN; }
# kernel_server NAME: iperf3 -s for one test, bound to the host side,
# JSON in $WORK/NAME.srv.json; sets SERVER_PID.
kernel_server() {
    ip netns exec "$NS" iperf3 -s -1 -J -B "$HOST_ADDR" --logfile "$WORK/$1.srv.json" &
    SERVER_PID=$!
    wait_until 10 _server_listening || fail "iperf3 -s is not listening"
}
for args in "-t 2" "-t 2 -R" "-P 4 -n 20M" "-P 4 -t 2 -R"; do
    name=$(echo "c$args" | tr -d ' -')
    reverse=0
    [[ $args == *-R* ]] && reverse=1
    streams=1
    [[ $args == *"-P 4"* ]] && streams=4
    kernel_server "$name"
    rc=0
    # shellcheck disable=SC2086 # $args is a list of options
    in_ns timeout 60 "$IPERF3C" --log warn -c "$HOST_ADDR" $args -J >"$WORK/$name.json" 2>"$WORK/$name.err" ||
        rc=$?
    [ "$rc" -eq 0 ] || { cat "$WORK/$name.err" >&2; fail "iperf3c $args exited $rc"; }
    rc=0
    wait "$SERVER_PID" || rc=$?
    assert_eq "iperf3 -s after iperf3c $args: exit code" "$rc" 0
    nbytes=()
    [[ $args == *"-n 20M"* ]] && nbytes=(--bytes 20971520)
    assert "iperf3c $args: results right" "${CHECK[@]}" result "$WORK/$name.json" "iperf3c $args" \
        --streams "$streams" --reverse "$reverse" "${nbytes[@]}"
    assert "iperf3c $args: the server's figures are the server's" \
        "${CHECK[@]}" same "$WORK/$name.json" "$WORK/$name.srv.json"
done
# The human summary, once.
kernel_server text
in_ns timeout 60 "$IPERF3C" --log warn -c "$HOST_ADDR" -t 1 >"$WORK/text.out" 2>&1 || fail "iperf3c -t 1 failed"
wait "$SERVER_PID" || true
assert "iperf3c prints the sender's throughput" grep -qE "sender: [0-9.]+ [KMG]?bits/sec" "$WORK/text.out"
assert "... and the receiver's" grep -qE "receiver: [0-9.]+ [KMG]?bits/sec" "$WORK/text.out"
pass
