"""MCP tools inside the sandbox: MCPManager, server discovery and the CLI flags (issue 19).

MCPManager starts stdio MCP servers through the official MCP SDK's client (mcp
2.3.0) and exposes each server's tools to sandboxed code as awaitable callbacks
`mcp.<server>.<tool>(**kwargs)` (also mcp["server"]["tool"] in the guest), with
pyeryx 0.11's semantics. discover_servers() / connect_servers() read the agent
hosts' config files; add_arguments() / manager_from_arguments() are the --mcp and
--mcp-config flags of `python -m eryx` and `python -m eryx serve`. Nothing here
prints: failures are raised or collected into an `errors` list for the CLIs.

The SDK is imported only when a server is connected, so `import eryx` works
without it. The SDK's client is async: each manager runs one event loop on a
background thread; each server's connection is one task on it (anyio's cancel
scopes must exit in the task that entered them). The stdio transport is the SDK's
with a bounded reader (_mcp_stdio.py). docs/MCP-TOOLS.md.
"""
from __future__ import annotations

import atexit
import errno
import json
import math
import os
import re
import stat
import threading
import time
import weakref
from pathlib import Path
from typing import Any, NamedTuple, Sequence

from ._core import InitializationError

__all__ = ["MCPManager", "MCPToolError", "add_arguments", "connect_servers", "discover_servers",
           "manager_from_arguments"]

# A server name is one namespace level in the guest: no dots (mcp.<server>.<tool>).
_SERVER_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_-]{0,63}\Z")
MAX_TOOLS = 1000          # per server: the callbacks (and their schemas) each sandbox is built with
MAX_SERVERS = 100        # per manager: each is a child process (a config file may list any number)
MAX_TOOLS_BYTES = 4 << 20  # per server: its tools' names, descriptions and schemas, in every sandbox's start
MAX_CONFIG_BYTES = 64 << 20   # an agent host's config file read by discovery
MAX_MESSAGE_BYTES = 64 << 20  # one message from a server (a tool's answer); past it the server is disconnected
MAX_SERVER_REQUESTS = 1024    # a server's own requests not answered yet; past it the server is disconnected
_MAX_PAGES = 100          # tools/list pages read at connect
_STDERR_TAIL = 4096       # bytes of a server's stderr kept for error messages
_CLOSE_WAIT = 10.0        # the SDK's shutdown: 0.5 s flush, 2 s grace, SIGTERM, 2 s, SIGKILL, 2 s reap
_CALL_MARGIN = 5.0        # a call's thread waits this past its timeout for the cancelled request to end
_AFTER_GUEST = 0.5        # the host gives up this long after the guest's callback timeout (eryx's message first)
# Names of tools (and servers) that are not ASCII identifiers travel hex-encoded
# in the callback name (the C library takes identifiers joined by dots); the
# guest decodes them (guest/lib/_eryx_support.py, _MCP_ESCAPE).
_ESCAPE = "_x_"


class MCPToolError(Exception):
    """An MCP tool call failed: the tool reported an error (isError), the server
    answered with a protocol error, did not answer in time, or is gone. The
    guest's `await mcp.srv.tool(...)` raises CallbackError carrying this message."""


def _wire(part: str) -> str:
    if part.isascii() and part.isidentifier() and not part.startswith(_ESCAPE):
        return part
    return _ESCAPE + part.encode("utf-8").hex()


def _callback_schema(schema: Any) -> dict[str, Any]:
    # eryx refuses a schema that is not an object or whose properties are not one;
    # one odd tool must not make every sandbox fail to build.
    if isinstance(schema, dict) and isinstance(schema.get("properties", {}), dict):
        return schema
    return {"type": "object"}


class _StderrTail:
    """asyncio read-pipe protocol keeping the last bytes of a server's stderr."""

    def __init__(self) -> None:
        self.buf = bytearray()
        self.transport: Any = None

    def connection_made(self, transport: Any) -> None:
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        self.buf += data
        del self.buf[:-_STDERR_TAIL]

    def eof_received(self) -> None:
        return None

    def connection_lost(self, exc: Exception | None) -> None:
        self.transport = None

    def text(self) -> str:
        lines = bytes(self.buf).decode("utf-8", "replace").strip().splitlines()
        return " | ".join(line.strip() for line in lines[-5:] if line.strip())[-600:]


