#!/usr/bin/env bash
# bench/archive/designs.sh BUILD_DIR [BUILD_DIR...] [-- RUNS]: links
# bench/archive/designs.c against the liberyx.a of each build dir (say, a worktree
# of the commit before design B, and build/) and runs them alternately, twice, so
# both see the same machine load. The programs are CMake targets of this tree's
# build (BUILD, default build/): its cache variable ERYX_BENCH_DESIGNS_BUILDS is set
# to the dirs for the run (one target bench_designs_<i> per dir) and cleared after.
set -euo pipefail
top="$(cd "$(dirname "$0")/../.." && pwd)"
build="${BUILD:-$top/build}"
dirs=(); runs=1000
while [ $# -gt 0 ]; do
    if [ "$1" = "--" ]; then runs="$2"; break; fi
    dirs+=("$(cd "$1" && pwd)"); shift
done
[ ${#dirs[@]} -gt 0 ] || { echo "usage: $0 BUILD_DIR [BUILD_DIR...] [-- RUNS]" >&2; exit 2; }
trap 'cmake "$build" -DERYX_BENCH_DESIGNS_BUILDS= >/dev/null' EXIT
cmake "$build" -DERYX_BENCH_DESIGNS_BUILDS="$(IFS=';'; echo "${dirs[*]}")" >/dev/null
targets=()
for i in "${!dirs[@]}"; do targets+=("bench_designs_$((i + 1))"); done
cmake --build "$build" --target "${targets[@]}" >&2
for round in 1 2; do
    for i in "${!dirs[@]}"; do
        d="${dirs[$i]}"
        echo "== $d (round $round)"
        ERYX_GUEST_DIR="$d/guest" "$build/bench/archive/designs-$((i + 1))" "$runs"
    done
done
