#!/usr/bin/env bash
# tests/pandas-suite/run.sh [--dir DIR] [TEST_FILE...]: runs pandas' own tests (the
# test files of the sdist guest/packages/pandas/recipe.toml pins) inside eryx's
# sandbox, one sandbox per file, with pytest and hypothesis as the pure-Python wheels
# tests/numpy-suite/pypi.lock pins, and prints pytest's summary line per file and
# the totals. TEST_FILE: paths under pandas/tests/ (default: files.txt).
# The tree the sandbox imports is the pandas recipe's package tree plus the sdist's
# pandas/tests (mounted read-only at /packages/pandas_suite). pytest runs with
# -p no:cacheprovider (read-only tree), -p no:faulthandler and -s (both need os.dup,
# which WASI lacks), --basetemp=/tmp/pytest (pytest's own temp dir checks os.getuid,
# which WASI lacks) and pandas' addopts emptied (they ask for fd capture).
# environment: ERYX (default build/eryx). Exit status 0 when every file passed.
# docs/PANDAS.md, "pandas' own tests", has the results and what the failures are.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
. "$root/scripts/lib.sh"
dir="$root/build/pandas-suite"
files=()
while [ $# -gt 0 ]; do
    case "$1" in
        --dir) dir="$2"; shift 2 ;;
        --*) echo "run.sh: unknown option $1" >&2; exit 2 ;;
        *) files+=("$1"); shift ;;
    esac
done
[ ${#files[@]} -gt 0 ] || mapfile -t files < <(grep -v '^#' "$here/files.txt" | awk 'NF {print $1}')
eryx="${ERYX:-$root/build/eryx}"
[ -x "$eryx" ] || { echo "run.sh: no eryx CLI at $eryx" >&2; exit 2; }
np=$("$root/guest/packages/build.sh" numpy | tail -n 1)
pd=$("$root/guest/packages/build.sh" pandas | tail -n 1)
read -r pd_ver pd_sdist pd_sha < <(/usr/bin/python3 -c 'import sys, tomllib
p = tomllib.load(open(sys.argv[1], "rb"))["package"]; print(p["version"], p["sdist"], p["sha256"])' \
    "$root/guest/packages/pandas/recipe.toml")
sdist="$ERYX_CACHE/packages/dl/$pd_sdist"   # the recipe's download, checked again here
echo "$pd_sha  $sdist" | sha256sum -c --quiet - || { echo "run.sh: $sdist does not match the recipe" >&2; exit 2; }
# pytest and its dependencies: numpy's suite's pinned wheels, fetched once.
wheels=()
while read -r file sha url; do
    case "$file" in *.whl) ;; *) continue ;; esac
    cached="$ERYX_CACHE/downloads/$sha/$file"
    if [ ! -f "$cached" ]; then
        mkdir -p "$(dirname "$cached")"
        curl -fsSL --retry 3 -o "$cached.part" "$url" && mv "$cached.part" "$cached"
    fi
    echo "$sha  $cached" | sha256sum -c --quiet - || { rm -f "$cached"; echo "run.sh: $cached: bad SHA-256" >&2; exit 2; }
    wheels+=(--package "$cached")
done < "$root/tests/numpy-suite/pypi.lock"
mkdir -p "$dir"; dir="$(cd "$dir" && pwd)"
tree="$dir/pandas_suite"
rm -rf "$tree" "$dir/logs"; mkdir -p "$dir/logs"
cp -a "$pd" "$tree"; chmod -R u+w "$tree"
tar xzf "$sdist" -C "$tree" --strip-components=1 "pandas-$pd_ver/pandas/tests"
cat > "$dir/run_pytest.py" <<'PY'
import sys, pytest
sys.exit(pytest.main(["-q", "-p", "no:cacheprovider", "-p", "no:faulthandler", "-s", "--tb=short",
                      "-c", "/packages/pandas_suite/pandas/pyproject.toml", "--rootdir", "/packages/pandas_suite",
                      "-o", "addopts=", "--basetemp=/tmp/pytest"]
                     + ["/packages/pandas_suite/pandas/tests/" + f for f in sys.argv[1:]]))
PY
for f in "${files[@]}"; do
    [ -f "$tree/pandas/tests/$f" ] || { echo "run.sh: no test file pandas/tests/$f in the sdist" >&2; exit 2; }
    log="$dir/logs/$(echo "$f" | tr / _).log"
    frc=0
    "$eryx" --max-memory 3G --timeout 900s --package "$np" --package "$tree" "${wheels[@]}" \
        run "$dir/run_pytest.py" "$f" > "$log" 2>&1 || frc=$?
    echo "$f: exit $frc, $(grep -E '[0-9]+ (passed|failed|error)' "$log" | tail -n 1 | tr -d '=' | sed 's/^ *//')"
done | tee "$dir/summary.txt"
awk '{for (i = 1; i <= NF; i++) { n = $i + 0; w = $(i + 1); sub(/[,]$/, "", w)
      if (w ~ /^(passed|failed|skipped|xfailed|xpassed|errors?)$/) t[w] += n } }
     END { printf "total:"; for (k in t) printf " %s %d", k, t[k]; print "" }' "$dir/summary.txt" | tee -a "$dir/summary.txt"
grep -q 'exit [^0]' "$dir/summary.txt" && exit 1 || exit 0
