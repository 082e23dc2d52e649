"""The floor for bench/mcp_bench.py: an MCP server on the same SDK stack as ours
(MCPServer; stdio, or streamable HTTP under uvicorn with --http) whose run_python
runs the code natively with exec() in this process, in one namespace, NO SANDBOX:
what the protocol stack alone costs a call, so the rest is the sandbox's. Only for
the benchmark, on loopback.

    python bench/mcp_floor_server.py [--http]    (--http: 127.0.0.1, a port the OS picks)
"""
from __future__ import annotations

import contextlib
import io
import socket
import sys

import anyio
from mcp.server import MCPServer

server = MCPServer("floor", log_level="WARNING")
namespace: dict = {"__name__": "__main__"}


@server.tool()
async def run_python(code: str, session_id: str | None = None) -> str:
    """Runs code here, natively; its stdout is the result."""
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(code, "<run_python>", "exec"), namespace)
    return out.getvalue()


async def serve_http() -> None:
    import uvicorn

    app = server.streamable_http_app(host="127.0.0.1")
    # IPPROTO_TCP so asyncio sets TCP_NODELAY on the connections (as our server does)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.bind(("127.0.0.1", 0))
    sock.listen(128)
    sock.setblocking(False)
    print(f"floor: listening on http://127.0.0.1:{sock.getsockname()[1]}/mcp", file=sys.stderr, flush=True)
    await uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="on")).serve(sockets=[sock])


if __name__ == "__main__":
    if "--http" in sys.argv[1:]:
        anyio.run(serve_http)
    else:
        server.run(transport="stdio")
