#!/usr/bin/env bash
# guest/netpkgs/build.sh: requests, httpx and their dependencies as one package tree
# for the sandbox (docs/NETWORK-GUEST.md). The pure-Python wheels pinned by SHA-256 in
# requirements.txt are fetched with pip (--require-hashes, no dependency resolution:
# the lock lists them all) and unpacked, as pip would install them, into one
# directory named netpkgs, which eryx mounts as a package (--package DIR,
# eryx_builder_add_package), with each module's bytecode compiled by the guest's
# native twin (CPython 3.13.5, guest/cpython-tree.sh's build Python) as unchecked-hash
# .pyc files for /packages/netpkgs: an import does not compile the sources in the
# sandbox. Prints that directory on its last line. Cached under
# $ERYX_CACHE/netpkgs/<key>, key = this script, the lock and that Python.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
. "$here/../../scripts/lib.sh"
native=$(cat "$("$here/../cpython-tree.sh" | tail -n 1)/build-python.path")
[ -x "$native" ] || { echo "netpkgs: the guest's build Python ($native) is missing" >&2; exit 1; }
key=$( { cat "$here/build.sh" "$here/requirements.txt"; echo "$native"; } | sha256sum | cut -c1-16)
out="$ERYX_CACHE/netpkgs/$key"
if [ -d "$out/netpkgs" ]; then
    echo "[eryx] netpkgs: reusing $out" >&2
    echo "$out/netpkgs"; exit 0
fi
mkdir -p "$ERYX_CACHE/netpkgs"
eryx_lock "$ERYX_CACHE/netpkgs/$key.lock"
if [ -d "$out/netpkgs" ]; then echo "$out/netpkgs"; exit 0; fi
tmp="$out.tmp.$$"; rm -rf "$tmp"; mkdir -p "$tmp/wheels" "$tmp/netpkgs"
# Debian's pip (a fresh Debian 12 has python3 without it; `pip download` installs nothing).
"$here/../../scripts/apt-install.sh" python3-pip >&2
/usr/bin/python3 -m pip download --quiet --disable-pip-version-check --require-hashes --no-deps --only-binary=:all: \
    --python-version 3.13 --implementation py --abi none --platform any \
    -r "$here/requirements.txt" -d "$tmp/wheels" >&2
n=0
for whl in "$tmp"/wheels/*.whl; do
    case "$whl" in *-none-any.whl) ;; *) echo "netpkgs: $whl is not a pure-Python wheel" >&2; exit 1 ;; esac
    python3 -m zipfile -e "$whl" "$tmp/netpkgs"
    n=$((n + 1))
done
want=$(grep -c '^[a-zA-Z]' "$here/requirements.txt")
[ "$n" = "$want" ] || { echo "netpkgs: $n wheels for $want pins" >&2; exit 1; }
# Bytecode as the sandbox will use it; deterministic (unchecked hashes, fixed file
# times: the package image hashes the tree).
find "$tmp/netpkgs" -name '__pycache__' -prune -exec rm -rf {} +
"$native" -m compileall -q --invalidation-mode unchecked-hash -s "$tmp/netpkgs" -p /packages/netpkgs \
    "$tmp/netpkgs" >&2
find "$tmp/netpkgs" -exec touch -h -d '1980-01-01 00:00:00Z' {} +
mv "$tmp/wheels" "$tmp/netpkgs.wheels"
rm -rf "$out"; mv "$tmp" "$out"
echo "[eryx] netpkgs: $n wheels -> $out/netpkgs" >&2
echo "$out/netpkgs"
