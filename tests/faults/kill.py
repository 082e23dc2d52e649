"""tests/faults/kill.py: SIGKILL at random points while eryx writes (issue 17).

Each round starts a writer, kills it (SIGKILL) after a random delay, then checks
that the next run finds a consistent cache and runs correctly: nothing half-written
is used. Rounds rotate over four writers:
  compile   `eryx -c` with an empty cache dir: compiles the interpreter and writes it
  snapshot  `eryx build` of a configuration never seen (--env SEED): a start state
            made and written (the cache's write-behind thread)
  numpy     the same with numpy imported (a ~20 MB image: a longer write window);
            only with --numpy
  python    the Python module: SandboxFactory with a new set of imports (its start
            state written to the cache) and save() to a file, and a Session whose
            blobs (snapshot_state) are written to files, one non-atomically (chunks,
            no rename: a kill leaves it cut short) and one by rename
The delay is uniform over 1.2 times the writer's unkilled duration (measured first).
After each kill:
  - `eryx cache verify` exits 0 (exit 1 means it found a damaged entry: something
    half-written had been put in place)
  - the same configuration runs and prints 42 with status 0, and no warning about a
    damaged entry
  - python rounds: every blob file restores into a new Session with the value its name
    says, or is refused with an exception (a cut-short file); the renamed blob
    restores; every saved factory loads and runs, a cut-short .tmp one is refused;
    no crash of the checking process; and the newest complete blob cut at ten points
    (what a kill mid-write leaves, which a kill itself rarely hits) is refused
usage: kill.py --eryx ERYX [--python VENV_PYTHON] [--numpy DIR] [--rounds 50] [--seed S] [--kinds K,K]
Ends with "N passed, N failed".
"""
import argparse
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time

passed = failed = 0


def ok(cond: bool, what: str, detail: str = "") -> bool:
    global passed, failed
    if cond:
        passed += 1
        if os.environ.get("FAULTS_VERBOSE"):
            print(f"ok   {what}")
    else:
        failed += 1
        print(f"FAIL {what}: {detail}", flush=True)
    return cond


# The Python writer: runs until killed. argv: blob dir, factory file, imports (comma).
PY_WRITER = r"""
import inspect, os, sys, eryx
out, fac_path, imports = sys.argv[1], sys.argv[2], sys.argv[3].split(",")
kw = {}
params = inspect.signature(eryx.Session).parameters
key = next((p for p in params if "key" in p), None)  # a session key, when the module has one
if key:
    kw[key] = b"k" * 32
s = eryx.Session(**kw)
s.execute("import random\nx = 0\npad = random.randbytes(1 << 20)")  # 1 MiB that zstd cannot shrink: a write window
f = eryx.SandboxFactory(imports=imports)
f.create_sandbox().execute("pass")
print("started", flush=True)
n = 0
while True:
    n += 1
    s.execute(f"x = {n}")
    blob = s.snapshot_state()
    with open(os.path.join(out, f"blob-{n}.bin"), "wb") as fh:  # not atomic on purpose
        for i in range(0, len(blob), 4096):
            fh.write(blob[i:i + 4096])
            fh.flush()
    tmp = os.path.join(out, "latest.bin.tmp")
    with open(tmp, "wb") as fh:
        fh.write(blob)
    os.replace(tmp, os.path.join(out, f"latest-{n}.bin"))
    for old in (f"blob-{n - 3}.bin", f"latest-{n - 1}.bin"):  # keep the disk use small
        if os.path.exists(os.path.join(out, old)):
            os.unlink(os.path.join(out, old))
    if n == 1:
        f.save(fac_path)
"""

