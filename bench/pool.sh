#!/usr/bin/env bash
# bench/pool.sh [pool_bench.py args]: the sandbox pool benchmarks (issue 20;
# docs/BENCHMARKS.md, "Pools (issue 20)"): a pool lease (acquire + execute +
# release) against a sandbox made per request (factory.create_sandbox + execute),
# `pass` and a small realistic snippet, 1 and 2 threads, p50/p95 and throughput,
# for this tree's module (BUILD/venv) and the reference pyeryx 0.11 in its venv
# (made by bench/corpus.py's harness from bench/requirements-pyeryx.txt, under
# ${XDG_CACHE_HOME:-~/.cache}/eryx/bench-venvs/). Environment: BUILD (default build/).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
build=${BUILD:-$here/../build}
venv=${XDG_CACHE_HOME:-$HOME/.cache}/eryx/bench-venvs/pyeryx-0.11.0-$(sha256sum "$here/requirements-pyeryx.txt" | cut -c1-12)
[ -x "$build/venv/bin/python" ] || { echo "pool.sh: no $build/venv (python/build-module.sh $build)" >&2; exit 2; }
ref=()
if [ -x "$venv/bin/python" ]; then
    ref=(--ref-python "$venv/bin/python")
else
    echo "pool.sh: no reference venv at $venv (bench/corpus.sh makes it): ours only" >&2
fi
exec "$build/venv/bin/python" "$here/pool_bench.py" "${ref[@]}" "$@"
