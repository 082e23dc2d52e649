#!/usr/bin/env python3
"""bench/corpus.py: the workload corpus (bench/corpus/NN_name.py) side by side, each
snippet in a fresh sandbox (or process) per run, in one run of the machine:

  eryx     this tree's Python module (BUILD/venv): eryx.Sandbox(...).execute(code),
           the Sandbox made inside the timed region (that is what "fresh" means)
  pyeryx   the reference, pyeryx 0.11.0 from PyPI, the same call, in its own venv
           (Python >= 3.12) made once under $XDG_CACHE_HOME/eryx/bench-venvs/ from
           bench/requirements-pyeryx.txt (pinned by sha256, --require-hashes)
  native   a new `python3.13 -I -c CODE` process per run (pyenv's 3.13)

Both sandboxes are modules named `eryx`, so each runs in a worker process of its own
(this file with --worker, JSON lines on stdin/stdout); native processes are started
from here. The implementations are interleaved run by run within each snippet so
that they share the machine's noise; --blocked runs each one's R runs back to back
instead (an in-process sandbox runs faster when it has not just been idle: closer
to a busy server's steady state). Before its timed runs each implementation runs
each snippet once untimed and its stdout is checked against bench/corpus/expected/
(written by native CPython: --write-expected); a snippet an implementation cannot
run (pyeryx runs code inside an event loop, so asyncio.run fails there) is reported
as such and left out of the ratios, which are over the snippets every measured
implementation ran correctly.

Callback snippets (NN_cb_*.py) get the host callbacks of bench/corpus/callbacks.py
(eryx and pyeryx: Sandbox(callbacks=...); native: the same functions, async, in a
prelude). They await at top level, as the sandboxes allow; native runs a snippet that
needs it through compile(..., PyCF_ALLOW_TOP_LEVEL_AWAIT) and asyncio.run.

Output: per snippet p50/p90 per implementation, the corpus's p50/p90 over all runs,
the geometric mean of the per-snippet p50s, ratios (pyeryx/eryx, native/eryx); a
Markdown table (stdout and OUT/corpus.md) and OUT/corpus.json. Neither module's
default start state is assumed: whatever Sandbox() gives is measured.

usage: bench/corpus.py [--runs R] [--impl eryx,pyeryx,native] [--only SUBSTR] [--blocked]
                       [--build DIR] [--out DIR] [--native PYTHON] [--write-expected]
Run with any Python >= 3.11 (bench/corpus.sh picks one).
"""
from __future__ import annotations

import argparse
import ast
import glob
import hashlib
import json
import math
import os
import platform
import shutil
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
CORPUS = HERE / "corpus"
REQUIREMENTS = HERE / "requirements-pyeryx.txt"
IMPLS = ("eryx", "pyeryx", "native")


# ---- the snippets ----------------------------------------------------------------------


def snippets(only: str | None) -> list[Path]:
    files = sorted(p for p in CORPUS.glob("[0-9][0-9]_*.py"))
    return [p for p in files if not only or only in p.name]


def uses_callbacks(path: Path) -> bool:
    return "_cb_" in path.name


def needs_top_level_await(src: str) -> bool:
    try:
        compile(src, "<snippet>", "exec")
        return False
    except SyntaxError:
        try:
            code = compile(src, "<snippet>", "exec", flags=ast.PyCF_ALLOW_TOP_LEVEL_AWAIT)
        except SyntaxError:  # newer syntax than this coordinator's Python: not ours to judge
            return False
        return bool(code.co_flags & 0x80)  # CO_COROUTINE


def native_code(src: str, callbacks: bool) -> str:
    """What `python3.13 -I -c` runs: the snippet itself, or a prelude that defines the
    callbacks (async, as the sandboxes give them) and runs top-level await."""
    if not callbacks and not needs_top_level_await(src):
        return src
    lines = ["import ast as _ast, asyncio as _asyncio"]
    names = []
    if callbacks:
        lines.append((CORPUS / "callbacks.py").read_text())
        names = [cb["name"] for cb in load_callbacks()]
        for n in names:
            lines.append(f"async def _async_{n}(**kw):\n    return {n}(**kw)")
    g = ", ".join(f"{n!r}: _async_{n}" for n in names)
    lines.append(f"_src = {src!r}")
    lines.append("_code = compile(_src, '<string>', 'exec', flags=_ast.PyCF_ALLOW_TOP_LEVEL_AWAIT)")
    lines.append(f"_g = {{'__name__': '__main__', '__builtins__': __builtins__, {g}}}")
    lines.append("_r = eval(_code, _g)")
    lines.append("if _r is not None: _asyncio.run(_r)")
    return "\n".join(lines) + "\n"


