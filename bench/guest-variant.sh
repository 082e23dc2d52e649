#!/usr/bin/env bash
# bench/guest-variant.sh [NAME=VALUE ...]: builds (or reuses, cached by key like the
# default guest) a guest whose guest/speed.conf settings are changed as given, e.g.
#   bench/guest-variant.sh PYMALLOC=yes        bench/guest-variant.sh LTO=thin DEPS_OPT=-O3
# and prints on its last line a directory in the runtime's layout: give it to the CPU suite as
#   bench/cpu/run.sh --runtimes eryx --variant pymalloc=DIR
# (the variant runs in the same worker code with ERYX_GUEST_DIR=DIR), or to any eryx
# program as ERYX_GUEST_DIR. With no arguments it builds the default guest.
# The names are guest/speed.conf's: PYMALLOC, LTO, DEPS_OPT, PGO_PROFILE.
set -euo pipefail
top="$(cd "$(dirname "$0")/.." && pwd)"
for kv in "$@"; do
    case "$kv" in
        PYMALLOC=*|LTO=*|DEPS_OPT=*|PGO_PROFILE=*) export "ERYX_GUEST_$kv" ;;
        *) echo "guest-variant: unknown setting '$kv' (PYMALLOC, LTO, DEPS_OPT, PGO_PROFILE)" >&2; exit 2 ;;
    esac
done
src=$("$top/guest/build.sh" | tail -n 1)
# The runtime's layout of a guest (what the build dir's guest/ holds): the
# interpreter beside lib/ with the stdlib image; hard links into the cache.
. "$top/scripts/lib.sh"
dir="$ERYX_CACHE/guest-variant/$(basename "$src")"
if [ ! -f "$dir/lib/python313.zip.sha256" ]; then
    rm -rf "$dir"; mkdir -p "$dir/lib"
    ln "$src/python.wasm" "$src/python.wasm.sha256" "$src/manifest.json" "$dir/"
    ln "$src/python313.zip" "$src/python313.zip.sha256" "$dir/lib/"
fi
echo "$dir"
