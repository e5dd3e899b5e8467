#!/usr/bin/env bash
# The development container, for the Makefile's docker-* targets:
#   scripts/docker.sh build    the image $USTACK_IMAGE (ustack-dev) from
#                              $BASE_IMAGE (debian:bookworm). A base that is
#                              not here is pulled; if no registry answers, a
#                              debian:SUITE base is built from the Debian
#                              mirror instead (scripts/docker-base.sh) and
#                              used under the name ustack/debian:SUITE.
#   scripts/docker.sh run      starts the container (docker-compose.yml), in
#                              the background, building the image if needed
#   scripts/docker.sh exec [CMD...]   CMD (default: a shell) in it
#   scripts/docker.sh down     stops and removes it
# COMPOSE_PROJECT_NAME (default ustack) names the container's project, so
# that several checkouts can each have theirs.
set -euo pipefail
cd "$(dirname "$0")/.."

BASE_IMAGE=${BASE_IMAGE:-debian:bookworm}
export USTACK_IMAGE=${USTACK_IMAGE:-ustack-dev}
export COMPOSE_PROJECT_NAME=${COMPOSE_PROJECT_NAME:-ustack}

die() {
    echo "docker: $*" >&2
    exit 1
}
command -v docker >/dev/null || die "needs docker: scripts/deps.sh installs docker.io"
docker info >/dev/null 2>&1 ||
    die "no docker daemon answers (is dockerd running? systemctl start docker, or start dockerd)"
if docker compose version >/dev/null 2>&1; then
    COMPOSE=(docker compose)
elif command -v docker-compose >/dev/null; then
    COMPOSE=(docker-compose)
else
    die "needs docker compose or docker-compose: scripts/deps.sh installs docker-compose"
fi

have_image() { docker image inspect "$1" >/dev/null 2>&1; }

# The base to build on: BASE_IMAGE if here or pullable, else a local build.
pick_base() {
    have_image "$BASE_IMAGE" && return 0
    echo "docker: pulling $BASE_IMAGE"
    if timeout "${DOCKER_PULL_TIMEOUT:-60}" docker pull -q "$BASE_IMAGE" >/dev/null 2>&1; then
        return 0
    fi
    case "$BASE_IMAGE" in
    debian:*)
        local suite=${BASE_IMAGE#debian:} local_tag
        local_tag=ustack/debian:$suite
        echo "docker: cannot pull $BASE_IMAGE (no registry in reach?): using $local_tag, built from the Debian mirror"
        if ! have_image "$local_tag"; then
            local sudo=()
            [ "$(id -u)" -eq 0 ] || sudo=(sudo)
            "${sudo[@]}" scripts/docker-base.sh "$suite" "$local_tag"
        fi
        BASE_IMAGE=$local_tag
        ;;
    *) die "cannot pull $BASE_IMAGE, and only debian:SUITE bases can be built here" ;;
    esac
}

case "${1:-}" in
build)
    pick_base
    echo "docker: building $USTACK_IMAGE on $BASE_IMAGE"
    BASE_IMAGE=$BASE_IMAGE "${COMPOSE[@]}" build dev
    ;;
run)
    have_image "$USTACK_IMAGE" || "$0" build
    BASE_IMAGE=$BASE_IMAGE "${COMPOSE[@]}" up -d dev
    echo "docker: running; make docker-exec for a shell (then make tap, make run, make test)"
    ;;
exec)
    shift
    [ $# -gt 0 ] || set -- bash
    tty=()
    [ -t 0 ] && [ -t 1 ] || tty=(-T)
    "${COMPOSE[@]}" exec "${tty[@]}" dev "$@"
    ;;
down) "${COMPOSE[@]}" down ;;
*)
    echo "usage: scripts/docker.sh build|run|exec [CMD...]|down" >&2
    exit 2
    ;;
esac
