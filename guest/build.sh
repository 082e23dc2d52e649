#!/usr/bin/env bash
# guest/build.sh: builds the guest (CPython 3.13 for wasm32-wasi as a reactor that
# exports eryx's entry points, plus the stdlib image) from Debian source packages,
# and prints on its last line the directory holding:
#   python.wasm      the interpreter (WASI reactor; exports eryx_init, eryx_execute)
#   python313.zip    the standard library plus eryx's guest support (guest/lib), .pyc only
#   manifest.json    versions and hashes of every input and output
# Three stages, each cached by the hash of its inputs: guest/cpython-tree.sh's
# CPython wasm32-wasi build tree under $ERYX_CACHE/guest-tree/<key> (minutes; shared
# with guest/numpy/build.sh), the interpreter linked from it and the stdlib image
# under $ERYX_CACHE/guest/<key> (seconds), then guest/add-support.sh adds
# guest/lib/*.py under $ERYX_CACHE/guest-support/<key> (a second), so changing
# the support code never rebuilds CPython. See docs/GUEST.md.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
top="$(cd "$here/.." && pwd)"
. "$top/scripts/lib.sh"

CC_WASM=clang-19
deps="clang-19 lld-19 libclang-rt-19-dev-wasm32 wasi-libc libc++-19-dev-wasm32 libc++abi-19-dev-wasm32 dpkg-dev gcc"
"$top/scripts/apt-install.sh" $deps >&2

