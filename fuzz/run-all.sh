#!/usr/bin/env bash
# fuzz/run-all.sh: the fuzzing habit (issue 17). Builds every libFuzzer target
# (fuzz/build.sh: the targets are its `build fuzz_*` lines, so a new target is run
# without touching this script) and runs each for SECONDS on a kept corpus, one
# after the other, then appends one line per target to fuzz/README.md's "Run log":
# date, commit, seconds, execs, corpus sizes, findings.
#   usage: fuzz/run-all.sh [-t SECONDS] [-o OUTDIR] [--update-corpus] [--no-log] [TARGET...]
#   -t SECONDS       per target (default 180)
#   -o OUTDIR        build dir (default build/fuzz); the kept working corpus is
#                    OUTDIR/kept/<target> (survives runs; not committed)
#   --update-corpus  afterwards, minimise (libFuzzer -merge=1) the committed seeds in
#                    fuzz/corpus/<target>/ with what the run found, so the next
#                    checkout starts where this run ended (commit the result); a target
#                    whose minimised set has more than $ERYX_FUZZ_CORPUS_MAX_FILES (300)
#                    files keeps its committed seeds as they were
# Inputs of a run: OUTDIR/kept/<t> (new inputs land here), fuzz/corpus/<t> (committed,
# small, minimised) and OUTDIR/corpus/<t> (fuzz/build.sh's seeds). A finding (crash,
# leak, timeout, OOM) is left as OUTDIR/findings/<t>-*; rerun it with OUTDIR/<t> FILE.
# Exit status: 1 when any target found something or failed to run.
set -uo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
secs=180 out=$root/build/fuzz update=0 log=1 only=() max_files=${ERYX_FUZZ_CORPUS_MAX_FILES:-300}
while [ $# -gt 0 ]; do
    case $1 in
        -t) secs=$2; shift 2 ;;
        -o) out=$2; shift 2 ;;
        --update-corpus) update=1; shift ;;
        --no-log) log=0; shift ;;
        -h|--help) sed -n '2,/^set -uo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
        -*) echo "fuzz/run-all.sh: unknown option $1" >&2; exit 2 ;;
        *) only+=("$1"); shift ;;
    esac
done
mkdir -p "$out/logs"
"$root/fuzz/build.sh" "$out" >"$out/logs/build.log" 2>&1 ||
    { echo "fuzz/run-all.sh: fuzz/build.sh failed (log: $out/logs/build.log)" >&2; exit 1; }
out=$(cd "$out" && pwd)
mapfile -t targets < <(sed -n 's/^build \(fuzz_[a-z0-9_]*\) .*/\1/p' "$root/fuzz/build.sh")
[ ${#only[@]} -gt 0 ] && targets=("${only[@]}")
commit=$(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo unknown)
mkdir -p "$out/findings" "$out/logs"
count() { find "$@" -maxdepth 1 -type f 2>/dev/null | wc -l; }
rc=0 lines=()
for t in "${targets[@]}"; do
    kept=$out/kept/$t seeds=$root/fuzz/corpus/$t
    mkdir -p "$kept" "$seeds"
    before=$(count "$kept")
    committed=$(count "$seeds")
    start=$(date -u +%Y-%m-%dT%H:%MZ)
    found_before=$(count "$out/findings" -name "$t-*")
    "$out/$t" -max_total_time="$secs" -rss_limit_mb=4096 -timeout=30 -print_final_stats=1 \
        -artifact_prefix="$out/findings/$t-" "$kept" "$seeds" "$out/corpus/$t" >"$out/logs/$t.log" 2>&1
    status=$?
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$out/logs/$t.log" | tail -1)
    [ -n "$execs" ] || execs=$(grep -o 'Done [0-9]* runs' "$out/logs/$t.log" | tail -1 | grep -o '[0-9]*')
    cov=$(grep -o 'cov: [0-9]*' "$out/logs/$t.log" | tail -1 | grep -o '[0-9]*')
    found=$(( $(count "$out/findings" -name "$t-*") - found_before ))
    if [ "$status" -ne 0 ] || [ "$found" -gt 0 ]; then
        what="FINDING: exit $status, $found new file(s) in $out/findings/ (log $out/logs/$t.log)"
        rc=1
    else
        what="no finding"
    fi
    if [ "$update" = 1 ]; then
        # The committed seeds become the smallest set with the run's coverage.
        tmp=$(mktemp -d)
        # A set over the cap stays in the kept corpus only (the repository stays small).
        if "$out/$t" -merge=1 -rss_limit_mb=4096 "$tmp" "$seeds" "$kept" >"$out/logs/$t.merge.log" 2>&1; then
            if [ "$(count "$tmp")" -le "$max_files" ]; then
                rm -f "$seeds"/* && cp "$tmp"/* "$seeds"/ 2>/dev/null
            else
                echo "fuzz/run-all.sh: $t: $(count "$tmp") files after -merge=1, over $max_files: fuzz/corpus/$t not updated" >&2
            fi
        fi
        rm -rf "$tmp"
    fi
    line="| $start | $commit | $t | ${secs} | ${execs:-?} | ${cov:-?} | $committed+$before -> $(count "$kept") (committed now $(count "$seeds")) | $what |"
    echo "$line"
    lines+=("$line")
done
if [ "$log" = 1 ]; then
    printf '%s\n' "${lines[@]}" >>"$root/fuzz/README.md"
fi
exit $rc
