#!/usr/bin/env bash
# Test of ERYX_PROFILE (src/engine/engine.c, docs/CPU-PROFILE.md): with perfmap a
# run writes /tmp/perf-PID.map naming the guest's wasm functions (the module comes
# from the cache, so deserialized modules are registered too); unset, no map is
# written; a value this wasmtime cannot honour fails with a clear message.
# usage: profile_perfmap.sh ERYX_CLI
set -u
cli="$1"
fail=0
bad() { echo "FAIL $*"; fail=$((fail + 1)); }

ERYX_PROFILE=perfmap "$cli" --timeout 0 -c 'print(sum(i * i for i in range(1000)))' >/tmp/eryx-perfmap-out.$$ &
pid=$!
wait $pid || bad "perfmap run exited $?"
map=/tmp/perf-$pid.map
[ "$(cat /tmp/eryx-perfmap-out.$$)" = 332833500 ] || bad "perfmap run printed '$(cat /tmp/eryx-perfmap-out.$$)'"
if [ -f "$map" ]; then
    # "ADDRESS SIZE NAME" lines, names from python.wasm's name section
    grep -Eq '^0x[0-9a-f]+ [0-9a-f]+ _PyEval_EvalFrameDefault$' "$map" || bad "no _PyEval_EvalFrameDefault line in $map"
    grep -Eq '^0x[0-9a-f]+ [0-9a-f]+ dlmalloc$' "$map" || bad "no dlmalloc line in $map"
    lines=$(wc -l <"$map")
    [ "$lines" -gt 5000 ] || bad "$map has $lines lines, want one per guest function (> 5000)"
else
    bad "ERYX_PROFILE=perfmap wrote no $map"
fi
rm -f "$map" /tmp/eryx-perfmap-out.$$

"$cli" -c 'pass' &
pid=$!
wait $pid || bad "default run exited $?"
[ -e /tmp/perf-$pid.map ] && bad "a run without ERYX_PROFILE wrote /tmp/perf-$pid.map"
rm -f /tmp/perf-$pid.map

for value in jitdump bogus; do
    err=$(ERYX_PROFILE=$value "$cli" -c 'print("ran")' 2>&1)
    rc=$?
    [ $rc -ne 0 ] || bad "ERYX_PROFILE=$value: exit 0, want a failure"
    case "$err" in *ran*) bad "ERYX_PROFILE=$value: the code ran: $err" ;; esac
    case "$err" in *"ERYX_PROFILE"*) ;; *) bad "ERYX_PROFILE=$value: message does not name the variable: $err" ;; esac
done

echo "profile_perfmap: $fail problems"
[ $fail -eq 0 ]
