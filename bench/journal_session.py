"""What durable execution costs a session (docs/DURABLE.md, "Sessions"): a journaled
run of a session with callbacks takes a snapshot first (to roll back to if the run
halts). Times Session.execute against Session.execute_with_journal of the same
one-callback code, with the session's state small, then grown by a list of N
integers, and a plain Sandbox for comparison (no snapshot there).

    build/venv/bin/python bench/journal_session.py [RUNS]

Prints the median and p90 per run in milliseconds for each case."""
import statistics
import sys
import time

import eryx


def timed(fn, runs):
    fn()  # warm
    out = []
    for _ in range(runs):
        t = time.perf_counter()
        fn()
        out.append((time.perf_counter() - t) * 1e3)
    out.sort()
    return statistics.median(out), out[int(len(out) * 0.9) - 1]


def main():
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 200
    cbs = [{"name": "get", "fn": lambda x: x + 1}]
    code = "y = await get(x=1)"
    sb = eryx.Sandbox(callbacks=cbs)
    rows = [("Sandbox", "execute", timed(lambda: sb.execute(code), runs)),
            ("Sandbox", "execute_with_journal", timed(lambda: sb.execute_with_journal(code), runs))]
    for n in (0, 100_000, 1_000_000):
        s = eryx.Session(callbacks=cbs)
        if n:
            s.execute(f"big = list(range({n}))")
        label = f"Session, state + list of {n:,} ints" if n else "Session, small state"
        rows.append((label, "execute", timed(lambda: s.execute(code), runs)))
        rows.append((label, "execute_with_journal", timed(lambda: s.execute_with_journal(code), runs)))
    for label, what, (med, p90) in rows:
        print(f"{label:42} {what:22} median {med:7.2f} ms  p90 {p90:7.2f} ms")


if __name__ == "__main__":
    main()