def load_callbacks() -> list[dict]:
    sys.path.insert(0, str(CORPUS))
    try:
        import callbacks  # bench/corpus/callbacks.py
    finally:
        sys.path.pop(0)
    return callbacks.CALLBACKS


def expected(path: Path) -> str:
    return (CORPUS / "expected" / (path.stem + ".out")).read_text()


def same_output(got: str, want: str) -> bool:
    # eryx's Python API trims trailing newlines (docs/PYTHON.md): compare without them
    return got.rstrip("\n") == want.rstrip("\n")


# ---- the workers (run under each sandbox's own Python) ---------------------------------


def worker(impl: str) -> None:
    import eryx  # the implementation this worker's interpreter has

    cbs = load_callbacks()
    # The process's first sandbox (engine, module load), untimed; it says which start
    # state Sandbox() gives (how many modules are already imported).
    r = eryx.Sandbox().execute("import sys; print(len(sys.modules))")
    s = getattr(r, "stdout_text", None)
    out = sys.stdout
    out.write(json.dumps({"modules_at_start": int(s if isinstance(s, str) else r.stdout),
                          "version": getattr(eryx, "__version__", "?")}) + "\n")
    out.flush()
    for line in sys.stdin:
        req = json.loads(line)
        kw = {"callbacks": cbs} if req["callbacks"] else {}
        code = req["code"]
        times, stdout, error = [], None, None
        for _ in range(req["runs"]):
            try:
                t0 = time.perf_counter_ns()
                r = eryx.Sandbox(**kw).execute(code)
                t1 = time.perf_counter_ns()
            except Exception as e:  # noqa: BLE001 - reported to the coordinator
                msg = str(e).strip().splitlines()
                error = f"{type(e).__name__}: {msg[-1] if msg else ''}"
                break
            times.append((t1 - t0) / 1e3)
            s = getattr(r, "stdout_text", None)  # pyeryx 0.11: stdout is bytes, stdout_text str
            stdout = s if isinstance(s, str) else r.stdout
        out.write(json.dumps({"us": times, "stdout": stdout if req.get("want_stdout") else None,
                              "error": error}) + "\n")
        out.flush()


class Worker:
    def __init__(self, impl: str, python: str) -> None:
        self.impl = impl
        self.p = subprocess.Popen([python, str(Path(__file__).resolve()), "--worker", impl], stdin=subprocess.PIPE,
                                  stdout=subprocess.PIPE, text=True, cwd=str(ROOT))
        line = self.p.stdout.readline()
        if not line:
            sys.exit(f"corpus: the {impl} worker ({python}) did not start (see its stderr above)")
        self.hello = json.loads(line)

    def run(self, code: str, callbacks: bool, runs: int, want_stdout: bool = False) -> dict:
        self.p.stdin.write(json.dumps({"code": code, "callbacks": callbacks, "runs": runs,
                                       "want_stdout": want_stdout}) + "\n")
        self.p.stdin.flush()
        line = self.p.stdout.readline()
        if not line:
            sys.exit(f"corpus: the {self.impl} worker died (see its stderr above)")
        return json.loads(line)

    def close(self) -> None:
        self.p.stdin.close()
        self.p.wait()


class Native:
    impl = "native"

    def __init__(self, python: str) -> None:
        self.python = python

    def run(self, code: str, callbacks: bool, runs: int, want_stdout: bool = False) -> dict:
        times, stdout, error = [], None, None
        for _ in range(runs):
            t0 = time.perf_counter_ns()
            p = subprocess.run([self.python, "-I", "-c", code], capture_output=True, text=True)
            t1 = time.perf_counter_ns()
            if p.returncode != 0:
                error = f"exit {p.returncode}: {p.stderr.strip().splitlines()[-1:]}"
                break
            times.append((t1 - t0) / 1e3)
            stdout = p.stdout
        return {"us": times, "stdout": stdout if want_stdout else None, "error": error}

    def close(self) -> None:
        pass


# ---- finding the interpreters ----------------------------------------------------------


def version_of(python: str) -> tuple[int, int] | None:
    try:
        out = subprocess.run([python, "-c", "import sys; print(*sys.version_info[:2])"], capture_output=True,
                             text=True, timeout=30).stdout.split()
        return int(out[0]), int(out[1])
    except (OSError, ValueError, IndexError, subprocess.TimeoutExpired):
        return None


