#!/usr/bin/env bash
# Runs clang-tidy (.clang-tidy: bug-finding checks) on the library, the apps
# and the examples with the build's compile_commands.json; prints the
# findings and fails if there is any.
#   scripts/check-tidy.sh BUILD_DIR [--deep]
# The static analyzer gets a budget of 10,000 nodes per function, which finds
# what the unbounded default finds here in a tenth of the time; --deep lifts
# it (about 70 s of CPU instead of 7). CLANG_TIDY names the binary (default:
# clang-tidy-14, else clang-tidy).
set -euo pipefail
src=$(cd "$(dirname "$0")/.." && pwd)
build=${1:?usage: check-tidy.sh BUILD_DIR [--deep]}
build=$(cd "$build" && pwd)
budget=(--extra-arg=-Xclang --extra-arg=-analyzer-config --extra-arg=-Xclang --extra-arg=max-nodes=10000)
[ "${2:-}" = --deep ] && budget=()

tidy=${CLANG_TIDY:-$(command -v clang-tidy-14 || command -v clang-tidy || true)}
[ -n "$tidy" ] || { echo "check-tidy: clang-tidy not found (scripts/deps.sh installs it)" >&2; exit 1; }
[ -f "$build/compile_commands.json" ] ||
    { echo "check-tidy: no $build/compile_commands.json (CMAKE_EXPORT_COMPILE_COMMANDS)" >&2; exit 1; }

# A compilation database with one entry per file, for the files in scope: the
# fuzz build compiles the library a second time with other flags, and
# clang-tidy would otherwise check each of those files twice.
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
python3 - "$build/compile_commands.json" "$src" "$tmp" <<'EOF'
import json, os, sys
db, src, out = sys.argv[1:]
keep, seen = [], set()
for e in json.load(open(db)):
    f = os.path.normpath(os.path.join(e["directory"], e["file"]))
    rel = os.path.relpath(f, src)
    if rel.split(os.sep)[0] not in ("src", "apps", "examples") or f in seen:
        continue
    seen.add(f)
    keep.append(e)
json.dump(keep, open(os.path.join(out, "compile_commands.json"), "w"))
open(os.path.join(out, "files"), "w").write("".join(f + "\n" for f in sorted(seen)))
EOF

# One file per clang-tidy process: clang-tidy 14's analyzer carries va_list
# state from one file to the next, and then reports vsnprintf(..., ap) after
# va_start as "uninitialized va_list" (https://bugs.llvm.org/show_bug.cgi?id=41311).
start=$(date +%s)
mkdir "$tmp/out"
export tidy tmp budget_args="${budget[*]}"
xargs -a "$tmp/files" -P "$(nproc)" -n 1 sh -c '
    out="$tmp/out/$(printf %s "$1" | tr / @)"
    # shellcheck disable=SC2086
    "$tidy" -p "$tmp" --quiet $budget_args "$1" >"$out" 2>&1 || echo "exit status $?" >>"$out"' sh

# Findings in headers come once per file that includes them: print each once.
rc=0
python3 - "$tmp/out" "$src" <<'EOF' || rc=$?
import os, re, sys
outdir, src = sys.argv[1:]
head = re.compile(r"^(/\S+):\d+:\d+: (warning|error):")
blocks, seen, failed = [], set(), []
for name in sorted(os.listdir(outdir)):
    block = None
    for line in open(os.path.join(outdir, name), errors="replace"):
        if re.match(r"^\d+ warnings? (and \d+ errors? )?generated\.$", line) or not line.strip():
            continue
        if line.startswith("exit status") and block is None:
            failed.append(name.replace("@", "/"))
        if head.match(line):
            block = [line]
            if line not in seen:
                seen.add(line)
                blocks.append(block)
        elif block is not None:
            block.append(line)
for b in blocks:
    sys.stdout.write("".join(b).replace(src + "/", ""))
for f in failed:
    print(f"check-tidy: clang-tidy failed on {os.path.relpath(f, src)} without a finding")
sys.exit(1 if blocks or failed else 0)
EOF
n=$(wc -l <"$tmp/files")
if [ "$rc" -ne 0 ]; then
    echo "check-tidy: findings in the $n files checked ($(($(date +%s) - start)) s); see .clang-tidy"
    exit 1
fi
echo "check-tidy: $n files clean ($(($(date +%s) - start)) s)"