class _Server:
    """One server: its parameters, its connection task's state, its tools."""

    def __init__(self, name: str, command: str, args: list[str], env: dict[str, str], timeout: float) -> None:
        self.name, self.command, self.args, self.env, self.timeout = name, command, args, env, timeout
        self.tools: list[Any] = []     # the SDK's Tool objects, as listed at connect
        self.client: Any = None        # the SDK's Client while connected
        import concurrent.futures  # here: `import eryx.mcp` stays cheap (python -m eryx imports it)
        self.ready: concurrent.futures.Future[int] = concurrent.futures.Future()
        self.done: concurrent.futures.Future[None] | None = None  # the connection task
        self.loop: Any = None          # the manager's loop the task runs on
        self.stop: Any = None          # anyio.Event: ends a ready connection
        self.scope: Any = None         # anyio.CancelScope: ends one still connecting
        self.closing = False
        self.error: str | None = None  # why a ready connection ended
        self.overflow: str | None = None  # why the transport disconnected it (a bound: _mcp_stdio.py)
        self.stderr = _StderrTail()

    def shutdown(self) -> None:  # on the loop thread
        self.closing = True
        if self.ready.done() and self.stop is not None:
            self.stop.set()
        elif self.scope is not None:
            self.scope.cancel()

    def describe(self, why: str) -> str:
        tail = self.stderr.text()
        return f"MCP server {self.name!r} ({self.command}): {why}" + (f"; its stderr: {tail}" if tail else "")


def _leaf(exc: BaseException) -> BaseException:
    # The SDK's task groups wrap the cause in exception groups.
    while isinstance(exc, BaseExceptionGroup):
        inner = [e for e in exc.exceptions if not _is_cancel(e)] or list(exc.exceptions)
        exc = inner[0]
    return exc


def _is_cancel(exc: BaseException) -> bool:
    import asyncio
    return isinstance(exc, asyncio.CancelledError)


def _why(exc: BaseException, command: str) -> str:
    exc = _leaf(exc)
    if isinstance(exc, FileNotFoundError):
        return f"cannot start {command!r}: no such file or command"
    if isinstance(exc, PermissionError):
        return f"cannot start {command!r}: permission denied"
    if isinstance(exc, OSError):
        return f"cannot start {command!r}: {exc.strerror or exc}"
    msg = getattr(exc, "message", None) or str(exc) or type(exc).__name__
    if "closed" in msg.lower():
        return f"the server ended the connection before the MCP handshake finished ({msg})"
    return f"the MCP handshake failed: {msg}"


async def _list_tools(client: Any) -> list[Any]:
    caps = client.server_capabilities
    if caps is None or caps.tools is None:
        return []
    tools: list[Any] = []
    names: set[str] = set()
    size = 0
    cursor = None
    for _ in range(_MAX_PAGES):
        page = await client.list_tools(cursor=cursor)
        tools += page.tools
        if len(tools) > MAX_TOOLS:
            raise ValueError(f"the server lists more than {MAX_TOOLS} tools")
        for t in page.tools:  # each becomes a callback: eryx refuses a name twice, in every sandbox
            if t.name in names:
                raise ValueError(f"the server lists the tool {t.name!r} twice")
            names.add(t.name)
            size += len(json.dumps([t.name, t.description, t.input_schema]))
        if size > MAX_TOOLS_BYTES:
            raise ValueError(f"the server's tools (names, descriptions, schemas) take more than "
                             f"{MAX_TOOLS_BYTES >> 20} MiB")
        cursor = page.next_cursor
        if not cursor:
            return tools
    raise ValueError(f"the server's tool list goes on past {_MAX_PAGES} pages")