def pyenv_pythons(minor: str) -> list[str]:
    roots = [os.environ.get("PYENV_ROOT", ""), str(Path.home() / ".pyenv")]
    found = []
    for root in filter(None, roots):
        for d in sorted(glob.glob(f"{root}/versions/3.{minor}.*"), key=lambda s: [int(x) if x.isdigit() else 0
                                                                               for x in s.rsplit("/", 1)[1].split(".")],
                        reverse=True):
            exe = f"{d}/bin/python3.{minor}"
            if os.access(exe, os.X_OK):
                found.append(exe)
    return found


def find_native(given: str | None) -> str:
    cands = [given] if given else [os.environ.get("NATIVE_PYTHON", "")] + pyenv_pythons("13") + [
        shutil.which("python3.13") or ""]
    for c in filter(None, cands):
        if version_of(c) == (3, 13):
            return c
    sys.exit("corpus: no native CPython 3.13 found (tried --native, $NATIVE_PYTHON, "
             "$PYENV_ROOT or ~/.pyenv/versions/3.13.*/bin/python3.13, python3.13 on PATH): "
             "install one (pyenv install 3.13) or pass --native PATH")


def pyeryx_python() -> str:
    """The pyeryx venv's python, made on first use (Python >= 3.12, the wheel is cp312-abi3)."""
    req = REQUIREMENTS.read_bytes()
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "eryx" / "bench-venvs"
    venv = cache / f"pyeryx-0.11.0-{hashlib.sha256(req).hexdigest()[:12]}"
    py = venv / "bin" / "python"
    if (venv / ".installed").exists() and py.exists():
        return str(py)
    base = next((c for c in pyenv_pythons("13") + pyenv_pythons("12") + [shutil.which("python3.13") or "",
                                                                          shutil.which("python3.12") or ""]
                 if c and (version_of(c) or (0, 0)) >= (3, 12)), None)
    if not base:
        sys.exit("corpus: pyeryx 0.11.0 needs a Python >= 3.12 for its venv (pyenv's 3.12/3.13 or python3.12+ "
                 "on PATH): none found")
    print(f"[corpus] making the pyeryx venv {venv} with {base}", file=sys.stderr)
    shutil.rmtree(venv, ignore_errors=True)
    subprocess.run([base, "-m", "venv", str(venv)], check=True)
    env = dict(os.environ, PIP_CONFIG_FILE="/dev/null")
    subprocess.run([str(py), "-m", "pip", "install", "--isolated", "--quiet", "--require-hashes", "--only-binary",
                    ":all:", "--no-deps", "-r", str(REQUIREMENTS)], check=True, env=env)
    (venv / ".installed").write_text("ok\n")
    return str(py)


# ---- statistics and the report ---------------------------------------------------------


def pct(v: list[float], q: float) -> float:
    """The q-quantile by linear interpolation between closest ranks."""
    s = sorted(v)
    k = (len(s) - 1) * q
    lo = math.floor(k)
    return s[lo] + (s[min(lo + 1, len(s) - 1)] - s[lo]) * (k - lo)


def geomean(v: list[float]) -> float:
    return math.exp(sum(math.log(x) for x in v) / len(v)) if v else float("nan")


def git_commit() -> str:
    try:
        h = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"], capture_output=True,
                           text=True).stdout.strip()
        dirty = subprocess.run(["git", "-C", str(ROOT), "status", "--porcelain", "--untracked-files=no"],
                               capture_output=True, text=True).stdout.strip()
        return h + ("+dirty" if dirty else "")
    except OSError:
        return "unknown"


