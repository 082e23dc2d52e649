#!/usr/bin/env python3
"""bench/cpu/suite.py: issue 22's CPU-bound suite, pyperformance 1.14.0's pure-Python
benchmarks (bench/cpu/benchmarks.py) in one run of the machine, each with the same
fixed loop counts in every runtime:

  eryx          this tree's Python module (BUILD/venv/bin/python): a fresh
                eryx.Sandbox per measurement, the benchmark folder mounted read-only
  pyeryx-0.11   pyeryx 0.11.0 from PyPI (bench/requirements-pyeryx.txt, its venv made
                by bench/corpus.py's pyeryx_python()), the same calls
  native-pgo    CPython 3.13.5 PGO+LTO from the guest's Debian source
                (bench/native-pgo.sh; used when its build is complete)
  native-3.13.0 pyenv's 3.13.0 (a non-PGO build), native-3.11 Debian's python3.11
                (PGO+LTO): a new `python -I FILE` process per measurement
  eryx-epoch    (only when named) this tree's eryx with ERYX_INTERRUPT=epoch: the
                engine with epoch checks, the fallback interrupt (docs/RUNTIME.md)

A measurement is one run of a benchmark file: one untimed warm-up loop, then its
LOOPS loops, timed inside the runtime by the benchmark itself (bench_time_func) or by
the shim around the calls (bench_func): the loops only, never interpreter or sandbox
start. Every measurement checks that the file ran to the end and registered its
benchmarks (the benchmarks raise on a wrong answer: hexiom, pyflate, logging,
richards...); a bench_func's return value is digested and compared across runtimes.
Repetitions (--reps, default 5) alternate the runtimes, rotating their order each
repetition. A benchmark a runtime cannot run is reported with its error, never
dropped silently; ratios and geometric means are over the benchmarks both sides ran.

usage: bench/cpu/suite.py [--reps N] [--only NAMES] [--runtimes LABELS] [--json FILE] [--quick]
                          [--build DIR] [--native-pgo PYTHON] [--pyeryx PYTHON]
Run it with any Python >= 3.11 (bench/cpu/run.sh uses build/venv/bin/python).
"""
from __future__ import annotations

import argparse
import glob
import json
import math
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
sys.path.insert(0, str(HERE))
import benchmarks  # noqa: E402

CACHE = benchmarks.CACHE
WORKER = HERE / "worker.py"


# ---- the runtimes ----------------------------------------------------------------------


class Native:
    kind = "native"

    def __init__(self, label: str, python: str) -> None:
        self.label, self.python = label, python
        self.version = subprocess.run([python, "-c", "import sys; print(sys.version.split()[0])"],
                                      capture_output=True, text=True, check=True).stdout.strip()

    def run(self, name: str, loops, warmups: int, timeout_s: float) -> dict:
        with tempfile.NamedTemporaryFile("w", suffix=f"_bm_{name}.py", delete=False) as f:
            f.write(benchmarks.program(name, loops, sandboxed=False, warmups=warmups))
        try:
            r = subprocess.run([self.python, "-I", f.name], capture_output=True, text=True, timeout=timeout_s)
        except subprocess.TimeoutExpired:
            return {"ok": False, "error": f"timed out after {timeout_s:.0f} s"}
        finally:
            os.unlink(f.name)
        if r.returncode != 0:
            return {"ok": False, "error": (r.stderr.strip() or f"exit status {r.returncode}")[-2000:]}
        return {"ok": True, "stdout": r.stdout}

    def close(self) -> None:
        pass


