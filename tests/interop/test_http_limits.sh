#!/usr/bin/env bash
# http_limits: the HTTP service's connection limits, with the kernel as the
# client (the runner with --http-max-per-addr 8 --max-conns http=20):
#  - one address holding 8 connections gets 503 on the 9th, while another
#    address is served; once it lets go, it is served again;
#  - 20 connections in all (from several addresses) fill the service: the
#    next client gets 503, and the echo service still serves new clients;
#  - refusals are counted (http.refused_per_addr, http.refused_limit) and
#    said at info level once, then in a summary, not once per refusal.
# shellcheck source=lib.sh source-path=SCRIPTDIR disable=SC2119
source "$(dirname "$0")/lib.sh"
# shellcheck source=holders.sh
source "$(dirname "$0")/holders.sh"
need_root_and_tun
holders_init
need_cmd curl
need_ustack
ns_setup
for i in 50 60 61 62; do
    in_ns ip addr add "192.0.2.$i/24" dev "$TAP"
done
ROOT=$WORK/root
mkdir -p "$ROOT"
echo "limits test page" >"$ROOT/index.html"
start_ustack --http-root "$ROOT" --http-max-per-addr 8 --max-conns http=20

# fetch_from SOURCE: curl from that address; prints the status code (000: none).
fetch_from() {
    in_ns curl -sS --max-time 10 --interface "$1" -o "$WORK/body" -w '%{http_code}' \
        "http://$USTACK_ADDR/" 2>>"$WORK/curl.err" || true
}

# ---- per address ----
hold_start a1 80 8 60 192.0.2.1
assert_eq "a1: 8 connections held from 192.0.2.1" "$(hold_wait a1)" 8
assert_eq "the 9th connection from 192.0.2.1: 503" "$(fetch_from 192.0.2.1)" 503
assert "... with a body saying so" grep -q "503 Service Unavailable" "$WORK/body"
assert_eq "meanwhile 192.0.2.50 is served" "$(fetch_from 192.0.2.50)" 200
assert "... the page" grep -q "limits test page" "$WORK/body"
for _ in 1 2 3 4 5; do
    fetch_from 192.0.2.1 >/dev/null
done
hold_release a1
assert_eq "the holder's connections were not closed by the server" "$(get a1 closed_by_server)" 0
# shellcheck disable=SC2317 # called through wait_until
served_again() { [ "$(fetch_from 192.0.2.1)" = 200 ]; }
assert "192.0.2.1 is served again once it let go" wait_until 10 served_again

# ---- the service's limit ----
hold_start b1 80 8 60 192.0.2.1
hold_start b2 80 12 60 192.0.2.60,192.0.2.61,192.0.2.62
assert_eq "b1: 8 connections held" "$(hold_wait b1)" 8
assert_eq "b2: 12 more from three other addresses" "$(hold_wait b2)" 12
assert_eq "a 21st connection (192.0.2.50): 503" "$(fetch_from 192.0.2.50)" 503
assert_eq "echo serves a new client while HTTP is full" "$(echo_once)" "still here"
hold_release b1
hold_release b2
# shellcheck disable=SC2317 # called through wait_until
served_50() { [ "$(fetch_from 192.0.2.50)" = 200 ]; }
assert "192.0.2.50 is served once the others let go" wait_until 10 served_50

stop_ustack
assert_ge "http.refused_per_addr" "$(counter http.refused_per_addr)" 6
assert_ge "http.refused_limit" "$(counter http.refused_limit)" 1
assert_eq "one info line for the first refusal at the limit per address" \
    "$(grep -c '\[I\].*192.0.2.1 has 8 connections, the limit per address' "$USTACK_LOGFILE")" 1
assert_eq "... and one for the 5 after it (said at exit)" \
    "$(grep -c '\[I\].*5 more connections refused at the limit per address' "$USTACK_LOGFILE")" 1
assert_eq "one info line for the service's limit" \
    "$(grep -c "\[I\].*the service's limit" "$USTACK_LOGFILE")" 1
assert_eq "packet buffers freed (pkb.alloc == pkb.free)" "$(counter pkb.alloc)" "$(counter pkb.free)"
pass
