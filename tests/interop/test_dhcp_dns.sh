#!/usr/bin/env bash
# dhcp_dns: ustack on a link served by Debian's dnsmasq (DHCP and DNS), the
# kernel's side of a namespace:
#  - the runner with --addr dhcp gets an address from dnsmasq's range (after
#    probing it with ARP), answers ping and TCP echo on it, renews its short
#    lease at T1 (dnsmasq's T1 option, 3 s) more than once, and releases it
#    on SIGTERM (dnsmasq logs the DHCPRELEASE);
#  - a program on ust_getaddrinfo, also on --addr dhcp (DNS server from the
#    lease), resolves an A, an AAAA, a name behind two CNAMEs, and gets
#    "Name or service not known" for a name dnsmasq says does not exist, and
#    asks over TCP when dnsmasq truncates an answer of 40 addresses;
#  - udpc and iperf3c (static address, --dns) and tcpc (--addr dhcp) take
#    host names;
#  - without a server, --addr dhcp gives up after --dhcp-wait and says why.
# Needs dnsmasq (dnsmasq-base, scripts/deps.sh), started here inside the
# namespace only, stopped by its PID.
# shellcheck source=lib.sh source-path=SCRIPTDIR disable=SC2119
source "$(dirname "$0")/lib.sh"
need_root_and_tun
need_cmd dnsmasq ping socat iperf3
PY=$(python3_bin)
RESOLVE=${RESOLVE_BIN:-$REPO_DIR/build/bin/resolve}
UDPC=${UDPC_BIN:-$REPO_DIR/build/bin/udpc}
TCPC=${TCPC_BIN:-$REPO_DIR/build/bin/tcpc}
IPERF3C=${IPERF3C_BIN:-$REPO_DIR/build/bin/iperf3c}
for b in "$RESOLVE" "$UDPC" "$TCPC" "$IPERF3C"; do
    [ -x "$b" ] || fail "$b not found (set RESOLVE_BIN/UDPC_BIN/TCPC_BIN/IPERF3C_BIN, or run make build)"
done
ns_setup
# DHCP takes ~8.5 s here: dnsmasq pings an address for 3 s before it
# offers it, and the client probes it with ARP for 4-6 s (RFC 5227).
START_TIMEOUT=40

# No server on the link yet: --addr dhcp retransmits its DISCOVER (4 s +/-
# 1 s), gives up after --dhcp-wait, says what to check, and exits non-zero.
rc=0
in_ns timeout 30 "$USTACK" --tap "$TAP" --addr dhcp --dhcp-wait 6 --log debug \
    >/dev/null 2>"$WORK/noserver.log" </dev/null || rc=$?
assert_eq "exit code without a DHCP server" "$rc" 1
assert "it says why" grep -q "no DHCP lease on $TAP after 6 s: is a DHCP server running" \
    "$WORK/noserver.log"
assert "it asked again meanwhile" grep -q "no offer yet, DISCOVER again" "$WORK/noserver.log"

PIDS=()
# shellcheck disable=SC2317 # called by the EXIT trap
cleanup_servers() {
    local rc=$?
    set +e
    local p
    for p in "${PIDS[@]}"; do
        kill -TERM "$p" 2>/dev/null
    done
    for p in "${PIDS[@]}"; do
        wait "$p" 2>/dev/null
    done
    (exit "$rc")
    _cleanup
}
trap cleanup_servers EXIT
pdeath=()
if setpriv --help 2>/dev/null | grep -q -- --pdeathsig; then
    pdeath=(setpriv --pdeathsig TERM --)
fi

# dnsmasq: leases of 2 minutes (its least) with T1 3 s and T2 5 s, so that
# renewals come quickly; names under .test with a TTL of 60 s; any other
# name under .test is NXDOMAIN (--local); nothing is forwarded anywhere.
# big.test has 40 addresses: 40 records do not fit 512 bytes of UDP, so
# dnsmasq truncates the answer (TC) and the resolver must ask over TCP.
big=()
for i in $(seq 10 49); do big+=("--host-record=big.test,198.51.100.$i"); done
ip netns exec "$NS" "${pdeath[@]}" dnsmasq --no-daemon --conf-file=/dev/null \
    --user=root --group=root --interface="$TAP" --bind-interfaces --port=53 \
    --dhcp-range=192.0.2.50,192.0.2.99,255.255.255.0,2m \
    --dhcp-option=option:T1,3 --dhcp-option=option:T2,5 \
    --dhcp-leasefile="$WORK/leases" --pid-file="$WORK/dnsmasq.pid" \
    --no-resolv --no-hosts --local=/test/ --local-ttl=60 \
    --host-record=web.test,"$HOST_ADDR",2001:db8::80 \
    --cname=www.test,web.test --cname=alias.test,www.test "${big[@]}" \
    --log-dhcp --log-queries >"$WORK/dnsmasq.log" 2>&1 </dev/null &
