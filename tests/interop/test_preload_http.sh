#!/usr/bin/env bash
# preload_http: stock programs' HTTP over libustack-preload.so, the kernel
# as the peer.
#  - python3 -m http.server (threads, selectors) under preload serves a
#    50 MB file to the kernel's curl byte-exact, and 20 clients at once
#    1 MB each byte-exact;
#  - curl under preload fetches 50 MB from the kernel's http.server
#    byte-exact, and three URLs over one keep-alive connection.
# shellcheck source=lib.sh source-path=SCRIPTDIR disable=SC2119
source "$(dirname "$0")/lib.sh"
need_root_and_tun
need_cmd curl sha256sum
PY=$(python3_bin)
ns_setup
# shellcheck source=preload_lib.sh
source "$INTEROP_DIR/preload_lib.sh"
trap 'preload_exit_trap' EXIT

www=$WORK/www
mkdir -p "$www"
head -c $((50 * 1024 * 1024)) /dev/urandom >"$www/big.bin"
for i in $(seq 20); do head -c $((1024 * 1024)) /dev/urandom >"$www/f$i.bin"; done
sum() { sha256sum "$1" | cut -c1-64; }

# ---- the server under preload ----
cd "$www"
start_preloaded server "$PY" -m http.server --bind "$USTACK_ADDR" 8080
server=$PRELOADED_PID
cd - >/dev/null
wait_until 20 port_open "$USTACK_ADDR" 8080 || fail "http.server under preload did not listen: $(cat "$WORK/server.err")"
assert "the kernel's curl: 50 MB from http.server under preload" \
    in_ns timeout 120 curl -sf -o "$WORK/big.got" "http://$USTACK_ADDR:8080/big.bin"
assert_eq "...byte-exact (sha256)" "$(sum "$WORK/big.got")" "$(sum "$www/big.bin")"
pids=()
for i in $(seq 20); do
    in_ns timeout 120 curl -sf -o "$WORK/f$i.got" "http://$USTACK_ADDR:8080/f$i.bin" &
    pids+=($!)
done
bad=0
for p in "${pids[@]}"; do wait "$p" || bad=$((bad + 1)); done
assert_eq "20 clients at once: curl failures" "$bad" 0
same=0
for i in $(seq 20); do [ "$(sum "$WORK/f$i.got")" = "$(sum "$www/f$i.bin")" ] && same=$((same + 1)); done
assert_eq "20 clients at once: files byte-exact" "$same" 20
stop_preloaded "$server"
assert "http.server wrote nothing on stderr but its request lines" \
    bash -c "! grep -v '\"GET ' '$WORK/server.err' | grep -q ."

# ---- the client under preload ----
cd "$www"
ip netns exec "$NS" "$PY" -m http.server --bind "$HOST_ADDR" --protocol HTTP/1.1 8081 >"$WORK/kserver.out" 2>&1 &
kserver=$!
PRELOADED_PIDS+=("$kserver")
cd - >/dev/null
wait_until 20 port_open "$HOST_ADDR" 8081 || fail "the kernel's http.server did not listen"
assert "curl under preload: 50 MB from the kernel's http.server" \
    in_ns_preload timeout 120 curl -sSf -o "$WORK/big2.got" "http://$HOST_ADDR:8081/big.bin"
assert_eq "...byte-exact (sha256)" "$(sum "$WORK/big2.got")" "$(sum "$www/big.bin")"
connects=$(in_ns_preload timeout 60 curl -sf -w '%{num_connects}\n' \
    -o "$WORK/k1" "http://$HOST_ADDR:8081/f1.bin" -o "$WORK/k2" "http://$HOST_ADDR:8081/f2.bin" \
    -o "$WORK/k3" "http://$HOST_ADDR:8081/f3.bin" | awk '{s += $1} END {print s}')
assert_eq "curl under preload: three URLs, one connection (keep-alive)" "$connects" 1
for i in 1 2 3; do
    assert_eq "...file $i byte-exact" "$(sum "$WORK/k$i")" "$(sum "$www/f$i.bin")"
done
stop_preloaded "$kserver"
pass