class Sandboxed:
    kind = "sandbox"

    def __init__(self, label: str, python: str, max_memory: int, guest_dir: str | None = None,
                 env_add: dict | None = None) -> None:
        self.label, self.python, self.max_memory = label, python, max_memory
        env = dict(os.environ) | (env_add or {})
        if guest_dir:  # a guest built by bench/guest-variant.sh, through the builder's default
            env["ERYX_GUEST_DIR"] = guest_dir
        self.proc = subprocess.Popen([python, str(WORKER)], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     text=True, cwd=str(HERE), env=env)
        first = self.proc.stdout.readline()
        if not first:
            raise RuntimeError(f"{label}: the worker ({python} {WORKER}) exited before it was ready")
        info = json.loads(first)
        self.version = f"{info['version']} (guest Python {info['guest_python']})"

    def run(self, name: str, loops, warmups: int, timeout_s: float) -> dict:
        req = {"program": benchmarks.program(name, loops, sandboxed=True, warmups=warmups),
               "timeout_ms": int(timeout_s * 1000), "max_memory": self.max_memory,
               "volumes": benchmarks.volumes(name)}
        self.proc.stdin.write(json.dumps(req) + "\n")
        self.proc.stdin.flush()
        line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError(f"{self.label}: the worker died (exit status {self.proc.wait()})")
        return json.loads(line)

    def close(self) -> None:
        self.proc.stdin.close()
        self.proc.wait()


def find_native_pgo(given: str | None) -> str | None:
    """--native-pgo, else the newest complete bench/native-pgo.sh build in the cache
    (this never starts that build: it takes tens of minutes)."""
    if given:
        return given
    done = sorted(glob.glob(str(CACHE / "native-pgo" / "*" / ".complete")), key=os.path.getmtime)
    return str(Path(done[-1]).parent / "build" / "python") if done else None


def pyeryx_default() -> str:
    sys.path.insert(0, str(HERE.parent))
    try:
        import corpus  # bench/corpus.py makes the pyeryx 0.11 venv once, pinned by hash
    finally:
        sys.path.pop(0)
    return corpus.pyeryx_python()


ALL_RUNTIMES = ("eryx", "pyeryx-0.11", "native-pgo", "native-3.13.0", "native-3.11")
EXTRA_RUNTIMES = ("eryx-epoch",)  # run only when named in --runtimes


def make_runtimes(args) -> tuple[list, list[str]]:
    notes, rts = [], []
    eryx_py = args.eryx_python or str(Path(args.build) / "venv" / "bin" / "python")
    for label in args.runtimes.split(","):
        try:
            if label == "eryx":
                rts.append(Sandboxed(label, eryx_py, args.max_memory_mb << 20))
            elif label == "eryx-epoch":
                rts.append(Sandboxed(label, eryx_py, args.max_memory_mb << 20, env_add={"ERYX_INTERRUPT": "epoch"}))
            elif label == "pyeryx-0.11":
                rts.append(Sandboxed(label, args.pyeryx or pyeryx_default(), args.max_memory_mb << 20))
            elif label == "native-pgo":
                py = find_native_pgo(args.native_pgo)
                if not py:
                    notes.append("native-pgo: no complete build of bench/native-pgo.sh in the cache: run it "
                                 "first (tens of minutes); the other native columns stand in, labelled")
                    continue
                rts.append(Native(label, py))
            elif label == "native-3.13.0":
                rts.append(Native(label, args.native_3130))
            elif label == "native-3.11":
                rts.append(Native(label, args.native_311))
            else:
                sys.exit(f"cpu: unknown runtime {label!r}; known: {', '.join(ALL_RUNTIMES + EXTRA_RUNTIMES)}")
        except (OSError, RuntimeError, subprocess.CalledProcessError) as e:
            notes.append(f"{label}: cannot start ({e}); left out")
    for spec in args.variant or []:
        label, sep, guest_dir = spec.partition("=")
        if not sep or not label or label in ALL_RUNTIMES + EXTRA_RUNTIMES or label in (rt.label for rt in rts):
            sys.exit(f"cpu: --variant wants LABEL=GUEST_DIR with a label of its own, not {spec!r}")
        if not all(os.path.isfile(os.path.join(guest_dir, f)) for f in ("python.wasm", "lib/python313.zip")):
            sys.exit(f"cpu: --variant {label}: {guest_dir} is not a guest in the runtime's layout "
                     "(python.wasm, lib/python313.zip: bench/guest-variant.sh prints one)")
        try:
            rts.append(Sandboxed(label, eryx_py, args.max_memory_mb << 20, guest_dir=guest_dir))
        except (OSError, RuntimeError) as e:
            notes.append(f"{label}: cannot start ({e}); left out")
    return rts, notes


