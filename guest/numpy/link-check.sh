#!/usr/bin/env bash
# link-check.sh OUT CPYTHON_TREE SYSROOT: the two link routes, as findings (exits 0
# whatever they show). Both start from the CPython wasi tree's own link inputs
# (PY_CORE_LDFLAGS, libpython3.13.a, LIBS, MODLIBS, SYSLIBS, as guest/build.sh's
# link_reactor uses them; a command module here, so it can be run directly) and
# add libc++/libc++abi and wasi-libc's libc-printscan-long-double (numpy parses
# and prints long doubles: without it wasi-libc's strtold_l and printf %Lf call
# abort(), which `import numpy` hits).
#
# (a) OUT/link-static.txt: every numpy module archive in OUT/static linked in and
#     registered in an inittab under its dotted name (BuiltinImporter finds
#     `numpy._core._multiarray_umath` etc. by full name), plus the shim archive.
#     On success OUT/python-numpy.wasm (and the size of the same link without numpy).
# (b) OUT/link-main.txt: a main module for the PIC side modules in OUT/side: the
#     same interpreter, exporting every symbol the side modules import (OUT/
#     side-check.txt), its stack pointer, aligned_alloc and its function table
#     (growable) exported, and an inittab whose entries ask the host to load the
#     side module (import eryx_dl.load; smoke-test.py --side implements it). On
#     success OUT/python-main.wasm.
set -euo pipefail
out="$1" cpy="$2" sysroot="$3"
here="$(cd "$(dirname "$0")" && pwd)"
wb="$cpy/wasi-build"
WCC="clang-19 --target=wasm32-wasi --sysroot=$sysroot"
WCFLAGS="-O2 -D_WASI_EMULATED_SIGNAL -D_WASI_EMULATED_GETPID -D_WASI_EMULATED_PROCESS_CLOCKS"
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
var() { sed -n "s/^$1=//p" "$cpy/link-vars.txt"; }
py_inputs="$(var LINK_PYTHON_DEPS) $(var LIBS) $(var MODLIBS) $(var SYSLIBS)"
extra="-lc++ -lc++abi -lc-printscan-long-double"
ldflags="$(var PY_CORE_LDFLAGS) $(var LINKFORSHARED) -Wl,--strip-debug -Wl,--error-limit=0"

# main() with numpy's modules in the inittab ((a)), or none ((b) and the baseline)
gen_main() {
    echo '#include "Python.h"'
    if [ "$1" = side ]; then
        # each inittab entry asks the host (import eryx_dl.load) to load the side
        # module, and calls the init function it returns as a table index
        echo '__attribute__((import_module("eryx_dl"), import_name("load")))'
        echo 'extern int eryx_dl_load(const char *mod, size_t mod_len, const char *sym, size_t sym_len);'
        echo 'static PyObject *load_side(const char *mod, const char *init) {'
        echo '    int idx = eryx_dl_load(mod, strlen(mod), init, strlen(init));'
        echo '    if (idx <= 0) { PyErr_Format(PyExc_ImportError, "eryx_dl: cannot load side module %s", mod); return NULL; }'
        echo '    return ((PyObject *(*)(void))(uintptr_t)idx)();'
        echo '}'
        while IFS=$'\t' read -r mod init _; do
            case "$mod" in '#'*|'') continue;; esac
            echo "static PyObject *stub_$init(void) { return load_side(\"$mod\", \"$init\"); }"
        done < "$out/modules.tsv"
    fi
    if [ "$1" = numpy ]; then
        while IFS=$'\t' read -r mod init _; do
            case "$mod" in '#'*|'') continue;; esac
            echo "extern PyObject *$init(void);"
        done < "$out/modules.tsv"
    fi
    echo 'static struct _inittab extra_inittab[] = {'
    if [ "$1" = numpy ]; then
        while IFS=$'\t' read -r mod init _; do
            case "$mod" in '#'*|'') continue;; esac
            echo "    {\"$mod\", $init},"
        done < "$out/modules.tsv"
    elif [ "$1" = side ]; then
        while IFS=$'\t' read -r mod init _; do
            case "$mod" in '#'*|'') continue;; esac
            echo "    {\"$mod\", stub_$init},"
        done < "$out/modules.tsv"
    fi
    echo '    {0, 0}};'
    echo 'int main(int argc, char **argv) {'
    echo '    if (PyImport_ExtendInittab(extra_inittab) < 0) return 1;'
    echo '    return Py_BytesMain(argc, argv);'
    echo '}'
    if [ "$1" = side ]; then
        # a reactor (as eryx's python.wasm is): a command module wraps every export
        # in ctors/dtors calls, which breaks calls from side modules into the main.
        # eryx_run runs main() with the WASI arguments, after _initialize.
        echo 'extern int __main_void(void);'
        echo '__attribute__((export_name("eryx_run"))) int eryx_run(void) { return __main_void(); }'
    fi
}
gen_main numpy > "$out/link-static-main.c"
gen_main none > "$tmp/plain_main.c"
gen_main side > "$out/link-main-main.c"
$WCC $WCFLAGS -I"$wb" -I"$cpy/src/Include" -c "$out/link-static-main.c" -o "$tmp/numpy_main.o"
$WCC $WCFLAGS -I"$wb" -I"$cpy/src/Include" -c "$tmp/plain_main.c" -o "$tmp/plain_main.o"
$WCC $WCFLAGS -I"$wb" -I"$cpy/src/Include" -c "$out/link-main-main.c" -o "$tmp/side_main.o"

