#!/usr/bin/env bash
# http_slow: slowloris against the runner's HTTP service. 600 connections
# from 30 addresses (20 each, under the limit per address) send a request
# line and then one header line a second, never ending the header. While
# all 600 are held, curl fetches pages: every fetch is served, byte-exact.
# The header timeout (--http-header-timeout 6 here) then closes each slow
# connection 6 s after it opened, with a 408, however it trickles.
#  - without the loop's growing table (a fixed 512 before): fetches refused;
#  - with --http-header-timeout 0 the slow connections are never closed.
# HTTP_SLOW_CONNS changes the figure.
# shellcheck source=lib.sh source-path=SCRIPTDIR disable=SC2119
source "$(dirname "$0")/lib.sh"
# shellcheck source=holders.sh
source "$(dirname "$0")/holders.sh"
need_root_and_tun
holders_init
need_cmd curl
need_ustack
CONNS=${HTTP_SLOW_CONNS:-600}
NADDR=30
HEADER_TIMEOUT=6
ns_setup
ulimit -n $((CONNS + 1024)) 2>/dev/null || true

# The slow clients come from 192.0.2.101-130; curl from 192.0.2.1.
sources=()
for i in $(seq 101 $((100 + NADDR))); do
    in_ns ip addr add "192.0.2.$i/24" dev "$TAP"
    sources+=("192.0.2.$i")
done
src_list=$(IFS=,; echo "${sources[*]}")

ROOT=$WORK/root
mkdir -p "$ROOT"
head -c 100000 /dev/urandom >"$ROOT/page.bin"
start_ustack --http-root "$ROOT" --http-header-timeout "$HEADER_TIMEOUT"

# The slow clients, bounded: they give up after 3 x the header timeout.
STATUS=$WORK/slow.status
ip netns exec "$NS" "${SLOW[@]}" slowloris "$USTACK_ADDR" 80 "$CONNS" \
    $((3 * HEADER_TIMEOUT)) 1 "$src_list" "$STATUS" >"$WORK/slow.json" 2>"$WORK/slow.err" &
slow=$!
# shellcheck disable=SC2317 # called through wait_until
all_held() { [ -s "$STATUS" ]; }
wait_until 30 all_held || fail "the slow clients did not get connected: $(cat "$WORK/slow.err")"
assert_eq "slow connections held at once" "$(cat "$STATUS")" "held $CONNS"

served=0
for i in $(seq 1 20); do
    code=$(in_ns curl -sS --max-time 5 -o "$WORK/page.$i" -w '%{http_code}' "http://$USTACK_ADDR/page.bin" \
        2>>"$WORK/curl.err") || true
    if [ "$code" = 200 ] && cmp -s "$WORK/page.$i" "$ROOT/page.bin"; then
        served=$((served + 1))
    fi
done
curl_done=$(date +%s.%N)
assert_eq "fetches served byte-exact while $CONNS slow clients trickle" "$served" 20

wait "$slow" || fail "slow_clients.py failed: $(cat "$WORK/slow.err")"
log "slow clients: $(cat "$WORK/slow.json")"
field() { get slow "$1"; }
assert_eq "slow connections made" "$(field connected)" "$CONNS"
assert_eq "slow connections closed by the server" "$(field closed_by_server)" "$CONNS"
assert_eq "... each with a 408" "$(field got_408)" "$CONNS"
assert "... none before the header timeout ($(field close_after_min) s)" \
    within "$(field close_after_min)" $((HEADER_TIMEOUT - 1)).8 1000
assert "... all within 2 s of it ($(field close_after_max) s)" \
    within "$(field close_after_max)" 0 $((HEADER_TIMEOUT + 2))
assert "the fetches all ended before the first slow connection was closed" \
    within "$curl_done" 0 "$(field first_close_wall)"

stop_ustack
assert_ge "http.timeout_header" "$(counter http.timeout_header)" "$CONNS"
assert_ge "http.conns_peak" "$(counter http.conns_peak)" "$CONNS"
assert_eq "http.refused_limit" "$(counter http.refused_limit)" 0
assert_eq "http.refused_per_addr" "$(counter http.refused_per_addr)" 0
assert "the timeouts are not logged one by one at info level" \
    bash -c "[ \$(grep -c 'timeout' '$USTACK_LOGFILE') -lt 10 ]"
assert_eq "packet buffers freed (pkb.alloc == pkb.free)" "$(counter pkb.alloc)" "$(counter pkb.free)"
pass
