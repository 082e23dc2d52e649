#!/usr/bin/env bash
# tests/numpy-suite/run.sh: runs numpy's own test suite (the test files of the
# numpy sdist that guest/numpy/numpy.lock pins) inside eryx's sandbox, with pytest
# and hypothesis as pure-Python wheels (tests/numpy-suite/pypi.lock), one sandbox
# per test file, and prints per-file and total counts. docs/NUMPY-TESTS.md has
# the results and what the failures are.
#
# usage: tests/numpy-suite/run.sh [options] [TEST_FILE...]
#   TEST_FILE            paths inside the numpy tree, e.g. numpy/fft/tests/test_helper.py;
#                        default: every file listed in tests/numpy-suite/files.txt
#   --jobs N             sandboxes run at once (default: the number of cores)
#   --timeout T          wall-clock limit of one sandbox run, seconds (default 1800)
#   --max-memory N       the guest's memory cap (default 3G)
#   --dir DIR            work and result directory (default: build/numpy-suite)
#   --no-stubs           no stand-ins for the missing test-only C modules, ctypes
#                        and mmap (shows which files then fail to import)
#   --retries N          how often a file is run again without the test that
#                        crashed the sandbox or timed out (default 50)
# environment:
#   ERYX                 the eryx CLI (default: build/eryx)
#   ERYX_NUMPY_PACKAGE   numpy's package dir (default: guest/packages/build.sh numpy's output
#                        ; that script builds numpy if it is not cached)
# exit status: 0 when every file ran, nothing failed, crashed or errored, and at
# least one test passed; 1 otherwise; 2 on a usage or setup error.
# Results: DIR/results/*.json (per file), DIR/logs/*.log (pytest's output),
# DIR/junit/*.xml, DIR/summary.md and DIR/summary.json.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
. "$root/scripts/lib.sh"

jobs=$(nproc 2>/dev/null || echo 1)
timeout=1800
max_memory=3G
dir="$root/build/numpy-suite"
stubs=1
retries=50
files=()
while [ $# -gt 0 ]; do
    case "$1" in
        --jobs) jobs="$2"; shift 2 ;;
        --timeout) timeout="$2"; shift 2 ;;
        --max-memory) max_memory="$2"; shift 2 ;;
        --dir) dir="$2"; shift 2 ;;
        --no-stubs) stubs=0; shift ;;
        --retries) retries="$2"; shift 2 ;;
        -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
        --*) echo "run.sh: unknown option $1" >&2; exit 2 ;;
        *) files+=("$1"); shift ;;
    esac
done
if [ ${#files[@]} -eq 0 ]; then
    mapfile -t files < <(grep -v '^#' "$here/files.txt" | awk 'NF {print $1}')
fi

log() { echo "[numpy-suite] $*" >&2; }
die() { echo "run.sh: $*" >&2; exit 2; }

eryx="${ERYX:-$root/build/eryx}"
[ -x "$eryx" ] || die "no eryx CLI at $eryx (build it with ./build.sh, or set ERYX)"
pkg="${ERYX_NUMPY_PACKAGE:-}"
if [ -z "$pkg" ]; then
    log "ERYX_NUMPY_PACKAGE not set: asking guest/packages/build.sh numpy (builds numpy if it is not cached)"
    pkg="$("$root/guest/packages/build.sh" numpy | tail -n 1)"
fi
[ -f "$pkg/numpy/__init__.py" ] || die "$pkg is not numpy's package dir (no numpy/__init__.py); build it with guest/packages/build.sh numpy"

# --- the pinned downloads: each once into $ERYX_CACHE/downloads/<sha256>/, hash
# checked every time (as tests/packages/fetch.sh). numpy's sdist is taken from
# guest/numpy/build.sh's download when that is there and matches.
fetch() {  # fetch FILE SHA URL: prints the cached path
    local file="$1" sha="$2" url="$3" cached="$ERYX_CACHE/downloads/$2/$1"
    if [ ! -f "$cached" ] && [ -f "$ERYX_CACHE/numpy/dl/$file" ] &&
       echo "$sha  $ERYX_CACHE/numpy/dl/$file" | sha256sum -c --quiet - 2>/dev/null; then
        echo "$ERYX_CACHE/numpy/dl/$file"; return 0
    fi
    if [ ! -f "$cached" ]; then
        mkdir -p "$(dirname "$cached")"
        log "downloading $url"
        curl -fsSL --retry 3 -o "$cached.part" "$url" || die "cannot download $url"
        mv "$cached.part" "$cached"
    fi
    if ! echo "$sha  $cached" | sha256sum -c --quiet -; then
        rm -f "$cached"; die "$cached does not match its pinned SHA-256; removed, run again"
    fi
    echo "$cached"
}
wheels=()
sdist=""
while read -r file sha url; do
    case "$file" in ''|'#'*) continue ;; esac
    path=$(fetch "$file" "$sha" "$url")
    case "$file" in
        *.whl) wheels+=(--package "$path") ;;
        numpy-*.tar.gz) sdist="$path"; sdist_top="${file%.tar.gz}" ;;
    esac
