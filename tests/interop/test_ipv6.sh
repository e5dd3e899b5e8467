#!/usr/bin/env bash
# ipv6: the runner as a dual-stack host, the kernel as its IPv6 peer on the
# namespace's tap0 (2001:db8::1/64 there, 2001:db8::2/64 for ustack).
#  - ping -6: the global address, the link-local one with %tap0, a 1452-byte
#    payload (a full 1500-byte packet, -M do), a 4000-byte one (fragments
#    both ways: ip6.reasm_ok and ip6.frag_tx count them);
#  - neighbour discovery both ways: the kernel's cache holds ustack's MAC
#    for its addresses (REACHABLE, STALE, DELAY or PROBE), ustack counts
#    the NS and NA it received and sent;
#  - curl -6 byte-exact (a 300 kB random file from --http-root), also by
#    the link-local address; and over IPv4 through the same listening
#    socket (dual-stack), with the peers logged as the families they are;
#  - TCP echo of 20 MB over IPv6 with socat, byte-exact;
#  - UDP echo over IPv6: 100 and 3000 bytes (fragmented) byte-exact, and an
#    IPv4 datagram through the same socket;
#  - iperf3 -6 both directions (-n 20M: every byte sent arrived; ustack
#    sent exactly 20 MiB);
#  - ustack as the client: iperf3c against a kernel iperf3 -s over IPv6
#    ([2001:db8::1]:5201), tcpc to a kernel TCP echo server by
#    [2001:db8::1]:PORT, udpc to a kernel UDP echo server by its
#    link-local address with %tap0.
# shellcheck source=lib.sh source-path=SCRIPTDIR disable=SC2119
source "$(dirname "$0")/lib.sh"
need_root_and_tun
PY=$(python3_bin)
need_cmd ping curl socat iperf3 ss
need_ustack
IPERF3C=${IPERF3C_BIN:-$REPO_DIR/build/bin/iperf3c}
TCPC=${TCPC_BIN:-$(dirname "$USTACK")/tcpc}
UDPC=${UDPC_BIN:-$(dirname "$USTACK")/udpc}
for b in "$IPERF3C" "$TCPC" "$UDPC"; do
    [ -x "$b" ] || fail "$b not found (set IPERF3C_BIN, TCPC_BIN, UDPC_BIN, or run make build)"
done
ns_setup --ipv6
CHECK=("$PY" "$INTEROP_DIR/iperf3_check.py")
USTACK_MAC=02:00:c0:00:02:02

mkdir "$WORK/www"
head -c 300000 /dev/urandom >"$WORK/www/blob.bin"
start_ustack --http-root "$WORK/www"
wait_ll6
LL=$(ustack_ll6)
[ -n "$LL" ] || fail "the 'ustack up:' line names no link-local address"
assert "the up line names the IPv6 address" grep -q "addr6=$USTACK_ADDR6/64" "$USTACK_LOGFILE"
assert "the services listen on both families" \
    grep -q "service tcp/http: listening on TCP port 80, IPv4 and IPv6" "$USTACK_LOGFILE"

# ---- ping -6 ----
assert "ping -6 $USTACK_ADDR6" quietly in_ns ping -6 -c 3 -i 0.2 -W 2 "$USTACK_ADDR6"
assert "ping -6 $LL%$TAP (link-local)" quietly in_ns ping -6 -c 3 -i 0.2 -W 2 "$LL%$TAP"
assert "ping -6 -s 1452 -M do: a full 1500-byte packet" \
    quietly in_ns ping -6 -c 3 -i 0.2 -W 2 -s 1452 -M do "$USTACK_ADDR6"
assert "ping -6 -s 4000: fragments both ways" \
    quietly in_ns ping -6 -c 3 -i 0.2 -W 2 -s 4000 "$USTACK_ADDR6"

# ---- neighbour discovery, as the kernel sees it ----
neigh_ok() {
    in_ns ip -6 neigh show "$1" dev "$TAP" |
        grep -Eq "lladdr $USTACK_MAC (REACHABLE|STALE|DELAY|PROBE)"
}
assert "the kernel resolved $USTACK_ADDR6 to ustack's MAC" neigh_ok "$USTACK_ADDR6"
assert "the kernel resolved $LL to ustack's MAC" neigh_ok "$LL"

