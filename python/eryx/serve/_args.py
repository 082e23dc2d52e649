"""The flags of `python -m eryx serve` and the ServeConfig they make.

The sandbox flags (-v, --max-memory, the network ones) reuse the parsers of
`python -m eryx` (eryx/__main__.py); the server's own flags (sessions, eviction,
queue, files, transports) are defined here. docs/MCP.md lists them all.
"""
from __future__ import annotations

import argparse
import os
import re
import sys
from dataclasses import dataclass, field
from typing import Any

from .. import __version__
from .. import __main__ as cli
from .._core import _DEFAULT_MAX_MEMORY, _DEFAULT_TIMEOUT_MS
from ..mcp import add_arguments as add_mcp_arguments, manager_from_arguments

_DURATION = re.compile(r"^\s*([0-9]*\.?[0-9]+)\s*(ms|s|m)?\s*$")


def _duration(text: str, unit_s: float, examples: str) -> float:
    """text in units of unit_s seconds (a bare number is one unit)."""
    m = _DURATION.match(text)
    if not m:
        raise argparse.ArgumentTypeError(f"{text!r} is not a duration like {examples}")
    return float(m.group(1)) * {"ms": 0.001, None: unit_s, "s": 1, "m": 60}[m.group(2)] / unit_s


# --timeout reads as python -m eryx's: 500ms, 2s, 1.5m, or a bare whole number of
# milliseconds; 0: none. One parser, so "0.3" is refused in both (not read as 0 ms).
timeout_ms = cli._timeout_ms


def seconds(text: str) -> float:
    """A positive number of seconds (a bare number, or with s, m or ms)."""
    value = _duration(text, 1, "300, 5m or 500ms")
    if not 0 < value < 1e9:
        raise argparse.ArgumentTypeError(f"{text!r} must be a positive duration")
    return value


def host_port(text: str) -> tuple[str, int]:
    host, sep, port = text.rpartition(":")
    host = host.strip("[]")  # [::1]:8000
    if not sep or not host or not port.isdigit() or not 0 <= int(port) < 65536:
        raise argparse.ArgumentTypeError(f"{text!r} is not HOST:PORT (like 127.0.0.1:8000; port 0: any free one)")
    return host, int(port)


