#!/usr/bin/env bash
# bench/designs.sh BUILD_DIR [BUILD_DIR...] [-- RUNS]: links bench/designs.c against
# the liberyx.a of each build dir (say, a worktree of the commit before design B,
# and build/) and runs them alternately, twice, so both see the same machine load.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
wt=$("$here/../engine/build-wasmtime.sh" 2>/dev/null | tail -n 1)
dirs=(); runs=1000
while [ $# -gt 0 ]; do
    if [ "$1" = "--" ]; then runs="$2"; break; fi
    dirs+=("$1"); shift
done
for d in "${dirs[@]}"; do
    cc -O2 -std=gnu17 -I"$d/../include" "$here/designs.c" "$d/liberyx.a" "$wt/lib/libwasmtime.a" \
        -lcrypto -lxxhash -lpthread -ldl -lm -o "$d/designs-bench"
done
for round in 1 2; do
    for d in "${dirs[@]}"; do
        echo "== $d (round $round)"
        ERYX_GUEST_DIR="$d/guest" "$d/designs-bench" "$runs"
    done
done