async def _run_server(srv: _Server) -> None:
    """The connection task: enters the SDK's client, serves until stop, exits it."""
    import asyncio

    import anyio
    from mcp.client import Client
    from mcp.client.stdio import StdioServerParameters

    from ._mcp_stdio import bounded_stdio_client

    srv.stop = anyio.Event()
    srv.scope = anyio.CancelScope(deadline=anyio.current_time() + srv.timeout)
    if srv.closing:
        srv.scope.cancel()
    rfd, wfd = os.pipe()
    errlog = os.fdopen(wfd, "w")
    try:
        await asyncio.get_running_loop().connect_read_pipe(lambda: srv.stderr, os.fdopen(rfd, "rb"))
        # The reference's child inherits the whole environment; the SDK's default passes
        # only HOME, PATH and a few others, which breaks servers run by npx, uvx, etc.
        params = StdioServerParameters(command=srv.command, args=srv.args, env={**os.environ, **srv.env})
        with srv.scope:
            transport = bounded_stdio_client(params, errlog, MAX_MESSAGE_BYTES, MAX_SERVER_REQUESTS,
                                             lambda why: _overflowed(srv, why))
            async with Client(transport, mode="auto") as client:
                errlog.close()  # the child holds its own copy: EOF once it ends
                srv.tools = await _list_tools(client)
                srv.scope.deadline = math.inf
                srv.client = client
                srv.ready.set_result(len(srv.tools))
                await srv.stop.wait()
                srv.client = None
        if not srv.ready.done():
            why = "connect was cancelled: the manager is closing" if srv.closing else \
                f"no MCP handshake within {srv.timeout:g} s"
            srv.ready.set_exception(InitializationError(srv.describe(why)))
    except BaseException as e:  # noqa: BLE001 - every failure ends this task and is reported
        if not srv.ready.done():
            errlog.close()
            await _stderr_settled(srv)
            srv.ready.set_exception(InitializationError(srv.describe(srv.overflow or _why(e, srv.command))))
        elif not srv.closing:
            srv.error = str(_leaf(e)) or type(_leaf(e)).__name__
        if isinstance(e, (KeyboardInterrupt, SystemExit)):
            raise
    finally:
        srv.client = None
        errlog.close()
        if srv.stderr.transport is not None:
            srv.stderr.transport.close()
        if not srv.ready.done():
            srv.ready.set_exception(InitializationError(srv.describe("the connection ended")))


def _overflowed(srv: _Server, why: str) -> None:
    """The transport met a bound (_mcp_stdio.py): the connection ends (a ready one
    through stop, so the child is stopped and reaped; calls in flight fail)."""
    srv.overflow = srv.error = f"{why}; it was disconnected"
    if srv.stop is not None:
        srv.stop.set()


async def _stderr_settled(srv: _Server) -> None:
    """Lets the last stderr a failed server wrote arrive (EOF), briefly, for the message."""
    import asyncio
    try:
        for _ in range(30):
            if srv.stderr.transport is None:
                return
            await asyncio.sleep(0.01)
    except BaseException:  # noqa: BLE001 - cancelled: the message goes without it
        pass


def _map_result(result: Any) -> Any:
    """A CallToolResult as the guest's value (docs/MCP-TOOLS.md, "Results")."""
    texts = [c.text for c in result.content if getattr(c, "type", None) == "text"]
    text = "\n".join(texts)
    if result.is_error:
        raise MCPToolError(text or "the tool reported an error (no message)")
    if result.structured_content is not None:
        return result.structured_content
    if not result.content:
        return None
    if len(texts) < len(result.content):  # images, audio, resources: the blocks as MCP sends them
        return {"text": text, "content": [c.model_dump(mode="json", by_alias=True, exclude_none=True)
                                          for c in result.content]}
    try:  # NaN and Infinity are not JSON: such text stays text
        return json.loads(text, parse_constant=_not_json)
    except ValueError:
        return {"text": text}


def _not_json(_: str) -> Any:
    raise ValueError("not JSON")


