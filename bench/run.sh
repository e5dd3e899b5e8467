#!/usr/bin/env bash
# ustack benchmarks against the Linux kernel, measured in the same run.
#   make bench                (builds the release runner first, then runs this)
#   bench/run.sh [NAME...]    only the named benchmarks (see BENCHMARKS below),
#                             in the order of BENCHMARKS
#
# Each benchmark measures the same thing twice:
#   ustack: namespace T with a TAP device (192.0.2.1/24, the kernel) and the
#           release runner on it as 192.0.2.2 (log level warn, --http-root
#           a temporary directory holding one HTTP_FILE_SIZE-byte index.html);
#   linux:  namespaces A and B joined by a veth pair (192.0.2.1 <-> 192.0.2.2),
#           kernel to kernel: the reference, with the veth offloads OFF
#           (ethtool -K: tx, rx checksumming, sg, tso, gso, gro);
#           ratio = ustack / linux (offloads off). The throughput rows
#           (tcp_rx, tcp_tx, iperf3_*, memlink_tput) are also measured with
#           every one of those offloads ON, in a column of their own
#           ("linux offl", ratio "r. offl"), rounds alternating with the
#           offloads-off ones.
# The runner negotiates the TAP's offloads by default (virtio-net header,
# checksums, TSO: docs/DESIGN.md, "Offloads"), so the ustack column has them
# on; the TCP throughput rows (tcp_rx, tcp_tx, iperf3_rx, iperf3_tx) have a second row,
# "ustack --offload off", from a second runner (or tcpc) with plain frames,
# measured in the same rounds, against the same kernel figures.
# IPv6 rows (ping6_rtt, iperf3_rx6, iperf3_tx6): the same over IPv6
# (2001:db8::1 -> 2001:db8::2 on both links, enable_ipv6), each followed by
# a row of ustack's IPv6 figure over its IPv4 one from alternate rounds of
# the same run (the issue's target: within 10%). ustack segments TCP with
# the TAP's TSO over both families (TSO4, TSO6).
# The kernel-side tool (ping, udp_rr, tcp_bulk, wrk) is the same in both;
# only the responder differs: ustack's runner, or the kernel (ICMP; for UDP,
# bench/udp_rr.c's echo server on kernel sockets; for TCP, bench/tcp_bulk.c's
# sink; for HTTP, bench/http_kernel.c, described below). TCP from ustack to
# the kernel runs the tcpc example (release build, next to the runner) in a
# namespace of its own with a TAP device.
#
# HTTP (http_keepalive, http_close): wrk -t1 -c HTTP_CONNS -d HTTP_SECONDS
# GETs / (index.html, HTTP_FILE_SIZE bytes, the same file both sides) over
# persistent connections, or with `Connection: close` (a connection per
# request: handshake, request, response, FIN exchange). The kernel server is
# bench/http_kernel.c: the runner's own HTTP service, apps/http.c, compiled
# unchanged on kernel sockets (its ust_* calls become the kernel's). That is
# fairer than nginx, which would bring a different server (sendfile, its own
# buffering and event loop) into the ratio, which should compare the stacks
# only; and Debian's nginx package starts a system-wide service on install
# where no policy-rc.d forbids it. http_close leaves the runner with
# thousands of connections in TIME-WAIT (60 s), so it comes last.
#
# ping_rtt_1cpu: ping and every thread of the runner on CPU 0 (linux: ping
# on CPU 0), after the machine's wake-up floor (bench/wake_rtt.c).
# Busy polling (ping_rtt, udp_rr, tcp_rr, http_keepalive, http_close): each
# of these latency rows is followed by a row "ustack --busy-poll N" from a
# second runner with --busy-poll BENCH_BUSY_POLL (2500 us: it must cover
# the gap between a reply and the next request, which for ping -i 0.002 is
# 2 ms) on a TAP of its own, measured in the same rounds against the same
# kernel figures. The runner's services run on its stack thread (the
# default); the first runner does not busy-poll.
#
# iperf3 (iperf3_rx, iperf3_tx): stock iperf3 -c -J for IPERF3_SECONDS, 1
# and 4 streams, against the runner's iperf3 service and against the
# kernel's iperf3 -s in B; iperf3_tx adds -R (the server sends).
# Loss (tcp_loss_rx, tcp_loss_tx): see "TCP through loss" below.
#
# In-process (memlink_tput, memlink_callgrind): build/bin/memlink_tput
# (bench/memlink_tput.c, built by CMake with the library) sends TCP_MB MB
# between two ustack stacks joined by a memlink, one thread pumping both: no
# system call and no thread hand-off on the data path, the stack's own cost.
# Its linux column is kernel -> kernel TCP over the veth pair (tcp_bulk, the
# same figure as tcp_rx's linux column, measured again unless tcp_rx ran):
# two stacks on one machine either way, but the kernel's figure includes
# its system calls and the veth hand-off. memlink_tput has a second row with
# --offload (the link offers the TAP's offloads: super-segments, no sums). memlink_callgrind runs it under
# callgrind (CALLGRIND_MB MB, virtual clock: deterministic) and reports
# instructions per byte transferred (Ir counted inside the transfer loop
# only / bytes), ustack only; the top functions by Ir go to
# build/bench/callgrind_top.txt (and callgrind.out, callgrind_annotate.txt).
#
# AF_PACKET (packet_ping_rtt, packet_tcp_rx, packet_tcp_tx): the runner
# attached with --packet to a veth end, beside TAP and the kernel in the
# same rounds; see "AF_PACKET" below.
# Unmodified servers (preload_nginx, preload_redis): the same Debian binary
# twice, under build/lib/libustack-preload.so in a namespace of its own with
# a TAP device (the ustack column: it is $PEER there), and on the kernel in
# B behind the veth pair (the linux column); the client in the TAP
# namespace or in A. nginx: daemon off, master_process off, sendfile on,
# the benchmark page on port 8080, wrk as for http_keepalive. redis:
# redis-server without persistence, redis-benchmark -q -n REDIS_N -t
# set,get (-c 50, its default), one row each. nginx and redis-server come
# from scripts/deps.sh (installed under a policy-rc.d: no service starts).
# iperf3 under preload (preload_iperf3_rx: data into ustack,
# preload_iperf3_tx: out of it), -P 4, IPERF3_SECONDS, each round
# measuring in turn: the runner's iperf3 service (the kernel's iperf3 -c
# in $NS_TAP), iperf3 -s under preload in $NS_PRE (the kernel's iperf3 -c
# there), iperf3 -c under preload in $NS_PRE (against the kernel's iperf3
# -s there, at $HOST), and kernel to kernel over the veth (the linux
# column). Rows: each figure, then preload / runner for -s and -c (the
# issue's target: within 10%).
#
# Results: a table on stdout and build/bench/results.json.
#
# Safety: all traffic stays inside namespaces this script creates
# (ust-bench-*-<pid>), on 192.0.2.0/24; the EXIT trap stops the processes it
# started, by PID, and deletes the namespaces. Needs root; without it, prints
# SKIP and exits 0. Tools only the benchmarks use (wrk, ethtool, valgrind)
# are installed here with apt-get when missing (need_pkg), not by
# scripts/deps.sh, which make build and make test run.
#
# Adding a benchmark: write a function bench_NAME that measures both sides
# (run the client in $NS_TAP for ustack and in $NS_A for linux; the peer is
# always $PEER) and calls `row METRIC UNIT USTACK LINUX lower|higher
# [LINUX_OFFLOADS_ON]` (LINUX may be n/a for a ustack-only figure), then add
# NAME to BENCHMARKS; if it needs a package, need_pkg it in the start-up loop
# at the bottom, before anything is measured.
set -euo pipefail
shopt -s inherit_errexit   # a failure inside $(...) fails the caller too

BENCHMARKS=(ping_rtt ping_rtt_1cpu ping_rtt_1500 ping_flood udp_rr udp_rr_1cpu tcp_rr tcp_rx tcp_tx
    tcp_loss_rx tcp_loss_tx packet_ping_rtt packet_tcp_rx packet_tcp_tx iperf3_rx iperf3_tx ping6_rtt iperf3_rx6 iperf3_tx6 memlink_tput memlink_callgrind http_keepalive http_close
    http_syn_flood idle_conns_10k idle_conns_100k preload_nginx preload_redis preload_iperf3_rx
    preload_iperf3_tx)

ROOT=$(cd "$(dirname "$0")/.." && pwd)
USTACK=${USTACK_BIN:-$ROOT/build/bin/ustack}
OUT_DIR=${BENCH_OUT:-$ROOT/build/bench}
ROUNDS=${BENCH_ROUNDS:-3}      # each figure is the median of this many runs
PING_COUNT=${BENCH_PING_COUNT:-1000}
FLOOD_COUNT=${BENCH_FLOOD_COUNT:-20000}
UDP_RR_COUNT=${BENCH_UDP_RR_COUNT:-30000}   # round trips per run...
UDP_RR_SECONDS=${BENCH_UDP_RR_SECONDS:-10}  # ...or this long, whichever ends first
UDP_RR_SIZE=32
TCP_MB=${BENCH_TCP_MB:-200}                 # MB per TCP bulk transfer
IPERF3_SECONDS=${BENCH_IPERF3_SECONDS:-5}   # iperf3 -t
LOSS_MB=${BENCH_LOSS_MB:-50}               # MB per TCP transfer through loss
LOSS_PERMILLE=${BENCH_LOSS_PERMILLE:-10}    # frames lost each way, per mille
TCPC=${TCPC_BIN:-$(dirname "$USTACK")/tcpc}
MEMLINK_TPUT=${MEMLINK_TPUT_BIN:-$(dirname "$USTACK")/memlink_tput}
CALLGRIND_MB=${BENCH_CALLGRIND_MB:-32}      # MB through memlink_tput under callgrind
HTTP_CONNS=${BENCH_HTTP_CONNS:-10}          # wrk -c
HTTP_SECONDS=${BENCH_HTTP_SECONDS:-10}      # wrk -d, per run
HTTP_FILE_SIZE=1024                         # bytes of the page fetched
REDIS_N=${BENCH_REDIS_N:-100000}            # redis-benchmark -n
PRELOAD=${PRELOAD_LIB:-$ROOT/build/lib/libustack-preload.so}
BUSY_POLL=${BENCH_BUSY_POLL:-2500}          # us: --busy-poll of the latency rows' second runner
HOST=192.0.2.1
PEER=192.0.2.2
HOST6=2001:db8::1 # the IPv6 rows (enable_ipv6)
PEER6=2001:db8::2

NS_TAP="" NS_A="" NS_B="" NS_TCPC="" NS_LOSS="" NS_PK="" NS_PKK="" NS_PLAIN="" NS_BP=""
USTACK_PID=""
PK_PID=""  # the runner with --packet, in $NS_PK
LOSS_PID=""  # the runner with loss, in $NS_LOSS
PLAIN_PID="" # the runner with --offload off, in $NS_PLAIN
BP_PID=""    # the runner with --busy-poll, in $NS_BP
IPERF3_PID=""  # the kernel's iperf3 -s in $NS_B
ECHO_PID=""  # the kernel UDP echo server in $NS_B
SINK_PID=""  # a tcp_bulk sink, while one runs
TCPC_PID=""  # tcpc, while it runs
HTTP_KERNEL_PID=""  # bench/http_kernel in $NS_B
NS_PRE=""    # the preload rows' namespace with a TAP device
SERVER_PID=""  # nginx or redis-server (preloaded in $NS_PRE, or in $NS_B)
PRE_IPERF3_PID="" # the kernel's iperf3 -s in $NS_PRE (preload_iperf3_*)
WORK=""
ROWS=()      # JSON objects, one per row

say() { echo "bench: $*" >&2; }
die() {
    say "error: $*"
    if [ -n "$WORK" ] && [ -s "$WORK/ustack.log" ]; then
        tail -n 20 "$WORK/ustack.log" >&2
    fi
    exit 1
}

