# The ustack development container: Debian with the toolchain and every tool
# the tests use (scripts/deps.sh's list, the one place it is kept).
#   make docker-build    builds it (BASE_IMAGE=... to start from another image;
#                        with no registry in reach, from a base that
#                        scripts/docker-base.sh builds from the Debian mirror)
#   make docker-run      starts it (docker-compose.yml: the repository at
#                        /ustack, NET_ADMIN and /dev/net/tun for make tap)
#   make docker-exec     a shell in it: make tap, make run, make test
#   make docker-down     stops and removes it
ARG BASE_IMAGE=debian:bookworm
FROM ${BASE_IMAGE}

ENV DEBIAN_FRONTEND=noninteractive LANG=C.UTF-8
# No service may start because a package was installed.
RUN printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d && chmod 755 /usr/sbin/policy-rc.d
COPY scripts/deps.sh /usr/local/lib/ustack/deps.sh
# deps.sh installs what make build, make test and make run need (not the
# docker packages: no containers inside the container); git, less
# and procps for working in the container. Then the package lists go.
RUN /usr/local/lib/ustack/deps.sh --no-docker \
    && apt-get install -y -qq --no-install-recommends git less procps >/dev/null \
    && apt-get clean && rm -rf /var/lib/apt/lists/*

# make inside the container builds in directories of its own, so that a
# build on the host (other paths in CMake's cache) is never in the way.
ENV BUILD=build-docker TEST_BUILD=build-docker-test USTACK_NO_DOCKER=1
WORKDIR /ustack
CMD ["bash"]
