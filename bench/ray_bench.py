"""eryx on Ray against eryx's local pool (issue 21; docs/SCALE.md, "What the simulation
showed"): N short snippets (each distinct, each output checked) through

  (a) the local pool in one process: SandboxFactory.create_pool(max_size=T) with T
      driver threads, each taking a batch of B snippets, leasing a sandbox and
      running the batch in it (B=1: one lease per snippet);
  (b) eryx.ray.EryxExecutor on a local Ray cluster (ray.cluster_utils.Cluster: a head
      with no CPUs for work plus K nodes of one CPU each, one actor per node with
      one sandbox) through map(batch_size=B, ordered=False).

Per configuration: executions per second of wall time, p50/p95 latency of an
execution (local: from the batch's lease to its result; Ray: from its batch's
dispatch by the driver to its result arriving on the driver) and the driver's
CPU time per batch (what bounds how many batches one driver can dispatch).
Warm-up (actors ready, one map of 2 batches per actor) is not timed.

    build/venv/bin/python bench/ray_bench.py [--n 10000] [--batches 1,16,64] [--nodes 1,2] [--json FILE]
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import threading
import time
from typing import Any

SNIPPET = ("rows = [(i * {k}) % 97 for i in range(50)]\n"
           "print({k}, sum(rows), max(rows))\n")


def snippet(k: int) -> tuple[str, str]:
    rows = [(i * k) % 97 for i in range(50)]
    return SNIPPET.format(k=k), f"{k} {sum(rows)} {max(rows)}"


def pct(xs: list[float], p: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(p / 100 * (len(xs) - 1))))] if xs else float("nan")


def text(out: Any) -> str:
    return (out.decode() if isinstance(out, bytes) else out).strip()


def local_pool(n: int, batch: int, threads: int) -> dict[str, Any]:
    import eryx
    factory = eryx.SandboxFactory()
    pool = factory.create_pool(max_size=threads, min_idle=threads)
    work = [snippet(k) for k in range(n)]
    batches = [work[i:i + batch] for i in range(0, n, batch)]
    lat: list[float] = []
    lock = threading.Lock()
    nxt = iter(batches)

    def run() -> None:
        while True:
            with lock:
                b = next(nxt, None)
            if b is None:
                return
            t0 = time.perf_counter()
            with pool.acquire() as sb:
                mine = []
                for code, want in b:
                    r = sb.execute(code)
                    if text(r.stdout) != want:
                        raise SystemExit(f"wrong output {r.stdout!r}, want {want!r}")
                    mine.append(time.perf_counter() - t0)
            with lock:
                lat.extend(mine)

    with pool.acquire() as sb:  # warm-up
        sb.execute(work[0][0])
    c0, t0 = time.process_time(), time.perf_counter()
    ts = [threading.Thread(target=run) for _ in range(threads)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    pool.close()
    return {"way": "local pool", "threads": threads, "batch": batch, "n": n, "wall_s": wall, "exec_per_s": n / wall,
            "p50_ms": pct(lat, 50) * 1e3, "p95_ms": pct(lat, 95) * 1e3,
            "driver_cpu_ms_per_batch": cpu / len(batches) * 1e3}


def on_ray(n: int, batch: int, nodes: int, cluster: Any) -> dict[str, Any]:
    from eryx.ray import EryxExecutor
    work = [snippet(k) for k in range(n)]
    with EryxExecutor(num_actors=nodes, sandboxes_per_actor=1) as ex:
        for r in ex.map([w[0] for w in work[:2 * nodes * batch]], ordered=False, batch_size=batch):  # warm-up
            if not r.ok:
                raise SystemExit(f"warm-up failed: {r.error_type}: {r.error_message}")
        sent: dict[int, float] = {}
        lat: list[float] = []
        dispatch = ex._dispatch

        def timed(items: Any, sink: Any, **kw: Any) -> None:  # when each batch leaves the driver
            sent[items[0][0]] = time.perf_counter()
            dispatch(items, sink, **kw)

        ex._dispatch = timed
        codes = (w[0] for w in work)
        c0, t0 = time.process_time(), time.perf_counter()
        done = 0
        for r in ex.map(codes, ordered=False, batch_size=batch):
            now = time.perf_counter()
            if not r.ok or text(r.stdout) != work[r.index][1]:
                raise SystemExit(f"snippet {r.index}: {r.error_type} {r.error_message} {r.stdout!r}")
            lat.append(now - sent[r.index - r.index % batch])
            done += 1
        wall, cpu = time.perf_counter() - t0, time.process_time() - c0
        if done != n:
            raise SystemExit(f"{done} results for {n} snippets")
    return {"way": "ray", "nodes": nodes, "batch": batch, "n": n, "wall_s": wall, "exec_per_s": n / wall,
            "p50_ms": pct(lat, 50) * 1e3, "p95_ms": pct(lat, 95) * 1e3,
            "driver_cpu_ms_per_batch": cpu / -(-n // batch) * 1e3}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=10000)
    ap.add_argument("--batches", default="1,16,64")
    ap.add_argument("--nodes", default="1,2")
    ap.add_argument("--json")
    a = ap.parse_args()
    batches = [int(x) for x in a.batches.split(",")]
    nodes = [int(x) for x in a.nodes.split(",")]
    import ray
    from ray.cluster_utils import Cluster
    rows: list[dict[str, Any]] = []
    for b in batches:
        for t in sorted(set(nodes)):
            rows.append(local_pool(a.n, b, t))
            print(json.dumps(rows[-1]), flush=True)
    for k in nodes:
        cluster = Cluster(initialize_head=True, head_node_args={"num_cpus": 0, "include_dashboard": False})
        for _ in range(k):
            cluster.add_node(num_cpus=1)
        ray.init(address=cluster.address, logging_level="ERROR", log_to_driver=False)
        try:
            for b in batches:
                rows.append(on_ray(a.n, b, k, cluster))
                print(json.dumps(rows[-1]), flush=True)
        finally:
            ray.shutdown()
            cluster.shutdown()
    print(f"\nload average before the report: {os.getloadavg()[0]:.2f}; {os.cpu_count()} CPUs")
    print("| way | threads/nodes | batch | exec/s | p50 ms | p95 ms | driver CPU ms/batch |")
    print("|---|---|---|---|---|---|---|")
    for r in rows:
        par = r.get("threads", r.get("nodes"))
        print(f"| {r['way']} | {par} | {r['batch']} | {r['exec_per_s']:,.0f} | {r['p50_ms']:.2f} | {r['p95_ms']:.2f} "
              f"| {r['driver_cpu_ms_per_batch']:.3f} |")
    local = {(r["threads"], r["batch"]): r["exec_per_s"] for r in rows if r["way"] == "local pool"}
    ray_ = {(r["nodes"], r["batch"]): r["exec_per_s"] for r in rows if r["way"] == "ray"}
    print()
    for (k, b), v in sorted(ray_.items()):
        if (k, b) in local:
            print(f"ray {k} node(s) batch {b}: {v / local[(k, b)]:.2f}x the local pool with {k} thread(s) "
                  f"(overhead {(1 - v / local[(k, b)]) * 100:+.1f}%)")
    for b in batches:
        if (1, b) in ray_ and (2, b) in ray_:
            print(f"ray batch {b}: 2 nodes {ray_[(2, b)] / ray_[(1, b)]:.2f}x of 1 node")
    if a.json:
        with open(a.json, "w") as f:
            json.dump({"rows": rows, "loadavg": os.getloadavg(), "cpus": os.cpu_count()}, f, indent=1)


if __name__ == "__main__":
    sys.exit(main())
