"""python -m eryx: pyeryx 0.11's CLI (its flags and their meanings), plus the eryx CLI's extras.

    python -m eryx serve [...]: the MCP server (python -m eryx serve --help; docs/MCP.md)
    python -m eryx [-c CODE | SCRIPT [ARGS...] | -] (piped stdin: read whole, run once;
        a terminal: interactive)
        [--timeout T] [--max-memory SIZE] [-v SRC:DST[:ro|:rw[,quota=SIZE][,files=N]]]...
        [--net] [--allow-host PATTERN]... [--block-host PATTERN]... [--allow-network CIDR]...
        [--block-network CIDR]... [--allow-localhost] [--root-cert FILE]... [--secret NAME=ENVVAR[@HOST,...]]...
        [--scrub WHAT] [--net-max-connections N] [--net-connect-timeout T] [--net-io-timeout T]
        [--mcp] [--mcp-config FILE]... [--version]

--timeout: a bare number is milliseconds (pyeryx's), or 500ms, 2s, 1.5m; 0: none.
Exit status as pyeryx's: 0; 1 on every error (an uncaught exception or a non-zero
SystemExit, a timeout, a limit, a sandbox that could not be made, an unreadable
script); 2 for a bad command line. docs/CLI.md.
"""
from __future__ import annotations

import argparse
import codeop
import os
import re
import sys

from . import (CancelledError, EryxError, ExecutionError, ResourceLimitError, ResourceLimits, Sandbox, Session,
               TimeoutError, __version__)
from ._core import _Config
from .mcp import add_arguments as _add_mcp_arguments, manager_from_arguments as _mcp_manager
from ._net import NetConfig


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


_TIMEOUT = re.compile(r"([0-9]+(?:\.[0-9]*)?|\.[0-9]+)(ms|s|m)?")


def _timeout_ms(text: str) -> int:
    """--timeout: a bare whole number of milliseconds (pyeryx 0.11's unit; the eryx CLI
    refuses a bare number, so the two never read one differently), or a number with
    ms, s or m; 0 means no timeout."""
    t = text.strip()
    m = _TIMEOUT.fullmatch(t)
    if not m:
        raise argparse.ArgumentTypeError(f"{text!r} is not a timeout: milliseconds (5000), or 500ms, 2s, 1.5m")
    number, unit = m.groups()
    if unit is None and not number.isdigit():
        raise argparse.ArgumentTypeError(f"{text!r}: a bare --timeout is whole milliseconds; for seconds write "
                                         f"{number}s")
    ms = float(number) * {None: 1, "ms": 1, "s": 1000, "m": 60000}[unit]
    if ms >= 1e12:
        raise argparse.ArgumentTypeError(f"{text!r} is too long a timeout")
    if 0 < ms < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is under a millisecond (0 means no timeout)")
    return round(ms)


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


def _secret(text: str) -> tuple[str, dict]:
    name, eq, rest = text.partition("=")
    var, _, hosts = rest.partition("@")
    if not name or not eq or not var:
        raise argparse.ArgumentTypeError(f"{text!r} is not NAME=ENVVAR[@HOST,...]")
    value = os.environ.get(var)
    if not value:
        raise argparse.ArgumentTypeError(f"{text!r}: the environment variable {var} is "
                                         f"{'empty' if value == '' else 'not set'}")
    return name, {"value": value, "allowed_hosts": [h for h in hosts.split(",") if h]}


_SCRUB_WORDS = ("stdout", "stderr", "files", "result")


def _scrub(text: str) -> dict[str, bool]:
    words = {w for w in text.split(",") if w}
    if not words <= {*_SCRUB_WORDS, "all", "none"}:
        raise argparse.ArgumentTypeError(f"{text!r}: a comma list of stdout, stderr, files, result (or all, none)")
    return {f"scrub_{w}": "all" in words or w in words for w in _SCRUB_WORDS}


