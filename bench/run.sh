#!/usr/bin/env bash
# bench/run.sh [OUT.md]: times the same three cases, in one run, under
#   eryx (build/eryx), the native CPython 3.13 built from the same Debian source
#   (the guest build's build Python), the machine's python3, and the same
#   python.wasm under Node's WASI; writes a markdown table with ratios to OUT.md
#   (default: stdout). Needs hyperfine (Debian) and node. Run after ./build.sh.
set -euo pipefail
top="$(cd "$(dirname "$0")/.." && pwd)"
cd "$top"
out="${1:-/dev/stdout}"
scripts/apt-install.sh hyperfine >&2
guest="$top/build/guest"
native313=$(ls -d "${XDG_CACHE_HOME:-$HOME/.cache}"/eryx/build-python/*/build/python 2>/dev/null | head -1 || true)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# Each case: name, runs, Python code.
cases=(
  "startup (-c pass)|20|pass"
  "import json|20|import json"
  "loop 10M (i*i)|3|for i in range(10_000_000): x = i * i"
)
# Each runner: name, command prefix (the code is appended as one argument).
runners=("eryx|$top/build/eryx -c")
[ -n "$native313" ] && runners+=("native CPython 3.13 (same source, -O3)|$native313 -I -c")
# The interpreter itself, not a version-manager shim in front of it.
py3=$(python3 -c 'import sys; print(sys.executable)')
runners+=("python3 $("$py3" -c 'import sys; print(sys.version.split()[0])') (machine's)|$py3 -c")
if command -v node >/dev/null; then
    mkdir -p "$tmp/lib/python3.13"
    python3 -m zipfile -e "$guest/lib/python313.zip" "$tmp/lib/python3.13"
    runners+=("Node $(node --version) WASI, same python.wasm|node $top/bench/node_wasi_runner.mjs $guest $tmp/lib")
fi

# Warm the compiled-module cache so eryx is measured as a user sees it after the first run.
"$top/build/eryx" -c pass

i=0
for c in "${cases[@]}"; do
    IFS='|' read -r cname runs code <<<"$c"
    cmds=(); names=()
    for r in "${runners[@]}"; do
        IFS='|' read -r rname prefix <<<"$r"
        cmds+=("$prefix $(printf '%q' "$code")"); names+=(-n "$rname")
    done
    hyperfine -N --warmup 2 --runs "$runs" "${names[@]}" --export-json "$tmp/case$i.json" "${cmds[@]}" >&2
    echo "$cname" > "$tmp/case$i.name"
    i=$((i + 1))
done
python3 "$top/bench/report.py" "$tmp" > "$out"