pyver=3.13
toolchain="$($CC_WASM --version | head -1); $(gcc --version | head -1);
$(dpkg-query -W -f='${Package} ${Version}\n' wasi-libc libclang-rt-19-dev-wasm32 lld-19 libc++-19-dev-wasm32 libc++abi-19-dev-wasm32)"
# The CPython wasi build tree's key stands for its inputs (sources, patches,
# config.site, its toolchain); the rest are this stage's own.
tree_key=$("$here/cpython-tree.sh" --key)
key=$( {
    echo "cpython-tree $tree_key"
    cat "$here/build.sh" "$here/pack-stdlib.py" "$here"/shim/*.c "$here/main-exports.txt"
    echo "$toolchain"
} | sha256sum | cut -c1-16)
out="$ERYX_CACHE/guest/$key"
if [ -f "$out/manifest.json" ]; then
    echo "[eryx] guest: reusing cached build $out (key $key)" >&2
    exec "$here/add-support.sh" "$out"
fi
eryx_lock "$ERYX_CACHE/guest/$key.lock"
if [ -f "$out/manifest.json" ]; then exec "$here/add-support.sh" "$out"; fi

t_all=$(eryx_now)
# The CPython wasm32-wasi build tree (static deps, configure, make): its own cached
# stage, shared with guest/numpy/build.sh. Read only here.
tree=$("$here/cpython-tree.sh" | tail -n 1)
pysrc="$tree/Python-3.13.5"; wbuild="$tree/wasi-build"
native=$(cat "$tree/build-python.path")
work="$ERYX_CACHE/guest/work-$key"
logs="$ERYX_CACHE/logs/guest-$key"
rm -rf "$work"; mkdir -p "$work" "$logs"
echo "[eryx] guest: building key $key in $work from $tree (logs: $logs)" >&2
WCC="$CC_WASM --target=wasm32-wasi --sysroot=$tree/sysroot"
WCFLAGS="-O2 -D_WASI_EMULATED_SIGNAL -D_WASI_EMULATED_GETPID -D_WASI_EMULATED_PROCESS_CLOCKS"

# Link the reactor with the same objects and flags CPython's own link uses (its
# Makefile's link variables, recorded by the tree; paths relative to wasi-build/).
link_reactor() {
    cd "$wbuild"
    mk() { sed -n "s/^$1=//p" "$tree/link-vars.txt"; }
    $WCC $WCFLAGS -I. -I"$pysrc/Include" -c "$here/shim/eryx_shim.c" -o "$work/eryx_shim.o"
    $WCC $WCFLAGS -c "$here/shim/cxa_abort.c" -o "$work/cxa_abort.o"
    $WCC $WCFLAGS -c "$here/shim/cxx_errno.c" -o "$work/cxx_errno.o"
    # A main module for late-linked extensions (docs/LATE-LINKING.md): a growable,
    # exported function table, the stack pointer, an allocator, and the symbols
    # extension side modules import (guest/main-exports.txt: numpy's, pandas' and matplotlib's), with the C++
    # runtime and long-double printf/scanf they need.
    sed 's/^/--export=/' "$here/main-exports.txt" > "$work/main-exports.rsp"
    printf '%s\n' --export=__stack_pointer --export=aligned_alloc --export=eryx_ext_log \
        --export-table --growable-table >> "$work/main-exports.rsp"
    $WCC -mexec-model=reactor $(mk PY_CORE_LDFLAGS) $(mk LINKFORSHARED) -o "$work/python-reactor.wasm" \
        "$work/eryx_shim.o" "$work/cxa_abort.o" "$work/cxx_errno.o" $(mk LINK_PYTHON_DEPS) $(mk LIBS) $(mk MODLIBS) $(mk SYSLIBS) \
        -lc++ -lc++abi -lc-printscan-long-double -Wl,@"$work/main-exports.rsp" -Wl,--strip-debug
    echo "PY_CORE_LDFLAGS=$(mk PY_CORE_LDFLAGS)"
    echo "CONFIG_ARGS=$(mk CONFIG_ARGS)"
}
eryx_step "guest: link reactor" "$logs/link.log" link_reactor >&2

tmp="$out.tmp.$$"; rm -rf "$tmp"; mkdir -p "$tmp"
cp "$work/python-reactor.wasm" "$tmp/python.wasm"
mkdir -p "$work/no-extra"  # guest/lib is added by add-support.sh, a stage of its own
eryx_step "guest: pack stdlib image" "$logs/pack.log" \
    "$native" "$here/pack-stdlib.py" "$pysrc/Lib" "$wbuild" "$work/no-extra" "$tmp/python313.zip" >&2
# add-support.sh compiles guest/lib with the same build Python (matching .pyc magic).
echo "$native" > "$tmp/build-python.path"

# --- manifest --------------------------------------------------------------------
{
    echo "key=$key"
    echo "toolchain=$toolchain"
    echo "wasm_cflags=$WCFLAGS"
    echo "build_seconds=$(( $(eryx_now) - t_all ))"
    grep -E '^checking for stdlib extension module' "$tree/configure.log" | grep -vE '\.\.\. yes$' || true
} > "$tmp/build-info.txt"
"$native" - "$here/sources.lock" "$tree/dl" "$tmp" <<'PY'
import hashlib, json, os, sys
lock, dl, out = sys.argv[1:]
def sha(p):
    h = hashlib.sha256()
    with open(p, "rb") as f:
        for b in iter(lambda: f.read(1 << 20), b""): h.update(b)
    return h.hexdigest()
info = dict(l.rstrip("\n").split("=", 1) for l in open(os.path.join(out, "build-info.txt")) if "=" in l and not l.startswith("checking"))
missing = [l.split("module ")[1].strip() for l in open(os.path.join(out, "build-info.txt")) if l.startswith("checking")]
m = {
    "format": 1,
    "key": info["key"],
    "python": "3.13",
    "sources": [dict(zip(("package", "suite", "version", "dsc_sha256"), l.split()))
                for l in open(lock) if l.strip() and not l.startswith("#")],
    "source_files": {f: sha(os.path.join(dl, f)) for f in sorted(os.listdir(dl)) if not os.path.isdir(os.path.join(dl, f))},
    "toolchain": info["toolchain"],
    "wasm_cflags": info["wasm_cflags"],
    "build_seconds": int(info["build_seconds"]),
    "stdlib_modules_not_built": missing,
    "outputs": {f: {"sha256": sha(os.path.join(out, f)), "bytes": os.path.getsize(os.path.join(out, f))}
                for f in ("python.wasm", "python313.zip")},
}
with open(os.path.join(out, "manifest.json"), "w") as f:
    json.dump(m, f, indent=2); f.write("\n")
# The runtime reads the module's hash from here instead of re-hashing 7 MB per start.
with open(os.path.join(out, "python.wasm.sha256"), "w") as f:
    f.write(m["outputs"]["python.wasm"]["sha256"] + "\n")
PY
rm -rf "$out"; mv "$tmp" "$out"
rm -rf "$work"
echo "[eryx] guest: built in $(( $(eryx_now) - t_all ))s -> $out" >&2
exec "$here/add-support.sh" "$out"
