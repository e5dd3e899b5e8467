#!/usr/bin/env bash
# Creates a persistent TAP device for ustack with addresses on the host side
# and brings it up. Safe to run again: an existing device is left as it is,
# except that it gets the addresses and is brought up if needed.
#   scripts/tap.sh [NAME] [HOST_ADDR/PREFIX] [HOST_ADDR6/PREFIX]
#   (default: tap0 192.0.2.1/24 2001:db8::1/64; "none" for no IPv6 address)
# The IPv6 address is added with nodad: the host need not wait a second of
# duplicate address detection before it can talk to ustack.
set -euo pipefail
name=${1:-tap0}
addr=${2:-192.0.2.1/24}
addr6=${3:-2001:db8::1/64}
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO=sudo

if ! ip link show "$name" >/dev/null 2>&1; then
    $SUDO ip tuntap add dev "$name" mode tap
    echo "tap: created $name"
fi
if ! ip -4 addr show dev "$name" | grep -q "inet ${addr%/*}/"; then
    $SUDO ip addr add "$addr" dev "$name"
fi
if [ "$addr6" != none ]; then
    if [ "$(cat "/proc/sys/net/ipv6/conf/$name/disable_ipv6" 2>/dev/null || echo 1)" != 0 ]; then
        echo "tap: IPv6 is disabled on $name (sysctl net.ipv6.conf.$name.disable_ipv6): IPv4 only" >&2
        addr6=none
    elif ! ip -6 addr show dev "$name" | grep -q "inet6 ${addr6%/*}/"; then
        $SUDO ip -6 addr add "$addr6" dev "$name" nodad
    fi
fi
$SUDO ip link set "$name" up
echo "tap: $name is up with $addr on the host side; ustack takes ${addr%.*}.2 by default"
if [ "$addr6" != none ]; then
    echo "tap: and $addr6 (IPv6); ustack takes ${addr6%::*}::2 by default"
fi
