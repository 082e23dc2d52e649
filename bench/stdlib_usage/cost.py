#!/usr/bin/env python3
"""Measures what pre-importing stdlib modules costs eryx's start state.

Owns the cost figures of docs/START-STATE.md. For the plain start state, each
module given, and the whole set (all modules, in order) it reports:
  - whether `eryx --import M` captures (exit status, first error line),
  - capture ms: `eryx --cache-dir D build [--import M...]` in a fresh cache dir D
    that holds the compiled interpreter (hard links to the seed cache's compiled
    modules) and the plain snapshot image, minus the same command when its image
    is already cached (process start, loading the module: not the capture),
    median of --runs; the plain state's own capture is timed from a D without it,
  - image bytes: the new cache entry's payload (the guest's whole linear memory)
    and its non-zero 4 KiB pages times 4 KiB (what a process's memfd holds),
  - sys.modules: len(sys.modules) in a sandbox started from that state.
What `import M` costs an execute is per_execute.py's (in one process, warm).
Python 3.11+, stdlib only:
    python3 bench/stdlib_usage/cost.py [--eryx build/eryx] [--runs 5] [--json F] M...
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

TRAILER = 128  # docs/CACHE.md: each entry is the payload then a 128-byte trailer
PAGE = 4096


def default_seed() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(Path.home(), ".cache")
    return Path(base) / "eryx"


def entries(d: Path) -> set[Path]:
    m = d / "modules"
    return set(m.glob("*.cwasm")) if m.is_dir() else set()


def is_compiled(p: Path) -> bool:
    """Compiled wasmtime modules are ELF objects; snapshot images start with the
    guest's memory (zeros at address 0)."""
    with open(p, "rb") as f:
        return f.read(4) == b"\x7fELF"


def image_bytes(p: Path) -> tuple[int, int]:
    """(payload bytes, non-zero 4 KiB pages * 4 KiB) of a snapshot image entry."""
    size = p.stat().st_size - TRAILER
    nonzero = 0
    zero = bytes(PAGE)
    with open(p, "rb") as f:
        left = size
        while left > 0:
            chunk = f.read(min(PAGE, left))
            left -= len(chunk)
            if chunk != zero[: len(chunk)]:
                nonzero += 1
    return size, nonzero * PAGE


class Bench:
    def __init__(self, eryx: str, seed: Path, work: Path):
        self.eryx = eryx
        self.work = work
        # linked into work first: another process may evict entries from the seed
        (work / "compiled").mkdir()
        self.compiled = []
        for p in entries(seed):
            try:
                if is_compiled(p):
                    os.link(p, work / "compiled" / p.name)
                    self.compiled.append(work / "compiled" / p.name)
            except OSError:
                continue
        if not self.compiled:
            sys.exit(f"cost.py: no compiled module in {seed}/modules: run `{eryx} -c pass` once")
        self.plain_image: Path | None = None
        self.n = 0

    def fresh(self, with_plain: bool) -> Path:
        """A cache dir holding the compiled interpreter (and the plain image)."""
        self.n += 1
        d = self.work / f"c{self.n}"
        (d / "modules").mkdir(parents=True)
        for p in self.compiled + ([self.plain_image] if with_plain and self.plain_image else []):
            os.link(p, d / "modules" / p.name)
        return d

    def run(self, d: Path, args: list[str]) -> tuple[float, subprocess.CompletedProcess]:
        # --imports none: the plain state under every measured one (not the default)
        cmd = [self.eryx, "--cache-dir", str(d), "--cache-max-size", "64G", "--imports", "none"] + args
        t = time.perf_counter()
        r = subprocess.run(cmd, capture_output=True, text=True)
        return (time.perf_counter() - t) * 1000, r

    def build(self, imports: list[str], with_plain: bool = True) -> dict:
        """One capture in a fresh dir: ms, status, the new image entry."""
        d = self.fresh(with_plain)
        before = entries(d)
        args = ["build"] + [a for m in imports for a in ("--import", m)]
        ms, r = self.run(d, args)
        new = [p for p in entries(d) - before if not is_compiled(p)]
        out = {"ms": ms, "status": r.returncode, "error": first_error(r.stderr), "dir": d}
        # with the plain image present, a capture from it writes one new entry
        out["image"] = max(new, key=lambda p: p.stat().st_mtime) if new else None
        return out

    def hit_ms(self, d: Path, imports: list[str]) -> float:
        args = ["build"] + [a for m in imports for a in ("--import", m)]
        return self.run(d, args)[0]

    def guest(self, d: Path, imports: list[str], code: str) -> subprocess.CompletedProcess:
        args = [a for m in imports for a in ("--import", m)] + ["-c", code]
        return self.run(d, args)[1]

    def cleanup(self, d: Path) -> None:
        shutil.rmtree(d, ignore_errors=True)


def first_error(stderr: str) -> str:
    lines = [l.strip() for l in stderr.splitlines() if l.strip()]
    errs = [l for l in lines if "Error" in l or "error" in l]
    return (errs[-1] if errs else (lines[-1] if lines else ""))[:200]


