"""bench/cpu/benchmarks.py: the benchmarks of issue 22's CPU suite and the programs
that run them. Owns: the pinned pyperformance wheel (downloaded once into the eryx
download cache by pip with --require-hashes, unpacked under the eryx cache), the list
of benchmarks with their fixed loop counts, and `program()`, the one self-contained
Python source that runs a benchmark file unmodified as __main__ under the pyperf shim
(pyperf_shim.py) in any runtime, native or sandboxed, and prints its results as one
JSON line after MARK.
"""
from __future__ import annotations

import hashlib
import json
import os
import re
import subprocess
import sys
import zipfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
REQUIREMENTS = HERE.parent / "requirements-pyperformance.txt"
SHIM = HERE / "pyperf_shim.py"
MARK = "@@ERYX-CPU-RESULT@@"
CACHE = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "eryx"

# Benchmark -> loops per measurement (the same in every runtime), chosen from one-loop
# timings so that on a quiet 2-core machine one measurement takes 0.05-0.6 s in the
# native PGO+LTO build and 0.16-1.4 s in eryx: long enough to dwarf timer noise, short
# enough for 5 repetitions of 23 files in 5 runtimes in about 6 minutes. A file that registers several
# benchmarks (deepcopy, logging) has a count for each.
LOOPS = {
    "richards": 3, "nbody": 2, "chaos": 2, "deltablue": 30, "float": 1,
    "fannkuch": 1, "go": 1, "hexiom": 20, "json_dumps": 10, "json_loads": 150,
    "nqueens": 1, "pidigits": 1, "raytrace": 1, "regex_effbot": 5, "regex_v8": 6,
    "spectral_norm": 1, "unpack_sequence": 5000,
    "deepcopy": {"deepcopy": 200, "deepcopy_reduce": 15000, "deepcopy_memo": 2000},
    "generators": 5, "coroutines": 6, "pyflate": 1,
    "logging": {"logging_format": 1000, "logging_silent": 50000, "logging_simple": 1000},
    "sqlite_synth": 30000,
}
DEFAULT = tuple(LOOPS)


def _pin() -> tuple[str, str]:
    text = REQUIREMENTS.read_text()
    spec = re.search(r"^(pyperformance==\S+)", text, re.M).group(1)
    sha = re.search(r"--hash=sha256:([0-9a-f]{64})", text).group(1)
    return spec, sha


def wheel() -> Path:
    """The pinned wheel in $ERYX_CACHE/downloads/<sha256>/, downloaded on first use
    (pip checks the hash; so does this function, every time)."""
    spec, sha = _pin()
    d = CACHE / "downloads" / sha
    found = sorted(d.glob("pyperformance-*.whl"))
    if not found:
        d.mkdir(parents=True, exist_ok=True)
        print(f"[cpu] downloading {spec} into {d}", file=sys.stderr)
        subprocess.run([sys.executable, "-m", "pip", "download", "-q", "--no-deps", "--only-binary=:all:",
                        "--require-hashes", "-r", str(REQUIREMENTS), "-d", str(d)], check=True)
        found = sorted(d.glob("pyperformance-*.whl"))
    got = hashlib.sha256(found[0].read_bytes()).hexdigest()
    if got != sha:
        sys.exit(f"[cpu] {found[0]} has sha256 {got}, {REQUIREMENTS.name} pins {sha}: remove it and run again")
    return found[0]


def benchmarks_dir() -> Path:
    """The wheel's pyperformance/data-files/benchmarks/, unpacked once."""
    w = wheel()
    _, sha = _pin()
    root = CACHE / "pyperformance" / sha[:16]
    done = root / ".complete"
    if not done.exists():
        with zipfile.ZipFile(w) as z:
            for name in z.namelist():
                if name.startswith("pyperformance/data-files/benchmarks/"):
                    z.extract(name, root)
        done.touch()
    return root / "pyperformance" / "data-files" / "benchmarks"


GUEST_DIR = "/pyperformance"


# What the benchmarks time: "wall" (time.perf_counter, the default) or "cpu" (the
# thread's CPU seconds: CPU_CLOCK_PRELUDE, put first in a program, makes
# time.perf_counter read clock_gettime(CLOCK_THREAD_CPUTIME_ID), so that the shim's and
# the benchmarks' own timings follow it; in eryx's guest that is the host thread's CPU
# time (src/wasi), so that variants of one runtime compare on a loaded machine:
# suite.py --clock, engine_levers.py --clock). Not time.process_time: in a WASI guest
# that is wasi-libc's emulated clock(), which follows wall time.
CLOCK = "wall"
CPU_CLOCK_PRELUDE = ("import time as _t\n"
                     "_t.perf_counter = lambda _c=_t.clock_gettime, _i=_t.CLOCK_THREAD_CPUTIME_ID: _c(_i)\n")


def program(name: str, loops: int | dict, *, sandboxed: bool, warmups: int = 1) -> str:
    """The source that runs bm_<name>/run_benchmark.py as __main__ with the shim as
    `pyperf`, from the unpacked wheel natively, and in a sandbox from the same folder
    mounted read-only at GUEST_DIR/bm_<name> (volumes()), so that the file's
    __file__-relative data (pyflate's) is found the same way."""
    bdir = benchmarks_dir() / f"bm_{name}"
    src = (bdir / "run_benchmark.py").read_text()
    base = f"{GUEST_DIR}/bm_{name}" if sandboxed else str(bdir)
    prelude = CPU_CLOCK_PRELUDE if CLOCK == "cpu" else ""
    return prelude + _TEMPLATE.format(shim=json.dumps(SHIM.read_text()), src=json.dumps(src), base=json.dumps(base),
                                      loops=repr(loops), warmups=int(warmups), mark=json.dumps(MARK))


def volumes(name: str) -> list[tuple[str, str, bool]]:
    """The sandbox's mount for program(name, sandboxed=True): (host, guest, read_only)."""
    return [(str(benchmarks_dir() / f"bm_{name}"), f"{GUEST_DIR}/bm_{name}", True)]


_TEMPLATE = '''\
import json as _json, os as _os, sys as _sys, types as _types
_shim = _types.ModuleType("pyperf")
_shim.__file__ = "pyperf_shim.py"
exec(compile({shim}, "pyperf_shim.py", "exec"), _shim.__dict__)
_shim.LOOPS = {loops}
_shim.WARMUPS = {warmups}
_old = {{k: _sys.modules.get(k) for k in ("pyperf", "__main__")}}
_old_argv = list(getattr(_sys, "argv", []) or [])
_base = {base}
_main = _types.ModuleType("__main__")
_main.__file__ = _os.path.join(_base, "run_benchmark.py")
_sys.modules["pyperf"] = _shim
_sys.modules["__main__"] = _main
_sys.argv = [_main.__file__]
try:
    exec(compile({src}, _main.__file__, "exec"), _main.__dict__)
finally:
    _sys.argv = _old_argv
    for _k, _v in _old.items():
        if _v is None:
            _sys.modules.pop(_k, None)
        else:
            _sys.modules[_k] = _v
if not _shim.RESULTS:
    raise RuntimeError("the benchmark file registered no benchmark")
print({mark} + _json.dumps({{"results": _shim.RESULTS, "version": _sys.version.split()[0]}}))
'''


def parse(stdout: str) -> dict:
    """The results line a program printed (the last line starting with MARK)."""
    for line in reversed(stdout.splitlines()):
        if line.startswith(MARK):
            return json.loads(line[len(MARK):])
    raise ValueError("no results line in the output")