async def _call_tool(srv: _Server, tool: str, arguments: dict[str, Any], timeout: float, shown: float) -> Any:
    from mcp.shared.exceptions import MCPError
    from mcp_types.jsonrpc import REQUEST_TIMEOUT

    client = srv.client
    if client is None:
        raise MCPToolError(f"MCP server {srv.name!r} is not connected" + (f": {srv.error}" if srv.error else ""))
    try:
        # The SDK's read timeout ends the wait and sends the server notifications/cancelled.
        result = await client.call_tool(tool, arguments, read_timeout_seconds=timeout)
    except MCPError as e:
        if srv.overflow:
            raise MCPToolError(f"MCP server {srv.name!r}: {srv.overflow}") from None
        if e.code == REQUEST_TIMEOUT and "timed out" in e.message:
            raise MCPToolError(f"MCP tool {srv.name}.{tool} did not answer within {shown:g} s "
                               "(the request was cancelled)") from None
        raise MCPToolError(f"{e.message} (MCP error {e.code})") from None
    except Exception as e:  # a result that does not validate, a broken connection
        raise MCPToolError(f"MCP tool {srv.name}.{tool}: {type(e).__name__}: {e}") from None
    return _map_result(result)


_live: "weakref.WeakSet[MCPManager]" = weakref.WeakSet()


@atexit.register
def _close_all() -> None:
    for manager in list(_live):
        manager.close()


