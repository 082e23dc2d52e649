#!/usr/bin/env bash
# bench/archive/cow_designs.sh [RUNS]: builds bench/archive/cow_designs.c with CMake
# (target bench_cow_designs, in BUILD, default build/: the tree must be configured,
# ./build.sh does it) and runs it; prints markdown tables.
set -euo pipefail
top="$(cd "$(dirname "$0")/../.." && pwd)"
build="${BUILD:-$top/build}"
cmake --build "$build" --target bench_cow_designs >&2
"$build/bench/archive/cow_designs" "${1:-1000}"
