"""Sandbox pool benchmarks (issue 20; bench/pool.sh; docs/BENCHMARKS.md, "Pools"):
per request, a pool lease (`with pool.acquire() as sb: sb.execute(code)`) against a
sandbox made per request (`factory.create_sandbox().execute(code)`), for `pass`
and a small realistic snippet, with 1 and 2 threads making requests, for this
tree's module and the reference pyeryx 0.11 (the same script, run by each one's
Python: the API is the same). Per configuration: p50/p95 latency of a request
(ms) and throughput (requests per second of wall time, all threads together).
The two ways alternate round by round (--rounds); every request's output is
checked; warm-up requests are not timed.

    build/venv/bin/python bench/pool_bench.py [--ref-python REF/bin/python] [--n 300] [--warmup 30]
        [--threads 1,2] [--rounds 5] [--json FILE]
"""
from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import threading
import time
from typing import Any

CASES = {
    "pass": ("pass", None),
    "realistic": ('import json\n'
                  'rows = [{"id": i, "name": f"item{i}", "score": (i * 37) % 101} for i in range(200)]\n'
                  'back = json.loads(json.dumps(rows))\n'
                  'top = sorted(back, key=lambda r: (-r["score"], r["id"]))[:3]\n'
                  'print(sum(r["score"] for r in back), [r["id"] for r in top])\n', "10009 [30, 131, 60]"),
}


def _check(result: Any, want: str | None) -> None:
    if want is None:
        return
    out = result.stdout
    if isinstance(out, bytes):
        out = out.decode()
    if out.strip() != want:
        raise SystemExit(f"wrong output: {out!r} (want {want!r})")


def _pct(xs: list[float], p: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(p / 100 * (len(xs) - 1))))]


def worker(n: int, warmup: int, threads_list: list[int], rounds: int) -> list[dict[str, Any]]:
    import eryx
    factory = eryx.SandboxFactory()
    pool = factory.create_pool(max_size=4, min_idle=2)
    rows = []

    def by_pool(code: str, want: str | None) -> None:
        with pool.acquire() as sb:
            _check(sb.execute(code), want)

    def by_create(code: str, want: str | None) -> None:
        _check(factory.create_sandbox().execute(code), want)

    modes = (("pool", by_pool), ("create", by_create))
    for case, (code, want) in CASES.items():
        for threads in threads_list:
            for _, fn in modes:
                for _ in range(warmup):
                    fn(code, want)
            lat: dict[str, list[float]] = {m: [] for m, _ in modes}
            wall = {m: 0.0 for m, _ in modes}
            # the modes alternate round by round, so a change in the machine's load
            # falls on both
            for r in range(rounds):
                for mode, fn in (modes if r % 2 == 0 else modes[::-1]):
                    per = n // rounds
                    got: list[list[float]] = [[] for _ in range(threads)]

                    def run(i: int) -> None:
                        for _ in range(per):
                            t0 = time.perf_counter()
                            fn(code, want)
                            got[i].append((time.perf_counter() - t0) * 1e3)

                    ts = [threading.Thread(target=run, args=(i,)) for i in range(threads)]
                    t0 = time.perf_counter()
                    for t in ts:
                        t.start()
                    for t in ts:
                        t.join()
                    wall[mode] += time.perf_counter() - t0
                    lat[mode] += [x for xs in got for x in xs]
            for mode, _ in modes:
                xs = lat[mode]
                rows.append({"case": case, "threads": threads, "mode": mode, "n": len(xs),
                             "p50_ms": statistics.median(xs), "p95_ms": _pct(xs, 95), "per_s": len(xs) / wall[mode]})
    pool.close()
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--ref-python", help="the reference pyeryx 0.11's venv python (omitted: ours only)")
    ap.add_argument("--n", type=int, default=300, help="timed requests per thread per configuration")
    ap.add_argument("--warmup", type=int, default=30)
    ap.add_argument("--threads", default="1,2")
    ap.add_argument("--rounds", type=int, default=5, help="the modes alternate this many times")
    ap.add_argument("--json", help="write the rows here too")
    ap.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    a = ap.parse_args()
    threads = [int(t) for t in a.threads.split(",")]
    if a.worker:
        json.dump(worker(a.n, a.warmup, threads, a.rounds), sys.stdout)
        return
    impls = {"ours": sys.executable}
    if a.ref_python:
        impls["pyeryx 0.11"] = a.ref_python
    results: dict[str, list[dict[str, Any]]] = {}
    for name, py in impls.items():
        out = subprocess.run([py, __file__, "--worker", "--n", str(a.n), "--warmup", str(a.warmup), "--threads",
                              a.threads, "--rounds", str(a.rounds)], check=True, capture_output=True, text=True,
                             cwd="/").stdout
        results[name] = json.loads(out)
    print("| impl | case | threads | per request | p50 ms | p95 ms | requests/s |")
    print("|---|---|---|---|---|---|---|")
    for name, rows in results.items():
        for r in rows:
            how = "pool acquire+execute+release" if r["mode"] == "pool" else "create_sandbox+execute"
            print(f"| {name} | {r['case']} | {r['threads']} | {how} | {r['p50_ms']:.3f} | {r['p95_ms']:.3f} | "
                  f"{r['per_s']:.0f} |")
    if a.json:
        with open(a.json, "w") as f:
            json.dump(results, f, indent=1)


if __name__ == "__main__":
    main()
