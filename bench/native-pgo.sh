#!/usr/bin/env bash
# bench/native-pgo.sh: the native baseline of issue 22's CPU benchmarks, CPython
# 3.13.5 built from the same Debian source as the guest (guest/sources.lock) with
# `--enable-optimizations --with-lto` (PGO+LTO, what distributions and python.org
# ship). Bench-only: tests and ./build.sh never run it.
# Cached under $ERYX_CACHE/native-pgo/<key>, key = sha256 of the source tarball +
# the configure flags + this script; built in place (build/ next to src/), marked
# complete by .complete, idempotent, one builder at a time (a lock).
# PGO's profile task is CPython's own (`-m test --pgo`: the 43 training tests of
# Lib/test/libregrtest/pgo.py, about a minute here) less test_generators, which fails
# in the instrumented build (1 failure, under gcc 12 -fprofile-generate -flto; it
# passes in the plain build of the same source) and so stops `make`: the 42 others.
# Last stdout line: the interpreter's path (build/python).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
top="$(cd "$here/.." && pwd)"
. "$top/scripts/lib.sh"

# Configure flags: PGO+LTO, plus what the guest's native build Python uses
# (guest/cpython-tree.sh: --without-ensurepip).
CONFIG_FLAGS="--enable-optimizations --with-lto --without-ensurepip"
JOBS="${ERYX_NATIVE_PGO_JOBS:-2}"

# The source: the python3.13 orig tarball that guest/cpython-tree.sh downloaded, else
# fetched the same way (guest/fetch-sources.sh: apt-get source, .dsc hash checked
# against guest/sources.lock). The tarball's hash is checked against the .dsc's.
tree="$ERYX_CACHE/guest-tree/$("$top/guest/cpython-tree.sh" --key)"
dl="$tree/dl"
if ! ls "$dl"/python3.13_*.orig.tar.xz >/dev/null 2>&1; then
    dl="$ERYX_CACHE/native-pgo/dl"
    if ! ls "$dl"/python3.13_*.orig.tar.xz >/dev/null 2>&1; then
        eryx_step "native-pgo: fetch sources" "$ERYX_CACHE/logs/native-pgo-fetch.log" \
            "$top/guest/fetch-sources.sh" "$dl" >&2
    fi
fi
tarball=$(ls "$dl"/python3.13_*.orig.tar.xz | head -1)
dsc=$(ls "$dl"/python3.13_*.dsc | head -1)
src_sha=$(sha256sum "$tarball" | cut -c1-64)
if ! grep -q "^ $src_sha [0-9]* $(basename "$tarball")\$" "$dsc"; then
    echo "[eryx] $tarball: sha256 $src_sha is not the one $dsc lists; refusing to build" >&2
    exit 1
fi

key=$( { echo "$src_sha"; echo "$CONFIG_FLAGS"; gcc --version | head -1; cat "$0"; } | sha256sum | cut -c1-16)
root="$ERYX_CACHE/native-pgo/$key"
py="$root/build/python"
if eryx_cached native-pgo "$root/.complete" "$py" "$key"; then exit 0; fi
eryx_lock "$ERYX_CACHE/native-pgo/$key.lock" >&2
if eryx_cached native-pgo "$root/.complete" "$py" "$key"; then exit 0; fi

logs="$ERYX_CACHE/logs/native-pgo-$key"
mkdir -p "$logs"
echo "[eryx] native-pgo: building CPython 3.13.5 ($CONFIG_FLAGS, make -j$JOBS) in $root (logs: $logs)" >&2
t0=$(eryx_now)
unpack() {
    rm -rf "$root"; mkdir -p "$root/build"
    tar xf "$tarball" -C "$root"
    mv "$root"/Python-* "$root/src"
}
eryx_step "native-pgo: unpack" "$logs/unpack.log" unpack >&2
eryx_step "native-pgo: configure" "$logs/configure.log" \
    bash -c "cd '$root/build' && ../src/configure $CONFIG_FLAGS" >&2
# `make` runs the whole PGO cycle: instrumented build, profile task, rebuild with LTO.
pgo_tests=$(python3 -c 'import re, sys
src = open(sys.argv[1]).read().split("PGO_TESTS = [")[1].split("]")[0]
print(" ".join(t for t in re.findall(r"\x27(test_\w+)\x27", src) if t != "test_generators"))' \
    "$root/src/Lib/test/libregrtest/pgo.py")
eryx_step "native-pgo: make (PGO+LTO)" "$logs/make.log" \
    make -C "$root/build" -j"$JOBS" all PROFILE_TASK="-m test --pgo --timeout= $pgo_tests" >&2
"$py" -c 'import sqlite3, json, re, zlib, bz2, lzma, decimal' >&2
secs=$(( $(eryx_now) - t0 ))
{ echo "configure: $CONFIG_FLAGS"; echo "make: -j$JOBS, PROFILE_TASK=-m test --pgo --timeout= $pgo_tests";
  echo "source: $(basename "$tarball") sha256 $src_sha"; echo "compiler: $(gcc --version | head -1)";
  echo "build seconds: $secs"; echo "load average at end: $(cut -d' ' -f1-3 /proc/loadavg)"; } > "$root/build-info.txt"
touch "$root/.complete"
echo "[eryx] native-pgo: built in ${secs}s -> $py" >&2
echo "$py"
