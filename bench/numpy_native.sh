#!/usr/bin/env bash
# bench/numpy_native.sh: the native baselines for bench/numpy_sandbox.c's
# workloads, numpy 2.2.6 on the host's /usr/bin/python3, timed the same way
# (inside Python, best of 5), twice:
#   - PyPI's manylinux wheel (hash-pinned). It uses OpenBLAS for matmul, which the
#     wasm32-wasi build has not.
#   - numpy built here from the sdist pinned in guest/numpy/numpy.lock with
#     -Dblas=none -Dlapack=none (numpy's own fallback loops, as in the wasm build):
#     the baseline of issue 8's target ("within 3x of native numpy without BLAS").
#     Built once (17 min here, the 2 cores shared with other builds), cached under
#     $ERYX_CACHE/bench-numpy-noblas/<key>; progress and log paths go to stderr.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
top="$(cd "$here/.." && pwd)"
. "$top/scripts/lib.sh"

# --- baseline 1: PyPI's wheel (OpenBLAS) ------------------------------------------
venv="$ERYX_CACHE/bench-numpy-venv"
if [ ! -x "$venv/bin/python" ]; then
    /usr/bin/python3 -m venv "$venv"
    echo "numpy==2.2.6 --hash=sha256:ba10f8411898fc418a521833e014a77d3ca01c15b0c6cdcce6a0d2897e6dbbdf" > "$venv/req.txt"
    PIP_CONFIG_FILE=/dev/null "$venv/bin/pip" install -q --require-hashes --only-binary :all: -r "$venv/req.txt"
fi

# --- baseline 2: the sdist, no BLAS/LAPACK ------------------------------------------
read -r np_ver np_file np_sha < <(grep -v '^#' "$top/guest/numpy/numpy.lock" | grep . | head -n 1)
# Cython and ninja as the wasm build pins them; meson-python (the sdist's build
# backend; numpy brings its own meson fork, but meson-python requires the meson
# package) and its dependencies, py3 wheels from PyPI.
tool_pins="$(grep -E '^(Cython|ninja)==' "$top/guest/numpy/build-tools.txt")
meson-python==0.18.0 --hash=sha256:3b0fe051551cc238f5febb873247c0949cd60ded556efa130aa57021804868e2
meson==1.12.1 --hash=sha256:930bc7542cbd9f57009e182fd014eba48cf1a0180a7b9006d2d32d8f168d8b02
pyproject-metadata==0.12.1 --hash=sha256:f7162d580a96386a8eb096da06215f981f547d1490f03055ef99e323bc2da427
packaging==26.4 --hash=sha256:81383611a09c1bc0b08b76e0fd5829d7c6824c65b27a6aee339da133f4233ea2"
# meson options (names from the sdist's meson.options). SIMD dispatch stays at
# numpy's defaults: this is native numpy as pip would build it, less BLAS.
setup_args=(-Dblas=none -Dlapack=none -Dallow-noblas=true)
toolchain="$(gcc --version | head -n 1); $(g++ --version | head -n 1); $(/usr/bin/python3 --version)"
key=$(printf '%s\n' "$np_sha" "$tool_pins" "${setup_args[@]}" "$toolchain" | sha256sum | cut -c1-16)
nb="$ERYX_CACHE/bench-numpy-noblas/$key"
nbvenv="$nb/venv"
logs="$ERYX_CACHE/logs/bench-numpy-noblas-$key"

build_noblas() {
    # The directory is only ever written under the lock and counts once .complete
    # exists; anything else there is a build that died: start over.
    rm -rf "$nb"; mkdir -p "$nb" "$logs"
    echo "[eryx] numpy no-BLAS: building numpy $np_ver (key $key) in $nb, logs in $logs" >&2
    local t0; t0=$(eryx_now)

    # The sdist guest/numpy/build.sh downloaded (./build.sh runs it first), checked
    # against numpy.lock again here: one download path for both builds.
    local sdist="$ERYX_CACHE/numpy/dl/$np_file"
    fetch_sdist() {
        if [ ! -f "$sdist" ]; then
            echo "$sdist is missing: run ./build.sh (or guest/numpy/build.sh) first, which downloads it"
            return 1
        fi
        if ! echo "$np_sha  $sdist" | sha256sum -c -; then
            echo "$sdist does not match numpy.lock's sha256: remove it and run guest/numpy/build.sh again"
            return 1
        fi
    }
    eryx_step "numpy no-BLAS: check sdist" "$logs/fetch.log" fetch_sdist >&2

    make_tools_venv() {
        /usr/bin/python3 -m venv "$nbvenv"
        printf '%s\n' "$tool_pins" > "$nb/build-tools.txt"
        "$nbvenv/bin/pip" install --no-cache-dir --require-hashes --only-binary :all: -r "$nb/build-tools.txt"
    }
    eryx_step "numpy no-BLAS: venv + tools" "$logs/tools.log" make_tools_venv >&2

    # The PEP 517 hook is called directly: Debian's venv pip (23.0.1) keeps only the
    # last of repeated --config-settings setup-args=..., which would drop options.
    build_wheel() {
        tar xzf "$sdist" -C "$nb"
        cd "$nb/numpy-$np_ver"
        CC=gcc CXX=g++ PATH="$nbvenv/bin:$PATH" "$nbvenv/bin/python" - "$nb/dist" "${setup_args[@]}" <<'PY'
import os, sys, mesonpy
out = sys.argv[1]; os.makedirs(out)
print("built", mesonpy.build_wheel(out, {"setup-args": sys.argv[2:]}))
PY
    }
    local tb; tb=$(eryx_now)
    eryx_step "numpy no-BLAS: build wheel" "$logs/build.log" build_wheel >&2
    local build_s=$(( $(eryx_now) - tb ))

    install_wheel() {
        "$nbvenv/bin/pip" install --no-index --no-deps "$nb/dist"/numpy-*.whl
        rm -rf "$nb/numpy-$np_ver"   # the unpacked tree and meson's build dir
    }
    eryx_step "numpy no-BLAS: install" "$logs/install.log" install_wheel >&2
    printf '%s\n' "numpy $np_ver from $np_file ($np_sha)" "setup-args: ${setup_args[*]}" \
        "$toolchain" "wheel build: ${build_s}s, total: $(( $(eryx_now) - t0 ))s" > "$nb/build-info.txt"
    echo "[eryx] numpy no-BLAS: wheel build ${build_s}s" >&2
}

