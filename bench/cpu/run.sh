#!/usr/bin/env bash
# bench/cpu/run.sh [suite.py args]: issue 22's CPU suite (bench/cpu/suite.py) with this
# tree's build/venv Python, which has the eryx module to measure (build it first:
# python/build-module.sh build). It never builds the native PGO+LTO baseline
# (bench/native-pgo.sh, tens of minutes): run that once before, or the suite says so
# and compares against the other native interpreters, labelled.
# e.g. bench/cpu/run.sh --reps 5 --json /tmp/cpu.json; bench/cpu/run.sh --only richards,nbody
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
top="$(cd "$here/../.." && pwd)"
py="$top/build/venv/bin/python"
if [ ! -x "$py" ]; then
    echo "[cpu] $py is missing: configure and build this tree, then python/build-module.sh build" >&2
    exit 1
fi
exec "$py" "$here/suite.py" --build "$top/build" "$@"
