"""bench/cpu/pyperf_shim.py: a stand-in for the `pyperf` module, just what
pyperformance's benchmark files (run_benchmark.py) import, so that each file runs
unmodified as __main__ in any runtime (a sandbox has no pyperf) with a fixed number
of loops instead of pyperf's calibration and worker processes.

The harness sets LOOPS (a number, or a dict: benchmark name -> loops, for a file that
registers several benchmarks) and WARMUPS before running a file. Each bench_func /
bench_time_func call appends to RESULTS: the benchmark's name, the seconds its LOOPS
loops took (perf_counter around the calls for bench_func; the value the benchmark's
own timing function returns for bench_time_func, which times only its loops), and for
bench_func a digest of the last return value (repr), so that runtimes can be compared.
"""
import argparse
import hashlib
import time

perf_counter = time.perf_counter

LOOPS = 1
WARMUPS = 1
RESULTS = []


def _digest(value):
    text = repr(value)
    if " at 0x" in text:  # an object's address: differs run to run, not comparable
        return None
    return hashlib.sha256(text.encode("utf-8", "replace")).hexdigest()[:16]


def _loops(name):
    n = LOOPS.get(name) if isinstance(LOOPS, dict) else LOOPS
    if not isinstance(n, int) or n < 1:
        raise RuntimeError(f"{name}: no loop count for this benchmark (LOOPS={LOOPS!r})")
    return n


class Runner:
    def __init__(self, *args, add_cmdline_args=None, **kwargs):
        self.metadata = {}
        self.argparser = argparse.ArgumentParser()
        self.args = None

    def parse_args(self, args=None):
        # The benchmark's defaults: pyperformance runs each file without arguments.
        self.args = self.argparser.parse_args([] if args is None else args)
        return self.args

    def _ensure_args(self):
        if self.args is None:
            self.parse_args()

    def bench_func(self, name, func, *args, inner_loops=None, **kwargs):
        self._ensure_args()
        loops = _loops(name)
        for _ in range(WARMUPS):
            func(*args)
        result = None
        t0 = perf_counter()
        for _ in range(loops):
            result = func(*args)
        dt = perf_counter() - t0
        if result is False:  # richards' run() says so when its check fails
            raise RuntimeError(f"{name}: the benchmark function returned False (its own check failed)")
        RESULTS.append({"name": name, "seconds": dt, "loops": loops, "digest": _digest(result)})
        return None

    def bench_time_func(self, name, time_func, *args, inner_loops=None, **kwargs):
        self._ensure_args()
        loops = _loops(name)
        for _ in range(WARMUPS):
            time_func(1, *args)
        dt = time_func(loops, *args)
        if not isinstance(dt, (int, float)) or dt <= 0:
            raise RuntimeError(f"{name}: the timing function returned {dt!r}, not a positive time")
        RESULTS.append({"name": name, "seconds": float(dt), "loops": loops, "digest": None})
        return None
