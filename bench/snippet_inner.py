"""Where a corpus snippet's time goes in a fresh sandbox: wall time of
eryx.Sandbox().execute(code), the execute's own duration, and the snippet body's time
measured inside the guest (time.perf_counter around it). Run with a plain Python
(no eryx) and --native, it times the body in-process instead (re's cache purged
before each run, as a fresh sandbox's is empty).

    build/venv/bin/python bench/snippet_inner.py [FILE] [RUNS]
    ~/.pyenv/versions/3.13.0/bin/python3.13 bench/snippet_inner.py --native [FILE] [RUNS]
"""
import re
import sys
import time

args = [a for a in sys.argv[1:] if a != "--native"]
path = args[0] if args else "bench/corpus/00_summary_200_dicts.py"
runs = int(args[1]) if len(args) > 1 else 40
code = open(path).read()


def pct(xs, p):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, round(p / 100 * (len(xs) - 1)))]


if "--native" in sys.argv:
    body = []
    for _ in range(runs):
        re.purge()
        t = time.perf_counter()
        exec(compile(code, path, "exec"), {})
        body.append((time.perf_counter() - t) * 1e3)
    print(f"native in-process, {runs} runs: body p50 {pct(body, 50):.2f} ms", file=sys.stderr)
    sys.exit(0)

import eryx  # noqa: E402

wrapped = "import time as _t\n_t0 = _t.perf_counter()\n" + code + "\nprint('INNER', (_t.perf_counter() - _t0) * 1e3)"
wall, dur, body = [], [], []
for _ in range(runs):
    t = time.perf_counter()
    r = eryx.Sandbox().execute(wrapped)
    wall.append((time.perf_counter() - t) * 1e3)
    dur.append(r.duration_ms)
    body.append(float(next(l for l in r.stdout_text.splitlines() if l.startswith("INNER")).split()[1]))
print(f"eryx, {runs} fresh sandboxes: wall p10 {pct(wall, 10):.2f} p50 {pct(wall, 50):.2f} p90 {pct(wall, 90):.2f} ms; "
      f"execute duration p50 {pct(dur, 50):.2f} ms; body in the guest p50 {pct(body, 50):.2f} ms")