class MCPManager:
    """Connections to stdio MCP servers; pass it as Sandbox(mcp=...) / Session(mcp=...)
    and sandboxed code calls `await mcp.<server>.<tool>(**kwargs)`.

    max_concurrent_calls bounds the tool calls in flight across the manager's servers
    (a call waits for a slot within its timeout); call_timeout_secs bounds a call when
    the sandbox has no callback timeout. Thread-safe; close() (also at exit, on
    garbage collection and at the end of a `with` block) stops every server."""

    def __init__(self, *, max_concurrent_calls: int = 64, call_timeout_secs: float = 300.0) -> None:
        if isinstance(max_concurrent_calls, bool) or not isinstance(max_concurrent_calls, int) \
                or max_concurrent_calls < 1:
            raise ValueError("max_concurrent_calls must be an int >= 1")
        self._call_timeout = _positive_seconds("call_timeout_secs", call_timeout_secs)
        self._max_calls = max_concurrent_calls
        self._slots = threading.BoundedSemaphore(max_concurrent_calls)
        self._lock = threading.Lock()
        self._servers: dict[str, _Server] = {}
        self._loop: Any = None
        self._thread: threading.Thread | None = None
        _live.add(self)

    # ---- public API (pyeryx 0.11's) ----------------------------------------------------

    @property
    def server_names(self) -> list[str]:
        """The connected servers, in the order they connected."""
        return [srv.name for srv in self._ready()]

    def connect(self, name: str, command: str, args: Sequence[str] = (), env: dict[str, str] | None = None,
                timeout_secs: float = 30.0) -> int:
        """Starts `command args` as a stdio MCP server named `name` and lists its tools;
        returns their number. The child's environment is this process's plus `env`.
        Raises InitializationError (the server cannot start, exits, is not an MCP server
        or does not finish the handshake within timeout_secs), ValueError (a name that
        cannot be a namespace, or already connected), TypeError (argument types)."""
        return self._finish(self._begin(name, command, args, env, timeout_secs))

    def list_tools(self) -> list[dict[str, Any]]:
        """[{"name": "mcp.<server>.<tool>", "description": str, "schema": dict}] for every tool."""
        import copy  # the caller's to change: later sandboxes' callbacks are made from the originals
        return [{"name": f"mcp.{srv.name}.{t.name}", "description": t.description or "",
                 "schema": copy.deepcopy(t.input_schema)} for srv in self._ready() for t in srv.tools]

    def close(self) -> None:
        """Shuts every server down (stdin closed, then SIGTERM, then SIGKILL: the SDK's
        sequence, bounded), reaps them and stops the manager's thread. Idempotent;
        connect() may be called again afterwards."""
        with self._lock:
            servers, self._servers = list(self._servers.values()), {}
            loop, thread, self._loop, self._thread = self._loop, self._thread, None, None
        if loop is None:
            return
        on_loop = threading.current_thread() is thread
        for srv in servers:
            loop.call_soon_threadsafe(srv.shutdown)
        if on_loop:  # dropped on the loop's own thread: it cannot wait for itself
            loop.call_soon_threadsafe(loop.stop)
            return
        import concurrent.futures
        concurrent.futures.wait([s.done for s in servers if s.done is not None], timeout=_CLOSE_WAIT)
        import asyncio
        try:
            asyncio.run_coroutine_threadsafe(_cancel_rest(), loop).result(_CLOSE_WAIT)
        except (concurrent.futures.TimeoutError, RuntimeError):
            pass
        loop.call_soon_threadsafe(loop.stop)
        if thread is not None:
            thread.join(_CLOSE_WAIT)
            if not thread.is_alive():
                loop.close()

    def __enter__(self) -> "MCPManager":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def __del__(self) -> None:
        try:
            self.close()
        except Exception:  # noqa: BLE001 - interpreter teardown
            pass

    def __repr__(self) -> str:
        return f"MCPManager(servers={self.server_names!r})"

    # ---- what Sandbox(mcp=...) uses --------------------------------------------------

    def _callbacks(self, callback_timeout_ms: int | None = None) -> list[dict[str, Any]]:
        """The tools as eryx callback dicts {"name", "fn", "description", "schema"}; the
        name is "mcp.<server>.<tool>" with non-identifier parts hex-encoded (_wire).
        A call waits at most the sandbox's callback timeout (+0.5 s, so that the guest sees
        eryx's own timeout error first), else call_timeout_secs."""
        timeout = callback_timeout_ms / 1000 + _AFTER_GUEST if callback_timeout_ms else self._call_timeout
        return [{"name": f"mcp.{_wire(srv.name)}.{_wire(t.name)}", "fn": self._tool_fn(srv, t.name, timeout),
                 "description": t.description or "", "schema": _callback_schema(t.input_schema)}
                for srv in self._ready() for t in srv.tools]

    def _tool_fn(self, srv: _Server, tool: str, timeout: float) -> Any:
        def call(**arguments: Any) -> Any:
            return self._call(srv, tool, arguments, timeout)
        call.__name__ = call.__qualname__ = f"mcp.{srv.name}.{tool}"
        return call

    def _call(self, srv: _Server, tool: str, arguments: dict[str, Any], timeout: float) -> Any:
        """On one of eryx's callback threads: forwards the call, waits at most `timeout`."""
        import asyncio
        import concurrent.futures
        deadline = time.monotonic() + timeout
        if not self._slots.acquire(timeout=timeout):
            raise MCPToolError(f"MCP tool {srv.name}.{tool}: {self._max_calls} MCP calls are already in flight")
        try:
            left = max(deadline - time.monotonic(), 0.001)
            with self._lock:  # close() takes the loop under it: a call handed over before is cancelled by close
                if self._loop is None or srv.loop is not self._loop or srv.client is None:
                    raise MCPToolError(f"MCP server {srv.name!r} is not connected"
                                       + (f": {srv.error}" if srv.error else " (the manager was closed)"))
                fut = asyncio.run_coroutine_threadsafe(_call_tool(srv, tool, arguments, left, timeout), self._loop)
            try:
                return fut.result(left + _CALL_MARGIN)
            except concurrent.futures.TimeoutError:
                fut.cancel()  # the task's cancellation sends the server notifications/cancelled
                raise MCPToolError(f"MCP tool {srv.name}.{tool} did not answer within {timeout:g} s") from None
            except concurrent.futures.CancelledError:
                raise MCPToolError(f"MCP tool {srv.name}.{tool}: the manager was closed") from None
        finally:
            self._slots.release()

    # ---- internals ---------------------------------------------------------------------

    def _ready(self) -> list[_Server]:
        # Not those still connecting (their names are reserved in _servers meanwhile).
        with self._lock:
            return [s for s in self._servers.values() if s.ready.done() and s.ready.exception() is None]

    def _start_loop(self) -> Any:
        import asyncio
        import logging
        # The SDK logs through "mcp.*"; without this, Python's last-resort handler would
        # print its warnings to stderr from a library. Applications configure logging.
        sdk_log = logging.getLogger("mcp")
        if not any(isinstance(h, logging.NullHandler) for h in sdk_log.handlers):
            sdk_log.addHandler(logging.NullHandler())
        loop = asyncio.new_event_loop()
        thread = threading.Thread(target=loop.run_forever, name="eryx-mcp", daemon=True)
        thread.start()
        self._loop, self._thread = loop, thread
        return loop

    def _begin(self, name: Any, command: Any, args: Any, env: Any, timeout_secs: Any) -> _Server:
        if not isinstance(name, str) or not _SERVER_NAME.match(name):
            raise ValueError(f"MCP server name {name!r}: use letters, digits, _ and - (1-64, not starting "
                             "with a digit or -); it becomes mcp.<name> in the sandbox")
        if not isinstance(command, str) or not command or "\0" in command:
            raise TypeError("command must be a non-empty str")
        if isinstance(args, (str, bytes)) or not all(isinstance(a, str) for a in args):
            raise TypeError("args must be a list of str")
        env = {} if env is None else env
        if not isinstance(env, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in env.items()):
            raise TypeError("env must be a dict of str to str")
        timeout = _positive_seconds("timeout_secs", timeout_secs)
        try:
            import mcp.client  # noqa: F401 - the SDK, needed from here on
        except ImportError as e:
            raise InitializationError(f"MCP tools need the MCP SDK (pip install 'mcp==2.3.0'): {e}") from None
        import asyncio
        srv = _Server(name, command, list(args), dict(env), timeout)
        with self._lock:
            if name in self._servers:
                raise ValueError(f"an MCP server named {name!r} is already connected")
            if len(self._servers) >= MAX_SERVERS:
                raise ValueError(f"a manager connects at most {MAX_SERVERS} MCP servers")
            self._servers[name] = srv  # reserved; dropped again if it fails
            srv.loop = self._loop or self._start_loop()
            srv.done = asyncio.run_coroutine_threadsafe(_run_server(srv), srv.loop)
        return srv

    def _finish(self, srv: _Server) -> int:
        import concurrent.futures
        try:
            return srv.ready.result(srv.timeout + _CLOSE_WAIT)
        except BaseException as e:
            with self._lock:
                if self._servers.get(srv.name) is srv:
                    del self._servers[srv.name]
            if not srv.done.done():  # type: ignore[union-attr]
                try:
                    srv.loop.call_soon_threadsafe(srv.shutdown)
                except RuntimeError:  # its loop is closed: close() ended the task already
                    pass
            try:  # the child is stopped and reaped before connect returns
                srv.done.result(_CLOSE_WAIT)  # type: ignore[union-attr]
            except BaseException:  # noqa: BLE001 - its failure is e
                pass
            if isinstance(e, concurrent.futures.TimeoutError):
                raise InitializationError(srv.describe(f"no MCP handshake within {srv.timeout:g} s")) from None
            raise


