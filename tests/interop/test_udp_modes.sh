#!/usr/bin/env bash
# udp_modes: the socket API's ways of waiting, against the kernel. The
# udp_modes program (tests/interop/udp_modes.c, its own stack on tap0 with
# the runtime) does a blocking recvfrom, a non-blocking socket woken by
# ust_poll, ust_poll over several sockets where only one is ready, and
# SO_RCVTIMEO; udp_peer.py starts it, reads its "ready" lines and sends the
# kernel's datagrams at the right moments, checking each echo.
# shellcheck source=lib.sh source-path=SCRIPTDIR disable=SC2119
source "$(dirname "$0")/lib.sh"
need_root_and_tun
PY=$(python3_bin)
MODES=${UDP_MODES_BIN:-$REPO_DIR/build/bin/udp_modes}
[ -x "$MODES" ] || fail "udp_modes not found at $MODES (set UDP_MODES_BIN, or build the tests)"
ns_setup

# The peer runs the program (and kills it on any failure); timeout bounds both.
assert "blocking, non-blocking, ust_poll and SO_RCVTIMEO against the kernel" \
    in_ns timeout 90 "$PY" "$INTEROP_DIR/udp_peer.py" modes "$USTACK_ADDR" "$MODES" "$TAP"
pass
