#!/usr/bin/env bash
# guest/cpython-tree.sh [--key]: the one CPython 3.13 wasm32-wasi build tree, from
# Debian sources (guest/sources.lock) with eryx's stdlib patches and config.site:
# the static deps (zlib, sqlite3, bzip2, liblzma), then CPython's configure + make.
# guest/build.sh links python.wasm from it; guest/numpy/build.sh compiles numpy's
# extension modules and links its test interpreters against it.
# Cached under $ERYX_CACHE/guest-tree/<key> (built in place, marked complete by
# .complete); the key hashes every input. Last stdout line: the tree's directory:
#   Python-3.13.5/   the patched source (Include/, Lib/); src -> Python-3.13.5
#   wasi-build/      the build dir: pyconfig.h, libpython3.13.a, Modules/ objects and
#                    archives, the Makefile, the sysconfig data
#   deps/            the static deps' include/ and lib/
#   sysroot/         the clean sysroot the tree was compiled with
#   dl/              the downloaded source packages
#   link-vars.txt    the Makefile's link variables (PY_CORE_LDFLAGS, LINKFORSHARED,
#                    LINK_PYTHON_DEPS, LIBS, MODLIBS, SYSLIBS, CONFIG_ARGS); their
#                    relative paths are relative to wasi-build/
#   configure.log    configure's output (which stdlib modules were not built)
#   build-python.path  the native build Python (same version) the tree was built with
# --key prints the key only, building nothing (the consumers' keys include it).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
top="$(cd "$here/.." && pwd)"
. "$top/scripts/lib.sh"

CC_WASM=clang-19
"$top/scripts/apt-install.sh" clang-19 lld-19 llvm-19 libclang-rt-19-dev-wasm32 wasi-libc dpkg-dev gcc make tcl xz-utils zstd >&2
toolchain="$($CC_WASM --version | head -1); $(gcc --version | head -1);
$(dpkg-query -W -f='${Package} ${Version}\n' wasi-libc libclang-rt-19-dev-wasm32 lld-19 llvm-19)"
# The speed settings (guest/speed.conf; ERYX_GUEST_<NAME> overrides one, for
# bench/guest-variant.sh), checked here so that a typo fails before any build.
die() { echo "[eryx] guest: $*" >&2; exit 1; }
. "$here/speed.conf"
PYMALLOC=${ERYX_GUEST_PYMALLOC:-$PYMALLOC}; LTO=${ERYX_GUEST_LTO:-$LTO}
DEPS_OPT=${ERYX_GUEST_DEPS_OPT:-$DEPS_OPT}; PGO_PROFILE=${ERYX_GUEST_PGO_PROFILE-$PGO_PROFILE}
case "$PYMALLOC" in yes|no) ;; *) die "PYMALLOC must be yes or no, not '$PYMALLOC'" ;; esac
case "$LTO" in no|thin|full) ;; *) die "LTO must be no, thin or full, not '$LTO'" ;; esac
case "$DEPS_OPT" in -O[0-3s]) ;; *) die "DEPS_OPT must be -O0..-O3 or -Os, not '$DEPS_OPT'" ;; esac
pgo_file=""
if [ -n "$PGO_PROFILE" ]; then
    case "$PGO_PROFILE" in /*) pgo_file=$PGO_PROFILE ;; *) pgo_file="$here/$PGO_PROFILE" ;; esac
    [ -f "$pgo_file" ] || die "PGO_PROFILE $pgo_file does not exist"
fi
key=$( {
    echo "speed: PYMALLOC=$PYMALLOC LTO=$LTO DEPS_OPT=$DEPS_OPT"
    if [ -n "$pgo_file" ]; then sha256sum < "$pgo_file"; fi
    cat "$here/sources.lock" "$here/fetch-sources.sh" "$here/config.site-eryx" \
        "$here"/stdlib-patches/*.patch "$here/cpython-tree.sh"
    echo "$toolchain"
} | sha256sum | cut -c1-16)
if [ "${1:-}" = --key ]; then echo "$key"; exit 0; fi
out="$ERYX_CACHE/guest-tree/$key"
if [ -f "$out/.complete" ]; then
    echo "[eryx] guest: reusing CPython tree $out" >&2
    echo "$out"; exit 0
fi
eryx_lock "$ERYX_CACHE/guest-tree/$key.lock" >&2
if [ -f "$out/.complete" ]; then echo "$out"; exit 0; fi

logs="$ERYX_CACHE/logs/guest-tree-$key"
rm -rf "$out"; mkdir -p "$out" "$logs"
echo "[eryx] guest: building CPython tree $out (logs: $logs)" >&2
t_all=$(eryx_now)

# --- sources -----------------------------------------------------------------
eryx_step "tree: fetch sources" "$logs/fetch.log" "$here/fetch-sources.sh" "$out/dl" >&2
eryx_step "tree: unpack sources" "$logs/unpack.log" bash -c "
    cd '$out' && for t in dl/*.orig.tar.*; do case \$t in *.asc) ;; *) tar xf \$t ;; esac; done
    for p in '$here'/stdlib-patches/*.patch; do patch -p1 -d Python-3.13.5 < \$p; done
    ln -s Python-3.13.5 src" >&2
pysrc="$out/Python-3.13.5"; zsrc=$(ls -d "$out"/zlib-*/); sqsrc=$(ls -d "$out"/sqlite3-*/)
bzsrc=$(ls -d "$out"/bzip2-*/); xzsrc=$(ls -d "$out"/xz-*/)

