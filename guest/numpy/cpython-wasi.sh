#!/usr/bin/env bash
# guest/numpy/cpython-wasi.sh: a CPython 3.13 wasm32-wasi build tree for building
# and linking extension modules against (pyconfig.h, Include/, libpython3.13.a,
# Modules/ objects, the static deps and the Makefile that names the link inputs).
# guest/build.sh deletes its work tree after linking python.wasm, so this repeats
# its configure + make with the same sources (guest/sources.lock), the same
# patches, config.site and flags, under $ERYX_CACHE/numpy/cpython-<key>.
# It reuses guest/build.sh's native build Python (same key formula); it never
# writes to guest/build.sh's cache. Last stdout line: the tree's directory
# (holding src/ = Python-3.13.5, wasi-build/, deps/, sysroot/).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
guest="$(cd "$here/.." && pwd)"
top="$(cd "$guest/.." && pwd)"
. "$top/scripts/lib.sh"

CC_WASM=clang-19
"$top/scripts/apt-install.sh" clang-19 lld-19 llvm-19 libclang-rt-19-dev-wasm32 wasi-libc dpkg-dev gcc make xz-utils >&2
toolchain="$($CC_WASM --version | head -1);
$(dpkg-query -W -f='${Package} ${Version}\n' wasi-libc libclang-rt-19-dev-wasm32 lld-19)"
key=$( {
    cat "$guest/sources.lock" "$guest/config.site-eryx" "$guest"/stdlib-patches/*.patch "$0"
    echo "$toolchain"
} | sha256sum | cut -c1-16)
out="$ERYX_CACHE/numpy/cpython-$key"
if [ -f "$out/.complete" ]; then echo "[eryx] numpy: reusing CPython wasi tree $out" >&2; echo "$out"; exit 0; fi
eryx_lock "$ERYX_CACHE/numpy/cpython-$key.lock" >&2
if [ -f "$out/.complete" ]; then echo "$out"; exit 0; fi

# guest/build.sh's native build Python (same formula as there).
native_key=$( { grep '^python3.13' "$guest/sources.lock"; gcc --version | head -1; echo native-v2; } | sha256sum | cut -c1-16)
native="$ERYX_CACHE/build-python/$native_key/build/python"
if [ ! -f "$ERYX_CACHE/build-python/$native_key/.complete" ]; then
    echo "[eryx] numpy: no native build Python at $native: run guest/build.sh once first" >&2
    exit 1
fi

logs="$ERYX_CACHE/logs/numpy-cpython-$key"
rm -rf "$out"; mkdir -p "$out" "$logs"
echo "[eryx] numpy: building CPython wasi tree $out (logs: $logs)" >&2
cd "$out"
eryx_step "numpy/cpython: fetch" "$logs/fetch.log" "$guest/fetch-sources.sh" "$out/dl" >&2
eryx_step "numpy/cpython: unpack" "$logs/unpack.log" bash -c "
    cd '$out' && for t in dl/*.orig.tar.*; do case \$t in *.asc) ;; *) tar xf \$t ;; esac; done
    for p in '$guest'/stdlib-patches/*.patch; do patch -p1 -d Python-3.13.5 < \$p; done
    mv Python-3.13.5 src" >&2
pysrc="$out/src"; zsrc=$(ls -d "$out"/zlib-*/); sqsrc=$(ls -d "$out"/sqlite3-*/)
bzsrc=$(ls -d "$out"/bzip2-*/); xzsrc=$(ls -d "$out"/xz-*/)
sysroot="$out/sysroot"
mkdir -p "$sysroot/include" "$sysroot/lib"
ln -s /usr/include/wasm32-wasi "$sysroot/include/wasm32-wasi"
ln -s /usr/lib/wasm32-wasi "$sysroot/lib/wasm32-wasi"
WCC="$CC_WASM --target=wasm32-wasi --sysroot=$sysroot"
WCFLAGS="-O2 -D_WASI_EMULATED_SIGNAL -D_WASI_EMULATED_GETPID -D_WASI_EMULATED_PROCESS_CLOCKS"
deps_dir="$out/deps"; mkdir -p "$deps_dir/include" "$deps_dir/lib"

# The four static deps, exactly as guest/build.sh builds them.
build_deps() {
    set -e
    cd "$zsrc"
    for f in adler32 compress crc32 deflate gzclose gzlib gzread gzwrite infback inffast \
             inflate inftrees trees uncompr zutil; do
        $WCC $WCFLAGS -DHAVE_UNISTD_H -c $f.c -o $f.o
    done
    llvm-ar-19 rcs "$deps_dir/lib/libz.a" *.o; cp zlib.h zconf.h "$deps_dir/include/"
    cd "$sqsrc"
    ./configure --disable-tcl >/dev/null
    make -j"$(nproc)" sqlite3.c
    $WCC $WCFLAGS -DSQLITE_THREADSAFE=0 -DSQLITE_OMIT_LOAD_EXTENSION -DSQLITE_OMIT_WAL \
        -DSQLITE_OMIT_SHARED_CACHE -DSQLITE_NOHAVE_SYSTEM -DSQLITE_MAX_MMAP_SIZE=0 \
        -DSQLITE_OMIT_DEPRECATED -DSQLITE_DQS=0 -c sqlite3.c -o sqlite3.o
    llvm-ar-19 rcs "$deps_dir/lib/libsqlite3.a" sqlite3.o; cp sqlite3.h sqlite3ext.h "$deps_dir/include/"
    cd "$bzsrc"
    for f in blocksort huffman crctable randtable compress decompress bzlib; do $WCC $WCFLAGS -c $f.c -o $f.o; done
    llvm-ar-19 rcs "$deps_dir/lib/libbz2.a" blocksort.o huffman.o crctable.o randtable.o compress.o decompress.o bzlib.o
    cp bzlib.h "$deps_dir/include/"
    cd "$xzsrc"
    ./configure --host=wasm32-unknown-wasi CC="$WCC" CFLAGS="$WCFLAGS" AR=llvm-ar-19 RANLIB=llvm-ranlib-19 \
        --disable-threads --enable-static --disable-shared --disable-xz --disable-xzdec --disable-lzmadec \
        --disable-lzmainfo --disable-lzma-links --disable-scripts --disable-doc --disable-nls \
        --disable-ifunc --disable-clmul-crc --disable-arm64-crc32
    make -C src/liblzma -j"$(nproc)"
    cp src/liblzma/.libs/liblzma.a "$deps_dir/lib/"
    cp -r src/liblzma/api/lzma.h src/liblzma/api/lzma "$deps_dir/include/"
}
eryx_step "numpy/cpython: static deps" "$logs/deps.log" build_deps >&2

wbuild="$out/wasi-build"
configure_wasi() {
    mkdir -p "$wbuild"; cd "$wbuild"
    cat "$pysrc/Tools/wasm/config.site-wasm32-wasi" "$guest/config.site-eryx" > config.site
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
eryx_step "numpy/cpython: configure" "$logs/configure.log" configure_wasi >&2
eryx_step "numpy/cpython: make" "$logs/make.log" make -C "$wbuild" -j"$(nproc)" all >&2
# Link inputs of python.wasm, as guest/build.sh's link_reactor reads them.
link_vars() {
    cd "$wbuild"
    printf 'print-%%:\n\t@echo $($*)\n' > print.mk
    for v in PY_CORE_LDFLAGS LINKFORSHARED LINK_PYTHON_DEPS LIBS MODLIBS SYSLIBS; do
        echo "$v=$(make -s -f Makefile -f print.mk "print-$v")"
    done > "$out/link-vars.txt"
}
eryx_step "numpy/cpython: link vars" "$logs/linkvars.log" link_vars >&2
echo "$native" > "$out/build-python.path"
echo "sysroot=$sysroot" > "$out/paths.txt"
touch "$out/.complete"
echo "$out"
