#!/usr/bin/env bash
# guest/numpy/build.sh: cross-compiles numpy (sdist pinned in numpy.lock) for
# wasm32-wasi with the interpreter's toolchain (clang-19, wasm-ld-19, Debian's 2022
# wasi-libc, Debian's wasm32 libc++/libc++abi) against the CPython 3.13 wasi build
# tree from guest/cpython-tree.sh (the one guest/build.sh links python.wasm from).
# Cached under $ERYX_CACHE/numpy/<key>; the key hashes every input (the tree's by
# its key). The last stdout line is the output directory, which holds:
#   site-packages/         numpy's installed pure-Python tree (no extension files)
#   static/<dotted>.a      one static archive per extension module, holding one
#                          relocatable object (its objects plus the static-library
#                          members it needs, wasm-ld -r) in which only PyInit_<last>
#                          is global; static/liberyx_cxa_abort.a (see shim/)
#   side/<dotted>.so       the same module linked as a PIC side module (dylink.0),
#                          when that link succeeded; side/<dotted>.log otherwise
#   modules.tsv            dotted name, PyInit symbol, archive, side-module status
#   side-imports.txt       what each side module imports (wasm-info.py --summary)
#   side-check.txt         which archive defines each symbol the side modules import
#   link-static.txt        route (a): linking a command python.wasm with every module
#                          built in (link-check.sh), undefined symbols if any; on
#                          success python-numpy.wasm, run by smoke-test.py
#                          (smoke-test.txt)
#   link-main.txt          route (b): linking a python.wasm (reactor) that exports
#                          everything the side modules import (link-check.sh); on
#                          success python-main.wasm, run by smoke-test.py --side, which
#                          loads side/*.so (smoke-test-side.txt)
#   build-info.txt         versions, flags, timings
# See docs/NUMPY-BUILD.md.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
guest="$(cd "$here/.." && pwd)"
top="$(cd "$guest/.." && pwd)"
. "$top/scripts/lib.sh"

"$top/scripts/apt-install.sh" clang-19 lld-19 llvm-19 libclang-rt-19-dev-wasm32 wasi-libc \
    libc++-19-dev-wasm32 libc++abi-19-dev-wasm32 python3-venv curl >&2

# The CPython wasi build tree (pyconfig.h, Include/, libpython3.13.a): a stage of
# its own, shared with guest/build.sh; its key stands for everything it is made of.
tree_key=$("$guest/cpython-tree.sh" --key)
read -r np_ver np_file np_sha < <(grep -v '^#' "$here/numpy.lock" | grep . | head -n 1)

toolchain="$(clang-19 --version | head -1); $(/usr/bin/python3 --version);
$(dpkg-query -W -f='${Package} ${Version}\n' wasi-libc libclang-rt-19-dev-wasm32 lld-19 \
    libc++-19-dev-wasm32 libc++abi-19-dev-wasm32)"
