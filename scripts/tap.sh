#!/usr/bin/env bash
# Creates a persistent TAP device for ustack with an address on the host side
# and brings it up. Safe to run again: an existing device is left as it is,
# except that it gets the address and is brought up if needed.
#   scripts/tap.sh [NAME] [HOST_ADDR/PREFIX]     (default: tap0 192.0.2.1/24)
set -euo pipefail
name=${1:-tap0}
addr=${2:-192.0.2.1/24}
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO=sudo

if ! ip link show "$name" >/dev/null 2>&1; then
    $SUDO ip tuntap add dev "$name" mode tap
    echo "tap: created $name"
fi
if ! ip -4 addr show dev "$name" | grep -q "inet ${addr%/*}/"; then
    $SUDO ip addr add "$addr" dev "$name"
fi
$SUDO ip link set "$name" up
echo "tap: $name is up with $addr on the host side; ustack takes ${addr%.*}.2 by default"
