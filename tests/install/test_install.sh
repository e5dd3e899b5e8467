#!/usr/bin/env bash
# install: cmake --install of this build into a DESTDIR with a prefix
# (what make install does), then examples/outoftree built out of the tree
# with nothing but pkg-config --cflags --libs ustack, and run.
#  - the files: libustack.so.MAJOR.MINOR.PATCH with soname libustack.so.MAJOR
#    and its links, libustack.a, the headers, lib/pkgconfig/ustack.pc, the
#    runner and the examples in bin/, libustack-preload.so;
#  - libustack.so exports every ust_* function the headers declare and no
#    internal symbol (tcp_*, sock_*, ...);
#  - hello compiles, links against the shared library and runs: a UDP
#    datagram to itself over the stack's loopback comes back.
# usage: test_install.sh BUILD_DIR
set -euo pipefail
build=$(cd "${1:?usage: test_install.sh BUILD_DIR}" && pwd)
src=$(cd "$(dirname "$0")/../.." && pwd)
log() { echo "[install] $*"; }
fail() {
    echo "FAIL: $*" >&2
    exit 1
}
command -v pkg-config >/dev/null || { echo "SKIP: needs pkg-config (scripts/deps.sh)"; exit 77; }
tmp=$(mktemp -d "${TMPDIR:-/tmp}/ust-install-$$.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

prefix=/opt/ustack
DESTDIR=$tmp/root cmake --install "$build" --prefix "$prefix" >"$tmp/install.log"
root=$tmp/root$prefix
version=$(sed -n 's/^Version: //p' "$root/lib/pkgconfig/ustack.pc")
major=${version%%.*}
for f in "lib/libustack.so.$version" "lib/libustack.so.$major" lib/libustack.so lib/libustack.a \
    lib/libustack-preload.so lib/pkgconfig/ustack.pc include/ustack/socket.h include/ustack/stack.h \
    bin/ustack bin/tcps bin/evloop; do
    [ -e "$root/$f" ] || fail "not installed: $prefix/$f"
done
log "ok: every file in $prefix (version $version)"
soname=$(objdump -p "$root/lib/libustack.so.$version" | awk '$1 == "SONAME" {print $2}')
[ "$soname" = "libustack.so.$major" ] || fail "soname is '$soname', not libustack.so.$major"
log "ok: soname $soname"

exported=$(nm -D --defined-only "$root/lib/libustack.so" | awk '{print $3}' | sed 's/@.*//' | sort -u)
declared=$(grep -ho '\bust_[a-z0-9_]*(' "$root"/include/ustack/*.h | tr -d '(' | sort -u)
missing=$(comm -13 <(echo "$exported") <(echo "$declared"))
[ -z "$missing" ] || fail "declared but not exported: $missing"
extra=$(echo "$exported" | grep -v '^ust_' | grep -v '^USTACK_' || true)
[ -z "$extra" ] || fail "exported but not the API: $(echo "$extra" | head -5)"
log "ok: libustack.so exports the $(echo "$declared" | wc -l) ust_* functions of the headers, nothing else"

cp -r "$src/examples/outoftree" "$tmp/hello"
export PKG_CONFIG_PATH=$root/lib/pkgconfig
log "pkg-config --cflags --libs ustack: $(pkg-config --cflags --libs ustack)"
make -s -C "$tmp/hello" >"$tmp/make.log" 2>&1 || fail "out-of-tree build: $(cat "$tmp/make.log")"
objdump -p "$tmp/hello/hello" | grep -q "NEEDED.*libustack.so.$major" || fail "hello is not linked to libustack.so.$major"
out=$(LD_LIBRARY_PATH=$root/lib "$tmp/hello/hello") || fail "hello failed: $out"
[ "$out" = "hello from ustack" ] || fail "hello printed '$out'"
log "ok: examples/outoftree built with pkg-config alone, ran: $out"
log "PASS"
