#!/usr/bin/env bash
# Builds a Debian base image locally, for machines that reach a Debian
# package mirror but no image registry:
#   scripts/docker-base.sh [SUITE [TAG]]     (default: bookworm ustack/debian:bookworm)
# debootstrap (variant minbase) installs SUITE from the mirror this
# machine's apt is configured with (the first http(s) URI of its Debian
# sources; DEBIAN_MIRROR overrides it), the image's apt gets the same mirror
# (SUITE, SUITE-updates and, when configured here, the security archive),
# and `docker import` makes it the image TAG. The Dockerfile then builds on
# it: make docker-build BASE_IMAGE=TAG (make docker-build does this by
# itself when it cannot pull debian:bookworm). Needs root, debootstrap and a
# running docker daemon (DOCKER_HOST is honoured).
set -euo pipefail

SUITE=${1:-bookworm}
TAG=${2:-ustack/debian:$SUITE}

die() {
    echo "docker-base: $*" >&2
    exit 1
}
[ "$(id -u)" -eq 0 ] || die "needs root (debootstrap); run it with sudo"
command -v debootstrap >/dev/null || die "needs debootstrap (scripts/deps.sh installs it)"
command -v docker >/dev/null || die "needs docker (scripts/deps.sh installs docker.io)"

# The URIs of this machine's Debian sources, one-line (sources.list) and
# deb822 (*.sources) formats alike.
apt_uris() {
    {
        cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null |
            awk '$1 == "deb" { for (i = 2; i <= NF; i++) if ($i ~ /^https?:\/\//) { print $i; break } }'
        cat /etc/apt/sources.list.d/*.sources 2>/dev/null | awk '$1 == "URIs:" { for (i = 2; i <= NF; i++) print $i }'
    } | awk '!seen[$0]++'
}
MIRROR=${DEBIAN_MIRROR:-$(apt_uris | grep -v -- '-security' | head -n 1 || true)}
SECURITY=$(apt_uris | grep -- '-security' | head -n 1 || true)
[ -n "$MIRROR" ] || die "no Debian mirror in /etc/apt (set DEBIAN_MIRROR=http://...)"

ROOT=$(mktemp -d "${TMPDIR:-/tmp}/ustack-base.XXXXXX")
trap 'rm -rf "$ROOT"' EXIT
echo "docker-base: debootstrap $SUITE from $MIRROR (about a minute)"
debootstrap --variant=minbase "$SUITE" "$ROOT" "$MIRROR" >"$ROOT.log" 2>&1 || {
    tail -n 20 "$ROOT.log" >&2
    rm -f "$ROOT.log"
    die "debootstrap failed"
}
rm -f "$ROOT.log"
{
    echo "deb $MIRROR $SUITE main"
    echo "deb $MIRROR $SUITE-updates main"
    [ -z "$SECURITY" ] || echo "deb $SECURITY $SUITE-security main"
} >"$ROOT/etc/apt/sources.list"
# What debian:SUITE images carry: no services started by package installs,
# no caches kept.
printf '#!/bin/sh\nexit 101\n' >"$ROOT/usr/sbin/policy-rc.d"
chmod 755 "$ROOT/usr/sbin/policy-rc.d"
rm -rf "$ROOT"/var/cache/apt/archives/*.deb "$ROOT"/var/lib/apt/lists/*
echo "docker-base: importing it as $TAG"
tar -C "$ROOT" --numeric-owner -c . | docker import --change 'CMD ["bash"]' - "$TAG" >/dev/null
echo "docker-base: built $TAG"