def measure(b: Bench, label: str, imports: list[str], runs: int, base: dict) -> dict:
    caps, hits, sizes, nzs = [], [], [], []
    row: dict = {"label": label, "imports": imports}
    for i in range(runs):
        c = b.build(imports)
        if c["status"] != 0 or c["image"] is None:
            row.update(status=c["status"], error=c["error"])
            b.cleanup(c["dir"])
            return row
        caps.append(c["ms"])
        hits.append(b.hit_ms(c["dir"], imports))
        size, nz = image_bytes(c["image"])
        sizes.append(size)
        nzs.append(nz)
        if i == 0:
            r = b.guest(c["dir"], imports, "import sys; print(len(sys.modules))")
            row["sys_modules"] = int(r.stdout.strip() or -1)
        b.cleanup(c["dir"])
    # a capture's non-zero pages vary by a few hundred KiB from run to run (freed
    # garbage is not zeroed): medians
    size, nz = int(statistics.median(sizes)), int(statistics.median(nzs))
    row.update(status=0, image_bytes=size, image_nonzero_bytes=nz,
               image_delta=size - base["image_bytes"], nonzero_delta=nz - base["image_nonzero_bytes"],
               nonzero_runs=nzs, capture_ms=statistics.median(caps), hit_ms=statistics.median(hits),
               capture_cost_ms=statistics.median(c - h for c, h in zip(caps, hits)))
    return row


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("modules", nargs="*")
    ap.add_argument("--eryx", default="build/eryx")
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--seed-cache", type=Path, default=default_seed(),
                    help="cache dir whose compiled modules are linked in (default: the user's)")
    ap.add_argument("--no-set", action="store_true", help="do not measure all modules together")
    ap.add_argument("--set-only", action="store_true", help="measure only all modules together")
    ap.add_argument("--check-only", action="store_true",
                    help="one capture per module: status and sys.modules only")
    ap.add_argument("--json", metavar="FILE")
    a = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="eryx-cost-"))
    try:
        b = Bench(a.eryx, a.seed_cache, work)
        # the plain state: captured from a fresh start of Python
        caps, hits, nzs = [], [], []
        for i in range(max(1, a.runs if not a.check_only else 1)):
            c = b.build([], with_plain=False)
            if c["status"] != 0 or c["image"] is None:
                sys.exit(f"cost.py: plain capture failed: {c['error']}")
            caps.append(c["ms"])
            hits.append(b.hit_ms(c["dir"], []))
            nzs.append(image_bytes(c["image"])[1])
            if i == 0:
                keep = work / "plain.cwasm"
                os.link(c["image"], keep)
                b.plain_image = keep
                size = image_bytes(keep)[0]
                n = b.guest(c["dir"], [], "import sys; print(len(sys.modules))").stdout.strip()
            b.cleanup(c["dir"])
        # the modules' captures all start from the first plain image: their deltas
        # are against its non-zero bytes
        nz = image_bytes(b.plain_image)[1]
        plain = {"label": "(plain)", "imports": [], "status": 0, "image_bytes": size,
                 "image_nonzero_bytes": nz, "nonzero_runs": nzs, "sys_modules": int(n),
                 "capture_ms": statistics.median(caps), "hit_ms": statistics.median(hits),
                 "capture_cost_ms": statistics.median(c - h for c, h in zip(caps, hits))}
        rows = [plain]
        for m in [] if a.set_only else a.modules:
            if a.check_only:
                c = b.build([m])
                row = {"label": m, "status": c["status"], "error": c["error"]}
                if c["status"] == 0:
                    r = b.guest(c["dir"], [m], "import sys; print(len(sys.modules))")
                    row["sys_modules"] = int(r.stdout.strip() or -1)
                b.cleanup(c["dir"])
            else:
                row = measure(b, m, [m], a.runs, plain)
            rows.append(row)
            print(json.dumps(row), file=sys.stderr)
        if a.modules and not a.no_set and not a.check_only:
            ok = a.modules if a.set_only else [r["label"] for r in rows[1:] if r["status"] == 0]
            rows.append(measure(b, "(all)", ok, a.runs, plain))
        print_table(rows)
        if a.json:
            Path(a.json).write_text(json.dumps(rows, indent=1) + "\n")
    finally:
        shutil.rmtree(work, ignore_errors=True)


def print_table(rows: list[dict]) -> None:
    print("| start state | status | sys.modules | image bytes (delta) | non-zero bytes (delta) "
          "| capture ms |")
    print("|---|---|---:|---:|---:|---:|")
    for r in rows:
        if r["status"] != 0:
            print(f"| {r['label']} | exit {r['status']}: {r.get('error', '')} | | | | |")
            continue
        if "image_bytes" not in r:
            print(f"| {r['label']} | ok | {r.get('sys_modules', '')} | | | |")
            continue
        d = f" ({r['image_delta']:+,})" if "image_delta" in r else ""
        nd = f" ({r['nonzero_delta']:+,})" if "nonzero_delta" in r else ""
        print(f"| {r['label']} | ok | {r['sys_modules']} | {r['image_bytes']:,}{d} "
              f"| {r['image_nonzero_bytes']:,}{nd} | {r['capture_cost_ms']:.1f} |")


if __name__ == "__main__":
    main()
