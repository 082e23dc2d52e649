"""bench/sum_fast_path.py: sum() over ints whose total passes 2**31, in eryx and natively
(guest/stdlib-patches/sum-int64-fast-path.patch widened sum()'s fast path to 64 bits
on wasm32, where Py_ssize_t is 32 bits). Run with this tree's venv:
    build/venv/bin/python bench/sum_fast_path.py [--reps 5] [--guest-dir DIR]
(--guest-dir: another guest, e.g. one from bench/guest-variant.sh). Prints the median
seconds of sum(range(10**6)) and of sum(list of 10**6 ints) in each runtime."""
import argparse
import os
import statistics
import subprocess
import sys

CODE = """
import time
xs = list(range(10**6))
def t(f):
    best = []
    for _ in range(REPS):
        t0 = time.perf_counter(); f(); best.append(time.perf_counter() - t0)
    best.sort(); return best[len(best) // 2]
print(t(lambda: sum(range(10**6))), t(lambda: sum(xs)))
"""


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--guest-dir")
    args = ap.parse_args()
    if args.guest_dir:
        os.environ["ERYX_GUEST_DIR"] = args.guest_dir
    import eryx
    code = CODE.replace("REPS", str(args.reps))
    guest = eryx.Sandbox().execute(code).stdout_text.split()
    native = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    print(f"{'':22} {'eryx s':>10} {'native s':>10} {'ratio':>7}")
    for name, g, n in zip(("sum(range(10**6))", "sum(list of 10**6)"), guest, native):
        print(f"{name:22} {float(g):10.4f} {float(n):10.4f} {float(g) / float(n):7.2f}")
    print(f"native: {sys.version.split()[0]}; guest dir: {args.guest_dir or 'the default'}")


if __name__ == "__main__":
    main()
