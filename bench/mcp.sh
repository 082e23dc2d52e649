#!/usr/bin/env bash
# bench/mcp.sh [mcp_bench.py args]: the MCP server benchmarks (issue 19; docs/BENCHMARKS.md,
# "MCP server (issue 19)"): run_python round trips (print(1), a realistic call, a
# stateful sequence) and calls per second with 1 and 8 concurrent callers, our
# `python -m eryx serve` (stdio, and --http on a loopback port the OS picks) against the
# reference pyeryx 0.11.0's `eryx serve` (stdio) and a floor (bench/mcp_floor_server.py:
# the same SDK stack, the code run natively), in one run, all driven by the MCP SDK's
# client from BUILD/venv. Makes the reference's venv once (a Python >= 3.12 from
# pyenv or PATH: its wheels in bench/requirements-pyeryx-serve.txt, pinned by hash) under
# ${XDG_CACHE_HOME:-~/.cache}/eryx/bench-venvs/. Environment: BUILD (default build/).
# See bench/mcp_bench.py for the options (--n, --warmup, --clients, --seconds, --rounds,
# --impl, --json FILE).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
build=${BUILD:-$here/../build}
req=$here/requirements-pyeryx-serve.txt
venv=${XDG_CACHE_HOME:-$HOME/.cache}/eryx/bench-venvs/pyeryx-serve-0.11.0-$(sha256sum "$req" | cut -c1-12)
if [ ! -e "$venv/.installed" ] || [ ! -x "$venv/bin/python" ]; then
    base=
    # The cp313 wheels in the requirements want 3.13 (pyeryx itself is cp312-abi3).
    for c in "$HOME"/.pyenv/versions/3.13.*/bin/python3.13 python3.13; do
        if command -v "$c" >/dev/null 2>&1; then base=$c; break; fi
    done
    [ -n "$base" ] || { echo "mcp.sh: the reference's venv needs a CPython 3.13 (pyenv install 3.13)" >&2; exit 2; }
    echo "[mcp-bench] making the reference's venv $venv with $base" >&2
    rm -rf "$venv"
    "$base" -m venv "$venv"
    PIP_CONFIG_FILE=/dev/null PIP_DISABLE_PIP_VERSION_CHECK=1 "$venv/bin/pip" install --isolated -q \
        --require-hashes --only-binary=:all: -r "$req"
    touch "$venv/.installed"
fi
[ -x "$build/venv/bin/python" ] || { echo "mcp.sh: no $build/venv (python/build-module.sh $build)" >&2; exit 2; }
cd "$here/.."
exec "$build/venv/bin/python" "$here/mcp_bench.py" --build "$build" --ref-python "$venv/bin/python" "$@"