def report(res: dict, impls: list[str], runs: int, meta: dict) -> tuple[str, dict]:
    ok_all = [n for n, r in res.items() if all(r[i]["status"] == "ok" for i in impls)]
    summary = {}
    for i in impls:
        ok = [n for n in res if res[n][i]["status"] == "ok"]
        allruns = [t for n in ok for t in res[n][i]["us"]]
        summary[i] = {
            "snippets_ok": len(ok),
            "corpus_p50_us": round(pct(allruns, 0.5), 1) if allruns else None,
            "corpus_p90_us": round(pct(allruns, 0.9), 1) if allruns else None,
            "geomean_p50_us": round(geomean([res[n][i]["p50_us"] for n in ok]), 1) if ok else None,
            "geomean_p50_us_common": round(geomean([res[n][i]["p50_us"] for n in ok_all]), 1) if ok_all else None,
        }
    ratios = {}
    if "eryx" in impls:
        for i in impls:
            if i != "eryx" and ok_all:
                ratios[f"{i}/eryx"] = round(summary[i]["geomean_p50_us_common"] / summary["eryx"]["geomean_p50_us_common"], 2)
    ms = lambda us: "-" if us is None else f"{us / 1e3:.2f}"  # noqa: E731
    out = [f"Corpus: {len(res)} snippets (bench/corpus/), {runs} timed runs each per implementation ({meta['order']}), "
           f"each in a fresh sandbox (eryx, pyeryx) or a new process (native); times in ms. Commit {meta['commit']}, "
           f"{meta['date']}, load average {meta['load_average']:.1f} at the start. Modules in sys.modules when a "
           f"sandbox starts: " + ", ".join(f"{i} {n}" for i, n in meta["modules_at_start"].items()) + ".", ""]
    head = "| snippet |" + "".join(f" {i} p50 | {i} p90 |" for i in impls)
    rat = [i for i in impls if i != "eryx"] if "eryx" in impls else []
    head += "".join(f" {i}/eryx |" for i in rat)
    out += [head, "|---|" + "---:|" * (2 * len(impls) + len(rat))]
    for n, r in res.items():
        row = f"| {n} |"
        for i in impls:
            if r[i]["status"] == "ok":
                row += f" {ms(r[i]['p50_us'])} | {ms(r[i]['p90_us'])} |"
            else:
                row += " failed | |"
        for i in rat:
            ok = r[i]["status"] == "ok" and r["eryx"]["status"] == "ok"
            row += f" {r[i]['p50_us'] / r['eryx']['p50_us']:.1f}x |" if ok else " |"
        out.append(row)
    out.append("")
    out.append(f"| whole corpus | " + " | ".join(impls) + " |")
    out.append("|---|" + "---:|" * len(impls))
    for key, label in (("corpus_p50_us", "p50 over all runs"), ("corpus_p90_us", "p90 over all runs"),
                       ("geomean_p50_us", "geometric mean of per-snippet p50s"),
                       ("geomean_p50_us_common", f"the same over the {len(ok_all)} snippets all ran")):
        out.append(f"| {label} | " + " | ".join(ms(summary[i][key]) for i in impls) + " |")
    out.append("| snippets run correctly | " + " | ".join(f"{summary[i]['snippets_ok']}/{len(res)}"
                                                           for i in impls) + " |")
    if ratios:
        out.append("")
        out.append("Ratios of the geometric means over the common snippets: " +
                   ", ".join(f"{k} = {v}x" for k, v in ratios.items()) + ".")
    targets = []  # issue 16's: snippet 00 <= 2 ms p50; corpus >= 5x pyeryx, >= 10x native (geomeans)
    s00 = next((r["eryx"] for n, r in res.items() if n.startswith("00_") and "eryx" in r), None)
    if s00 and s00["status"] == "ok":
        targets.append(f"snippet 00 p50 <= 2 ms: {s00['p50_us'] / 1e3:.2f} ms, "
                       f"{'met' if s00['p50_us'] <= 2000 else 'not met'}")
    for k, want in (("pyeryx/eryx", 5), ("native/eryx", 10)):
        if k in ratios:
            targets.append(f"{k} >= {want}x: {ratios[k]}x, {'met' if ratios[k] >= want else 'not met'}")
    if targets:
        out.append("Issue 16's targets: " + "; ".join(targets) + ".")
    failed = [(n, i, res[n][i]["status"]) for n in res for i in impls if res[n][i]["status"] != "ok"]
    for n, i, s in failed:
        out.append(f"- {i} could not run {n}: {s}")
    data = {"targets": targets, "meta": meta, "impls": impls, "runs": runs, "snippets": res, "summary": summary, "ratios": ratios,
            "common_snippets": len(ok_all)}
    return "\n".join(out) + "\n", data


