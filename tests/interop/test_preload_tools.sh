#!/usr/bin/env bash
# preload_tools: OpenBSD nc and socat under libustack-preload.so, the
# kernel's nc and socat as the peers, in the test's namespace.
#  - nc: 20 MB byte-exact into nc -l under preload, out of it, and from nc
#    under preload as the client;
#  - socat TCP both ways, 20 MB byte-exact;
#  - socat UDP both ways: 50 datagrams, byte-exact and in order;
#  - socat's ip-ttl= and tos= reach the kernel in the datagram's header.
# shellcheck source=lib.sh source-path=SCRIPTDIR disable=SC2119
source "$(dirname "$0")/lib.sh"
need_root_and_tun
need_cmd nc socat sha256sum
nc -h 2>&1 | grep -q OpenBSD || skip "needs OpenBSD nc (netcat-openbsd; scripts/deps.sh)"
ns_setup
# shellcheck source=preload_lib.sh
source "$INTEROP_DIR/preload_lib.sh"
trap 'preload_exit_trap' EXIT

data=$WORK/data.bin
head -c $((20 * 1024 * 1024)) /dev/urandom >"$data"
sum() { sha256sum "$1" | cut -c1-64; }
want=$(sum "$data")

# wait_pid PID: waits (at most 120 s) for a background program to end;
# returns its status.
wait_pid() {
    local i
    for i in $(seq 2400); do
        kill -0 "$1" 2>/dev/null || { wait "$1"; return $?; }
        sleep 0.05
    done
    kill -KILL "$1" 2>/dev/null
    return 124
}

# ---- nc ----
start_preloaded nc1 nc -l "$USTACK_ADDR" 5000
srv=$PRELOADED_PID
# The client retries until nc -l under preload listens (a refused
# connection costs nc -l nothing).
ok=0
for _ in $(seq 100); do
    if in_ns timeout 120 nc -N "$USTACK_ADDR" 5000 <"$data" 2>/dev/null; then ok=1; break; fi
    sleep 0.1
done
assert_eq "kernel nc sends 20 MB to nc -l under preload" "$ok" 1
assert "nc -l under preload exits at EOF" wait_pid "$srv"
assert_eq "nc -l under preload got 20 MB byte-exact" "$(sum "$WORK/nc1.out")" "$want"

PRELOAD_STDIN=$data start_preloaded nc2 nc -N -l "$USTACK_ADDR" 5001
srv=$PRELOADED_PID
ok=0
for _ in $(seq 100); do
    if in_ns timeout 120 nc -d "$USTACK_ADDR" 5001 >"$WORK/nc2.got" 2>/dev/null; then ok=1; break; fi
    sleep 0.1
done
wait_pid "$srv" || true
assert_eq "nc -l under preload sends 20 MB to the kernel's nc" "$ok" 1
assert_eq "...byte-exact" "$(sum "$WORK/nc2.got")" "$want"

ip netns exec "$NS" timeout 120 nc -l "$HOST_ADDR" 5002 >"$WORK/nc3.got" &
ksrv=$!
PRELOADED_PIDS+=("$ksrv")
wait_until 20 bash -c "ip netns exec '$NS' ss -Hltn 'sport = :5002' | grep -q LISTEN" || fail "kernel nc -l"
assert "nc under preload sends 20 MB to the kernel's nc -l" \
    in_ns_preload timeout 120 nc -N "$HOST_ADDR" 5002 <"$data"
wait_pid "$ksrv" || true
assert_eq "...byte-exact" "$(sum "$WORK/nc3.got")" "$want"

# ---- socat TCP ----
start_preloaded socat1 socat -u TCP-LISTEN:6000,bind="$USTACK_ADDR",reuseaddr CREATE:"$WORK/socat1.got"
srv=$PRELOADED_PID
ok=0
for _ in $(seq 100); do
    if in_ns timeout 120 socat -u OPEN:"$data" TCP:"$USTACK_ADDR":6000 2>/dev/null; then ok=1; break; fi
    sleep 0.1
done
wait_pid "$srv" || true
assert_eq "socat TCP: the kernel sends 20 MB to socat under preload" "$ok" 1
assert_eq "...byte-exact" "$(sum "$WORK/socat1.got")" "$want"

ip netns exec "$NS" timeout 120 socat -u TCP-LISTEN:6001,bind="$HOST_ADDR",reuseaddr CREATE:"$WORK/socat2.got" &
ksrv=$!
PRELOADED_PIDS+=("$ksrv")
wait_until 20 bash -c "ip netns exec '$NS' ss -Hltn 'sport = :6001' | grep -q LISTEN" || fail "kernel socat"
assert "socat TCP: socat under preload sends 20 MB to the kernel" \
    in_ns_preload timeout 120 socat -u OPEN:"$data" TCP:"$HOST_ADDR":6001