if [ "$(id -u)" -ne 0 ] || [ ! -c /dev/net/tun ]; then
    echo "bench: SKIP: needs root and /dev/net/tun (network namespaces, TAP and veth devices)"
    exit 0
fi
for c in ip ping awk cc; do
    command -v "$c" >/dev/null || die "needs $c (scripts/deps.sh installs it)"
done

# need_pkg COMMAND PACKAGE: installs PACKAGE with apt-get (as scripts/deps.sh
# does) unless COMMAND is already there. For the tools only benchmarks use.
APT_UPDATED=""
need_pkg() {
    command -v "$1" >/dev/null && return 0
    command -v apt-get >/dev/null || die "needs $1 (Debian package $2)"
    say "installing $2 (for $1)"
    export DEBIAN_FRONTEND=noninteractive
    if [ -z "$APT_UPDATED" ]; then
        apt-get update -qq || die "apt-get update failed"
        APT_UPDATED=1
    fi
    apt-get install -y -qq --no-install-recommends "$2" >/dev/null || die "cannot install $2"
    command -v "$1" >/dev/null || die "$2 is installed but there is no $1"
}
[ -x "$USTACK" ] || die "no runner at $USTACK: run make build (or make bench)"

# ---- set-up and tear-down ----

cleanup() {
    local rc=$?
    set +e
    trap '' INT TERM # finish cleaning up even if interrupted again
    if [ -n "$USTACK_PID" ] && kill -0 "$USTACK_PID" 2>/dev/null; then
        kill -TERM "$USTACK_PID"
        for _ in $(seq 100); do
            kill -0 "$USTACK_PID" 2>/dev/null || break
            sleep 0.05
        done
        kill -KILL "$USTACK_PID" 2>/dev/null
        wait "$USTACK_PID" 2>/dev/null
    fi
    if [ -n "$ECHO_PID" ]; then
        kill -TERM "$ECHO_PID" 2>/dev/null
        wait "$ECHO_PID" 2>/dev/null
    fi
    for pid in "$SINK_PID" "$TCPC_PID" "$TCP_ECHO_PID" "$HTTP_KERNEL_PID" "$LOSS_PID" "$IPERF3_PID" \
        "$PK_PID" "$SERVER_PID" "$PLAIN_PID" "$PRE_IPERF3_PID" "$BP_PID"; do
        [ -n "$pid" ] || continue
        kill -TERM "$pid" 2>/dev/null
        wait "$pid" 2>/dev/null
    done
    for ns in "$NS_TAP" "$NS_A" "$NS_B" "$NS_TCPC" "$NS_LOSS" "$NS_PK" "$NS_PKK" "$NS_PRE" "$NS_PLAIN" \
        "$NS_BP"; do
        [ -n "$ns" ] && ip netns del "$ns" 2>/dev/null
    done
    [ -n "$WORK" ] && rm -rf "$WORK"
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

WORK=$(mktemp -d "${TMPDIR:-/tmp}/ust-bench.XXXXXX")

# The page both HTTP servers serve: an HTML file of exactly HTTP_FILE_SIZE bytes.
WWW=$WORK/www
mkdir -p "$WWW"
awk -v size="$HTTP_FILE_SIZE" 'BEGIN {
    head = "<!DOCTYPE html>\n<html><head><title>ustack bench</title></head><body>\n"
    tail = "</body></html>\n"
    body = ""
    for (i = 0; length(head body tail) < size; i++)
        body = body sprintf("<p>line %d of the benchmark page</p>\n", i)
    page = head body tail
    while (length(page) > size) { body = substr(body, 1, length(body) - 1); page = head body tail }
    printf "%s", page
}' >"$WWW/index.html"
[ "$(wc -c <"$WWW/index.html")" -eq "$HTTP_FILE_SIZE" ] || die "cannot make the $HTTP_FILE_SIZE-byte page"

new_ns() {
    ip netns add "$1"
    ip -n "$1" link set lo up
    ip netns exec "$1" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 2>/dev/null || true
    ip netns exec "$1" sysctl -qw net.ipv6.conf.default.disable_ipv6=1 2>/dev/null || true
}

# await TIMEOUT CMD...: poll CMD until it succeeds; fail after TIMEOUT seconds.
await() {
    local deadline=$((SECONDS + $1))
    shift
    until "$@"; do
        [ "$SECONDS" -lt "$deadline" ] || return 1
        sleep 0.05
    done
}

answers_ping() { ip netns exec "$1" ping -n -q -c 1 -W 1 "$PEER" >/dev/null 2>&1; }

setup_ustack() {
    NS_TAP="ust-bench-tap-$$"
    new_ns "$NS_TAP"
    ip netns exec "$NS_TAP" ip tuntap add dev tap0 mode tap
    ip -n "$NS_TAP" addr add "$HOST/24" dev tap0
    ip -n "$NS_TAP" link set tap0 up
    local pdeath=()
    if setpriv --help 2>/dev/null | grep -q -- --pdeathsig; then
        pdeath=(setpriv --pdeathsig TERM --)
    fi
    # At warn level the runner says nothing when up: wait until it answers.
    ip netns exec "$NS_TAP" "${pdeath[@]}" "$USTACK" --tap tap0 --addr "$PEER/24" --log warn \
        --http-root "$WWW" --max-conns discard=110000 2>"$WORK/ustack.log" </dev/null &
    USTACK_PID=$!
    await 15 answers_ping "$NS_TAP" || die "ustack does not answer ping in $NS_TAP"
}

setup_linux() {
    NS_A="ust-bench-a-$$"
    NS_B="ust-bench-b-$$"
    new_ns "$NS_A"
    new_ns "$NS_B"
    ip -n "$NS_A" link add veth0 type veth peer name veth1 netns "$NS_B"
    ip -n "$NS_A" addr add "$HOST/24" dev veth0
    ip -n "$NS_B" addr add "$PEER/24" dev veth1
    ip -n "$NS_A" link set veth0 up
    ip -n "$NS_B" link set veth1 up
    veth_offloads off
    await 15 answers_ping "$NS_A" || die "the veth peer does not answer ping"
}

# veth_offloads on|off: the veth pair's checksum, scatter-gather and
# segmentation offloads (TSO, GSO, GRO), both ends. off is the reference.
VETH_FEATURES="rx-checksumming|tx-checksumming|scatter-gather|tcp-segmentation-offload|generic-segmentation-offload|generic-receive-offload"
veth_offloads() {
    local st=$1 ns dev ns_dev
    for ns_dev in "$NS_A:veth0" "$NS_B:veth1"; do
        ns=${ns_dev%%:*} dev=${ns_dev#*:}
        ip netns exec "$ns" ethtool -K "$dev" tx "$st" rx "$st" sg "$st" tso "$st" gso "$st" gro "$st" \
            >/dev/null 2>&1 || die "ethtool -K $dev ... $st failed in $ns"
        # Check: ethtool may leave a feature as it was without failing.
        ip netns exec "$ns" ethtool -k "$dev" | awk -v st="$st" -v re="^($VETH_FEATURES):" '
            $0 ~ re && $2 != st { bad = bad " " $1 $2 } END { if (bad != "") { print bad; exit 1 } }' \
            >"$WORK/ethtool.out" || die "offloads of $dev in $ns not all $st:$(cat "$WORK/ethtool.out")"
    done
}

# ---- measuring and reporting ----

# median of the numbers on stdin
median() {
    sort -g | awk '{v[NR] = $1} END {
        if (NR == 0) exit 1
        if (NR % 2) print v[(NR + 1) / 2]; else printf "%.6g\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

# ping_summary NS ARGS...: run ping in NS toward $PEER (or $PING_TARGET); print
# "received avg_rtt_ms time_ms". Fails unless every request was answered.
ping_summary() {
    local ns=$1 out
    shift
    out=$(ip netns exec "$ns" ${PING_CPU:+taskset -c "$PING_CPU"} ping -n -q "$@" "${PING_TARGET:-$PEER}" 2>&1) ||
        die "ping in $ns failed: $out"
    awk '
        / packets transmitted/ {
            for (i = 1; i <= NF; i++) {
                if ($(i + 1) == "packets") tx = $i
                if ($(i + 1) ~ /^received/) rx = $i
                if ($i == "time") { t = $(i + 1); sub(/ms$/, "", t) }
            }
        }
        /^rtt / { split($4, r, "/"); avg = r[2] }
        END {
            if (tx == "" || rx != tx) { print "lost: " rx "/" tx > "/dev/stderr"; exit 1 }
            print rx, avg, t
        }' <<<"$out" || die "ping in $ns lost replies: $out"
}

# measure NS rtt|rate PING_ARGS...: median over ROUNDS runs of ping of the
# average round trip (microseconds) or of the reply rate (per second).
measure() {
    local ns=$1 field=$2 i s rx avg t vals=()
    shift 2
    for ((i = 0; i < ROUNDS; i++)); do
        s=$(ping_summary "$ns" "$@")
        read -r rx avg t <<<"$s"
        case "$field" in
        rtt) vals+=("$(awk -v a="$avg" 'BEGIN { printf "%.1f", a * 1000 }')") ;; # ms -> us
        rate) vals+=("$(awk -v n="$rx" -v t="$t" 'BEGIN { printf "%.0f", n / (t / 1000) }')") ;;
        esac
    done
    printf '%s\n' "${vals[@]}" | median
}

row_header() {
    printf '%-60s | %10s | %10s | %6s | %10s | %7s | %s\n' \
        "metric" "ustack" "linux" "ratio" "linux offl" "r. offl" "better"
    printf '%s\n' "-------------------------------------------------------------+------------+------------+--------+------------+---------+-----------------"
}

# ratio_of U L: U / L to 2 places, or null when L is not a positive number.
ratio_of() {
    awk -v u="$1" -v l="$2" 'BEGIN {
        if (l ~ /^[0-9.eE+-]+$/ && l > 0 && u ~ /^[0-9.eE+-]+$/) printf "%.2f", u / l; else print "null" }'
}

# row METRIC UNIT USTACK LINUX lower|higher [LINUX_OFFLOADS_ON]: print one
# table row and keep it for the JSON. LINUX is the veth reference with the
# offloads off, or n/a (a ustack-only figure); ratio = ustack / linux.
# LINUX_OFFLOADS_ON, for throughput rows: the same with the offloads on.
row() {
    local metric=$1 unit=$2 u=$3 l=$4 better=$5 lo=${6:-} r ro jl jlo
    r=$(ratio_of "$u" "$l")
    ro=$(ratio_of "$u" "$lo")
    if [[ $l =~ ^[0-9.eE+-]+$ ]]; then jl=$l; else l=n/a jl=null; fi
    if [[ $lo =~ ^[0-9.eE+-]+$ ]]; then jlo=$lo; else lo=- jlo=null; fi
    printf '%-60s | %10s | %10s | %6s | %10s | %7s | %s\n' "$metric ($unit)" "$u" "$l" \
        "${r/null/-}" "$lo" "${ro/null/-}" "$better is better"
    ROWS+=("$(printf '{"metric": "%s", "unit": "%s", "ustack": %s, "linux": %s, "ratio": %s, "linux_offloads_on": %s, "ratio_offloads_on": %s, "better": "%s"}' \
        "$metric" "$unit" "$u" "$jl" "$r" "$jlo" "$ro" "$better")")
}

# median_of VALUES...: the median of the arguments.
median_of() { printf '%s\n' "$@" | median; }

# ---- the benchmarks ----

# ---- unmodified servers under the preload library ----

setup_preload_ns() {
    [ -z "$NS_PRE" ] || return 0
    [ -f "$PRELOAD" ] || die "no preload library at $PRELOAD: run make build (or set PRELOAD_LIB)"
    NS_PRE="ust-bench-pre-$$"
    new_ns "$NS_PRE"
    ip netns exec "$NS_PRE" ip tuntap add dev tap0 mode tap
    ip -n "$NS_PRE" addr add "$HOST/24" dev tap0
    ip -n "$NS_PRE" link set tap0 up
}

