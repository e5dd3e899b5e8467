#!/usr/bin/env bash
# Checks every tracked .c/.h file against .clang-format (clang-format 14):
# prints the files that differ with an excerpt of each diff, and fails.
#   scripts/check-format.sh          check
#   scripts/check-format.sh --fix    rewrite the files that differ
# CLANG_FORMAT names the binary (default: clang-format-14, else clang-format);
# other major versions lay some constructs out differently.
set -euo pipefail
cd "$(dirname "$0")/.."

fix=0
case "${1:-}" in
    "") ;;
    --fix) fix=1 ;;
    *) echo "usage: $0 [--fix]" >&2; exit 2 ;;
esac

cf=${CLANG_FORMAT:-$(command -v clang-format-14 || command -v clang-format || true)}
[ -n "$cf" ] || { echo "check-format: clang-format not found (scripts/deps.sh installs it)" >&2; exit 1; }
"$cf" --version | grep -q 'version 14\.' ||
    echo "check-format: warning: .clang-format is tuned for clang-format 14; $("$cf" --version)" >&2

if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
    # Tracked and present (a file deleted but not yet committed is skipped).
    mapfile -t files < <(git ls-files -- '*.c' '*.h' | while IFS= read -r f; do [ -f "$f" ] && echo "$f"; done)
else
    mapfile -t files < <(find . -path ./.git -prune -o -path './build*' -prune -o \
                             -type f \( -name '*.c' -o -name '*.h' \) -print | sed 's|^\./||' | sort)
fi

if [ "$fix" = 1 ]; then
    printf '%s\0' "${files[@]}" | xargs -0 -r -n 16 -P "$(nproc)" "$cf" -i --style=file
    echo "check-format: formatted ${#files[@]} files"
    exit 0
fi

# Format a copy of the tree (clang-format is quicker on many files at a
# time than once per file), then compare file by file.
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cp .clang-format "$tmp/"
printf '%s\0' "${files[@]}" | xargs -0 cp --parents -t "$tmp"
(cd "$tmp" && printf '%s\0' "${files[@]}" | xargs -0 -r -n 32 -P "$(nproc)" "$cf" -i --style=file)

bad=0 changed=0
for f in "${files[@]}"; do
    d=$(diff -u --label "$f" --label "$f (clang-format)" "$f" "$tmp/$f") && continue
    bad=$((bad + 1))
    changed=$((changed + $(tail -n +3 <<<"$d" | grep -c '^-' || true)))
    echo "$f"
    if [ "$bad" -le 10 ]; then
        head -n 20 <<<"$d" | sed 's/^/    /'
        [ "$(wc -l <<<"$d")" -le 20 ] || echo "    ..."
    fi
done
if [ "$bad" -gt 0 ]; then
    echo "check-format: $bad of ${#files[@]} files differ from .clang-format ($changed lines);" \
         "scripts/check-format.sh --fix rewrites them"
    exit 1
fi
echo "check-format: ${#files[@]} files formatted"
