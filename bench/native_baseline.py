"""native_baseline.py [RUNS]: native CPython baselines for bench/preinit.sh, one JSON
object on stdout. Run it with the interpreter to measure (bench/preinit.sh uses the
native 3.13 build of the same source as the guest, `-I`).

What is timed, all in this process unless said otherwise:
- exec_p50_us/p99: exec("pass", {}) (compile + run), like a keep-state execute;
- subinterp_create_p50_us/p99: _interpreters.create() + destroy() (isolated config),
  a fresh interpreter in-process, the closest native analogue of a sandbox creation;
- subinterp_exec_p50_us/p99: create + exec("pass") + destroy, the analogue of a
  fresh-state execute;
- subinterp_private_kib: Private_Clean + Private_Dirty gained per idle
  sub-interpreter (50 kept), from /proc/self/smaps_rollup;
- process_private_kib, process_private_dirty_kib, process_rss_kib: a separate
  `python -I -c` process reading its own smaps_rollup (what one idle process costs);
- process_starts_per_s_1/_2: `python -I -c pass` processes started and waited for,
  back to back, by 1 and 2 threads for ~2 s each;
- cpu_loop_10m_ms: the benchmarks' loop, once;
- cow_write_fault_us, read_fault_us: the cost per 4 KiB page of the first write
  (copy-on-write: a fault and a page copy) and of the first read of a page of a
  fresh MAP_PRIVATE mapping of a 16 MiB file in the page cache: this machine's
  price of the faults counted by `eryx bench` (Python's loop overhead included).
Figures that cannot be measured (no _interpreters before 3.13) are null.
"""
import ctypes
import json
import mmap
import os
import tempfile
import subprocess
import sys
import threading
import time

RUNS = int(sys.argv[1]) if len(sys.argv) > 1 else 1000
out = {"python": sys.version.split()[0], "executable": sys.executable}


def pcts(ts, prefix):
    ts = sorted(ts)
    rank = lambda p: ts[min(len(ts), max(1, int(p / 100 * len(ts) + 0.999999))) - 1]
    out[prefix + "_p50_us"] = round(rank(50) / 1e3, 1)
    out[prefix + "_p99_us"] = round(rank(99) / 1e3, 1)
    out[prefix + "_runs"] = len(ts)


def smaps():
    d = {}
    for line in open("/proc/self/smaps_rollup"):
        parts = line.split()
        if len(parts) == 3 and parts[2] == "kB":
            d[parts[0].rstrip(":")] = int(parts[1])
    return d


def trim():
    try:
        ctypes.CDLL(None).malloc_trim(0)
    except (OSError, AttributeError):
        pass


now = time.perf_counter_ns
ts = []
for _ in range(RUNS):
    t = now()
    exec("pass", {})
    ts.append(now() - t)
pcts(ts, "exec")

try:
    import _interpreters
except ImportError:
    _interpreters = None
if _interpreters:
    n = max(20, RUNS // 20)
    ts = []
    for _ in range(n):
        t = now()
        i = _interpreters.create()
        _interpreters.destroy(i)
        ts.append(now() - t)
    pcts(ts, "subinterp_create")
    ts = []
    for _ in range(n):
        t = now()
        i = _interpreters.create()
        _interpreters.exec(i, "pass")
        _interpreters.destroy(i)
        ts.append(now() - t)
    pcts(ts, "subinterp_exec")
    trim()
    before = smaps()
    kept = [_interpreters.create() for _ in range(50)]
    after = smaps()
    priv = lambda d: d["Private_Clean"] + d["Private_Dirty"]
    out["subinterp_private_kib"] = round((priv(after) - priv(before)) / 50, 1)
    out["subinterp_rss_kib"] = round((after["Rss"] - before["Rss"]) / 50, 1)
    for i in kept:
        _interpreters.destroy(i)
else:
    for k in ("subinterp_create_p50_us", "subinterp_exec_p50_us", "subinterp_private_kib"):
        out[k] = None

code = "import sys; sys.stdout.write(open('/proc/self/smaps_rollup').read())"
d = {}
for line in subprocess.run([sys.executable, "-I", "-c", code], capture_output=True, text=True).stdout.splitlines():
    parts = line.split()
    if len(parts) == 3 and parts[2] == "kB":
        d[parts[0].rstrip(":")] = int(parts[1])
out["process_private_kib"] = d["Private_Clean"] + d["Private_Dirty"]
out["process_private_dirty_kib"] = d["Private_Dirty"]
out["process_rss_kib"] = d["Rss"]


def starts_per_s(nthreads, seconds=2.0):
    counts = [0] * nthreads

    def work(k):
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            subprocess.run([sys.executable, "-I", "-c", "pass"], check=True)
            counts[k] += 1

    t = time.monotonic()
    threads = [threading.Thread(target=work, args=(k,)) for k in range(nthreads)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    return round(sum(counts) / (time.monotonic() - t), 1)


out["process_starts_per_s_1"] = starts_per_s(1)
out["process_starts_per_s_2"] = starts_per_s(2)

t = now()
exec("for i in range(10_000_000): x = i * i", {})
out["cpu_loop_10m_ms"] = round((now() - t) / 1e6, 1)


def fault_cost(write):
    size = 16 << 20
    with tempfile.TemporaryFile() as f:
        f.write(b"\1" * size)
        f.flush()
        best = None
        for _ in range(3):
            m = mmap.mmap(f.fileno(), size, flags=mmap.MAP_PRIVATE, prot=mmap.PROT_READ | mmap.PROT_WRITE)
            t = now()
            if write:
                for off in range(0, size, 4096):
                    m[off] = 2
            else:
                for off in range(0, size, 4096):
                    m[off]
            dt = (now() - t) / (size // 4096) / 1e3
            m.close()
            best = dt if best is None else min(best, dt)
    return round(best, 2)


out["cow_write_fault_us"] = fault_cost(True)
out["read_fault_us"] = fault_cost(False)
print(json.dumps(out))
