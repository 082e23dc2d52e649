#!/usr/bin/env bash
# python/run-tests.sh BUILD_DIR [PYTEST ARGS...]: runs the Python module's tests
# (ctest: python.pytest). Reinstalls the module first when it is missing or older
# than the library or its sources, so `cmake --build` then ctest tests the code
# as it is.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
bdir="$(cd "$1" && pwd)"
shift
venv="$bdir/venv"
stamp="$venv/.eryx-installed"
if [ ! -f "$stamp" ] || [ -n "$(find "$bdir/liberyx.a" "$bdir/CMakeCache.txt" "$here/src" "$here/eryx" "$here/setup.py" \
        "$here/../include/eryx.h" "$here"/requirements-*.txt -newer "$stamp" -print -quit 2>/dev/null)" ]; then
    "$here/build-module.sh" "$bdir" >&2
fi
# Run from the build dir, so `import eryx` is the installed module, not python/eryx.
cd "$bdir"
exec "$venv/bin/pytest" -p no:cacheprovider -q "$@" "$here/tests"