# server_start where CMD...: the server under preload in $NS_PRE (where =
# preload) or on the kernel in $NS_B (where = kernel); waits for PORT.
server_start() {
    local where=$1
    shift
    if [ "$where" = preload ]; then
        ip netns exec "$NS_PRE" env LD_PRELOAD="$PRELOAD" USTACK_TAP=tap0 USTACK_ADDR="$PEER/24" \
            USTACK_GATEWAY=none "$@" >"$WORK/server.log" 2>&1 </dev/null &
    else
        ip netns exec "$NS_B" "$@" >"$WORK/server.log" 2>&1 </dev/null &
    fi
    SERVER_PID=$!
}
server_stop() {
    kill -TERM "$SERVER_PID" 2>/dev/null
    wait "$SERVER_PID" 2>/dev/null || true
    SERVER_PID=""
}
port_answers() { ip netns exec "$1" timeout 2 bash -c "exec 3<>/dev/tcp/$PEER/$2" 2>/dev/null; }

bench_preload_nginx() {
    setup_preload_ns
    local where ns i uv=() lv=()
    mkdir -p "$WORK/nginx"
    cat >"$WORK/nginx/nginx.conf" <<CONF
daemon off;
master_process off;
worker_processes 1;
error_log stderr warn;
pid $WORK/nginx/nginx.pid;
events { worker_connections 1024; }
http {
    access_log off;
    sendfile on;
    client_body_temp_path $WORK/nginx/body;
    proxy_temp_path $WORK/nginx/proxy;
    fastcgi_temp_path $WORK/nginx/fastcgi;
    uwsgi_temp_path $WORK/nginx/uwsgi;
    scgi_temp_path $WORK/nginx/scgi;
    server { listen $PEER:8080; root $WWW; }
}
CONF
    for where in preload kernel; do
        ns=$NS_PRE
        [ "$where" = kernel ] && ns=$NS_A
        server_start "$where" nginx -c "$WORK/nginx/nginx.conf" -e stderr
        await 15 port_answers "$ns" 8080 || die "nginx ($where) did not listen: $(cat "$WORK/server.log")"
        for ((i = 0; i < ROUNDS; i++)); do
            if [ "$where" = preload ]; then
                uv+=("$(WRK_URL="http://$PEER:8080/" wrk_once "$ns")")
            else
                lv+=("$(WRK_URL="http://$PEER:8080/" wrk_once "$ns")")
            fi
        done
        server_stop
    done
    row "nginx under preload, keep-alive, wrk -c $HTTP_CONNS" "requests/s" \
        "$(median_of "${uv[@]}")" "$(median_of "${lv[@]}")" higher
}

# redis_once NS: SET and GET requests/s, "SET GET".
redis_once() {
    local out
    out=$(ip netns exec "$1" timeout 300 redis-benchmark -h "$PEER" -q -n "$REDIS_N" -t set,get --csv 2>&1) ||
        die "redis-benchmark in $1 failed: $out"
    awk -F'","' '/^"SET"/ {gsub(/"/, "", $2); s = $2} /^"GET"/ {gsub(/"/, "", $2); g = $2}
        END { if (s == "" || g == "") exit 1; print s, g }' <<<"$out" || die "redis-benchmark in $1: $out"
}

bench_preload_redis() {
    setup_preload_ns
    local where ns i r us=() ug=() ls=() lg=()
    for where in preload kernel; do
        ns=$NS_PRE
        [ "$where" = kernel ] && ns=$NS_A
        server_start "$where" redis-server --bind "$PEER" --port 6379 --save "" --appendonly no \
            --protected-mode no --daemonize no --dir "$WORK"
        await 15 port_answers "$ns" 6379 || die "redis ($where) did not listen: $(cat "$WORK/server.log")"
        for ((i = 0; i < ROUNDS; i++)); do
            r=$(redis_once "$ns")
            say "redis-benchmark ($where): SET GET ${r}/s"
            if [ "$where" = preload ]; then
                us+=("${r% *}") ug+=("${r#* }")
            else
                ls+=("${r% *}") lg+=("${r#* }")
            fi
        done
        server_stop
    done
    row "redis under preload, SET, redis-benchmark -n $REDIS_N" "requests/s" \
        "$(median_of "${us[@]}")" "$(median_of "${ls[@]}")" higher
    row "redis under preload, GET, redis-benchmark -n $REDIS_N" "requests/s" \
        "$(median_of "${ug[@]}")" "$(median_of "${lg[@]}")" higher
}

# pre_iperf3_gbit SIDE [iperf3 args...]: Gbit/s received in one iperf3 run
# in $NS_PRE with -P 4: SIDE server: the kernel's iperf3 -c against iperf3
# -s under preload (which must be listening); SIDE client: iperf3 -c under
# preload against the kernel's iperf3 -s at $HOST.
pre_iperf3_gbit() {
    local side=$1 out pre=()
    shift
    if [ "$side" = client ]; then
        pre=(env LD_PRELOAD="$PRELOAD" USTACK_TAP=tap0 USTACK_ADDR="$PEER/24" USTACK_GATEWAY=none)
        set -- -c "$HOST" "$@"
    else
        set -- -c "$PEER" "$@"
    fi
    out=$(ip netns exec "$NS_PRE" "${pre[@]}" timeout $((IPERF3_SECONDS + 30)) iperf3 \
        -t "$IPERF3_SECONDS" -P 4 -J "$@" 2>&1) || die "iperf3 $* ($side under preload) failed: $(echo "$out" | tail -n 3)"
    python3 -c '
import json, sys
d = json.load(sys.stdin)
if "error" in d:
    sys.exit("iperf3: " + d["error"])
print("%.3f" % (d["end"]["sum_received"]["bits_per_second"] / 1e9))' <<<"$out" ||
        die "iperf3 $* ($side under preload): no result in its JSON"
}

# preload_iperf3_rows WHAT REV: REV -R: the server sends (data out of
# ustack for -s under preload); the client under preload then runs
# without -R, and with it when REV is empty.
preload_iperf3_rows() {
    local what=$1 rev=$2 i crev=-R
    [ -n "$rev" ] && crev=""
    setup_preload_ns
    start_iperf3_kernel
    if [ -z "$PRE_IPERF3_PID" ]; then
        ip netns exec "$NS_PRE" iperf3 -s -B "$HOST" >"$WORK/pre-iperf3-s.log" 2>&1 </dev/null &
        PRE_IPERF3_PID=$!
        await 10 bash -c "ip netns exec '$NS_PRE' ss -ltn | grep -q ':5201 '" ||
            die "the kernel's iperf3 -s in $NS_PRE did not start"
    fi
    local uv=() sv=() cv=() lv=() sr=() cr=()
    for ((i = 0; i < ROUNDS; i++)); do
        uv+=("$(iperf3_gbit "$NS_TAP" -P 4 $rev)")
        server_start preload iperf3 -s -B "$PEER"
        await 15 port_answers "$NS_PRE" 5201 || die "iperf3 -s under preload did not listen: $(cat "$WORK/server.log")"
        sv+=("$(pre_iperf3_gbit server $rev)")
        server_stop
        cv+=("$(pre_iperf3_gbit client $crev)")
        lv+=("$(iperf3_gbit "$NS_A" -P 4 $rev)")
        sr+=("$(ratio4 "${sv[-1]}" "${uv[-1]}")") cr+=("$(ratio4 "${cv[-1]}" "${uv[-1]}")")
        say "iperf3 $what, Gbit/s: runner ${uv[-1]}, -s under preload ${sv[-1]}, -c${crev:+ -R} under preload ${cv[-1]}, linux ${lv[-1]}; preload / runner ${sr[-1]}, ${cr[-1]}"
    done
    local u s c l name="iperf3 $what, 4 streams, ${IPERF3_SECONDS} s"
    u=$(median_of "${uv[@]}") s=$(median_of "${sv[@]}") c=$(median_of "${cv[@]}") l=$(median_of "${lv[@]}")
    row "$name, the runner's iperf3 service" "Gbit/s" "$u" "$l" higher
    row "$name, iperf3 -s under preload" "Gbit/s" "$s" "$l" higher
    row "$name, iperf3 -c${crev:+ -R} under preload" "Gbit/s" "$c" "$l" higher
    # The ratios: the median of each round's ratio, each round measuring
    # the runner and the library back to back. (The ratio of the medians
    # would pair figures from different rounds, and this VM's speed drifts
    # within a run: the runner took 12.9 to 20.6 Gbit/s in one 9-round run.)
    row "$name, iperf3 -s under preload / runner" "ratio" "$(ratio_of "$(median_of "${sr[@]}")" 1)" n/a higher
    row "$name, iperf3 -c${crev:+ -R} under preload / runner" "ratio" "$(ratio_of "$(median_of "${cr[@]}")" 1)" n/a higher
}
# ratio4 A B: A / B to four places, for medians of ratios.
ratio4() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.4f", a / b; else print 0 }'; }
bench_preload_iperf3_rx() { preload_iperf3_rows "kernel -> ustack" ""; }
bench_preload_iperf3_tx() { preload_iperf3_rows "ustack -> kernel" -R; }

# A second runner with --busy-poll BUSY_POLL, on a TAP of its own, for the
# latency rows' "ustack --busy-poll" figures.
setup_ustack_bp() {
    [ -z "$NS_BP" ] || return 0
    NS_BP="ust-bench-bp-$$"
    new_ns "$NS_BP"
    ip netns exec "$NS_BP" ip tuntap add dev tap0 mode tap
    ip -n "$NS_BP" addr add "$HOST/24" dev tap0
    ip -n "$NS_BP" link set tap0 up
    ip netns exec "$NS_BP" "$USTACK" --tap tap0 --addr "$PEER/24" --log warn --http-root "$WWW" \
        --busy-poll "$BUSY_POLL" 2>"$WORK/ustack-bp.log" </dev/null &
    BP_PID=$!
    await 15 answers_ping "$NS_BP" || die "the runner with --busy-poll does not answer ping"
}
BP_ROW="ustack --busy-poll $BUSY_POLL"

# Round trip of a 64-byte echo (56 bytes of data), paced every 2 ms.
bench_ping_rtt() {
    local u b l
    setup_ustack_bp
    u=$(measure "$NS_TAP" rtt -c "$PING_COUNT" -i 0.002)
    b=$(measure "$NS_BP" rtt -c "$PING_COUNT" -i 0.002)
    l=$(measure "$NS_A" rtt -c "$PING_COUNT" -i 0.002)
    row "ping RTT avg, 64 B" us "$u" "$l" lower
    row "ping RTT avg, 64 B, $BP_ROW" us "$b" "$l" lower
}

# The same with ping and every thread of the runner on CPU 0 (the linux
# column: ping on CPU 0 too), and what this machine charges for a wake-up.
# A ping to ustack wakes two sleeping threads, the stack thread and then
# ping; the kernel's own ping wakes none (the reply is made in the
# sender's softirq). Where the scheduler puts the stack thread on the idle
# CPU, each wake-up of a halted vCPU goes through the hypervisor (this
# VM's cpuidle driver is haltpoll with guest_halt_poll_ns=0). bench/wake_rtt.c
# measures that floor: two processes passing a byte over pipes every 2 ms,
# on two CPUs and on one; its figures are printed as "bench:" lines.
WAKE_RTT=""
bench_ping_rtt_1cpu() {
    local u l all cross one
    command -v taskset >/dev/null || die "needs taskset (util-linux)"
    if [ -z "$WAKE_RTT" ]; then
        mkdir -p "$OUT_DIR"
        WAKE_RTT=$OUT_DIR/wake_rtt
        cc -O2 -Wall -Wextra -Werror -o "$WAKE_RTT" "$ROOT/bench/wake_rtt.c" ||
            die "cannot build bench/wake_rtt.c"
    fi
    all=$(cat /sys/devices/system/cpu/online)
    if [ "$(nproc)" -ge 2 ]; then
        cross=$("$WAKE_RTT" 0 1 "$PING_COUNT" 2000) || die "wake_rtt failed"
        echo "bench: machine: a pipe round trip between two processes every 2 ms, on CPUs 0 and 1: $cross us"
    fi
    one=$("$WAKE_RTT" 0 0 "$PING_COUNT" 2000) || die "wake_rtt failed"
    echo "bench: machine: the same on CPU 0 alone: $one us"
    taskset -a -p -c 0 "$USTACK_PID" >/dev/null || die "cannot pin the runner to CPU 0"
    u=$(PING_CPU=0 measure "$NS_TAP" rtt -c "$PING_COUNT" -i 0.002)
    l=$(PING_CPU=0 measure "$NS_A" rtt -c "$PING_COUNT" -i 0.002)
    taskset -a -p -c "$all" "$USTACK_PID" >/dev/null || true
    row "ping RTT avg, 64 B, ping and ustack on 1 CPU" us "$u" "$l" lower
}

# Round trip of a full-size echo: 1500-byte IP packets, DF set.
bench_ping_rtt_1500() {
    local u l
    u=$(measure "$NS_TAP" rtt -c "$PING_COUNT" -i 0.002 -s 1472 -M "do")
    l=$(measure "$NS_A" rtt -c "$PING_COUNT" -i 0.002 -s 1472 -M "do")
    row "ping RTT avg, 1500 B" us "$u" "$l" lower
}

# UDP request/response: udp_rr (kernel sockets) sends a 32-byte datagram to
# the echo port and waits for it to come back before sending the next, so
# the rate is 1 / round trip. ustack: the runner's echo service (port 7);
# linux: udp_rr's own echo server on kernel sockets in the veth peer. The
# rounds alternate between the two so that both see the same machine.
#
# Each round trip wakes a sleeping thread or two on either side; in a VM a
# wake-up on another CPU can cost tens of microseconds, so the unpinned
# figures depend on where the scheduler happens to put the threads (the
# kernel-to-kernel one has been seen at 15k/s and at 70k/s on 2 CPUs).
# udp_rr_1cpu pins the client and the responder (every thread of the
# runner, or the echo server) to one CPU: steadier, and no wake-up crosses
# CPUs on either side.
UDP_RR=""
build_udp_rr() {
    [ -z "$UDP_RR" ] || return 0
    mkdir -p "$OUT_DIR"
    UDP_RR=$OUT_DIR/udp_rr
    cc -O2 -Wall -Wextra -Werror -o "$UDP_RR" "$ROOT/bench/udp_rr.c" || die "cannot build bench/udp_rr.c"
}

start_linux_echo() {
    [ -z "$ECHO_PID" ] || return 0
    local ready=$WORK/echo.ready
    ip netns exec "$NS_B" "$UDP_RR" server 7 "$ready" 2>"$WORK/echo.log" </dev/null &
    ECHO_PID=$!
    await 10 test -s "$ready" || die "the kernel UDP echo server did not start: $(cat "$WORK/echo.log")"
}

# udp_rr_once NS [CMD PREFIX...]: one client run; prints its rate.
udp_rr_once() {
    local ns=$1 out done_ elapsed rate rtt lost
    shift
    out=$(ip netns exec "$ns" "$@" "$UDP_RR" client "$PEER" 7 "$UDP_RR_COUNT" "$UDP_RR_SECONDS" \
        "$UDP_RR_SIZE" 2>&1) || die "udp_rr in $ns failed: $out"
    read -r done_ elapsed rate rtt lost <<<"$out"
    [ "$lost" -le $((done_ / 100)) ] || die "udp_rr in $ns lost $lost requests (of $done_)"
    say "udp_rr $ns${1:+ ($*)}: $done_ round trips in ${elapsed}s: $rate/s, ${rtt}us each, $lost lost"
    echo "$rate"
}

# udp_rr_rows METRIC [CPU]: ROUNDS alternating runs each side, median rows;
# without CPU, the busy-polling runner too.
udp_rr_rows() {
    local metric=$1 cpu=${2:-} pin=() i uv=() lv=() bv=()
    build_udp_rr
    start_linux_echo
    if [ -n "$cpu" ]; then
        pin=(taskset -c "$cpu")
        taskset -a -p -c "$cpu" "$USTACK_PID" >/dev/null || die "cannot pin the runner to CPU $cpu"
        taskset -a -p -c "$cpu" "$ECHO_PID" >/dev/null || die "cannot pin the echo server to CPU $cpu"
    fi
    [ -n "$cpu" ] || setup_ustack_bp
    for ((i = 0; i < ROUNDS; i++)); do
        uv+=("$(udp_rr_once "$NS_TAP" "${pin[@]}")")
        [ -n "$cpu" ] || bv+=("$(udp_rr_once "$NS_BP")")
        lv+=("$(udp_rr_once "$NS_A" "${pin[@]}")")
    done
    if [ -n "$cpu" ]; then
        local all
        all=$(cat /sys/devices/system/cpu/online)
        taskset -a -p -c "$all" "$USTACK_PID" >/dev/null || true
        taskset -a -p -c "$all" "$ECHO_PID" >/dev/null || true
    fi
    row "$metric" "requests/s" "$(printf '%s\n' "${uv[@]}" | median)" \
        "$(printf '%s\n' "${lv[@]}" | median)" higher
    [ -n "$cpu" ] || row "$metric, $BP_ROW" "requests/s" "$(median_of "${bv[@]}")" \
        "$(median_of "${lv[@]}")" higher
}

bench_udp_rr() { udp_rr_rows "UDP request/response rate, 32 B"; }

# TCP request/response: tcp_rr (kernel sockets, TCP_NODELAY) sends 1 byte
# and waits for it to come back, over one connection. ustack: the runner's
# TCP echo (port 7); linux: tcp_rr's own echo server in the veth peer.
TCP_RR=""
TCP_ECHO_PID=""
bench_tcp_rr() {
    if [ -z "$TCP_RR" ]; then
        mkdir -p "$OUT_DIR"
        TCP_RR=$OUT_DIR/tcp_rr
        cc -O2 -Wall -Wextra -Werror -o "$TCP_RR" "$ROOT/bench/tcp_rr.c" || die "cannot build bench/tcp_rr.c"
    fi
    if [ -z "$TCP_ECHO_PID" ]; then
        local ready=$WORK/tcpecho.ready
        ip netns exec "$NS_B" "$TCP_RR" server 7 "$ready" 2>"$WORK/tcpecho.log" </dev/null &
        TCP_ECHO_PID=$!
        await 10 test -s "$ready" || die "the kernel TCP echo server did not start"
    fi
    local i uv=() bv=() lv=() out done_ elapsed rate rtt lost
    setup_ustack_bp
    for ((i = 0; i < ROUNDS; i++)); do
        for side in "$NS_TAP" "$NS_BP" "$NS_A"; do
            out=$(ip netns exec "$side" "$TCP_RR" client "$PEER" 7 "$UDP_RR_COUNT" "$UDP_RR_SECONDS" 2>&1) ||
                die "tcp_rr in $side failed: $out"
            read -r done_ elapsed rate rtt lost <<<"$out"
            say "tcp_rr $side: $done_ round trips in ${elapsed}s: $rate/s, ${rtt}us each"
            case "$side" in
            "$NS_TAP") uv+=("$rate") ;;
            "$NS_BP") bv+=("$rate") ;;
            *) lv+=("$rate") ;;
            esac
        done
    done
    kill "$TCP_ECHO_PID" 2>/dev/null || true
    wait "$TCP_ECHO_PID" 2>/dev/null || true
    TCP_ECHO_PID=""
    row "TCP request/response rate, 1 B" "requests/s" \
        "$(printf '%s\n' "${uv[@]}" | median)" "$(printf '%s\n' "${lv[@]}" | median)" higher
    row "TCP request/response rate, 1 B, $BP_ROW" "requests/s" \
        "$(median_of "${bv[@]}")" "$(median_of "${lv[@]}")" higher
}
bench_udp_rr_1cpu() {
    command -v taskset >/dev/null || die "needs taskset (util-linux)"
    udp_rr_rows "UDP request/response rate, 32 B, 1 CPU" 0
}

