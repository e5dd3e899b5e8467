# ustack: the commands. CMake + CTest do the work underneath.
#   make build      release build; the runner lands in build/bin/ustack
#   make test       sanitizer build (ASan+UBSan, clang) and every CTest suite
#   make run        ensure the TAP device exists, run the runner at info level
#   make run-debug  the same at debug level
#   make tap        create tap0 with 192.0.2.1/24 and 2001:db8::1/64 on the host side, up
#   make bench      benchmarks against the Linux kernel (not part of the tests)
#   make install    the release build into PREFIX (/usr/local), under DESTDIR if set
#   make clean      remove build directories
#   make docker-build / docker-run / docker-exec / docker-down
#                   the development container (Dockerfile, docker-compose.yml;
#                   BASE_IMAGE=... sets its base, default debian:bookworm)

TAP        ?= tap0
TAP_ADDR   ?= 192.0.2.1/24
TAP_ADDR6  ?= 2001:db8::1/64
JOBS       ?= $(shell nproc 2>/dev/null || echo 2)
BUILD      ?= build
TEST_BUILD ?= build-test
PREFIX     ?= /usr/local
CMAKE_GEN  := -DCMAKE_EXPORT_COMPILE_COMMANDS=ON

.PHONY: all build test run run-debug tap bench deps clean install docker-build docker-run \
    docker-exec docker-down

all: build

deps:
	@scripts/deps.sh

build: deps
	@cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=Release -DUSTACK_TESTS=OFF $(CMAKE_GEN) >/dev/null
	@cmake --build $(BUILD) -j$(JOBS)
	@echo "built $(BUILD)/bin/ustack"

test: deps
	@cmake -S . -B $(TEST_BUILD) -DCMAKE_C_COMPILER=clang -DCMAKE_BUILD_TYPE=Debug \
	    -DUSTACK_SANITIZE=ON -DUSTACK_FUZZ=ON $(CMAKE_GEN) >/dev/null
	@cmake --build $(TEST_BUILD) -j$(JOBS)
	@cd $(TEST_BUILD) && ctest --output-on-failure -j$(JOBS)

tap: deps
	@scripts/tap.sh $(TAP) $(TAP_ADDR) $(TAP_ADDR6)

run: build tap
	USTACK_LOG=$${USTACK_LOG:-info} $(BUILD)/bin/ustack --tap $(TAP)

run-debug: build tap
	USTACK_LOG=debug $(BUILD)/bin/ustack --tap $(TAP)

install: build
	@DESTDIR="$(DESTDIR)" cmake --install $(BUILD) --prefix "$(PREFIX)"

bench: build
	@bench/run.sh

clean:
	rm -rf $(BUILD) $(TEST_BUILD) build-*

docker-build: deps
	@scripts/docker.sh build

docker-run: deps
	@scripts/docker.sh run

# make docker-exec CMD="make test" runs one command (bash -c, inside the
# container; $(value): CMD's $ and quotes reach that shell as written)
# instead of a shell.
docker-exec:
	@scripts/docker.sh exec $(if $(CMD),bash -c '$(subst ','\'',$(value CMD))')

docker-down:
	@scripts/docker.sh down