wait_pid "$ksrv" || true
assert_eq "...byte-exact" "$(sum "$WORK/socat2.got")" "$want"

# ---- socat UDP: 50 datagrams of 1000 bytes, each its own socat ----
head -c 50000 /dev/urandom >"$WORK/dgrams.bin"
split -b 1000 -d -a 2 "$WORK/dgrams.bin" "$WORK/dg."
udp_size() { [ "$(stat -c %s "$1" 2>/dev/null || echo 0)" -ge 50000 ]; }

start_preloaded socat3 socat -u UDP-RECV:6002,bind="$USTACK_ADDR" CREATE:"$WORK/udp1.got"
srv=$PRELOADED_PID
# The first datagram is repeated until socat under preload has it (it may
# not be listening yet); then the rest, one at a time.
: >"$WORK/udp1.got"
wait_until 20 bash -c "ip netns exec '$NS' socat -u OPEN:'$WORK/dg.00' UDP:$USTACK_ADDR:6002; [ -s '$WORK/udp1.got' ]" ||
    fail "socat UDP-RECV under preload got nothing: $(cat "$WORK/socat3.err")"
for f in "$WORK"/dg.*; do
    [ "$f" = "$WORK/dg.00" ] && continue
    in_ns socat -u OPEN:"$f" UDP:"$USTACK_ADDR":6002
    wait_until 10 bash -c "[ \$(stat -c %s '$WORK/udp1.got') -ge \$(( (10#${f##*.} + 1) * 1000 )) ]" || true
done
wait_until 10 udp_size "$WORK/udp1.got" || true
stop_preloaded "$srv"
# Drop repeats of the first datagram (sent until one arrived).
tail -c 50000 "$WORK/udp1.got" >"$WORK/udp1.tail"
assert_eq "socat UDP: 50 datagrams into socat under preload, byte-exact" \
    "$(sum "$WORK/udp1.tail")" "$(sum "$WORK/dgrams.bin")"

ip netns exec "$NS" socat -u UDP-RECV:6003,bind="$HOST_ADDR" CREATE:"$WORK/udp2.got" &
ksrv=$!
PRELOADED_PIDS+=("$ksrv")
wait_until 20 bash -c "ip netns exec '$NS' ss -Hlun 'sport = :6003' | grep -q 6003" || fail "kernel socat UDP"
for f in "$WORK"/dg.*; do
    in_ns_preload socat -u OPEN:"$f" UDP:"$HOST_ADDR":6003
    wait_until 10 bash -c "[ \$(stat -c %s '$WORK/udp2.got') -ge \$(( (10#${f##*.} + 1) * 1000 )) ]" || true
done
stop_preloaded "$ksrv"
assert_eq "socat UDP: 50 datagrams from socat under preload, byte-exact" \
    "$(sum "$WORK/udp2.got")" "$(sum "$WORK/dgrams.bin")"

# ---- socat's ip-ttl= and tos= (IP_TTL, IP_TOS): the kernel receives them ----
# A kernel UDP socket with IP_RECVTTL and IP_RECVTOS (12, 13) prints what
# the datagram's header carried (control messages IP_TTL 2, IP_TOS 1).
recv_hdr='import socket,sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(0, 12, 1); s.setsockopt(0, 13, 1); s.bind((sys.argv[1], 6004)); s.settimeout(20)
d, anc, _, _ = s.recvmsg(100, 100)
h = {t: v[0] for _, t, v in anc}
print("ttl=%d tos=%d %s" % (h.get(2, -1), h.get(1, -1), d.decode()))'
ip netns exec "$NS" "$(python3_bin)" -c "$recv_hdr" "$HOST_ADDR" >"$WORK/hdr.got" 2>&1 &
ksrv=$!
PRELOADED_PIDS+=("$ksrv")
wait_until 20 bash -c "ip netns exec '$NS' ss -Hlun 'sport = :6004' | grep -q 6004" || fail "kernel UDP receiver"
assert "socat under preload sends with ip-ttl=9,tos=40" \
    bash -c "echo hdr | ip netns exec '$NS' env LD_PRELOAD='$PRELOAD' USTACK_TAP='$TAP' \
        USTACK_ADDR='$USTACK_ADDR/24' USTACK_GATEWAY=none socat -u - UDP:$HOST_ADDR:6004,ip-ttl=9,tos=40"
wait_pid "$ksrv" || true
assert_eq "...the datagram carries TTL 9 and TOS 40" "$(cat "$WORK/hdr.got")" "ttl=9 tos=40 hdr"
pass