# The Python checker: every file the writer left.
PY_CHECK = r"""
import glob, inspect, os, re, sys, eryx
out, fac_path, imports = sys.argv[1], sys.argv[2], sys.argv[3].split(",")
kw = {}
params = inspect.signature(eryx.Session).parameters
key = next((p for p in params if "key" in p), None)
if key:
    kw[key] = b"k" * 32
res = {"restored": 0, "refused": 0, "wrong": 0, "latest_bad": 0, "fac_ok": 0, "fac_refused": 0, "fac_bad": 0}
for path in sorted(glob.glob(os.path.join(out, "*.bin"))):
    n = int(re.search(r"-(\d+)\.bin$", path).group(1))
    data = open(path, "rb").read()
    s = eryx.Session(**kw)
    try:
        s.restore_state(data)
    except Exception as e:
        if "latest" in path:
            res["latest_bad"] += 1
            print("latest refused:", path, type(e).__name__, e)
        else:
            res["refused"] += 1
        continue
    got = s.execute("print(x, len(pad))").stdout_text
    if got == f"{n} 1048576\n":
        res["restored"] += 1
    else:
        res["wrong"] += 1
        print("WRONG", path, got)
for path in glob.glob(fac_path + "*"):
    try:
        f = eryx.SandboxFactory.load(path)
    except Exception as e:
        res["fac_refused" if path.endswith(".tmp") else "fac_bad"] += 1
        if not path.endswith(".tmp"):
            print("factory refused:", path, type(e).__name__, e)
        continue
    r = f.create_sandbox().execute(f"import {imports[0]}\nprint(6*7)")
    res["fac_ok" if r.stdout == b"42\n" else "fac_bad"] += 1
# What a kill in the middle of a write leaves (a kill rarely lands in one: the write
# takes milliseconds): each complete blob cut at a few points must be refused.
import random
rng = random.Random(len(os.listdir(out)))
res["cut_refused"] = res["cut_accepted"] = 0
for path in sorted(glob.glob(os.path.join(out, "latest-*.bin")))[-1:]:
    data = open(path, "rb").read()
    for cut in [0, 1, 16, len(data) // 2, len(data) - 1] + [rng.randrange(len(data)) for _ in range(5)]:
        try:
            eryx.Session(**kw).restore_state(data[:cut])
            res["cut_accepted"] += 1
            print("a cut blob was accepted:", path, cut)
        except Exception:
            res["cut_refused"] += 1
# The writer's configuration runs.
f = eryx.SandboxFactory(imports=imports)
res["run"] = f.create_sandbox().execute("print(6*7)").stdout_text.strip()
print(res)
"""

STDLIB = ["colorsys", "bisect", "keyword", "shlex", "fnmatch", "getopt", "glob", "graphlib", "numbers", "pprint",
          "queue", "sched", "secrets", "stringprep", "tabnanny", "zipapp", "calendar", "difflib", "ipaddress"]


def run(cmd: list, env: dict | None = None, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=timeout)


def kill_after(cmd: list, delay: float, env: dict | None = None) -> str:
    """Starts cmd, SIGKILLs it after delay seconds (if still running); what happened."""
    p = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    try:
        p.wait(delay)
        return f"finished (status {p.returncode}) before the kill"
    except subprocess.TimeoutExpired:
        p.send_signal(signal.SIGKILL)
        p.wait()
        return f"killed at {delay:.2f} s"


def check_cache(eryx: str, cache: str, what: str) -> None:
    v = run([eryx, "--cache-dir", cache, "cache", "verify"])
    ok(v.returncode == 0, f"{what}: cache verify", f"status {v.returncode}: {v.stdout.strip()} {v.stderr.strip()}")


