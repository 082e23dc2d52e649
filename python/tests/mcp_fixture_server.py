"""A small stdio MCP server for the MCPManager tests (python/tests/test_mcp_manager.py),
written with the official SDK's MCPServer. Run as `python mcp_fixture_server.py`.

Its tools cover each result mapping of eryx.mcp: structured output (add), plain
text (greet), JSON text (config), non-text content (pixel), a tool error (fail), a
protocol error (protocol_error), a slow tool (slow: sleeps the given seconds),
names that are not identifiers (text.upper, word-count); and misbehaviour: a large
answer (big), stdout garbage (noise), a crash mid-call (die), requests of its own
sent without reading stdin (flood). `--hang` never answers the handshake (a connect
timeout), `--no-tools` serves no tools. Environment:
FIXTURE_PID_FILE (it writes its pid there), FIXTURE_GREETING (greet's greeting).
"""
from __future__ import annotations

import json
import os
import sys
import time
from typing import TypedDict

import anyio
from mcp.server import MCPServer
from mcp.server.mcpserver import Image
from mcp.server.mcpserver.exceptions import ToolError
from mcp.shared.exceptions import MCPError


class Sum(TypedDict):
    sum: int
    a: int
    b: int


def _wire() -> int:
    # The SDK's stdio server points fd 1 at stderr while it serves (a tool's stray
    # output misses the wire); the misbehaving tools write to the wire's own fd.
    from mcp.server import stdio
    return stdio._claims[1].private_fd


def build(with_tools: bool = True) -> MCPServer:
    server = MCPServer("fixture")
    if not with_tools:
        return server

    @server.tool(description="Adds two integers (structured output).")
    def add(a: int, b: int) -> Sum:
        return {"sum": a + b, "a": a, "b": b}

    @server.tool(description="Greets someone (plain text).", structured_output=False)
    def greet(name: str) -> str:
        return f"{os.environ.get('FIXTURE_GREETING', 'Hello')}, {name}!"

    @server.tool(description="A configuration as JSON text.", structured_output=False)
    def config(key: str = "debug") -> str:
        return json.dumps({"key": key, "values": [1, 2, 3], "on": True})

    @server.tool(description="A 1x1 PNG (image content).", structured_output=False)
    def pixel() -> Image:
        return Image(data=bytes.fromhex("89504e470d0a1a0a"), format="png")

    @server.tool(description="Always fails with the given message.", structured_output=False)
    def fail(message: str = "the fixture failed") -> str:
        raise ToolError(message)  # isError with the message (another exception hides it)

    @server.tool(description="Fails with a JSON-RPC error (a protocol error).", structured_output=False)
    def protocol_error(message: str = "bad request") -> str:
        raise MCPError(code=-32602, message=message)

    @server.tool(description="Sleeps the given seconds, then answers.", structured_output=False)
    async def slow(seconds: float) -> str:
        await anyio.sleep(seconds)
        return f"slept {seconds}"

    @server.tool(name="text.upper", description="Upper-cases text (a dotted name).", structured_output=False)
    def upper(text: str) -> str:
        return text.upper()

    @server.tool(name="word-count", description="Counts words (a dashed name).")
    def word_count(text: str) -> dict:
        return {"words": len(text.split())}

    @server.tool(description="Answers n bytes of text (a large answer).", structured_output=False)
    def big(n: int) -> str:
        return "x" * n

    @server.tool(description="Writes lines that are not JSON-RPC to stdout, then answers.", structured_output=False)
    def noise() -> str:
        os.write(_wire(), b"not json\n{\"jsonrpc\": \"2.0\"}\n\xff\xfe\n")
        return "after the noise"

    @server.tool(description="Exits at once, in the middle of the call.", structured_output=False)
    def die() -> str:
        os._exit(3)

    @server.tool(description="Sends n ping requests of its own while not reading its stdin.",
                 structured_output=False)
    async def flood(n: int) -> str:
        # Written by hand on purpose: a misbehaving server, which the SDK's API would not make.
        data = b"".join(b'{"jsonrpc": "2.0", "id": "flood-%d", "method": "ping"}\n' % i for i in range(n))
        while data:
            data = data[os.write(_wire(), data):]
        time.sleep(10)  # the event loop, and so its stdin reader, held
        return "flooded"

    return server


def main(argv: list[str]) -> None:
    if os.environ.get("FIXTURE_PID_FILE"):  # the tests check the process is gone after close
        with open(os.environ["FIXTURE_PID_FILE"], "w") as f:
            f.write(str(os.getpid()))
    if "--hang" in argv:  # never answers: MCPManager.connect's timeout
        sys.stdin.read()
        time.sleep(3600)
        return
    build(with_tools="--no-tools" not in argv).run("stdio")


if __name__ == "__main__":
    main(sys.argv[1:])
