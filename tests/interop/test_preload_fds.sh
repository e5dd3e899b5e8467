#!/usr/bin/env bash
# preload_fds: libustack-preload.so's descriptors and waits, from inside a
# plain program (preload_check.c) whose AF_INET sockets are ustack's (on
# its loopback, 127.0.0.1) beside a kernel pipe: poll, ppoll, select and
# epoll over the mixed set (each side's readiness, blocking then woken from
# another thread, timeouts, EINTR, edge- and level-triggered, one-shot),
# real kernel descriptor numbers (dup, dup2 onto a socket, close-on-exec),
# O_NONBLOCK, SO_RCVTIMEO, FIONREAD, ENOPROTOOPT, AF_INET6 on ustack too,
# close_range and closefrom closing ustack sockets, a forked child's clean
# failures, and exec: the socket does not survive; then USTACK_FORK=child:
# the first fork hands the stack to the child.
# Then: without a TAP device, socket() fails with ENETDOWN after one line
# on stderr, and USTACK_FALLBACK=kernel hands AF_INET to the kernel.
# shellcheck source=lib.sh source-path=SCRIPTDIR disable=SC2119
source "$(dirname "$0")/lib.sh"
need_root_and_tun
PRELOAD=${PRELOAD_LIB:-$REPO_DIR/build/lib/libustack-preload.so}
CHECK=${PRELOAD_CHECK_BIN:-$REPO_DIR/build/bin/preload_check}
[ -f "$PRELOAD" ] || fail "no preload library at $PRELOAD (set PRELOAD_LIB, or make build)"
ns_setup

out=$WORK/check.out
rc=0
in_ns env LD_PRELOAD="$PRELOAD" USTACK_ADDR=192.0.2.2/24 timeout 120 "$CHECK" all >"$out" 2>"$WORK/check.err" || rc=$?
cat "$out"
[ -s "$WORK/check.err" ] && { echo "---- stderr ----"; cat "$WORK/check.err"; }
assert_eq "preload_check exit status" "$rc" 0
assert_eq "checks failed" "$(grep -c '^FAIL' "$out" || true)" 0
assert_ge "checks passed" "$(grep -c '^ok:' "$out")" 60
assert "the exec check ran in the new program" grep -q "^ok: exec: the ustack socket's descriptor is closed" "$out"

# USTACK_FORK=child: the first fork hands the stack to the child.
rc=0
in_ns env LD_PRELOAD="$PRELOAD" USTACK_ADDR=192.0.2.2/24 USTACK_FORK=child timeout 60 "$CHECK" fork-child \
    >"$WORK/fork.out" 2>"$WORK/fork.err" || rc=$?
cat "$WORK/fork.out"
[ -s "$WORK/fork.err" ] && { echo "---- stderr ----"; cat "$WORK/fork.err"; }
assert_eq "preload_check fork-child exit status" "$rc" 0
assert_eq "fork-child checks failed" "$(grep -c '^FAIL' "$WORK/fork.out" || true)" 0
assert_eq "fork-child checks passed (4 in the child, 5 in the parent)" "$(grep -c '^ok:' "$WORK/fork.out")" 9

# No TAP device to attach to (and no permission to make one: a name that
# is not a TAP in the namespace, lo).
PY=$(python3_bin)
# It binds to the kernel's own address in the namespace, 192.0.2.1, which
# only a kernel socket can do.
probe='import socket,sys
try:
    s = socket.socket(); s.bind(("192.0.2.1", 0)); print("bound")
except OSError as e:
    print("errno", e.errno)'
got=$(in_ns env LD_PRELOAD="$PRELOAD" USTACK_TAP=lo USTACK_ADDR=192.0.2.2/24 timeout 20 "$PY" -c "$probe" 2>"$WORK/down.err")
log "without a TAP: $got; stderr: $(tr '\n' ' ' <"$WORK/down.err")"
assert_eq "socket() without a TAP fails with ENETDOWN" "$got" "errno 100"
assert "...after saying so on stderr" grep -q "no ustack on lo" "$WORK/down.err"
got=$(in_ns env LD_PRELOAD="$PRELOAD" USTACK_TAP=lo USTACK_FALLBACK=kernel timeout 20 "$PY" -c "$probe" 2>/dev/null)
assert_eq "USTACK_FALLBACK=kernel: the kernel's socket (bound to 192.0.2.1)" "$got" "bound"
pass
