#!/usr/bin/env python3
"""What a start state costs or saves each sandbox: creation and execute p50.

Owns the per-execute figures of docs/START-STATE.md. For each start state (the
plain one, and each --set given as a comma-separated module list) it makes a
SandboxFactory(imports=..., default_imports=False) (or the default start state) in a
temporary cache dir holding hard links to the
seed cache's compiled modules (so nothing is compiled and the user's cache is not
written), then times, over --runs fresh sandboxes: create_sandbox(), execute of
`pass`, and execute of a 10-line snippet importing ten common modules (issue 16's
example). With --import-cost M..., it times instead, per module, a fresh
sandbox's execute of `import M` minus that of `pass` in the plain state (p50 each):
what every execute that imports M pays without it pre-imported, and with
--base-set also from that start state (what is left to import).
Run with the eryx Python module's interpreter:
    build/venv/bin/python bench/stdlib_usage/per_execute.py --set json,re,...
    build/venv/bin/python bench/stdlib_usage/per_execute.py --import-cost json re ...
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

import eryx

SNIPPET = """\
import json, re, math, datetime, collections, itertools, statistics, random, string, textwrap
rows = [{"id": i, "name": "user%d" % i, "score": (i * 37) % 101,
         "day": (datetime.date(2024, 1, 1) + datetime.timedelta(days=i % 30)).isoformat()} for i in range(200)]
by_day = collections.defaultdict(list)
for r in json.loads(json.dumps(rows)):
    by_day[r["day"]].append(r["score"])
means = {d: statistics.mean(v) for d, v in by_day.items()}
names = [r["name"] for r in rows if re.fullmatch(r"user\\d*7", r["name"])]
pairs = list(itertools.islice(itertools.combinations(names, 2), 5))
summary = textwrap.shorten(" ".join(sorted(means)), 60) + string.ascii_lowercase[:3] + str(math.isqrt(len(rows)) + random.random() * 0)
"""


def seed_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(Path.home(), ".cache")
    return Path(base) / "eryx"


def link_compiled(seed: Path, dest: Path) -> None:
    (dest / "modules").mkdir(parents=True)
    for p in (seed / "modules").glob("*.cwasm"):
        try:
            with open(p, "rb") as f:
                if f.read(4) != b"\x7fELF":  # snapshot images are not linked: each state is captured here
                    continue
            os.link(p, dest / "modules" / p.name)
        except OSError:
            continue  # evicted meanwhile by another process



def p50_us(samples: list[float]) -> float:
    return statistics.median(samples) * 1e6


def factory(imports: list[str] | None, cache: Path):
    """imports None: eryx's default start state; else the plain state plus imports."""
    if imports is None:
        return eryx.SandboxFactory(cache=str(cache))
    return eryx.SandboxFactory(imports=imports, cache=str(cache), default_imports=False)


def run(imports: list[str] | None, cache: Path, runs: int) -> dict:
    t = time.perf_counter()
    f = factory(imports, cache)
    first = time.perf_counter() - t
    create, pass_, snippet, pass_cpu, snippet_cpu = [], [], [], [], []
    for _ in range(runs):
        t0 = time.perf_counter()
        sb = f.create_sandbox()
        t1 = time.perf_counter()
        c = time.process_time()
        sb.execute("pass")
        pass_cpu.append(time.process_time() - c)
        t2 = time.perf_counter()
        create.append(t1 - t0)
        pass_.append(t2 - t1)
    # apart: the snippet dirties many pages, whose reset would weigh on the next
    # sandbox's figures
    for _ in range(runs):
        sb = f.create_sandbox()
        c = time.process_time()
        t3 = time.perf_counter()
        sb.execute(SNIPPET)
        snippet.append(time.perf_counter() - t3)
        snippet_cpu.append(time.process_time() - c)
    return {"factory_ms": first * 1000, "create_us": p50_us(create), "pass_us": p50_us(pass_),
            "pass_cpu_us": p50_us(pass_cpu), "snippet_us": p50_us(snippet),
            "snippet_cpu_us": p50_us(snippet_cpu)}