# A clean sysroot: only wasi-libc's wasm32-wasi headers and libraries, so no host
# header can leak into the guest.
sysroot="$out/sysroot"
mkdir -p "$sysroot/include" "$sysroot/lib"
ln -s /usr/include/wasm32-wasi "$sysroot/include/wasm32-wasi"
ln -s /usr/lib/wasm32-wasi "$sysroot/lib/wasm32-wasi"
WCC="$CC_WASM --target=wasm32-wasi --sysroot=$sysroot"
WCFLAGS="$DEPS_OPT -D_WASI_EMULATED_SIGNAL -D_WASI_EMULATED_GETPID -D_WASI_EMULATED_PROCESS_CLOCKS"
deps_dir="$out/deps"; mkdir -p "$deps_dir/include" "$deps_dir/lib"

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
eryx_step "tree: zlib (wasm)" "$logs/zlib.log" build_zlib >&2

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
eryx_step "tree: sqlite3 (wasm)" "$logs/sqlite.log" build_sqlite >&2

# --- bzip2 and liblzma (static, wasm) -------------------------------------------
build_bzip2() {
    cd "$bzsrc"
    for f in blocksort huffman crctable randtable compress decompress bzlib; do
        $WCC $WCFLAGS -c $f.c -o $f.o
    done
    llvm-ar-19 rcs "$deps_dir/lib/libbz2.a" blocksort.o huffman.o crctable.o randtable.o compress.o decompress.o bzlib.o
    cp bzlib.h "$deps_dir/include/"
}
eryx_step "tree: bzip2 (wasm)" "$logs/bzip2.log" build_bzip2 >&2
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
eryx_step "tree: liblzma (wasm)" "$logs/lzma.log" build_lzma >&2

# --- the build Python (native, same version; cached on its own) -----------------
# Built in place under the cache (its build dir points at its source dir), and
# marked complete only at the end; its own lock, since trees of several keys share
# it. The benchmarks use it as the native baseline.
native_key=$( { grep '^python3.13' "$here/sources.lock"; gcc --version | head -1; echo native-v2; } | sha256sum | cut -c1-16)
native_root="$ERYX_CACHE/build-python/$native_key"
native="$native_root/build/python"
mkdir -p "$(dirname "$native_root")"
exec 8>"$native_root.lock"; flock 8
if [ ! -f "$native_root/.complete" ]; then
    build_native() {
        rm -rf "$native_root"; mkdir -p "$native_root/build"
        tar xf "$out"/dl/python3.13_*.orig.tar.xz -C "$native_root"
        mv "$native_root"/Python-* "$native_root/src"
        cd "$native_root/build"
        ../src/configure -q --without-ensurepip
        make -j"$(nproc)" all
        touch "$native_root/.complete"
    }
    eryx_step "tree: native build Python" "$logs/native.log" build_native >&2