# ---- the run ---------------------------------------------------------------------------


def measure(rts: list, names: list[str], reps: int, warmups: int, timeout_s: float, quick: bool = False) -> dict:
    """runs[bench][runtime] = {"values": {subbench: [s, ...]}, "digests": {...}, "error": str|None}"""
    runs: dict = {}
    for name in names:
        loops = benchmarks.LOOPS[name]
        if quick:
            loops = {k: 1 for k in loops} if isinstance(loops, dict) else 1
        runs[name] = {rt.label: {"values": {}, "digests": {}, "error": None, "loops": {}} for rt in rts}
        for rep in range(reps):
            order = rts[rep % len(rts):] + rts[:rep % len(rts)]
            for rt in order:
                slot = runs[name][rt.label]
                if slot["error"]:
                    continue  # it failed once: the reason is reported, the rest skipped
                r = rt.run(name, loops, warmups, timeout_s)
                try:
                    if not r["ok"]:
                        raise RuntimeError(r["error"])
                    got = benchmarks.parse(r["stdout"])["results"]
                except (RuntimeError, ValueError, KeyError) as e:
                    slot["error"] = str(e).strip().splitlines()[-1][:300] if str(e).strip() else repr(e)
                    slot["error_full"] = str(e)[-3000:]
                    print(f"[cpu] {name} {rt.label}: FAILED: {slot['error']}", file=sys.stderr)
                    continue
                for x in got:
                    slot["values"].setdefault(x["name"], []).append(x["seconds"])
                    slot["digests"].setdefault(x["name"], set()).add(x["digest"])
                    slot["loops"][x["name"]] = x["loops"]
            line = " ".join(f"{lbl}={statistics.median(v):.3f}s" for lbl, s in runs[name].items()
                            for sub, v in s["values"].items() if sub == next(iter(s["values"]), None))
            print(f"[cpu] {name} rep {rep + 1}/{reps}: {line}", file=sys.stderr)
    return runs


def geomean(v: list[float]) -> float:
    return math.exp(sum(math.log(x) for x in v) / len(v)) if v else float("nan")


def rows_of(runs: dict, labels: list[str]) -> list[dict]:
    """One row per registered benchmark (deepcopy and logging register three each)."""
    rows = []
    for name, per in runs.items():
        subs = []
        for lbl in labels:
            for sub in per[lbl]["values"]:
                if sub not in subs:
                    subs.append(sub)
        if not subs:
            subs = [name]
        for sub in subs:
            row = {"file": name, "benchmark": sub, "loops": None, "median": {}, "min": {}, "error": {},
                   "check": "ok"}
            digests = set()
            for lbl in labels:
                s = per[lbl]
                vals = s["values"].get(sub)
                if vals and not s["error"]:
                    row["median"][lbl] = statistics.median(vals)
                    row["min"][lbl] = min(vals)
                    row["loops"] = s["loops"].get(sub)
                    digests |= {d for d in s["digests"].get(sub, ()) if d is not None}
                else:
                    row["error"][lbl] = s["error"] or "registered no such benchmark"
            if len(digests) > 1:
                row["check"] = "return values differ between runtimes"
            rows.append(row)
    return rows


def _fmt(sec: float) -> str:
    return f"{sec:.3f}" if sec >= 0.1 else f"{sec:.2g}"