def _positive(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number >= 1")
    return int(text)


def _duration_ms(text: str) -> int:
    t = text.strip()
    try:
        v = float(t[:-2]) if t.endswith("ms") else float(t.removesuffix("s")) * 1000
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a duration like 5, 0.5 or 250ms") from None
    if not 0 <= v < 1e15:  # NaN and infinity fail too
        raise argparse.ArgumentTypeError(f"{text!r} must be a finite duration >= 0")
    return int(v)


def _network(opts: argparse.Namespace) -> NetConfig | None:
    """The options' NetConfig; None when no network option was given."""
    wanted = (opts.net or opts.allow_host or opts.block_host or opts.allow_network or opts.block_network
              or opts.allow_localhost or opts.root_cert or opts.secret or opts.net_max_connections is not None
              or opts.net_connect_timeout is not None or opts.net_io_timeout is not None)
    if not wanted:
        return None
    net = NetConfig(blocked_hosts=[])  # as the CLI: the blocked networks do the blocking
    if opts.allow_localhost:
        net.allow_localhost()
    for h in opts.allow_host:
        net.allow_host(h)
    for h in opts.block_host:
        net.block_host(h)
    for c in opts.allow_network:
        net.allow_network(c)
    net.blocked_networks = net.blocked_networks + opts.block_network
    for path in opts.root_cert:
        with open(path, "rb") as f:
            net.with_root_cert(f.read())
    if opts.net_max_connections is not None:
        net.max_connections = opts.net_max_connections
    if opts.net_connect_timeout is not None:
        net.connect_timeout_ms = opts.net_connect_timeout
    if opts.net_io_timeout is not None:
        net.io_timeout_ms = opts.net_io_timeout
    return net


def _add_network_arguments(p: argparse.ArgumentParser) -> None:
    """The network flags (shared with python -m eryx serve)."""
    n = p.add_argument_group("network (off unless one of these is given; as the eryx CLI's, docs/NETWORK.md)")
    n.add_argument("--net", action="store_true", help="let the code open TCP connections to public hosts")
    for flag, what in (("--allow-host", "reach only hosts matching PATTERN (a glob)"),
                       ("--block-host", "never reach hosts matching PATTERN")):
        n.add_argument(flag, action="append", default=[], metavar="PATTERN", help=what + "; repeatable")
    n.add_argument("--allow-network", action="append", default=[], metavar="CIDR",
                   help="exempt CIDR from the blocked ranges; repeatable")
    n.add_argument("--block-network", action="append", default=[], metavar="CIDR",
                   help="block CIDR too (added to the default non-public ranges); repeatable")
    n.add_argument("--allow-localhost", action="store_true", help="let the code reach 127.0.0.0/8, ::1, localhost")
    n.add_argument("--root-cert", action="append", default=[], metavar="FILE",
                   help="trust the root certificate(s) in FILE (PEM or DER); repeatable")
    n.add_argument("--secret", action="append", default=[], type=_secret, metavar="NAME=ENVVAR[@HOST,...]",
                   help="$NAME is a placeholder in the sandbox; $ENVVAR's value is sent in its place to HOST only")
    n.add_argument("--scrub", type=_scrub, metavar="WHAT",
                   help="comma list of stdout, stderr, files, result (or all, none); default stdout,stderr,files")
    n.add_argument("--net-max-connections", type=_positive, metavar="N", help="connections open at once (10)")
    n.add_argument("--net-connect-timeout", type=_duration_ms, metavar="T", help="connect timeout (30; 0: none)")
    n.add_argument("--net-io-timeout", type=_duration_ms, metavar="T", help="read/write timeout (60; 0: none)")


_EPILOG = """\
exit status: 0; 1 on every error (an uncaught exception or a non-zero
SystemExit, a timeout, a limit, a sandbox that could not be made, an
unreadable script); 2 for a bad command line. Piped stdin is read whole
and run once. docs/CLI.md."""


def _parser() -> argparse.ArgumentParser:
    # No abbreviations: a script's own "--b" must not be taken for --block-host.
    p = argparse.ArgumentParser(prog="python -m eryx", description="Run Python in the eryx sandbox.",
                                allow_abbrev=False, epilog=_EPILOG,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    source = p.add_mutually_exclusive_group()  # as pyeryx's: -c or a script, never both
    source.add_argument("-c", dest="code", metavar="CODE", help="the code to run")
    source.add_argument("script", nargs="?", help="a script to run (its arguments after it), or - for stdin")
    p.add_argument("--timeout", type=_timeout_ms, metavar="T",
                   help="wall-clock limit of the execution: a bare number is milliseconds (as pyeryx), "
                        "or 500ms, 2s, 1.5m; 0: none (the default)")
    p.add_argument("--max-memory", type=_size, metavar="SIZE",
                   help="the guest's memory cap: bytes (as pyeryx), or 256M, 1G (default 128M)")
    p.add_argument("-v", "--volume", type=_volume, action="append", default=[],
                   metavar="SRC:DST[:ro|:rw[,quota=SIZE][,files=N]]",
                   help="mount the host directory SRC at DST (repeatable; read-write unless :ro); quota= and "
                        "files= bound what the code adds to it")
    _add_network_arguments(p)
    _add_mcp_arguments(p)  # --mcp, --mcp-config FILE: MCP tools in the sandbox (docs/MCP-TOOLS.md)
    p.add_argument("--version", action="version", version=f"eryx {__version__} (python module)")
    p.add_argument("args", nargs=argparse.REMAINDER, help=argparse.SUPPRESS)
    return p


def _write(stream):  # type: ignore[no-untyped-def]
    """An on_stdout/on_stderr that passes each write's bytes through at once."""
    buf = getattr(stream, "buffer", None)

    def w(chunk: bytes) -> None:
        if buf is not None:
            stream.flush()  # text of ours (a prompt, a message) first, in order
            buf.write(chunk)
            buf.flush()
        else:  # a replaced sys.stdout without a binary buffer
            stream.write(chunk.decode("utf-8", "replace"))
            stream.flush()
    return w


def _interactive(volumes: list, limits: ResourceLimits, net: dict, mcp: object = None) -> int:
    """A terminal's session: each complete statement runs as it is entered."""
    session = Session(volumes=volumes or None, execution_timeout_ms=limits.execution_timeout_ms,
                      max_memory_bytes=limits.max_memory_bytes, on_stdout=_write(sys.stdout),
                      on_stderr=_write(sys.stderr), mcp=mcp, **net)
    lines: list[str] = []
    while True:
        try:
            line = input("... " if lines else ">>> ")
        except EOFError:
            if not lines:
                print()
                return 0
            line = ""
        except KeyboardInterrupt:
            print()
            lines = []
            continue
        lines.append(line)
        src = "\n".join(lines)
        try:
            done = codeop.compile_command(src, "<stdin>", "single") is not None
        except (SyntaxError, OverflowError, ValueError):
            done = True  # the guest reports the error
        if not done and line != "":
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


def _failed(e: EryxError, timeout_arg: str | None) -> int:
    """Says why the run failed, as pyeryx's CLI does; every error is exit status 1."""
    if isinstance(e, ExecutionError):
        return 1  # the traceback (or nothing, for SystemExit) was streamed to stderr
    if isinstance(e, TimeoutError):
        hint = ""
        t = (timeout_arg or "").strip()
        if t.isdigit() and int(t) < 1000:  # perhaps meant as seconds (this CLI's unit before issue 20)
            hint = f" (--timeout {t} is milliseconds; {t}s would be seconds)"
        print(f"eryx: timeout: {e}{hint}", file=sys.stderr)
    elif isinstance(e, ResourceLimitError):
        print(f"eryx: resource limit: {e}", file=sys.stderr)
    else:
        print(f"eryx: {e}", file=sys.stderr)
    return 1


def _timeout_arg(argv: list[str]) -> str | None:
    """The --timeout value as typed (for the hint when it was a bare number)."""
    for i, a in enumerate(argv):
        if a == "--timeout" and i + 1 < len(argv):
            return argv[i + 1]
        if a.startswith("--timeout="):
            return a[len("--timeout="):]
        if a in ("-c", "--"):  # what follows is not ours
            break
    return None


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if args[:1] == ["serve"]:  # python -m eryx serve: the MCP server (a script named serve: ./serve)
        from .serve import main as serve_main
        return serve_main(args[1:])
    parser = _parser()
    opts = parser.parse_args(args)
    if opts.code is not None and opts.args:
        parser.error(f"-c and a script are mutually exclusive (after -c CODE: {' '.join(opts.args)})")
    limits = ResourceLimits()
    limits.execution_timeout_ms = opts.timeout or None  # none unless asked (0: none)
    if opts.max_memory:
        limits.max_memory_bytes = opts.max_memory
    volumes = [(os.path.abspath(v[0]), *v[1:]) for v in opts.volume]
    code = opts.code
    # sys.argv as python sets it: ['-c'], [SCRIPT, ARGS...], or ['-', ARGS...] for stdin (as the eryx CLI)
    argv = ["-c"] if code is not None else [opts.script or "-"] + opts.args
    if code is None and opts.script is not None:
        if opts.script == "-":
            code = sys.stdin.read()
        else:
            try:
                with open(opts.script, encoding="utf-8") as f:
                    code = f.read()
            except OSError as e:
                print(f"eryx: {opts.script}: {e.strerror}", file=sys.stderr)
                return 1
            except UnicodeDecodeError as e:
                print(f"eryx: {opts.script}: not UTF-8 ({e.reason} at byte {e.start})", file=sys.stderr)
                return 1
    elif code is None and not sys.stdin.isatty():
        code = sys.stdin.read()  # piped: the whole input, run once (as pyeryx)
        if not code.strip():
            parser.print_help()
            return 0
    mcp_errors: list[str] = []
    manager = _mcp_manager(opts, errors=mcp_errors)  # the servers' failures are printed, the run goes on
    for err in mcp_errors:
        print(f"eryx: mcp: {err}", file=sys.stderr)
    try:
        try:
            network = _network(opts)
        except OSError as e:
            print(f"eryx: --root-cert: cannot read {e.filename}: {e.strerror}", file=sys.stderr)
            return 2
        except ValueError as e:  # a CIDR or pattern NetConfig refuses: a usage error, as in the CLI
            print(f"eryx: {e}", file=sys.stderr)
            return 2
        scrub = opts.scrub or {}
        net = {"network": network, "secrets": dict(opts.secret) or None, **scrub}
        if code is None:
            return _interactive(volumes, limits, net, manager)
        sandbox = Sandbox._from_config(_Config(limits=limits, callbacks=None, volumes=volumes or None,
                                               on_stdout=_write(sys.stdout), on_stderr=_write(sys.stderr),
                                               result_variable=None, network=network, secrets=net["secrets"],
                                               argv=argv, scrub=tuple(scrub.get(f"scrub_{w}") for w in
                                                                      ("stdout", "stderr", "files", "result")),
                                               mcp=manager))
        sandbox.execute(code)
        return 0
    except EryxError as e:
        return _failed(e, _timeout_arg(args))
    except ValueError as e:  # an argument the sandbox refused (a volume that is not a directory, ...)
        print(f"eryx: {e}", file=sys.stderr)
        return 1
    finally:
        if manager is not None:
            manager.close()


if __name__ == "__main__":
    sys.exit(main())
