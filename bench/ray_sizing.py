"""Sizing eryx.ray actors (issue 21; docs/SCALE.md "Sizing"), on a local Ray cluster
of one node with 2 CPUs (plus a head with none):

  split:   where Ray's overhead goes: the mean sandbox time (duration_ms) and the
           wall time per execution of N snippets in one local pooled sandbox, and
           through one 1-CPU actor at batch 64;
  layout:  one actor of 2 CPUs holding 2 sandboxes against two 1-CPU actors of one
           sandbox, executions/s at batch 64;
  memory:  an actor's RSS, PSS and private memory (/proc/PID/smaps_rollup) after
           200 executions, with 1 and with 2 sandboxes;
  reply:   the pickled size of a 64-item batch's results (what an actor call returns).

    build/venv/bin/python bench/ray_sizing.py [--n 10000]
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ray_bench import snippet  # noqa: E402


def smaps(pid: int) -> dict[str, int]:
    out = {}
    with open(f"/proc/{pid}/smaps_rollup") as f:
        for line in f:
            k, _, v = line.partition(":")
            if k in ("Rss", "Pss", "Private_Dirty", "Private_Clean"):
                out[k] = int(v.split()[0])
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=10000)
    a = ap.parse_args()
    import ray
    from ray.cluster_utils import Cluster

    import eryx
    from eryx.ray import EryxExecutor
    work = [snippet(k)[0] for k in range(a.n)]
    pool = eryx.SandboxFactory().create_pool(max_size=1, min_idle=1)
    t0 = time.perf_counter()
    with pool.acquire() as sb:
        local = [sb.execute(c).duration_ms for c in work]
    local_wall = (time.perf_counter() - t0) / a.n * 1e3
    pool.close()
    cluster = Cluster(initialize_head=True, head_node_args={"num_cpus": 0, "include_dashboard": False})
    cluster.add_node(num_cpus=2)
    ray.init(address=cluster.address, logging_level="ERROR", log_to_driver=False)
    try:
        with EryxExecutor(num_actors=1) as ex:
            batch = list(ex.map(work[:64], batch_size=64))
            reply = len(ray.cloudpickle.dumps(batch))
            t0 = time.perf_counter()
            rs = list(ex.map(work, batch_size=64, ordered=False))
            ray_wall = (time.perf_counter() - t0) / a.n * 1e3
        print(f"load average {os.getloadavg()[0]:.2f}; {os.cpu_count()} CPUs; {a.n} snippets")
        print(f"split: local pool: sandbox {statistics.mean(local):.3f} ms, wall {local_wall:.3f} ms per execution; "
              f"1 actor, batch 64: sandbox {statistics.mean(r.duration_ms for r in rs):.3f} ms, "
              f"wall {ray_wall:.3f} ms per execution")
        print(f"reply: a 64-item batch's results pickle to {reply:,} bytes")
        for actors, sandboxes in ((2, 1), (1, 2)):
            with EryxExecutor(num_actors=actors, sandboxes_per_actor=sandboxes,
                              actor_options={"num_cpus": sandboxes}) as ex:
                list(ex.map(work[:512], batch_size=64))
                t0 = time.perf_counter()
                rs = list(ex.map(work, batch_size=64, ordered=False))
                rate = a.n / (time.perf_counter() - t0)
                assert all(r.ok for r in rs)
            print(f"layout: {actors} actor(s) x {sandboxes} sandbox(es), batch 64: {rate:,.0f} executions/s")
        for sandboxes in (1, 2):
            with EryxExecutor(num_actors=1, sandboxes_per_actor=sandboxes,
                              actor_options={"num_cpus": sandboxes}) as ex:
                rs = list(ex.map(["import json, re, datetime\nprint(sum(range(1000)))"] * 200, batch_size=16))
                assert all(r.ok for r in rs)
                m = smaps(ex.actor_stats()[0]["pid"])
            print(f"memory: 1 actor, {sandboxes} sandbox(es): RSS {m['Rss'] / 1024:.1f} MB, PSS {m['Pss'] / 1024:.1f} "
                  f"MB, private {(m['Private_Dirty'] + m['Private_Clean']) / 1024:.1f} MB")
    finally:
        ray.shutdown()
        cluster.shutdown()


if __name__ == "__main__":
    main()