# ---- TCP bulk throughput ----
#
# tcp_rx: tcp_bulk (kernel sockets) sends TCP_MB MB to the runner's discard
# port (9) and waits for the runner to close after the end of the stream;
# linux: the same to a tcp_bulk sink in the veth peer. Timed by the sender,
# connect() to the peer's close.
# tcp_tx: the tcpc example sends TCP_MB MB (its stdin: a file of zeros,
# read from the page cache) to a tcp_bulk sink on the kernel side of its TAP
# device; linux: tcp_bulk sends from the veth peer to a sink in namespace A
# (from a buffer in memory). Timed by the sink, accept() to the end of the
# stream. tcpc's stdin was a pipe from `head -c N /dev/zero`, whose writer
# and wake-ups took a CPU's share of this 2-CPU machine that the kernel's
# sender does not pay: 1000 MB on a quiet machine, tcpc from the pipe 11.8
# Gbit/s, from a file 18.0 (docs/DESIGN.md, "Offloads").
TCP_BULK=""
build_tcp_bulk() {
    [ -z "$TCP_BULK" ] || return 0
    mkdir -p "$OUT_DIR"
    TCP_BULK=$OUT_DIR/tcp_bulk
    cc -O2 -Wall -Wextra -Werror -o "$TCP_BULK" "$ROOT/bench/tcp_bulk.c" || die "cannot build bench/tcp_bulk.c"
}

# start_sink NS ADDR PORT: a tcp_bulk sink for one connection, in the background.
start_sink() {
    local ready=$WORK/sink.ready
    rm -f "$ready" "$WORK/sink.out"
    ip netns exec "$1" "$TCP_BULK" sink "$2" "$3" "$ready" >"$WORK/sink.out" 2>&1 </dev/null &
    SINK_PID=$!
    await 10 test -s "$ready" || die "the tcp_bulk sink did not start: $(cat "$WORK/sink.out")"
}

# wait_sink: its Gbit/s, once the transfer is over.
wait_sink() {
    local bytes secs gbit
    wait "$SINK_PID" || die "the tcp_bulk sink failed: $(cat "$WORK/sink.out")"
    SINK_PID=""
    read -r bytes secs gbit <"$WORK/sink.out"
    [ "$bytes" -eq $((TCP_MB * 1024 * 1024)) ] || die "the sink got $bytes bytes, not $TCP_MB MB"
    echo "$gbit"
}

# bulk_send NS HOST PORT: tcp_bulk send TCP_MB MB; prints its Gbit/s.
bulk_send() {
    local out bytes secs gbit
    out=$(ip netns exec "$1" env TCP_BULK_CC="${BULK_CC:-}" timeout 120 "$TCP_BULK" send "$2" "$3" \
        $((TCP_MB * 1024 * 1024)) 2>&1) ||
        die "tcp_bulk send in $1 failed: $out"
    read -r bytes secs gbit <<<"$out"
    say "tcp_bulk $1 -> $2:$3: $bytes bytes in ${secs}s: $gbit Gbit/s"
    echo "$gbit"
}

# linux_rx_once: kernel -> kernel over the veth pair (A sends to a sink in
# B); prints the sender's Gbit/s.
linux_rx_once() {
    local gbit
    start_sink "$NS_B" "$PEER" 5001
    gbit=$(bulk_send "$NS_A" "$PEER" 5001)
    wait_sink >/dev/null
    echo "$gbit"
}

# Medians of linux_rx_once with the offloads off and on, once measured
# (tcp_rx; memlink_tput reuses them).
LINUX_TCP_OFF="" LINUX_TCP_ON=""
linux_tcp_reference() {
    local i lv=() lov=()
    [ -z "$LINUX_TCP_OFF" ] || return 0
    build_tcp_bulk
    for ((i = 0; i < ROUNDS; i++)); do
        lv+=("$(linux_rx_once)")
        veth_offloads on
        lov+=("$(linux_rx_once)")
        veth_offloads off
    done
    LINUX_TCP_OFF=$(median_of "${lv[@]}")
    LINUX_TCP_ON=$(median_of "${lov[@]}")
}