PIDS+=($!)
wait_until 10 grep -q "DHCP, IP range" "$WORK/dnsmasq.log" ||
    fail "dnsmasq did not start: $(cat "$WORK/dnsmasq.log")"
log "dnsmasq up (pid ${PIDS[0]})"

# ---- the runner on a lease ----
start_ustack --addr dhcp
addr=$(sed -n 's/.*ustack up: dev=[^,]*, addr=\([0-9.]*\)\/24, gateway=\([0-9.]*\).*/\1 \2/p' \
    "$USTACK_LOGFILE")
read -r ADDR GW <<<"$addr"
[ -n "${ADDR:-}" ] || fail "no address in the runner's up line"
log "leased $ADDR, gateway $GW"
last=${ADDR##*.}
assert_ge "address inside dnsmasq's range" "$last" 50
assert_le "address inside dnsmasq's range" "$last" 99
assert_eq "default gateway from the lease" "$GW" "$HOST_ADDR"
assert "dnsmasq acknowledged that address" grep -q "DHCPACK(tap0) $ADDR " "$WORK/dnsmasq.log"
assert "the address was probed before use" grep -q "checking with ARP" "$USTACK_LOGFILE"
assert "ping $ADDR" quietly in_ns ping -c 3 -W 2 "$ADDR"
# TCP echo, byte-exact.
payload=$(head -c 3000 /dev/urandom | base64 -w0)
got=$(in_ns "$PY" - "$ADDR" "$payload" <<'PYEOF'
import socket, sys
s = socket.create_connection((sys.argv[1], 7), timeout=5)
data = sys.argv[2].encode()
s.sendall(data)
s.shutdown(socket.SHUT_WR)
buf = b""
while True:
    b = s.recv(65536)
    if not b:
        break
    buf += b
print(buf.decode())
PYEOF
)
assert_eq "TCP echo over the leased address" "${#got}" "${#payload}"
assert "TCP echo byte-exact" test "$got" = "$payload"
# Renewals at T1 (3 s after each ACK): wait for two.
# shellcheck disable=SC2317 # called through wait_until
_renewed_twice() { [ "$(grep -c "renewed for 120 s" "$USTACK_LOGFILE")" -ge 2 ]; }
assert "the lease renewed at T1, twice" wait_until 20 _renewed_twice
assert "dnsmasq saw the renewals" test "$(grep -c "DHCPACK(tap0) $ADDR " "$WORK/dnsmasq.log")" -ge 3
stop_ustack
assert_ge "dhcp.renewals" "$(counter dhcp.renewals)" 2
assert_eq "dhcp.drop_malformed" "$(counter dhcp.drop_malformed)" 0
assert "the lease released on SIGTERM" wait_until 5 grep -q "DHCPRELEASE(tap0) $ADDR " "$WORK/dnsmasq.log"

# ---- names ----
out=$WORK/resolve.out
in_ns timeout 60 "$RESOLVE" --tap "$TAP" --addr dhcp --log info \
    web.test www.test alias.test nope.test WEB.TEST >"$out" 2>"$WORK/resolve.log" ||
    fail "resolve failed: $(tail -20 "$WORK/resolve.log")"
cat "$out"
assert "A record" grep -qx "web.test inet $HOST_ADDR" "$out"
assert "AAAA record, as an IPv6 address" grep -qx "web.test inet6 2001:db8::80" "$out"
assert "CNAME to web.test" grep -qx "www.test inet $HOST_ADDR" "$out"
assert "two CNAMEs, AAAA at the end" grep -qx "alias.test inet6 2001:db8::80" "$out"
assert "NXDOMAIN" grep -qx "nope.test error Name or service not known" "$out"
assert "names are case-insensitive" grep -qx "WEB.TEST inet $HOST_ADDR" "$out"
assert "dnsmasq answered the DHCP client's DNS queries" grep -q "query\[AAAA\] alias.test" \
    "$WORK/dnsmasq.log"
# web.test and WEB.TEST: the second came from the cache (dnsmasq logs each
# query it gets).
assert_eq "queries for web.test A that reached dnsmasq" \
    "$(grep -ci 'query\[A\] web.test from' "$WORK/dnsmasq.log")" 1

# A truncated answer, asked again over TCP (static address, --dns).
in_ns timeout 30 "$RESOLVE" --tap "$TAP" --addr 192.0.2.3/24 --dns "$HOST_ADDR" --log debug \
    big.test >"$out" 2>"$WORK/resolve-big.log" ||
    fail "resolve big.test failed: $(tail -20 "$WORK/resolve-big.log")"
assert "the UDP answer was truncated, TCP asked" \
    grep -q "truncated its answer, asking over TCP" "$WORK/resolve-big.log"
assert_eq "addresses of big.test taken (at most 8 per answer)" \
    "$(grep -c "^big.test inet 198.51.100." "$out")" 8

# ---- the examples take host names ----
ready=$WORK/udp.ready
ip netns exec "$NS" "${pdeath[@]}" "$PY" "$INTEROP_DIR/udp_peer.py" server 9999 "$ready" \
    >"$WORK/udp.log" 2>&1 </dev/null &
PIDS+=($!)
wait_until 10 test -s "$ready" || fail "the UDP echo server did not start"
got=$(echo "hello by name" | in_ns timeout 30 "$UDPC" --tap "$TAP" --addr 192.0.2.3/24 \
    --dns "$HOST_ADDR" --log info www.test 9999 2>"$WORK/udpc.log") ||
    fail "udpc www.test: $(tail -5 "$WORK/udpc.log")"
assert_eq "udpc www.test 9999 (static address, --dns)" "$got" "hello by name"
ip netns exec "$NS" "${pdeath[@]}" socat TCP-LISTEN:9998,bind="$HOST_ADDR",reuseaddr,fork \
    EXEC:cat </dev/null >/dev/null 2>&1 &
PIDS+=($!)
wait_until 10 quietly in_ns "$PY" -c "import socket; socket.create_connection(('$HOST_ADDR', 9998), 1)" ||
    fail "socat did not listen"
got=$(echo "tcp by name" | in_ns timeout 60 "$TCPC" --tap "$TAP" --addr dhcp --log info \
    web.test 9998 2>"$WORK/tcpc.log") || fail "tcpc web.test: $(tail -5 "$WORK/tcpc.log")"
assert_eq "tcpc web.test 9998 (--addr dhcp)" "$got" "tcp by name"
# iperf3c -c NAME against the kernel's iperf3 -s (one test, 1 s).
ip netns exec "$NS" "${pdeath[@]}" iperf3 -s -1 -B "$HOST_ADDR" >"$WORK/iperf3s.log" 2>&1 </dev/null &
PIDS+=($!)
# (A probe connection would be iperf3 -s -1's one test: ask ss instead.)
# shellcheck disable=SC2317 # called through wait_until
_iperf3_listening() { in_ns ss -Hltn 'sport = :5201' | grep -q LISTEN; }
wait_until 10 _iperf3_listening || fail "iperf3 -s did not listen"
in_ns timeout 60 "$IPERF3C" --tap "$TAP" --addr 192.0.2.3/24 --dns "$HOST_ADDR" --log info \
    -c web.test -t 1 >"$WORK/iperf3c.out" 2>"$WORK/iperf3c.log" ||
    fail "iperf3c -c web.test: $(tail -5 "$WORK/iperf3c.log")"
assert "iperf3c resolved web.test" grep -q "web.test is $HOST_ADDR" "$WORK/iperf3c.log"
assert "iperf3c -c web.test ran its test" grep -q "receiver" "$WORK/iperf3c.out"
got=$(echo x | in_ns timeout 60 "$UDPC" --tap "$TAP" --addr 192.0.2.3/24 --dns "$HOST_ADDR" \
    --log info nope.test 9999 2>&1 >/dev/null) && fail "udpc nope.test succeeded"
assert "udpc says what failed" grep -q "cannot resolve nope.test: Name or service not known" \
    <<<"$got"
pass
