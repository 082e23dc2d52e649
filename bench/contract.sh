#!/usr/bin/env bash
# bench/contract.sh [ERYX] [OUT.md]: the sandbox contract's figures as markdown
#   tables; builds nothing. Runs `ERYX bench --json` (default build/eryx; RUNS=N in
#   the environment passes --runs N; the stops run N/20 times each, at least 20)
#   and prints, from that one run: how long after a 50 ms deadline (timeout) or a
#   cancel from another thread (20 ms in) each case returned, p50/p99, against the
#   20 ms target; and the 10M-iteration loop under the three engine kinds (median
#   of 3 interleaved rounds) with the overhead of epoch checks and of fuel, against
#   the 5% rule (the EPOCH figures only from an eryx built with
#   -DERYX_BENCH_HOOKS=ON: n/a otherwise). Writes to OUT.md (default: stdout); the raw JSON goes to stderr.
set -euo pipefail
top="$(cd "$(dirname "$0")/.." && pwd)"
eryx="${1:-$top/build/eryx}"
out="${2:-/dev/stdout}"
tmp=$(mktemp)
trap 'rm -f "$tmp"' EXIT
runs_args=()
[ -n "${RUNS:-}" ] && runs_args=(--runs "$RUNS")

echo "contract.sh: $eryx bench --json ${runs_args[*]}" >&2
"$eryx" bench --json "${runs_args[@]}" > "$tmp"
cat "$tmp" >&2
python3 - "$tmp" "$eryx" "${runs_args[*]}" > "$out" <<'PY'
import json, sys
e = json.load(open(sys.argv[1]))
eryx, runs_args = sys.argv[2], sys.argv[3]
target = e["target_stop_p99_ms"]
def met(v): return "met" if v is not None and v <= target else "**not met**"
def ms(v): return "n/a" if v is None else f"{v:.2f}"
print("`" + " ".join(x for x in (eryx, "bench", "--json", runs_args) if x) + "`")
print(f"(eryx {e['eryx_version']}; {e['contract_runs']} runs of each stop case; "
      f"contract part {e['contract_s']:.1f} s of {e['bench_s']:.1f} s)\n")
print(f"| stop | key | p50 (ms) | p99 (ms) | p99 ≤ {target:.0f} ms |")
print("|---|---|---:|---:|---|")
rows = [
    ("timeout 50 ms: `while True: pass`", "interrupt_loop"),
    ("timeout 50 ms: `sum(range(10**12))` (C loop)", "interrupt_cloop"),
    ("timeout 50 ms: `time.sleep(100)`", "interrupt_sleep"),
    ("timeout 50 ms: read on a stdin fd (open, empty pipe)", "interrupt_stdin"),
    ("cancel 20 ms in: `while True: pass`", "cancel_loop"),
    ("cancel 20 ms in: `time.sleep(100)`", "cancel_sleep"),
]
for label, k in rows:
    p50, p99 = e.get(k + "_p50_ms"), e.get(k + "_p99_ms")
    print(f"| {label} | `{k}_*` | {ms(p50)} | {ms(p99)} | {met(p99)} |")
print("\n(timeout: return − deadline; cancel: return − the eryx_sandbox_cancel call; "
      "a return includes the reset to a fresh instance)\n")
rule = e["target_fuel_overhead_pct"]
def pct(v): return "n/a" if v is None else f"{v:+.1f}%"
print(f"| 10M-iteration loop, median of {e['loop_rounds']} interleaved rounds | key | ms | rounds (ms) |")
print("|---|---|---:|---|")
def rounds(k): return " / ".join(f"{v:,.0f}" for v in (e.get(f"loop_{k}_rounds_ms") or []))
# The EPOCH figures need an eryx built with -DERYX_BENCH_HOOKS=ON; else they are null.
def ms1(v): return "n/a" if v is None else f"{v:,.1f} ms"
def num(v, fmt): return "n/a (build with -DERYX_BENCH_HOOKS=ON)" if v is None else format(v, fmt)
print(f"| STANDARD (no epoch checks: interrupts revoke memory; the default) | `loop_no_epoch_ms` | {e['loop_no_epoch_ms']:,.0f} | {rounds('no_epoch')} |")
print(f"| EPOCH (epoch checks; the fallback, ERYX_INTERRUPT=epoch) | `loop_epoch_ms` | {num(e['loop_epoch_ms'], ',.0f')} | {rounds('epoch')} |")
print(f"| FUEL (epoch checks + fuel, opt-in) | `loop_fuel_ms` | {e['loop_fuel_ms']:,.0f} | {rounds('fuel')} |")
print()
print("| overhead | key | value | rule |")
print("|---|---|---:|---|")
print(f"| epoch checks: EPOCH / STANDARD − 1 | `epoch_overhead_pct` | {pct(e['epoch_overhead_pct'])} | |")
f = e["fuel_overhead_pct"]
verdict = (f"over {rule:.0f}%: must be opt-in; it is" if f is not None and f > rule
           else f"within {rule:.0f}% (opt-in all the same)")
print(f"| fuel: FUEL / EPOCH − 1 | `fuel_overhead_pct` | {pct(f)} | {verdict} |")
print(f"| fuel and epoch: FUEL / STANDARD − 1 | `fuel_vs_no_epoch_pct` | {pct(e['fuel_vs_no_epoch_pct'])} | |")
print(f"\nFuel used by the loop: {e['loop_fuel_units']:,} units. Warm-up (first sandbox of each kind in the "
      f"process, before timing; a compile on a machine's first use): STANDARD {ms1(e['first_create_no_epoch_ms'])}, "
      f"EPOCH {ms1(e['first_create_epoch_ms'])}, FUEL {e['first_create_fuel_ms']:,.1f} ms.")
PY
