#!/usr/bin/env bash
# preload_ipv6: AF_INET6 sockets of stock programs under
# libustack-preload.so (USTACK_ADDR=192.0.2.2/24,2001:db8::2/64), the
# kernel (2001:db8::1, fe80::1 on tap0) as the peer:
#  - a python3 harness (preload_v6.py): SO_DOMAIN, IPV6_V6ONLY (0 by
#    default, 1 refuses IPv4), IPV6_UNICAST_HOPS, IPV6_TCLASS, link-local
#    with the kernel's scope id of tap0 both ways, unknown scopes: ENODEV,
#    IPv4-mapped peers, a [::] listener taking IPv6 and IPv4 clients, UDP
#    over ::1;
#  - the variables: an IPv6 router from USTACK_GATEWAY's list or
#    USTACK_GATEWAY6 (an off-link host reached, unreachable without),
#    USTACK_IPV6=off (EAFNOSUPPORT), a wrong USTACK_IPV6 (ENETDOWN, said);
#  - curl -6 under preload fetches 20 MB from the kernel's http.server
#    byte-exact, over 2001:db8::1 and over [fe80::1%tap0];
#  - python3 -m http.server --bind :: under preload: the kernel's curl -6
#    and curl -4 fetch 20 MB byte-exact from the same dual-stack socket;
#  - nc -6: 20 MB byte-exact into nc -l under preload and out of nc under
#    preload;
#  - socat TCP6 both ways (20 MB byte-exact) and UDP6 both ways (20
#    datagrams byte-exact);
#  - iperf3 -6 -s under preload against the kernel's iperf3 -c, and iperf3
#    -6 -c under preload against the kernel's iperf3 -s.
# shellcheck source=lib.sh source-path=SCRIPTDIR disable=SC2119
source "$(dirname "$0")/lib.sh"
need_root_and_tun
need_cmd curl nc socat iperf3 sha256sum
nc -h 2>&1 | grep -q OpenBSD || skip "needs OpenBSD nc (netcat-openbsd; scripts/deps.sh)"
PY=$(python3_bin)
ns_setup --ipv6
in_ns ip -6 addr add fe80::1/64 dev "$TAP" nodad
# shellcheck source=preload_lib.sh
source "$INTEROP_DIR/preload_lib.sh"
trap 'preload_exit_trap' EXIT
PRELOAD_ADDR="$USTACK_ADDR/24,$USTACK_ADDR6/64"

data=$WORK/data.bin
head -c $((20 * 1024 * 1024)) /dev/urandom >"$data"
sum() { sha256sum "$1" | cut -c1-64; }
want=$(sum "$data")
listening() { in_ns ss -Hltn "sport = :$1" | grep -q LISTEN; }
# wait_pid PID: waits (at most 120 s) for a background program; its status.
wait_pid() {
    for _ in $(seq 2400); do
        kill -0 "$1" 2>/dev/null || { wait "$1"; return $?; }
        sleep 0.05
    done
    kill -KILL "$1" 2>/dev/null
    return 124
}
# kernel_bg NAME CMD...: a kernel program in the namespace, in the background.
kernel_bg() {
    local name=$1
    shift
    ip netns exec "$NS" "$@" >"$WORK/$name.out" 2>"$WORK/$name.err" </dev/null &
    KPID=$!
    PRELOADED_PIDS+=("$KPID")
}

# ---- the socket API ----
kernel_bg hi socat TCP6-LISTEN:7000,reuseaddr,fork SYSTEM:'echo hi'
wait_until 20 listening 7000 || fail "the kernel's socat on 7000"
rc=0
in_ns_preload timeout 60 "$PY" "$INTEROP_DIR/preload_v6.py" >"$WORK/v6.out" 2>"$WORK/v6.err" || rc=$?
cat "$WORK/v6.out"
[ -s "$WORK/v6.err" ] && { echo "---- stderr ----"; cat "$WORK/v6.err"; }
assert_eq "preload_v6.py exit status" "$rc" 0
assert_ge "preload_v6.py checks passed" "$(grep -c "^ok:" "$WORK/v6.out")" 19

# ---- the IPv6 variables ----
# 2001:db8:1::1 is the kernel's, off ustack's link: only a router reaches it.
in_ns ip -6 addr add 2001:db8:1::1/64 dev "$TAP" nodad
probe='import socket
try:
    s = socket.create_connection(("2001:db8:1::1", 7000), timeout=5); print(s.recv(8).decode().strip())
except OSError as e:
    print("errno", e.errno)'
v6probe() { in_ns_preload env "$@" timeout 30 "$PY" -c "$probe" 2>"$WORK/probe.err"; }
assert_eq "USTACK_GATEWAY=192.0.2.1,2001:db8::1: an off-link IPv6 host via that router" \
    "$(v6probe USTACK_GATEWAY="$HOST_ADDR,$HOST_ADDR6")" hi
