#!/usr/bin/env bash
# bench/net.sh [BUILD] [RUNS]: loopback HTTP throughput (GET of 1 KiB and of 10 MiB,
# plain and TLS) and connection setup (connect + close, plain and with the TLS
# handshake), from inside eryx (the Python module's Sandbox, NetConfig().allow_localhost())
# against native CPython running the same http.client/socket/ssl code (issue 18;
# docs/BENCHMARKS.md, "Network"). Prints a Markdown table of medians over RUNS
# (default 5) samples, eryx and native alternated; targets: >= 50% of native
# throughput for 10 MiB, connect overhead <= 0.2 ms above native. The servers
# (python/tests/netservers.py) run in their own process; the certificates come from
# the openssl CLI. Environment: NATIVE (default ~/.pyenv/versions/3.13.0/bin/python3.13),
# KEEP=FILE (every sample, as JSON).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
build=${1:-$here/../build}
runs=${2:-5}
native=${NATIVE:-$HOME/.pyenv/versions/3.13.0/bin/python3.13}
args=(--python "$native" --runs "$runs")
[ -n "${KEEP:-}" ] && args+=(--json "$KEEP")
exec "$build/venv/bin/python" "$here/net_bench.py" "${args[@]}"
