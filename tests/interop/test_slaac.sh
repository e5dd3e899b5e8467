#!/usr/bin/env bash
# SLAAC (RFC 4862) and a default router from a router advertisement
# (RFC 4861 6.3.4), with the kernel as the router: ra.py (standard-library
# Python, a raw ICMPv6 socket) advertises 2001:db8:1::/64 from the
# kernel's link-local address.
#  - before any RA, ustack has no IPv6 default route: a ping from an
#    address off its links (2001:db8:99::1, on the namespace's lo) gets no
#    reply;
#  - after the RA, ustack takes an address in 2001:db8:1::/64 (its log
#    says so) and answers ping on it;
#  - the ping from 2001:db8:99::1 is answered: the reply went to the
#    default router the RA named (the kernel's link-local address);
#  - an RA with router lifetime 0 withdraws the router: no reply again,
#    while the on-link prefix keeps working;
#  - the counters say it: nd.rx_ra, nd.ra_taken.
# shellcheck source=lib.sh source-path=SCRIPTDIR disable=SC2119
source "$(dirname "$0")/lib.sh"
need_root_and_tun
PY=$(python3_bin)
need_cmd ping
need_ustack
ns_setup --ipv6
OFFLINK=2001:db8:99::1
in_ns ip -6 addr add "$OFFLINK/128" dev lo
in_ns ip -6 addr add 2001:db8:1::1/64 dev "$TAP" nodad
start_ustack --log debug
wait_ll6 # once ustack holds the TAP device: the link has a carrier

# ping_from SRC DST: true if one echo from SRC to DST is answered.
ping_from() { in_ns ping -6 -n -q -c 1 -W 1 -I "$1" "$2" >/dev/null 2>&1; }
# shellcheck disable=SC2317 # called through wait_until
answered_from() { ping_from "$@"; }

assert "on-link: ping $USTACK_ADDR6 from $HOST_ADDR6" \
    quietly in_ns ping -6 -c 2 -i 0.2 -W 2 "$USTACK_ADDR6"
if ping_from "$OFFLINK" "$USTACK_ADDR6"; then
    fail "ustack answered $OFFLINK before any router advertisement (a default route from nowhere)"
fi
log "ok: no default router yet: $OFFLINK gets no answer"

router=$(host_ll6)
ra() { in_ns "$PY" "$INTEROP_DIR/ra.py" "$TAP" 2001:db8:1::/64 "$@"; }
assert "a router advertisement from $router" ra --lifetime 1800
# shellcheck disable=SC2317 # called through wait_until
slaac_addr() {
    grep -o 'addr=2001:db8:1:[0-9a-f:]*/64 (from a router advertisement)' "$USTACK_LOGFILE" |
        head -n 1 | sed 's/^addr=//; s|/64.*||'
}
# shellcheck disable=SC2317 # called through wait_until
has_slaac() { [ -n "$(slaac_addr)" ]; }
wait_until 10 has_slaac || fail "ustack took no address from 2001:db8:1::/64"
A=$(slaac_addr)
log "ok: ustack took $A from the advertised prefix"
assert "ping -6 $A (the SLAAC address)" quietly in_ns ping -6 -c 3 -i 0.2 -W 2 "$A"
# The default route: a reply to an off-link address goes through the router.
wait_until 5 answered_from "$OFFLINK" "$A" ||
    fail "no reply to $OFFLINK: ustack did not route through the advertised router $router"
log "ok: $OFFLINK is answered: ustack routes through $router"
wait_until 5 answered_from "$OFFLINK" "$USTACK_ADDR6" ||
    fail "no reply from $USTACK_ADDR6 to $OFFLINK through the router"
log "ok: and from its static address too"

# Router lifetime 0: no longer a default router (RFC 4861 6.3.4).
assert "a router advertisement with lifetime 0" ra --lifetime 0
# shellcheck disable=SC2317 # called through wait_until
unanswered() { ! ping_from "$OFFLINK" "$A"; }
wait_until 10 unanswered || fail "$OFFLINK still answered after the router withdrew"
log "ok: router lifetime 0: $OFFLINK is no longer answered"
assert "the prefix is still on-link: ping -6 $A" quietly in_ns ping -6 -c 2 -i 0.2 -W 2 "$A"

stop_ustack
assert_ge "nd.rx_ra" "$(counter nd.rx_ra)" 2
assert_ge "nd.ra_taken" "$(counter nd.ra_taken)" 2
assert "the log says the default router" grep -q "default router $router" "$USTACK_LOGFILE"
pass
