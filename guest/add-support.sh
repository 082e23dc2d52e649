#!/usr/bin/env bash
# guest/add-support.sh CORE_DIR: the second, fast stage of the guest build. Takes
# the interpreter and stdlib image that guest/build.sh made in CORE_DIR, adds
# eryx's guest-side support code (guest/lib/*.py, compiled to .pyc by the same
# build Python) to the stdlib image, and prints on its last line the directory
# holding the finished guest: python.wasm, python.wasm.sha256, python313.zip,
# manifest.json. Cached under $ERYX_CACHE/guest-support/<key>, key = the core's
# key plus every input here.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
. "$here/../scripts/lib.sh"
core="$1"
native=$(cat "$core/build-python.path" 2>/dev/null || true)
if [ ! -x "$native" ]; then
    echo "[eryx] guest: the build Python recorded in $core/build-python.path is missing;" >&2
    echo "[eryx] remove $core and run ./build.sh again to rebuild it" >&2
    exit 1
fi
key=$( { basename "$core"; cat "$here/add-support.sh" "$here/pack-support.py" "$here"/lib/*.py; } \
    | sha256sum | cut -c1-16)
out="$ERYX_CACHE/guest-support/$key"
if [ -f "$out/manifest.json" ]; then
    echo "[eryx] guest: reusing support stage $out" >&2
    echo "$out"; exit 0
fi
eryx_lock "$ERYX_CACHE/guest-support/$key.lock"
if [ -f "$out/manifest.json" ]; then echo "$out"; exit 0; fi
tmp="$out.tmp.$$"; rm -rf "$tmp"; mkdir -p "$tmp"
# The interpreter is shared with the core stage (a hard link when possible).
ln "$core/python.wasm" "$tmp/python.wasm" 2>/dev/null || cp "$core/python.wasm" "$tmp/python.wasm"
cp "$core/python.wasm.sha256" "$tmp/"
"$native" "$here/pack-support.py" "$core" "$here/lib" "$tmp" >&2
rm -rf "$out"; mv "$tmp" "$out"
echo "[eryx] guest: support stage -> $out" >&2
echo "$out"
