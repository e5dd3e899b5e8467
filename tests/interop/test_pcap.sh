#!/usr/bin/env bash
# pcap: --pcap FILE records the frames ustack sends and receives in a file
# that tcpdump reads: the ARP exchange and the ICMP echo requests and replies.
# shellcheck source=lib.sh source-path=SCRIPTDIR disable=SC2119
source "$(dirname "$0")/lib.sh"
need_root_and_tun
need_cmd ping tcpdump od
need_ustack
ns_setup
cap=$WORK/capture.pcap
start_ustack --pcap "$cap"

out=$(in_ns ping -n -c 3 -i 0.05 -w 10 "$USTACK_ADDR" 2>&1) || true
assert "3 pings answered" grep -q " 3 received" <<<"$out"
stop_ustack

assert "the capture exists and is not empty" test -s "$cap"
# Classic libpcap, microseconds, in either byte order (ustack writes host order).
magic=$(od -An -tx1 -N4 "$cap" | tr -d ' \n')
case "$magic" in
d4c3b2a1 | a1b2c3d4) log "ok: pcap magic $magic" ;;
*) fail "pcap magic is '$magic', expected d4c3b2a1 or a1b2c3d4" ;;
esac

if ! tcpdump -r "$cap" -nn >"$WORK/dump.txt" 2>"$WORK/dump.err"; then
    cat "$WORK/dump.err" >&2
    fail "tcpdump could not read the capture"
fi
cat "$WORK/dump.txt"
assert "tcpdump reports no error or truncation" \
    bash -c "! grep -qiE 'truncated|bogus|invalid|error' '$WORK/dump.err' '$WORK/dump.txt'"
assert "ARP request for $USTACK_ADDR" grep -q "ARP, Request who-has $USTACK_ADDR tell $HOST_ADDR" "$WORK/dump.txt"
assert "ARP reply from $USTACK_ADDR" grep -q "ARP, Reply $USTACK_ADDR is-at 02:00:c0:00:02:02" "$WORK/dump.txt"
assert_eq "ICMP echo requests" \
    "$(grep -c "IP $HOST_ADDR > $USTACK_ADDR: ICMP echo request" "$WORK/dump.txt")" 3
assert_eq "ICMP echo replies" \
    "$(grep -c "IP $USTACK_ADDR > $HOST_ADDR: ICMP echo reply" "$WORK/dump.txt")" 3
assert "the gratuitous ARP announcement at start-up" \
    grep -q "ARP, Request who-has $USTACK_ADDR tell $USTACK_ADDR" "$WORK/dump.txt"
# Link type 1 (Ethernet) in the file header, and with -e every frame shows
# its two MAC addresses.
linktype=$(od -An -tx1 -j20 -N4 "$cap" | tr -d ' \n')
case "$linktype" in
01000000 | 00000001) log "ok: link type Ethernet" ;;
*) fail "pcap link type bytes are '$linktype', expected Ethernet (1)" ;;
esac
tcpdump -r "$cap" -nn -e >"$WORK/dump-e.txt" 2>/dev/null
assert_eq "frames with Ethernet headers" \
    "$(grep -cE '^[0-9:.]+ [0-9a-f:]{17} > [0-9a-f:]{17}' "$WORK/dump-e.txt")" "$(wc -l <"$WORK/dump-e.txt")"
pass
