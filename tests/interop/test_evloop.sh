#!/usr/bin/env bash
# evloop: the event-loop example serves ustack and kernel sockets from one
# epoll loop (ust_event_fd + ust_ready beside kernel fds, edge-triggered).
#  - 8 MB echoed byte-exact over ustack (192.0.2.2:7) while 8 MB are echoed
#    over the kernel (127.0.0.1:7007 in the namespace), at the same time;
#  - 20 ustack connections open at once, each echoing its own data, while
#    a kernel one runs: one thread serves them all;
#  - on SIGTERM it reports how many connections each side served.
# shellcheck source=lib.sh source-path=SCRIPTDIR disable=SC2119
source "$(dirname "$0")/lib.sh"
need_root_and_tun
PY=$(python3_bin)
USTACK=${EVLOOP_BIN:-$REPO_DIR/build/bin/evloop}
UP_LINE="evloop up:"
ns_setup
start_ustack --port 7 --kernel 127.0.0.1:7007

data=$WORK/data.bin
head -c $((8 * 1024 * 1024)) /dev/urandom >"$data"
in_ns timeout 60 "$PY" "$INTEROP_DIR/tcp_peer.py" echo "$USTACK_ADDR" 7 "$data" >"$WORK/u.out" 2>&1 &
upid=$!
in_ns timeout 60 "$PY" "$INTEROP_DIR/tcp_peer.py" echo 127.0.0.1 7007 "$data" >"$WORK/k.out" 2>&1 &
kpid=$!
assert "ustack side: 8 MB echoed byte-exact, beside the kernel side" wait "$upid"
assert "kernel side: 8 MB echoed byte-exact, beside the ustack side" wait "$kpid"

in_ns timeout 60 "$PY" "$INTEROP_DIR/tcp_peer.py" many "$USTACK_ADDR" 7 20 200000 >"$WORK/m.out" 2>&1 &
mpid=$!
assert "kernel side answers while 20 ustack connections are open" \
    in_ns timeout 60 "$PY" "$INTEROP_DIR/tcp_peer.py" echo 127.0.0.1 7007 "$data"
assert "ustack side: 20 connections at once, each echoed byte-exact" wait "$mpid"

stop_ustack
line=$(grep "evloop: served" "$USTACK_LOGFILE" || true)
log "$line"
[[ $line =~ served\ ([0-9]+)\ ustack\ and\ ([0-9]+)\ kernel ]] || fail "no 'served' line in the log"
assert_eq "ustack connections served" "${BASH_REMATCH[1]}" 21
assert_eq "kernel connections served" "${BASH_REMATCH[2]}" 2
pass
