"""tests/faults/ticker.py: the epoch ticker thread starved (issue 17).

eryx stops guest code at timeouts through one thread per process, `eryx-ticker`,
which advances wasmtime's epoch; running code checks the epoch and the deadline
callback decides. This script starves that thread in a child process running the
Python module and checks that timeouts still fire once it runs again, that nothing
hangs forever and that results stay right. Two ways:
  frozen   the ticker alone is stopped for FREEZE seconds (ptrace: PTRACE_SEIZE and
           PTRACE_INTERRUPT stop one thread, not the process), while the child runs
           an endless loop under a 100 ms timeout and, on another thread, plain code;
           then it is let go. The plain code must finish right while the ticker is
           frozen (it needs no tick), the timeout must fire after the thaw, within
           THAW_BOUND seconds, and the sandbox must run plain code again
  squeezed the ticker pinned to one CPU at SCHED_IDLE with a busy process pinned to
           the same CPU at normal priority, for 10 timeouts of 100 ms: each must fire
           within SQUEEZE_BOUND seconds, and a plain run after each is right
usage: ticker.py --python VENV_PYTHON [--freeze 2] [--rounds 3]
Ends with "N passed, N failed". Needs ptrace rights over the child (root, or
kernel.yama.ptrace_scope <= 1: the child is ours).
"""
import argparse
import ctypes
import os
import select
import subprocess
import sys
import time

PTRACE_DETACH, PTRACE_SEIZE, PTRACE_INTERRUPT = 17, 0x4206, 0x4207
THAW_BOUND = 5.0
SQUEEZE_BOUND = 10.0
passed = failed = 0
libc = ctypes.CDLL(None, use_errno=True)
libc.ptrace.argtypes = [ctypes.c_long, ctypes.c_long, ctypes.c_void_p, ctypes.c_void_p]
libc.ptrace.restype = ctypes.c_long


def ok(cond: bool, what: str, detail: str = "") -> bool:
    global passed, failed
    if cond:
        passed += 1
        print(f"ok   {what}")
    else:
        failed += 1
        print(f"FAIL {what}: {detail}", flush=True)
    return cond


# The child: a sandbox with a 100 ms timeout; on each "loop" line from stdin it runs an
# endless loop (and, on a second thread, plain code in another sandbox) and reports.
CHILD = r"""
import sys, threading, time, eryx
sb = eryx.Sandbox(resource_limits=eryx.ResourceLimits(execution_timeout_ms=100))
other = eryx.Sandbox()
sb.execute("pass")  # the ticker thread exists from the first execution
print("ready", flush=True)
for line in sys.stdin:
    plain = []
    def side():
        for i in range(20):
            plain.append(other.execute(f"print({i} * 3)").stdout_text == f"{i * 3}\n")
    t = threading.Thread(target=side)
    start = time.monotonic()
    t.start()
    try:
        sb.execute("while True: pass")
        outcome = "returned"
    except eryx.TimeoutError:
        outcome = "timeout"
    except Exception as e:
        outcome = type(e).__name__
    took = time.monotonic() - start
    t.join()
    after = sb.execute("print(sum(range(10)))").stdout_text.strip()
    print(f"{outcome} {took:.3f} {all(plain) and len(plain) == 20} {after}", flush=True)
"""


def ticker_tid(pid: int) -> int | None:
    # The thread names itself once it runs, which may be after the first execution
    # returned: look for up to 10 s.
    for _ in range(100):
        for tid in os.listdir(f"/proc/{pid}/task"):
            try:
                with open(f"/proc/{pid}/task/{tid}/comm") as f:
                    if f.read().strip() == "eryx-ticker":
                        return int(tid)
            except OSError:
                pass
        time.sleep(0.1)
    return None


def readline(p: subprocess.Popen, timeout: float) -> str | None:
    r, _, _ = select.select([p.stdout], [], [], timeout)
    return p.stdout.readline().strip() if r else None


def frozen(py: str, freeze: float, rounds: int) -> None:
    p = subprocess.Popen([py, "-c", CHILD], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        if not ok(readline(p, 120) == "ready", "frozen: the child starts"):
            return
        tid = ticker_tid(p.pid)
        if not ok(tid is not None, "frozen: the child has an eryx-ticker thread"):
            return
        for r in range(rounds):
            if libc.ptrace(PTRACE_SEIZE, tid, None, None) != 0:
                ok(False, "frozen: ptrace(PTRACE_SEIZE) the ticker", os.strerror(ctypes.get_errno()))
                return
            libc.ptrace(PTRACE_INTERRUPT, tid, None, None)
            os.waitpid(tid, os.__dict__.get("WALL", 0x40000000))  # __WALL: a thread of another process
            t0 = time.monotonic()
            p.stdin.write("loop\n")
            p.stdin.flush()
            early = readline(p, freeze)
            libc.ptrace(PTRACE_DETACH, tid, None, 0)
            thawed = time.monotonic() - t0
            line = early or readline(p, THAW_BOUND + 60)
            if not ok(line is not None, f"frozen {r}: the timeout fires after the thaw", "no answer in 60 s"):
                return
            outcome, took, plain, after = line.split()
            ok(outcome == "timeout", f"frozen {r}: the loop ends with TimeoutError", outcome)
            ok(plain == "True", f"frozen {r}: 20 plain executions on another thread right while frozen")
            ok(after == "45", f"frozen {r}: the sandbox runs plain code after", after)
            ok(float(took) <= thawed + THAW_BOUND, f"frozen {r}: the loop stopped {float(took) - thawed:+.2f} s "
               f"from the thaw ({freeze} s frozen, loop ran {float(took):.2f} s)",
               f"more than {THAW_BOUND} s after the thaw")
    finally:
        p.kill()
        p.wait()


def squeezed(py: str, rounds: int) -> None:
    p = subprocess.Popen([py, "-c", CHILD], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    hog = None
    try:
        if not ok(readline(p, 120) == "ready", "squeezed: the child starts"):
            return
        tid = ticker_tid(p.pid)
        cpu = min(os.sched_getaffinity(0))
        os.sched_setaffinity(tid, {cpu})
        os.sched_setscheduler(tid, os.SCHED_IDLE, os.sched_param(0))
        hog = subprocess.Popen([sys.executable, "-c", "while True: pass"])
        os.sched_setaffinity(hog.pid, {cpu})
        worst = 0.0
        for r in range(rounds):
            p.stdin.write("loop\n")
            p.stdin.flush()
            line = readline(p, SQUEEZE_BOUND + 60)
            if not ok(line is not None, f"squeezed {r}: an answer", "none in 70 s"):
                return
            outcome, took, plain, after = line.split()
            worst = max(worst, float(took))
            ok(outcome == "timeout" and float(took) <= SQUEEZE_BOUND and plain == "True" and after == "45",
               f"squeezed {r}: timeout after {float(took):.3f} s, plain runs right", line)
        print(f"squeezed: the slowest 100 ms timeout took {worst:.3f} s")
    finally:
        if hog:
            hog.kill()
            hog.wait()
        p.kill()
        p.wait()


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--python", required=True)
    ap.add_argument("--freeze", type=float, default=2.0)
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    frozen(args.python, args.freeze, args.rounds)
    squeezed(args.python, 10)
    print(f"{passed} passed, {failed} failed")
    return 0 if failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
