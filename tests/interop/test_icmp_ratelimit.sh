#!/usr/bin/env bash
# icmp_ratelimit: two hosts (192.0.2.1 and 192.0.2.3) each send 200 UDP
# datagrams a second for 3 s to closed ports of the runner. Each gets its
# own burst of 6 port unreachables, then about one a second (Linux's
# icmp_ratelimit): at most 11 in all, and neither starves the other.
# Before, one stack-wide bucket of 100/s gave the first host hundreds and
# the second a handful.
# shellcheck source=lib.sh source-path=SCRIPTDIR disable=SC2119
source "$(dirname "$0")/lib.sh"
need_root_and_tun
PY=$(python3_bin)
need_ustack
ns_setup
in_ns ip addr add 192.0.2.3/24 dev "$TAP"
start_ustack

in_ns "$PY" "$INTEROP_DIR/unreach_flood.py" 200 3 "$USTACK_ADDR" "$HOST_ADDR" 192.0.2.3 \
    >"$WORK/flood.out" 2>&1 || fail "unreach_flood.py failed: $(cat "$WORK/flood.out")"
cat "$WORK/flood.out"
for h in "$HOST_ADDR" 192.0.2.3; do
    line=$(grep "^$h " "$WORK/flood.out") || fail "no figures for $h"
    errors=$(sed -nE 's/.* errors=([0-9]+) .*/\1/p' <<<"$line")
    first=$(sed -nE 's/.* in_first_second=([0-9]+) .*/\1/p' <<<"$line")
    assert_ge "port unreachables to $h (its burst of 6, at least)" "$errors" 6
    assert_le "port unreachables to $h (6, then one a second: 3 s)" "$errors" 11
    assert_le "port unreachables to $h in the first second" "$first" 7
done

stop_ustack
assert_ge "udp.drop_no_port" "$(counter udp.drop_no_port)" 1200
assert_ge "icmp.rate_limited_dst" "$(counter icmp.rate_limited_dst)" 1150
assert_eq "icmp.rate_limited_global" "$(counter icmp.rate_limited_global)" 0
assert_eq "icmp.rate_limited == icmp.rate_limited_unreach" "$(counter icmp.rate_limited)" \
    "$(counter icmp.rate_limited_unreach)"
pass
