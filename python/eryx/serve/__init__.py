"""python -m eryx serve: eryx as an MCP server (issue 19; docs/MCP.md).

main() parses the flags (_args), makes the state directory, and runs the
server (_server: the tools and transports; _sessions: the session table,
eviction and queue; _files: file transfer) until stdin closes (stdio) or the
process is interrupted (HTTP).
"""
from __future__ import annotations

import os
import signal
import sys
import tempfile


def main(argv: list[str] | None = None) -> int:
    from ._args import config
    from ._files import remove_tree

    cfg = config(argv)
    try:
        import anyio

        from ._server import Server
        from ._sessions import ServeError
    except ImportError as e:  # the SDK is an optional dependency of the module
        print(f"eryx serve: the MCP SDK is not installed ({e}); pip install mcp==2.3.0", file=sys.stderr)
        return 1
    own = cfg.state_dir is None
    state_dir = tempfile.mkdtemp(prefix="eryx-serve-") if own else cfg.state_dir
    assert state_dir is not None

    signalled = False

    def terminate(signum: int, frame: object) -> None:
        # Once: a second signal would interrupt the unwinding (executions cancelled, the pool
        # joined, the state dir removed) halfway.
        nonlocal signalled
        signalled = True
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        raise KeyboardInterrupt  # unwinds the server: sessions closed, the state dir removed

    old = signal.signal(signal.SIGTERM, terminate)
    old_int = signal.signal(signal.SIGINT, terminate)
    interrupted = False
    try:
        try:
            server = Server(cfg, state_dir)
        except ServeError as e:
            print(f"eryx serve: {e}", file=sys.stderr)
            return 2
        anyio.run(server.serve)
        return 0
    except KeyboardInterrupt:
        interrupted = True
        return 0
    except BaseExceptionGroup as group:
        # A task group may wrap the handler's KeyboardInterrupt: still a signal's exit, and the
        # handlers must stay ignored (restoring the default let a second SIGTERM kill us).
        if not signalled or group.subgroup(KeyboardInterrupt) is None:
            raise
        interrupted = True
        return 0
    finally:
        interrupted = interrupted or signalled
        if cfg.mcp is not None:
            cfg.mcp.close()
        if own:
            remove_tree(state_dir)  # not shutil.rmtree: a guest can nest /data past its recursion
        if not interrupted:  # else the process is ending: a second signal stays ignored to the end
            signal.signal(signal.SIGTERM, old)
            signal.signal(signal.SIGINT, old_int)
        if interrupted and cfg.http is None:
            # The SDK's stdin reader thread stays blocked in read() and the interpreter
            # would wait for it at exit: everything is closed, so leave now.
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(0)