done < "$here/pypi.lock"
[ -n "$sdist" ] || die "pypi.lock pins no numpy sdist"
np_lock_ver=$(grep -v '^#' "$root/guest/numpy/numpy.lock" | awk 'NF {print $1; exit}')
[ "$sdist_top" = "numpy-$np_lock_ver" ] ||
    die "pypi.lock's sdist is $sdist_top, guest/numpy/numpy.lock pins numpy $np_lock_ver: keep them the same"

# --- the package tree the sandbox imports: numpy's package (as built) plus the
# test directories, numpy/conftest.py and pytest.ini from the sdist, plus the
# plugin. Mounted read-only at /packages/numpy_suite. Its content (not its dates)
# keys the sandbox snapshot, so an unchanged tree reuses the snapshot.
mkdir -p "$dir"
dir="$(cd "$dir" && pwd)"
tree="$dir/numpy_suite"
rm -rf "$tree" "$dir/results" "$dir/logs" "$dir/junit" "$dir/current" "$dir/status"
mkdir -p "$tree" "$dir/results" "$dir/logs" "$dir/junit" "$dir/current" "$dir/status"
cp -a "$pkg/numpy" "$tree/numpy"
test_dirs=(numpy/_core/tests numpy/lib/tests numpy/linalg/tests numpy/fft/tests
           numpy/random/tests numpy/ma/tests numpy/polynomial/tests
           numpy/matrixlib/tests numpy/testing/tests numpy/tests)
tar xzf "$sdist" -C "$tree" --strip-components=1 "$sdist_top/pytest.ini" \
    "$sdist_top/numpy/conftest.py" "${test_dirs[@]/#/$sdist_top/}"
cp "$here/eryx_numpy_suite.py" "$tree/"
for f in "${files[@]}"; do
    [ -f "$tree/$f" ] || die "no test file $f in numpy's sdist (the test dirs taken: ${test_dirs[*]})"
done

common=("${wheels[@]}" --package "$tree" --import pytest --import numpy
        --mount "$dir:/out" --timeout "${timeout}s" --max-memory "$max_memory")
# Settings the sandbox forces, each for a reason (docs/NUMPY-TESTS.md):
pytest_args=(-c /packages/numpy_suite/pytest.ini --rootdir /packages/numpy_suite
    -p eryx_numpy_suite
    -p no:cacheprovider          # the tree is read-only
    -p no:faulthandler           # faulthandler.enable() needs os.dup (no dup in WASI)
    --capture=sys                # fd capture needs os.dup
    -o log_file=/tmp/pytest.log  # else pytest's logging opens os.devnull: no /dev/null
    --basetemp=/tmp/pytest       # else tmp_path calls os.getuid (none in WASI)
    -q -rN --tb=short)
# The driver: environment for the plugin from its arguments (--env would change
# the snapshot key per file), then pytest.
driver='import os, sys, pytest
i = sys.argv.index("--")
os.environ.update(a.split("=", 1) for a in sys.argv[1:i])
sys.exit(pytest.main(sys.argv[i + 1:]))'

log "$(date -u '+%Y-%m-%d %H:%M:%S UTC'): ${#files[@]} files, $jobs at a time, timeout ${timeout}s per run; eryx $eryx; numpy $pkg"
t_start=$(date +%s)
"$eryx" "${common[@]}" build >&2 || die "eryx could not build the snapshot (pytest, numpy pre-imported)"