def check_run(eryx: str, cache: str, args: list, what: str) -> None:
    r = run([eryx, "--cache-dir", cache, *args, "-c", "print(6*7)"])
    ok(r.returncode == 0 and r.stdout.strip() == "42" and "damaged" not in r.stderr,
       f"{what}: the next run", f"status {r.returncode}, stdout {r.stdout[:80]!r}, stderr {r.stderr[-300:]!r}")


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--eryx", required=True)
    ap.add_argument("--python")
    ap.add_argument("--numpy")
    ap.add_argument("--rounds", type=int, default=50)
    ap.add_argument("--seed", type=int, default=int(time.time()))
    ap.add_argument("--kinds", default="compile,snapshot,python,numpy",
                    help="the writers to rotate over (ctest's faults.kill leaves compile out: seconds each)")
    args = ap.parse_args()
    rng = random.Random(args.seed)
    print(f"kill.py: {args.rounds} rounds, seed {args.seed}")
    work = tempfile.mkdtemp(prefix="eryx-kill-")
    warm = os.path.join(work, "xdg", "eryx")  # the warm cache: also the Python module's ($XDG_CACHE_HOME/eryx)
    pyenv = dict(os.environ, XDG_CACHE_HOME=os.path.join(work, "xdg"))
    kinds = args.kinds.split(",")
    kinds = [k for k in kinds if (k != "python" or args.python) and (k != "numpy" or args.numpy)]
    try:
        # Unkilled durations, for the delays.
        py_start = 0.0
        t = time.monotonic()
        run([args.eryx, "--cache-dir", warm, "-c", "pass"])
        dur = {"compile": time.monotonic() - t}
        t = time.monotonic()
        run([args.eryx, "--cache-dir", warm, "--env", "SEED=probe", "--import", "colorsys", "build"])
        dur["snapshot"] = time.monotonic() - t
        if args.numpy:  # twice: the first also compiles numpy's side modules (cached after)
            for probe in ("probe", "probe2"):
                t = time.monotonic()
                run([args.eryx, "--cache-dir", warm, "--env", f"SEED={probe}", "--package", args.numpy,
                     "--import", "numpy", "build"])
                dur["numpy"] = time.monotonic() - t
        if args.python:
            d = os.path.join(work, "probe")
            os.makedirs(d)
            p = subprocess.Popen([args.python, "-c", PY_WRITER, d, os.path.join(d, "f.fac"), "colorsys,bisect"],
                                 stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=pyenv, text=True)
            t = time.monotonic()
            p.stdout.readline()
            py_start = time.monotonic() - t  # start-up; then the kill lands in the first 2 s of blob writing
            dur["python"] = py_start + 2.0
            p.kill()
            p.wait()
        print("unkilled durations (s):", {k: round(v, 2) for k, v in dur.items()})
        tally = {}
        for i in range(args.rounds):
            kind = kinds[i % len(kinds)]
            delay = rng.uniform(0, 1.2 * dur[kind]) if kind != "python" else rng.uniform(0.5 * py_start, dur[kind])
            what = f"round {i} ({kind})"
            if kind == "compile":
                cache = os.path.join(work, f"c{i}")
                how = kill_after([args.eryx, "--cache-dir", cache, "-c", "print(6*7)"], delay)
                check_cache(args.eryx, cache, what)
                check_run(args.eryx, cache, [], what)
                check_cache(args.eryx, cache, what + " after the run")
                shutil.rmtree(cache, ignore_errors=True)
            elif kind in ("snapshot", "numpy"):
                cfg = ["--env", f"SEED={args.seed}-{i}"]
                cfg += ["--package", args.numpy, "--import", "numpy"] if kind == "numpy" else ["--import", "colorsys"]
                how = kill_after([args.eryx, "--cache-dir", warm, *cfg, "build"], delay)
                check_cache(args.eryx, warm, what)
                check_run(args.eryx, warm, cfg, what)
            else:
                d = os.path.join(work, f"p{i}")
                os.makedirs(d)
                imports = ",".join(rng.sample(STDLIB, 3))
                fac = os.path.join(d, "f.fac")
                how = kill_after([args.python, "-c", PY_WRITER, d, fac, imports], delay, env=pyenv)
                check_cache(args.eryx, warm, what)
                r = run([args.python, "-c", PY_CHECK, d, fac, imports], env=pyenv)
                res = r.stdout.strip().splitlines()[-1] if r.stdout.strip() else ""
                good = (r.returncode == 0 and "'wrong': 0" in res and "'latest_bad': 0" in res
                        and "'cut_accepted': 0" in res
                        and "'fac_bad': 0" in res and "'run': '42'" in res)
                ok(good, f"{what}: blobs and factory files after the kill",
                   f"status {r.returncode}: {r.stdout[-600:]} {r.stderr[-600:]}")
                how += f"; {res}"
                shutil.rmtree(d, ignore_errors=True)
            tally[kind] = tally.get(kind, 0) + 1
            if os.environ.get("FAULTS_VERBOSE"):
                print(f"{what}: {how}")
        print("rounds:", tally)
        check_cache(args.eryx, warm, "the warm cache at the end")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print(f"{passed} passed, {failed} failed")
    return 0 if failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