# ---- HTTP over IPv6, and over IPv4 on the same socket ----
assert "curl -6: 300 kB byte-exact" quietly in_ns curl -6 -sf --max-time 30 -o "$WORK/got6.bin" \
    "http://[$USTACK_ADDR6]/blob.bin"
assert "curl -6: the bytes served" cmp "$WORK/www/blob.bin" "$WORK/got6.bin"
assert "curl by the link-local address" quietly in_ns curl -6 -sfg --max-time 30 \
    -o "$WORK/gotll.bin" "http://[$LL%25$TAP]/blob.bin"
assert "curl link-local: the bytes served" cmp "$WORK/www/blob.bin" "$WORK/gotll.bin"
assert "curl over IPv4 (dual-stack socket)" quietly in_ns curl -4 -sf --max-time 30 \
    -o "$WORK/got4.bin" "http://$USTACK_ADDR/blob.bin"
assert "curl over IPv4: the bytes served" cmp "$WORK/www/blob.bin" "$WORK/got4.bin"

# ---- TCP echo, 20 MB ----
head -c $((20 * 1024 * 1024)) /dev/urandom >"$WORK/echo.in"
# -t 60: after our EOF, wait for the echo's (ustack closes when it has
# sent everything back).
in_ns timeout 100 socat -t 60 -b 65536 - "TCP6:[$USTACK_ADDR6]:7" <"$WORK/echo.in" \
    >"$WORK/echo.out" || fail "socat over IPv6 to the echo service failed"
assert "TCP echo over IPv6: 20 MB byte-exact" cmp "$WORK/echo.in" "$WORK/echo.out"

# ---- UDP echo: IPv6 (one datagram fragmented), and IPv4 on the same socket ----
assert "UDP echo over IPv6 (100 and 3000 bytes) and IPv4, byte-exact" in_ns "$PY" -c '
import os, socket, sys
def echo(family, addr, n):
    s = socket.socket(family, socket.SOCK_DGRAM)
    s.settimeout(5)
    data = os.urandom(n)
    s.sendto(data, (addr, 7))
    got, frm = s.recvfrom(65536)
    if got != data:
        sys.exit("%s: %d bytes sent, %d different ones back" % (addr, n, len(got)))
    if frm[0] != addr:
        sys.exit("reply from %s, not %s" % (frm[0], addr))
echo(socket.AF_INET6, sys.argv[1], 100)
echo(socket.AF_INET6, sys.argv[1], 3000)
echo(socket.AF_INET, sys.argv[2], 3000)
' "$USTACK_ADDR6" "$USTACK_ADDR"

# ---- iperf3 -6 against the runner ----
for args in "-n 20M" "-R -n 20M"; do
    name=$(echo "i6$args" | tr -d ' -')
    # ustack sends exactly -n; the kernel's iperf3 may send a block more.
    reverse=0 exact=(--at-least 20971520)
    [[ $args == *-R* ]] && reverse=1 exact=(--bytes 20971520)
    rc=0
    # shellcheck disable=SC2086 # $args is a list of options
    in_ns timeout 60 iperf3 -6 -c "$USTACK_ADDR6" -J $args >"$WORK/$name.json" 2>"$WORK/$name.err" ||
        rc=$?
    [ "$rc" -eq 0 ] || { cat "$WORK/$name.json" "$WORK/$name.err" >&2; fail "iperf3 -6 $args exited $rc"; }
    assert "iperf3 -6 $args: every byte arrived" "${CHECK[@]}" result "$WORK/$name.json" \
        "iperf3 -6 $args" --streams 1 --reverse "$reverse" "${exact[@]}" --equal
done

stop_ustack
assert_ge "ip6.reasm_ok (the 4000-byte pings, the 3000-byte datagram)" "$(counter ip6.reasm_ok)" 4
assert_ge "ip6.frag_tx (their replies, fragmented)" "$(counter ip6.frag_tx)" 8
assert_ge "nd.rx_ns" "$(counter nd.rx_ns)" 1
assert_ge "nd.tx_na" "$(counter nd.tx_na)" 1
assert_ge "nd.tx_ns (ustack resolving the kernel)" "$(counter nd.tx_ns)" 1
assert_eq "udp.drop_bad_checksum" "$(counter udp.drop_bad_checksum)" 0
assert_eq "tcp.drop_bad_checksum" "$(counter tcp.drop_bad_checksum)" 0
assert "the iperf3 service logs its IPv6 peer" \
    grep -q "iperf3: $HOST_ADDR6: test" "$USTACK_LOGFILE"

