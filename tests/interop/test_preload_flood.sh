#!/usr/bin/env bash
# preload_flood: a SYN flood against a program under the preload library
# whose own thread reads the TAP while it waits. python3 -m http.server
# waits in a selector (serve_forever), so the library lets that thread
# drive the devices while it waits: much of the flood is read and
# answered on the program's thread (a run at USTACK_LOG=debug showed the
# devices passing between it and the stack thread 70 times in the 5 s,
# as the request threads' sends took turns). 30,000 spoofed SYNs to port
# 8080 from made-up hosts in 192.0.2.0/24 over 5 s (6,000 a second),
# while the kernel's curl fetches a 1 MiB file, one fetch after another:
#  - every fetch during the flood is served, byte-exact;
#  - the stack answered the flood (its SYN-ACKs, most of them SYN
#    cookies, are frames the kernel's tap0 receives and drops);
#  - the server still serves after the flood.
# shellcheck source=lib.sh source-path=SCRIPTDIR disable=SC2119
source "$(dirname "$0")/lib.sh"
need_root_and_tun
need_cmd curl sha256sum
PY=$(python3_bin)
ns_setup
# shellcheck source=preload_lib.sh
source "$INTEROP_DIR/preload_lib.sh"
trap 'preload_exit_trap' EXIT

www=$WORK/www
mkdir -p "$www"
head -c $((1024 * 1024)) /dev/urandom >"$www/f.bin"
want=$(sha256sum "$www/f.bin" | cut -c1-64)
URL=http://$USTACK_ADDR:8080/f.bin

cd "$www"
start_preloaded server "$PY" -m http.server --bind "$USTACK_ADDR" 8080
server=$PRELOADED_PID
cd - >/dev/null
wait_until 20 port_open "$USTACK_ADDR" 8080 || fail "http.server under preload did not listen: $(cat "$WORK/server.err")"

# fetch: one fetch of f.bin, byte-exact.
# shellcheck disable=SC2317 # also called through fetch_during_flood
fetch() {
    local got
    got=$(in_ns curl -sS --max-time 5 "$URL" 2>>"$WORK/curl.err" | sha256sum | cut -c1-64)
    [ "$got" = "$want" ]
}
assert "a fetch before the flood" fetch

# Frames the stack sent: what the kernel's end of the TAP received.
tap_rx() { in_ns cat "/sys/class/net/$TAP/statistics/rx_packets"; }
rx_before=$(tap_rx)

fetch_during_flood fetch syn-flood "$TAP" 30000 --port 8080 --seconds 5
served=$FLOOD_SERVED tried=$FLOOD_TRIED
rx_after=$(tap_rx)
log "fetches during the flood: $served of $tried served; the stack sent $((rx_after - rx_before)) frames"
assert_ge "fetches tried during the flood" "$tried" 5
assert_eq "fetches served during the flood" "$served" "$tried"
# Each spoofed SYN earns a SYN-ACK (a cookie once the listen queue is
# full); a few may be lost to the TAP's queue under the burst.
assert_ge "frames the stack sent during the flood (its SYN-ACKs)" "$((rx_after - rx_before))" 20000
assert "a fetch after the flood" fetch
assert "http.server is still running" kill -0 "$server"
stop_preloaded "$server"
pass
