#!/usr/bin/env bash
# guest/pgo/make-profile.sh: regenerates guest/pgo/cpython.proftext.zst, the profile the
# guest's CPython is compiled with (guest/speed.conf's PGO_PROFILE; docs/BENCHMARKS.md,
# "Guest build levers"). There is no profile runtime for wasm32 in Debian's clang, so
# the profile is taken from a native twin: CPython 3.13.5 from the guest tree's own
# patched source, compiled by the same clang-19 for x86-64 with front-end (AST-based)
# instrumentation and the guest's switches that change the interpreter's code (no
# computed gotos, as on wasm; the same pymalloc setting), trained on CPython's own PGO
# task (`-m test --pgo`, what `--enable-optimizations` runs, not the benchmarks eryx
# is measured on). Clang matches a front-end profile to a function by name and a hash
# of its AST, so it applies to the wasm32 build wherever the preprocessed code is the
# same; functions that differ keep no profile (the guest build counts them in its log:
# warnings "profile data may be out of date"). Its one run took 19 minutes on 2 busy
# cores (docs/GUEST.md); run it
# again after a change to the sources, patches or the speed settings, and commit the
# result with its .info file. The profile is committed in LLVM's text format (one
# function a record: name, hash, counts; reviewable with zstdcat), zstd-compressed;
# guest/cpython-tree.sh turns it back into the binary form clang reads.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
guest="$(cd "$here/.." && pwd)"
top="$(cd "$guest/.." && pwd)"
. "$top/scripts/lib.sh"
"$top/scripts/apt-install.sh" clang-19 llvm-19 lld-19 make zstd >&2
# The tree's patched source, from a tree built with guest/speed.conf's settings (and
# ERYX_GUEST_* overrides, as cpython-tree.sh reads them) but no profile, so a stale
# profile is never needed to make the next one; the twin takes the tree's pymalloc.
tree=$(ERYX_GUEST_PGO_PROFILE= "$guest/cpython-tree.sh" | tail -n 1)
if grep -q '^#define WITH_PYMALLOC 1' "$tree/wasi-build/pyconfig.h"; then
    PYMALLOC=yes pm=--with-pymalloc
else
    PYMALLOC=no pm=--without-pymalloc
fi
work="$ERYX_CACHE/pgo-work"
rm -rf "$work"; mkdir -p "$work/build" "$work/raw"
cd "$work/build"
echo "[eryx] pgo: configuring the instrumented native twin in $work/build" >&2
CC=clang-19 CFLAGS_NODIST="-fprofile-instr-generate" LDFLAGS_NODIST="-fprofile-instr-generate" \
    "$tree/Python-3.13.5/configure" -q --without-ensurepip --without-computed-gotos "$pm" \
    --with-system-libmpdec=no --with-system-expat=no > configure.log
echo "[eryx] pgo: building it" >&2
make -j"$(nproc)" all > make.log 2>&1
echo "[eryx] pgo: training (python -m test --pgo)" >&2
# A failing test still leaves its counts; the run's summary is kept in the .info file.
LLVM_PROFILE_FILE="$work/raw/%p-%m.profraw" ./python -m test --pgo --timeout=1200 > train.log 2>&1 || true
llvm-profdata-19 merge -text -o "$work/cpython.proftext" "$work"/raw/*.profraw
zstd -19 -q -f "$work/cpython.proftext" -o "$here/cpython.proftext.zst"
{
    echo "# guest/pgo/cpython.proftext.zst: made by guest/pgo/make-profile.sh on $(date -u +%Y-%m-%d)"
    echo "source_tree=$(basename "$tree")"
    echo "pymalloc=$PYMALLOC"
    echo "clang=$(clang-19 --version | head -1)"
    echo "training=$(grep -E '^(Result|Total tests|Total duration)' train.log | tr '\n' ' ')"
    echo "functions=$(llvm-profdata-19 show "$work/cpython.proftext" | sed -n 's/^Total functions: //p')"
    echo "sha256=$(sha256sum < "$here/cpython.proftext.zst" | cut -c1-64)"
} > "$here/cpython.proftext.info"
cat "$here/cpython.proftext.info" >&2
echo "$here/cpython.proftext.zst"
