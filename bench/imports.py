"""imports.py: the time to import a stdlib module that the start state has not
imported, in a fresh eryx sandbox and in native CPython, alternated in one run
(issue 16, item 4). Run by bench/imports.sh, which says what the options are.

Each eryx measurement is one execute in a fresh sandbox: by default through the
Python API (`--via python`: `eryx.Sandbox().execute(CODE)`, one Sandbox reused, so
every execute starts from the start state in a memory reset in place, as in a
server), or one `eryx [EXTRA] -c CODE` process (`--via cli`: a memory mapped anew,
so the first touches of its pages are page faults inside the timing). Each native
measurement is one `PYTHON -I -c CODE` process. CODE times `import M` with
time.perf_counter_ns() inside the interpreter, so process start and snapshot load
are not counted. Native first imports every module the sandbox's start state
already has (outside the timing), so both sides do the same work: only the
modules M brings that are not loaded yet. Native .pyc files are warm: every
module is imported once before the rounds (which writes any missing __pycache__).

With --detail, up to 5 more runs per side and module wrap importlib's _find_and_load
(what the C import calls for a module not in sys.modules) to give -X importtime's
figures per module, self and cumulative, in both interpreters (the guest's
interpreter cannot take -X importtime: its configuration is fixed by the shim,
isolated, with no command line). The hook costs a few microseconds per module,
so the headline totals come from the runs without it.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import time

MODULES = [
    "bisect", "heapq", "shlex", "pprint", "calendar", "fractions", "decimal",
    "ipaddress", "difflib", "csv", "configparser", "pathlib", "urllib.parse",
    "uuid", "tomllib", "pickle", "logging", "argparse", "gzip", "zipfile",
    "tarfile", "sqlite3", "html.parser", "xml.etree.ElementTree",
    "xml.dom.minidom", "email.message", "email.parser", "http.client",
    "unittest",
]

TIMED = """
import sys, time
{pre}
_cpu = getattr(time, "thread_time_ns", None)
c = _cpu() if _cpu else 0
t = time.perf_counter_ns()
import {mod}
t = time.perf_counter_ns() - t
c = _cpu() - c if _cpu else -1
print("ERYX_IMPORT_NS", t, c)
"""
# The same execute without the import: its CPU time is taken off the eryx samples'.
BASELINE = TIMED.replace("import {mod}", "pass")

DETAILED = """
import sys, time
{pre}
_b = sys.modules["_frozen_importlib"]
_orig, _pc, _rows, _stack = _b._find_and_load, time.perf_counter_ns, [], [0]
def _find_and_load(name, import_):
    _stack.append(0)
    t = _pc()
    try:
        return _orig(name, import_)
    finally:
        cum = _pc() - t
        child = _stack.pop()
        _stack[-1] += cum
        _rows.append((name, cum - child, cum, len(_stack) - 1))
