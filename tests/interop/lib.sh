# Shared helpers for the interop tests: the real Linux kernel as the peer.
#
# Each test sources this file, then typically:
#   need_root_and_tun            # exit 77 (skip) without root or /dev/net/tun
#   ns_setup                     # private namespace $NS with tap0 = 192.0.2.1/24
#   start_ustack [runner args]   # ustack on tap0 as 192.0.2.2, waits for "ustack up:"
#   in_ns ping -c 3 192.0.2.2    # run a tool inside the namespace
#   stop_ustack                  # SIGTERM, expect exit 0; counters in $USTACK_LOGFILE
#   assert_ge "replies" "$(counter icmp.tx_echo_reply)" 3
#   pass
#
# Safety: traffic stays inside the namespace this test creates; the only
# addresses used are 192.0.2.0/24 on its TAP device. The EXIT trap stops the
# runner (by PID) and deletes the namespace and the work directory.
#
# The runner comes from $USTACK_BIN (set by CMake); by hand it defaults to the
# release build: bash tests/interop/test_ping.sh

set -euo pipefail

TEST_NAME=${TEST_NAME:-$(basename "$0" .sh)}
TEST_NAME=${TEST_NAME#test_}
INTEROP_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_DIR=$(cd "$INTEROP_DIR/../.." && pwd)
USTACK=${USTACK_BIN:-$REPO_DIR/build/bin/ustack}

# Addresses and device name the tests use.
HOST_ADDR=192.0.2.1
# shellcheck disable=SC2034 # used by the tests
USTACK_ADDR=192.0.2.2
HOST_ADDR6=2001:db8::1
# shellcheck disable=SC2034 # used by the tests
USTACK_ADDR6=2001:db8::2
TAP=tap0

NS=""           # the namespace, once created
NS_PEER=""      # the kernel's namespace across a veth pair (ns_setup_veth)
WORK=""         # scratch directory for logs and captures
USTACK_PID=""   # the runner, while it runs
USTACK_LOGFILE=""   # its stderr
USTACK_RC=""    # its exit code, after stop_ustack
START_TIMEOUT=${START_TIMEOUT:-15}  # seconds; generous for sanitizer builds
STOP_TIMEOUT=${STOP_TIMEOUT:-10}

log() { echo "[$TEST_NAME] $*"; }

skip() {
    echo "SKIP: $*"
    exit 77
}

# Print the runner's log (if any) and fail the test.
fail() {
    echo "FAIL: $*" >&2
    if [ -n "$USTACK_LOGFILE" ] && [ -s "$USTACK_LOGFILE" ]; then
        echo "---- ustack log ($USTACK_LOGFILE) ----" >&2
        tail -n 60 "$USTACK_LOGFILE" >&2
        echo "---- end of ustack log ----" >&2
    fi
    exit 1
}

pass() {
    log "PASS"
    exit 0
}

# assert DESCRIPTION COMMAND [ARGS...]: run the command; fail unless it succeeds.
assert() {
    local what=$1
    shift
    if "$@"; then
        log "ok: $what"
    else
        fail "$what (command: $*)"
    fi
}

# assert_ge DESCRIPTION ACTUAL MINIMUM (integers)
assert_ge() {
    [[ $2 =~ ^[0-9]+$ ]] || fail "$1: '$2' is not a number"
    if [ "$2" -ge "$3" ]; then
        log "ok: $1 ($2 >= $3)"
    else
        fail "$1: got $2, expected at least $3"
    fi
}

# assert_le DESCRIPTION ACTUAL MAXIMUM (integers)
assert_le() {
    [[ $2 =~ ^[0-9]+$ ]] || fail "$1: '$2' is not a number"
    if [ "$2" -le "$3" ]; then
        log "ok: $1 ($2 <= $3)"
    else
        fail "$1: got $2, expected at most $3"
    fi
}

# assert_eq DESCRIPTION ACTUAL EXPECTED
assert_eq() {
    if [ "$2" = "$3" ]; then
        log "ok: $1 ($2)"
    else
        fail "$1: got '$2', expected '$3'"
    fi
}

# Skip unless this test can make namespaces and TAP devices.
need_root_and_tun() {
    if [ "$(id -u)" -ne 0 ]; then
        skip "needs root and /dev/net/tun (running as uid $(id -u); run the interop tests as root)"
    fi
    if [ ! -c /dev/net/tun ]; then
        skip "needs root and /dev/net/tun (/dev/net/tun is missing: modprobe tun)"
    fi
    command -v ip >/dev/null || skip "needs the ip command (iproute2)"
}

# need_cmd CMD...: skip unless every command exists.
need_cmd() {
    local c
    for c in "$@"; do
        command -v "$c" >/dev/null || skip "needs $c (scripts/deps.sh installs it)"
    done
}

need_ustack() {
    [ -x "$USTACK" ] || fail "runner not found at $USTACK (set USTACK_BIN, or run make build)"
}

# A Python 3 with only the standard library: the system one if present
# (python3 on PATH may be a pyenv shim).
python3_bin() {
    if [ -x /usr/bin/python3 ]; then
        echo /usr/bin/python3
    elif command -v python3 >/dev/null; then
        command -v python3
    else
        skip "needs python3"
    fi
}

# quietly CMD...: run a command with its output discarded (for assert).
quietly() {
    "$@" >/dev/null 2>&1
}

# in_ns CMD...: run a command inside the test's namespace.
in_ns() {
    ip netns exec "$NS" "$@"
}

# wait_until TIMEOUT_SECONDS CMD...: poll (every 50 ms) until CMD succeeds.
# Returns 1 on timeout.
wait_until() {
    local timeout=$1
    shift
    local deadline=$((SECONDS + timeout))
    while ! "$@"; do
        [ "$SECONDS" -lt "$deadline" ] || return 1
        sleep 0.05
    done
}

# fetch_during_flood FETCH FLOOD-ARGS...: runs tests/interop/flood.py
# FLOOD-ARGS in the namespace and, once it sends, the command FETCH again
# and again until it ends. FLOOD_TRIED and FLOOD_SERVED say how many
# fetches ran and how many succeeded; the flood's last line is printed.
# The test fails if the flood does not start or fails.
fetch_during_flood() {
    local fetch=$1 flood_pid
    shift
    : >"$WORK/flood.out"
    in_ns "$(python3_bin)" "$INTEROP_DIR/flood.py" "$@" >"$WORK/flood.out" 2>&1 &
    flood_pid=$!
    wait_until 60 grep -q "^sending" "$WORK/flood.out" ||
        fail "the flood did not start: $(cat "$WORK/flood.out")"
    FLOOD_SERVED=0 FLOOD_TRIED=0
    while kill -0 "$flood_pid" 2>/dev/null; do
        FLOOD_TRIED=$((FLOOD_TRIED + 1))
        if $fetch; then
            FLOOD_SERVED=$((FLOOD_SERVED + 1))
        fi
    done
    wait "$flood_pid" || fail "flood.py failed: $(cat "$WORK/flood.out")"
    tail -n 1 "$WORK/flood.out"
}

_cleanup() {
    local rc=$?
    set +e
    trap '' INT TERM # finish cleaning up even if interrupted again
    if [ -n "$USTACK_PID" ] && kill -0 "$USTACK_PID" 2>/dev/null; then
        kill -TERM "$USTACK_PID" 2>/dev/null
        wait_until 5 _ustack_gone || kill -KILL "$USTACK_PID" 2>/dev/null
        wait "$USTACK_PID" 2>/dev/null
    fi
    USTACK_PID=""
    if [ -n "$NS" ]; then
        ip netns del "$NS" 2>/dev/null
    fi
    if [ -n "$NS_PEER" ]; then
        ip netns del "$NS_PEER" 2>/dev/null
    fi
    if [ -n "$WORK" ] && [ -d "$WORK" ]; then
        if [ "$rc" -ne 0 ] && [ "$rc" -ne 77 ] && [ -n "${KEEP_LOGS:-}" ]; then
            echo "logs kept in $WORK" >&2
        else
            rm -rf "$WORK"
        fi
    fi
    exit "$rc"
}

_ustack_gone() {
    ! kill -0 "$USTACK_PID" 2>/dev/null
}

# Delete what earlier runs of this same test left behind when they were
# killed outright (for example by a CTest timeout): namespaces named
# ust-<test>-<pid> and work directories ust-<test>-<pid>.XXXXXX whose pid no
# longer runs. Only our own naming scheme is touched.
_reap_stale() {
    local n pid d
    for n in $(ip netns list 2>/dev/null | awk '{print $1}'); do
        case "$n" in
        "ust-$TEST_NAME-"*)
            pid=${n##*-}
            if [[ $pid =~ ^[0-9]+$ ]] && ! kill -0 "$pid" 2>/dev/null; then
                ip netns del "$n" 2>/dev/null && log "removed stale namespace $n"
            fi
            ;;
        esac
    done
    for d in "${TMPDIR:-/tmp}/ust-$TEST_NAME-"*.??????; do
        [ -d "$d" ] || continue
        pid=${d##*-}
        pid=${pid%.*}
        if [[ $pid =~ ^[0-9]+$ ]] && ! kill -0 "$pid" 2>/dev/null; then
            rm -rf "$d" && log "removed stale directory $d"
        fi
    done
}

# ns_setup [--no-tap] [--ipv6]: create the namespace ust-<test>-<pid> with lo
# up and (unless --no-tap) tap0 with 192.0.2.1/24, up. IPv6 is off in the
# namespace unless --ipv6: then tap0 also has $HOST_ADDR6/64 (nodad, usable
# at once) and its link-local address (awaited: see wait_ll6).
# Installs the cleanup trap.
ns_setup() {
    local with_tap=1 with_v6=0 a
    for a in "$@"; do
        case "$a" in
        --no-tap) with_tap=0 ;;
        --ipv6) with_v6=1 ;;
        *) fail "ns_setup: unknown option $a" ;;
        esac
    done
    trap _cleanup EXIT
    trap 'exit 130' INT
    trap 'exit 143' TERM
    _reap_stale
    WORK=$(mktemp -d "${TMPDIR:-/tmp}/ust-$TEST_NAME-$$.XXXXXX")
    NS="ust-$TEST_NAME-$$"
    if ! ip netns add "$NS" 2>"$WORK/netns.err"; then
        NS=""
        skip "cannot create a network namespace: $(cat "$WORK/netns.err")"
    fi
    in_ns ip link set lo up
    if [ "$with_v6" -eq 0 ]; then
        # IPv6 would only add router solicitations and MLD reports to the link.
        in_ns sysctl -qw net.ipv6.conf.all.disable_ipv6=1 2>/dev/null || true
        in_ns sysctl -qw net.ipv6.conf.default.disable_ipv6=1 2>/dev/null || true
    elif [ ! -d /proc/sys/net/ipv6 ]; then
        skip "needs IPv6 in the kernel (/proc/sys/net/ipv6 is missing)"
    else
        in_ns sysctl -qw net.ipv6.conf.all.disable_ipv6=0
        in_ns sysctl -qw net.ipv6.conf.default.disable_ipv6=0
        # A host, not a router: the kernel must not answer ustack's RS
        # unless a test says so (it runs its own router).
        in_ns sysctl -qw net.ipv6.conf.all.forwarding=0
    fi
    if [ "$with_tap" -eq 1 ]; then
        in_ns ip tuntap add dev "$TAP" mode tap
        in_ns ip addr add "$HOST_ADDR/24" dev "$TAP"
        if [ "$with_v6" -eq 1 ]; then
            in_ns ip -6 addr add "$HOST_ADDR6/64" dev "$TAP" nodad
        fi
        in_ns ip link set "$TAP" up
    fi
    log "namespace $NS ready"
}

