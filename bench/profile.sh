#!/usr/bin/env bash
# bench/profile.sh: the CPU profiles of docs/CPU-PROFILE.md. Runs three CPU-bound
# workloads (issue 22's loop, pyperformance's nbody and richards) under `perf record`
# in eryx (ERYX_PROFILE=perfmap) and in native CPython, then sums each profile into
# buckets (bench/profile/categorize.py) and says where the guest's extra time goes
# (bench/profile/gap.py). Sampling is cpu-clock (this machine has no hardware PMU).
#
# usage: bench/profile.sh [BUILD_DIR] [OUT_DIR]
#   env: NATIVE313 (default /root/.pyenv/versions/3.13.0/bin/python3),
#        NATIVE311 (default /usr/bin/python3.11), NBODY_LOOPS (6), RICHARDS_LOOPS (8),
#        FREQ (perf's sampling frequency, 2999), WORKLOADS ("loop nbody richards")
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
build=$(cd "${1:-$here/../build}" && pwd)
out=${2:-/tmp/eryx-profile}
eryx=$build/eryx
native313=${NATIVE313:-/root/.pyenv/versions/3.13.0/bin/python3}
native311=${NATIVE311:-/usr/bin/python3.11}
freq=${FREQ:-2999}
mkdir -p "$out"

# pyperformance 1.14.0's wheel, pinned by hash: the benchmark bodies come from it.
wheel_sha=94068ac2935b6952ccb5e8a302eb9cebc26e82454494bef6e53822738adf0049
wheel=$out/dl/pyperformance-1.14.0-py3-none-any.whl
if ! echo "$wheel_sha  $wheel" | sha256sum -c --status 2>/dev/null; then
    python3 -m pip download --quiet --no-deps pyperformance==1.14.0 -d "$out/dl"
    echo "$wheel_sha  $wheel" | sha256sum -c --quiet
fi
rm -rf "$out/wheel" && python3 -m zipfile -e "$wheel" "$out/wheel"
benchmarks=$out/wheel/pyperformance/data-files/benchmarks

cp "$here/profile/loop.py" "$out/loop.py"
python3 "$here/profile/make_workload.py" "$benchmarks" nbody "${NBODY_LOOPS:-6}" >"$out/nbody.py"
python3 "$here/profile/make_workload.py" "$benchmarks" richards "${RICHARDS_LOOPS:-8}" >"$out/richards.py"

"$eryx" -c pass # the compiled guest is in the cache before anything is timed

record() { # record NAME COMMAND...: perf data, its flat report, the buckets
    local name=$1
    shift
    perf record -q -F "$freq" -g -o "$out/$name.data" -- "$@" >"$out/$name.out"
    cat "$out/$name.out"
    perf report -i "$out/$name.data" --stdio --no-children -g none --sort dso,sym --percent-limit 0 \
        2>/dev/null >"$out/$name.report"
    python3 "$here/profile/categorize.py" "$name" 25 "$out/$name.json" <"$out/$name.report" >"$out/$name.md"
}

workloads=${WORKLOADS:-loop nbody richards}
first=${workloads%% *}
for w in $workloads; do
    ERYX_PROFILE=perfmap record "$w-eryx" "$eryx" --timeout 0 run "$out/$w.py"
    record "$w-native313" "$native313" "$out/$w.py"
    record "$w-native311" "$native311" "$out/$w.py"
    python3 "$here/profile/gap.py" "$out/$w-eryx.json" "$out/$w-native313.json" >"$out/$w-gap313.md"
    python3 "$here/profile/gap.py" "$out/$w-eryx.json" "$out/$w-native311.json" >"$out/$w-gap311.md"
    # the eval loop's dispatch block and the entry sequences of the hottest functions
    eval_sym=$(grep -m 1 -o 'wasm\[0\]::function\[[0-9]*\]::_PyEval_EvalFrameDefault' "$out/$w-eryx.report")
    perf annotate -i "$out/$w-eryx.data" --stdio -s "$eval_sym" 2>/dev/null >"$out/$w-eval.annotate"
    python3 "$here/profile/dispatch.py" <"$out/$w-eval.annotate" >"$out/$w-dispatch.md"
    python3 "$here/profile/prologue.py" "$out/$w-eryx.data" "$out/$w-eryx.json" 15 >"$out/$w-prologue.md"
done

# Static counts over the compiled code (docs/CPU-PROFILE.md, "What the compiled code looks like"):
# the guest's eval loop from the cached .cwasm the runs used, native 3.13's from libpython.
# (a pipe's reader may stop early: the SIGPIPE it gives is not a failure here, hence `|| true`)
cwasm=$(perf report -i "$out/$first-eryx.data" --stdio --sort dso 2>/dev/null | grep -o '[0-9a-f]*\.cwasm' | head -n 1 || true)
cwasm=$(find "${XDG_CACHE_HOME:-$HOME/.cache}/eryx" -name "$cwasm" | head -n 1 || true)
libpython=$("$native313" -c 'import sysconfig; print(sysconfig.get_config_var("LIBDIR") + "/" + sysconfig.get_config_var("INSTSONAME"))')
objdump -d --no-show-raw-insn "$cwasm" >"$out/guest.dis"
awk '/::_PyEval_EvalFrameDefault>:$/ {f = 1; next} /^$/ {if (f) exit} f' "$out/guest.dis" >"$out/eval-guest.dis"
objdump -d --no-show-raw-insn --disassemble=_PyEval_EvalFrameDefault "$libpython" | grep -E '^ +[0-9a-f]+:' \
    >"$out/eval-native.dis"
{
    echo "| count | guest eval loop | native 3.13 eval loop |"
    echo "|---|---:|---:|"
    echo "| instructions | $(grep -cE '^ +[0-9a-f]+:' "$out/eval-guest.dis") | $(wc -l <"$out/eval-native.dis") |"
    echo "| instructions addressing the stack, (%rsp) | $(grep -c '(%rsp)' "$out/eval-guest.dis") | $(grep -c '(%rsp)' "$out/eval-native.dis") |"
    echo "| indirect jumps (dispatch) | $(grep -c 'jmp    \*' "$out/eval-guest.dis") | $(grep -c 'jmp    \*' "$out/eval-native.dis") |"
    echo "| indirect calls | $(grep -cE 'call +\*' "$out/eval-guest.dis") | $(grep -cE 'call +\*' "$out/eval-native.dis") |"
    echo "| lazy table-init tests (call_indirect) | $(grep -c 'table_get_lazy_init' "$out/eval-guest.dis") | - |"
    echo "| 32-bit zero-extensions (mov %eXX,%eXX) | $(grep -cE 'mov +%(e[a-z]{2}|r[0-9]+d),%\1$' "$out/eval-guest.dis") | - |"
    echo
    echo "epoch-check sites in the whole module: $(grep -c 'call.*wasmtime_builtin_new_epoch' "$out/guest.dis")"
} >"$out/code.md"
rm -f "$out/guest.dis"
# the perf maps of the eryx runs (written by ERYX_PROFILE=perfmap; the reports are done)
for w in $workloads; do
    pid=$(perf script -i "$out/$w-eryx.data" -F pid 2>/dev/null | head -n 1 | tr -d ' ' || true)
    [ -n "$pid" ] && rm -f "/tmp/perf-$pid.map"
done
echo "profiles in $out: WORKLOAD-{eryx,native313,native311}.{data,report,md}, WORKLOAD-gap{313,311}.md," \
    "WORKLOAD-{dispatch,prologue}.md, code.md"