_b._find_and_load = _find_and_load
t = time.perf_counter_ns()
import {mod}
t = time.perf_counter_ns() - t
_b._find_and_load = _orig
import json
print("ERYX_IMPORT_DETAIL", json.dumps({{"total": t, "rows": _rows}}))
"""


def run(cmd, code, marker, want_cpu=False):
    """Runs code; returns what follows marker on its output (with want_cpu, and
    the host thread's CPU time of an execute through the Python API, or None)."""
    cpu = None
    if callable(cmd):
        cpu = time.thread_time_ns()
        out, err = cmd(code)
        cpu = time.thread_time_ns() - cpu
    else:
        p = subprocess.run(cmd + [code], capture_output=True, text=True, timeout=300)
        out, err = p.stdout, f"exit {p.returncode}: {p.stderr[-2000:]}"
    for line in out.splitlines():
        if line.startswith(marker):
            value = line[len(marker) + 1:]
            return (value, cpu) if want_cpu else value
    raise RuntimeError(f"{cmd} failed: {err}")


def python_api_runner(guest=None, imports=None):
    import eryx
    if guest:
        os.environ["ERYX_GUEST_DIR"] = guest  # read when the builder is made
    sb = eryx.SandboxFactory(imports=imports).create_sandbox() if imports else eryx.Sandbox()
    os.environ.pop("ERYX_GUEST_DIR", None)

    def execute(code):
        try:
            r = sb.execute(code)
        except eryx.EryxError as e:
            return "", str(e)
        return r.stdout_text, r.stderr_text
    return execute


def start_state_modules(eryx):
    out = run(eryx, 'import sys; print("ERYX_MODS", " ".join(sorted(sys.modules)))', "ERYX_MODS")
    return out.split()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--via", choices=("python", "cli"), default="python")
    ap.add_argument("--eryx", help="the eryx CLI (--via cli)")
    ap.add_argument("--eryx-arg", action="append", default=[], help="an option for eryx (repeatable)")
    ap.add_argument("--guest", action="append", default=[],
                    help="LABEL=DIR[@MOD,MOD]: a guest directory to measure, in a start state with "
                    "the modules imported (Python API only) (repeatable; default: the build's)")
    ap.add_argument("--python", action="append", required=True,
                    help="native CPython 3.13 (repeatable; ratios are against the first)")
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--detail", action="store_true", help="per-module self/cumulative figures too")
    ap.add_argument("--json", help="write every sample here")
    ap.add_argument("modules", nargs="*")
    a = ap.parse_args()
    mods = a.modules or MODULES
    guests = [g.split("=", 1) for g in a.guest] or [("eryx", None)]
    sides = []  # (label, runner, is_native)
    for label, gdir in guests:
        gdir, _, imports = (gdir or "").partition("@")
        if a.via == "python":
            sides.append((label, python_api_runner(gdir, imports.split(",") if imports else None), False))
        else:
            genv = ["env", f"ERYX_GUEST_DIR={gdir}"] if gdir else []
            sides.append((label, genv + [a.eryx] + a.eryx_arg + ["-c"], False))
    pycache = "/tmp/eryx-bench-imports-pycache"
    for py in a.python:
        # The .pyc of a Python whose tree is not writable (or is shared) are kept here.
        label = "native " + run([py, "-I", "-c"], 'import sys; print("V", sys.version.split()[0])', "V")
        sides.append((label, [py, "-I", "-X", f"pycache_prefix={pycache}", "-c"], True))

    load0 = f"{os.getloadavg()[0]:.1f}"
    have = start_state_modules(sides[0][1])
    skipped = [m for m in mods if m in have]
    mods = [m for m in mods if m not in have]
    # Native imports what the sandbox starts with (those it has: not _eryx*).
    pre_list = [m for m in have if not m.startswith("_eryx") and m != "__main__"]
    pre = "for _m in %r:\n    try: __import__(_m)\n    except ImportError: pass" % (pre_list,)
    sys.stderr.write(f"[imports] eryx via {a.via}; start state: {len(have)} modules; timing {len(mods)} "
                     f"(already imported, skipped: {' '.join(skipped) or 'none'})\n")
    code = lambda side, tmpl, m: tmpl.format(pre=pre if side[2] else "", mod=m)
    for m in mods:  # warm the .pyc files (and the start states)
        for side in sides:
            run(side[1], code(side, TIMED, m), "ERYX_IMPORT_NS")
            if m == mods[0] and not side[2] and callable(side[1]):
                run(side[1], code(side, BASELINE, ""), "ERYX_IMPORT_NS")

    # Each sample: (wall ns, CPU ns). CPU: native's thread time around the import;
    # eryx's, the host thread's CPU time of the execute less the median of the same
    # execute without the import (the guest has no CPU clock: WASI's process clock
    # is emulated from the monotonic one), or None through the CLI.
    samples = {m: {side[0]: [] for side in sides} for m in mods}
    base_cpu = {side[0]: [] for side in sides}

    def sample(side, m):
        value, host_cpu = run(side[1], code(side, TIMED, m), "ERYX_IMPORT_NS", want_cpu=True)
        wall, cpu = (int(x) for x in value.split())
        return [wall, cpu if cpu >= 0 else host_cpu]

    for r in range(a.runs):
        sys.stderr.write(f"[imports] round {r + 1}/{a.runs}\n")
        for m in mods:
            for side in sides:
                samples[m][side[0]].append(sample(side, m))
        for side in sides:
            if not side[2] and callable(side[1]):
                for _ in range(3):
                    base_cpu[side[0]].append(run(side[1], code(side, BASELINE, ""), "ERYX_IMPORT_NS", True)[1])
    for label, b in base_cpu.items():
        if b:
            off = statistics.median(b)
            for m in mods:
                for smp in samples[m][label]:
                    smp[1] -= off
    detail = {}
    if a.detail:
        # Per module loaded: the median over DETAIL_RUNS runs of its self and
        # cumulative times (wall-clock), rows in the first run's order.
        reps = min(a.runs, 5)
        for m in mods:
            detail[m] = {}
            for side in sides:
                runs = [json.loads(run(side[1], code(side, DETAILED, m), "ERYX_IMPORT_DETAIL")) for _ in range(reps)]
                rows = []
                for name, _, _, depth in runs[0]["rows"]:
                    got = [next((row for row in r["rows"] if row[0] == name), None) for r in runs]
                    got = [row for row in got if row]
                    rows.append((name, statistics.median(row[1] for row in got),
                                 statistics.median(row[2] for row in got), depth))
                detail[m][side[0]] = {"total": statistics.median(r["total"] for r in runs), "rows": rows}

    labels = [side[0] for side in sides]
    base = next(side[0] for side in sides if side[2])
    eryx_labels = [side[0] for side in sides if not side[2]]
    for k, what in ((0, "wall-clock time"), (1, "CPU time")):
        if any(smp[k] is None for m in mods for label in labels for smp in samples[m][label]):
            continue
        print(f"\n{what}, median of {a.runs} (ms):\n")
        head = " | ".join(f"{label}" for label in labels)
        # Every eryx side against the first native; the last also against the others.
        others = [label for label in labels if label != base and label not in eryx_labels]
        pairs = [(label, base) for label in eryx_labels] + [(eryx_labels[-1], o) for o in others]
        rhead = " | ".join(f"{e} / {n}" for e, n in pairs)
        print(f"| module | modules loaded | {head} | {rhead} |")
        print("|---|---:|" + "---:|" * (len(labels) + len(pairs)))
        med = {m: {label: statistics.median(smp[k] for smp in samples[m][label]) / 1e6 for label in labels}
               for m in mods}
        for m in mods:
            count = len(detail[m][eryx_labels[-1]]["rows"]) if m in detail else ""
            cells = " | ".join(f"{med[m][label]:.2f}" for label in labels)
            rcells = " | ".join(f"{med[m][e] / med[m][n]:.2f}" for e, n in pairs)
            print(f"| `{m}` | {count} | {cells} | {rcells} |")
        tot = {label: sum(med[m][label] for m in mods) for label in labels}
        cells = " | ".join(f"{tot[label]:.1f}" for label in labels)
        geo = lambda e, n: statistics.geometric_mean([max(med[m][e], 1e-3) / med[m][n] for m in mods])
        rcells = " | ".join(f"{tot[e] / tot[n]:.2f} ({geo(e, n):.2f})" for e, n in pairs)
        print(f"| all {len(mods)}: sum (geomean of ratios) | | {cells} | {rcells} |")
    print(f"\n(load average {load0} at the start, {os.getloadavg()[0]:.1f} at the end; {os.cpu_count()} CPUs)")
    if detail:
        e = eryx_labels[-1]
        print()
        print(f"Per module loaded (-X importtime style: wall-clock microseconds, self / cumulative, median of "
              f"{min(a.runs, 5)} more runs; {e} and {base}):")
        for m in mods:
            print(f"\n`import {m}`:\n")
            print(f"| module | {e} self | {e} cum | {base} self | {base} cum | self ratio |")
            print("|---|---|---|---|---|---|")
            nat = {row[0]: row for row in detail[m][base]["rows"]}
            for name, self_ns, cum_ns, depth in detail[m][e]["rows"]:
                nrow = nat.get(name)
                ns = f"{nrow[1] / 1e3:.0f} | {nrow[2] / 1e3:.0f}" if nrow else "- | -"
                ratio = f"{self_ns / nrow[1]:.2f}" if nrow and nrow[1] else ""
                print(f"| {'  ' * depth}{name} | {self_ns / 1e3:.0f} | {cum_ns / 1e3:.0f} | {ns} | {ratio} |")
    if a.json:
        with open(a.json, "w") as f:
            json.dump({"start_state": have, "samples": samples, "detail": detail}, f)


if __name__ == "__main__":
    main()
