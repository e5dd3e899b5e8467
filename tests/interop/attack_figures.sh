#!/usr/bin/env bash
# attack_figures: measures (does not test) what the net-layer attacks of
# issue 11 cost the runner, each in a fresh namespace: ping loss during an
# ARP flood and a first-fragment flood, how long one spoofed ARP reply for
# the host cuts the runner off, and how many ICMP errors 200 port-unreachable
# triggers a second bring back. Prints one line per figure.
#   bash tests/interop/attack_figures.sh [arp-flood|arp-spoof|frag-flood|icmp]...
# USTACK_BIN picks the runner (default: the release build).
# shellcheck source=lib.sh source-path=SCRIPTDIR disable=SC2119,SC2120
source "$(dirname "$0")/lib.sh"
need_root_and_tun
need_cmd ping
PY=$(python3_bin)
need_ustack

# loss OUT: the packet-loss percentage in ping's summary.
loss() { sed -nE 's/.* ([0-9.]+)% packet loss.*/\1/p' <<<"$1" | tail -n 1; }

# longest_gap OUT: the longest time (s) between two successive replies in
# `ping -D` output.
longest_gap() {
    awk -F'[][]' '/bytes from/ { t = $2 + 0; if (p && t - p > g) g = t - p; p = t }
                  END { printf "%.2f\n", g }' <<<"$1"
}

fresh() {
    [ -z "$USTACK_PID" ] || stop_ustack
    [ -z "$NS" ] || { ip netns del "$NS"; NS=""; }
    ns_setup
    start_ustack "$@"
    # Both sides know each other before the attack starts.
    in_ns ping -n -c 2 -i 0.2 -w 5 "$USTACK_ADDR" >/dev/null
}

arp_flood() {
    fresh
    local secs=${ARP_SECONDS:-2}
    # The flood and the pings (100 a second) start together and last as long.
    in_ns "$PY" "$INTEROP_DIR/flood.py" arp-flood "$TAP" "${ARP_COUNT:-10000}" --seconds "$secs" \
        ${ARP_CLAIM:+--claim-host} &
    local flood_pid=$!
    in_ns ping -n -i 0.01 -c "$((secs * 100))" -w 30 "$USTACK_ADDR" >"$WORK/ping" 2>&1 || true
    wait "$flood_pid"
    echo "arp-flood (${ARP_COUNT:-10000} made-up MACs in $secs s${ARP_CLAIM:+, some claiming $HOST_ADDR}):" \
        "ping loss $(loss "$(cat "$WORK/ping")")%"
    kill -USR1 "$USTACK_PID"
    sleep 0.2
    grep -E "^arp\." "$USTACK_LOGFILE" | tail -n 40 | tr '\n' ' '
    echo
}

arp_spoof() {
    fresh
    in_ns ping -n -D -i 0.05 -c 1200 -w 70 "$USTACK_ADDR" >"$WORK/ping" 2>&1 &
    local ping_pid=$!
    sleep 1
    in_ns "$PY" "$INTEROP_DIR/flood.py" arp-spoof "$TAP" "$HOST_ADDR" 06:5e:de:ad:be:ef
    wait "$ping_pid" || true
    echo "arp-spoof (one forged reply for $HOST_ADDR): longest gap between replies" \
        "$(longest_gap "$(cat "$WORK/ping")") s, loss $(loss "$(cat "$WORK/ping")")%"
}

frag_flood() {
    fresh
    in_ns "$PY" "$INTEROP_DIR/flood.py" frag-flood "$TAP" "${FRAG_COUNT:-100000}" \
        --size "${FRAG_SIZE:-8}" --sources "${FRAG_SOURCES:-1}" --seconds "${FRAG_SECONDS:-2}" &
    local flood_pid=$!
    in_ns ping -n -i 0.01 -c "$((${FRAG_SECONDS:-2} * 100))" -w 30 "$USTACK_ADDR" >"$WORK/ping" 2>&1 ||
        true
    wait "$flood_pid"
    echo "frag-flood (${FRAG_COUNT:-100000} first fragments of ${FRAG_SIZE:-8} bytes from" \
        "${FRAG_SOURCES:-1} sources in ${FRAG_SECONDS:-2} s): ping loss $(loss "$(cat "$WORK/ping")")%"
    kill -USR1 "$USTACK_PID"
    sleep 0.2
    grep -E "^ip\.(frag|reasm)" "$USTACK_LOGFILE" | tail -n 12 | tr '\n' ' '
    echo
}

icmp() {
    fresh
    in_ns ip addr add 192.0.2.3/24 dev "$TAP"
    in_ns "$PY" "$INTEROP_DIR/unreach_flood.py" 200 5 "$USTACK_ADDR" "$HOST_ADDR" 192.0.2.3
}

[ $# -gt 0 ] || set -- arp-flood arp-spoof frag-flood icmp
ns_setup
for what in "$@"; do
    case "$what" in
    arp-flood) arp_flood ;;
    arp-spoof) arp_spoof ;;
    frag-flood) frag_flood ;;
    icmp) icmp ;;
    *) fail "unknown figure $what" ;;
    esac
done
