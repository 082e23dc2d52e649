"""Latency of the Python API (import eryx), p50/p99, against baselines in the same run.

    build/venv/bin/python bench/python_api.py [--runs N] [--json]

Measures: eryx.Sandbox() creation (in a process that made one before, and the
first in a new process); Sandbox.execute("pass"); Session.execute("pass");
SandboxFactory(imports=[a set not made before]) in a new process, with cache=True
and cache=False (the cache entries the cache=True runs add are removed after);
and, as baselines on this machine at the same moment, CPython's own
exec(compile("pass")) in a fresh dict, and `python3 -c pass` as a subprocess
(what isolating code in a new process costs).
"""
import argparse
import json
import os
import subprocess
import sys
import time

import eryx


def pct(xs, p):
    xs = sorted(xs)
    k = min(len(xs) - 1, max(0, round(p / 100 * (len(xs) - 1))))
    return xs[k]


def measure(fn, runs, warmup=5):
    for _ in range(warmup):
        fn()
    out = []
    for _ in range(runs):
        t0 = time.perf_counter_ns()
        fn()
        out.append((time.perf_counter_ns() - t0) / 1e6)
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=300)
    ap.add_argument("--json", action="store_true")
    a = ap.parse_args()
    sb = eryx.Sandbox()
    session = eryx.Session()
    cases = {
        "Sandbox() creation": measure(lambda: eryx.Sandbox(), a.runs),
        'Sandbox.execute("pass")': measure(lambda: sb.execute("pass"), a.runs),
        'Session.execute("pass")': measure(lambda: session.execute("pass"), a.runs),
        'baseline: exec("pass") in CPython': measure(lambda: exec(compile("pass", "<s>", "exec"), {}), a.runs),
        "baseline: subprocess python3 -c pass": measure(
            lambda: subprocess.run([sys.executable, "-c", "pass"], check=True), max(20, a.runs // 10), warmup=2),
    }
    # The first Sandbox() of a process: loads the cached compiled module and snapshot
    # image from the disk cache (later ones find them in process memory).
    first_code = ("import time, eryx\nt = time.perf_counter_ns()\neryx.Sandbox()\n"
                  "print((time.perf_counter_ns() - t) / 1e6)")
    cases["first Sandbox() in a new process"] = [
        float(subprocess.run([sys.executable, "-c", first_code], check=True, capture_output=True,
                             text=True).stdout) for _ in range(max(10, a.runs // 30))]
    # A new import set per run: three common modules plus one that neither the
    # default start state nor an earlier run imported, so each factory captures.
    pool = ["colorsys", "sched", "graphlib", "netrc", "plistlib", "quopri", "mailbox",
            "smtplib", "imaplib", "poplib", "ftplib", "wave", "tabnanny", "pyclbr",
            "filecmp", "fileinput", "cmd", "code", "codeop", "pdb", "trace", "tracemalloc", "timeit", "cProfile",
            "pstats", "zipapp", "compileall", "py_compile", "modulefinder", "runpy", "symtable", "token", "tokenize"]
    default = set(eryx._eryx.default_imports().split())
    pool = [m for m in pool if m not in default]
    modules = os.path.join(os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "eryx", "modules")
    before = set(os.listdir(modules)) if os.path.isdir(modules) else set()
    n = min(len(pool) // 2, max(5, a.runs // 30))
    fac_code = ("import sys, time, eryx\nt = time.perf_counter_ns()\n"
                "eryx.SandboxFactory(imports=['json', 're', 'decimal', sys.argv[1]], cache=sys.argv[2] == 'True')\n"
                "print((time.perf_counter_ns() - t) / 1e6)")
    for cache in (True, False):
        cases[f"SandboxFactory(new imports, cache={cache}), new process"] = [
            float(subprocess.run([sys.executable, "-c", fac_code, pool[i + (n if cache else 0)], str(cache)],
                                 check=True, capture_output=True, text=True).stdout) for i in range(n)]
    for name in (set(os.listdir(modules)) - before) if os.path.isdir(modules) else ():
        if name.endswith(".cwasm"):
            os.unlink(os.path.join(modules, name))
    rows = {k: {"p50_ms": pct(v, 50), "p99_ms": pct(v, 99), "runs": len(v)} for k, v in cases.items()}
    if a.json:
        print(json.dumps(rows))
        return
    print(f"{'case':40} {'p50 ms':>9} {'p99 ms':>9} {'runs':>6}")
    for k, r in rows.items():
        print(f"{k:40} {r['p50_ms']:9.3f} {r['p99_ms']:9.3f} {r['runs']:6d}")


if __name__ == "__main__":
    main()