# ---- the run -------------------------------------------------------------------------


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--runs", type=int, default=20, help="timed runs per snippet and implementation (20)")
    ap.add_argument("--impl", default=",".join(IMPLS), help="which, comma-separated (eryx,pyeryx,native)")
    ap.add_argument("--only", help="only the snippets whose file name contains this")
    ap.add_argument("--blocked", action="store_true",
                    help="each implementation's runs of a snippet back to back (a busy server), not interleaved")
    ap.add_argument("--build", default=str(ROOT / "build"), help="eryx's build dir, with venv/ (build)")
    ap.add_argument("--out", default=None, help="where corpus.md and corpus.json go (BUILD/corpus-bench)")
    ap.add_argument("--native", help="the native CPython 3.13 (default: pyenv's, then python3.13 on PATH)")
    ap.add_argument("--write-expected", action="store_true",
                    help="write bench/corpus/expected/*.out with native CPython 3.13 and stop")
    ap.add_argument("--worker", help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.worker:
        return worker(a.worker)
    if sys.version_info < (3, 11):
        sys.exit("corpus: run me with Python >= 3.11")
    files = snippets(a.only)
    if not files:
        sys.exit(f"corpus: no snippets in {CORPUS}")
    if a.write_expected:
        native = Native(find_native(a.native))
        (CORPUS / "expected").mkdir(exist_ok=True)
        for f in files:
            r = native.run(native_code(f.read_text(), uses_callbacks(f)), False, 1, want_stdout=True)
            if r["error"]:
                sys.exit(f"corpus: {f.name} failed natively: {r['error']}")
            (CORPUS / "expected" / (f.stem + ".out")).write_text(r["stdout"])
        print(f"[corpus] wrote {len(files)} expected outputs with {native.python}")
        return
    impls = [i for i in a.impl.split(",") if i]
    if any(i not in IMPLS for i in impls):
        sys.exit(f"corpus: --impl takes {','.join(IMPLS)}")
    runners, versions, start = {}, {"coordinator": platform.python_version()}, {}
    for i in impls:
        if i == "eryx":
            py = Path(a.build) / "venv" / "bin" / "python"
            if not py.exists():
                sys.exit(f"corpus: no {py}: build the module (python/build-module.sh {a.build})")
            runners[i] = Worker(i, str(py))
        elif i == "pyeryx":
            runners[i] = Worker(i, pyeryx_python())
        if i != "native":
            versions[i] = runners[i].hello["version"]
            start[i] = runners[i].hello["modules_at_start"]
        else:
            runners[i] = Native(find_native(a.native))
            versions["native"] = runners[i].python
    meta = {"commit": git_commit(), "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
            "machine": platform.machine(), "cpus": os.cpu_count(), "versions": versions,
            "modules_at_start": start, "load_average": os.getloadavg()[0],
            "order": "blocked" if a.blocked else "interleaved",
            "command": " ".join(["bench/corpus.py"] + sys.argv[1:])}
    res = {}
    t_start = time.monotonic()
    for k, f in enumerate(files):
        src, cb = f.read_text(), uses_callbacks(f)
        code = {i: (native_code(src, cb) if i == "native" else src) for i in impls}
        want = expected(f)
        r = {i: {"status": "ok", "us": []} for i in impls}
        for i in impls:  # the check run, untimed
            got = runners[i].run(code[i], cb, 1, want_stdout=True)
            if got["error"]:
                r[i]["status"] = got["error"]
            elif not same_output(got["stdout"], want):
                r[i]["status"] = "output differs from expected/" + f.stem + ".out"
        live = [i for i in impls if r[i]["status"] == "ok"]
        # interleaved run by run, the order rotating; or (--blocked) each one's runs back to back
        rounds = [[(i, a.runs) for i in live]] if a.blocked else [
            [(i, 1) for i in live[n % len(live):] + live[:n % len(live)]] for n in range(a.runs)] if live else []
        for rnd in rounds:
            for i, nruns in rnd:
                got = runners[i].run(code[i], cb, nruns)
                if got["error"]:
                    r[i]["status"] = got["error"]
                else:
                    r[i]["us"] += got["us"]
        for i in impls:
            if r[i]["status"] == "ok" and r[i]["us"]:
                r[i]["p50_us"] = round(pct(r[i]["us"], 0.5), 1)
                r[i]["p90_us"] = round(pct(r[i]["us"], 0.9), 1)
                r[i]["us"] = [round(t, 1) for t in r[i]["us"]]
        res[f.stem] = r
        line = "  ".join(f"{i} {r[i].get('p50_us', 0) / 1e3:.2f}" if r[i]["status"] == "ok" else f"{i} FAILED"
                         for i in impls)
        print(f"[corpus] {k + 1}/{len(files)} {f.stem}: {line} ms", file=sys.stderr)
    for w in runners.values():
        w.close()
    meta["seconds"] = round(time.monotonic() - t_start, 1)
    md, data = report(res, impls, a.runs, meta)
    out = Path(a.out or Path(a.build) / "corpus-bench")
    out.mkdir(parents=True, exist_ok=True)
    (out / "corpus.md").write_text(md)
    (out / "corpus.json").write_text(json.dumps(data, indent=1) + "\n")
    print(md, end="")
    print(f"[corpus] {out}/corpus.md and corpus.json ({meta['seconds']} s)", file=sys.stderr)


if __name__ == "__main__":
    main()