def report(rows: list[dict], labels: list[str], ref_native: str | None, meta: dict) -> tuple[str, dict]:
    L = []
    ratio_cols = []
    if "eryx" in labels and ref_native:
        ratio_cols.append(("eryx", ref_native))
    if "eryx" in labels and "pyeryx-0.11" in labels:
        ratio_cols.append(("eryx", "pyeryx-0.11"))
    for lbl in labels:  # --variant guests, eryx-epoch: against the default eryx and the references
        if lbl not in ALL_RUNTIMES:
            ratio_cols += [(lbl, b) for b in ("eryx", ref_native, "pyeryx-0.11") if b and b in labels]
    head = ["benchmark", "loops"] + [f"{lbl} s" for lbl in labels] + [f"{a}/{b}" for a, b in ratio_cols]
    L.append("| " + " | ".join(head) + " |")
    L.append("|" + "---|" * len(head))
    ratios: dict = {f"{a}/{b}": [] for a, b in ratio_cols}
    failures = []
    for row in rows:
        cells = [row["benchmark"], str(row["loops"] or "-")]
        for lbl in labels:
            if lbl in row["median"]:
                cells.append(f"{_fmt(row['median'][lbl])} ({_fmt(row['min'][lbl])})")
            else:
                cells.append("cannot run")
                failures.append((row["benchmark"], lbl, row["error"][lbl]))
        for a, b in ratio_cols:
            if a in row["median"] and b in row["median"]:
                q = row["median"][a] / row["median"][b]
                ratios[f"{a}/{b}"].append(q)
                cells.append(f"{q:.2f}")
            else:
                cells.append("-")
        if row["check"] != "ok":
            cells[0] += " (!)"
            failures.append((row["benchmark"], "all", row["check"]))
        L.append("| " + " | ".join(cells) + " |")
    L.append("")
    L.append("Seconds: median (min) of the repetitions, for the loops shown, inside the runtime.")
    geo = {k: geomean(v) for k, v in ratios.items()}
    # every native runtime against eryx, too (the stand-ins when there is no PGO build)
    for lbl in labels:
        if lbl.startswith("native") and "eryx" in labels and f"eryx/{lbl}" not in geo:
            v = [r["median"]["eryx"] / r["median"][lbl] for r in rows if "eryx" in r["median"] and lbl in r["median"]]
            geo[f"eryx/{lbl}"] = geomean(v)
            ratios[f"eryx/{lbl}"] = v
    L.append("")
    L.append("Geometric mean of the per-benchmark ratios (median / median):")
    for k, g in geo.items():
        if not ratios[k]:
            L.append(f"- {k}: no benchmark ran on both sides")
            continue
        extra = ""
        if k == "eryx/pyeryx-0.11" and g == g:
            extra = f" (eryx is {1 / g:.2f}x faster than pyeryx 0.11; target >= 1.5x)"
        elif k == f"eryx/{ref_native}" and ref_native == "native-pgo":
            extra = " (target <= 2.0x)"
        L.append(f"- {k}: {g:.2f} over {len(ratios[k])} benchmarks{extra}")
    # min / min too: on a shared machine the fastest repetition is the least disturbed one
    mins = {}
    for a, b in [tuple(k.split("/")) for k in geo]:
        v = [r["min"][a] / r["min"][b] for r in rows if a in r["min"] and b in r["min"]]
        mins[f"{a}/{b}"] = geomean(v)
    if any(g == g for g in mins.values()):
        L.append("- the same over the minimums: " + ", ".join(f"{k} {g:.2f}" for k, g in mins.items() if g == g))
    geo.update({f"{k} (min)": g for k, g in mins.items()})
    if failures:
        L.append("")
        L.append("Could not run, or a check failed:")
        for bench, lbl, why in failures:
            L.append(f"- {bench} in {lbl}: {why}")
    L.append("")
    L.append("Run: " + ", ".join(f"{k}: {v}" for k, v in meta.items()))
    return "\n".join(L), geo


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--only", help="comma-separated benchmark files (default: all %d)" % len(benchmarks.DEFAULT))
    ap.add_argument("--runtimes", default=",".join(ALL_RUNTIMES))
    ap.add_argument("--json", help="write the runs, rows and geometric means here")
    ap.add_argument("--build", default=str(ROOT / "build"), help="eryx's build dir (its venv/bin/python)")
    ap.add_argument("--eryx-python", help="the Python with this tree's eryx module (default BUILD/venv/bin/python)")
    ap.add_argument("--variant", action="append", metavar="LABEL=GUEST_DIR",
                    help="also run this tree's eryx with another guest (bench/guest-variant.sh); repeatable")
    ap.add_argument("--native-pgo", help="bench/native-pgo.sh's interpreter (default: the newest cached build)")
    ap.add_argument("--native-3130", default=os.path.expanduser("~/.pyenv/versions/3.13.0/bin/python3"))
    ap.add_argument("--native-311", default="/usr/bin/python3.11")
    ap.add_argument("--pyeryx", help="the pyeryx 0.11 venv's python (default: made by bench/corpus.py)")
    ap.add_argument("--clock", choices=("wall", "cpu"), default="wall",
                    help="what the benchmarks time: wall seconds, or the thread's CPU seconds (for comparing "
                         "eryx with its --variant guests on a busy machine)")
    ap.add_argument("--warmups", type=int, default=1, help="untimed loops before the timed ones")
    ap.add_argument("--quick", action="store_true",
                    help="one loop each, no warm-up: checks that every benchmark runs everywhere (its times mean little)")
    ap.add_argument("--timeout-s", type=float, default=600.0, help="per measurement")
    ap.add_argument("--max-memory-mb", type=int, default=2048, help="the sandboxes' memory cap")
    args = ap.parse_args()
    benchmarks.CLOCK = args.clock

    names = list(benchmarks.DEFAULT)
    if args.only:
        names = [n.strip() for n in args.only.split(",") if n.strip()]
        bad = [n for n in names if n not in benchmarks.LOOPS]
        if bad:
            sys.exit(f"cpu: unknown benchmark(s) {', '.join(bad)}; known: {', '.join(benchmarks.DEFAULT)}")
    benchmarks.benchmarks_dir()  # download and unpack before starting any runtime
    rts, notes = make_runtimes(args)
    for n in notes:
        print(f"[cpu] {n}", file=sys.stderr)
    labels = [rt.label for rt in rts]
    ref = next((lbl for lbl in ("native-pgo", "native-3.13.0", "native-3.11") if lbl in labels), None)
    load0 = Path("/proc/loadavg").read_text().split()[:3]
    t0 = time.time()
    try:
        runs = measure(rts, names, args.reps, 0 if args.quick else args.warmups, args.timeout_s, args.quick)
    finally:
        for rt in rts:
            rt.close()
    load1 = Path("/proc/loadavg").read_text().split()[:3]
    meta = {"reps": args.reps, "warmups": 0 if args.quick else args.warmups, "quick": args.quick, "clock": args.clock, "load before": " ".join(load0),
            "load after": " ".join(load1), "wall": f"{time.time() - t0:.0f} s", "cpus": os.cpu_count(),
            "machine": platform.machine()}
    meta.update({f"{rt.label}": f"{rt.python} ({rt.version})" for rt in rts})
    rows = rows_of(runs, labels)
    text, geo = report(rows, labels, ref, meta)
    if notes:
        text += "\n\nNotes:\n" + "\n".join(f"- {n}" for n in notes)
    print(text)
    if args.json:
        for per in runs.values():
            for s in per.values():
                s["digests"] = {k: sorted(d for d in v if d) for k, v in s["digests"].items()}
        Path(args.json).write_text(json.dumps({"meta": meta, "runtimes": labels, "reference_native": ref,
                                               "runs": runs, "rows": rows, "geomean": geo,
                                               "notes": notes}, indent=1))


if __name__ == "__main__":
    main()
