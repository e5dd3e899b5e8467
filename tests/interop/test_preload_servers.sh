#!/usr/bin/env bash
# preload_servers: Debian's nginx and redis-server under
# libustack-preload.so, the kernel's wrk and redis-benchmark as clients, in
# the test's namespace. The slow label: `ctest -L slow` (make test runs it).
#  - nginx (daemon off; master_process off; sendfile on): a 1 MB file
#    byte-exact through sendfile, then wrk -t2 -c20 for 10 s: no socket
#    errors, no non-2xx answers, requests served;
#  - nginx with its master process (master_process on; worker_processes 1)
#    under USTACK_FORK=child, which hands the stack to the worker: a 1 MB
#    file byte-exact, the worker serves it, wrk 10 s with no errors;
#  - redis-server (epoll): redis-benchmark -q -n 100000, every test of its
#    default suite, answers for each and nothing on stderr.
# The same nginx and redis on the kernel (192.0.2.1, the client beside them
# in the namespace) run the same loads (redis: SET and GET only), and both
# figures are printed.
# Both programs are started and stopped here by PID; no service is used
# (scripts/deps.sh installs them under a policy-rc.d that starts none).
# shellcheck source=lib.sh source-path=SCRIPTDIR disable=SC2119
source "$(dirname "$0")/lib.sh"
need_root_and_tun
need_cmd nginx redis-server redis-benchmark wrk curl sha256sum
ns_setup
# shellcheck source=preload_lib.sh
source "$INTEROP_DIR/preload_lib.sh"
trap 'preload_exit_trap' EXIT
WRK_SECONDS=${PRELOAD_WRK_SECONDS:-10}

www=$WORK/www
mkdir -p "$www" "$WORK/nginx"
head -c $((1024 * 1024)) /dev/urandom >"$www/f.bin"
echo "hello from nginx" >"$www/index.html"
sum() { sha256sum "$1" | cut -c1-64; }

# nginx_conf ADDR [master]: a configuration for one process on ADDR:8080,
# or (master) a master process and one worker, the worker as root (it
# reads $WORK, which is root's alone).
nginx_conf() {
    local name=$1${2:+-$2} master=off user=""
    [ -n "${2:-}" ] && master=on user="user root;"
    cat >"$WORK/nginx/$name.conf" <<CONF
daemon off;
master_process $master;
$user
worker_processes 1;
error_log stderr warn;
pid $WORK/nginx/$name.pid;
events { worker_connections 1024; }
http {
    access_log off;
    sendfile on;
    client_body_temp_path $WORK/nginx/body;
    proxy_temp_path $WORK/nginx/proxy;
    fastcgi_temp_path $WORK/nginx/fastcgi;
    uwsgi_temp_path $WORK/nginx/uwsgi;
    scgi_temp_path $WORK/nginx/scgi;
    server {
        listen $1:8080;
        root $www;
    }
}
CONF
    echo "$WORK/nginx/$name.conf"
}

# wrk_run NAME ADDR: wrk against ADDR:8080 for WRK_SECONDS; fails on any
# error; prints requests/s.
wrk_run() {
    in_ns timeout $((WRK_SECONDS + 30)) wrk -t2 -c20 -d"${WRK_SECONDS}s" "http://$2:8080/index.html" \
        >"$WORK/$1.wrk" 2>&1 || fail "wrk against $1 failed: $(cat "$WORK/$1.wrk")"
    ! grep -qE "Socket errors|Non-2xx" "$WORK/$1.wrk" || fail "wrk against $1: $(cat "$WORK/$1.wrk")"
    local n
    n=$(awk '/requests in/ {print $1}' "$WORK/$1.wrk")
    [ "${n:-0}" -gt 0 ] || fail "wrk against $1 served nothing: $(cat "$WORK/$1.wrk")"
    awk '/Requests\/sec/ {printf "%d", $2}' "$WORK/$1.wrk"
}

# ---- nginx under preload ----
conf=$(nginx_conf "$USTACK_ADDR")
start_preloaded nginx nginx -c "$conf" -e stderr
ngx=$PRELOADED_PID
wait_until 20 port_open "$USTACK_ADDR" 8080 || fail "nginx under preload did not listen: $(cat "$WORK/nginx.err")"
assert "nginx under preload: 1 MB through sendfile" \
    in_ns timeout 60 curl -sf -o "$WORK/f.got" "http://$USTACK_ADDR:8080/f.bin"
assert_eq "...byte-exact" "$(sum "$WORK/f.got")" "$(sum "$www/f.bin")"
pre_rps=$(wrk_run nginx_preload "$USTACK_ADDR")
log "ok: wrk $WRK_SECONDS s against nginx under preload: no errors, $pre_rps requests/s"
stop_preloaded "$ngx"
assert "nginx under preload logged no error" bash -c "! grep -q . '$WORK/nginx.err'"

