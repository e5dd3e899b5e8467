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
python3_bin >/dev/null # flood.py needs it: skip early without
need_ustack
ns_setup
start_ustack

URL=http://$USTACK_ADDR/
assert "a fetch before the flood" quietly in_ns curl -sS --max-time 5 -o /dev/null "$URL"

# shellcheck disable=SC2317 # called through fetch_during_flood
fetch() { in_ns curl -sS --max-time 5 -o /dev/null "$URL" 2>>"$WORK/curl.err"; }
fetch_during_flood fetch syn-flood "$TAP" 60000 --seconds 10
served=$FLOOD_SERVED tried=$FLOOD_TRIED
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
