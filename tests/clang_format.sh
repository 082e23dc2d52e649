#!/usr/bin/env bash
# tests/clang_format.sh SRC_DIR: every C file of ours (git's list, guest/ aside: its
# bytes are inputs of the guest and numpy cache keys) is laid out as .clang-format
# says. Fails naming the files; `clang-format-19 -i FILE` fixes one.
set -euo pipefail
cd "$1"
cf=$(command -v clang-format-19 || true)
if [ -z "$cf" ]; then
    echo "clang-format-19 is missing: ./build.sh installs it (Debian's clang-format-19)" >&2
    exit 1
fi
bad=0
while IFS= read -r f; do
    if ! "$cf" --dry-run -Werror "$f" >/dev/null 2>&1; then
        echo "not formatted: $f (clang-format-19 -i $f)"
        bad=$((bad + 1))
    fi
done < <(git ls-files '*.c' '*.h' | grep -v '^guest/')
[ "$bad" -eq 0 ] && echo "all C files formatted"
exit $((bad > 0))
