#!/usr/bin/env bash
# bench/archive/opt-levels.sh [ROUNDS]: compares Cranelift's optimization levels on eryx's
# in-process benchmark. For each level (ERYX_CRANELIFT_OPT), compiles the guest
# once (timed: the first run with that level compiles and caches it), then runs
# `eryx bench --json --runs 20` ROUNDS times (default 5), interleaving the levels
# so machine noise hits each alike, and prints min and median per metric. Settled
# (bench/archive/README.md); builds nothing, runs build/eryx.
set -euo pipefail
top="$(cd "$(dirname "$0")/../.." && pwd)"
eryx="$top/build/eryx"
rounds="${1:-5}"
levels=(none speed speed_and_size)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
for l in "${levels[@]}"; do
    s=$(date +%s%N)
    ERYX_CRANELIFT_OPT=$l "$eryx" --cache-dir "$tmp/cache" -c pass
    echo "$l compile_and_first_run_ms $(( ($(date +%s%N) - s) / 1000000 ))" >> "$tmp/compile.txt"
done
for r in $(seq "$rounds"); do
    for l in "${levels[@]}"; do
        ERYX_CRANELIFT_OPT=$l "$eryx" --cache-dir "$tmp/cache" bench --json --runs 20 >> "$tmp/$l.jsonl"
    done
done
python3 - "$tmp" "${levels[@]}" <<'PY'
import json, statistics, sys
d, levels = sys.argv[1], sys.argv[2:]
compile_s = dict(l.split()[0::2] for l in open(f"{d}/compile.txt"))
keys = ["cpu_loop_10m_ms", "create_p50_us", "execute_p50_us"]
print("| opt level | compile + first run (s) | " + " | ".join(f"{k} min / median" for k in keys) + " |")
print("|---|---:|" + "---:|" * len(keys))
for l in levels:
    rows = [json.loads(x) for x in open(f"{d}/{l}.jsonl")]
    cells = [f"{min(r[k] for r in rows):.1f} / {statistics.median(r[k] for r in rows):.1f}" for k in keys]
    print(f"| {l} | {int(compile_s[l]) / 1000:.2f} | " + " | ".join(cells) + " |")
PY
