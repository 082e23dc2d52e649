#!/usr/bin/env bash
# tests/soak/soak.sh BUILD_DIR [soak.py ARGS...]: runs the soak (tests/soak/soak.py:
# N executions on 4 threads through the Python module, every result checked, RSS, fds,
# threads and mappings sampled into a CSV) with BUILD_DIR's venv, reinstalling the
# module first when it is stale (as python/run-tests.sh does). numpy comes from
# $ERYX_NUMPY_PACKAGE, else the build's ERYX_NUMPY_PACKAGE (CMakeCache.txt).
#   full run:  tests/soak/soak.sh build --csv soak.csv --summary soak.json
#   ctest's soak.small: tests/soak/soak.sh build -n 2000 --interval 0.5 --sample-every 100 --leaks-only
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
top="$(cd "$here/../.." && pwd)"
bdir="$(cd "$1" && pwd)"
shift
stamp="$bdir/venv/.eryx-installed"
if [ ! -f "$stamp" ] || [ -n "$(find "$bdir/liberyx.a" "$top/python/src" "$top/python/eryx" "$top/python/setup.py" \
        "$top/include/eryx.h" -newer "$stamp" -print -quit 2>/dev/null)" ]; then
    "$top/python/build-module.sh" "$bdir" >&2
fi
if [ -z "${ERYX_NUMPY_PACKAGE:-}" ]; then
    ERYX_NUMPY_PACKAGE=$(sed -n 's/^ERYX_NUMPY_PACKAGE:PATH=//p' "$bdir/CMakeCache.txt")
    export ERYX_NUMPY_PACKAGE
fi
exec "$bdir/venv/bin/python" "$here/soak.py" "$@"
