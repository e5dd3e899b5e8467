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
need_root_and_tun
PY=$(python3_bin)
need_cmd curl
need_ustack
ns_setup
SLOW=("$PY" "$INTEROP_DIR/slow_clients.py")
for i in 50 60 61 62; do
    in_ns ip addr add "192.0.2.$i/24" dev "$TAP"
done
ROOT=$WORK/root
mkdir -p "$ROOT"
echo "limits test page" >"$ROOT/index.html"
start_ustack --http-root "$ROOT" --http-max-per-addr 8 --max-conns http=20

# get SOURCE: curl from that address; prints the status code (000: none).
get() {
    in_ns curl -sS --max-time 10 --interface "$1" -o "$WORK/body" -w '%{http_code}' \
        "http://$USTACK_ADDR/" 2>>"$WORK/curl.err" || true
}

# hold NAME N SOURCES: N idle connections in the background until stopped;
# waits until all are settled and checks how many are held.
hold() {
    local name=$1 n=$2 src=$3
    ip netns exec "$NS" "${SLOW[@]}" hold "$USTACK_ADDR" 80 "$n" 60 "$src" "$WORK/$name.status" \
        >"$WORK/$name.json" 2>"$WORK/$name.err" &
    eval "${name}_pid=$!"
    # shellcheck disable=SC2317 # called through wait_until
    settled() { [ -s "$WORK/$name.status" ]; }
    wait_until 20 settled || fail "$name: the connections did not settle: $(cat "$WORK/$name.err")"
    assert_eq "$name: connections held" "$(cat "$WORK/$name.status")" "held $n"
}

# release NAME: stops the holder; prints nothing.
release() {
    local name=$1 pid
    pid=$(eval "echo \$${name}_pid")
    touch "$WORK/$name.status.stop"
    wait "$pid" || fail "$name: slow_clients.py failed: $(cat "$WORK/$name.err")"
}

# ---- per address ----
hold a1 8 192.0.2.1
assert_eq "the 9th connection from 192.0.2.1: 503" "$(get 192.0.2.1)" 503
assert "... with a body saying so" grep -q "503 Service Unavailable" "$WORK/body"
assert_eq "meanwhile 192.0.2.50 is served" "$(get 192.0.2.50)" 200
assert "... the page" grep -q "limits test page" "$WORK/body"
for _ in 1 2 3 4 5; do
    get 192.0.2.1 >/dev/null
done
release a1
assert_eq "the holder's connections were not closed by the server" \
    "$("${SLOW[@]}" get "$WORK/a1.json" closed_by_server)" 0
# shellcheck disable=SC2317 # called through wait_until
served_again() { [ "$(get 192.0.2.1)" = 200 ]; }
assert "192.0.2.1 is served again once it let go" wait_until 10 served_again

# ---- the service's limit ----
hold b1 8 192.0.2.1
hold b2 12 192.0.2.60,192.0.2.61,192.0.2.62
assert_eq "a 21st connection (192.0.2.50): 503" "$(get 192.0.2.50)" 503
echo_reply=$(in_ns timeout 10 "$PY" -c '
import socket, sys
s = socket.create_connection((sys.argv[1], 7), timeout=5)
s.sendall(b"still here\n")
print(s.recv(100).decode().strip())' "$USTACK_ADDR" 2>&1) || true
assert_eq "echo serves a new client while HTTP is full" "$echo_reply" "still here"
release b1
release b2
assert "192.0.2.50 is served once the others let go" wait_until 10 bash -c \
    "[ \"\$(ip netns exec '$NS' curl -s --max-time 5 --interface 192.0.2.50 -o /dev/null -w '%{http_code}' http://$USTACK_ADDR/)\" = 200 ]"

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
