#!/usr/bin/env bash
# discard_many: 20,000 concurrent idle kernel connections held to the
# runner's discard service (its defaults: no idle timeout, 24,000 at most),
# while new clients on echo and HTTP are served; then all of them are still
# open. Reports the runner's memory per idle connection (VmRSS before and
# while they are held).
#
# This needs the stack to hold 20,000 connections: with a fixed table of
# 1,024 sockets for the whole stack, it fails saying how many were held and
# what the runner counted.
# DISCARD_MANY_CONNS changes the figure.
# shellcheck source=lib.sh source-path=SCRIPTDIR disable=SC2119
source "$(dirname "$0")/lib.sh"
# shellcheck source=holders.sh
source "$(dirname "$0")/holders.sh"
need_root_and_tun
holders_init
need_cmd curl
need_ustack
CONNS=${DISCARD_MANY_CONNS:-20000}
# Held by several client processes, each under the open file limit (the
# hard limit may be as low as 20,000 where CAP_SYS_RESOURCE is missing).
PER=5000
NHOLD=$(((CONNS + PER - 1) / PER))
ns_setup
ulimit -n $((PER + 1024)) 2>/dev/null || skip "cannot raise the open file limit to $((PER + 1024))"
# One client address has ports enough for 60,000 connections to one port.
in_ns sysctl -qw net.ipv4.ip_local_port_range="2000 62000"
rss_kib() { awk '/^VmRSS:/ {print $2}' "/proc/$USTACK_PID/status"; }

start_ustack
rss0=$(rss_kib)

left=$CONNS
for h in $(seq 1 "$NHOLD"); do
    n=$((left < PER ? left : PER))
    left=$((left - n))
    hold_start "many$h" 9 "$n" 300 ""
done
# shellcheck disable=SC2317 # called through wait_until
settled() {
    local h
    for h in $(seq 1 "$NHOLD"); do
        hold_settled "many$h" || return 1
    done
}
release() {
    local h
    for h in $(seq 1 "$NHOLD"); do
        hold_release "many$h"
    done
}
# Settled: every client connected and the runner holds them all (a
# connection whose handshake found the accept queue full completes a
# second later, when its SYN-ACK is sent again). The stack out of
# sockets: the runner says so at once, and the clients would take
# minutes of SYN retries to settle.
# shellcheck disable=SC2317 # called through wait_until
all_held() { settled && snapshot && [ "$(counter discard.conns)" = "$CONNS" ]; }
# shellcheck disable=SC2317 # called through wait_until
settled_or_full() { all_held || grep -q "cannot accept a connection" "$USTACK_LOGFILE"; }
t0=$SECONDS
wait_until 100 settled_or_full || true
held=$(cat "$WORK"/many*.status 2>/dev/null | awk '{n += $2} END {print n + 0}') || true
snapshot
if ! settled || [ "$held" != "$CONNS" ] || [ "$(counter discard.conns)" != "$CONNS" ]; then
    why=$(grep -m1 -o "cannot accept a connection.*" "$USTACK_LOGFILE" || echo "not settled after $((SECONDS - t0)) s")
    conns=$(counter discard.conns)
    release
    fail "$conns of $CONNS connections held to discard: $why (the runner: discard.accept_failed=$(counter discard.accept_failed), tcp.passive_opens=$(counter tcp.passive_opens), tcp.drop_backlog=$(counter tcp.drop_backlog), tcp.rst_tx=$(counter tcp.rst_tx))"
fi
log "connected in $((SECONDS - t0)) s"
log "ok: $CONNS idle connections held to discard (discard.conns=$(counter discard.conns))"
rss1=$(rss_kib)
log "runner VmRSS: $rss0 KiB before, $rss1 KiB with $CONNS idle connections: $(((rss1 - rss0) * 1024 / CONNS)) bytes each"

assert_eq "a new echo client is served" "$(echo_once)" "still here"
assert_eq "a new HTTP client is served" \
    "$(in_ns curl -s --max-time 20 -o "$WORK/page" -w '%{http_code}' "http://$USTACK_ADDR/")" 200
assert "... the page" grep -q "<h1>ustack</h1>" "$WORK/page"

release
closed=0
for h in $(seq 1 "$NHOLD"); do
    closed=$((closed + $(get "many$h" closed_by_server)))
done
assert_eq "none of the $CONNS was closed by the server" "$closed" 0
stop_ustack
assert_eq "discard.conns_peak" "$(counter discard.conns_peak)" "$CONNS"
assert_eq "discard.refused_limit" "$(counter discard.refused_limit)" 0
pass
