#!/bin/sh
# `eryx bench` runs the separate eryx-bench program from eryx's own directory with
# the same arguments (src/cli/main.c); eryx-bench parses eryx's options with the same
# table (src/bench/bench_main.c). Checks that, without running a benchmark.
# usage: bench_exec.sh ERYX ERYX_BENCH
set -u
eryx=$1 bench=$2 failures=0
tmp=$(mktemp -d /tmp/eryx-bench-exec-XXXXXX)
trap 'rm -rf "$tmp"' EXIT

# check NAME WANT_STATUS WANT_IN_OUTPUT COMMAND...: the status, and a substring of stdout+stderr.
check() {
    name=$1 want=$2 text=$3
    shift 3
    "$@" >"$tmp/out" 2>&1
    got=$?
    if [ "$got" -ne "$want" ] || ! grep -qF -- "$text" "$tmp/out"; then
        echo "FAIL $name: exit $got (want $want), output lacks '$text' or differs:"
        sed 's/^/  /' "$tmp/out"
        failures=$((failures + 1))
    else
        echo "ok   $name"
    fi
}

check bench_args_checked_by_eryx_bench 2 "bench takes --json, --runs N, --numpy PACKAGE, --corpus DIR, --run FILE and --engine KIND, not --bogus" \
    "$eryx" bench --bogus
check options_before_bench_passed 2 "bench takes --json, --runs N, --numpy PACKAGE, --corpus DIR, --run FILE and --engine KIND, not --runs" \
    "$eryx" --import json --env A=1 --no-preinit bench --runs
check bench_corpus_needs_dir 2 "bench takes --json, --runs N, --numpy PACKAGE, --corpus DIR, --run FILE and --engine KIND, not --corpus" \
    "$bench" --corpus
check option_error_before_exec 2 "--env wants NAME=VALUE" "$eryx" --env NOVALUE bench
check bench_help 0 "--import MOD" "$bench" --help
check bench_help_usage 0 "usage: eryx [options] bench [--json] [--runs N] [--numpy PACKAGE] [--corpus DIR]" "$bench" -h
check bench_no_code 2 "bench runs no code" "$bench" -c pass
check bench_version 0 "eryx " "$bench" --version
# --run FILE (bench/engine_levers.py): the file's output, on the engine kind named.
printf 'print("ran", 6 * 7)\n' >"$tmp/six.py"
check bench_run_file 0 "ran 42" "$eryx" --no-preinit bench --run "$tmp/six.py" --engine standard
check bench_run_missing_file 2 "cannot read $tmp/none.py" "$bench" --run "$tmp/none.py"
check bench_engine_unknown 2 "bench --engine takes standard or epoch, not bogus" "$bench" --run "$tmp/six.py" --engine bogus
check bench_engine_needs_run 2 "bench --engine goes with --run FILE" "$bench" --engine standard
cp "$eryx" "$tmp/eryx"
check eryx_bench_missing 3 "eryx: bench: cannot run $tmp/eryx-bench" "$tmp/eryx" bench --json
if "$bench" --help | grep -q -- "-c CODE"; then
    echo "FAIL bench_help_no_code: eryx-bench's help lists -c"
    failures=$((failures + 1))
fi
[ "$failures" -eq 0 ] && echo "all passed" || echo "$failures failed"
[ "$failures" -eq 0 ]
