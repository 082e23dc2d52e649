#!/bin/sh
# Compares the modules in sys.modules at the start of a sandbox: pyeryx 0.11.0's
# `eryx.Sandbox()` against eryx's default start state (build/eryx with no
# --imports: the list in src/sandbox/common_imports.c). Prints both
# counts and three lists: in both, only pyeryx's, only ours.
# Usage: bench/stdlib_usage/compare_pyeryx.sh [build/eryx]   (PYTHON: a Python
# >= 3.12 to make pyeryx's venv with; default python3.13)
set -eu
cd "$(dirname "$0")/../.."
ERYX=${1:-build/eryx}
VENV=${XDG_CACHE_HOME:-$HOME/.cache}/eryx/bench-venvs/stdlib-usage-pyeryx-0.11.0
if [ ! -x "$VENV/bin/python" ]; then
    "${PYTHON:-python3.13}" -m venv "$VENV"
    "$VENV/bin/pip" install -q --no-deps --require-hashes -r bench/stdlib_usage/pyeryx.txt
fi
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
LIST='import sys; print(" ".join(sorted(sys.modules)))'
cat >"$TMP/pyeryx.py" <<'PY'
import sys
import eryx
out = eryx.Sandbox().execute(sys.argv[1]).stdout
print(out.decode() if isinstance(out, bytes) else out, end="")
PY
"$VENV/bin/python" "$TMP/pyeryx.py" "$LIST" >"$TMP/pyeryx"
"$ERYX" -c "$LIST" >"$TMP/ours"  # the default start state
python3 - "$TMP/pyeryx" "$TMP/ours" <<'PY'
import sys
theirs, ours = (set(open(p).read().split()) for p in sys.argv[1:3])
print(f"pyeryx 0.11.0: {len(theirs)} modules; eryx default: {len(ours)}; both: {len(theirs & ours)}")
for title, s in (("both", theirs & ours), ("only pyeryx", theirs - ours), ("only eryx", ours - theirs)):
    print(f"{title} ({len(s)}): {' '.join(sorted(s))}")
PY
