#!/usr/bin/env bash
# bench/threads.sh: where the CPU goes while the kernel's iperf3 sends to
# ustack, thread by thread. For each thread of the receiving process and
# of the kernel's iperf3 client: the share of the time it ran, the share
# it was runnable but waited for a CPU (/proc/PID/task/TID/schedstat),
# and its voluntary (it slept) and involuntary (it was preempted) context
# switches per second, over SECONDS in the middle of the transfer. The
# runtime names its threads ust-stack and ust-ready (the preload
# library's dispatcher); the program's keep their names.
#
#   bench/threads.sh [--preload] [--streams N] [--seconds S]
#
# Without --preload the receiver is the runner's iperf3 service; with it,
# Debian's iperf3 -s under build/lib/libustack-preload.so. Everything runs
# in a network namespace of its own (TAP, 192.0.2.0/24), deleted at the
# end. Needs root, /dev/net/tun, iperf3 and make build.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
USTACK=$ROOT/build/bin/ustack
PRELOAD_LIB=$ROOT/build/lib/libustack-preload.so
HOST=192.0.2.1
PEER=192.0.2.2

usage() {
    cat <<EOF
usage: bench/threads.sh [--preload] [--streams N] [--seconds S]
  --preload     receive with iperf3 -s under the preload library
                (default: the runner's iperf3 service)
  --streams N   parallel streams, iperf3 -P (default 4)
  --seconds S   how long to sample, in the middle of the transfer (default 2)
EOF
}

PRELOAD=0 STREAMS=4 SAMPLE=2
while [ $# -gt 0 ]; do
    case $1 in
    --preload) PRELOAD=1 ;;
    --streams)
        [ $# -ge 2 ] && [[ $2 =~ ^[1-9][0-9]?$ ]] || { usage >&2; exit 2; }
        STREAMS=$2
        shift
        ;;
    --seconds)
        [ $# -ge 2 ] && [[ $2 =~ ^[1-9]$ ]] || { usage >&2; exit 2; }
        SAMPLE=$2
        shift
        ;;
    -h | --help) usage; exit 0 ;;
    *) usage >&2; exit 2 ;;
    esac
    shift
done

die() { echo "threads.sh: $*" >&2; exit 1; }
[ "$(id -u)" -eq 0 ] || die "needs root (network namespaces)"
[ -c /dev/net/tun ] || die "needs /dev/net/tun"
command -v iperf3 >/dev/null || die "needs iperf3 (scripts/deps.sh installs it)"
[ -x "$USTACK" ] || die "no $USTACK: run make build"
[ "$PRELOAD" -eq 0 ] || [ -f "$PRELOAD_LIB" ] || die "no $PRELOAD_LIB: run make build"

NS=ust-threads-$$
RX_PID= TX_PID=
cleanup() {
    for pid in $TX_PID $RX_PID; do
        kill -TERM "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    done
    ip netns del "$NS" 2>/dev/null || true
}
trap cleanup EXIT

ip netns add "$NS"
ip -n "$NS" link set lo up
ip netns exec "$NS" ip tuntap add dev tap0 mode tap
ip -n "$NS" addr add "$HOST/24" dev tap0
ip -n "$NS" link set tap0 up
if [ "$PRELOAD" -eq 1 ]; then
    ip netns exec "$NS" env LD_PRELOAD="$PRELOAD_LIB" USTACK_TAP=tap0 USTACK_ADDR="$PEER/24" \
        USTACK_IPV6=off iperf3 -s >/dev/null 2>&1 &
else
    ip netns exec "$NS" "$USTACK" --tap tap0 --addr "$PEER/24" --no-ipv6 --log warn \
        </dev/null >/dev/null 2>&1 &
fi
RX_PID=$!
for _ in $(seq 100); do
    ip netns exec "$NS" ping -n -q -c 1 -W 1 "$PEER" >/dev/null 2>&1 && break
done
ip netns exec "$NS" ping -n -q -c 1 -W 1 "$PEER" >/dev/null 2>&1 || die "the receiver does not answer ping"
# iperf3 -s listens a moment after the stack answers ping.
for _ in $(seq 100); do
    ip netns exec "$NS" bash -c "exec 3<>/dev/tcp/$PEER/5201" 2>/dev/null && break
    sleep 0.05
done

RUN=$((SAMPLE + 3))
OUT=$(mktemp)
ip netns exec "$NS" iperf3 -c "$PEER" -P "$STREAMS" -t "$RUN" >"$OUT" 2>&1 &
TX_PID=$!
sleep 1.5 # past slow start
# The client is the iperf3 process in the namespace that is not ours.
CLIENT=$(pgrep -x iperf3 -P "$TX_PID" 2>/dev/null || echo "$TX_PID")

snap() {
    local t
    for t in /proc/"$RX_PID"/task/* /proc/"$CLIENT"/task/*; do
        [ -r "$t/schedstat" ] || continue
        local who
        who=$(cat "$t/comm")
        [[ $t == /proc/"$CLIENT"/* ]] && who="client:$who"
        printf '%s %s %s %s\n' "$who" "$(cut -d' ' -f1,2 "$t/schedstat")" \
            "$(awk '/^voluntary_ctxt/ {v = $2} /^nonvoluntary_ctxt/ {n = $2} END {print v, n}' "$t/status")" \
            "$(basename "$t")"
    done
}
A=$(snap)
sleep "$SAMPLE"
B=$(snap)
wait "$TX_PID" || die "iperf3 -c failed: $(tail -n 3 "$OUT")"
TX_PID=

echo "receiver: $([ "$PRELOAD" -eq 1 ] && echo "iperf3 -s under the preload library" || echo "the runner's iperf3 service"), $STREAMS streams; client: the kernel's iperf3 -c"
printf '%-16s %8s %6s %14s %10s %12s\n' thread tid "run" "cpu wait" "sleeps/s" "preempted/s"
join -j 6 <(echo "$A" | sort -k6) <(echo "$B" | sort -k6) |
    awk -v s="$SAMPLE" '{
        # tid, then comm run-ns wait-ns sleeps preempted before and after
        printf "%-16s %8s %5d%% %13d%% %10d %12d\n", $2, $1, ($8 - $3) / (s * 1e7), ($9 - $4) / (s * 1e7), ($10 - $5) / s, ($11 - $6) / s
    }'
grep -E 'SUM.*receiver|receiver$' "$OUT" | tail -n 1
rm -f "$OUT"