# ns_setup_veth: ns_setup --no-tap, then a veth pair: $VETH_USTACK in $NS,
# up, without an address (the runner attaches to it with --packet), and
# $VETH_KERNEL in a second namespace $NS_PEER (ust-<test>-peer-<pid>) with
# 192.0.2.1/24, up, its checksum and segmentation offloads off (ustack takes
# frames as they are on the wire: no partial checksums, no super-frames).
# in_peer runs a tool there.
VETH_USTACK=vu0
VETH_KERNEL=vk0
ns_setup_veth() {
    need_cmd ethtool
    ns_setup --no-tap
    NS_PEER="ust-$TEST_NAME-peer-$$"
    ip netns add "$NS_PEER" || fail "cannot create the namespace $NS_PEER"
    ip -n "$NS_PEER" link set lo up
    in_peer sysctl -qw net.ipv6.conf.all.disable_ipv6=1 2>/dev/null || true
    in_peer sysctl -qw net.ipv6.conf.default.disable_ipv6=1 2>/dev/null || true
    ip -n "$NS" link add "$VETH_USTACK" type veth peer name "$VETH_KERNEL" netns "$NS_PEER"
    ip -n "$NS_PEER" addr add "$HOST_ADDR/24" dev "$VETH_KERNEL"
    in_peer ethtool -K "$VETH_KERNEL" tx off sg off tso off gso off >/dev/null 2>&1 ||
        fail "ethtool -K $VETH_KERNEL tx off sg off tso off gso off failed"
    ip -n "$NS_PEER" link set "$VETH_KERNEL" up
    ip -n "$NS" link set "$VETH_USTACK" up
    log "veth pair ready: $VETH_USTACK in $NS, $VETH_KERNEL ($HOST_ADDR) in $NS_PEER"
}

