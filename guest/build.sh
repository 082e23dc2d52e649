#!/usr/bin/env bash
# guest/build.sh: builds the guest (CPython 3.13 for wasm32-wasi as a reactor that
# exports eryx's entry points, plus the stdlib image) from Debian source packages,
# and prints on its last line the directory holding:
#   python.wasm      the interpreter (WASI reactor; exports eryx_init, eryx_execute)
#   python313.zip    the standard library plus eryx's guest support (guest/lib), .pyc only
#   manifest.json    versions and hashes of every input and output
# Two stages, each cached by the hash of its inputs: the interpreter and stdlib
# under $ERYX_CACHE/guest/<key> (minutes), then guest/add-support.sh adds
# guest/lib/*.py under $ERYX_CACHE/guest-support/<key> (a second), so changing
# the support code never rebuilds CPython. See docs/GUEST.md.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
top="$(cd "$here/.." && pwd)"
. "$top/scripts/lib.sh"

CC_WASM=clang-19
deps="clang-19 lld-19 llvm-19 libclang-rt-19-dev-wasm32 wasi-libc libc++-19-dev-wasm32 libc++abi-19-dev-wasm32 dpkg-dev gcc make tcl xz-utils"
"$top/scripts/apt-install.sh" $deps >&2

pyver=3.13
toolchain="$($CC_WASM --version | head -1); $(gcc --version | head -1);
$(dpkg-query -W -f='${Package} ${Version}\n' wasi-libc libclang-rt-19-dev-wasm32 lld-19 libc++-19-dev-wasm32 libc++abi-19-dev-wasm32)"
# Every input that changes the outputs.
key=$( {
    cat "$here/sources.lock" "$here/build.sh" "$here/fetch-sources.sh" "$here/config.site-eryx" \
        "$here/pack-stdlib.py" "$here"/shim/*.c "$here/main-exports.txt" \
        "$here"/stdlib-patches/*.patch
    echo "$toolchain"
} | sha256sum | cut -c1-16)
out="$ERYX_CACHE/guest/$key"
if [ -f "$out/manifest.json" ]; then
    echo "[eryx] guest: reusing cached build $out (key $key)" >&2
    exec "$here/add-support.sh" "$out"
fi
eryx_lock "$ERYX_CACHE/guest/$key.lock"
if [ -f "$out/manifest.json" ]; then exec "$here/add-support.sh" "$out"; fi

work="$ERYX_CACHE/guest/work-$key"
logs="$ERYX_CACHE/logs/guest-$key"
rm -rf "$work"; mkdir -p "$work" "$logs"
echo "[eryx] guest: building key $key in $work (logs: $logs)" >&2
t_all=$(eryx_now)

# --- sources -----------------------------------------------------------------
eryx_step "guest: fetch sources" "$logs/fetch.log" "$here/fetch-sources.sh" "$work/dl" >&2
eryx_step "guest: unpack sources" "$logs/unpack.log" bash -c "
    cd '$work' && for t in dl/*.orig.tar.*; do case \$t in *.asc) ;; *) tar xf \$t ;; esac; done
    for p in '$here'/stdlib-patches/*.patch; do patch -p1 -d Python-3.13.5 < \$p; done" >&2
pysrc="$work/Python-3.13.5"; zsrc=$(ls -d "$work"/zlib-*/); sqsrc=$(ls -d "$work"/sqlite3-*/)
bzsrc=$(ls -d "$work"/bzip2-*/); xzsrc=$(ls -d "$work"/xz-*/)

# A clean sysroot: only wasi-libc's wasm32-wasi headers and libraries, so no host
# header can leak into the guest.
sysroot="$work/sysroot"
mkdir -p "$sysroot/include" "$sysroot/lib"
ln -s /usr/include/wasm32-wasi "$sysroot/include/wasm32-wasi"
ln -s /usr/lib/wasm32-wasi "$sysroot/lib/wasm32-wasi"
WCC="$CC_WASM --target=wasm32-wasi --sysroot=$sysroot"
WCFLAGS="-O2 -D_WASI_EMULATED_SIGNAL -D_WASI_EMULATED_GETPID -D_WASI_EMULATED_PROCESS_CLOCKS"
deps_dir="$work/deps"; mkdir -p "$deps_dir/include" "$deps_dir/lib"

# --- zlib (static, wasm) -----------------------------------------------------
build_zlib() {
    cd "$zsrc"
    for f in adler32 compress crc32 deflate gzclose gzlib gzread gzwrite infback inffast \
             inflate inftrees trees uncompr zutil; do
        $WCC $WCFLAGS -DHAVE_UNISTD_H -c $f.c -o $f.o
    done
    llvm-ar-19 rcs "$deps_dir/lib/libz.a" *.o
    cp zlib.h zconf.h "$deps_dir/include/"
}
eryx_step "guest: zlib (wasm)" "$logs/zlib.log" build_zlib >&2

# --- sqlite3 (amalgamation made natively, compiled for wasm) -------------------
build_sqlite() {
    cd "$sqsrc"
    ./configure --disable-tcl >/dev/null
    make -j"$(nproc)" sqlite3.c
    $WCC $WCFLAGS -DSQLITE_THREADSAFE=0 -DSQLITE_OMIT_LOAD_EXTENSION -DSQLITE_OMIT_WAL \
        -DSQLITE_OMIT_SHARED_CACHE -DSQLITE_NOHAVE_SYSTEM -DSQLITE_MAX_MMAP_SIZE=0 \
        -DSQLITE_OMIT_DEPRECATED -DSQLITE_DQS=0 -c sqlite3.c -o sqlite3.o
    llvm-ar-19 rcs "$deps_dir/lib/libsqlite3.a" sqlite3.o
    cp sqlite3.h sqlite3ext.h "$deps_dir/include/"
}
eryx_step "guest: sqlite3 (wasm)" "$logs/sqlite.log" build_sqlite >&2

# --- bzip2 and liblzma (static, wasm) -------------------------------------------
build_bzip2() {
    cd "$bzsrc"
    for f in blocksort huffman crctable randtable compress decompress bzlib; do
        $WCC $WCFLAGS -c $f.c -o $f.o
    done
    llvm-ar-19 rcs "$deps_dir/lib/libbz2.a" blocksort.o huffman.o crctable.o randtable.o compress.o decompress.o bzlib.o
    cp bzlib.h "$deps_dir/include/"
}
eryx_step "guest: bzip2 (wasm)" "$logs/bzip2.log" build_bzip2 >&2
build_lzma() {
    cd "$xzsrc"
    ./configure --host=wasm32-unknown-wasi CC="$WCC" CFLAGS="$WCFLAGS" AR=llvm-ar-19 RANLIB=llvm-ranlib-19 \
        --disable-threads --enable-static --disable-shared --disable-xz --disable-xzdec --disable-lzmadec \
        --disable-lzmainfo --disable-lzma-links --disable-scripts --disable-doc --disable-nls \
        --disable-ifunc --disable-clmul-crc --disable-arm64-crc32
    make -C src/liblzma -j"$(nproc)"
    cp src/liblzma/.libs/liblzma.a "$deps_dir/lib/"
    cp -r src/liblzma/api/lzma.h src/liblzma/api/lzma "$deps_dir/include/"
}
eryx_step "guest: liblzma (wasm)" "$logs/lzma.log" build_lzma >&2

# --- the build Python (native, same version; cached on its own) -----------------
# Built in place under the cache (its build dir points at its source dir), and
# marked complete only at the end; its own lock, since guests of several keys share it.
native_key=$( { grep '^python3.13' "$here/sources.lock"; gcc --version | head -1; echo native-v2; } | sha256sum | cut -c1-16)
native_root="$ERYX_CACHE/build-python/$native_key"
native="$native_root/build/python"
mkdir -p "$(dirname "$native_root")"
exec 8>"$native_root.lock"; flock 8
if [ ! -f "$native_root/.complete" ]; then
    build_native() {
        rm -rf "$native_root"; mkdir -p "$native_root/build"
        tar xf "$work"/dl/python3.13_*.orig.tar.xz -C "$native_root"
        mv "$native_root"/Python-* "$native_root/src"
        cd "$native_root/build"
        ../src/configure -q --without-ensurepip
        make -j"$(nproc)" all
        touch "$native_root/.complete"
    }
    eryx_step "guest: native build Python" "$logs/native.log" build_native >&2
else
    echo "[eryx] guest: reusing native build Python $native_root" >&2
fi
exec 8>&-

# --- CPython for wasm32-wasi ----------------------------------------------------
wbuild="$work/wasi-build"
configure_wasi() {
    mkdir -p "$wbuild"; cd "$wbuild"
    cat "$pysrc/Tools/wasm/config.site-wasm32-wasi" "$here/config.site-eryx" > config.site
    mkdir -p empty-pkgconfig
    CONFIG_SITE="$wbuild/config.site" CC="$WCC" CPP="$WCC -E" AR=llvm-ar-19 RANLIB=llvm-ranlib-19 \
    PKG_CONFIG=false PKG_CONFIG_LIBDIR="$wbuild/empty-pkgconfig" \
    ZLIB_CFLAGS="-I$deps_dir/include" ZLIB_LIBS="-L$deps_dir/lib -lz" \
    LIBSQLITE3_CFLAGS="-I$deps_dir/include" LIBSQLITE3_LIBS="-L$deps_dir/lib -lsqlite3" \
    BZIP2_CFLAGS="-I$deps_dir/include" BZIP2_LIBS="-L$deps_dir/lib -lbz2" \
    LIBLZMA_CFLAGS="-I$deps_dir/include" LIBLZMA_LIBS="-L$deps_dir/lib -llzma" \
    "$pysrc/configure" --host=wasm32-unknown-wasi --build="$("$pysrc/config.guess")" \
        --with-build-python="$native" --prefix=/usr/local \
        --without-ensurepip --disable-test-modules --with-system-libmpdec=no \
        --with-system-expat=no --disable-ipv6
}
eryx_step "guest: configure (wasm32-wasi)" "$logs/configure-wasi.log" configure_wasi >&2
eryx_step "guest: make (wasm32-wasi)" "$logs/make-wasi.log" make -C "$wbuild" -j"$(nproc)" all >&2

# Link the reactor with the same objects and flags CPython's own link uses.
link_reactor() {
    cd "$wbuild"
    printf 'print-%%:\n\t@echo $($*)\n' > print.mk
    mk() { make -s -f Makefile -f print.mk "print-$1"; }
    $WCC $WCFLAGS -I. -I"$pysrc/Include" -c "$here/shim/eryx_shim.c" -o eryx_shim.o
    $WCC $WCFLAGS -c "$here/shim/cxa_abort.c" -o cxa_abort.o
    # A main module for late-linked extensions (docs/LATE-LINKING.md): a growable,
    # exported function table, the stack pointer, an allocator, and the symbols
    # extension side modules import (guest/main-exports.txt: numpy's), with the C++
    # runtime and long-double printf/scanf they need.
    sed 's/^/--export=/' "$here/main-exports.txt" > main-exports.rsp
    printf '%s\n' --export=__stack_pointer --export=aligned_alloc --export=eryx_ext_log \
        --export-table --growable-table >> main-exports.rsp
    $WCC -mexec-model=reactor $(mk PY_CORE_LDFLAGS) $(mk LINKFORSHARED) -o python-reactor.wasm \
        eryx_shim.o cxa_abort.o $(mk LINK_PYTHON_DEPS) $(mk LIBS) $(mk MODLIBS) $(mk SYSLIBS) \
        -lc++ -lc++abi -lc-printscan-long-double -Wl,@main-exports.rsp -Wl,--strip-debug
    echo "PY_CORE_LDFLAGS=$(mk PY_CORE_LDFLAGS)"
    echo "CONFIG_ARGS=$(mk CONFIG_ARGS)"
}
eryx_step "guest: link reactor" "$logs/link.log" link_reactor >&2

tmp="$out.tmp.$$"; rm -rf "$tmp"; mkdir -p "$tmp"
cp "$wbuild/python-reactor.wasm" "$tmp/python.wasm"
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
    grep -E '^checking for stdlib extension module' "$logs/configure-wasi.log" | grep -vE '\.\.\. yes$' || true
} > "$tmp/build-info.txt"
"$native" - "$here/sources.lock" "$work/dl" "$tmp" <<'PY'
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