@dataclass
class ServeConfig:
    """Everything the server needs, from the flags (or made directly in tests)."""

    timeout_ms: int | None = _DEFAULT_TIMEOUT_MS
    max_memory: int | None = _DEFAULT_MAX_MEMORY
    max_output: int = 1 << 20
    max_fuel: int | None = None
    volumes: list[Any] = field(default_factory=list)
    packages: list[str] = field(default_factory=list)
    imports: list[str] = field(default_factory=list)
    network: Any = None
    secrets: dict[str, Any] | None = None
    scrub: dict[str, bool] = field(default_factory=dict)
    max_sessions: int = 64
    session_idle_s: float = 600.0
    max_evicted_bytes: int = 1 << 30
    workers: int = os.cpu_count() or 1
    max_queue: int = 64
    max_file_bytes: int = 1 << 20
    data_max_bytes: int = 64 << 20
    data_max_files: int = 1000
    state_dir: str | None = None
    http: tuple[str, int] | None = None
    stateless: bool = False
    mcp: Any = None  # an eryx.mcp.MCPManager, or None


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        # the console script says its own name in usage and errors
        prog="eryx-serve" if os.path.basename(sys.argv[0]) == "eryx-serve" else "python -m eryx serve",
        allow_abbrev=False,
        description="An MCP server (stdio, or streamable HTTP with --http) whose run_python tool runs Python "
                    "in the eryx sandbox, one persistent session per MCP session and session_id. docs/MCP.md.")
    s = p.add_argument_group("sandbox limits (each applies to every session)")
    s.add_argument("--timeout", type=timeout_ms, metavar="T", default=_DEFAULT_TIMEOUT_MS,
                   help="wall-clock limit of one run_python call: 500ms, 2s, or a bare number of milliseconds "
                        "(default 30s; 0: none); a call's timeout_ms may ask for less, never more")
    s.add_argument("--max-memory", type=cli._size, metavar="SIZE", default=_DEFAULT_MAX_MEMORY,
                   help="each session's guest memory cap (default 128M)")
    s.add_argument("--max-output", type=cli._size, metavar="SIZE", default=1 << 20,
                   help="bytes of stdout (and of stderr) kept per call; past it the call stops (default 1M)")
    s.add_argument("--max-fuel", type=cli._positive, metavar="N", help="instruction budget per call (off by default)")
    s.add_argument("-v", "--volume", type=cli._volume, action="append", default=[],
                   metavar="HOST:GUEST[:ro|:rw[,quota=SIZE][,files=N]]",
                   help="grant a host directory to every session (repeatable; shared by all of them)")
    s.add_argument("--package", action="append", default=[], metavar="PATH",
                   help="a wheel or source tree importable in every session (repeatable)")
    s.add_argument("--import", dest="imports", action="append", default=[], metavar="MODULE",
                   help="import MODULE once at start-up, in every session's initial state (repeatable)")
    cli._add_network_arguments(p)
    v = p.add_argument_group("sessions, eviction and queue")
    v.add_argument("--max-sessions", type=cli._positive, default=64, metavar="N",
                   help="sessions kept live in memory; beyond it the least recently used idle one is evicted "
                        "to disk (default 64)")
    v.add_argument("--session-idle-s", type=seconds, default=600.0, metavar="S",
                   help="a session idle this long is evicted to disk (default 600)")
    v.add_argument("--max-evicted-bytes", type=cli._size, default=1 << 30, metavar="SIZE",
                   help="bound of the evicted sessions' snapshots and files on disk; beyond it the oldest "
                        "evicted sessions are discarded (default 1G)")
    v.add_argument("--workers", type=cli._positive, default=os.cpu_count() or 1, metavar="N",
                   help="executions run in parallel (default: the CPU count)")
    v.add_argument("--max-queue", type=int, default=64, metavar="N",
                   help="calls waiting for a worker or their session; beyond it a call fails as busy (default 64)")
    f = p.add_argument_group("files (each session's /data)")
    f.add_argument("--max-file-bytes", type=cli._size, default=1 << 20, metavar="SIZE",
                   help="largest file put_file takes or get_file returns (default 1M)")
    f.add_argument("--data-quota", type=cli._size, default=64 << 20, metavar="SIZE",
                   help="bytes a session's /data may hold (default 64M)")
    f.add_argument("--data-files", type=cli._positive, default=1000, metavar="N",
                   help="files a session's /data may hold (default 1000)")
    f.add_argument("--state-dir", metavar="DIR",
                   help="where sessions' /data and snapshots live (default: a private temporary directory "
                        "removed at exit)")
    t = p.add_argument_group("transport (stdio unless --http)")
    t.add_argument("--http", type=host_port, metavar="HOST:PORT",
                   help="serve streamable HTTP at http://HOST:PORT/mcp instead of stdio")
    t.add_argument("--stateless", action="store_true",
                   help="with --http: the SDK's stateless mode (no MCP sessions: session_id is the only state)")
    add_mcp_arguments(p)  # --mcp, --mcp-config FILE (eryx.mcp's, docs/MCP-TOOLS.md)
    p.add_argument("--version", action="version", version=f"eryx {__version__} (python module; MCP server)")
    return p


def config(argv: list[str] | None) -> ServeConfig:
    """Parses argv (exits with status 2 on a usage error, as argparse does)."""
    p = parser()
    opts = p.parse_args(argv)
    if opts.stateless and opts.http is None:
        p.error("--stateless needs --http (stdio is one client per process)")
    if opts.max_queue < 0:
        p.error("--max-queue must be >= 0")
    try:
        network = cli._network(opts)
    except OSError as e:
        p.error(f"--root-cert: cannot read {e.filename}: {e.strerror}")
    except ValueError as e:
        p.error(str(e))
    if opts.state_dir is not None:
        os.makedirs(opts.state_dir, mode=0o700, exist_ok=True)
    errors: list[str] = []
    manager = manager_from_arguments(opts, errors=errors)  # a server that fails is said, the rest serve
    for err in errors:
        print(f"eryx serve: mcp: {err}", file=sys.stderr)
    return ServeConfig(
        timeout_ms=opts.timeout or None, max_memory=opts.max_memory, max_output=opts.max_output,
        max_fuel=opts.max_fuel, volumes=[(os.path.abspath(v[0]), *v[1:]) for v in opts.volume],
        packages=[os.path.abspath(x) for x in opts.package], imports=opts.imports, network=network,
        secrets=dict(opts.secret) or None, scrub=opts.scrub or {}, max_sessions=opts.max_sessions,
        session_idle_s=opts.session_idle_s, max_evicted_bytes=opts.max_evicted_bytes, workers=opts.workers,
        max_queue=opts.max_queue, max_file_bytes=opts.max_file_bytes, data_max_bytes=opts.data_quota,
        data_max_files=opts.data_files, state_dir=opts.state_dir, http=opts.http, stateless=opts.stateless,
        mcp=manager)
