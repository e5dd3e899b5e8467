#!/usr/bin/env bash
# unreachable: an IP packet with a protocol ustack does not speak (253, for
# experiments, RFC 3692) gets an ICMP protocol unreachable back (type 3,
# code 2) that quotes the original IP header and 8 bytes of data.
# shellcheck source=lib.sh source-path=SCRIPTDIR disable=SC2119
source "$(dirname "$0")/lib.sh"
need_root_and_tun
PY=$(python3_bin)
need_ustack
ns_setup
start_ustack

assert "ICMP protocol unreachable for protocol 253" \
    in_ns "$PY" "$INTEROP_DIR/unreach.py" "$HOST_ADDR" "$USTACK_ADDR" 253

stop_ustack
assert_ge "ip.drop_unknown_proto" "$(counter ip.drop_unknown_proto)" 1
assert_ge "icmp.tx_dest_unreach" "$(counter icmp.tx_dest_unreach)" 1
pass
