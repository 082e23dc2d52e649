# tests/faults/lib.sh: what the fault scripts share (sourced): pass/fail counting and
# the closing "N passed, N failed" line, and the classification of one eryx run.
passed=0 failed=0
pass() { passed=$((passed + 1)); [ -n "${FAULTS_VERBOSE:-}" ] && echo "ok   $*"; return 0; }
fail() { failed=$((failed + 1)); echo "FAIL $*"; }
finish() { echo "$passed passed, $failed failed"; [ "$failed" -eq 0 ]; exit $?; }
# check_run NAME RC STDOUT STDERR EXPECTED: a run either worked (status 0, the expected
# output) or stopped with a clear error (status 3 with an "eryx: " message); a signal,
# a hang (status 124 from timeout(1)), another status, or status 0 with other output
# is a failure. Sets $outcome to "worked" or "error".
check_run() {
    local name=$1 rc=$2 out=$3 err=$4 want=$5
    if [ "$rc" -eq 0 ] && [ "$out" = "$want" ]; then
        outcome=worked; pass "$name: worked"
    elif [ "$rc" -eq 3 ] && printf '%s' "$err" | grep -q '^eryx: '; then
        outcome=error; pass "$name: clear error: $(printf '%s' "$err" | grep -m1 '^eryx: ' | cut -c1-160)"
    else
        outcome=bad
        fail "$name: status $rc, stdout $(printf '%q' "${out:0:80}"), stderr $(printf '%s' "$err" | tail -3 | cut -c1-300)"
    fi
}
