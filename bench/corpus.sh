#!/usr/bin/env bash
# bench/corpus.sh [corpus.py args]: the workload corpus (bench/corpus/) through eryx's
# Python module, pyeryx 0.11.0 (PyPI, pinned by hash) and native CPython 3.13, each
# snippet in a fresh sandbox or process per run; see bench/corpus.py for the options
# (--runs R, default 20; --impl; --only; --build DIR; --out DIR). Picks a Python >= 3.11
# to coordinate (python3, else pyenv's); writes BUILD/corpus-bench/corpus.{md,json}.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
py=
for c in python3 "$HOME"/.pyenv/versions/3.13.*/bin/python3.13 "$HOME"/.pyenv/versions/3.12.*/bin/python3.12 \
    "$HOME"/.pyenv/versions/3.11.*/bin/python3.11; do
    if command -v "$c" >/dev/null 2>&1 && "$c" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
        py=$c
        break
    fi
done
[ -n "$py" ] || { echo "corpus.sh: no Python >= 3.11 to run bench/corpus.py" >&2; exit 2; }
cd "$here/.."
exec "$py" bench/corpus.py "$@"