run_file() {  # run_file INDEX PATH: runs one test file, again without crashers
    local idx="$1" f="$2" name attempt rc t0 t1 cur kind msg
    name=$(echo "${f%.py}" | tr '/' '_')
    local deselect=() status="$dir/status/$name"
    : > "$status.crashed"
    t0=$(date +%s.%N)
    for ((attempt = 1; attempt <= retries + 1; attempt++)); do
        rm -f "$dir/results/$name.json" "$dir/current/$name"
        rc=0
        "$eryx" "${common[@]}" -c "$driver" \
            "ERYX_NUMPY_SUITE_OUT=/out/results/$name.json" \
            "ERYX_NUMPY_SUITE_CURRENT=/out/current/$name" \
            "ERYX_NUMPY_SUITE_STUBS=$stubs" -- \
            "${pytest_args[@]}" --junitxml="/out/junit/$name.xml" \
            "/packages/numpy_suite/$f" "${deselect[@]}" \
            > "$dir/logs/$name.log" 2>&1 < /dev/null || rc=$?
        [ "$attempt" -gt 1 ] && cp "$dir/logs/$name.log" "$dir/logs/$name.attempt$attempt.log"
        [ -f "$dir/results/$name.json" ] && break
        cur=$(cat "$dir/current/$name" 2>/dev/null || true)
        case "$rc" in
            124) kind=timeout ;;
            125) kind=memory ;;
            3) kind=crash ;;
            *) kind="exit $rc" ;;
        esac
        # the sandbox's message, and for a trap the function it trapped in
        msg=$(grep -m1 -o -E '(eryx: |Fatal Python error).*' "$dir/logs/$name.log" | cut -c1-240 || true)
        frame=$(grep -m1 -E '^ +0: +0x[0-9a-f]+ - ' "$dir/logs/$name.log" | sed 's/.* - //' || true)
        [ -n "$frame" ] && msg="$msg (in $frame)"
        [ -z "$msg" ] && msg=$(grep -v '^\s*$' "$dir/logs/$name.log" | tail -n 1 | cut -c1-300 || true)
        if [ -n "$cur" ] && [ "$attempt" -le "$retries" ]; then
            # a test was running: note it, run the file again without it
            printf '%s\t%s\t%s\n' "$cur" "$kind" "$msg" >> "$status.crashed"
            cp "$dir/logs/$name.log" "$dir/logs/$name.crash$attempt.log"
            # the second crash among one test function's parameter sets: leave
            # out all of them (--deselect takes node id prefixes; pytest counts
            # them as deselected)
            if [[ "$cur" == *"["* ]] && [ "$(cut -f1 "$status.crashed" | grep -cF "${cur%%\[*}[")" -ge 2 ]; then
                deselect+=(--deselect "${cur%%\[*}[")
                log "$f: $kind in $cur; running the file again without ${cur%%\[*}[*]"
            else
                deselect+=(--deselect "$cur")
                log "$f: $kind in $cur; running the file again without it"
            fi
            continue
        fi
        [ -n "$cur" ] && printf '%s\t%s\t%s\n' "$cur" "$kind" "$msg" >> "$status.crashed"
        break
    done
    t1=$(date +%s.%N)
    printf 'rc=%s attempts=%s seconds=%.1f\n' "$rc" "$attempt" "$(echo "$t1 - $t0" | bc)" > "$status.run"
    if [ ! -f "$dir/results/$name.json" ]; then
        printf '%s\n' "$msg" > "$status.notrun"
    fi
    log "[$idx/${#files[@]}] $f: $(python3 "$here/report.py" --one "$dir" "$f") ($(printf '%.0f' "$(echo "$t1 - $t0" | bc)") s)"
}

i=0
for f in "${files[@]}"; do
    i=$((i + 1))
    while [ "$(jobs -rp | wc -l)" -ge "$jobs" ]; do wait -n || true; done
    run_file "$i" "$f" &
done
wait
t_end=$(date +%s)

rc=0
python3 "$here/report.py" "$dir" --seconds $((t_end - t_start)) --jobs "$jobs" \
    --stubs "$stubs" "${files[@]}" || rc=$?
exit "$rc"
