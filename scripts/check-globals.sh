#!/usr/bin/env bash
# Fails if the library has writable global or static data: all state belongs
# in struct ust_stack (ARCHITECTURE.md, principle 1). Read-only tables are fine.
set -euo pipefail
lib=${1:?usage: check-globals.sh LIBRARY}
# Sanitizer builds add their own bookkeeping symbols; ignore those.
bad=$(nm -A "$lib" | awk '$(NF-1) ~ /^[BbDdCGgSs]$/ {print}' \
      | grep -v -E '__(asan|ubsan|sancov|odr_asan|llvm)|___asan_gen|\.L' || true)
if [ -n "$bad" ]; then
    echo "writable data symbols in $lib:"
    echo "$bad"
    echo "1 failed: no-global-state"
    exit 1
fi
echo "no writable data symbols in $(basename "$lib")"