# A second runner with --offload off (plain frames), on a TAP of its own,
# for the throughput rows' "ustack --offload off" figures.
setup_ustack_plain() {
    [ -z "$NS_PLAIN" ] || return 0
    NS_PLAIN="ust-bench-plain-$$"
    new_ns "$NS_PLAIN"
    ip netns exec "$NS_PLAIN" ip tuntap add dev tap0 mode tap
    ip -n "$NS_PLAIN" addr add "$HOST/24" dev tap0
    ip -n "$NS_PLAIN" link set tap0 up
    ip netns exec "$NS_PLAIN" "$USTACK" --tap tap0 --addr "$PEER/24" --log warn --offload off \
        2>"$WORK/ustack-plain.log" </dev/null &
    PLAIN_PID=$!
    await 15 answers_ping "$NS_PLAIN" || die "the runner with --offload off does not answer ping"
}

bench_tcp_rx() {
    local i uv=() pv=() lv=() lov=()
    build_tcp_bulk
    setup_ustack_plain
    for ((i = 0; i < ROUNDS; i++)); do
        uv+=("$(bulk_send "$NS_TAP" "$PEER" 9)")
        pv+=("$(bulk_send "$NS_PLAIN" "$PEER" 9)")
        lv+=("$(linux_rx_once)")
        veth_offloads on
        lov+=("$(linux_rx_once)")
        veth_offloads off
    done
    LINUX_TCP_OFF=$(median_of "${lv[@]}")
    LINUX_TCP_ON=$(median_of "${lov[@]}")
    row "TCP kernel -> ustack (discard), $TCP_MB MB" "Gbit/s" "$(median_of "${uv[@]}")" \
        "$LINUX_TCP_OFF" higher "$LINUX_TCP_ON"
    row "TCP kernel -> ustack (discard), $TCP_MB MB, ustack --offload off" "Gbit/s" \
        "$(median_of "${pv[@]}")" "$LINUX_TCP_OFF" higher "$LINUX_TCP_ON"
}

setup_tcpc_ns() {
    [ -z "$NS_TCPC" ] || return 0
    [ -x "$TCPC" ] || die "no tcpc at $TCPC: run make build (or set TCPC_BIN)"
    NS_TCPC="ust-bench-tcpc-$$"
    new_ns "$NS_TCPC"
    ip netns exec "$NS_TCPC" ip tuntap add dev tap0 mode tap
    ip -n "$NS_TCPC" addr add "$HOST/24" dev tap0
    ip -n "$NS_TCPC" link set tap0 up
}

# tcpc_input: a file of TCP_MB MB of zeros, made once, for tcpc's stdin.
TCPC_INPUT=""
tcpc_input() {
    [ -z "$TCPC_INPUT" ] || return 0
    TCPC_INPUT=$WORK/tcpc-input.bin
    head -c $((TCP_MB * 1024 * 1024)) /dev/zero >"$TCPC_INPUT"
}

# tcpc_once [tcpc options]: tcpc sends TCP_MB MB to a sink on the kernel
# side; prints Gbit/s.
tcpc_once() {
    local rc=0 gbit
    start_sink "$NS_TCPC" "$HOST" 5001
    local faults=("$@")
    [ -z "${TCPC_FAULTS:-}" ] || faults+=(--faults "$TCPC_FAULTS" --seed 5)
    tcpc_input
    ip netns exec "$NS_TCPC" timeout 120 "$TCPC" --tap tap0 --addr "$PEER/24" --log warn \
        "${faults[@]}" "$HOST" 5001 <"$TCPC_INPUT" >/dev/null 2>"$WORK/tcpc.log" || rc=$?
    if [ "$rc" -ne 0 ]; then
        # Where it stuck: did the data reach the sink (which closes at the end)?
        local sink="the sink is still waiting for the rest"
        kill -0 "$SINK_PID" 2>/dev/null || sink="the sink ended: $(cat "$WORK/sink.out")"
        die "tcpc failed (exit $rc; $sink): $(tail -n 5 "$WORK/tcpc.log")"
    fi
    gbit=$(wait_sink)
    say "tcpc -> $HOST:5001: $gbit Gbit/s (at the sink)"
    echo "$gbit"
}

# linux_tx_once: kernel -> kernel over the veth pair, B sends to a sink in
# A; prints the sink's Gbit/s.
linux_tx_once() {
    start_sink "$NS_A" "$HOST" 5001
    bulk_send "$NS_B" "$HOST" 5001 >/dev/null
    wait_sink
}

bench_tcp_tx() {
    local i uv=() pv=() lv=() lov=()
    build_tcp_bulk
    setup_tcpc_ns
    for ((i = 0; i < ROUNDS; i++)); do
        uv+=("$(tcpc_once)")
        pv+=("$(tcpc_once --offload off)")
        lv+=("$(linux_tx_once)")
        veth_offloads on
        lov+=("$(linux_tx_once)")
        veth_offloads off
    done
    row "TCP ustack (tcpc) -> kernel, $TCP_MB MB" "Gbit/s" "$(median_of "${uv[@]}")" \
        "$(median_of "${lv[@]}")" higher "$(median_of "${lov[@]}")"
    row "TCP ustack (tcpc) -> kernel, $TCP_MB MB, ustack --offload off" "Gbit/s" \
        "$(median_of "${pv[@]}")" "$(median_of "${lv[@]}")" higher "$(median_of "${lov[@]}")"
}

# ---- TCP through loss ----
# The issue asks for netem's loss on the TAP and on the veth; this
# project's kernels have no sch_netem, so the same loss is made below each
# side's TCP, LOSS_PERMILLE per mille of the frames each way:
#   ustack: its own fault injector on the TAP (--faults drop=, both ways,
#           after ustack's TCP and before the kernel's);
#   linux:  nftables `numgen random` at the ingress hook of both veth ends
#           (a drop at a sender's own output hook would be no loss: its TCP
#           sees the failed transmit and sends again).
# Both sides use default buffers and SACK. ustack's sender is CUBIC; the
# kernel's is its default, which on some kernels is BBR (this project's
# VMs: see the header line), built to ignore random loss. So each
# direction has a second row with the kernel's tcp_bulk on CUBIC
# (TCP_CONGESTION): kernel -> ustack then compares the two receivers under
# the same CUBIC sender; ustack -> kernel compares CUBIC with CUBIC. The
# ratio is taken against the kernel under the same loss (the issue's
# target: 0.5).

# veth_loss on|off: the nftables loss on both veth ends (ingress).
veth_loss() {
    local ns dev
    for ns in "$NS_A" "$NS_B"; do
        dev=veth0
        [ "$ns" = "$NS_B" ] && dev=veth1
        if [ "$1" = on ]; then
            ip netns exec "$ns" nft -f - <<NFT || die "nftables cannot make the loss in $ns"
table netdev ustloss {
    chain in { type filter hook ingress device "$dev" priority 0; numgen random mod 1000 < $LOSS_PERMILLE drop; }
}
NFT
        else
            ip netns exec "$ns" nft delete table netdev ustloss
        fi
    done
}

# A second runner, with loss, on a TAP of its own.
setup_ustack_loss() {
    [ -z "$NS_LOSS" ] || return 0
    NS_LOSS="ust-bench-loss-$$"
    new_ns "$NS_LOSS"
    ip netns exec "$NS_LOSS" ip tuntap add dev tap0 mode tap
    ip -n "$NS_LOSS" addr add "$HOST/24" dev tap0
    ip -n "$NS_LOSS" link set tap0 up
    ip netns exec "$NS_LOSS" "$USTACK" --tap tap0 --addr "$PEER/24" --log warn --seed 5 \
        --faults "drop=0.$(printf '%03d' "$LOSS_PERMILLE")" 2>"$WORK/ustack-loss.log" </dev/null &
    LOSS_PID=$!
    await 15 answers_ping "$NS_LOSS" || die "the lossy runner does not answer ping in $NS_LOSS"
}

# loss_row METRIC CC USTACK_ONCE LINUX_ONCE: ROUNDS of each (LOSS_MB MB), the
# kernel's with the nftables loss on and its tcp_bulk on congestion
# control CC (empty: the kernel's default); one row.
loss_row() {
    local i uv=() lv=() saved=$TCP_MB
    build_tcp_bulk
    TCP_MB=$LOSS_MB
    BULK_CC=$2
    for ((i = 0; i < ROUNDS; i++)); do
        uv+=("$("$3")")
        veth_loss on
        lv+=("$("$4")")
        veth_loss off
    done
    BULK_CC=""
    TCP_MB=$saved
    row "$1, $LOSS_PERMILLE/1000 lost each way, $LOSS_MB MB" "Gbit/s" \
        "$(median_of "${uv[@]}")" "$(median_of "${lv[@]}")" higher
}

ustack_loss_rx_once() { bulk_send "$NS_LOSS" "$PEER" 9; }
ustack_loss_tx_once() { TCPC_FAULTS="drop=0.$(printf '%03d' "$LOSS_PERMILLE")" tcpc_once; }

bench_tcp_loss_rx() {
    setup_ustack_loss
    loss_row "TCP kernel -> ustack" "" ustack_loss_rx_once linux_rx_once
    loss_row "TCP kernel (cubic) -> ustack" cubic ustack_loss_rx_once linux_rx_once
}

bench_tcp_loss_tx() {
    setup_tcpc_ns
    loss_row "TCP ustack (tcpc) -> kernel" "" ustack_loss_tx_once linux_tx_once
    loss_row "TCP ustack (tcpc) -> kernel (cubic)" cubic ustack_loss_tx_once linux_tx_once
}

# ---- AF_PACKET (--packet) ----
#
# The runner attached with --packet to one end of a veth pair (vu0, in
# $NS_PK, no address: the kernel there only carries the frames), the
# kernel on the other end (vk0, 192.0.2.1, in $NS_PKK, checksum and
# segmentation offloads off: ustack takes frames as they are on the wire).
# Each row compares that path with the kernel (the veth reference, as
# everywhere), and the TAP path gets a row of its own measured in the same
# rounds, so that the three figures come from one stretch of time on a
# machine that other work may share.
#   packet_ping_rtt: as ping_rtt; also with --packet-ring v3 (the runner
#       restarted on it), whose blocks wait for their retire timer.
#   packet_tcp_rx: as tcp_rx, tcp_bulk from $NS_PKK to the runner's discard.
#   packet_tcp_tx: as tcp_tx, tcpc --packet vu0 as 192.0.2.3 (a second
#       stack on the same veth end, with a MAC of its own) to a sink on vk0.
start_packet_runner() { # [--packet-ring v3]
    local pdeath=()
    if setpriv --help 2>/dev/null | grep -q -- --pdeathsig; then
        pdeath=(setpriv --pdeathsig TERM --)
    fi
    ip netns exec "$NS_PK" "${pdeath[@]}" "$USTACK" --packet vu0 --addr "$PEER/24" --log warn "$@" \
        2>"$WORK/ustack-packet.log" </dev/null &
    PK_PID=$!
    await 15 answers_ping "$NS_PKK" || die "the --packet runner does not answer ping from $NS_PKK"
}
stop_packet_runner() {
    kill -TERM "$PK_PID" 2>/dev/null || true
    wait "$PK_PID" 2>/dev/null || true
    PK_PID=""
}

setup_packet() {
    [ -z "$NS_PK" ] || return 0
    NS_PK="ust-bench-pk-$$"
    NS_PKK="ust-bench-pkk-$$"
    new_ns "$NS_PK"
    new_ns "$NS_PKK"
    ip -n "$NS_PK" link add vu0 type veth peer name vk0 netns "$NS_PKK"
    ip -n "$NS_PKK" addr add "$HOST/24" dev vk0
    ip netns exec "$NS_PKK" ethtool -K vk0 tx off sg off tso off gso off >/dev/null 2>&1 ||
        die "ethtool -K vk0 ... off failed"
    ip -n "$NS_PKK" link set vk0 up
    ip -n "$NS_PK" link set vu0 up
    start_packet_runner
}

