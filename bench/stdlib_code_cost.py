"""bench/stdlib_code_cost.py: what _eryx_stdlib_code (the stdlib code cache at the end of the
default start state) costs each execute("pass") and create_sandbox(): two factories, the
default list with and without it, 3,000 alternated executes and 1,000 creations."""
import time, eryx
mods = eryx._eryx.default_imports().split()
base = [m for m in mods if m != "_eryx_stdlib_code"]
fa = eryx.SandboxFactory(imports=base, default_imports=False)
fb = eryx.SandboxFactory(imports=base + ["_eryx_stdlib_code"], default_imports=False)
sa, sb = fa.create_sandbox(), fb.create_sandbox()
ra, rb, ca, cb = [], [], [], []
for i in range(3000):
    t = time.perf_counter_ns(); sa.execute("pass"); ra.append(time.perf_counter_ns() - t)
    t = time.perf_counter_ns(); sb.execute("pass"); rb.append(time.perf_counter_ns() - t)
for i in range(1000):
    t = time.perf_counter_ns(); fa.create_sandbox(); ca.append(time.perf_counter_ns() - t)
    t = time.perf_counter_ns(); fb.create_sandbox(); cb.append(time.perf_counter_ns() - t)
for n, x in (("pass, no code cache", ra), ("pass, code cache", rb), ("create, no code cache", ca), ("create, code cache", cb)):
    x.sort(); print(f"{n}: p50 {x[len(x)//2]/1e3:.0f} us")
