#!/usr/bin/env python3
"""bench/engine_levers.py: what wasmtime's engine settings do to CPU-bound guest code
(issue 22, step 4; results in docs/CPU-PROFILE.md, "Engine settings").

Each lever is one engine setting against the standard engine, everything else equal:

  epoch             the engine with epoch checks (eryx bench's EPOCH kind, the fallback
                    interrupt; needs a build with -DERYX_BENCH_HOOKS=ON): what the
                    checks cost that the standard engine's interrupt by memory
                    revocation does without (docs/RUNTIME.md, "Interrupts")
  opt_none, opt_speed_and_size
                    Cranelift's other optimization levels (ERYX_CRANELIFT_OPT)
  no_table_spectre  enable_table_access_spectre_mitigation=false: no cmov clamp of the
                    table index on each call_indirect (ERYX_ENGINE_FLAGS)
  align64           log2_min_function_alignment=6: every function 64-byte aligned
  explicit_bounds   signals_based_traps=false: wasmtime then bounds-checks every load
                    and store in code (the reverse lever: what the guard region saves)
  single_pass       regalloc_algorithm=single_pass (Cranelift's fast register allocator)

The workloads: issue 22's loop (`for i in range(3_000_000): s += i*i` at module level)
and pyperformance benchmarks run by bench/cpu/benchmarks.py's program() with its loop
counts (the same files and shim as bench/cpu/suite.py). Every run is a fresh
`eryx-bench --timeout 0 bench --run FILE --engine KIND` process with the lever's
environment; the guest times its own loops (perf_counter around them), so process and
sandbox start-up are not in the figures; by default (--clock cpu) that clock is the
guest thread's CPU time, not wall time (bench/cpu/benchmarks.py, CPU_CLOCK_PRELUDE).
Per repetition, each workload runs once in every configuration, the configurations'
order rotating; the report gives, per lever and workload, the median seconds of the
standard engine (A) and of the lever (B), the median of the per-repetition ratios B/A
(each against the standard run of the same repetition) with their range, and the
geometric mean of those medians. The load
average is sampled after every repetition. Compiled modules go to a private cache dir
(one per configuration; the first, untimed round of runs fills it).

usage: python3 bench/engine_levers.py [--build DIR] [--reps N] [--levers a,b] [--only w,x]
                                      [--cache-dir DIR] [--clock cpu|wall] [--json FILE]
  --build   a build with the benchmark hooks (default build-hooks; without the hooks
            the epoch lever is left out, said on stderr)
e.g. cmake -S . -B build-hooks -G Ninja -DERYX_BENCH_HOOKS=ON ... && cmake --build build-hooks
     python3 bench/engine_levers.py --reps 5 --json /tmp/levers.json
Stdlib only; the pyperformance wheel is fetched once by bench/cpu/benchmarks.py.
"""
from __future__ import annotations

import argparse
import json
import math
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE / "cpu"))
import benchmarks  # noqa: E402  (bench/cpu/benchmarks.py: the programs, loop counts, parse())

# label -> (environment additions, engine kind for --engine)
LEVERS = {
    "epoch": ({}, "epoch"),
    "opt_none": ({"ERYX_CRANELIFT_OPT": "none"}, "standard"),
    "opt_speed_and_size": ({"ERYX_CRANELIFT_OPT": "speed_and_size"}, "standard"),
    "no_table_spectre": ({"ERYX_ENGINE_FLAGS": "enable_table_access_spectre_mitigation=false"}, "standard"),
    "align64": ({"ERYX_ENGINE_FLAGS": "log2_min_function_alignment=6"}, "standard"),
    "explicit_bounds": ({"ERYX_ENGINE_FLAGS": "signals_based_traps=false"}, "standard"),
    "single_pass": ({"ERYX_ENGINE_FLAGS": "regalloc_algorithm=single_pass"}, "standard"),
}
DEFAULT_LEVERS = ("epoch", "opt_none", "opt_speed_and_size", "no_table_spectre", "align64", "explicit_bounds")
PYPERF = ("richards", "nbody", "float", "json_loads", "spectral_norm", "go")

LOOP_PROGRAM = f'''\
import json, time
_t0 = time.perf_counter()
s = 0
for i in range(3_000_000): s += i*i
_dt = time.perf_counter() - _t0
assert s == 8999995500000500000, s
print({benchmarks.MARK!r} + json.dumps({{"results": [{{"name": "loop", "seconds": _dt}}]}}))
'''


def workload_files(names, tmp: Path, clock: str) -> dict:
    """name -> (program file, [--mount specs])."""
    out = {}
    benchmarks.CLOCK = clock  # program() puts the prelude first itself
    first = benchmarks.CPU_CLOCK_PRELUDE if clock == "cpu" else ""
    for name in names:
        f = tmp / f"{name}.py"
        if name == "loop":
            f.write_text(first + LOOP_PROGRAM)
            out[name] = (f, [])
            continue
        f.write_text(benchmarks.program(name, benchmarks.LOOPS[name], sandboxed=True))
        out[name] = (f, [f"{h}:{g}:ro" for h, g, _ro in benchmarks.volumes(name)])
    return out


