"""bench/api_ab.py LABEL: execute("pass") p50 (3,000 in one sandbox) and Sandbox() p50 (2,000),
through whichever eryx module the running Python has; run it with two builds' venvs,
alternated, to compare them (docs/BENCHMARKS.md, "Issue 16: the targets")."""
import time, eryx, sys
sb = eryx.Sandbox()
r, c = [], []
for i in range(3000):
    t = time.perf_counter_ns(); sb.execute("pass"); r.append(time.perf_counter_ns() - t)
for i in range(2000):
    t = time.perf_counter_ns(); eryx.Sandbox(); c.append(time.perf_counter_ns() - t)
r.sort(); c.sort()
print(sys.argv[1], f"pass p50 {r[len(r)//2]/1e3:.0f} us, Sandbox() p50 {c[len(c)//2]/1e3:.0f} us")
