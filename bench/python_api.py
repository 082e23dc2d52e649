"""Latency of the Python API (import eryx), p50/p99, against baselines in the same run.

    build/venv/bin/python bench/python_api.py [--runs N] [--json]

Measures: eryx.Sandbox() creation (in a process that made one before, and the
first in a new process); Sandbox.execute("pass"); Session.execute("pass");
and, as baselines on this machine at the same moment, CPython's own
exec(compile("pass")) in a fresh dict, and `python3 -c pass` as a subprocess
(what isolating code in a new process costs).
"""
import argparse
import json
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
    rows = {k: {"p50_ms": pct(v, 50), "p99_ms": pct(v, 99), "runs": len(v)} for k, v in cases.items()}
    if a.json:
        print(json.dumps(rows))
        return
    print(f"{'case':40} {'p50 ms':>9} {'p99 ms':>9} {'runs':>6}")
    for k, r in rows.items():
        print(f"{k:40} {r['p50_ms']:9.3f} {r['p99_ms']:9.3f} {r['runs']:6d}")


if __name__ == "__main__":
    main()
