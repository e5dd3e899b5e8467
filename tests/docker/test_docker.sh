#!/usr/bin/env bash
# docker: the development container, built and used as the README says.
#  - the base image is built locally from the Debian mirror this machine's
#    apt uses (scripts/docker-base.sh: debootstrap + docker import), as where
#    no registry is in reach; kept between runs in the daemon's store;
#  - make docker-build BASE_IMAGE=that base builds the image; make
#    docker-run starts the container (with no network: nothing on the host
#    side); make docker-exec runs, inside it: make tap (tap0 has
#    192.0.2.1/24), make build, the runner answering ping on tap0, and the
#    unit tests (built as make test builds them); make docker-down removes
#    it.
# The sources are copied into a scratch directory, so that the container's
# builds never touch this checkout.
#
# The docker daemon: the one DOCKER_HOST or /var/run/docker.sock leads to,
# if one answers; otherwise this test starts dockerd itself (by PID, stopped
# at the end) with its store in $USTACK_DOCKER_DATA (default: docker-data in
# the build directory) and no bridge, iptables rules or IP forwarding
# touched on the host: builds use the host's network, the container none.
# Skipped (exit 77) only without root, without docker/dockerd, or when
# dockerd cannot run here.
set -euo pipefail

TEST_NAME=docker
HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
DATA=${USTACK_DOCKER_DATA:-${USTACK_BUILD_DIR:-$REPO/build-test}/docker-data}
BASE=ustack/debian:bookworm
IMAGE=ustack-dev-test
PROJECT=ust-docker-$$

log() { echo "[$TEST_NAME] $*"; }
skip() {
    echo "SKIP: $*"
    exit 77
}
WORK="" DOCKERD_PID="" STARTED=""
fail() {
    echo "FAIL: $*" >&2
    exit 1
}

[ "$(id -u)" -eq 0 ] || skip "needs root (to run dockerd and debootstrap)"
for c in docker dockerd debootstrap make; do
    command -v "$c" >/dev/null || skip "needs $c (scripts/deps.sh installs it)"
done
docker compose version >/dev/null 2>&1 || command -v docker-compose >/dev/null ||
    skip "needs docker compose or docker-compose (scripts/deps.sh installs docker-compose)"

