#!/usr/bin/env bash
# tcp_echo: the kernel talks TCP to the runner's services.
#  - echo (port 7): 50 MB of random data go out and come back; the sha256 and
#    length of what came back equal those of what was sent;
#  - discard (port 9): 50 MB go in; the server reads to EOF and closes, and
#    ustack's counters (printed on SIGUSR1 before and after) grew by at
#    least 50 MB of received frames carrying at least 50 MB / MSS segments;
#  - chargen (port 19): 200 kB in RFC 864's pattern (72-character lines,
#    each starting one character later in the cycle of 95 printables).
# TCP_ECHO_MB sets the size (default 50).
# shellcheck source=lib.sh source-path=SCRIPTDIR disable=SC2119
source "$(dirname "$0")/lib.sh"
need_root_and_tun
PY=$(python3_bin)
need_ustack
MB=${TCP_ECHO_MB:-50}
ns_setup
start_ustack

data=$WORK/data.bin
head -c "$((MB * 1024 * 1024))" /dev/urandom >"$data"
log "sha256 of the $MB MB sent: $(sha256sum "$data" | cut -c1-64)"

assert "echo: $MB MB came back byte-exact (sha256)" \
    in_ns timeout 100 "$PY" "$INTEROP_DIR/tcp_peer.py" echo "$USTACK_ADDR" 7 "$data"

# snapshot: ask the runner for its counters and wait until they are printed.
snapshot() {
    local before
    before=$(grep -c -- '---- ustack counters ----' "$USTACK_LOGFILE" || true)
    kill -USR1 "$USTACK_PID"
    # shellcheck disable=SC2317 # called through wait_until
    printed() { [ "$(grep -c -- '---- ustack counters ----' "$USTACK_LOGFILE" || true)" -gt "$before" ] &&
        grep -q '^pkb.alloc=' <(tac "$USTACK_LOGFILE" | sed '/---- ustack counters ----/q'); }
    wait_until 10 printed || fail "the runner did not print its counters on SIGUSR1"
}

snapshot
rx0=$(counter eth.rx_bytes)
seg0=$(counter tcp.rx)
assert "discard: $MB MB sent, and the server closed after reading to EOF" \
    in_ns timeout 100 "$PY" "$INTEROP_DIR/tcp_peer.py" discard "$USTACK_ADDR" 9 "$data"
snapshot
rx1=$(counter eth.rx_bytes)
seg1=$(counter tcp.rx)
assert_ge "eth.rx_bytes grew by the $MB MB discarded" $((rx1 - rx0)) $((MB * 1024 * 1024))
# With the TAP's offloads a segment may be a super-frame of up to 64 KiB.
assert_ge "tcp.rx grew by at least $MB MB / 64 KiB segments" $((seg1 - seg0)) $((MB * 1024 * 1024 / 65536))

assert "chargen: 200 kB in RFC 864's pattern" \
    in_ns timeout 60 "$PY" "$INTEROP_DIR/tcp_peer.py" chargen "$USTACK_ADDR" 19 200000

stop_ustack
assert_ge "tcp.passive_opens" "$(counter tcp.passive_opens)" 3
assert_eq "tcp.resets (connections reset by the kernel)" "$(counter tcp.resets)" 0
assert_eq "tcp.timeouts" "$(counter tcp.timeouts)" 0
assert_eq "tcp.drop_checksum" "$(counter tcp.drop_checksum)" 0
assert_eq "packet buffers freed (pkb.alloc == pkb.free)" "$(counter pkb.alloc)" "$(counter pkb.free)"
pass
