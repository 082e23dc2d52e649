#!/usr/bin/env bash
# ctest's fuzz.smoke: builds every fuzz target (fuzz/build.sh) into OUTDIR and runs
# each for SECONDS (default 3) on its seeds, so a refactor that breaks a target's
# build, or a crash near its seeds, fails the suite. Not a fuzzing campaign: see
# fuzz/README.md for those.
#   usage: fuzz/smoke.sh OUTDIR [SECONDS]
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
out=$1
secs=${2:-3}
"$here/build.sh" "$out" >/dev/null || { echo "FAIL: fuzz/build.sh could not build the targets"; exit 1; }
out=$(cd "$out" && pwd)
fail=0
for t in fuzz_zip fuzz_wasi fuzz_store fuzz_wasm_image fuzz_session_blob fuzz_package fuzz_dylink fuzz_net_addr fuzz_net_secrets fuzz_net_conn fuzz_journal fuzz_module_blob; do
    # New inputs go to a scratch corpus (listed first); the seeds stay as built.
    rm -rf "$out/smoke/$t" && mkdir -p "$out/smoke/$t" "$out/artifacts"
    if "$out/$t" -max_total_time="$secs" -rss_limit_mb=4096 -print_final_stats=0 \
        -artifact_prefix="$out/artifacts/$t-" "$out/smoke/$t" "$out/corpus/$t" >"$out/smoke/$t.log" 2>&1; then
        echo "ok   $t: $(grep -o 'Done [0-9]* runs' "$out/smoke/$t.log" | tail -1)"
    else
        echo "FAIL $t (log: $out/smoke/$t.log; input in $out/artifacts/)"
        tail -n 30 "$out/smoke/$t.log"
        fail=1
    fi
done
exit $fail