def run_one(bench_exe: str, cache_dir: str, config: tuple, prog: Path, mounts, timeout_s=600.0) -> float:
    env_add, kind = config
    cmd = [bench_exe, "--cache-dir", cache_dir, "--timeout", "0", "--max-memory", str(1 << 30)]
    for m in mounts:
        cmd += ["--mount", m]
    cmd += ["bench", "--run", str(prog), "--engine", kind]
    env = dict(os.environ)
    env.pop("ERYX_CRANELIFT_OPT", None)
    env.pop("ERYX_ENGINE_FLAGS", None)
    env.update(env_add)
    r = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=timeout_s)
    if r.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} (env {env_add}) exited {r.returncode}:\n{r.stderr[-3000:]}")
    res = benchmarks.parse(r.stdout)["results"]
    return sum(x["seconds"] for x in res)


def has_hooks(bench_exe: str) -> bool:
    r = subprocess.run([bench_exe, "bench", "--run", "/nonexistent/eryx-levers-probe.py", "--engine", "epoch"],
                       capture_output=True,
                       text=True)
    return "needs the library's benchmark hooks" not in r.stderr


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--build", default=str(ROOT / "build-hooks"))
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--levers", default=",".join(DEFAULT_LEVERS))
    ap.add_argument("--only", default=",".join(("loop",) + PYPERF))
    ap.add_argument("--cache-dir", default="/tmp/eryx-engine-levers-cache")
    ap.add_argument("--clock", choices=("cpu", "wall"), default="cpu")
    ap.add_argument("--json")
    a = ap.parse_args()
    exe = str(Path(a.build) / "eryx-bench")
    levers = [x for x in a.levers.split(",") if x]
    for x in levers:
        if x not in LEVERS:
            sys.exit(f"unknown lever {x}; known: {', '.join(LEVERS)}")
    if "epoch" in levers and not has_hooks(exe):
        print(f"[levers] {exe} has no benchmark hooks: epoch left out", file=sys.stderr)
        levers.remove("epoch")
    names = [x for x in a.only.split(",") if x]
    configs = {"standard": ({}, "standard")} | {x: LEVERS[x] for x in levers}
    times = {c: {n: [] for n in names} for c in configs}
    loads = []
    with tempfile.TemporaryDirectory(prefix="eryx-levers-") as tmp:
        files = workload_files(names, Path(tmp), a.clock)
        t0 = time.time()
        # Untimed: compiles each configuration's modules into the cache dir, checks every run works.
        for c, cfg in configs.items():
            run_one(exe, a.cache_dir, cfg, *files[names[0]])
        print(f"[levers] warm-up done in {time.time() - t0:.0f} s; load {os.getloadavg()[0]:.2f}", file=sys.stderr)
        order = list(configs)
        for rep in range(a.reps):
            k = rep % len(order)
            rot = order[k:] + order[:k]
            for n in names:
                for c in rot:
                    times[c][n].append(run_one(exe, a.cache_dir, configs[c], *files[n]))
            loads.append(os.getloadavg())
            print(f"[levers] rep {rep + 1}/{a.reps} done at {time.time() - t0:.0f} s; load {loads[-1][0]:.2f}",
                  file=sys.stderr)
    report = {"reps": a.reps, "clock": a.clock, "loadavg_1m": [round(x[0], 2) for x in loads], "configs": {}, "levers": {}}
    for c, cfg in configs.items():
        report["configs"][c] = {"env": cfg[0], "engine": cfg[1]}
    base = times["standard"]
    print(f"# engine levers: {a.reps} reps, {a.clock} time of the guest's loops, load average (1 min) after each: "
          f"{', '.join(f'{x[0]:.2f}' for x in loads)}")
    for lever in levers:
        rows, ratios_med = [], []
        print(f"\n## {lever} ({configs[lever][0] or 'engine ' + configs[lever][1]}) vs standard\n")
        print("| workload | A standard s | B lever s | B/A (median of reps) | range | reps |")
        print("|---|---:|---:|---:|---|---:|")
        for n in names:
            r = [b / a_ for a_, b in zip(base[n], times[lever][n])]
            med = statistics.median(r)
            ratios_med.append(med)
            row = {"workload": n, "a_s": statistics.median(base[n]), "b_s": statistics.median(times[lever][n]),
                   "ratio": med, "ratio_min": min(r), "ratio_max": max(r), "reps": len(r)}
            rows.append(row)
            print(f"| {n} | {row['a_s']:.3f} | {row['b_s']:.3f} | {med:.3f} | {min(r):.3f}-{max(r):.3f} | {len(r)} |")
        g = math.exp(sum(math.log(x) for x in ratios_med) / len(ratios_med))
        print(f"| **geomean** | | | **{g:.3f}** | | |")
        report["levers"][lever] = {"rows": rows, "geomean_ratio": g}
    if a.json:
        report["raw_seconds"] = times
        Path(a.json).write_text(json.dumps(report, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
