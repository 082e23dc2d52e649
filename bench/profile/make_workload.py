"""Builds one self-contained profiling workload from a pyperformance benchmark
(bench/profile.sh): a stand-in `pyperf` module, the benchmark's own
run_benchmark.py (exec'd as a module, so its __main__ block does not run), and a
driver that calls its kernel LOOPS times. The same file runs natively and in eryx.

usage: make_workload.py BENCH_DIR NAME LOOPS > workload.py
"""
import sys

SHIM = '''import sys, time, types
_pyperf = types.ModuleType("pyperf")
_pyperf.perf_counter = time.perf_counter
class _Runner:  # never used: only run_benchmark.py's __main__ block makes one
    def __init__(self, *a, **k): raise RuntimeError("pyperf shim")
_pyperf.Runner = _Runner
sys.modules["pyperf"] = _pyperf
'''

# The kernel call of each benchmark, with pyperformance's default arguments.
DRIVERS = {
    "nbody": "_ns['bench_nbody'](LOOPS, 'sun', 20000)",
    "richards": "_r = _ns['Richards']()\nfor _ in range(LOOPS):\n    assert _r.run(1)",
}


def main():
    bench_dir, name, loops = sys.argv[1], sys.argv[2], int(sys.argv[3])
    src = open(f"{bench_dir}/bm_{name}/run_benchmark.py", encoding="utf-8").read()
    print(SHIM)
    print("_ns = {'__name__': 'bm_%s'}" % name)
    print(f"exec(compile({src!r}, 'bm_{name}/run_benchmark.py', 'exec'), _ns)")
    print(f"_t0 = time.perf_counter()")
    print(DRIVERS[name].replace("LOOPS", str(loops)))
    print(f"print('{name}: {loops} loops in %.3f s' % (time.perf_counter() - _t0))")


if __name__ == "__main__":
    main()