async def _cancel_rest() -> None:
    import asyncio
    me = asyncio.current_task()
    rest = [t for t in asyncio.all_tasks() if t is not me]
    for t in rest:
        t.cancel()
    await asyncio.gather(*rest, return_exceptions=True)


def _positive_seconds(what: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value < math.inf:
        raise ValueError(f"{what} must be a positive finite number of seconds, not {value!r}")
    return float(value)


# ---- discovery (the agent hosts' config files) ------------------------------------------

class _Source(NamedTuple):
    path: Path
    key: str            # the table of servers
    fmt: str = "json"   # or "toml"
    explicit: bool = False


def _default_sources() -> list[_Source]:
    home, cwd = Path.home(), Path.cwd()
    return [  # user level, then project level (cwd): later sources override earlier ones
        _Source(home / ".claude.json", "mcpServers"),
        _Source(home / ".cursor" / "mcp.json", "mcpServers"),
        _Source(home / ".codeium" / "windsurf" / "mcp_config.json", "mcpServers"),
        _Source(home / ".config" / "zed" / "settings.json", "context_servers"),
        _Source(home / ".gemini" / "settings.json", "mcpServers"),
        _Source(home / ".codex" / "config.toml", "mcp_servers", "toml"),
        _Source(cwd / ".mcp.json", "mcpServers"),
        _Source(cwd / ".cursor" / "mcp.json", "mcpServers"),
        _Source(cwd / ".vscode" / "mcp.json", "servers"),
        _Source(cwd / ".zed" / "settings.json", "context_servers"),
        _Source(cwd / ".gemini" / "settings.json", "mcpServers"),
        _Source(cwd / ".codex" / "config.toml", "mcp_servers", "toml"),
    ]


_VAR = re.compile(r"\$(?:(?P<name>[A-Za-z_][A-Za-z0-9_]*)|\{(?P<brace>[A-Za-z_][A-Za-z0-9_]*)"
                  r"(?::-(?P<default>[^}]*))?\})")


def _expand(value: str) -> str:
    """$VAR, ${VAR} and ${VAR:-default} (default when unset or empty); unset: empty."""
    def sub(m: re.Match[str]) -> str:
        if m.group("name"):
            return os.environ.get(m.group("name"), "")
        value = os.environ.get(m.group("brace"), "")
        default = m.group("default")
        return value if default is None else value or default
    return _VAR.sub(sub, value)


def _read_text(path: Path) -> str:
    # Non-blocking open, then regular files only: a FIFO or a device (a link to
    # /dev/zero) would block or never end. The size is bounded (~/.claude.json
    # keeps a history per project and grows to megabytes).
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        raise OSError(errno.EINVAL, "not a regular file")
    with os.fdopen(fd, "rb") as f:
        data = f.read(MAX_CONFIG_BYTES + 1)
    if len(data) > MAX_CONFIG_BYTES:
        raise OSError(errno.EFBIG, f"larger than {MAX_CONFIG_BYTES >> 20} MiB")
    return data.decode("utf-8")


def _read(source: _Source, errors: list[str]) -> dict[str, Any] | None:
    try:
        text = _read_text(source.path)
    except FileNotFoundError:
        if source.explicit:
            errors.append(f"MCP config {source.path}: no such file")
        return None
    except (OSError, UnicodeDecodeError) as e:
        errors.append(f"MCP config {source.path}: cannot read: {getattr(e, 'strerror', None) or e}")
        return None
    try:
        if source.fmt == "toml":
            import tomllib
            data = tomllib.loads(text)
        else:
            data = json.loads(text)
    except (ValueError, RecursionError) as e:  # RecursionError: nesting too deep
        errors.append(f"MCP config {source.path}: not valid {source.fmt.upper()}: {e}")
        return None
    if not isinstance(data, dict):
        errors.append(f"MCP config {source.path}: not a {source.fmt.upper()} object")
        return None
    return data


def _stdio_servers(table: Any, where: str, errors: list[str]) -> dict[str, dict[str, Any]]:
    """The enabled stdio servers of one table, normalized to {command, args, env}."""
    out: dict[str, dict[str, Any]] = {}
    if not isinstance(table, dict):
        return out
    for name, cfg in table.items():
        if not isinstance(cfg, dict) or cfg.get("disabled") is True or cfg.get("enabled") is False:
            continue
        if cfg.get("type", "stdio") != "stdio":  # http, sse, streamable-http: remote servers
            continue
        command, args, env = cfg.get("command"), cfg.get("args", []), cfg.get("env", {})
        if isinstance(command, dict):  # Zed's older shape: "command": {"path", "args", "env"}
            command, args, env = command.get("path"), command.get("args", args), command.get("env", env)
        if not command:  # url/serverUrl/httpUrl only: remote
            continue
        if not isinstance(command, str) or not isinstance(args, list) or not isinstance(env, dict):
            errors.append(f"MCP config {where}: server {name!r}: command must be a string, args a list, "
                          "env an object")
            continue
        if not _SERVER_NAME.match(str(name)):
            errors.append(f"MCP config {where}: server {name!r}: the name cannot be a namespace in the sandbox "
                          "(letters, digits, _ and -; not starting with a digit or -)")
            continue
        out[name] = {"command": _expand(command), "args": [_expand(str(a)) for a in args],
                     "env": {str(k): _expand(str(v)) for k, v in env.items()}}
    return out


def discover_servers(config_paths: Sequence[str | os.PathLike[str]] | None = None, *,
                     errors: list[str] | None = None) -> dict[str, dict[str, Any]]:
    """The stdio MCP servers configured for agent hosts: {name: {"command", "args", "env"}}.

    config_paths None reads the user-level then the project-level (cwd) files of
    Claude Code, Cursor, Windsurf, Zed, Gemini CLI, Codex and VS Code (docs/MCP-TOOLS.md);
    otherwise the given files, in order (.toml: the mcp_servers table; JSON: mcpServers,
    else servers, else context_servers). A later file's server replaces an earlier one
    of the same name. Disabled and remote (url-only, non-stdio type) entries are
    skipped; $VAR, ${VAR} and ${VAR:-default} are expanded in command, args and env.
    Files that cannot be read or parsed (and explicit files that are missing) are
    reported in `errors` when a list is given; nothing is printed."""
    errs: list[str] = errors if errors is not None else []
    if config_paths is None:
        sources = _default_sources()
    else:
        if isinstance(config_paths, (str, bytes, os.PathLike)):
            raise TypeError("config_paths must be a list of paths")
        sources = [_Source(Path(p), "", "toml" if str(p).endswith(".toml") else "json", True)
                   for p in config_paths]
    servers: dict[str, dict[str, Any]] = {}
    for src in sources:
        data = _read(src, errs)
        if data is None:
            continue
        key = src.key or next((k for k in ("mcp_servers", "mcpServers", "servers", "context_servers")
                               if k in data), "mcpServers")
        servers.update(_stdio_servers(data.get(key), str(src.path), errs))
        if src.path.name == ".claude.json" and not src.explicit:
            # Claude Code's local scope: servers added for this directory (`claude mcp add`).
            projects = data.get("projects")
            project = projects.get(str(Path.cwd())) if isinstance(projects, dict) else None
            if isinstance(project, dict):
                servers.update(_stdio_servers(project.get("mcpServers"), f"{src.path} (this project)", errs))
    return servers


def connect_servers(config_paths: Sequence[str | os.PathLike[str]] | None = None, connect_timeout: float = 30.0,
                    *, errors: list[str] | None = None) -> MCPManager | None:
    """discover_servers(), then connects every server at once (each within
    connect_timeout seconds). Returns an MCPManager of the servers that connected,
    or None when none was found or none connected. Each failure is appended to
    `errors` when a list is given ("<name>: <why>"); nothing is printed."""
    errs: list[str] = errors if errors is not None else []
    found = discover_servers(config_paths, errors=errs)
    if not found:
        return None
    manager = MCPManager()
    started = []
    for name, cfg in found.items():
        try:
            started.append(manager._begin(name, cfg["command"], cfg["args"], cfg["env"], connect_timeout))
        except (ValueError, TypeError, InitializationError) as e:
            errs.append(f"{name}: {e}")
    for srv in started:
        try:
            manager._finish(srv)
        except InitializationError as e:
            errs.append(str(e))
    if not manager.server_names:
        manager.close()
        return None
    return manager


# ---- the CLI flags (python -m eryx, python -m eryx serve) ---------------------------------

def add_arguments(parser: Any) -> None:
    """Adds --mcp and --mcp-config FILE (repeatable) to an argparse parser."""
    g = parser.add_argument_group("MCP tools in the sandbox (docs/MCP-TOOLS.md)")
    g.add_argument("--mcp", action="store_true",
                   help="connect the stdio MCP servers configured for Claude Code, Cursor, VS Code, Zed, "
                        "Windsurf, Gemini CLI and Codex (user and project files); the code calls "
                        "await mcp.<server>.<tool>(...)")
    g.add_argument("--mcp-config", action="append", default=[], metavar="FILE",
                   help="connect the servers of this config file instead (JSON mcpServers or Codex TOML; "
                        "implies --mcp; repeatable)")


def manager_from_arguments(opts: Any, *, errors: list[str] | None = None,
                           connect_timeout: float = 30.0) -> MCPManager | None:
    """The MCPManager the parsed --mcp / --mcp-config options ask for (None when neither
    was given, or no server connected). Failures go to `errors`; the CLI prints them."""
    paths = getattr(opts, "mcp_config", None) or None
    if not paths and not getattr(opts, "mcp", False):
        return None
    errs: list[str] = errors if errors is not None else []
    before = len(errs)
    manager = connect_servers(paths, connect_timeout, errors=errs)
    if manager is None and len(errs) == before:
        errs.append("no stdio MCP server is configured in " + (", ".join(map(str, paths)) if paths else
                                                               "the agent hosts' config files (docs/MCP-TOOLS.md)"))
    return manager