assert_eq "USTACK_GATEWAY6=2001:db8::1: the same" "$(v6probe USTACK_GATEWAY6="$HOST_ADDR6")" hi
assert_eq "no IPv6 router: unreachable (ENETUNREACH)" "$(v6probe USTACK_GATEWAY=none)" "errno 101"
assert_eq "USTACK_IPV6=off: AF_INET6 fails with EAFNOSUPPORT" "$(v6probe USTACK_IPV6=off USTACK_ADDR="$USTACK_ADDR/24")" "errno 97"
assert_eq "USTACK_IPV6=maybe: ENETDOWN" "$(v6probe USTACK_IPV6=maybe)" "errno 100"
assert "...after saying what is wrong" grep -q "USTACK_IPV6=maybe: expected on or off" "$WORK/probe.err"
stop_preloaded "$KPID"

# ---- curl -6 under preload, the kernel's http.server ----
www=$WORK/www
mkdir -p "$www"
cp "$data" "$www/big.bin"
cd "$www"
kernel_bg khttp "$PY" -m http.server --bind :: 8081
cd - >/dev/null
wait_until 20 listening 8081 || fail "the kernel's http.server did not listen"
assert "curl -6 under preload: 20 MB from the kernel's http.server at [$HOST_ADDR6]" \
    in_ns_preload timeout 120 curl -6 -sSf -o "$WORK/c1.got" "http://[$HOST_ADDR6]:8081/big.bin"
assert_eq "...byte-exact" "$(sum "$WORK/c1.got")" "$want"
assert "curl -6 under preload: 20 MB from [fe80::1%$TAP] (a scope id)" \
    in_ns_preload timeout 120 curl -6 -g -sSf -o "$WORK/c2.got" "http://[fe80::1%25$TAP]:8081/big.bin"
assert_eq "...byte-exact" "$(sum "$WORK/c2.got")" "$want"
stop_preloaded "$KPID"

# ---- python3 -m http.server --bind :: under preload ----
cd "$www"
start_preloaded server "$PY" -m http.server --bind :: 8080
server=$PRELOADED_PID
cd - >/dev/null
wait_until 20 port_open "$USTACK_ADDR" 8080 || fail "http.server under preload did not listen: $(cat "$WORK/server.err")"
assert "the kernel's curl -6: 20 MB from http.server --bind :: under preload" \
    in_ns timeout 120 curl -6 -sf -o "$WORK/s6.got" "http://[$USTACK_ADDR6]:8080/big.bin"
assert_eq "...byte-exact" "$(sum "$WORK/s6.got")" "$want"
assert "the kernel's curl -4: 20 MB from the same dual-stack socket" \
    in_ns timeout 120 curl -4 -sf -o "$WORK/s4.got" "http://$USTACK_ADDR:8080/big.bin"
assert_eq "...byte-exact" "$(sum "$WORK/s4.got")" "$want"
stop_preloaded "$server"

# ---- nc -6 ----
start_preloaded nc1 nc -6 -l "$USTACK_ADDR6" 5000
srv=$PRELOADED_PID
ok=0
for _ in $(seq 100); do
    if in_ns timeout 120 nc -6 -N "$USTACK_ADDR6" 5000 <"$data" 2>/dev/null; then ok=1; break; fi
    sleep 0.1
done
assert_eq "kernel nc -6 sends 20 MB to nc -6 -l under preload" "$ok" 1
assert "nc -6 -l under preload exits at EOF" wait_pid "$srv"
assert_eq "...byte-exact" "$(sum "$WORK/nc1.out")" "$want"

kernel_bg knc timeout 120 nc -6 -l "$HOST_ADDR6" 5002
wait_until 20 listening 5002 || fail "the kernel's nc -6 -l"
cp /dev/null "$WORK/knc.out"
assert "nc -6 under preload sends 20 MB to the kernel's nc -6 -l" \
    in_ns_preload timeout 120 nc -6 -N "$HOST_ADDR6" 5002 <"$data"
wait_pid "$KPID" || true
assert_eq "...byte-exact" "$(sum "$WORK/knc.out")" "$want"

# ---- socat TCP6 ----
start_preloaded socat1 socat -u TCP6-LISTEN:6000,bind="[$USTACK_ADDR6]",reuseaddr CREATE:"$WORK/socat1.got"
srv=$PRELOADED_PID
ok=0
for _ in $(seq 100); do
    if in_ns timeout 120 socat -u OPEN:"$data" TCP6:"[$USTACK_ADDR6]":6000 2>/dev/null; then ok=1; break; fi
    sleep 0.1
done
wait_pid "$srv" || true
assert_eq "socat TCP6: the kernel sends 20 MB to socat under preload" "$ok" 1
assert_eq "...byte-exact" "$(sum "$WORK/socat1.got")" "$want"