bench_packet_ping_rtt() {
    local i pv=() tv=() lv=() v3=()
    setup_packet
    for ((i = 0; i < ROUNDS; i++)); do
        pv+=("$(ROUNDS=1 measure "$NS_PKK" rtt -c "$PING_COUNT" -i 0.002)")
        tv+=("$(ROUNDS=1 measure "$NS_TAP" rtt -c "$PING_COUNT" -i 0.002)")
        lv+=("$(ROUNDS=1 measure "$NS_A" rtt -c "$PING_COUNT" -i 0.002)")
    done
    stop_packet_runner
    start_packet_runner --packet-ring v3
    for ((i = 0; i < ROUNDS; i++)); do
        v3+=("$(ROUNDS=1 measure "$NS_PKK" rtt -c "$PING_COUNT" -i 0.002)")
    done
    stop_packet_runner
    start_packet_runner
    local l
    l=$(median_of "${lv[@]}")
    row "ping RTT avg, 64 B, AF_PACKET (TPACKET_V2)" us "$(median_of "${pv[@]}")" "$l" lower
    row "ping RTT avg, 64 B, AF_PACKET (TPACKET_V3)" us "$(median_of "${v3[@]}")" "$l" lower
    row "ping RTT avg, 64 B, TAP (same rounds)" us "$(median_of "${tv[@]}")" "$l" lower
}

bench_packet_tcp_rx() {
    local i pv=() tv=() lv=()
    build_tcp_bulk
    setup_packet
    for ((i = 0; i < ROUNDS; i++)); do
        pv+=("$(bulk_send "$NS_PKK" "$PEER" 9)")
        tv+=("$(bulk_send "$NS_TAP" "$PEER" 9)")
        lv+=("$(linux_rx_once)")
    done
    local l
    l=$(median_of "${lv[@]}")
    row "TCP kernel->ustack $TCP_MB MB, AF_PACKET" "Gbit/s" "$(median_of "${pv[@]}")" "$l" higher
    row "TCP kernel->ustack $TCP_MB MB, TAP (same rounds)" "Gbit/s" \
        "$(median_of "${tv[@]}")" "$l" higher
}

# packet_tcpc_once: tcpc --packet vu0 sends TCP_MB MB to a sink on vk0.
packet_tcpc_once() {
    local rc=0 gbit
    start_sink "$NS_PKK" "$HOST" 5001
    tcpc_input
    ip netns exec "$NS_PK" timeout 120 "$TCPC" --packet vu0 --addr 192.0.2.3/24 --log warn \
        "$HOST" 5001 <"$TCPC_INPUT" >/dev/null 2>"$WORK/tcpc-packet.log" || rc=$?
    [ "$rc" -eq 0 ] || die "tcpc --packet failed (exit $rc): $(tail -n 5 "$WORK/tcpc-packet.log")"
    gbit=$(wait_sink)
    say "tcpc --packet -> $HOST:5001: $gbit Gbit/s (at the sink)"
    echo "$gbit"
}

bench_packet_tcp_tx() {
    local i pv=() tv=() lv=()
    build_tcp_bulk
    setup_packet
    setup_tcpc_ns
    for ((i = 0; i < ROUNDS; i++)); do
        pv+=("$(packet_tcpc_once)")
        tv+=("$(tcpc_once)")
        lv+=("$(linux_tx_once)")
    done
    local l
    l=$(median_of "${lv[@]}")
    row "TCP ustack->kernel $TCP_MB MB (tcpc), AF_PACKET" "Gbit/s" "$(median_of "${pv[@]}")" "$l" higher
    row "TCP ustack->kernel $TCP_MB MB (tcpc), TAP (same rounds)" "Gbit/s" \
        "$(median_of "${tv[@]}")" "$l" higher
}

# ---- iperf3: the stock tool against the runner's service ----
# ustack: iperf3 -c in $NS_TAP against the runner's iperf3 service (port
# 5201); linux: the same client in $NS_A against the kernel's iperf3 -s in
# $NS_B. -R makes the server side send. The figure is iperf3's own
# end.sum_received from -J.

start_iperf3_kernel() {
    [ -z "$IPERF3_PID" ] || return 0
    # Not bound to an address: it serves the IPv6 rows too.
    ip netns exec "$NS_B" iperf3 -s >"$WORK/iperf3-s.log" 2>&1 </dev/null &
    IPERF3_PID=$!
    await 10 iperf3_listening || die "the kernel's iperf3 -s did not start: $(cat "$WORK/iperf3-s.log")"
}
iperf3_listening() { ip netns exec "$NS_B" ss -ltn | grep -q ":5201 "; }

# iperf3_gbit NS [iperf3 args...]: Gbit/s received, from iperf3 -J; to
# $PEER, or $IPERF3_TARGET.
iperf3_gbit() {
    local ns=$1 out peer=${IPERF3_TARGET:-$PEER}
    shift
    out=$(ip netns exec "$ns" timeout $((IPERF3_SECONDS + 30)) iperf3 -c "$peer" -t "$IPERF3_SECONDS" \
        -J "$@" 2>&1) || die "iperf3 -c $peer $* in $ns failed: $(echo "$out" | tail -n 3)"
    python3 -c '
import json, sys
d = json.load(sys.stdin)
if "error" in d:
    sys.exit("iperf3: " + d["error"])
print("%.3f" % (d["end"]["sum_received"]["bits_per_second"] / 1e9))' <<<"$out" ||
        die "iperf3 -c $PEER $* in $ns: no result in its JSON"
}

iperf3_rows() { # iperf3_rows WHAT [iperf3 args]: 1 stream and 4
    local what=$1 streams i name
    shift
    start_iperf3_kernel
    setup_ustack_plain
    for streams in 1 4; do
        local uv=() pv=() lv=() lov=()
        for ((i = 0; i < ROUNDS; i++)); do
            uv+=("$(iperf3_gbit "$NS_TAP" -P "$streams" "$@")")
            pv+=("$(iperf3_gbit "$NS_PLAIN" -P "$streams" "$@")")
            lv+=("$(iperf3_gbit "$NS_A" -P "$streams" "$@")")
            veth_offloads on
            lov+=("$(iperf3_gbit "$NS_A" -P "$streams" "$@")")
            veth_offloads off
        done
        name="iperf3 $what, $streams stream$([ "$streams" = 1 ] || echo s), ${IPERF3_SECONDS} s"
        row "$name" "Gbit/s" "$(median_of "${uv[@]}")" "$(median_of "${lv[@]}")" higher \
            "$(median_of "${lov[@]}")"
        row "$name, ustack --offload off" "Gbit/s" "$(median_of "${pv[@]}")" \
            "$(median_of "${lv[@]}")" higher "$(median_of "${lov[@]}")"
    done
}
bench_iperf3_rx() { iperf3_rows "kernel -> ustack"; }
bench_iperf3_tx() { iperf3_rows "ustack -> kernel (-R)" -R; }

