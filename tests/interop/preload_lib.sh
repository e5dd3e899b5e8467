# Shared by the test_preload_*.sh tests (source after lib.sh): run a stock
# program under libustack-preload.so inside the test's namespace, where
# ustack is 192.0.2.2 on tap0 and the kernel is 192.0.2.1 (PRELOAD_ADDR, if
# set, is USTACK_ADDR instead of 192.0.2.2/24, e.g. a comma list with IPv6).
#   in_ns_preload CMD...    CMD under LD_PRELOAD, stdout/stderr as given
#   start_preloaded NAME CMD...   the same in the background: its pid in
#                                 PRELOADED_PID, stdout and stderr in
#                                 $WORK/NAME.out and .err, stdin from
#                                 $PRELOAD_STDIN (default /dev/null)
# shellcheck shell=bash
PRELOAD=${PRELOAD_LIB:-$REPO_DIR/build/lib/libustack-preload.so}
[ -f "$PRELOAD" ] || fail "no preload library at $PRELOAD (set PRELOAD_LIB, or make build)"

in_ns_preload() {
    ip netns exec "$NS" env LD_PRELOAD="$PRELOAD" USTACK_TAP="$TAP" USTACK_ADDR="${PRELOAD_ADDR:-$USTACK_ADDR/24}" \
        USTACK_GATEWAY=none "$@"
}

PRELOADED_PIDS=()
start_preloaded() {
    local name=$1
    shift
    # A simple command, not a function, so that $! is the program itself
    # (ip netns exec and env exec it).
    ip netns exec "$NS" env LD_PRELOAD="$PRELOAD" USTACK_TAP="$TAP" USTACK_ADDR="${PRELOAD_ADDR:-$USTACK_ADDR/24}" \
        USTACK_GATEWAY=none "$@" >"$WORK/$name.out" 2>"$WORK/$name.err" <"${PRELOAD_STDIN:-/dev/null}" &
    PRELOADED_PID=$!
    PRELOADED_PIDS+=("$PRELOADED_PID")
}

# stop_preloaded PID: SIGTERM, then SIGKILL after 5 s; waits for it.
stop_preloaded() {
    kill -TERM "$1" 2>/dev/null || true
    local i
    for i in $(seq 100); do
        kill -0 "$1" 2>/dev/null || break
        sleep 0.05
    done
    kill -KILL "$1" 2>/dev/null || true
    wait "$1" 2>/dev/null || true
}

_preload_cleanup() {
    local p
    for p in "${PRELOADED_PIDS[@]}"; do
        kill -KILL "$p" 2>/dev/null || true
    done
}

# The EXIT trap for preload tests: kill what is left, then lib.sh's cleanup
# with the test's exit status.
preload_exit_trap() {
    local rc=$?
    set +e # (exit "$rc") must not end the trap under set -e
    _preload_cleanup
    (exit "$rc")
    _cleanup
}

# port_open HOST PORT: a kernel TCP connect from the namespace succeeds.
port_open() {
    in_ns timeout 2 bash -c "exec 3<>/dev/tcp/$1/$2" 2>/dev/null
}
