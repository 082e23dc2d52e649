#!/usr/bin/env bash
# python/build-module.sh BUILD_DIR: builds and installs the Python module (import
# eryx) into BUILD_DIR/venv, a venv of the system's python3, against the library
# in BUILD_DIR (liberyx.a, built by CMake). The build and test tools come from
# PyPI pinned by hash (python/requirements-build.txt), and the MCP SDK for
# python -m eryx serve (python/requirements-mcp.txt), and Ray for eryx.ray
# (python/requirements-ray.txt: optional, its failure is reported, not fatal); pip's
# own configuration (find-links, extra indexes) is ignored. Called by ./build.sh.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
top="$(dirname "$here")"
bdir="$(cd "${1:-$top/build}" && pwd)"
"$top/scripts/apt-install.sh" python3-dev python3-venv
py=/usr/bin/python3
venv="$bdir/venv"
export PIP_CONFIG_FILE=/dev/null PIP_DISABLE_PIP_VERSION_CHECK=1
reqs="$(cat "$here/requirements-build.txt" "$here/requirements-mcp.txt" "$here/requirements-ray.txt")"
if [ ! -x "$venv/bin/python" ] || [ "$reqs" != "$(cat "$venv/.eryx-requirements" 2>/dev/null)" ]; then
    rm -rf "$venv"
    "$py" -m venv "$venv"
    "$venv/bin/pip" install --isolated -q --require-hashes --only-binary=:all: \
        -r "$here/requirements-build.txt" -r "$here/requirements-mcp.txt"
    printf '%s' "$reqs" > "$venv/.eryx-requirements"
fi
# Ray (eryx.ray) has wheels for fewer Pythons and CPUs than the rest: a machine
# without one still builds eryx; why Ray is missing is kept in the venv, and
# tests/test_ray.py skips with it as the reason. Tried again at every build until it
# is installed (a passing network failure does not leave Ray out for good).
if [ ! -e "$venv/.eryx-ray-installed" ]; then
    if "$venv/bin/pip" install --isolated -q --require-hashes --only-binary=:all: -r "$here/requirements-build.txt" \
            -r "$here/requirements-mcp.txt" -r "$here/requirements-ray.txt" > "$venv/.eryx-ray-log" 2>&1; then
        rm -f "$venv/.eryx-ray-unavailable"
        touch "$venv/.eryx-ray-installed"
    else
        { echo "pip could not install python/requirements-ray.txt ($(uname -m), $("$venv/bin/python" -V)):"
          tail -n 5 "$venv/.eryx-ray-log"; } > "$venv/.eryx-ray-unavailable"
        echo "[eryx] Ray not installed, eryx.ray's tests will be skipped:" >&2
        cat "$venv/.eryx-ray-unavailable" >&2
    fi
    rm -f "$venv/.eryx-ray-log"
fi
# The build's scratch goes under BUILD_DIR, not into the source tree.
tmp="$bdir/python-build"
rm -rf "$tmp"
mkdir -p "$tmp"
cp -r "$here/pyproject.toml" "$here/setup.py" "$here/README.md" "$here/src" "$here/eryx" "$tmp/"
ERYX_BUILD_DIR="$bdir" ERYX_SOURCE_DIR="$top" "$venv/bin/pip" install --isolated -q --no-build-isolation \
    --force-reinstall --no-deps "$tmp"
# A sanitizer build's extension loads only with the ASan runtime first (python/run-tests-asan.sh).
pre=
if grep -qiE '^ERYX_SANITIZE:BOOL=(ON|1|TRUE)$' "$bdir/CMakeCache.txt"; then
    pre="$(gcc -print-file-name=libasan.so) $(gcc -print-file-name=libubsan.so)"
fi
LD_PRELOAD="$pre" ASAN_OPTIONS=detect_leaks=0 \
    "$venv/bin/python" -c 'import eryx; print("[eryx] python module", eryx.__version__, "installed in", "'"$venv"'")'
touch "$venv/.eryx-installed"