def execute_p50(f, code: str, runs: int) -> tuple[float, float]:
    """p50 wall and p50 CPU time (this process's, all threads) of an execute in a
    fresh sandbox. The CPU time is what the work costs on a loaded machine too."""
    wall, cpu = [], []
    for _ in range(runs):
        sb = f.create_sandbox()
        c = time.process_time()
        t = time.perf_counter()
        sb.execute(code)
        wall.append(time.perf_counter() - t)
        cpu.append(time.process_time() - c)
    return p50_us(wall), p50_us(cpu)


def import_cost(modules: list[str], base: list[str] | None, cache: Path, runs: int) -> None:
    states = [("plain", [])] + ([("default" if base is None else "base", base)] if base != [] else [])
    factories = {name: factory(mods, cache) for name, mods in states}
    cols = " | ".join(f"import in {name}: wall us | cpu us" for name, _ in states)
    print(f"runs {runs}; execute('import M') p50 minus execute('pass') p50, fresh sandbox each")
    print(f"| module | {cols} |")
    print("|---|" + "---:|---:|" * len(states))
    pass_us = {name: execute_p50(f, "pass", runs) for name, f in factories.items()}
    for m in modules:
        cells = []
        for name, _ in states:
            w, c = execute_p50(factories[name], "import " + m, runs)
            cells += [f"{w - pass_us[name][0]:.0f}", f"{c - pass_us[name][1]:.0f}"]
        print(f"| {m} | " + " | ".join(cells) + " |", flush=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--set", action="append", default=[],
                    help="[NAME=]comma-separated modules (over the plain state) or 'default' "
                         "(eryx's default start state): a state to time; repeatable")
    ap.add_argument("--runs", type=int, default=200)
    ap.add_argument("--rounds", type=int, default=3, help="alternate the states this many times")
    ap.add_argument("--seed-cache", type=Path, default=seed_dir())
    ap.add_argument("--import-cost", nargs="+", metavar="M")
    ap.add_argument("--base-set", default="default",
                    help="with --import-cost: a start state to compare (modules, 'default' or '')")
    a = ap.parse_args()
    if a.import_cost:
        work = Path(tempfile.mkdtemp(prefix="eryx-perexec-"))
        try:
            link_compiled(a.seed_cache, work)
            base = None if a.base_set == "default" else [m for m in a.base_set.split(",") if m]
            import_cost(a.import_cost, base, work, a.runs)
        finally:
            shutil.rmtree(work, ignore_errors=True)
        return
    states: list[tuple[str, list[str] | None]] = [("plain", [])]
    for i, spec in enumerate(a.set):
        name, _, mods = spec.rpartition("=")
        states.append((name or (mods if len(mods) < 40 else f"set{i + 1}"),
                       None if mods == "default" else mods.split(",")))
    work = Path(tempfile.mkdtemp(prefix="eryx-perexec-"))
    try:
        link_compiled(a.seed_cache, work)
        got: dict[str, list[dict]] = {name: [] for name, _ in states}
        for _ in range(a.rounds):
            for name, mods in states:
                got[name].append(run(mods, work, a.runs))
        print(f"runs {a.runs} x rounds {a.rounds}; median over rounds of each round's p50")
        print("| start state | modules | factory ms (1st round: capture) | Sandbox() us "
              "| execute('pass') us (cpu) | 10-line snippet us (cpu) |")
        print("|---|---:|---:|---:|---:|---:|")
        for name, mods in states:
            rs = got[name]
            med = {k: statistics.median(r[k] for r in rs) for k in rs[0]}
            n = "default" if mods is None else len(mods)
            print(f"| {name} | {n} | {rs[0]['factory_ms']:.0f} | {med['create_us']:.0f} "
                  f"| {med['pass_us']:.0f} ({med['pass_cpu_us']:.0f}) "
                  f"| {med['snippet_us']:.0f} ({med['snippet_cpu_us']:.0f}) |")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
