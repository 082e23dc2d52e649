#!/usr/bin/env bash
# guest/packages/build.sh NAME [-j N] [--eryx BIN] [--print-key] [--no-link-check]:
# builds the package recipe guest/packages/NAME/recipe.toml (docs/PACKAGES.md,
# "Adding a package: recipes"); the last stdout line is the package tree. The driver
# is build.py (Debian's python3: tomllib needs 3.11); this is its entry point.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
exec /usr/bin/python3 "$here/build.py" "$@"
