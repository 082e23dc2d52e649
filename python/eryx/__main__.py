"""python -m eryx: the eryx CLI's common options, over the Python module.

    python -m eryx -c CODE | SCRIPT [ARGS...] | - (stdin) | (nothing: interactive)
        [--timeout SECONDS] [--max-memory SIZE] [-v HOST:GUEST[:ro|:rw[,quota=SIZE][,files=N]]]...
        [--version]

Exit status as the CLI's: 0, 1 (an uncaught exception; its traceback on stderr),
2 (usage), 3 (the sandbox could not be made), 124 (timeout), 125 (memory limit).
"""
from __future__ import annotations

import argparse
import codeop
import os
import sys

from . import (CancelledError, ExecutionError, InitializationError, ResourceLimitError, ResourceLimits, Sandbox,
               Session, TimeoutError, __version__)
from ._core import _Config


def _size(text: str) -> int:
    units = {"K": 1 << 10, "M": 1 << 20, "G": 1 << 30}
    t = text.strip().upper().removesuffix("B").removesuffix("I")
    mult = units.get(t[-1:], 1)
    num = t[:-1] if t[-1:] in units else t
    try:
        value = int(float(num) * mult)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a size (like 256M)") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"{text!r} must be positive")
    return value


def _seconds(text: str) -> float:
    try:
        v = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds") from None
    if v <= 0:
        raise argparse.ArgumentTypeError(f"{text!r} must be positive")
    return v


def _volume(text: str) -> tuple:
    parts = text.split(":")
    ro, quota = False, {}
    if len(parts) == 3 and parts[2].split(",")[0] in ("ro", "rw"):
        mode, *options = parts[2].split(",")
        ro = mode == "ro"
        parts = parts[:2]
        for o in options:  # rw,quota=SIZE,files=N: as the CLI's --mount
            key, _, value = o.partition("=")
            if key == "quota" and not ro:
                quota["max_bytes"] = _size(value)
            elif key == "files" and not ro and value.isdigit() and int(value) > 0:
                quota["max_files"] = int(value)
            else:
                raise argparse.ArgumentTypeError(f"{text!r}: a volume's options are quota=SIZE and files=N, after :rw")
    if len(parts) != 2 or not parts[0] or not parts[1].startswith("/"):
        raise argparse.ArgumentTypeError(f"{text!r} is not HOST:GUEST[:ro] with an absolute GUEST path")
    return (parts[0], parts[1], ro, quota) if quota else (parts[0], parts[1], ro)


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m eryx", description="Run Python in the eryx sandbox.")
    p.add_argument("-c", dest="code", metavar="CODE", help="the code to run")
    p.add_argument("--timeout", type=_seconds, metavar="SECONDS", help="wall-clock limit of the execution")
    p.add_argument("--max-memory", type=_size, metavar="SIZE", help="the guest's memory cap (256M, 1G)")
    p.add_argument("-v", "--volume", type=_volume, action="append", default=[],
                   metavar="HOST:GUEST[:ro|:rw[,quota=SIZE][,files=N]]",
                   help="grant a host directory (repeatable); quota= and files= bound what the code adds to it")
    p.add_argument("--version", action="version", version=f"eryx {__version__} (python module)")
    p.add_argument("script", nargs="?", help="a script to run, or - for stdin")
    p.add_argument("args", nargs=argparse.REMAINDER, help=argparse.SUPPRESS)
    return p


def _write(stream):  # type: ignore[no-untyped-def]
    def w(text: str) -> None:
        stream.write(text)
        stream.flush()
    return w


def _interactive(volumes: list, limits: ResourceLimits) -> int:
    session = Session(volumes=volumes or None, execution_timeout_ms=limits.execution_timeout_ms,
                      max_memory_bytes=limits.max_memory_bytes, on_stdout=_write(sys.stdout),
                      on_stderr=_write(sys.stderr))
    tty = sys.stdin.isatty()
    lines: list[str] = []
    while True:
        try:
            line = input("... " if lines else ">>> ") if tty else sys.stdin.readline()
        except EOFError:
            line = None
        except KeyboardInterrupt:
            print()
            lines = []
            continue
        if line is None or (not tty and line == ""):
            if not lines:
                return 0
            line = ""
        lines.append(line.rstrip("\n"))
        src = "\n".join(lines)
        try:
            done = codeop.compile_command(src, "<stdin>", "single") is not None
        except (SyntaxError, OverflowError, ValueError):
            done = True  # the guest reports the error
        if not done and line is not None and (line != "" or not tty and lines[-1] != ""):
            continue
        lines = []
        if not src.strip():
            continue
        try:
            session.execute(src)
        except ExecutionError:
            pass  # the traceback was streamed to stderr
        except (TimeoutError, ResourceLimitError, CancelledError) as e:
            print(f"eryx: {e}", file=sys.stderr)


def main(argv: list[str] | None = None) -> int:
    opts = _parser().parse_args(argv)
    limits = ResourceLimits()
    limits.execution_timeout_ms = int(opts.timeout * 1000) if opts.timeout else None
    if opts.max_memory:
        limits.max_memory_bytes = opts.max_memory
    volumes = [(os.path.abspath(v[0]), *v[1:]) for v in opts.volume]
    code = opts.code
    # sys.argv as python sets it: ['-c', ARGS...], [SCRIPT, ARGS...] or ['-', ARGS...]
    if opts.code is not None:
        argv = ["-c"] + ([opts.script] if opts.script is not None else []) + opts.args
    else:
        argv = [opts.script or ""] + opts.args
    if code is None and opts.script is not None:
        if opts.script == "-":
            code = sys.stdin.read()
        else:
            try:
                with open(opts.script, encoding="utf-8") as f:
                    code = f.read()
            except OSError as e:
                print(f"eryx: cannot read {opts.script}: {e.strerror}", file=sys.stderr)
                return 2
    try:
        if code is None:
            return _interactive(volumes, limits)
        sandbox = Sandbox._from_config(_Config(limits=limits, callbacks=None, volumes=volumes or None,
                                               on_stdout=_write(sys.stdout), on_stderr=_write(sys.stderr),
                                               result_variable=None, network=None, secrets=None, argv=argv))
        sandbox.execute(code)
        return 0
    except ExecutionError as e:
        return e.exit_code or 1
    except TimeoutError as e:
        print(f"eryx: {e}", file=sys.stderr)
        return 124
    except ResourceLimitError as e:
        print(f"eryx: {e}", file=sys.stderr)
        return 125
    except (InitializationError, ValueError) as e:
        print(f"eryx: {e}", file=sys.stderr)
        return 3


if __name__ == "__main__":
    sys.exit(main())
