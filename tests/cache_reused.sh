#!/usr/bin/env bash
# Test: with nothing changed, the engine and guest builds reuse their cached outputs
# (the very directories this build tree was configured with) and rebuild nothing.
# usage: cache_reused.sh SOURCE_DIR GUEST_DIR WASMTIME_DIR [NUMPY_PACKAGE_DIR]
set -u
src="$1" guest="$2" wasmtime="$3" numpy_pkg="${4:-}"
fail=0
check() { # check NAME SCRIPT EXPECTED_DIR
    out=$($src/$2 2>/tmp/eryx-cache-reused.$$); rc=$?
    err=$(cat /tmp/eryx-cache-reused.$$); rm -f /tmp/eryx-cache-reused.$$
    last=$(printf '%s\n' "$out" | tail -n 1)
    if [ $rc -ne 0 ]; then echo "FAIL $1: exit $rc: $err"; fail=$((fail + 1)); return; fi
    if [ "$last" != "$3" ]; then echo "FAIL $1: built into '$last', want '$3'"; fail=$((fail + 1)); fi
    case "$err" in *"reusing cached build"*) ;; *) echo "FAIL $1: did not report reuse: $err"; fail=$((fail + 1));; esac
    case "$err" in *"started"*) echo "FAIL $1: ran a build step: $err"; fail=$((fail + 1));; esac
}
check guest guest/build.sh "$guest"
check wasmtime engine/build-wasmtime.sh "$wasmtime"
n=2
if [ -n "$numpy_pkg" ]; then check numpy "guest/packages/build.sh numpy" "$numpy_pkg"; n=3; fi
echo "cache_reused: $n builds checked, $fail problems"
[ $fail -eq 0 ]