# ---- nginx with a master process: USTACK_FORK=child ----
conf=$(nginx_conf "$USTACK_ADDR" master)
start_preloaded nginxm env USTACK_FORK=child nginx -c "$conf" -e stderr
ngx=$PRELOADED_PID
wait_until 20 port_open "$USTACK_ADDR" 8080 || fail "nginx (master) under preload did not listen: $(cat "$WORK/nginxm.err")"
worker=$(pgrep -P "$ngx" -f "nginx: worker" || true)
assert "nginx (master) under preload: the master forked a worker" test -n "$worker"
assert "nginx (master) under preload: 1 MB through sendfile" \
    in_ns timeout 60 curl -sf -o "$WORK/fm.got" "http://$USTACK_ADDR:8080/f.bin"
assert_eq "...byte-exact" "$(sum "$WORK/fm.got")" "$(sum "$www/f.bin")"
m_rps=$(wrk_run nginx_master "$USTACK_ADDR")
log "ok: wrk $WRK_SECONDS s against nginx (master + 1 worker) under preload: no errors, $m_rps requests/s"
ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
log "CPU ticks: worker $(ticks "$worker"), master $(ticks "$ngx")"
assert "...the worker served them, not the master (0.5 s more CPU time)" \
    test "$(ticks "$worker")" -gt $(($(ticks "$ngx") + 50))
stop_preloaded "$ngx"
assert "nginx (master) under preload logged no error" bash -c "! grep -q . '$WORK/nginxm.err'"

# ---- the same nginx on the kernel ----
conf=$(nginx_conf "$HOST_ADDR")
ip netns exec "$NS" nginx -c "$conf" -e stderr >"$WORK/knginx.out" 2>&1 </dev/null &
kngx=$!
PRELOADED_PIDS+=("$kngx")
wait_until 20 port_open "$HOST_ADDR" 8080 || fail "nginx on the kernel did not listen"
k_rps=$(wrk_run nginx_kernel "$HOST_ADDR")
stop_preloaded "$kngx"
log "nginx, wrk -t2 -c20 ${WRK_SECONDS} s keep-alive: under preload $pre_rps req/s (with a master process: $m_rps); on the kernel (loopback in the namespace) $k_rps req/s"

# ---- redis under preload ----
redis_args=(--port 6379 --save "" --appendonly no --protected-mode no --daemonize no --dir "$WORK")
start_preloaded redis redis-server --bind "$USTACK_ADDR" "${redis_args[@]}"
red=$PRELOADED_PID
wait_until 20 port_open "$USTACK_ADDR" 6379 || fail "redis under preload did not listen: $(cat "$WORK/redis.out")"
# bench NAME ADDR MIN [ARGS...]: redis-benchmark -n 100000 as CSV (the
# default suite unless ARGS say -t); fails on errors or fewer than MIN
# results. Prints SET's and GET's requests/s.
bench() {
    local name=$1 addr=$2 min=$3
    shift 3
    set -- "$name" "$addr" "$@"
    in_ns timeout 600 redis-benchmark -h "$2" -q -n 100000 --csv "${@:3}" >"$WORK/$1.csv" 2>"$WORK/$1.err" ||
        fail "redis-benchmark against $1 failed: $(tail -n 5 "$WORK/$1.err")"
    [ ! -s "$WORK/$1.err" ] || fail "redis-benchmark against $1: $(head -n 5 "$WORK/$1.err")"
    local tests
    tests=$(grep -c '^"[A-Z]' "$WORK/$1.csv" || true)
    [ "$tests" -ge "$min" ] || fail "redis-benchmark against $1: only $tests results: $(cat "$WORK/$1.csv")"
    awk -F'","' '/^"(SET|GET)"/ {gsub(/"/, "", $2); printf "%s %d  ", $1, $2}' "$WORK/$1.csv" | tr -d '"'
}
pre_redis=$(bench redis_preload "$USTACK_ADDR" 15)
log "ok: redis-benchmark -q -n 100000 against redis under preload: every test answered, no errors"
stop_preloaded "$red"

ip netns exec "$NS" redis-server --bind "$HOST_ADDR" "${redis_args[@]}" >"$WORK/kredis.out" 2>&1 </dev/null &
kred=$!
PRELOADED_PIDS+=("$kred")
wait_until 20 port_open "$HOST_ADDR" 6379 || fail "redis on the kernel did not listen"
k_redis=$(bench redis_kernel "$HOST_ADDR" 2 -t set,get)
stop_preloaded "$kred"
log "redis-benchmark -n 100000 requests/s: under preload: $pre_redis; on the kernel: $k_redis"
pass
