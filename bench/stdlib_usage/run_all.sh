#!/bin/sh
# Every figure of docs/START-STATE.md in one run, into OUT (default a new temp
# dir): the corpus count, the guest checks, the costs, the per-execute figures
# and the pyeryx comparison. Takes ~10 minutes on the 2-core machine.
# Usage: bench/stdlib_usage/run_all.sh [OUT]   (env: ERYX=build/eryx,
# VENV_PY=build/venv/bin/python, PY313=python3.13, SEED=a cache dir holding the
# compiled interpreter, default the user's)
set -eu
cd "$(dirname "$0")/../.."
OUT=${1:-$(mktemp -d /tmp/stdlib-usage.XXXXXX)}
mkdir -p "$OUT"
ERYX=${ERYX:-build/eryx}
VENV_PY=${VENV_PY:-build/venv/bin/python}
PY313=${PY313:-python3.13}
SEED=${SEED:-${XDG_CACHE_HOME:-$HOME/.cache}/eryx}
D=bench/stdlib_usage
LIST=$(sed -n 's/^[^"]*"\([^"\\]*\)\\n".*/\1/p' src/sandbox/common_imports.c | tr '\n' ' ')
NOUT=$(echo "$LIST" | sed 's/ unittest / /;s/ unittest$//')
BELOW="datetime statistics textwrap fractions queue hashlib"
echo "load before: $(cat /proc/loadavg)" | tee "$OUT/load.txt"
"$PY313" $D/count.py --min-share 0 --json "$OUT/counts.json" | tee "$OUT/counts.md"
USED=$("$PY313" -c 'import json,sys; print(" ".join(sorted(json.load(open(sys.argv[1]))["modules"])))' "$OUT/counts.json")
# shellcheck disable=SC2086 # module lists are one word each
python3 $D/cost.py --eryx "$ERYX" --seed-cache "$SEED" --check-only $USED 2>/dev/null | tee "$OUT/check.md"
# shellcheck disable=SC2086
python3 $D/cost.py --eryx "$ERYX" --seed-cache "$SEED" --runs 7 --json "$OUT/cost.json" $LIST 2>/dev/null | tee "$OUT/cost.md"
# shellcheck disable=SC2086
python3 $D/cost.py --eryx "$ERYX" --seed-cache "$SEED" --runs 7 --set-only --json "$OUT/cost-nounittest.json" $NOUT 2>/dev/null | tee "$OUT/cost-nounittest.md"
# shellcheck disable=SC2086
python3 $D/cost.py --eryx "$ERYX" --seed-cache "$SEED" --runs 7 --no-set --json "$OUT/cost-below.json" $BELOW 2>/dev/null | tee "$OUT/cost-below.md"
SET=$(echo $LIST | tr ' ' ,)
SETN=$(echo $NOUT | tr ' ' ,)
SETR=$(echo "$SET" | sed 's/,random,/,/')
"$VENV_PY" $D/per_execute.py --seed-cache "$SEED" --runs 300 --rounds 5 --set "default=default" \
    --set "default-unittest=$SETN" --set random --set "default-random=$SETR" | tee "$OUT/per_execute.md"
# shellcheck disable=SC2086
"$VENV_PY" $D/per_execute.py --seed-cache "$SEED" --runs 60 --base-set default --import-cost $LIST $BELOW | tee "$OUT/import_cost.md"
PYTHON=$PY313 $D/compare_pyeryx.sh "$ERYX" | tee "$OUT/pyeryx.md"
echo "load after: $(cat /proc/loadavg)" | tee -a "$OUT/load.txt"
echo "results in $OUT"
