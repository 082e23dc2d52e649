#!/bin/sh
# e2e.corpus: every snippet of the workload corpus (bench/corpus/, issue 16) gives, in a
# fresh sandbox, exactly the stdout native CPython 3.13 gave (bench/corpus/expected/,
# written by bench/corpus.py --write-expected) and exits 0. Each snippet runs in its
# own `eryx run FILE` process (the CLI, the default start state); the NN_cb_* snippets
# await host callbacks, which the CLI cannot register, so they run through
# corpus_run (the C API, the same default builder plus the corpus's callbacks).
# usage: corpus.sh ERYX CORPUS_RUN CORPUS_DIR
set -u
eryx=$1 runner=$2 dir=$3 failures=0 count=0
tmp=$(mktemp -d /tmp/eryx-corpus-XXXXXX)
trap 'rm -rf "$tmp"' EXIT
for f in "$dir"/[0-9][0-9]_*.py; do
    name=$(basename "$f" .py)
    count=$((count + 1))
    want="$dir/expected/$name.out"
    if [ ! -f "$want" ]; then
        echo "FAIL $name: no expected/$name.out (bench/corpus.py --write-expected)"
        failures=$((failures + 1))
        continue
    fi
    case "$name" in
    *_cb_*) "$runner" "$f" >"$tmp/out" 2>"$tmp/err" ;;
    *) "$eryx" run "$f" >"$tmp/out" 2>"$tmp/err" ;;
    esac
    status=$?
    if [ "$status" -ne 0 ] || ! cmp -s "$tmp/out" "$want"; then
        echo "FAIL $name: exit $status; stdout against expected/$name.out:"
        diff "$want" "$tmp/out" | head -20 | sed 's/^/  /'
        sed 's/^/  stderr: /' "$tmp/err" | tail -5
        failures=$((failures + 1))
    else
        echo "ok   $name"
    fi
done
# The issue asks for at least 50 snippets; snippet 00 is its 10-line snippet.
if [ "$count" -lt 50 ] || [ ! -f "$dir/00_summary_200_dicts.py" ]; then
    echo "FAIL corpus: $count snippets (at least 50, 00_summary_200_dicts.py among them)"
    failures=$((failures + 1))
fi
[ "$failures" -eq 0 ] && echo "all $count passed" || echo "$failures failed of $count"
[ "$failures" -eq 0 ]