kernel_bg ksocat timeout 120 socat -u TCP6-LISTEN:6001,bind="[$HOST_ADDR6]",reuseaddr CREATE:"$WORK/socat2.got"
wait_until 20 listening 6001 || fail "the kernel's socat TCP6-LISTEN"
assert "socat TCP6: socat under preload sends 20 MB to the kernel" \
    in_ns_preload timeout 120 socat -u OPEN:"$data" TCP6:"[$HOST_ADDR6]":6001
wait_pid "$KPID" || true
assert_eq "...byte-exact" "$(sum "$WORK/socat2.got")" "$want"

# ---- socat UDP6: 20 datagrams of 1000 bytes each way ----
head -c 20000 /dev/urandom >"$WORK/dgrams.bin"
split -b 1000 -d -a 2 "$WORK/dgrams.bin" "$WORK/dg."
got_at_least() { [ "$(stat -c %s "$1" 2>/dev/null || echo 0)" -ge "$2" ]; }

: >"$WORK/udp1.got"
start_preloaded socat3 socat -u UDP6-RECV:6002,bind="[$USTACK_ADDR6]" CREATE:"$WORK/udp1.got"
srv=$PRELOADED_PID
# The first datagram is repeated until socat under preload has it.
wait_until 20 bash -c "ip netns exec '$NS' socat -u OPEN:'$WORK/dg.00' UDP6:[$USTACK_ADDR6]:6002; [ -s '$WORK/udp1.got' ]" ||
    fail "socat UDP6-RECV under preload got nothing: $(cat "$WORK/socat3.err")"
n=1
for f in "$WORK"/dg.*; do
    [ "$f" = "$WORK/dg.00" ] && continue
    n=$((n + 1))
    in_ns socat -u OPEN:"$f" UDP6:"[$USTACK_ADDR6]":6002
    wait_until 10 got_at_least "$WORK/udp1.got" $((n * 1000)) || true
done
stop_preloaded "$srv"
tail -c 20000 "$WORK/udp1.got" >"$WORK/udp1.tail"
assert_eq "socat UDP6: 20 datagrams into socat under preload, byte-exact" \
    "$(sum "$WORK/udp1.tail")" "$(sum "$WORK/dgrams.bin")"

: >"$WORK/udp2.got"
kernel_bg kudp socat -u UDP6-RECV:6003,bind="[$HOST_ADDR6]" CREATE:"$WORK/udp2.got"
wait_until 20 bash -c "ip netns exec '$NS' ss -Hlun 'sport = :6003' | grep -q 6003" || fail "the kernel's socat UDP6"
# One socat under preload sends them all (-b 1000: a datagram per 1000
# bytes read): a process per datagram would wait for DAD each time.
assert "socat UDP6 under preload sends 20 datagrams" \
    in_ns_preload socat -u -b 1000 OPEN:"$WORK/dgrams.bin" UDP6:"[$HOST_ADDR6]":6003
wait_until 10 got_at_least "$WORK/udp2.got" 20000 || true
stop_preloaded "$KPID"
assert_eq "socat UDP6: 20 datagrams from socat under preload, byte-exact" \
    "$(sum "$WORK/udp2.got")" "$(sum "$WORK/dgrams.bin")"

# ---- iperf3 -6 ----
CHECK=("$PY" "$INTEROP_DIR/iperf3_check.py")
start_preloaded is iperf3 -6 -s -B "$USTACK_ADDR6"
srv=$PRELOADED_PID
wait_until 20 port_open "$USTACK_ADDR6" 5201 || fail "iperf3 -6 -s under preload: $(cat "$WORK/is.out" "$WORK/is.err")"
in_ns timeout 60 iperf3 -6 -c "$USTACK_ADDR6" -J -t 2 -P 2 >"$WORK/i1.json" 2>"$WORK/i1.err" ||
    fail "the kernel's iperf3 -6 -c: $(tail -n 5 "$WORK/i1.json" "$WORK/i1.err")"
assert "iperf3 -6 -s under preload, the kernel's -c -P 2: results right" "${CHECK[@]}" result \
    "$WORK/i1.json" "kernel -> preload" --streams 2 --reverse 0
stop_preloaded "$srv"
kernel_bg kis iperf3 -6 -s -B "$HOST_ADDR6"
wait_until 20 listening 5201 || fail "the kernel's iperf3 -6 -s"
in_ns_preload timeout 60 iperf3 -6 -c "$HOST_ADDR6" -J -t 2 -P 2 -R >"$WORK/i2.json" 2>"$WORK/i2.err" ||
    fail "iperf3 -6 -c under preload: $(tail -n 5 "$WORK/i2.json" "$WORK/i2.err")"
assert "iperf3 -6 -c -R under preload, the kernel's -s: results right" "${CHECK[@]}" result \
    "$WORK/i2.json" "preload client" --streams 2 --reverse 1
stop_preloaded "$KPID"
pass
