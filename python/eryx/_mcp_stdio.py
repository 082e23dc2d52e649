"""The stdio transport MCPManager connects servers with (eryx/mcp.py): the MCP SDK's
stdio_client with a bounded reader.

The SDK's own reader (mcp 2.3.0, mcp/client/stdio.py) joins the chunks of a line
with `buffer + chunk` until a newline comes: a message of n bytes costs O(n^2)
copying (tens of seconds of a busy event loop for 16 MiB) and has no upper bound, so one server answering with a huge file stalls every
server of the manager and can exhaust the host's memory. This reader finds the
newlines in each chunk (linear) and ends the connection at the first message over
`limit` bytes, calling `on_overflow(why)` first. It also ends it when the server
has more than `max_requests` requests of its own (ping, roots/list, ...) that are
not answered yet: the SDK starts a task for each, and a server that sends them
without reading its stdin would pile up tasks without bound. Everything else is the SDK's: its
process start (own session, the whole tree killed at shutdown), message parsing,
flush and shutdown sequence are called, not rewritten. They are the SDK's private
helpers; the SDK is pinned by hash (python/requirements-mcp.txt), and
test_mcp_manager.py runs this transport against a real server.
"""
from __future__ import annotations

from contextlib import asynccontextmanager
from typing import Any, AsyncGenerator, Callable, TextIO


@asynccontextmanager
async def bounded_stdio_client(server: Any, errlog: TextIO, limit: int, max_requests: int,
                               on_overflow: Callable[[str], None]) -> AsyncGenerator[Any, None]:
    import anyio
    import anyio.lowlevel
    from mcp.client import stdio as sdk
    from mcp.shared.message import SessionMessage
    from mcp_types import JSONRPCError, JSONRPCRequest, JSONRPCResponse

    process = await sdk._create_platform_compatible_process(
        command=server.command, args=server.args, env=sdk.get_default_environment() | (server.env or {}),
        errlog=errlog, cwd=server.cwd)
    # No awaits until the task group is entered (a cancellation here would leak the process).
    read_writer, read_stream = anyio.create_memory_object_stream[SessionMessage | Exception](0)
    write_stream, write_reader = anyio.create_memory_object_stream[SessionMessage](0)
    writer_done = anyio.Event()
    unanswered = 0  # the server's requests whose answers are not written yet
    too_big = f"the server sent a message of more than {limit >> 20} MiB"

    async def stdout_reader() -> None:
        nonlocal unanswered
        parts: list[bytes] = []
        size = 0
        try:
            async with read_writer:
                try:
                    async for chunk in process.stdout:
                        start = 0
                        while (nl := chunk.find(b"\n", start)) >= 0:
                            size += nl - start
                            if size > limit:
                                on_overflow(too_big)
                                return
                            parts.append(chunk[start:nl])
                            line, parts, size, start = b"".join(parts), [], 0, nl + 1
                            message = sdk._parse_line(line.decode("utf-8", "replace"))
                            if isinstance(message, SessionMessage) and isinstance(message.message, JSONRPCRequest):
                                unanswered += 1
                                if unanswered > max_requests:
                                    on_overflow(f"the server sent more than {max_requests} requests that "
                                                "were not answered yet (it does not read its stdin)")
                                    return
                            try:
                                await read_writer.send(message)
                            except (anyio.ClosedResourceError, anyio.BrokenResourceError):
                                return
                        size += len(chunk) - start
                        if size > limit:
                            on_overflow(too_big)
                            return
                        parts.append(chunk[start:])
                finally:
                    await sdk._drain_stdout(process)
        except (anyio.ClosedResourceError, anyio.BrokenResourceError, ConnectionError):
            pass  # shutdown closed the pipe, or the server broke it: the session sees the end

    async def stdin_writer() -> None:
        nonlocal unanswered
        try:
            async with write_reader:
                async for message in write_reader:
                    text = message.message.model_dump_json(by_alias=True, exclude_unset=True)
                    await process.stdin.send((text + "\n").encode("utf-8"))
                    if isinstance(message.message, (JSONRPCResponse, JSONRPCError)):
                        unanswered -= 1
        except (anyio.ClosedResourceError, anyio.BrokenResourceError, OSError):
            await read_writer.aclose()  # the session sees the end instead of a request hanging
        finally:
            writer_done.set()

    async def shutdown() -> None:  # the SDK's sequence (stdio_client's shutdown)
        read_stream.close()
        write_stream.close()
        with anyio.move_on_after(sdk._WRITER_FLUSH_TIMEOUT):
            await writer_done.wait()
        await sdk._stop_server_process(process)
        await sdk._aclose_all(read_stream, write_stream, read_writer, write_reader)
        await anyio.lowlevel.checkpoint()

    async with anyio.create_task_group() as tg:
        tg.start_soon(stdout_reader)
        tg.start_soon(stdin_writer)
        try:
            yield read_stream, write_stream
        finally:
            with anyio.CancelScope(shield=True):  # the server is stopped even when cancelled
                await shutdown()
            tg.cancel_scope.cancel()
    await anyio.lowlevel.cancel_shielded_checkpoint()
