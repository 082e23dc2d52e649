#!/usr/bin/env bash
# bench/imports.sh [BUILD] [RUNS] [-- MODULE...]: imports that the start state has not
# done, in a fresh eryx sandbox against native CPython 3.13 with warm .pyc, alternated
# in one run (issue 16, item 4; docs/BENCHMARKS.md, "Imports not pre-imported vs
# native"). Prints a Markdown table: the median over RUNS (default 7) of `import M`
# timed inside each interpreter, and the ratio. BUILD is the build directory
# (default build/; its venv's `eryx` module runs the sandboxes). Environment:
# NATIVE (native Pythons, space-separated; ratios are against the first; default
# ~/.pyenv/versions/3.13.0/bin/python3.13), GUESTS ("LABEL=GUEST_DIR ...": guests
# to measure side by side, e.g. before and after a change; GUEST_DIR@MOD,MOD: in a
# start state with those modules imported; default: the build's Sandbox()),
# VIA=cli (one `eryx -c` process per sample instead of the Python API; ERYX_ARGS
# then adds options),
# DETAIL=1 (per-module self/cumulative figures, -X importtime style, medians of up to
# 5 more runs per side), KEEP=FILE (every sample, as JSON).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
build=${1:-$here/../build}
runs=${2:-7}
shift $(( $# > 2 ? 2 : $# ))
[ "${1:-}" = "--" ] && shift
native=${NATIVE:-$HOME/.pyenv/versions/3.13.0/bin/python3.13}
args=(--via "${VIA:-python}" --eryx "$build/eryx" --runs "$runs")
for p in $native; do args+=(--python "$p"); done
for g in ${GUESTS:-}; do args+=(--guest "$g"); done
for a in ${ERYX_ARGS:-}; do args+=(--eryx-arg="$a"); done
[ -n "${DETAIL:-}" ] && args+=(--detail)
[ -n "${KEEP:-}" ] && args+=(--json "$KEEP")
exec "$build/venv/bin/python" "$here/imports.py" "${args[@]}" "$@"