else
    echo "[eryx] guest: reusing native build Python $native_root" >&2
fi
exec 8>&-

# --- CPython for wasm32-wasi ----------------------------------------------------
wbuild="$out/wasi-build"
# A committed profile is LLVM's text format, zstd-compressed (guest/pgo/); clang
# reads the indexed form, made here from it.
if [ -n "$pgo_file" ]; then
    case "$pgo_file" in
        *.proftext.zst)
            zstd -d -q -c "$pgo_file" > "$out/pgo.proftext"
            llvm-profdata-19 merge -o "$out/pgo.profdata" "$out/pgo.proftext"
            rm -f "$out/pgo.proftext"
            pgo_file="$out/pgo.profdata" ;;
    esac
fi
# The speed settings reach CPython's own objects and link only (the *_NODIST flags
# stay out of sysconfig, so extension modules such as numpy's are built as before).
speed_args=() ; cflags_nodist="" ; ldflags_nodist=""
if [ "$PYMALLOC" = yes ]; then speed_args+=(--with-pymalloc); else speed_args+=(--without-pymalloc); fi
if [ "$LTO" != no ]; then cflags_nodist+=" -flto=$LTO"; ldflags_nodist+=" -flto=$LTO"; fi
if [ -n "$pgo_file" ]; then
    # Functions whose code differs from the native twin's keep no profile: the make
    # log's -Wprofile-instr-out-of-date warnings name them (docs/BENCHMARKS.md).
    cflags_nodist+=" -fprofile-instr-use=$pgo_file -Wno-profile-instr-unprofiled"
fi
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
    CFLAGS_NODIST="$cflags_nodist" LDFLAGS_NODIST="$ldflags_nodist" \
    "$pysrc/configure" --host=wasm32-unknown-wasi --build="$("$pysrc/config.guess")" \
        --with-build-python="$native" --prefix=/usr/local \
        --without-ensurepip --disable-test-modules --with-system-libmpdec=no \
        --with-system-expat=no --disable-ipv6 "${speed_args[@]}"
}
eryx_step "tree: configure (wasm32-wasi)" "$logs/configure-wasi.log" configure_wasi >&2
cp "$logs/configure-wasi.log" "$out/configure.log"
eryx_step "tree: make (wasm32-wasi)" "$logs/make-wasi.log" make -C "$wbuild" -j"$(nproc)" all >&2

# The link inputs of python.wasm as CPython's own link names them, for the consumers
# (read only: nothing else writes into a finished tree).
link_vars() {
    cd "$wbuild"
    printf 'print-%%:\n\t@echo $($*)\n' > print.mk
    for v in PY_CORE_LDFLAGS LINKFORSHARED LINK_PYTHON_DEPS LIBS MODLIBS SYSLIBS CONFIG_ARGS; do
        echo "$v=$(make -s -f Makefile -f print.mk "print-$v")"
    done > "$out/link-vars.txt"
}
eryx_step "tree: link vars" "$logs/linkvars.log" link_vars >&2
echo "$native" > "$out/build-python.path"
# The deps' sources (160 MB) are not needed once deps/ holds their libraries.
rm -rf "$zsrc" "$sqsrc" "$bzsrc" "$xzsrc"
touch "$out/.complete"
echo "[eryx] guest: CPython tree built in $(( $(eryx_now) - t_all ))s -> $out" >&2
echo "$out"
