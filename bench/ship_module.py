"""What a node with an empty artifact cache pays before its first execution (issue 21,
docs/CACHE.md "Shipping the compiled module", docs/SCALE.md): a saved SandboxFactory
(imports=["json"]) loaded in a fresh process whose XDG_CACHE_HOME is empty, and one
line run, (a) compiling the interpreter there, (b) with the compiled module shipped
from this process's cache (SandboxFactory._export_module / _install_module, over
eryx_builder_export_module / _import_module), (c) again on the now-warm cache.
Each child reports its times and eryx's process counters; rounds alternate.

    build/venv/bin/python bench/ship_module.py [--rounds 3]
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

KEY = b"bench-ship-module-key-0123456789abcdef"

CHILD = r"""
import json, sys, time
t0 = time.perf_counter()
import eryx
from eryx._factory import SandboxFactory, process_counters
key, factory_path, module_path = sys.argv[1].encode(), sys.argv[2], sys.argv[3]
how = None
t1 = time.perf_counter()
if module_path != "-":
    with open(module_path, "rb") as f:
        how = SandboxFactory._install_module(f.read(), state_key=key)
t2 = time.perf_counter()
with open(factory_path, "rb") as f:
    factory = SandboxFactory.from_bytes(f.read(), state_key=key)
out = factory.create_sandbox().execute("print(json.dumps([6 * 7]))").stdout
t3 = time.perf_counter()
assert out == b"[42]\n", out
print(json.dumps({"import_eryx_s": t1 - t0, "install_s": t2 - t1, "first_exec_s": t3 - t2, "ready_s": t3 - t0,
                  "module": how, "counters": process_counters()}))
"""


def child(cache: str, factory_path: str, module_path: str) -> dict:
    env = dict(os.environ, XDG_CACHE_HOME=cache)
    p = subprocess.run([sys.executable, "-c", CHILD, KEY.decode(), factory_path, module_path], env=env,
                       capture_output=True, text=True, check=True)
    return json.loads(p.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rounds", type=int, default=3)
    a = ap.parse_args()
    import eryx
    from eryx._factory import SandboxFactory
    work = tempfile.mkdtemp(prefix="eryx-ship-bench-")
    try:
        factory = SandboxFactory(imports=["json"], state_key=KEY)
        fpath, mpath = os.path.join(work, "factory.bin"), os.path.join(work, "module.bin")
        factory.save(fpath)
        t = time.perf_counter()
        blob = factory._export_module()
        export_s = time.perf_counter() - t
        with open(mpath, "wb") as f:
            f.write(blob)
        print(f"eryx {eryx.__version__}: factory state {os.path.getsize(fpath):,} bytes; module blob "
              f"{len(blob):,} bytes, exported in {export_s * 1e3:.0f} ms; load average {os.getloadavg()[0]:.2f}")
        rows: dict[str, list[dict]] = {"cold, compiles": [], "cold, shipped": [], "warm": []}
        for _ in range(a.rounds):
            for name, module in (("cold, compiles", "-"), ("cold, shipped", mpath)):
                cache = tempfile.mkdtemp(dir=work)
                rows[name].append(child(cache, fpath, module))
                if name == "cold, shipped":
                    rows["warm"].append(child(cache, fpath, "-"))
                shutil.rmtree(cache)
        print("| node cache | ready (s, median) | install (s) | first execute (s) | module | compiled | shipped |")
        print("|---|---|---|---|---|---|---|")
        for name, rs in rows.items():
            rs.sort(key=lambda r: r["ready_s"])
            m = rs[len(rs) // 2]
            print(f"| {name} | {m['ready_s']:.3f} | {m['install_s']:.3f} | {m['first_exec_s']:.3f} | {m['module']} "
                  f"| {m['counters']['modules_compiled']} | {m['counters']['modules_shipped']} |")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
