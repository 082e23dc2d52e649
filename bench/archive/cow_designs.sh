#!/usr/bin/env bash
# bench/cow_designs.sh [RUNS]: builds and runs bench/cow_designs.c against the
# cached wasmtime library (./build.sh must have run) and prints markdown tables.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
wt=$("$here/../engine/build-wasmtime.sh" 2>/dev/null | tail -n 1)  # the cached library
out="${TMPDIR:-/tmp}/eryx-cow-designs"
cc -O2 -std=gnu17 -I"$wt/include" "$here/cow_designs.c" "$wt/lib/libwasmtime.a" -lpthread -ldl -lm -o "$out"
"$out" "${1:-1000}"
