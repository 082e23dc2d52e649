#!/usr/bin/env bash
# tests/faults/inject.sh ERYX SHIM [PYTHON]: mmap, memfd_create and ftruncate failure
# injection (issue 17). For each call and errno (ENOMEM, EMFILE) and each of two runs
# (a warm one: start state cached; a cold one: a configuration never seen, so a
# start state is made, sealed in a memfd and written to the cache), it counts the
# calls (the shim, SHIM = liberyx_faultshim.so, ERYX_FAULT_COUNT), then fails the
# 1st, the 2nd, ... up to one past the count. Every run must work (42) or stop with
# status 3 and an "eryx: " message; never a signal, a hang or a wrong answer. Then the
# cache must verify clean and a plain run work. With PYTHON (a venv's python with the
# module), the same sweep through `eryx.Sandbox().execute` (CPython's own mmaps count
# too): 42, or an exception caught and printed; never a crash. FAULTS_ASAN=1: the
# ASan build (LD_PRELOAD is then "$(gcc -print-file-name=libasan.so) SHIM").
# Ends with "N passed, N failed" (docs/RELIABILITY.md).
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
eryx=$1 shim=$2 py=${3:-}
if [ -n "$py" ] && [ ! -x "$py" ]; then echo "note: $py not there (python/build-module.sh): the Python sweep is skipped"; py=; fi
pre=$shim
[ -n "${FAULTS_ASAN:-}" ] && pre="$(gcc -print-file-name=libasan.so) $shim"
export ASAN_OPTIONS=${ASAN_OPTIONS:-handle_segv=0:handle_sigbus=0:handle_sigfpe=0:detect_leaks=0}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cache=$work/cache
"$eryx" --cache-dir "$cache" -c 'print(6*7)' >/dev/null 2>&1 # the compile, once
declare -A outcomes
seq_id=0
run() { # run NAME CONFIG-ARGS... with the ERYX_FAULT_* environment already exported
    local name=$1
    shift
    local rc out err
    out=$(timeout 120 env LD_PRELOAD="$pre" "$@" "${cfg[@]}" -c 'print(6*7)' 2>"$work/err")
    rc=$?
    err=$(cat "$work/err")
    check_run "$name" "$rc" "$out" "$err" 42
    outcomes[$outcome]=$((${outcomes[$outcome]:-0} + 1))
}
for fn in mmap memfd_create ftruncate; do
    for kind in warm cold; do
        # How many calls a run makes (its configuration is new for the cold kind).
        seq_id=$((seq_id + 1))
        if [ $kind = warm ]; then cfg=(); else cfg=(--env "FAULT_SEQ=$seq_id-count"); fi
        ERYX_FAULT_FN=$fn ERYX_FAULT_COUNT=$work/count LD_PRELOAD="$pre" "$eryx" --cache-dir "$cache" "${cfg[@]}" \
            -c 'print(6*7)' >/dev/null 2>&1
        total=$(cat "$work/count" 2>/dev/null || echo 0)
        for err in ENOMEM EMFILE; do
            for n in $(seq 1 $((total + 1))); do
                seq_id=$((seq_id + 1))
                [ $kind = cold ] && cfg=(--env "FAULT_SEQ=$seq_id")
                ERYX_FAULT_FN=$fn ERYX_FAULT_N=$n ERYX_FAULT_ERRNO=$err run "$fn #$n/$total $err ($kind)" \
                    "$eryx" --cache-dir "$cache"
            done
        done
        echo "$fn ($kind): $total calls per run, each failed in turn with ENOMEM and EMFILE"
    done
done
# The Python module: the extension turns each failure into an exception.
pyrun() {
    local out rc
    out=$(ERYX_FAULT_ARM=1 XDG_CACHE_HOME=$work/xdg timeout 120 env LD_PRELOAD="$pre" "$py" -c '
import ctypes, sys, eryx
ctypes.CDLL(None).eryx_faultshim_arm()
try:
    print(eryx.Sandbox().execute("print(6*7)").stdout_text, end="")
except Exception as e:
    print("ERR", type(e).__name__, str(e)[:150]); sys.exit(3)' 2>"$work/err")
    rc=$?
    if [ $rc -eq 0 ] && [ "$out" = 42 ]; then pass "$1: worked"; outcomes[worked]=$((${outcomes[worked]:-0} + 1))
    elif [ $rc -eq 3 ] && [ "${out:0:4}" = "ERR " ]; then pass "$1: $out"; outcomes[error]=$((${outcomes[error]:-0} + 1))
    else fail "$1: status $rc, $out $(tail -3 "$work/err")"; outcomes[bad]=$((${outcomes[bad]:-0} + 1)); fi
}
if [ -n "$py" ]; then
    XDG_CACHE_HOME=$work/xdg LD_PRELOAD="$pre" "$py" -c 'import eryx; eryx.Sandbox().execute("pass")' 2>/dev/null
    for fn in mmap memfd_create ftruncate; do
        ERYX_FAULT_FN=$fn ERYX_FAULT_COUNT=$work/count pyrun "python $fn count" >/dev/null
        total=$(cat "$work/count" 2>/dev/null || echo 0)
        for err in ENOMEM EMFILE; do
            for n in $(seq 1 $((total + 1))); do
                ERYX_FAULT_FN=$fn ERYX_FAULT_N=$n ERYX_FAULT_ERRNO=$err pyrun "python: $fn #$n/$total $err"
            done
        done
        echo "python $fn: $total calls per run, each failed in turn with ENOMEM and EMFILE"
    done
fi
# Nothing a failed run left behind is used: the cache verifies clean, a run works.
if "$eryx" --cache-dir "$cache" cache verify >"$work/verify" 2>&1; then
    pass "cache verify after the sweep"
else
    fail "cache verify after the sweep: $(tail -3 "$work/verify")"
fi
out=$("$eryx" --cache-dir "$cache" -c 'print(6*7)' 2>&1)
[ "$out" = 42 ] && pass "a plain run after the sweep" || fail "a plain run after the sweep: $out"
echo "outcomes: ${outcomes[worked]:-0} worked, ${outcomes[error]:-0} clear errors, ${outcomes[bad]:-0} bad"
finish
