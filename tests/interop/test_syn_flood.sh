#!/usr/bin/env bash
# syn_flood: 60,000 spoofed SYNs to the runner's HTTP port from made-up
# hosts in 192.0.2.0/24 over 10 s (6,000 a second), while the kernel
# fetches the page with curl, one fetch after another: every fetch is
# served during the flood. The listener's half-open queue fills at once,
# and beyond it every SYN gets a SYN cookie and leaves no state, so the
# runner's connections stay few. Before cookies a flood closed the port
# for minutes: 0 of 61 fetches served during a 10 s flood.
# shellcheck source=lib.sh source-path=SCRIPTDIR disable=SC2119
source "$(dirname "$0")/lib.sh"
need_root_and_tun
need_cmd curl
PY=$(python3_bin)
need_ustack
ns_setup
start_ustack

URL=http://$USTACK_ADDR/
assert "a fetch before the flood" quietly in_ns curl -sS --max-time 5 -o /dev/null "$URL"

# shellcheck disable=SC2317 # called through wait_until
_flooding() { grep -q "^sending" "$WORK/flood.out"; }
: >"$WORK/flood.out"
in_ns "$PY" "$INTEROP_DIR/flood.py" syn-flood "$TAP" 60000 --seconds 10 \
    >"$WORK/flood.out" 2>&1 &
flood_pid=$!
wait_until 60 _flooding || fail "the flood did not start: $(cat "$WORK/flood.out")"
served=0 tried=0
while kill -0 "$flood_pid" 2>/dev/null; do
    tried=$((tried + 1))
    if in_ns curl -sS --max-time 5 -o /dev/null "$URL" 2>>"$WORK/curl.err"; then
        served=$((served + 1))
    fi
done
wait "$flood_pid" || fail "flood.py failed: $(cat "$WORK/flood.out")"
tail -n 1 "$WORK/flood.out"
log "fetches during the flood: $served of $tried served"
assert_ge "fetches tried during the flood" "$tried" 10
assert_eq "fetches served during the flood" "$served" "$tried"

stop_ustack
assert_ge "SYN cookies sent" "$(counter tcp.syncookies_sent)" 10000
# The flood's SYNs made no connections beyond the half-open queue: every
# connection the runner opened (passive_opens) was a fetch (most of them
# from a cookie: the queue was full) or one of the queue's children.
assert_le "connections opened (fetches + the half-open queue, the runner's backlog 511)" \
    "$(counter tcp.passive_opens)" "$((tried + 1 + 511))"
pass