# in_peer CMD...: run a command in the kernel's namespace of ns_setup_veth.
in_peer() {
    ip netns exec "$NS_PEER" "$@"
}

# The kernel's link-local address on tap0 (empty until it has one).
host_ll6() {
    in_ns ip -6 -o addr show dev "$TAP" scope link 2>/dev/null |
        awk '$0 !~ /tentative/ {sub("/.*", "", $4); print $4; exit}'
}

_has_ll6() { [ -n "$(host_ll6)" ]; }

# wait_ll6: wait until the kernel's link-local address on tap0 is usable:
# call it after start_ustack (a TAP device has no carrier, so no link-local
# address, until a program holds it), then DAD takes about a second.
wait_ll6() {
    wait_until 10 _has_ll6 || fail "the kernel has no link-local address on $TAP after 10 s"
}

# ustack_ll6: ustack's link-local address, from its "ustack up:" line.
# Empty if it names none.
ustack_ll6() {
    { grep -o 'link-local=fe80::[0-9a-f:]*' "$USTACK_LOGFILE" || true; } | head -n 1 | cut -d= -f2
}

_ustack_is_up() {
    grep -q "${UP_LINE:-ustack up:}" "$USTACK_LOGFILE"
}

# start_ustack [runner args...]: run the runner inside the namespace (on tap0
# unless the arguments say otherwise), stderr to $USTACK_LOGFILE, and wait for its
# "ustack up:" line (another program on the runner's options: set USTACK to
# it and UP_LINE to the line it logs when up). Fails, showing the log, if it exits first or times out.
start_ustack() {
    need_ustack
    [ -z "$USTACK_PID" ] || fail "start_ustack: the runner already runs (pid $USTACK_PID)"
    USTACK_LOGFILE="$WORK/ustack.$((++_USTACK_RUNS)).log"
    : >"$USTACK_LOGFILE"
    # The runner gets SIGTERM if this shell dies without cleaning up.
    local pdeath=()
    if setpriv --help 2>/dev/null | grep -q -- --pdeathsig; then
        pdeath=(setpriv --pdeathsig TERM --)
    fi
    # ip netns exec and setpriv exec the runner: $! is the runner's own pid.
    ip netns exec "$NS" "${pdeath[@]}" "$USTACK" --log info "$@" 2>"$USTACK_LOGFILE" </dev/null &
    USTACK_PID=$!
    local deadline=$((SECONDS + START_TIMEOUT))
    while ! _ustack_is_up; do
        if _ustack_gone; then
            local rc=0
            wait "$USTACK_PID" || rc=$?
            USTACK_PID=""
            fail "ustack exited (code $rc) before it was up"
        fi
        [ "$SECONDS" -lt "$deadline" ] || fail "ustack not up after ${START_TIMEOUT}s"
        sleep 0.05
    done
    log "ustack up (pid $USTACK_PID): $*"
}
_USTACK_RUNS=0

# stop_ustack: SIGTERM, wait (bounded) and require exit code 0.
stop_ustack() {
    [ -n "$USTACK_PID" ] || fail "stop_ustack: the runner is not running"
    kill -TERM "$USTACK_PID" 2>/dev/null || true
    if ! wait_until "$STOP_TIMEOUT" _ustack_gone; then
        kill -KILL "$USTACK_PID" 2>/dev/null || true
        wait "$USTACK_PID" 2>/dev/null || true
        USTACK_PID=""
        fail "ustack did not exit within ${STOP_TIMEOUT}s of SIGTERM"
    fi
    USTACK_RC=0
    wait "$USTACK_PID" || USTACK_RC=$?
    USTACK_PID=""
    assert_eq "ustack exit code after SIGTERM" "$USTACK_RC" 0
}

# counter NAME: the value of a counter the runner printed last (0 if absent:
# the runner prints only non-zero counters).
counter() {
    local v
    v=$(grep -E "^$1=[0-9]+$" "$USTACK_LOGFILE" | tail -n 1 | cut -d= -f2)
    echo "${v:-0}"
}
