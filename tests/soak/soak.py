"""The soak (issue 17): one process, THREADS threads, N executions through the Python
module, every result checked against what it must be, while a sampler thread records
the process's RSS, open fds, threads and memory mappings into a CSV.

Mix (weights per 1000 executions, --mix to see them): plain code with a `result`,
stdlib imports, exceptions and SystemExit, timeouts (30 ms), memory-limit hits,
output caps, host callbacks, sessions with snapshot_state/restore_state, numpy (a
factory with the numpy package imported) and fresh sandboxes made and dropped. After
each timeout, memory or output hit the same sandbox runs plain code again (checked),
so "the next one starts afresh" is checked too. Each thread draws from its own seeded
random stream, so a mismatch reproduces with the same --seed.

Flat (the verdict): samples taken in the first WARMUP fraction of the run are left
out; over the rest, for each of RSS, fds, threads and maps, the median of the last
quarter is at most the median of the first quarter plus a tolerance, and the
least-squares slope times the window's length is within the same tolerance (no
steady growth hidden under the noise). Tolerances: RSS 10% (at least 8 MiB), maps
5% (at least 16), fds and threads 4 (the callback pool's idle threads come and go).

usage: soak.py [-n N] [--threads 4] [--numpy DIR] [--csv FILE] [--interval S]
               [--summary FILE] [--seed S] [--warmup 0.25]
Exit status 0 when every result matched and every curve is flat, else 1.
"""
import argparse
import json
import os
import random
import statistics
import sys
import threading
import time

import eryx

# ---- sampling ----------------------------------------------------------------------------


def sample() -> dict:
    rss = 0
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                rss = int(line.split()[1])
    with open("/proc/self/maps") as f:
        maps = sum(1 for _ in f)
    return {"rss_kb": rss, "fds": len(os.listdir("/proc/self/fd")),
            "threads": len(os.listdir("/proc/self/task")), "maps": maps}


METRICS = {  # name: (relative tolerance, absolute floor)
    "rss_kb": (0.10, 8192),
    "fds": (0.0, 4),
    "threads": (0.0, 4),
    "maps": (0.05, 16),
}


def slope(xs: list, ys: list) -> float:
    mx, my = statistics.fmean(xs), statistics.fmean(ys)
    den = sum((x - mx) ** 2 for x in xs)
    return sum((x - mx) * (y - my) for x, y in zip(xs, ys)) / den if den else 0.0


