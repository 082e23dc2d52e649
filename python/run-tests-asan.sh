#!/usr/bin/env bash
# python/run-tests-asan.sh [BUILD_DIR [PYTEST ARGS...]]: the Python module's tests with
# the extension and liberyx built with AddressSanitizer + UBSan (BUILD_DIR: a
# sanitizer build, default build-asan, made by ./build.sh asan; python/setup.py adds
# the sanitizer flags when CMakeCache.txt says ERYX_SANITIZE=ON). CPython itself is not
# instrumented, so the ASan runtime is preloaded (it must come first); its leak check
# is off (CPython keeps objects to the end on purpose: those are no finding), and
# wasmtime's own SIGSEGV/SIGBUS/SIGFPE handlers are left to it, as ./build.sh asan does.
# Reinstalls BUILD_DIR/venv's module first when stale (not under the preload).
# ctest (asan build): python.pytest_asan.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
bdir="$(cd "${1:-$here/../build-asan}" && pwd)"
[ $# -gt 0 ] && shift
if ! grep -qiE '^ERYX_SANITIZE:BOOL=(ON|1|TRUE)$' "$bdir/CMakeCache.txt"; then
    echo "python/run-tests-asan.sh: $bdir is not a sanitizer build (./build.sh asan makes build-asan)" >&2
    exit 2
fi
stamp="$bdir/venv/.eryx-installed"
if [ ! -f "$stamp" ] || [ -n "$(find "$bdir/liberyx.a" "$bdir/CMakeCache.txt" "$here/src" "$here/eryx" "$here/setup.py" \
        "$here/../include/eryx.h" "$here"/requirements-*.txt -newer "$stamp" -print -quit 2>/dev/null)" ]; then
    "$here/build-module.sh" "$bdir" >&2
fi
asan=$(gcc -print-file-name=libasan.so)
ubsan=$(gcc -print-file-name=libubsan.so)
cd "$bdir"
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=0:handle_segv=0:handle_sigbus=0:handle_sigfpe=0:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
export LD_PRELOAD="$asan $ubsan${LD_PRELOAD:+ $LD_PRELOAD}"
exec "$bdir/venv/bin/pytest" -p no:cacheprovider -q "$@" "$here/tests"
