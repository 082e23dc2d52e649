"""What always-on fuel metering would cost guest code (issue 20).

    build/venv/bin/python bench/fuel.py [--reps N] [--json]

pyeryx 0.11 always meters fuel (its `fuel_consumed` is always set); eryx compiles
metering in only for sandboxes given a budget (`max_fuel`, `eryx_builder_set_fuel`:
a separate engine, src/engine/engine.c). This runs CPU-bound kernels in a sandbox
of each kind, STANDARD (no budget: epoch checks only) and FUEL (a budget never
reached), interleaved: each repetition makes a fresh sandbox of each kind in turn
(the order alternating) and times the kernel inside the guest (time.perf_counter
around the kernel only: no sandbox creation, no compile) and the whole execute
call from the host. One sandbox of each kind is made and run first (warm-up: a
first FUEL sandbox may compile its modules into the cache).

Prints, per kernel, the median and min..max of each kind, the ratio of medians
FUEL/STANDARD with the range of the per-repetition ratios (each pair ran back to
back), the ratio of the minimums (the least disturbed runs) and of the execute()
wall medians, and the geometric mean of the median ratios; the spread says how
busy the machine was (rerun when quiet).
"""
import argparse
import json
import statistics
import time

import eryx

BUDGET = 10**15  # never reached: metering on, no stop

# Each kernel: setup, then the timed body; sized to about 0.2-0.6 s in the guest.
KERNELS = {
    "loop": ("", "x = 0\nfor i in range(800_000):\n    x += i * 2 % 7\n"),
    "json": (
        "import json\n"
        "doc = {'users': [{'id': i, 'name': f'user{i}', 'tags': ['a', 'b', 'c'], 'score': i * 0.5,\n"
        "                  'active': i % 2 == 0, 'meta': {'k': None, 'n': [1, 2, 3]}} for i in range(200)]}\n",
        "for _ in range(150):\n    assert json.loads(json.dumps(doc)) == doc\n",
    ),
    "nbody": (
        # pyperformance's bm_nbody, shortened (a float-heavy kernel)
        "PI = 3.14159265358979323\nSOLAR_MASS = 4 * PI * PI\nDAYS_PER_YEAR = 365.24\n"
        "BODIES = [([0.0, 0.0, 0.0], [0.0, 0.0, 0.0], SOLAR_MASS),\n"
        " ([4.84143144246472090e+00, -1.16032004402742839e+00, -1.03622044471123109e-01],\n"
        "  [1.66007664274403694e-03 * DAYS_PER_YEAR, 7.69901118419740425e-03 * DAYS_PER_YEAR,\n"
        "   -6.90460016972063023e-05 * DAYS_PER_YEAR], 9.54791938424326609e-04 * SOLAR_MASS),\n"
        " ([8.34336671824457987e+00, 4.12479856412430479e+00, -4.03523417114321381e-01],\n"
        "  [-2.76742510726862411e-03 * DAYS_PER_YEAR, 4.99852801234917238e-03 * DAYS_PER_YEAR,\n"
        "   2.30417297573763929e-05 * DAYS_PER_YEAR], 2.85885980666130812e-04 * SOLAR_MASS),\n"
        " ([1.28943695621391310e+01, -1.51111514016986312e+01, -2.23307578892655734e-01],\n"
        "  [2.96460137564761618e-03 * DAYS_PER_YEAR, 2.37847173959480950e-03 * DAYS_PER_YEAR,\n"
        "   -2.96589568540237556e-05 * DAYS_PER_YEAR], 4.36624404335156298e-05 * SOLAR_MASS)]\n"
        "PAIRS = [(BODIES[i], BODIES[j]) for i in range(4) for j in range(i + 1, 4)]\n"
        "def advance(dt, n):\n"
        "    for _ in range(n):\n"
        "        for ([x1, y1, z1], v1, m1), ([x2, y2, z2], v2, m2) in PAIRS:\n"
        "            dx = x1 - x2; dy = y1 - y2; dz = z1 - z2\n"
        "            mag = dt * ((dx * dx + dy * dy + dz * dz) ** (-1.5))\n"
        "            b1m = m1 * mag; b2m = m2 * mag\n"
        "            v1[0] -= dx * b2m; v1[1] -= dy * b2m; v1[2] -= dz * b2m\n"
        "            v2[0] += dx * b1m; v2[1] += dy * b1m; v2[2] += dz * b1m\n"
        "        for (r, [vx, vy, vz], m) in BODIES:\n"
        "            r[0] += dt * vx; r[1] += dt * vy; r[2] += dt * vz\n",
        "advance(0.01, 40_000)\n",
    ),
    "text": (
        "import re\n"
        "words = ('the quick brown fox jumps over the lazy dog ' * 2000).split()\n",
        "for _ in range(15):\n"
        "    counts = {}\n"
        "    for w in words:\n"
        "        counts[w] = counts.get(w, 0) + 1\n"
        "    s = ' '.join(sorted(words, key=len)).upper()\n"
        "    assert len(re.findall(r'\\bTHE\\b', s)) == 4000\n",
    ),
}