report() {  # report TITLE RC LOG WASM CMD
    echo "# $1"
    echo "# (cd $wb && $5)" | sed "s|$tmp|\$TMP|g; s|$out|\$OUT|g"
    echo "exit=$2"
    if [ "$2" -eq 0 ]; then
        echo "ok: $(stat -c %s "$4") bytes; $(/usr/bin/python3 "$here/wasm-info.py" --summary "$4" | sed 's|^.*: ||')"
        # e.g. "function signature mismatch": the call sites that lose trap at run time
        echo "wasm-ld warnings: $(grep -c 'warning:' "$3")"
        grep -A2 'warning:' "$3" | head -30 || true
    else
        echo "undefined symbols (count of referencing sites, symbol):"
        grep -o 'undefined symbol: .*' "$3" | sed 's/undefined symbol: //' | sort | uniq -c
        echo "other errors:"
        grep -v 'undefined symbol' "$3" | head -40
    fi
}

# --- (a) static ---------------------------------------------------------------------
archives=$(ls "$out"/static/numpy.*.a | tr '\n' ' ')
cmd_a="$WCC $ldflags -o $tmp/python-numpy.wasm $tmp/numpy_main.o $archives $out/static/liberyx_cxa_abort.a $py_inputs $extra"
set +e; (cd "$wb" && eval "$cmd_a") > "$tmp/a.log" 2>&1; rc=$?; set -e
cmd_0="$WCC $ldflags -o $tmp/python-plain.wasm $tmp/plain_main.o $py_inputs $extra"
set +e; (cd "$wb" && eval "$cmd_0") > "$tmp/0.log" 2>&1; rc0=$?; set -e
{
    report "route (a): every numpy module linked statically into a command python.wasm" $rc "$tmp/a.log" "$tmp/python-numpy.wasm" "$cmd_a"
    echo
    report "baseline: the same link without numpy" $rc0 "$tmp/0.log" "$tmp/python-plain.wasm" "$cmd_0"
    if [ $rc -eq 0 ] && [ $rc0 -eq 0 ]; then
        echo
        echo "numpy adds $(( $(stat -c %s "$tmp/python-numpy.wasm") - $(stat -c %s "$tmp/python-plain.wasm") )) bytes to python.wasm"
    fi
} > "$out/link-static.txt"
[ $rc -eq 0 ] && cp "$tmp/python-numpy.wasm" "$out/python-numpy.wasm"
cat "$out/link-static.txt"

# --- (b) main module for side modules -------------------------------------------------------
if [ -f "$out/side-check.txt" ]; then
    # every distinct symbol the side modules import, whoever defines it
    awk -F'\t' '/^# non-Python symbols/ {f=1; next} f && NF==2 {print $2}' "$out/side-check.txt" > "$tmp/syms"
    awk -F'\t' '$1=="env" && $2=="func" {print $3} $1 ~ /^GOT\./ {print $3}' "$out/side-imports-full.txt" >> "$tmp/syms"
    sort -u "$tmp/syms" | grep -v '^__\(add\|sub\|mul\|div\|eq\|ne\|lt\|le\|gt\|ge\|unord\|extend\|trunc\|fix\|float\)' \
        | sed 's/^/--export=/' > "$tmp/exports.rsp"
    nsyms=$(wc -l < "$tmp/exports.rsp")
    # and what a loader needs: the stack pointer the side modules import, an allocator
    printf '%s\n' --export=__stack_pointer --export=aligned_alloc >> "$tmp/exports.rsp"
    cmd_b="$WCC -mexec-model=reactor $ldflags -Wl,--export-table -Wl,--growable-table -Wl,@$tmp/exports.rsp -o $tmp/python-main.wasm $tmp/side_main.o $out/static/liberyx_cxa_abort.a $py_inputs $extra"
    set +e; (cd "$wb" && eval "$cmd_b") > "$tmp/b.log" 2>&1; rcb=$?; set -e
    {
        report "route (b): a main module (reactor) exporting the $nsyms symbols the side modules import (compiler-rt builtins excluded: linked into each side module), __stack_pointer and aligned_alloc" $rcb "$tmp/b.log" "$tmp/python-main.wasm" "$cmd_b"
    } > "$out/link-main.txt"
    [ $rcb -eq 0 ] && cp "$tmp/python-main.wasm" "$out/python-main.wasm"
    cat "$out/link-main.txt"
fi
