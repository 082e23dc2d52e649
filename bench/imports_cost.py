"""imports_cost.py ERYX_CLI ROUNDS LABEL=GUEST_DIR[@MOD,MOD] ...: what a start state
costs every sandbox made from it, for each guest and import list given, measured
alternately in one run (docs/BENCHMARKS.md, "Imports not pre-imported vs native"):

- capture_s: `eryx --env R=<random> [--import MOD ...] build` (a configuration
  never seen, so a capture), the time it prints;
- image_mib: the start state's linear memory (peak_memory_bytes of an
  execute("pass"): wasm memory never shrinks, and "pass" grows nothing);
- pass_p50_us: execute("pass") through the Python API, each from the start state
  (400 per round, the median of all rounds).

Run with the build's venv Python (bench/imports.sh's BUILD/venv/bin/python).
"""
import os
import random
import re
import statistics
import subprocess
import sys
import time

import eryx


def main():
    cli, rounds, configs = sys.argv[1], int(sys.argv[2]), [c.split("=", 1) for c in sys.argv[3:]]
    rows = {}
    for label, spec in configs:
        gdir, _, mods = spec.partition("@")
        mods = mods.split(",") if mods else []
        os.environ["ERYX_GUEST_DIR"] = gdir
        sb = eryx.SandboxFactory(imports=mods).create_sandbox() if mods else eryx.Sandbox()
        os.environ.pop("ERYX_GUEST_DIR")
        rows[label] = {"gdir": gdir, "mods": mods, "sb": sb, "capture": [], "pass": [], "image": 0}
    for r in range(rounds):
        sys.stderr.write(f"[imports_cost] round {r + 1}/{rounds}\n")
        for label, row in rows.items():
            args = [cli, "--env", f"R={random.getrandbits(64)}"]
            for m in row["mods"]:
                args += ["--import", m]
            p = subprocess.run(args + ["build"], capture_output=True, text=True,
                               env=dict(os.environ, ERYX_GUEST_DIR=row["gdir"]))
            found = re.search(r"in ([0-9.]+) s", p.stderr)
            if not found:
                sys.exit(f"{label}: eryx build failed: {p.stderr}")
            row["capture"].append(float(found.group(1)))
            sb = row["sb"]
            for _ in range(400):
                t = time.perf_counter_ns()
                res = sb.execute("pass")
                row["pass"].append(time.perf_counter_ns() - t)
            row["image"] = res.peak_memory_bytes
    print(f"| start state | capture (s, median of {rounds}) | image (MiB) | execute('pass') p50 (us) |")
    print("|---|---:|---:|---:|")
    for label, row in rows.items():
        print(f"| {label} | {statistics.median(row['capture']):.2f} | {row['image'] / 2**20:.1f} | "
              f"{statistics.median(row['pass']) / 1e3:.1f} |")


if __name__ == "__main__":
    main()
