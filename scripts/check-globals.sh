#!/usr/bin/env bash
# Fails if the library has writable global or static data: all state belongs
# in struct ust_stack (docs/DESIGN.md, principle 1). Read-only tables are fine,
# including const tables of pointers, which live in .data.rel.ro.
set -euo pipefail
lib=${1:?usage: check-globals.sh LIBRARY}
# objdump -t: "addr flags section size name"; keep data objects in writable
# sections. Sanitizer builds add bookkeeping symbols of their own; skip those.
bad=$(objdump -t "$lib" | awk '
    /^[0-9a-f]+ / && ($0 ~ / O / || $0 ~ /\*COM\*/) {
        sec = ""; for (i = 2; i <= NF; i++) if ($i ~ /^(\.|\*COM)/) { sec = $i; break }
        if (sec ~ /^\.(data|bss|tbss|tdata)/ && sec !~ /^\.data\.rel\.ro/ || sec == "*COM*") print $NF, sec
    }' | grep -v -E '__(asan|ubsan|sancov|odr_asan|llvm)|___asan_gen|^__unnamed_|^\.L' || true)
if [ -n "$bad" ]; then
    echo "writable data symbols in $lib (move them into struct ust_stack):"
    echo "$bad"
    exit 1
fi
echo "no writable data symbols in $(basename "$lib")"
