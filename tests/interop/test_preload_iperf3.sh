#!/usr/bin/env bash
# preload_iperf3: Debian's iperf3 under libustack-preload.so, the kernel's
# iperf3 as the peer, 4 streams (-P 4), both directions (-R), 3 s each:
#  - iperf3 -s under preload, the kernel's iperf3 -c;
#  - iperf3 -c under preload, the kernel's iperf3 -s;
#  - iperf3 -s under preload asked for a window, no delay and an MSS
#    (-w 1M -N -M 1000), which makes it open its listener again on the
#    same port and set TCP_MAXSEG;
# each run's JSON: no error, 4 streams, bytes both sides, the direction
# asked for (iperf3_check.py). The throughputs are printed beside the
# runner's own iperf3 service's, measured the same way in the same run.
# shellcheck source=lib.sh source-path=SCRIPTDIR disable=SC2119
source "$(dirname "$0")/lib.sh"
need_root_and_tun
need_cmd iperf3
PY=$(python3_bin)
need_ustack
ns_setup
# shellcheck source=preload_lib.sh
source "$INTEROP_DIR/preload_lib.sh"
trap 'preload_exit_trap' EXIT
CHECK=("$PY" "$INTEROP_DIR/iperf3_check.py")
SECS=${PRELOAD_IPERF3_SECONDS:-3}

# kclient NAME ARGS...: the kernel's iperf3 -c -J against 192.0.2.2.
kclient() {
    local name=$1
    shift
    in_ns timeout 60 iperf3 -c "$USTACK_ADDR" -J -t "$SECS" -P 4 "$@" >"$WORK/$name.json" 2>"$WORK/$name.err" ||
        fail "iperf3 -c $USTACK_ADDR $* exited non-zero: $(tail -n 5 "$WORK/$name.json" "$WORK/$name.err")"
}
gbit() { "$PY" -c 'import json,sys; print("%.2f" % (json.load(open(sys.argv[1]))["end"]["sum_received"]["bits_per_second"] / 1e9))' "$1"; }
listening() { port_open "$1" 5201; } # iperf3 -s shrugs off the probe

# ---- the runner's own service, for comparison ----
start_ustack
kclient runner_rx
kclient runner_tx -R
stop_ustack

# ---- iperf3 -s under preload ----
start_preloaded s1 iperf3 -s -B "$USTACK_ADDR"
srv=$PRELOADED_PID
wait_until 20 listening "$USTACK_ADDR" || fail "iperf3 -s under preload: $(cat "$WORK/s1.out" "$WORK/s1.err")"
kclient pre_rx
assert "iperf3 -s under preload, -P 4: results right" "${CHECK[@]}" result "$WORK/pre_rx.json" \
    "kernel -> preload" --streams 4 --reverse 0
kclient pre_tx -R
assert "iperf3 -s under preload, -P 4 -R: results right" "${CHECK[@]}" result "$WORK/pre_tx.json" \
    "preload -> kernel" --streams 4 --reverse 1
stop_preloaded "$srv"

# A window (-w), no-delay (-N) or MSS (-M) asked for by the client makes
# iperf3 -s close its listener and bind the port again with SO_REUSEADDR,
# beside the control connection it accepted: that must not be EADDRINUSE;
# and it sets TCP_MAXSEG on the new listener.
start_preloaded s2 iperf3 -s -B "$USTACK_ADDR"
srv=$PRELOADED_PID
wait_until 20 listening "$USTACK_ADDR" || fail "iperf3 -s under preload: $(cat "$WORK/s2.out" "$WORK/s2.err")"
SECS=1 kclient pre_w -w 1M -N -M 1000
assert "iperf3 -s under preload, -P 4 -w 1M -N -M 1000 (a new listener): results right" "${CHECK[@]}" \
    result "$WORK/pre_w.json" "kernel -> preload, -w" --streams 4 --reverse 0
stop_preloaded "$srv"

# ---- iperf3 -c under preload ----
ip netns exec "$NS" iperf3 -s -B "$HOST_ADDR" >"$WORK/ks.out" 2>&1 </dev/null &
ksrv=$!
PRELOADED_PIDS+=("$ksrv")
wait_until 20 listening "$HOST_ADDR" || fail "the kernel's iperf3 -s did not start"
for dir in tx rx; do
    args=()
    [ "$dir" = rx ] && args=(-R)
    in_ns_preload timeout 60 iperf3 -c "$HOST_ADDR" -J -t "$SECS" -P 4 "${args[@]}" \
        >"$WORK/cpre_$dir.json" 2>"$WORK/cpre_$dir.err" ||
        fail "iperf3 -c under preload ${args[*]}: $(tail -n 5 "$WORK/cpre_$dir.json" "$WORK/cpre_$dir.err")"
    assert "iperf3 -c under preload, -P 4 ${args[*]}: results right" "${CHECK[@]}" result \
        "$WORK/cpre_$dir.json" "preload client" --streams 4 --reverse $([ "$dir" = rx ] && echo 1 || echo 0)
done
stop_preloaded "$ksrv"

log "Gbit/s, 4 streams, $SECS s: into ustack: runner $(gbit "$WORK/runner_rx.json"), iperf3 -s under preload $(gbit "$WORK/pre_rx.json"), iperf3 -c -R under preload $(gbit "$WORK/cpre_rx.json")"
log "Gbit/s, 4 streams, $SECS s: out of ustack: runner $(gbit "$WORK/runner_tx.json"), iperf3 -s under preload $(gbit "$WORK/pre_tx.json"), iperf3 -c under preload $(gbit "$WORK/cpre_tx.json")"
pass