# Fails unless the venv's numpy is the one built here and has neither BLAS nor
# LAPACK (what numpy recorded at configure time, and no BLAS library beside it).
check_noblas() {
    "$nbvenv/bin/python" - "$nbvenv" <<'PY' || return 1
import os, sys, numpy as np
cfg = np.__config__.CONFIG["Build Dependencies"]
# CONFIG leaves out false/empty fields: a library that was not found has no "found"
bad = [f"{k}: {cfg[k]}" for k in ("blas", "lapack")
       if cfg[k].get("found") or cfg[k].get("name") != "none"]
root = os.path.dirname(np.__file__)
if not root.startswith(sys.argv[1]):
    bad.append(f"numpy imported from {root}, not the venv")
libs = os.path.join(os.path.dirname(root), "numpy.libs")
if os.path.isdir(libs):
    bad.append(f"bundled libraries in {libs}: {os.listdir(libs)}")
if bad:
    sys.exit("numpy no-BLAS check FAILED: " + "; ".join(bad))
PY
    # and no BLAS/LAPACK library among the core module's dynamic dependencies
    local so; so=$(ls "$nbvenv"/lib/python3*/site-packages/numpy/_core/_multiarray_umath.*.so)
    if ldd "$so" | grep -Ei 'blas|lapack|mkl'; then
        echo "numpy no-BLAS check FAILED: $so links the libraries above" >&2; return 1
    fi
}

if [ ! -f "$nb/.complete" ]; then
    eryx_lock "$ERYX_CACHE/bench-numpy-noblas/$key.lock" >&2
    if [ ! -f "$nb/.complete" ]; then
        build_noblas
        check_noblas
        touch "$nb/.complete"
    fi
fi
check_noblas

# --- the workloads ----------------------------------------------------------------------
bench() {
    "$1/bin/python" - "$2" <<'PY'
import sys, time, numpy as np
work = {
    "matmul 300x300 float64": "a = np.random.default_rng(0).random((300, 300))\nt = time.perf_counter(); b = a @ a; r = (time.perf_counter() - t) * 1e3",
    "sort 10^6 float64": "a = np.random.default_rng(0).random(1_000_000)\nt = time.perf_counter(); np.sort(a); r = (time.perf_counter() - t) * 1e3",
    "elementwise 10^6 (a*b+c)": "g = np.random.default_rng(0)\na, b, c = g.random(10**6), g.random(10**6), g.random(10**6)\nt = time.perf_counter(); d = a * b + c; r = (time.perf_counter() - t) * 1e3",
}
for name, code in work.items():
    best = 1e9
    for _ in range(5):
        ns = {"np": np, "time": time}
        exec(code, ns)
        best = min(best, ns["r"])
    print(f"native numpy {np.__version__} ({sys.argv[1]}): {name:26s} best of 5 {best:9.3f} ms")
PY
}
bench "$venv" "OpenBLAS wheel"
bench "$nbvenv" "sdist, no BLAS"

# `import numpy` in a new process (the sandbox's "import numpy without pre-init"
# is a fresh import in a fresh state too), best of 5, .pyc files already written.
for v in "$venv:OpenBLAS wheel" "$nbvenv:sdist, no BLAS"; do
    py="${v%%:*}/bin/python"
    best=$(for _ in 1 2 3 4 5; do
        "$py" -c 'import time; t = time.perf_counter(); import numpy; print((time.perf_counter() - t) * 1e3)'
    done | sort -g | head -n 1)
    printf 'native numpy 2.2.6 (%s): import numpy in a new process   best of 5 %9.3f ms\n' "${v#*:}" "$best"
done