key=$( {
    cat "$here/numpy.lock" "$here/build-tools.txt" "$here/build.sh" \
        "$here/link-check.sh" "$here/wasmbin.py" "$here/wasm-info.py" "$here/side-check.py" "$here/smoke-test.py" "$here/wasm-localize.py" "$here/make-package.sh" "$here/../shim/cxa_abort.c"
    ls "$here"/patches/*.patch >/dev/null 2>&1 && cat "$here"/patches/*.patch
    echo "$toolchain"
    echo "cpython-tree $tree_key"
} | sha256sum | cut -c1-16)
out="$ERYX_CACHE/numpy/$key"
eryx_cached numpy "$out/build-info.txt" "$out" "$key" && exit 0
# One work dir for every key, under one lock: the build writes its own paths into
# the outputs (Cython's .pyx paths in the modules, numpy/__config__.py), so a
# key-named work dir would make the bytes depend on the key. Builds of different
# keys wait for each other.
eryx_lock "$ERYX_CACHE/numpy/build.lock" >&2
eryx_cached numpy "$out/build-info.txt" "$out" "$key" && exit 0
cpy=$("$guest/cpython-tree.sh" | tail -n 1)
native=$(cat "$cpy/build-python.path")

work="$ERYX_CACHE/numpy/work"
logs="$ERYX_CACHE/logs/numpy-$key"
rm -rf "$work"; mkdir -p "$work/bin" "$logs"
echo "[eryx] numpy: building numpy $np_ver, key $key in $work (logs: $logs)" >&2
t_all=$(eryx_now)

# --- sdist (PyPI, sha256-checked), build tools (pip --require-hashes) ----------------
dl="$ERYX_CACHE/numpy/dl"; mkdir -p "$dl"
fetch_sdist() {
    if [ ! -f "$dl/$np_file" ] || [ "$(sha256sum < "$dl/$np_file" | cut -c1-64)" != "$np_sha" ]; then
        # The download URL as PyPI's JSON API gives it (resolved against the API URL).
        local api="https://pypi.org/pypi/numpy/json" url
        url=$(curl -fsSL --retry 3 "$api" | /usr/bin/python3 -c '
import json, sys, urllib.parse
api, ver, fn = sys.argv[1:]
for f in json.load(sys.stdin)["releases"][ver]:
    if f["filename"] == fn:
        print(urllib.parse.urljoin(api, f["url"])); break' "$api" "$np_ver" "$np_file")
        [ -n "$url" ] || { echo "numpy $np_ver has no file $np_file on PyPI" >&2; return 1; }
        curl -fsSL --retry 3 -o "$dl/$np_file.part" "$url"
        mv "$dl/$np_file.part" "$dl/$np_file"
    fi
    local got; got=$(sha256sum < "$dl/$np_file" | cut -c1-64)
    if [ "$got" != "$np_sha" ]; then
        echo "$np_file has sha256 $got, numpy.lock says $np_sha: refusing to build" >&2
        rm -f "$dl/$np_file"; return 1
    fi
    echo "sha256 ok: $np_sha"
}
eryx_step "numpy: fetch sdist" "$logs/fetch.log" fetch_sdist >&2

tools_key=$( { cat "$here/build-tools.txt"; /usr/bin/python3 --version; } | sha256sum | cut -c1-16)
venv="$ERYX_CACHE/numpy/tools-$tools_key"
setup_tools() {
    [ -f "$venv/.complete" ] && { echo "reusing $venv"; return 0; }
    rm -rf "$venv"
    /usr/bin/python3 -m venv "$venv"
    "$venv/bin/pip" install --no-cache-dir --require-hashes --only-binary :all: -r "$here/build-tools.txt"
    touch "$venv/.complete"
}
( exec 8>"$venv.lock"; flock 8; eryx_step "numpy: build tools (venv)" "$logs/tools.log" setup_tools ) >&2

src="$work/numpy-$np_ver"
unpack() {
    tar xzf "$dl/$np_file" -C "$work"
    for p in "$here"/patches/*.patch; do
        [ -f "$p" ] || continue
        echo "applying $(basename "$p")"; patch -p1 -d "$src" < "$p"
    done
}
eryx_step "numpy: unpack + patch" "$logs/unpack.log" unpack >&2

# --- cross environment ----------------------------------------------------------------
sysroot="$work/sysroot"   # only wasi-libc's (and libc++'s) wasm32-wasi files
mkdir -p "$sysroot/include" "$sysroot/lib"
ln -s /usr/include/wasm32-wasi "$sysroot/include/wasm32-wasi"
ln -s /usr/lib/wasm32-wasi "$sysroot/lib/wasm32-wasi"
WCFLAGS="-O2 -D_WASI_EMULATED_SIGNAL -D_WASI_EMULATED_GETPID -D_WASI_EMULATED_PROCESS_CLOCKS"
# Side modules: PIC, no libc (the main module provides it), unresolved symbols
# become imports; compiler-rt's builtins (long double soft-float, PIC-safe) linked in.
builtins=$(clang-19 --target=wasm32-wasi -print-libgcc-file-name)
SIDE_LDFLAGS="-shared -nostdlib -Wl,--experimental-pic -Wl,--no-entry -Wl,--unresolved-symbols=import-dynamic $builtins"

# CPython's headers as an installed include dir would be (Include/ + the wasi pyconfig.h).
pyinc="$work/python-include/python3.13"
mkdir -p "$pyinc"; cp -r "$cpy/src/Include/." "$pyinc/"; cp "$cpy/wasi-build/pyconfig.h" "$pyinc/"

# The host Python meson introspects: the native 3.13 build Python reading the wasi
# build's sysconfig data (as crossenv does), its INCLUDEPY pointed at $pyinc.
pyhost="$work/pyhost"; mkdir -p "$pyhost"
sysdata=$(ls "$cpy"/wasi-build/build/lib.wasi-wasm32-3.13/_sysconfigdata_*.py)
"$native" - "$sysdata" "$pyhost/$(basename "$sysdata")" "$pyinc" <<'PY'
import sys, pprint
src, dst, inc = sys.argv[1:]
ns = {}; exec(open(src).read(), ns)
v = ns["build_time_vars"]
v["INCLUDEPY"] = v["CONFINCLUDEPY"] = inc
v["LIBPC"] = "/nonexistent"        # no pkg-config files: meson uses the vars above
with open(dst, "w") as f:
    f.write("# generated by guest/numpy/build.sh from %s\nbuild_time_vars = " % src)
    pprint.pprint(v, stream=f)
PY
sysname=$(basename "$sysdata" .py)
cat > "$work/bin/python3-wasi" <<EOF
#!/bin/sh
# native CPython 3.13 answering sysconfig questions for wasm32-wasi
# _PYTHON_PROJECT_BASE: sysconfig's platinclude dir (a build-tree Python's own
# build dir, with the native pyconfig.h, otherwise) is the wasi build dir instead
export _PYTHON_SYSCONFIGDATA_NAME=$sysname _PYTHON_HOST_PLATFORM=wasi-wasm32 _PYTHON_PROJECT_BASE=$cpy/wasi-build
export PYTHONPATH="$pyhost\${PYTHONPATH:+:\$PYTHONPATH}"
exec "$native" "\$@"
EOF

# Compiler drivers. Ordinary compiles and links (meson's checks) go to clang as they
# are. An extension-module link (-shared) records its inputs in OUT.inputs (turned
# into static/<module>.a later) and tries a PIC side module; a failed side link is
# logged, not fatal, so the build carries on and route (a) still gets every module.
cat > "$work/bin/wasm-cc" <<EOF
#!/usr/bin/env bash
drv=clang-19; case "\$(basename "\$0")" in *++) drv=clang++-19;; esac
base=(--target=wasm32-wasi --sysroot=$sysroot)
shared=0 out="" prev=""
for a in "\$@"; do
    [ "\$prev" = "-o" ] && out="\$a"
    [ "\$a" = "-shared" ] && shared=1
    prev="\$a"
done
# GNU ld options meson adds that wasm-ld 19 rejects (archives are rescanned anyway)
args=()
for a in "\$@"; do
    case "\$a" in
        -Wl,--start-group|-Wl,--end-group|-Wl,--as-needed|-Wl,--no-as-needed|-Wl,--allow-shlib-undefined) ;;
        *) args+=("\$a");;
    esac
done
[ \$shared = 1 ] || exec \$drv "\${base[@]}" "\${args[@]}"
ins=() link=()
for a in "\$@"; do
    case "\$a" in
        *.o|*.a) ins+=("\$(realpath "\$a")"); link+=("\$a");;
        -Wl,--whole-archive|-Wl,--no-whole-archive) link+=("\$a");;
    esac
done
printf '%s\n' "\${ins[@]}" > "\$out.inputs"
if \$drv "\${base[@]}" $SIDE_LDFLAGS -o "\$out" "\${link[@]}" > "\$out.sidelink.log" 2>&1; then
    echo ok > "\$out.sidelink.status"
else
    echo failed > "\$out.sidelink.status"; : > "\$out"
fi
exit 0
EOF
ln -s wasm-cc "$work/bin/wasm-c++"
chmod +x "$work/bin/"*

meson_list() { local s="" a; for a in "$@"; do s="$s${s:+, }'$a'"; done; echo "[$s]"; }
cat > "$work/cross.ini" <<EOF
# generated by guest/numpy/build.sh
[binaries]
c = '$work/bin/wasm-cc'
cpp = '$work/bin/wasm-c++'
ar = 'llvm-ar-19'
ranlib = 'llvm-ranlib-19'
strip = 'llvm-strip-19'
python = '$work/bin/python3-wasi'
python3 = '$work/bin/python3-wasi'
cython = '$venv/bin/cython'
pkg-config = '/bin/false'

[properties]
needs_exe_wrapper = true
skip_sanity_check = true
# wasm32's long double is IEEE binary128 (clang: 16 bytes), as for emscripten
longdouble_format = 'IEEE_QUAD_LE'

[built-in options]
c_args = $(meson_list $WCFLAGS)
# CPython's Include/cpython/pthread_stubs.h (used on WASI) spells C99 'restrict',
# which C++ lacks: clang's __restrict is the same qualifier.
cpp_args = $(meson_list $WCFLAGS -Drestrict=__restrict)
c_link_args = ['-lwasi-emulated-signal', '-lwasi-emulated-getpid', '-lwasi-emulated-process-clocks']
cpp_link_args = ['-lwasi-emulated-signal', '-lwasi-emulated-getpid', '-lwasi-emulated-process-clocks']

[host_machine]
system = 'wasi'
cpu_family = 'wasm32'
cpu = 'wasm32'
endian = 'little'
EOF

# --- configure, compile, install ---------------------------------------------------------
bld="$work/build"
MESON=("$venv/bin/python" "$src/vendored-meson/meson/meson.py")
export PATH="$venv/bin:$PATH"
# python.bytecompile=-1: sources only; .pyc files would carry build-time mtimes of
# generated files (not reproducible), and the guest's image packer compiles anyway.
meson_opts=(--prefix=/usr/local --buildtype=plain -Db_ndebug=true -Dpython.bytecompile=-1
    -Dpython.platlibdir=/usr/local/lib/python3.13/site-packages
    -Dpython.purelibdir=/usr/local/lib/python3.13/site-packages
    -Dblas=none -Dlapack=none -Dallow-noblas=true
    -Ddisable-svml=true -Ddisable-highway=true -Ddisable-intel-sort=true
    -Ddisable-threading=true -Ddisable-optimization=true
    -Dcpu-baseline=none -Dcpu-dispatch=none)
eryx_step "numpy: meson setup" "$logs/setup.log" \
    "${MESON[@]}" setup "$bld" "$src" --cross-file "$work/cross.ini" "${meson_opts[@]}" >&2
t_compile=$(eryx_now)
eryx_step "numpy: compile (ninja)" "$logs/compile.log" ninja -C "$bld" -j"$(nproc)" >&2
compile_seconds=$(( $(eryx_now) - t_compile ))
# install tags runtime + python-runtime: no tests (numpy tags them `tests`)
eryx_step "numpy: install (staging)" "$logs/install.log" \
    "${MESON[@]}" install -C "$bld" --no-rebuild --destdir "$work/stage" --tags runtime,python-runtime >&2

# --- collect outputs -----------------------------------------------------------------------
tmp="$out.tmp.$$"; rm -rf "$tmp"; mkdir -p "$tmp/static" "$tmp/side"
trap 'rm -rf "$tmp"' EXIT
collect() {
    set -e
    cp -a "$work/stage/usr/local/lib/python3.13/site-packages" "$tmp/site-packages"
    "${MESON[@]}" introspect "$bld" --targets > "$work/targets.json"
    mkdir -p "$work/partial"
    "$native" - "$work/targets.json" "$tmp" "$work/partial" "$here/wasm-localize.py" <<'PY'
import json, os, subprocess, sys
targets, out, partial, localize = sys.argv[1:]
sp = "/usr/local/lib/python3.13/site-packages/"
rows, skipped = [], []
for t in json.load(open(targets)):
    if t["type"] != "shared module" or not t.get("installed"):
        continue
    built, inst = t["filename"][0], t["install_filename"][0]
    rel = inst[len(sp):]
    dotted = rel.split(".")[0].replace("/", ".")
    init = "PyInit_" + dotted.rsplit(".", 1)[-1]
    if not os.path.exists(os.path.join(out, "site-packages", rel)):
        skipped.append(dotted)      # install tag `tests` (numpy's test-only modules)
        continue
    os.remove(os.path.join(out, "site-packages", rel))        # the .so does not stay there
    ins = [l for l in open(built + ".inputs").read().split("\n") if l]
    arc = os.path.join(out, "static", dotted + ".a")
    # One relocatable object per module, as its shared library would be: its objects
    # plus the archive members they need (wasm-ld -r), every symbol but PyInit_<name>
    # made local (wasm-localize.py), so modules linked together cannot bind to each
    # other's private symbols (mtrand's legacy distributions vs npyrandom).
    obj = os.path.join(partial, dotted + ".o")
    subprocess.run(["wasm-ld-19", "-r", "-o", obj] + ins, check=True)
    subprocess.run(["/usr/bin/python3", localize, obj, init], check=True)
    subprocess.run(["llvm-ar-19", "rcs", arc, obj], check=True)
    nm = subprocess.run(["llvm-nm-19", "--defined-only", "-g", arc], capture_output=True, text=True).stdout
    has = any(l.split()[-1] == init for l in nm.splitlines() if len(l.split()) == 3)
    status = open(built + ".sidelink.status").read().strip()
    if status == "ok":
        subprocess.run(["cp", built, os.path.join(out, "side", dotted + ".so")], check=True)
    else:
        subprocess.run(["cp", built + ".sidelink.log", os.path.join(out, "side", dotted + ".log")], check=True)
    rows.append((dotted, init, "defined" if has else "MISSING", status))
rows.sort()
with open(os.path.join(out, "modules.tsv"), "w") as f:
    f.write("# module\tinit symbol\tin static/<module>.a\tside-module link\n")
    for r in rows:
        f.write("\t".join(r) + "\n")
print(f"{len(rows)} extension modules; not installed (test-only): {' '.join(sorted(skipped))}")
if any(r[2] != "defined" for r in rows):
    sys.exit("a static archive lacks its PyInit symbol (see modules.tsv)")
PY
    clang-19 --target=wasm32-wasi --sysroot="$sysroot" $WCFLAGS -c "$here/../shim/cxa_abort.c" -o "$work/cxa_abort.o"
    llvm-ar-19 rcs "$tmp/static/liberyx_cxa_abort.a" "$work/cxa_abort.o"
    if ls "$tmp"/side/*.so >/dev/null 2>&1; then
        /usr/bin/python3 "$here/wasm-info.py" --summary "$tmp"/side/*.so | sed "s|$tmp/side/||" > "$tmp/side-imports.txt"
        /usr/bin/python3 "$here/wasm-info.py" "$tmp"/side/*.so | sed "s|$tmp/side/||" > "$tmp/side-imports-full.txt"
        local L=/usr/lib/wasm32-wasi
        /usr/bin/python3 "$here/side-check.py" "$tmp/side-imports-full.txt" \
            libpython="$cpy/wasi-build/libpython3.13.a" libc=$L/libc.a libc++=$L/libc++.a \
            libc++abi=$L/libc++abi.a eryx_cxa_abort="$tmp/static/liberyx_cxa_abort.a" \
            compiler-rt="$builtins" > "$tmp/side-check.txt"
    fi
}
eryx_step "numpy: collect outputs" "$logs/collect.log" collect >&2
eryx_step "numpy: link checks (a), (b)" "$logs/link-check.log" \
    "$here/link-check.sh" "$tmp" "$cpy" "$sysroot" >&2

# Runs both links' interpreters under wasmtime: `import numpy` and a short exercise
# (smoke-test.py). A link that failed is reported in link-*.txt and skipped here; a
# link that succeeded but does not run numpy fails the build.
smoke() {
    local rc=0
    if [ -f "$tmp/python-numpy.wasm" ]; then
        echo "== route (a): python-numpy.wasm"
        "$venv/bin/python" "$here/smoke-test.py" "$tmp" "$cpy" > "$tmp/smoke-test.txt" 2>&1 || true
        cat "$tmp/smoke-test.txt"; grep -q '^OK$' "$tmp/smoke-test.txt" || rc=1
    fi
    if [ -f "$tmp/python-main.wasm" ]; then
        echo "== route (b): python-main.wasm + side/*.so"
        "$venv/bin/python" "$here/smoke-test.py" --side "$tmp" "$cpy" > "$tmp/smoke-test-side.txt" 2>&1 || true
        cat "$tmp/smoke-test-side.txt"; grep -q '^OK$' "$tmp/smoke-test-side.txt" || rc=1
    fi
    return $rc
}
eryx_step "numpy: smoke test (wasmtime)" "$logs/smoke.log" smoke >&2
# numpy as an eryx package (a source tree: --package OUT/package), the layout the
# sandbox's importer loads side modules from (docs/LATE-LINKING.md).
eryx_step "numpy: package layout" "$logs/package.log" "$here/make-package.sh" "$tmp" "$tmp/package" "$native" >&2

{
    echo "key=$key"
    echo "numpy=$np_ver $np_file sha256=$np_sha"
    echo "toolchain=$toolchain" | tr '\n' ' '; echo
    echo "cpython_tree=$cpy"
    echo "wasm_cflags=$WCFLAGS"
    echo "side_ldflags=$SIDE_LDFLAGS"
    echo "meson_options=${meson_opts[*]}"
    echo "patches=$(cd "$here/patches" && ls *.patch 2>/dev/null | tr '\n' ' ')"
    echo "compile_seconds=$compile_seconds"
    echo "build_seconds=$(( $(eryx_now) - t_all ))"
    echo "site_packages_bytes=$(du -sb "$tmp/site-packages" | cut -f1)"
    echo "static_bytes=$(du -scb "$tmp"/static/*.a | tail -1 | cut -f1)"
    echo "side_bytes=$(du -scb "$tmp"/side/*.so 2>/dev/null | tail -1 | cut -f1)"
} > "$tmp/build-info.txt"
rm -rf "$out"; mv "$tmp" "$out"
rm -rf "$work"   # kept only when a step fails, for its logs and objects
echo "[eryx] numpy: built in $(( $(eryx_now) - t_all ))s -> $out" >&2
echo "$out"
