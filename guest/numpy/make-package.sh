#!/usr/bin/env bash
# guest/numpy/make-package.sh NUMPY_OUT DEST: lays out numpy as an eryx package
# directory (a source tree for eryx_builder_add_package / --package): DEST/numpy/
# holds numpy's Python tree with each extension module's side module next to its
# package, named as CPython names extension files
# (numpy/_core/_multiarray_umath.cpython-313-wasm32-wasi.so).
# NUMPY_OUT is the last line of guest/numpy/build.sh. With BUILD_PYTHON (CPython
# 3.13, the guest's own version: same bytecode), the Python files are compiled into
# __pycache__ with unchecked hashes, so the sandbox imports them without compiling
# (package images have fixed timestamps, which timestamp-checked .pyc would fail).
# usage: make-package.sh NUMPY_OUT DEST [BUILD_PYTHON]
set -euo pipefail
out="$1" dest="$2" py="${3:-}"
rm -rf "$dest"; mkdir -p "$dest"
cp -r "$out/site-packages/numpy" "$dest/numpy"
for so in "$out"/side/*.so; do
    dotted=$(basename "$so" .so)                      # numpy._core._multiarray_umath
    rel=$(echo "$dotted" | tr . /)                    # numpy/_core/_multiarray_umath
    cp "$so" "$dest/$rel.cpython-313-wasm32-wasi.so"
done
if [ -n "$py" ]; then
    "$py" -m compileall -q -j0 --invalidation-mode unchecked-hash "$dest/numpy" >/dev/null
fi
echo "$dest"