cleanup() {
    local rc=$?
    set +e
    trap '' INT TERM
    if [ -n "$STARTED" ]; then
        (cd "$WORK/src" && COMPOSE_PROJECT_NAME=$PROJECT USTACK_IMAGE=$IMAGE scripts/docker.sh down >/dev/null 2>&1)
    fi
    if [ -n "$DOCKERD_PID" ]; then
        kill -TERM "$DOCKERD_PID" 2>/dev/null
        for _ in $(seq 200); do
            kill -0 "$DOCKERD_PID" 2>/dev/null || break
            sleep 0.05
        done
        kill -KILL "$DOCKERD_PID" 2>/dev/null
        wait "$DOCKERD_PID" 2>/dev/null
        # What it left mounted under its exec root (netns/default).
        findmnt -rn -o TARGET | grep "^$WORK/" | sort -r | while read -r m; do umount "$m"; done
    fi
    [ -n "$WORK" ] && rm -rf "$WORK"
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
WORK=$(mktemp -d "${TMPDIR:-/tmp}/ust-docker-$$.XXXXXX")

# ---- a daemon ----
if ! docker info >/dev/null 2>&1; then
    mkdir -p "$DATA"
    export DOCKER_HOST=unix://$WORK/docker.sock
    dockerd --data-root "$DATA" --exec-root "$WORK/exec" --pidfile "$WORK/docker.pid" \
        -H "$DOCKER_HOST" --bridge=none --iptables=false --ip-forward=false --ip-masq=false \
        >"$WORK/dockerd.log" 2>&1 </dev/null &
    DOCKERD_PID=$!
    for _ in $(seq 600); do
        docker info >/dev/null 2>&1 && break
        kill -0 "$DOCKERD_PID" 2>/dev/null || break
        sleep 0.05
    done
    if ! docker info >/dev/null 2>&1; then
        tail -n 5 "$WORK/dockerd.log"
        skip "dockerd cannot run here (its log is above)"
    fi
    log "started dockerd (pid $DOCKERD_PID), store $DATA"
else
    log "using the docker daemon that answers"
fi

# ---- the base, from the Debian mirror ----
if docker image inspect "$BASE" >/dev/null 2>&1; then
    log "base $BASE is in the store already (built by an earlier run)"
else
    t0=$SECONDS
    "$REPO/scripts/docker-base.sh" bookworm "$BASE" || fail "scripts/docker-base.sh failed"
    log "built $BASE from the Debian mirror in $((SECONDS - t0)) s"
fi
docker run --rm --network none "$BASE" cat /etc/debian_version >"$WORK/version" ||
    fail "the base image does not run"
assert_release=$(cut -d. -f1 <"$WORK/version")
[ "$assert_release" = 12 ] || fail "the base is Debian '$(cat "$WORK/version")', expected 12 (bookworm)"
log "ok: the base runs, Debian $(cat "$WORK/version")"

# ---- the sources, copied ----
mkdir -p "$WORK/src"
tar -C "$REPO" --exclude='./build*' --exclude=./.git -c . | tar -C "$WORK/src" -x
cd "$WORK/src"
export COMPOSE_PROJECT_NAME=$PROJECT USTACK_IMAGE=$IMAGE USTACK_NETWORK_MODE=none

# ---- make docker-build, docker-run, docker-exec, docker-down ----
t0=$SECONDS
make docker-build BASE_IMAGE="$BASE" >"$WORK/build.log" 2>&1 || {
    tail -n 30 "$WORK/build.log"
    fail "make docker-build failed"
}
log "ok: make docker-build BASE_IMAGE=$BASE ($((SECONDS - t0)) s)"
STARTED=1
make docker-run >"$WORK/run.log" 2>&1 || {
    cat "$WORK/run.log"
    fail "make docker-run failed"
}
log "ok: make docker-run"

# in_box CMD: make docker-exec CMD="CMD"; its output in $WORK/exec.log.
in_box() {
    make -s docker-exec CMD="$1" >"$WORK/exec.log" 2>&1 </dev/null || {
        tail -n 40 "$WORK/exec.log"
        fail "make docker-exec CMD=\"$1\" failed"
    }
}
in_box "make tap"
in_box "ip -4 -o addr show dev tap0"
grep -q "inet 192.0.2.1/24" "$WORK/exec.log" || fail "tap0 in the container: $(cat "$WORK/exec.log")"
log "ok: make tap: tap0 with 192.0.2.1/24 in the container"
t0=$SECONDS
in_box "make build"
grep -q "built build-docker/bin/ustack" "$WORK/exec.log" || fail "make build: $(tail -n 5 "$WORK/exec.log")"
log "ok: make build ($((SECONDS - t0)) s)"
# The runner on tap0 answers the container's kernel.
in_box 'build-docker/bin/ustack --log warn & p=$!; ok=1; for i in $(seq 100); do ping -n -c 1 -W 1 192.0.2.2 && { ok=0; break; }; sleep 0.1; done; kill $p; wait $p; exit $ok'
log "ok: the runner answers ping on tap0 inside the container"
t0=$SECONDS
# The unit tests as make test builds them (clang, ASan+UBSan), only those.
# (One line: make's recipe takes CMD as one.)
units='$(for f in tests/unit/test_*.c; do basename "$f" .c | sed s/^/unit_/; done)'
in_box "cmake -S . -B build-docker-test -DCMAKE_C_COMPILER=clang -DCMAKE_BUILD_TYPE=Debug -DUSTACK_SANITIZE=ON >/dev/null && cmake --build build-docker-test -j\"\$(nproc)\" --target $units >/dev/null && cd build-docker-test && ctest -L unit"
grep -q "100% tests passed" "$WORK/exec.log" || fail "unit tests: $(tail -n 20 "$WORK/exec.log")"
log "ok: the unit tests pass inside: $(grep -o '[0-9]* tests passed.*' "$WORK/exec.log") ($((SECONDS - t0)) s)"
make docker-down >"$WORK/down.log" 2>&1 || {
    cat "$WORK/down.log"
    fail "make docker-down failed"
}
STARTED=""
[ -z "$(docker ps -q --filter "label=com.docker.compose.project=$PROJECT")" ] ||
    fail "a container of $PROJECT still runs after make docker-down"
log "ok: make docker-down: no container left"
log "PASS"
