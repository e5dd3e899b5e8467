#!/usr/bin/env bash
# arping: ustack answers ARP requests for its own address, and only those.
# Works with either arping: Thomas Habets' (Debian package arping, -i IFACE)
# or iputils' (package iputils-arping, -I IFACE).
# shellcheck source=lib.sh source-path=SCRIPTDIR disable=SC2119
source "$(dirname "$0")/lib.sh"
need_root_and_tun
need_cmd arping
need_ustack
ns_setup
start_ustack

if arping --help 2>&1 | grep -q "Thomas Habets"; then
    ARPING_FLAVOUR=habets
else
    ARPING_FLAVOUR=iputils
fi
log "arping flavour: $ARPING_FLAVOUR"

# arping_received COUNT TARGET: print the number of replies arping reports
# (its exit code is ignored here; see below). Its output is left in
# $WORK/arping.out.
arping_received() {
    local out=$WORK/arping.out
    if [ "$ARPING_FLAVOUR" = habets ]; then
        in_ns arping -c "$1" -W 0.2 -w "$(($1 + 5))" -i "$TAP" "$2" >"$out" 2>&1 || true
        tail -n 3 "$out" >&2
        sed -nE 's/.* ([0-9]+) packets received.*/\1/p' "$out" | tail -n 1
    else
        in_ns arping -c "$1" -w "$(($1 + 2))" -I "$TAP" "$2" >"$out" 2>&1 || true
        tail -n 3 "$out" >&2
        sed -nE 's/^Received ([0-9]+) response.*/\1/p' "$out" | tail -n 1
    fi
}

# The address nobody has comes first: while the host (192.0.2.1) is not yet
# in ustack's ARP cache, a request for another address is counted as
# arp.drop_not_ours. (A request from a host already cached only refreshes
# that entry, RFC 826's merge step, and is not counted as a drop.)
assert_eq "replies for 192.0.2.99 (not ustack's)" "$(arping_received 3 192.0.2.99)" 0
iflag=-I
[ "$ARPING_FLAVOUR" = habets ] && iflag=-i
if in_ns arping -c 1 -w 2 "$iflag" "$TAP" 192.0.2.99 >/dev/null 2>&1; then
    fail "arping 192.0.2.99 exited 0: something answered"
fi
log "ok: arping 192.0.2.99 exits non-zero"

assert_eq "replies for $USTACK_ADDR" "$(arping_received 5 "$USTACK_ADDR")" 5
# ustack's MAC is 02:00 followed by its address: 02:00:c0:00:02:02.
assert "the replies come from ustack's MAC" grep -qi "02:00:c0:00:02:02" "$WORK/arping.out"

stop_ustack
assert_ge "arp.drop_not_ours" "$(counter arp.drop_not_ours)" 3
assert_ge "arp.tx_reply" "$(counter arp.tx_reply)" 5
pass
