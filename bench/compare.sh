#!/usr/bin/env bash
# bench/compare.sh OLD_ERYX NEW_ERYX [ROUNDS]: `eryx bench --json` of two builds of
# eryx, alternated ROUNDS times (default 3) in one run so that both see the same
# machine, then the median of each key figure and the ratio new/old. For a change
# that must not move performance (a reorganization): ratios near 1.00 mean "within
# noise"; the spread column is (max-min)/median of the old build's rounds, the
# run-to-run noise to judge a ratio against. Prints a Markdown table. RUNS=N in the
# environment passes --runs N to both; KEEP=DIR keeps the raw JSON files there.
set -euo pipefail
old=${1:?usage: bench/compare.sh OLD_ERYX NEW_ERYX [ROUNDS]}
new=${2:?usage: bench/compare.sh OLD_ERYX NEW_ERYX [ROUNDS]}
rounds=${3:-3}
runs_args=()
[ -n "${RUNS:-}" ] && runs_args=(--runs "$RUNS")
if [ -n "${KEEP:-}" ]; then
    out=$KEEP
    mkdir -p "$out"
else
    out=$(mktemp -d)
    trap 'rm -rf "$out"' EXIT
fi
for i in $(seq 1 "$rounds"); do
    for which in old new; do
        bin=$old; [ "$which" = new ] && bin=$new
        echo "[compare] round $i/$rounds: $which ($bin)" >&2
        "$bin" bench --json "${runs_args[@]}" > "$out/$which-$i.json"
    done
done
python3 - "$out" "$rounds" <<'PY'
import json, statistics, sys
d, rounds = sys.argv[1], int(sys.argv[2])
load = lambda w: [json.load(open(f"{d}/{w}-{i}.json")) for i in range(1, rounds + 1)]
old, new = load("old"), load("new")
keys = ["create_p50_us", "create_p99_us", "free_p50_us", "execute_fresh_p50_us", "execute_fresh_p99_us",
        "execute_first_p50_us", "execute_keep_p50_us", "execute_with_callbacks_p50_us", "callback_round_trip_us",
        "session_snapshot_p50_us", "session_restore_p50_us", "executes_per_s_1thread", "executes_per_s_2threads",
        "private_kib_per_idle_sandbox", "private_kib_per_idle_sandbox_after_imports",
        "guest_private_kib_per_idle_sandbox_after_imports", "private_kib_per_idle_sandbox_after_imports_at_once",
        "execute_imports_first_p50_us", "execute_imports_repeat_p50_us", "execute_pass_after_imports_p50_us",
        "cpu_loop_10m_ms", "corpus_fresh_p50_us", "corpus_fresh_p90_us", "corpus_geomean_p50_us", "snippet10_fresh_p50_us"]
print(f"| figure | old (median of {rounds}) | new (median of {rounds}) | new/old | old spread |")
print("|---|---|---|---|---|")
for k in keys:
    o = [r[k] for r in old if r.get(k) is not None]; n = [r[k] for r in new if r.get(k) is not None]
    if not o or not n: print(f"| {k} | {'-' if not o else statistics.median(o)} | {'-' if not n else statistics.median(n)} | | |"); continue
    mo, mn = statistics.median(o), statistics.median(n)
    spread = (max(o) - min(o)) / mo if mo else 0
    print(f"| {k} | {mo:g} | {mn:g} | {mn / mo if mo else float('nan'):.2f} | {spread:.0%} |")
PY