# ---- IPv6: the same tools over IPv6, beside ustack's own IPv4 ----
#
# The namespaces are made with IPv6 off (new_ns); enable_ipv6 turns it on
# for the TAP and veth links and gives the kernel ends 2001:db8::1/64 and
# (veth) 2001:db8::2/64, nodad. The runner has 2001:db8::2/64 by default.
# Each IPv6 row has a second row: ustack's IPv6 figure over its IPv4 one,
# measured in alternate rounds of the same function, so that both see the
# same machine (the target: IPv6 within 10% of IPv4).
IPV6_ON=0
enable_ipv6() {
    [ "$IPV6_ON" = 0 ] || return 0
    local ns_dev ns dev addr
    for ns_dev in "$NS_TAP:tap0:$HOST6" "$NS_A:veth0:$HOST6" "$NS_B:veth1:$PEER6"; do
        IFS=: read -r ns dev _ <<<"$ns_dev"
        addr=${ns_dev#*:*:}
        ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.disable_ipv6=0 "net.ipv6.conf.$dev.disable_ipv6=0" ||
            die "cannot enable IPv6 in $ns"
        ip -n "$ns" -6 addr add "$addr/64" dev "$dev" nodad
    done
    PING_TARGET=$PEER6 await 15 answers_ping6 "$NS_TAP" || die "ustack does not answer ping -6 in $NS_TAP"
    PING_TARGET=$PEER6 await 15 answers_ping6 "$NS_A" || die "the veth peer does not answer ping -6"
    IPV6_ON=1
}
answers_ping6() { ip netns exec "$1" ping -6 -n -q -c 1 -W 1 "$PEER6" >/dev/null 2>&1; }

# v6_ratio_row WHAT UNIT U6 U4 lower|higher: ustack's IPv6 / IPv4.
v6_ratio_row() {
    row "$1, ustack IPv6 / ustack IPv4" "ratio" "$(ratio_of "$3" "$4")" n/a "$5"
}

bench_ping6_rtt() {
    enable_ipv6
    local i u6=() u4=() l6=()
    for ((i = 0; i < ROUNDS; i++)); do
        u6+=("$(ROUNDS=1 PING_TARGET=$PEER6 measure "$NS_TAP" rtt -6 -c "$PING_COUNT" -i 0.002)")
        u4+=("$(ROUNDS=1 measure "$NS_TAP" rtt -c "$PING_COUNT" -i 0.002)")
        l6+=("$(ROUNDS=1 PING_TARGET=$PEER6 measure "$NS_A" rtt -6 -c "$PING_COUNT" -i 0.002)")
    done
    local m6 m4
    m6=$(median_of "${u6[@]}") m4=$(median_of "${u4[@]}")
    row "ping -6 RTT avg, 64 B" us "$m6" "$(median_of "${l6[@]}")" lower
    v6_ratio_row "ping RTT avg, 64 B" us "$m6" "$m4" lower
}

# iperf3_rows6 WHAT [iperf3 args]: one stream over IPv6 (ustack and the
# kernel), and ustack's IPv4 figure for the ratio.
iperf3_rows6() {
    local what=$1 i u6=() u4=() l6=()
    shift
    enable_ipv6
    start_iperf3_kernel
    for ((i = 0; i < ROUNDS; i++)); do
        u6+=("$(IPERF3_TARGET=$PEER6 iperf3_gbit "$NS_TAP" -6 "$@")")
        u4+=("$(iperf3_gbit "$NS_TAP" "$@")")
        l6+=("$(IPERF3_TARGET=$PEER6 iperf3_gbit "$NS_A" -6 "$@")")
    done
    local m6 m4
    m6=$(median_of "${u6[@]}") m4=$(median_of "${u4[@]}")
    row "iperf3 -6 $what, 1 stream, ${IPERF3_SECONDS} s" "Gbit/s" "$m6" "$(median_of "${l6[@]}")" higher
    v6_ratio_row "iperf3 $what, 1 stream" "Gbit/s" "$m6" "$m4" higher
}
bench_iperf3_rx6() { iperf3_rows6 "kernel -> ustack"; }
bench_iperf3_tx6() { iperf3_rows6 "ustack -> kernel (-R)" -R; }

# ---- in-process: two ustack stacks over a memlink ----

# memlink_tput: TCP_MB MB from one ustack stack to another in one process,
# one thread pumping both (see bench/memlink_tput.c); the median of ROUNDS
# runs. linux: kernel -> kernel TCP over the veth pair (tcp_rx's linux
# figure), the nearest kernel counterpart: two stacks on one machine, but
# with system calls and the veth hand-off in the kernel's figure.
bench_memlink_tput() {
    local i uv=() ov=() out bytes secs gbit
    for ((i = 0; i < ROUNDS; i++)); do
        out=$(timeout 120 "$MEMLINK_TPUT" --bytes $((TCP_MB * 1024 * 1024)) 2>&1) ||
            die "memlink_tput failed: $out"
        read -r bytes secs gbit <<<"$out"
        say "memlink_tput: $bytes bytes in ${secs}s: $gbit Gbit/s"
        uv+=("$gbit")
        out=$(timeout 120 "$MEMLINK_TPUT" --bytes $((TCP_MB * 1024 * 1024)) --offload 2>&1) ||
            die "memlink_tput --offload failed: $out"
        read -r bytes secs gbit <<<"$out"
        say "memlink_tput --offload: $bytes bytes in ${secs}s: $gbit Gbit/s"
        ov+=("$gbit")
    done
    linux_tcp_reference
    row "TCP ustack -> ustack, memlink, 1 thread, $TCP_MB MB" "Gbit/s" "$(median_of "${uv[@]}")" \
        "$LINUX_TCP_OFF" higher "$LINUX_TCP_ON"
    row "TCP ustack -> ustack, memlink, 1 thread, $TCP_MB MB, TAP's offloads on the link" "Gbit/s" \
        "$(median_of "${ov[@]}")" "$LINUX_TCP_OFF" higher "$LINUX_TCP_ON"
}

# memlink_callgrind: memlink_tput under callgrind, CALLGRIND_MB MB, virtual
# clock (the same instructions every run). Ir are counted inside its
# transfer loop only (--toggle-collect), so the set-up, the handshake and
# the teardown are not; the figure is that Ir / bytes transferred, both
# stacks together (sender and receiver). The top 10 functions by their own
# Ir go to callgrind_top.txt, the whole annotation to callgrind_annotate.txt.
# Then the same over IPv6 (--ipv6), and its ratio to the IPv4 figure.
bench_memlink_callgrind() {
    local bytes=$((CALLGRIND_MB * 1024 * 1024)) cg=$OUT_DIR/callgrind.out ir ipb
    mkdir -p "$OUT_DIR"
    timeout 600 valgrind --tool=callgrind --callgrind-out-file="$cg" --toggle-collect=transfer \
        "$MEMLINK_TPUT" --bytes "$bytes" --clock virtual >"$WORK/callgrind.stdout" 2>"$WORK/callgrind.log" ||
        die "memlink_tput under callgrind failed: $(tail -n 5 "$WORK/callgrind.log")"
    ir=$(awk '/^totals:/ { print $2 }' "$cg")
    [[ $ir =~ ^[0-9]+$ && $ir -gt 0 ]] || die "no Ir total in $cg"
    ipb=$(awk -v i="$ir" -v b="$bytes" 'BEGIN { printf "%.2f", i / b }')
    callgrind_annotate --inclusive=no "$cg" >"$OUT_DIR/callgrind_annotate.txt" 2>/dev/null ||
        die "callgrind_annotate failed"
    callgrind_annotate --inclusive=yes "$cg" >"$WORK/callgrind_inclusive.txt" 2>/dev/null ||
        die "callgrind_annotate --inclusive=yes failed"
    # Lines "  114,714,246 (40.43%)  ???:cksum_add [/path/object]" -> "Ir pct function object".
    local fn_lines='s/^ *([0-9,]+) +\( *([0-9.]+)%\) +([^ ]+)( \[(.*)\])?$/\1 \2 \3 \5/p'
    {
        printf 'memlink_tput --bytes %s --clock virtual under callgrind, transfer loop only\n' "$bytes"
        printf 'total %s Ir, %s Ir/byte (both stacks: sender and receiver)\n\n' "$ir" "$ipb"
        printf 'Top 10 functions by their own Ir (inlined callees count as the caller):\n'
        printf '%14s  %6s  %7s  %s\n' "Ir (self)" "%" "Ir/byte" "function (object)"
        sed -En "$fn_lines" "$OUT_DIR/callgrind_annotate.txt" | awk -v b="$bytes" '
            $3 != "PROGRAM" && n < 10 {
                ir = $1; gsub(/,/, "", ir); fn = $3; sub(/.*:/, "", fn); obj = $4; sub(/.*\//, "", obj)
                printf "%14s  %5s%%  %7.3f  %s (%s)\n", $1, $2, ir / b, fn, obj; n++ }'
        printf '\nInclusive Ir of the main paths:\n'
        sed -En "$fn_lines" "$WORK/callgrind_inclusive.txt" | awk -v b="$bytes" '
            BEGIN { split("ust_send tcp_output ust_stack_poll tcp_input ust_recv ml_transmit cksum_add ring_write ring_peek", w, " ")
                    for (i in w) want[w[i]] = 1 }
            { fn = $3; sub(/.*:/, "", fn) }
            (fn in want) && !(fn in seen) { seen[fn] = 1; ir = $1; gsub(/,/, "", ir)
                printf "%14s  %5s%%  %7.3f  %s\n", $1, $2, ir / b, fn }'
    } >"$OUT_DIR/callgrind_top.txt"
    say "callgrind: $ir Ir for $bytes bytes: $ipb Ir/byte; top functions in $OUT_DIR/callgrind_top.txt"
    row "TCP ustack -> ustack, memlink, callgrind, $CALLGRIND_MB MB" "Ir/byte" "$ipb" n/a lower
    # The same over IPv6 (memlink_tput --ipv6): what the version costs per
    # byte, deterministic where the throughput rows are not.
    local cg6=$WORK/callgrind6.out ir6 ipb6
    timeout 600 valgrind --tool=callgrind --callgrind-out-file="$cg6" --toggle-collect=transfer \
        "$MEMLINK_TPUT" --bytes "$bytes" --clock virtual --ipv6 >"$WORK/callgrind6.stdout" \
        2>"$WORK/callgrind6.log" ||
        die "memlink_tput --ipv6 under callgrind failed: $(tail -n 5 "$WORK/callgrind6.log")"
    ir6=$(awk '/^totals:/ { print $2 }' "$cg6")
    [[ $ir6 =~ ^[0-9]+$ && $ir6 -gt 0 ]] || die "no Ir total in $cg6"
    ipb6=$(awk -v i="$ir6" -v b="$bytes" 'BEGIN { printf "%.2f", i / b }')
    say "callgrind over IPv6: $ir6 Ir for $bytes bytes: $ipb6 Ir/byte"
    row "TCP/IPv6 ustack -> ustack, memlink, callgrind, $CALLGRIND_MB MB" "Ir/byte" "$ipb6" n/a lower
    row "memlink callgrind, IPv6 / IPv4 Ir/byte" "ratio" "$(ratio_of "$ipb6" "$ipb")" n/a lower
}

# ---- HTTP: wrk against the runner's HTTP service and the same code on
# kernel sockets (bench/http_kernel.c; see the header) ----
HTTP_KERNEL=""
build_http_kernel() {
    [ -z "$HTTP_KERNEL" ] || return 0
    mkdir -p "$OUT_DIR"
    HTTP_KERNEL=$OUT_DIR/http_kernel
    cc -O2 -Wall -Wextra -Werror -D_GNU_SOURCE -I "$ROOT/include" -I "$ROOT/apps" -o "$HTTP_KERNEL" \
        "$ROOT/bench/http_kernel.c" || die "cannot build bench/http_kernel.c"
}

start_http_kernel() {
    [ -z "$HTTP_KERNEL_PID" ] || return 0
    local ready=$WORK/http.ready
    ip netns exec "$NS_B" "$HTTP_KERNEL" "$PEER" 80 "$WWW" "$ready" 2>"$WORK/http_kernel.log" </dev/null &
    HTTP_KERNEL_PID=$!
    await 10 test -s "$ready" || die "the kernel HTTP server did not start: $(cat "$WORK/http_kernel.log")"
}

# wrk_once NS [WRK ARGS...]: one wrk run against http://$PEER/; prints
# requests/s. Non-2xx answers, or socket errors on more than 1% of the
# requests, end the benchmark: the figure would not be of what it says.
wrk_once() {
    local ns=$1 out
    shift
    out=$(ip netns exec "$ns" timeout $((HTTP_SECONDS + 30)) wrk -t1 -c "$HTTP_CONNS" -d "${HTTP_SECONDS}s" \
        "$@" "${WRK_URL:-http://$PEER/}" 2>&1) || die "wrk in $ns failed: $out"
    awk -v ns="$ns" -v args="$*" '
        / requests in / { n = $1 }
        /^Requests\/sec:/ { rate = $2 }
        /^ +Latency / { lat = $2 }
        /Socket errors:/ { for (i = 1; i <= NF; i++) if ($i ~ /^[0-9]+,?$/) { v = $i; sub(/,/, "", v); err += v } }
        /Non-2xx or 3xx responses:/ { bad = $NF }
        END {
            printf "wrk %s%s: %d requests, %s/s, latency avg %s, %d socket errors, %d non-2xx\n",
                ns, (args != "" ? " (" args ")" : ""), n, rate, lat, err, bad > "/dev/stderr"
            if (rate == "" || n == 0 || bad > 0 || err > n / 100) exit 1
            print rate
        }' <<<"$out" || die "wrk in $ns: errors or no result: $out"
}

# http_rows METRIC [WRK ARGS...]: ROUNDS alternating runs each side (and
# the busy-polling runner).
http_rows() {
    local metric=$1 i uv=() bv=() lv=()
    shift
    start_http_kernel
    setup_ustack_bp
    for ((i = 0; i < ROUNDS; i++)); do
        uv+=("$(wrk_once "$NS_TAP" "$@")")
        bv+=("$(wrk_once "$NS_BP" "$@")")
        lv+=("$(wrk_once "$NS_A" "$@")")
    done
    row "$metric" "requests/s" "$(median_of "${uv[@]}")" "$(median_of "${lv[@]}")" higher
    row "$metric, $BP_ROW" "requests/s" "$(median_of "${bv[@]}")" "$(median_of "${lv[@]}")" higher
}

bench_http_keepalive() {
    http_rows "HTTP GET $HTTP_FILE_SIZE B, keep-alive, wrk -c $HTTP_CONNS"
}

# A connection per request. ustack closes first (the server answers
# Connection: close and sends its FIN), so each request leaves a connection
# in TIME-WAIT in the runner for 60 s: later rounds run with more of them.
bench_http_close() {
    http_rows "HTTP GET $HTTP_FILE_SIZE B, Connection: close, wrk -c $HTTP_CONNS" -H "Connection: close"
}

# Under attack (http_syn_flood): the same wrk, a connection per request,
# while tests/interop/flood.py sends SYN_FLOOD_RATE spoofed SYNs a second
# to port 80 from made-up hosts and MACs (in the client's namespace, onto
# the TAP or the veth, to the server's MAC). Both servers answer the flood
# with SYN cookies (Linux: net.ipv4.tcp_syncookies=1, its default, in B).
# Comes after http_close: its connections leave TIME-WAIT too.
SYN_FLOOD_RATE=${BENCH_SYN_FLOOD_RATE:-5000}
flood_wrk_once() {
    local ns=$1 dev=$2 mac=$3 n=$((SYN_FLOOD_RATE * (HTTP_SECONDS + 2))) fpid rate
    ip netns exec "$ns" python3 "$ROOT/tests/interop/flood.py" syn-flood "$dev" "$n" \
        --seconds "$((HTTP_SECONDS + 2))" --dst-mac "$mac" >"$WORK/flood.out" 2>&1 &
    fpid=$!
    await 30 grep -q "^sending" "$WORK/flood.out" || die "flood.py did not start: $(cat "$WORK/flood.out")"
    sleep 1 # the flood is under way before the first request
    rate=$(wrk_once "$ns" -H "Connection: close")
    wait "$fpid" || die "flood.py failed: $(cat "$WORK/flood.out")"
    say "$(tail -n 1 "$WORK/flood.out")"
    echo "$rate"
}

bench_http_syn_flood() {
    local i uv=() lv=() umac lmac
    start_http_kernel
    umac=02:00:c0:00:02:02 # the runner's default MAC at 192.0.2.2
    lmac=$(ip -n "$NS_B" -o link show veth1 | sed -nE 's/.*link\/ether ([0-9a-f:]+).*/\1/p')
    [ -n "$lmac" ] || die "no MAC for veth1 in $NS_B"
    for ((i = 0; i < ROUNDS; i++)); do
        uv+=("$(flood_wrk_once "$NS_TAP" tap0 "$umac")")
        lv+=("$(flood_wrk_once "$NS_A" veth0 "$lmac")")
    done
    row "HTTP GET, Connection: close, during a $SYN_FLOOD_RATE SYN/s flood" "requests/s" \
        "$(median_of "${uv[@]}")" "$(median_of "${lv[@]}")" higher
}

# Memory per idle connection (idle_conns_10k, idle_conns_100k): N kernel
# connections opened and held idle (tests/interop/slow_clients.py hold,
# from 192.0.2.1, .3, .4 and .5, in processes of 10,000: the open-file
# hard limit may be 20,000 where CAP_SYS_RESOURCE is missing) to the runner's
# discard service, or to `tcp_bulk hold` in B, which accepts and keeps
# them. ustack: how much the runner's VmRSS grows. linux: how much the
# kernel's slab memory grows (Slab in /proc/meminfo), half of it, since
# both ends are the kernel's there and the client's half is not the
# server's cost, plus the holder's VmRSS growth (its file descriptors).
# Bytes per connection, one run.
HOLD_PER=10000
HOLD_SOURCES=192.0.2.3,192.0.2.4,192.0.2.5 # and $HOST
rss_kib_of() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status"; }
slab_kib() { awk '/^Slab:/ {print $2}' /proc/meminfo; }

# hold_conns NS N PORT: opens N connections to $PEER:PORT and returns once
# all are held (the holders' PIDs in HOLD_PIDS, their files in $WORK).
HOLD_PIDS=()
hold_conns() {
    local ns=$1 n=$2 port=$3 left=$2 k=0 i m held
    HOLD_PIDS=()
    rm -f "$WORK"/hold.*
    while [ "$left" -gt 0 ]; do
        m=$((left < HOLD_PER ? left : HOLD_PER))
        left=$((left - m))
        k=$((k + 1))
        ip netns exec "$ns" bash -c "ulimit -n $((HOLD_PER + 1024)) && exec python3 \"\$0\" hold \"\$1\" \"\$2\" \"\$3\" 600 \"\$4\" \"\$5\"" \
            "$ROOT/tests/interop/slow_clients.py" "$PEER" "$port" "$m" "$HOST,$HOLD_SOURCES" \
            "$WORK/hold.$k.status" >"$WORK/hold.$k.json" 2>"$WORK/hold.$k.err" &
        HOLD_PIDS+=($!)
    done
    for ((i = 1; i <= k; i++)); do
        await 300 test -s "$WORK/hold.$i.status" || die "the holders did not settle: $(cat "$WORK/hold.$i.err")"
    done
    held=$(cat "$WORK"/hold.*.status | awk '{n += $2} END {print n + 0}')
    [ "$held" -eq "$n" ] || die "$held of $n connections held"
}

release_conns() {
    local i p
    for ((i = 1; i <= ${#HOLD_PIDS[@]}; i++)); do
        touch "$WORK/hold.$i.status.stop"
    done
    for p in "${HOLD_PIDS[@]}"; do
        wait "$p" || true
    done
    HOLD_PIDS=()
}

idle_row() {
    local n=$1 r0 r1 s0 s1 h0 h1 hpid u l
    # Four client addresses with 60,000 ports each (a port serves one
    # connection to a given server address and port; the kernel's search
    # for a free one slows down as a range fills).
    local ns_dev a
    for ns_dev in "$NS_TAP:tap0" "$NS_A:veth0"; do
        ip netns exec "${ns_dev%%:*}" sysctl -qw net.ipv4.ip_local_port_range="2000 62000"
        for a in ${HOLD_SOURCES//,/ }; do
            ip -n "${ns_dev%%:*}" addr add "$a/24" dev "${ns_dev#*:}" 2>/dev/null || true
        done
    done
    # ustack: the runner's discard service.
    r0=$(rss_kib_of "$USTACK_PID")
    hold_conns "$NS_TAP" "$n" 9
    sleep 2 # settled: the runner's side of the last handshakes
    r1=$(rss_kib_of "$USTACK_PID")
    release_conns
    u=$(((r1 - r0) * 1024 / n))
    say "ustack: runner VmRSS $r0 -> $r1 KiB with $n idle connections: $u bytes each"
    # linux: tcp_bulk hold in B.
    rm -f "$WORK/hold.ready"
    ip netns exec "$NS_B" "$TCP_BULK" hold "$PEER" 9 "$WORK/hold.ready" >"$WORK/hold.out" 2>&1 </dev/null &
    hpid=$!
    await 10 test -s "$WORK/hold.ready" || die "tcp_bulk hold did not start: $(cat "$WORK/hold.out")"
    sleep 1
    s0=$(slab_kib)
    h0=$(rss_kib_of "$hpid")
    hold_conns "$NS_A" "$n" 9
    sleep 2
    s1=$(slab_kib)
    h1=$(rss_kib_of "$hpid")
    release_conns
    kill -TERM "$hpid"
    wait "$hpid" || true
    l=$((((s1 - s0) / 2 + (h1 - h0)) * 1024 / n))
    say "linux: slab $s0 -> $s1 KiB, holder VmRSS $h0 -> $h1 KiB with $n idle connections: $l bytes each"
    row "Memory per idle TCP connection, $n held" "bytes" "$u" "$l" lower
}

bench_idle_conns_10k() { idle_row 10000; }
bench_idle_conns_100k() { idle_row 100000; }

# Flood ping: one request in flight, the next sent as soon as the reply
# arrives, so the rate is 1 / (round trip + ping's own overhead).
bench_ping_flood() {
    local u l
    u=$(measure "$NS_TAP" rate -f -c "$FLOOD_COUNT")
    l=$(measure "$NS_A" rate -f -c "$FLOOD_COUNT")
    row "ping -f rate, 64 B" "replies/s" "$u" "$l" higher
}

# ---- main ----

requested=("${@:-${BENCHMARKS[@]}}")
for b in "${requested[@]}"; do
    declare -F "bench_$b" >/dev/null || die "no benchmark '$b' (have: ${BENCHMARKS[*]})"
done
# Run them in the order of BENCHMARKS, whatever the order asked: http_close
# must come last (the TIME-WAIT connections it leaves in the runner).
selected=()
for b in "${BENCHMARKS[@]}"; do
    for r in "${requested[@]}"; do
        if [ "$r" = "$b" ]; then
            selected+=("$b")
            break
        fi
    done
done

KERNEL_CC=$(cat /proc/sys/net/ipv4/tcp_congestion_control 2>/dev/null || echo unknown)
say "runner $USTACK; rounds $ROUNDS (median); kernel $(uname -r), congestion control $KERNEL_CC; $(nproc) CPUs"
# Install and build what the selected benchmarks need before measuring anything.
need_pkg ethtool ethtool # the veth offloads, for every linux figure
for b in "${selected[@]}"; do
    case "$b" in
    udp_rr*) build_udp_rr ;;
    iperf3_*) need_pkg iperf3 iperf3 ;;
    ping6_*) [ -d /proc/sys/net/ipv6 ] || die "$b needs IPv6 in the kernel" ;;
    tcp_loss_*)
        need_pkg nft nftables
        build_tcp_bulk
        ;;
    tcp_* | packet_tcp_*) build_tcp_bulk ;;
    memlink_*)
        [ -x "$MEMLINK_TPUT" ] || die "no memlink_tput at $MEMLINK_TPUT: run make build (or set MEMLINK_TPUT_BIN)"
        [ "$b" != memlink_tput ] || build_tcp_bulk
        if [ "$b" = memlink_callgrind ]; then
            need_pkg valgrind valgrind
            need_pkg callgrind_annotate valgrind
        fi
        ;;
    http_*)
        need_pkg wrk wrk
        build_http_kernel
        ;;
    esac
    case "$b" in
    http_syn_flood) need_pkg python3 python3 ;;
    preload_*)
        # Not need_pkg: these packages start a service on install unless a
        # policy-rc.d forbids it, which scripts/deps.sh sees to.
        for c in nginx wrk redis-server redis-benchmark iperf3; do
            command -v "$c" >/dev/null || die "no $c: run scripts/deps.sh (make build does)"
        done
        ;;
    idle_conns_*)
        need_pkg python3 python3
        build_tcp_bulk
        ;;
    esac
