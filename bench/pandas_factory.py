"""bench/pandas_factory.py NUMPY_PKG PANDAS_PKG [N [EXTRA...]]: the Python module's
SandboxFactory with numpy and pandas (give the recipes' .eryx files: source trees
are read again for every sandbox): warm create_sandbox() p50/min of N after one, for
numpy pre-imported, pandas pre-imported, and pandas importable with numpy
pre-imported; then three new configurations (pandas plus one stdlib module each, so
each needs a snapshot of its own: name modules not used in an earlier run, whose
snapshot is cached), factory + first sandbox. Run with build/venv/bin/python
(docs/PANDAS.md, "pandas: figures")."""
import statistics
import sys
import time

import eryx


def main():
    np_pkg, pd_pkg = sys.argv[1:3]
    n = int(sys.argv[3]) if len(sys.argv) > 3 else 20
    cases = [("numpy pre-imported", [np_pkg], ["numpy"]),
             ("pandas pre-imported", [np_pkg, pd_pkg], ["pandas"]),
             ("pandas importable, numpy pre-imported", [np_pkg, pd_pkg], ["numpy"])]
    for label, pkgs, imports in cases:
        f = eryx.SandboxFactory(packages=pkgs, imports=imports)
        f.create_sandbox()
        ts = []
        for _ in range(n):
            t = time.perf_counter()
            s = f.create_sandbox()
            ts.append((time.perf_counter() - t) * 1000)
            del s
        ts.sort()
        print(f"warm create_sandbox, {label}: p50 {statistics.median(ts):.2f} ms, min {ts[0]:.2f} ms (n={n})")
    for extra in sys.argv[4:] or ("colorsys", "fractions", "difflib"):
        t = time.perf_counter()
        f = eryx.SandboxFactory(packages=[np_pkg, pd_pkg], imports=["pandas", extra])
        r = f.create_sandbox().execute("import pandas as pd\nprint(pd.Series([1, 2]).sum())")
        assert r.stdout.strip() == b"3", r.stdout
        print(f"new configuration (pandas + {extra}): factory + first sandbox + execute "
              f"{(time.perf_counter() - t) * 1000:.0f} ms")


if __name__ == "__main__":
    main()
