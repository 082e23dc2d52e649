#!/usr/bin/env bash
# bench/issue16.sh [BUILD] [OUT]: every figure issue 16's targets name, in one run of
# the machine, then a table of target, measured value and verdict (OUT/issue16.md).
#   - Python API (bench/python_api.py): Sandbox() p50, execute("pass") p50, the first
#     Sandbox() of a new process, SandboxFactory(imports=[a new set]) in a new process
#     with cache=True and cache=False;
#   - the workload corpus (bench/corpus.sh --blocked): eryx vs pyeryx 0.11.0 vs a native
#     python3.13 subprocess, geometric means of per-snippet p50s, snippet 00 (the issue's
#     10-line snippet) fresh p50;
#   - idle memory (eryx bench --json): private KiB per idle sandbox after an execute that
#     imported 10 modules.
# Imports not pre-imported vs native have their own, longer run: bench/imports.sh.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
build=$(cd "${1:-$here/../build}" && pwd)
out=${2:-$build/issue16-bench}
mkdir -p "$out"
runs=${RUNS:-10}
echo "[issue16] $(date -u +%H:%M:%S) load $(cut -d' ' -f1-3 /proc/loadavg): python API" >&2
"$build/venv/bin/python" "$here/python_api.py" --runs 300 --json >"$out/python_api.json"
echo "[issue16] $(date -u +%H:%M:%S) load $(cut -d' ' -f1-3 /proc/loadavg): corpus ($runs runs each)" >&2
"$here/corpus.sh" --blocked --runs "$runs" --build "$build" --out "$out/corpus" >/dev/null
echo "[issue16] $(date -u +%H:%M:%S) load $(cut -d' ' -f1-3 /proc/loadavg): eryx bench" >&2
"$build/eryx" bench --json --corpus none >"$out/bench.json"
echo "[issue16] $(date -u +%H:%M:%S) load $(cut -d' ' -f1-3 /proc/loadavg): done" >&2
python3 "$here/issue16_report.py" "$out" | tee "$out/issue16.md"
