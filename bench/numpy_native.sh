#!/usr/bin/env bash
# bench/numpy_native.sh: the baseline for bench/numpy_sandbox.c's workloads: the
# same numpy version (2.2.6, PyPI's manylinux wheel, hash-pinned; it uses OpenBLAS
# for matmul, which the wasm32-wasi build has not) on the host's /usr/bin/python3,
# timed the same way (inside Python, best of 5).
set -euo pipefail
venv="${XDG_CACHE_HOME:-$HOME/.cache}/eryx/bench-numpy-venv"
if [ ! -x "$venv/bin/python" ]; then
    /usr/bin/python3 -m venv "$venv"
    echo "numpy==2.2.6 --hash=sha256:ba10f8411898fc418a521833e014a77d3ca01c15b0c6cdcce6a0d2897e6dbbdf" > "$venv/req.txt"
    PIP_CONFIG_FILE=/dev/null "$venv/bin/pip" install -q --require-hashes --only-binary :all: -r "$venv/req.txt"
fi
"$venv/bin/python" - <<'PY'
import time, numpy as np
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
    print(f"native numpy {np.__version__}: {name:33s} best of 5 {best:9.3f} ms")
PY
