#!/usr/bin/env bash
# Installs the Debian packages ustack needs to build, test and benchmark,
# if any is missing. Needs root (or sudo) only when something is missing.
set -euo pipefail

packages=(
    make cmake gcc clang libclang-rt-dev libcmocka-dev   # build, sanitizers, libFuzzer, cmocka
    binutils                                             # objdump for the global-state check
    clang-format clang-tidy                              # lint: format and tidy checks (14 on Debian 12)
    iproute2 iputils-ping arping tcpdump socat netcat-openbsd curl nftables iperf3  # interop tests
    ethtool                                              # interop/offload: what the TAP negotiated
    python3                                              # fuzz corpus generator, helpers
)

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
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
