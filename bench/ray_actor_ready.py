"""How long a new eryx.ray actor takes to be ready (issue 21; docs/SCALE.md), on a
local Ray cluster (one head with no CPUs for work, one node of one CPU), for a
factory with imports=["json"]:

  cold, compiles: the actor's artifact cache is empty (runtime_env XDG_CACHE_HOME
                  of a fresh directory) and the driver ships nothing
                  (ship_artifacts=False): the actor compiles the interpreter;
  cold, shipped:  an empty cache again, the compiled module shipped by the driver;
  warm:           the cache the previous actor filled.

Per case: the actor's own seconds_to_ready (its __init__: installing the module,
loading the factory from the object store, its pool's warm sandbox), the
executor's construction on the driver (actor start included), and the actor's
counters. Rounds alternate the cases.

    build/venv/bin/python bench/ray_actor_ready.py [--rounds 3]
"""
from __future__ import annotations

import argparse
import os
import shutil
import tempfile
import time


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rounds", type=int, default=3)
    a = ap.parse_args()
    import ray
    from ray.cluster_utils import Cluster

    import eryx
    from eryx.ray import EryxExecutor
    cluster = Cluster(initialize_head=True, head_node_args={"num_cpus": 0, "include_dashboard": False})
    cluster.add_node(num_cpus=1)
    ray.init(address=cluster.address, logging_level="ERROR", log_to_driver=False)
    work = tempfile.mkdtemp(prefix="eryx-actor-ready-")
    rows: dict[str, list[dict]] = {"cold, compiles": [], "cold, shipped": [], "warm": []}
    try:
        factory = eryx.SandboxFactory(imports=["json"], state_key=os.urandom(32))

        def one(cache: str, ship: bool) -> dict:
            opts = {"runtime_env": {"env_vars": {"XDG_CACHE_HOME": cache}}}
            t0 = time.perf_counter()
            with EryxExecutor(num_actors=1, factory=factory, actor_options=opts, ship_artifacts=ship) as ex:
                made = time.perf_counter() - t0
                r = ex.submit("print(json.dumps([6 * 7]))").result()
                assert r.ok and r.stdout == b"[42]\n", r
                st = ex.actor_stats()[0]
            return {"ready": st["seconds_to_ready"], "executor": made, "module": st.get("module", "-"),
                    "compiled": st["modules_compiled"], "shipped": st["modules_shipped"],
                    "states": st["start_states_made"]}

        for _ in range(a.rounds):
            for name, ship in (("cold, compiles", False), ("cold, shipped", True)):
                cache = tempfile.mkdtemp(dir=work)
                rows[name].append(one(cache, ship))
                if ship:
                    rows["warm"].append(one(cache, ship))
                shutil.rmtree(cache)
    finally:
        ray.shutdown()
        cluster.shutdown()
        shutil.rmtree(work, ignore_errors=True)
    print(f"load average {os.getloadavg()[0]:.2f}; {os.cpu_count()} CPUs; median of {a.rounds}")
    print("| actor's cache | actor ready (s) | EryxExecutor(...) on the driver (s) | module | compiled | shipped | "
          "start states made |")
    print("|---|---|---|---|---|---|---|")
    for name, rs in rows.items():
        rs.sort(key=lambda r: r["ready"])
        m = rs[len(rs) // 2]
        print(f"| {name} | {m['ready']:.3f} | {m['executor']:.3f} | {m['module']} | {m['compiled']} | "
              f"{m['shipped']} | {m['states']} |")


if __name__ == "__main__":
    main()
