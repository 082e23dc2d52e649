#!/usr/bin/env bash
# bench/pandas.sh REPS NATIVE_SITE: pandas in the sandbox against native pandas, whole
# processes, interleaved per repetition (native, eryx without pre-init, eryx with
# `--import pandas`), the load average printed before and after. NATIVE_SITE holds
# pandas 3.1.1 and numpy 2.2.6's cp313 manylinux wheels and pandas' pure-Python
# dependencies unpacked (docs/PANDAS.md, "pandas: figures", says how it was made);
# the native Python is the guest's native twin (CPython 3.13.5 from the same source,
# guest/cpython-tree.sh's build-python.path). Prints one line per case: median and
# min of REPS runs (seconds, /usr/bin/time %e). Needs build/eryx and the two package
# recipes built (guest/packages/build.sh numpy|pandas).
set -euo pipefail
top="$(cd "$(dirname "$0")/.." && pwd)"
reps="${1:-5}" site="$2"
native=$(cat "$("$top/guest/cpython-tree.sh" | tail -n 1)/build-python.path")
np=$("$top/guest/packages/build.sh" numpy 2>/dev/null | tail -n 1)
pd=$("$top/guest/packages/build.sh" pandas 2>/dev/null | tail -n 1)
eryx="$top/build/eryx"
code_import='import pandas'
code_work='import time, numpy as np, pandas as pd
n = 100000; rng = np.random.default_rng(0)
df = pd.DataFrame({"k": rng.integers(0, 1000, n), "v": rng.random(n)})
other = pd.DataFrame({"k": np.arange(1000), "w": np.arange(1000.0)})
t = time.perf_counter()
for _ in range(5):
    g = df.groupby("k").v.agg(["sum", "mean"]); m = df.merge(other, on="k")
print(f"{(time.perf_counter() - t) / 5 * 1000:.1f}")'
declare -A runs
t() { /usr/bin/time -f "%e" "$@" 2>&1 >/dev/null | tail -n 1; }
# .pyc for the native side too (the sandbox's packages carry theirs; a shell with
# PYTHONDONTWRITEBYTECODE=1 would otherwise compile pandas' sources in every run)
"$native" -m compileall -q -j0 "$site" >/dev/null 2>&1 || true
"$eryx" --package "$np" --package "$pd" --import pandas -c pass >/dev/null 2>&1   # the snapshot, once
echo "load before: $(uptime)"
for i in $(seq "$reps"); do
    runs[native]+="$(t env PYTHONPATH="$site" "$native" -c "$code_import") "
    runs[eryx]+="$(t "$eryx" --package "$np" --package "$pd" -c "$code_import") "
    runs[eryx_import]+="$(t "$eryx" --package "$np" --package "$pd" --import pandas -c "$code_import") "
    runs[native_work_ms]+="$(env PYTHONPATH="$site" "$native" -c "$code_work") "
    runs[eryx_work_ms]+="$("$eryx" --package "$np" --package "$pd" --import pandas -c "$code_work") "
done
echo "load after: $(uptime)"
for k in native eryx eryx_import native_work_ms eryx_work_ms; do
    echo "$k: $(echo ${runs[$k]} | tr ' ' '\n' | sort -n | awk '{a[NR]=$1} END {printf "median %s min %s (n=%d)", a[int((NR+1)/2)], a[1], NR}')"
done