done
setup_ustack
setup_linux

echo "ustack = kernel ping/udp_rr/tcp_bulk/wrk -> TAP -> ustack (user space), or tcpc on ustack -> TAP -> kernel," \
    "with the TAP's offloads negotiated (rows marked --offload off: plain frames)," \
    "or the same over a veth that ustack reads with --packet (AF_PACKET rows)," \
    "or two ustack stacks in one process over a memlink (memlink rows);" \
    "linux = the same kernel tools -> veth -> kernel (HTTP: bench/http_kernel.c, the runner's HTTP code on kernel sockets)," \
    "veth offloads off; linux offl = the same with the veth offloads on (throughput rows)"
echo "ratio = ustack / linux (offloads off); r. offl = ustack / linux offl; each figure is the median of $ROUNDS runs" \
    "(ping: $PING_COUNT requests every 2 ms; flood: $FLOOD_COUNT;" \
    "udp rr: $UDP_RR_COUNT round trips or ${UDP_RR_SECONDS}s, one outstanding;" \
    "tcp: $TCP_MB MB one way; http: wrk -t1 -c $HTTP_CONNS -d ${HTTP_SECONDS}s, a $HTTP_FILE_SIZE-byte page;" \
    "callgrind: $CALLGRIND_MB MB, one run)"
row_header
for b in "${selected[@]}"; do
    "bench_$b"
done

# The runner must still be alive and well after all that.
kill -0 "$USTACK_PID" 2>/dev/null || die "the runner died during the benchmarks"

mkdir -p "$OUT_DIR"
json=$OUT_DIR/results.json
{
    printf '{\n'
    printf '  "date": "%s",\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)"
    printf '  "commit": "%s",\n' "$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)"
    printf '  "kernel": "%s",\n' "$(uname -r)"
    printf '  "kernel_congestion_control": "%s",\n' "$KERNEL_CC"
    printf '  "cpus": %s,\n' "$(nproc)"
    printf '  "rounds": %s,\n' "$ROUNDS"
    printf '  "ping_count": %s,\n' "$PING_COUNT"
    printf '  "flood_count": %s,\n' "$FLOOD_COUNT"
    printf '  "udp_rr_count": %s,\n' "$UDP_RR_COUNT"
    printf '  "udp_rr_seconds": %s,\n' "$UDP_RR_SECONDS"
    printf '  "tcp_mb": %s,\n' "$TCP_MB"
    printf '  "http_conns": %s,\n' "$HTTP_CONNS"
    printf '  "http_seconds": %s,\n' "$HTTP_SECONDS"
    printf '  "http_file_size": %s,\n' "$HTTP_FILE_SIZE"
    printf '  "callgrind_mb": %s,\n' "$CALLGRIND_MB"
    printf '  "setup": {"ustack": "kernel ping/udp_rr/tcp_bulk/wrk -> TAP -> ustack runner (release, log warn, --http-root); tcpc -> TAP -> kernel tcp_bulk sink; memlink rows: two ustack stacks in one process over a memlink, one thread (bench/memlink_tput.c); AF_PACKET rows: the same over a veth read by the runner (tcpc) with --packet, and a TAP row measured in the same rounds",\n'
    printf '            "linux": "the same kernel tools -> veth -> kernel (two namespaces; UDP echo: udp_rr server; TCP: tcp_bulk sink; HTTP: bench/http_kernel.c, apps/http.c on kernel sockets; memlink rows: kernel -> kernel TCP over veth), veth offloads off (tx, rx, sg, tso, gso, gro)",\n'
    printf '            "linux_offloads_on": "the same as linux with those veth offloads on, for the throughput rows (null elsewhere)"},\n'
    printf '  "ratio": "ustack / linux (offloads off); ratio_offloads_on: ustack / linux_offloads_on",\n'
    printf '  "results": [\n'
    sep=,
    for ((i = 0; i < ${#ROWS[@]}; i++)); do
        [ "$i" -lt $((${#ROWS[@]} - 1)) ] || sep=
        printf '    %s%s\n' "${ROWS[$i]}" "$sep"
    done
    printf '  ]\n}\n'
} >"$json"

say "wrote $json"