# ---- ustack as the client, over IPv6 ----
SERVER_PID=""
# shellcheck disable=SC2317 # called by the EXIT trap
cleanup_server() {
    local rc=$?
    set +e
    if [ -n "$SERVER_PID" ] && kill -0 "$SERVER_PID" 2>/dev/null; then
        kill -TERM "$SERVER_PID" 2>/dev/null
        wait "$SERVER_PID" 2>/dev/null
    fi
    (exit "$rc")
    _cleanup
}
trap cleanup_server EXIT
# shellcheck disable=SC2317 # called through wait_until
listening() { in_ns ss -Hltun "$1" | grep -q .; }

ip netns exec "$NS" iperf3 -s -1 -J -B "$HOST_ADDR6" -p 5202 --logfile "$WORK/c6.srv.json" &
SERVER_PID=$!
wait_until 10 listening 'sport = :5202' || fail "iperf3 -s is not listening"
for args in "-t 2" "-t 2 -R"; do
    [ -n "$SERVER_PID" ] || {
        ip netns exec "$NS" iperf3 -s -1 -J -B "$HOST_ADDR6" -p 5202 --logfile "$WORK/c6R.srv.json" &
        SERVER_PID=$!
        wait_until 10 listening 'sport = :5202' || fail "iperf3 -s is not listening"
    }
    name=$(echo "c6$args" | tr -d ' -')
    reverse=0
    [[ $args == *-R* ]] && reverse=1
    rc=0
    # shellcheck disable=SC2086 # $args is a list of options
    in_ns timeout 60 "$IPERF3C" --log warn -c "[$HOST_ADDR6]:5202" $args -J >"$WORK/$name.json" \
        2>"$WORK/$name.err" || rc=$?
    [ "$rc" -eq 0 ] || { cat "$WORK/$name.err" >&2; fail "iperf3c -c [$HOST_ADDR6]:5202 $args exited $rc"; }
    rc=0
    wait "$SERVER_PID" || rc=$?
    SERVER_PID=""
    assert_eq "iperf3 -s -B $HOST_ADDR6 after iperf3c $args: exit code" "$rc" 0
    assert "iperf3c over IPv6 $args: results right" "${CHECK[@]}" result "$WORK/$name.json" \
        "iperf3c $args" --streams 1 --reverse "$reverse"
done

# tcpc and udpc: a kernel echo server each (socat), reached by literals.
ip netns exec "$NS" socat -T 20 "TCP6-LISTEN:9998,bind=[$HOST_ADDR6],reuseaddr,fork" EXEC:cat &
SERVER_PID=$!
wait_until 10 listening 'sport = :9998' || fail "socat (TCP) is not listening"
head -c 200000 /dev/urandom >"$WORK/tcpc.in"
in_ns timeout 60 "$TCPC" --log warn "[$HOST_ADDR6]:9998" <"$WORK/tcpc.in" >"$WORK/tcpc.out" ||
    fail "tcpc [$HOST_ADDR6]:9998 failed"
assert "tcpc [$HOST_ADDR6]:9998: 200 kB echoed byte-exact" cmp "$WORK/tcpc.in" "$WORK/tcpc.out"
kill -TERM "$SERVER_PID"
wait "$SERVER_PID" 2>/dev/null || true
HLL=$(host_ll6)
ip netns exec "$NS" socat -T 20 "UDP6-LISTEN:9999,bind=[$HLL%$TAP],reuseaddr,fork" EXEC:cat &
SERVER_PID=$!
wait_until 10 listening 'sport = :9999' || fail "socat (UDP) is not listening"
printf 'hello over link-local\n' >"$WORK/udpc.in"
in_ns timeout 30 "$UDPC" --log warn "$HLL%$TAP" 9999 <"$WORK/udpc.in" >"$WORK/udpc.out" ||
    fail "udpc $HLL%$TAP 9999 failed"
assert "udpc $HLL%$TAP 9999: the line came back" cmp "$WORK/udpc.in" "$WORK/udpc.out"
rc=0
in_ns "$UDPC" "$HLL%eth9" 9999 </dev/null >/dev/null 2>"$WORK/scope.err" || rc=$?
assert_eq "udpc with a scope that is not its device: exit code" "$rc" 2
assert "and it says why" grep -q "not the stack's device" "$WORK/scope.err"
pass