def flatness(rows: list, warmup: float, metrics: dict = METRICS) -> dict:
    """Per metric: the verdict and the figures behind it (see the module comment)."""
    if len(rows) < 8:
        return {"ok": False, "why": f"only {len(rows)} samples: run longer or sample more often"}
    t_end = rows[-1]["t"]
    post = [r for r in rows if r["t"] >= warmup * t_end]
    if len(post) < 8:
        post = rows[len(rows) // 4:]
    q = max(1, len(post) // 4)
    out = {"ok": True, "samples": len(rows), "post_warmup_samples": len(post)}
    span = post[-1]["t"] - post[0]["t"]
    for m, (rel, floor) in metrics.items():
        first = statistics.median(r[m] for r in post[:q])
        last = statistics.median(r[m] for r in post[-q:])
        s = slope([r["t"] for r in post], [r[m] for r in post])
        tol = max(rel * first, floor)
        ok = last <= first + tol and s * span <= tol
        out[m] = {"start": rows[0][m], "warm": first, "end_median": last, "end": rows[-1][m],
                  "slope_per_s": s, "growth_over_window": s * span, "tolerance": tol, "flat": ok}
        out["ok"] = out["ok"] and ok
    return out


# ---- the workload ------------------------------------------------------------------------

IMPORTS = [  # module, code printing something computed with it, its expected output
    ("json", "print(json.dumps({'a': [1, 2]}, sort_keys=True))", '{"a": [1, 2]}'),
    ("re", "print(re.sub(r'(\\d+)', r'<\\1>', 'a12b3'))", "a<12>b<3>"),
    ("hashlib", "print(hashlib.sha256(b'eryx').hexdigest()[:16])", None),
    ("base64", "print(base64.b64encode(b'soak').decode())", "c29haw=="),
    ("fractions", "print(fractions.Fraction(3, 9) + fractions.Fraction(1, 3))", "2/3"),
    ("decimal", "print(decimal.Decimal('1.10') + decimal.Decimal('2.205'))", "3.305"),
    ("statistics", "print(statistics.median([5, 1, 4, 2, 3]))", "3"),
    ("textwrap", "print(textwrap.shorten('the quick brown fox jumps', 15))", "the quick [...]"),
    ("heapq", "print(heapq.nsmallest(3, [9, 4, 7, 1, 8]))", "[1, 4, 7]"),
    ("struct", "print(struct.pack('<HI', 1, 2).hex())", "010002000000"),
    ("zlib", "print(zlib.crc32(b'soak'))", None),
    ("difflib", "print(difflib.SequenceMatcher(None, 'abcd', 'abed').ratio())", "0.75"),
    ("csv", "import io\nw = io.StringIO(); csv.writer(w).writerow([1, 'a,b']); print(w.getvalue().strip())",
     '1,"a,b"'),
]

WEIGHTS = [  # kind, weight per 1000
    ("plain", 360), ("import", 130), ("exception", 90), ("exit", 20), ("timeout", 8),
    ("memory", 20), ("output", 30), ("callback", 100), ("session", 150), ("numpy", 90), ("fresh", 2),
]


def _expected_imports() -> None:
    import hashlib
    import zlib
    for i, (m, code, exp) in enumerate(IMPORTS):
        if m == "hashlib":
            IMPORTS[i] = (m, code, hashlib.sha256(b"eryx").hexdigest()[:16])
        elif m == "zlib":
            IMPORTS[i] = (m, code, str(zlib.crc32(b"soak")))


def _output_capped_sandbox(cap: int) -> eryx.Sandbox:
    # The Python API has no output cap of its own; the builder underneath has
    # (eryx_builder_set_output_limit), so the soak builds one through the module's
    # config, as Sandbox does.
    cfg = eryx._core._Config(limits=eryx.ResourceLimits(), callbacks=None, volumes=None, on_stdout=None,
                             on_stderr=None, result_variable=None, network=None, secrets=None)
    b = cfg.builder()
    b.set_output_limit(cap)
    return eryx.Sandbox._from_factory(cfg, b)


class Mismatch(Exception):
    pass


def expect(cond: bool, what: str) -> None:
    if not cond:
        raise Mismatch(what)


class Worker:
    def __init__(self, idx: int, seed: int, np_factory, state, lock) -> None:
        self.idx = idx
        self.lock = lock
        self.rng = random.Random(seed * 1000 + idx)
        self.state = state
        self.np_factory = np_factory
        self.calls = 0
        self.last = ""
        self.plain = eryx.Sandbox()
        self.timeout = eryx.Sandbox(resource_limits=eryx.ResourceLimits(execution_timeout_ms=30))
        self.memory = eryx.Sandbox(resource_limits=eryx.ResourceLimits(max_memory_bytes=48 << 20))
        self.output = _output_capped_sandbox(4096)
        self.cb = eryx.Sandbox(callbacks=[{"name": "add", "fn": self._add}, {"name": "tag", "fn": self._tag}])
        self.session = eryx.Session()
        self.session_x = 0
        self.session.execute("x = 0")
        self.snap = None  # (blob, x at the snapshot)
        self.np = np_factory.create_sandbox() if np_factory else None
        kinds = [(k, w) for k, w in WEIGHTS if k != "numpy" or np_factory]
        self.kinds = [k for k, _ in kinds]
        self.cum = []
        total = 0
        for _, w in kinds:
            total += w
            self.cum.append(total)

    def _add(self, a: int, b: int) -> int:
        self.calls += 1
        return a + b

    async def _tag(self, s: str) -> str:
        return f"<{s}>"

    def plain_check(self, sb: eryx.Sandbox, what: str, short_timeout: bool = False) -> None:
        n = self.rng.randrange(1, 5000)
        code = f"s = sum(range({n}))\nprint(s)\nresult = {{'n': {n}, 'sq': {n} * {n}}}"
        if short_timeout:
            # On the 30 ms sandbox a plain run (~1 ms of CPU) can still pass 30 ms of
            # wall-clock time when its thread is descheduled on a loaded machine: that
            # TimeoutError is the limit doing its job, not a wrong result. Up to 3 tries,
            # counted in the summary (timing_retries).
            for _ in range(2):
                try:
                    r = sb.execute(code)
                    break
                except eryx.TimeoutError:
                    with self.lock:
                        self.state["timing_retries"] += 1
            else:
                r = sb.execute(code)
        else:
            r = sb.execute(code)
        expect(r.stdout_text == f"{n * (n - 1) // 2}\n" and r.result == {"n": n, "sq": n * n},
               f"{what}: plain code gave {r.stdout!r} {r.result!r} for n={n}")

    def run_one(self) -> int:
        """One step of the mix; returns the executions it made."""
        rng = self.rng
        pick = rng.randrange(self.cum[-1])
        kind = self.kinds[next(i for i, c in enumerate(self.cum) if pick < c)]
        self.last = kind
        if kind == "plain":
            self.plain_check(self.plain, "plain")
            return 1
        if kind == "import":
            m, code, exp = rng.choice(IMPORTS)
            r = self.plain.execute(f"import {m}\n{code}")
            expect(r.stdout_text == exp + "\n", f"import {m}: {r.stdout!r} != {exp!r}")
            return 1
        if kind == "exception":
            n = rng.randrange(10**6)
            try:
                self.plain.execute(f"def f(v):\n    raise ValueError(f'boom {{v}}')\nf({n})")
                expect(False, "exception: no ExecutionError")
            except eryx.ExecutionError as e:
                expect(e.exception_type == "ValueError" and f"boom {n}" in str(e),
                       f"exception: {e.exception_type} {str(e)[-80:]!r}")
            return 1
        if kind == "exit":
            code = rng.randrange(1, 100)
            try:
                self.plain.execute(f"import sys\nprint('bye')\nsys.exit({code})")
                expect(False, "exit: no ExecutionError")
            except eryx.ExecutionError as e:
                expect(e.exit_code == code and e.stdout_text.strip() == "bye", f"exit: {e.exit_code} {e.stdout!r}")
            return 1
        if kind == "timeout":
            body = rng.choice(["while True: pass", "import time\ntime.sleep(5)", "x = 0\nwhile True: x += 1"])
            try:
                self.timeout.execute(body)
                expect(False, f"timeout: {body!r} returned")
            except eryx.TimeoutError:
                pass
            self.plain_check(self.timeout, "after timeout", short_timeout=True)
            return 2
        if kind == "memory":
            body = rng.choice(["x = bytearray(100 << 20)", "x = [0] * (20 << 20)", "x = 'a' * (200 << 20)"])
            try:
                self.memory.execute(body)
                expect(False, f"memory: {body!r} returned")
            except eryx.ResourceLimitError:
                pass
            self.plain_check(self.memory, "after memory limit")
            return 2
        if kind == "output":
            if rng.random() < 0.5:
                r = self.output.execute("print('y' * 1000)")
                expect(r.stdout == b"y" * 1000 + b"\n", "output under the cap")
                return 1
            try:
                self.output.execute("for i in range(100):\n    print('z' * 100)")
                expect(False, "output: over the cap returned")
            except eryx.ResourceLimitError:
                pass
            self.plain_check(self.output, "after output cap")
            return 2
        if kind == "callback":
            a, b = rng.randrange(1000), rng.randrange(1000)
            r = self.cb.execute(f"print(await add(a={a}, b={b}), await tag(s='q{a}'))")
            expect(r.stdout_text == f"{a + b} <q{a}>\n" and r.callback_invocations == 2, f"callback: {r.stdout!r}")
            return 1
        if kind == "session":
            p = rng.random()
            if p < 0.1:
                self.snap = (self.session.snapshot_state(), self.session_x)
                return 0
            if p < 0.2 and self.snap:
                self.session.restore_state(self.snap[0])
                self.session_x = self.snap[1]
                return 0
            k = rng.randrange(1, 100)
            r = self.session.execute(f"x += {k}\nprint(x)")
            self.session_x += k
            expect(r.stdout_text == f"{self.session_x}\n", f"session: {r.stdout!r} != {self.session_x}")
            return 1
        if kind == "numpy":
            n = rng.randrange(2, 50)
            r = self.np.execute(f"import numpy as np\na = np.arange({n}, dtype=np.int64)\n"
                                f"print(int(a.sum()), int((a * a).sum()), round(float(np.linalg.det(np.eye(3) * 2)), 6))")
            exp = f"{n * (n - 1) // 2} {sum(i * i for i in range(n))} 8.0"
            expect(r.stdout_text == exp + "\n", f"numpy: {r.stdout!r} != {exp!r}")
            return 1
        if kind == "fresh":
            sb = eryx.Sandbox()
            self.plain_check(sb, "fresh sandbox")
            del sb
            return 1
        raise AssertionError(kind)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("-n", type=int, default=1_000_000, help="executions (default 1,000,000)")
    ap.add_argument("--threads", type=int, default=4)
    ap.add_argument("--numpy", default=os.environ.get("ERYX_NUMPY_PACKAGE"),
                    help="numpy package dir or .eryx (default $ERYX_NUMPY_PACKAGE; none: no numpy)")
    ap.add_argument("--csv", default="soak.csv")
    ap.add_argument("--summary", default=None, help="write the summary as JSON here too")
    ap.add_argument("--interval", type=float, default=5.0, help="seconds between samples")
    ap.add_argument("--sample-every", type=int, default=0, metavar="N",
                    help="also sample every N executions (a short run on a fast machine still gets samples)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--warmup", type=float, default=0.25, help="fraction of the run left out of the verdict")
    ap.add_argument("--max-mismatches-shown", type=int, default=10)
    ap.add_argument("--leaks-only", action="store_true",
                    help="judge only fds and threads (a short run, as ctest's, is too short for RSS and maps)")
    ap.add_argument("--analyze", metavar="CSV",
                    help="no run: judge a CSV a run wrote (a run cut short still wrote its samples)")
    args = ap.parse_args()
    if args.analyze:
        return analyze(args.analyze, args.warmup)
    _expected_imports()

    lock = threading.Lock()
    state = {"done": 0, "mismatches": 0, "timing_retries": 0, "by_kind": {}, "shown": 0}
    t0 = time.monotonic()
    np_factory = eryx.SandboxFactory(packages=[args.numpy], imports=["numpy"]) if args.numpy else None
    workers = [Worker(i, args.seed, np_factory, state, lock) for i in range(args.threads)]
    rows = []
    stop = threading.Event()
    csvf = open(args.csv, "w")
    csvf.write("t_s,executions,rss_kb,fds,threads,maps\n")

    def record() -> None:
        s = sample()
        with lock:
            s["t"], s["executions"] = time.monotonic() - t0, state["done"]
        with lock:
            rows.append(s)
            csvf.write(f"{s['t']:.1f},{s['executions']},{s['rss_kb']},{s['fds']},{s['threads']},{s['maps']}\n")
            csvf.flush()

    def sampler() -> None:
        while not stop.wait(args.interval):
            record()

    def run(w: Worker) -> None:
        while True:
            with lock:
                if state["done"] >= args.n:
                    return
            try:
                k = w.run_one()
                bad = None
            except Mismatch as e:
                k, bad = 1, str(e)
            except Exception as e:  # any other exception is a mismatch as well
                k, bad = 1, f"{type(e).__name__}: {str(e)[:200]}"
            with lock:
                before = state["done"]
                state["done"] += k
                state["by_kind"][w.last] = state["by_kind"].get(w.last, 0) + k
                every = args.sample_every
                due = every and state["done"] // every > before // every
                if bad:
                    state["mismatches"] += 1
                    if state["shown"] < args.max_mismatches_shown:
                        state["shown"] += 1
                        print(f"MISMATCH (thread {w.idx}): {bad}", file=sys.stderr, flush=True)
            if due:
                record()

    record()
    st = threading.Thread(target=sampler, daemon=True)
    st.start()
    ts = [threading.Thread(target=run, args=(w,)) for w in workers]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    stop.set()
    st.join()
    record()
    csvf.close()
    elapsed = time.monotonic() - t0
    metrics = {m: METRICS[m] for m in ("fds", "threads")} if args.leaks_only else METRICS
    flat = flatness(rows, args.warmup, metrics)
    summary = {"executions": state["done"], "threads": args.threads, "seconds": round(elapsed, 1),
               "rate_per_s": round(state["done"] / elapsed, 1), "mismatches": state["mismatches"],
               "timing_retries": state["timing_retries"],
               "numpy": bool(np_factory), "seed": args.seed, "csv": args.csv, "flat": flat,
               "host_callback_calls": sum(w.calls for w in workers),
               "by_kind": dict(sorted(state["by_kind"].items()))}
    print(json.dumps(summary, indent=1))
    if args.summary:
        with open(args.summary, "w") as f:
            json.dump(summary, f, indent=1)
    print(table(rows))
    ok = state["mismatches"] == 0 and flat["ok"]
    print(f"soak: {state['done']} executions in {elapsed:.0f} s ({summary['rate_per_s']}/s), "
          f"{state['mismatches']} mismatches, curves {'flat' if flat['ok'] else 'NOT flat'}: "
          f"{'PASS' if ok else 'FAIL'}")
    return 0 if ok else 1


def analyze(path: str, warmup: float) -> int:
    rows = []
    with open(path) as f:
        next(f)
        for line in f:
            t, ex, rss, fds, th, maps = line.strip().split(",")
            rows.append({"t": float(t), "executions": int(ex), "rss_kb": int(rss), "fds": int(fds),
                         "threads": int(th), "maps": int(maps)})
    flat = flatness(rows, warmup)
    print(json.dumps(flat, indent=1))
    print(table(rows))
    print(f"soak CSV {path}: {rows[-1]['executions']} executions in {rows[-1]['t']:.0f} s, "
          f"curves {'flat' if flat['ok'] else 'NOT flat'}")
    return 0 if flat["ok"] else 1


def table(rows: list, n: int = 12) -> str:
    """A markdown table of about n samples spread over the run."""
    pick = sorted({round(i * (len(rows) - 1) / (n - 1)) for i in range(n)}) if len(rows) > n else range(len(rows))
    lines = ["| t (s) | executions | RSS (MiB) | fds | threads | maps |", "|---:|---:|---:|---:|---:|---:|"]
    for i in pick:
        r = rows[i]
        lines.append(f"| {r['t']:.0f} | {r['executions']} | {r['rss_kb'] / 1024:.1f} | {r['fds']} | "
                     f"{r['threads']} | {r['maps']} |")
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
