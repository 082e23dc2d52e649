#!/usr/bin/env bash
# bench/packages.sh [RUNS]: what packages cost, in one run, against native CPython
# 3.13 (the guest build's build Python, same source) importing the same files from
# an unpacked site-packages. Cases: `-c pass` with and without two packages
# (jinja2 wheel + markupsafe source tree); `import jinja2` without pre-init of it;
# the same with `--import jinja2` (in the snapshot). Needs hyperfine (Debian).
# Run after ./build.sh.
set -euo pipefail
top="$(cd "$(dirname "$0")/.." && pwd)"
cd "$top"
runs="${1:-20}"
scripts/apt-install.sh hyperfine unzip >&2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
tests/packages/fetch.sh "$tmp/pk" 2>/dev/null
J="$tmp/pk/jinja2-3.1.4-py3-none-any.whl" M="$tmp/pk/markupsafe-3.0.2"
mkdir -p "$tmp/site"; unzip -q "$J" -d "$tmp/site"; cp -r "$M/src/markupsafe" "$tmp/site/"
rm -f "$tmp/site/markupsafe/"*.c
cp -r "$tmp/site" "$tmp/site-nopyc"
native=$(ls -d "${XDG_CACHE_HOME:-$HOME/.cache}"/eryx/build-python/*/build/python | head -1)
"$native" -m compileall -q "$tmp/site" >/dev/null  # native's best case: .pyc files ready
E="$top/build/eryx"
"$E" --package "$J" --package "$M" --import jinja2 build 2>/dev/null  # snapshot made once, outside the timing
hyperfine -N -w 3 -r "$runs" --export-markdown "$tmp/out.md" \
  -n "eryx -c pass" "$E -c pass" \
  -n "eryx + 2 packages, -c pass" "$E --package $J --package $M -c pass" \
  -n "eryx + 2 packages, import jinja2" "$E --package $J --package $M -c 'import jinja2'" \
  -n "eryx + 2 packages, --import jinja2 (snapshot)" "$E --package $J --package $M --import jinja2 -c 'import jinja2'" \
  -n "native 3.13, import jinja2 (.pyc ready)" "env PYTHONPATH=$tmp/site $native -c 'import jinja2'" \
  -n "native 3.13, import jinja2 (no .pyc, -B)" "env PYTHONPATH=$tmp/site-nopyc $native -B -c 'import jinja2'" >&2
cat "$tmp/out.md"