KINDS = ("standard", "fuel")


def sandbox(kind):
    if kind == "fuel":
        return eryx.Sandbox(resource_limits=eryx.ResourceLimits(max_fuel=BUDGET, execution_timeout_ms=None))
    return eryx.Sandbox(resource_limits=eryx.ResourceLimits(execution_timeout_ms=None))


def run_once(kind, setup, body):
    code = (setup + "import time as _t\n_t0 = _t.perf_counter()\n" + body +
            "result = _t.perf_counter() - _t0\n")
    sb = sandbox(kind)
    t0 = time.perf_counter()
    r = sb.execute(code)
    wall = time.perf_counter() - t0
    if kind == "fuel":
        assert r.fuel_consumed, "a FUEL sandbox reports fuel_consumed"
    return r.result * 1000, wall * 1000, r.fuel_consumed


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--reps", type=int, default=7, help="repetitions of each kernel and kind (default 7)")
    ap.add_argument("--kernels", default=",".join(KERNELS), help="comma-separated subset of " + ",".join(KERNELS))
    ap.add_argument("--json", action="store_true", help="print the raw figures as JSON too")
    args = ap.parse_args()
    names = [k for k in args.kernels.split(",") if k]
    for kind in KINDS:  # warm-up: first sandbox of each kind, its modules compiled or loaded
        run_once(kind, "", "pass\n")
    raw = {}
    for name in names:
        setup, body = KERNELS[name]
        got = {k: {"guest_ms": [], "wall_ms": [], "fuel": None} for k in KINDS}
        for rep in range(args.reps):
            for kind in (KINDS if rep % 2 == 0 else KINDS[::-1]):
                g, w, f = run_once(kind, setup, body)
                got[kind]["guest_ms"].append(g)
                got[kind]["wall_ms"].append(w)
                if f:
                    got[kind]["fuel"] = f
        raw[name] = got

    print(f"bench/fuel.py --reps {args.reps}: kernel time inside the guest (ms), median (min..max) "
          f"of {args.reps} fresh sandboxes per kind, interleaved")
    print("| kernel | STANDARD (ms) | FUEL (ms) | FUEL / STANDARD, medians (pairs) | mins | execute() wall ratio "
          "| fuel units |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    ratios = []
    for name, got in raw.items():
        def cell(kind, key="guest_ms"):
            xs = got[kind][key]
            return f"{statistics.median(xs):,.0f} ({min(xs):,.0f}..{max(xs):,.0f})"
        med = {k: statistics.median(got[k]["guest_ms"]) for k in KINDS}
        wmed = {k: statistics.median(got[k]["wall_ms"]) for k in KINDS}
        ratio = med["fuel"] / med["standard"]
        ratios.append(ratio)
        # per-repetition ratios (each pair ran back to back): their spread
        pairs = [f / s for s, f in zip(got["standard"]["guest_ms"], got["fuel"]["guest_ms"])]
        print(f"| {name} | {cell('standard')} | {cell('fuel')} | {ratio:.3f} "
              f"({min(pairs):.2f}..{max(pairs):.2f}) "
              f"| {min(got['fuel']['guest_ms']) / min(got['standard']['guest_ms']):.3f} "
              f"| {wmed['fuel'] / wmed['standard']:.3f} "
              f"| {got['fuel']['fuel']:,} |")
    gm = statistics.geometric_mean(ratios)
    print(f"\ngeometric mean of FUEL / STANDARD over {len(ratios)} kernels: {gm:.3f} ({(gm - 1) * 100:+.1f}%)")
    if args.json:
        print(json.dumps({"reps": args.reps, "kernels": raw, "geomean_ratio": gm}))


if __name__ == "__main__":
    main()
