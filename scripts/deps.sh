#!/usr/bin/env bash
# Installs the Debian packages ustack needs to build, test and benchmark,
# if any is missing. Needs root (or sudo) only when something is missing.
# --no-docker (or USTACK_NO_DOCKER=1, which the development container sets)
# leaves out the packages that make and run that container: inside it they
# have no use.
# No package may start a service because it was installed (docker.io would
# start dockerd): while apt-get runs, a policy-rc.d refuses, unless the
# machine has one of its own.
set -euo pipefail

packages=(
    make cmake gcc clang libclang-rt-dev libcmocka-dev   # build, sanitizers, libFuzzer, cmocka
    binutils                                             # objdump for the global-state check
    clang-format clang-tidy                              # lint: format and tidy checks (14 on Debian 12)
    iproute2 iputils-ping arping tcpdump socat netcat-openbsd curl nftables iperf3  # interop tests
    ethtool                                              # interop/packet, offload: the veth peer's offloads, what the TAP negotiated
    dnsmasq-base                                         # interop: the DHCP and DNS server (no service)
    python3                                              # fuzz corpus generator, helpers
    pkgconf                                              # the out-of-tree example (install test)
    nginx redis-server redis-tools wrk                   # preload_servers: nginx, redis under preload
    docker.io docker-compose debootstrap                 # make docker-*, the docker test (scripts/docker*.sh)
)
case "${1:-}" in
"") [ "${USTACK_NO_DOCKER:-}" != 1 ] || packages=("${packages[@]:0:${#packages[@]}-3}") ;;
--no-docker) packages=("${packages[@]:0:${#packages[@]}-3}") ;;
*)
    echo "usage: scripts/deps.sh [--no-docker]" >&2
    exit 2
    ;;
esac

missing=()
for p in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "deps: installing ${missing[*]}"
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null || { echo "deps: need root to install: ${missing[*]}" >&2; exit 1; }
    SUDO=sudo
fi
export DEBIAN_FRONTEND=noninteractive
# No package may start a service on this machine while it installs (the
# tests run their servers themselves, inside their own namespaces): a
# policy-rc.d that says no (exit 101), removed afterwards if we made it.
policy=/usr/sbin/policy-rc.d
made_policy=""
if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\nexit 101\n' | $SUDO tee "$policy" >/dev/null
    $SUDO chmod 755 "$policy"
    made_policy=1
fi
trap '[ -z "$made_policy" ] || $SUDO rm -f "$policy"' EXIT
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
[ -z "$made_policy" ] || { $SUDO rm -f "$policy"; trap - EXIT; }
