"""The MCP tools of `eryx serve` and the transports they are served on.

Built on the official SDK's MCPServer: each tool returns a CallToolResult with
structuredContent (the machine-readable result) and a text rendering, and sets
isError for every failure (a Python exception, a timeout, a limit, busy, a bad
argument or path), so a model sees failures as failures. Which eryx session a
call uses comes from the caller's MCP session (the transport's mcp-session-id
over HTTP; stdio has one client) and its optional session_id. docs/MCP.md.
"""
# No `from __future__ import annotations`: the SDK reads the tools' annotations,
# which use this instance's limits (closures), at registration.
import base64
import binascii
import collections
import json
import os
import re
import secrets
import socket
import sys
import tempfile
import time
from typing import Annotated, Any

import anyio
from mcp.server import MCPServer
from mcp.server.mcpserver import Context
from mcp_types import CallToolResult, TextContent, ToolAnnotations
from pydantic import Field

from .. import CancelledError, ExecutionError, ResourceLimitError, TimeoutError, __version__
from . import _files
from ._args import ServeConfig
from ._sessions import Entry, ServeError, SessionTable

_SID_RE = re.compile(r"[A-Za-z0-9._:-]{1,128}")
_DEFAULT_SID = "default"
_INSPECT_MARK = "@@eryx-inspect@@ "
_MAX_INSPECT_NAMES = 200
_DISCONNECT_POLL_S = 0.25
# Without an MCP session, session ids are issued by the server (session_id="new")
# and unguessable, so they are capabilities: no client can name another's session.
_NEW_SID = "new"
# The hosts for which the SDK checks Host and Origin (DNS rebinding): MCPServer.streamable_http_app
_SDK_LOOPBACK = ("127.0.0.1", "localhost", "::1")
_MAX_ISSUED = 1 << 16  # the most recently issued ids are remembered (~100 bytes each)

# A single expression: it binds no name in the session (a `result` never outlives its run). It
# prints [count of names, [[name, type, repr]...]]: reprs only of the first names, each
# field shortened, and no more entries than fit in budget bytes of JSON (the print must
# stay under --max-output: past it the session would start afresh, its state lost).
def _inspect_code(budget: int) -> str:
    return (
        "(lambda g, b, j, r, it, sh: (lambda ks: b.print(" + repr(_INSPECT_MARK) + " + j.dumps([len(ks), "
        "(lambda xs: [x for x, n in zip(xs, it.accumulate(len(j.dumps(x)) + 2 for x in xs)) if n <= " + str(budget) +
        "])([[sh(k, 100), sh(type(g[k]).__name__, 100), sh(r.repr(g[k]), 200)] for k in ks[:" +
        str(_MAX_INSPECT_NAMES) + "]])])))(sorted(k for k in g if isinstance(k, str) and not k.startswith('_'))))"
        "(globals(), __import__('builtins'), __import__('json'), __import__('reprlib'), __import__('itertools'), "
        "lambda s, n: s if len(s) <= n else s[:n - 3] + '...')"
    )


RUN_DESCRIPTION = """Run Python 3 code in a sandbox (WebAssembly: no host access, no network unless the server allows it) and get its output.

State persists between calls: variables, functions and imports defined in one call are visible in the next call with the same session_id (each client has its own sessions; omit session_id for your default one). Files under /data persist too (see put_file/get_file).

Returns stdout, stderr, `result` (the value of a variable named `result` if your code sets one, as JSON), and `error` (type, message, traceback) when the code raised. Use print() or set `result` to see values: a bare expression on the last line is not echoed. Top-level `await` works.

A failure (an exception, the time limit, the memory or output limit) is reported as a tool error. After a timeout or a limit, the session's interpreter is reset (its variables are gone; /data files stay)."""


def _text(*parts: tuple[str, str]) -> str:
    out = [f"[{name}]\n{body}" if name else body for name, body in parts if body]
    return "\n".join(out) if out else "(no output)"


def _result(structured: dict[str, Any], text: str, is_error: bool) -> CallToolResult:
    return CallToolResult(content=[TextContent(type="text", text=text)], structured_content=structured,
                          is_error=is_error)


def _failure(kind: str, message: str, **extra: Any) -> CallToolResult:
    structured = {"error": {"type": kind, "message": message, "traceback": None}, **extra}
    return _result(structured, f"[error] {kind}: {message}", True)


def _failed(e: Exception, **extra: Any) -> CallToolResult:
    """The tool error for a failure: a refusal (ServeError, FileError) by its kind, anything else
    (e.g. a session that cannot be made: InitializationError) by its class name."""
    kind = "FileError" if isinstance(e, _files.FileError) else \
        _KINDS.get(e.kind, e.kind) if isinstance(e, ServeError) else type(e).__name__
    # An OSError's text names a host path (the state dir's): the client gets its reason only
    message = e.strerror if isinstance(e, OSError) and e.strerror else str(e)
    return _failure(kind, message, **extra)


def _no_run(session_id: str | None) -> dict[str, Any]:
    # run_python's fields when the code did not run: the same keys as a run's
    return {"session_id": session_id, "execution_count": None, "restored": False, "stdout": "", "stderr": "",
            "result": None, "result_error": None, "duration_ms": 0}


def _limit_kind(e: ResourceLimitError) -> str:
    msg = str(e).lower()
    return "MemoryLimit" if "memory" in msg else "OutputLimit" if "output" in msg else \
        "FuelLimit" if "fuel" in msg else "ResourceLimit"


_KINDS = {"busy": "Busy", "session_discarded": "SessionDiscarded", "no_session": "NoSession",
          "restore_failed": "RestoreFailed", "shutting_down": "ShuttingDown", "bad_argument": "BadArgument",
          "file": "FileError", "cancelled": "Cancelled", "inspect_failed": "InspectFailed",
          "evict_failed": "EvictFailed"}


class Server:
    """The tools over a SessionTable; mcp is the SDK server they are registered on."""

    def __init__(self, cfg: ServeConfig, state_dir: str) -> None:
        self.cfg = cfg
        self.state_dir = state_dir
        self.table = SessionTable(cfg, state_dir)
        self._issued: collections.OrderedDict[str, None] = collections.OrderedDict()
        self.mcp = MCPServer("eryx", version=__version__, instructions=(
            "eryx runs Python in a sandbox. Use run_python to execute code; state persists per session. "
            "put_file/get_file move files in and out of the session's /data."), log_level="WARNING")
        self._register()

    # ---- who is calling --------------------------------------------------------------------

    def _key(self, ctx: Context, session_id: str | None) -> tuple[str, str] | None:
        """(scope, session_id), or None: a one-shot call (no MCP session and no session_id)."""
        if session_id is not None:
            if not isinstance(session_id, str) or not _valid_sid(session_id):
                raise ServeError("bad_argument", f"session_id {session_id!r} must be 1-128 characters of "
                                 "letters, digits, '.', '_', ':' or '-'")
        scope = "stdio" if self.cfg.http is None else self._mcp_session(ctx)
        if session_id == _NEW_SID or scope is None:  # issued ids; without an MCP session, only those
            return (scope or "", self._issued_sid(session_id)) if session_id is not None else None
        return (scope, session_id or _DEFAULT_SID)

    def _mcp_session(self, ctx: Context) -> str | None:
        """The caller's MCP session id over HTTP, or None when it has none.

        The header is a scope only when the SDK holds that session: a stateless
        request, or one of the sessionless protocol (2026-07-28), reaches the tools
        with whatever mcp-session-id header the client sent, unchecked."""
        if self.cfg.stateless:
            return None
        headers = getattr(ctx.request_context.request, "headers", None)
        sid = headers.get("mcp-session-id") if headers is not None else None
        try:
            return sid if sid is not None and sid in self.mcp.session_manager._server_instances else None
        except Exception:  # SDK-private: without it, no MCP session is trusted
            return None

    def _issued_sid(self, session_id: str) -> str:
        if session_id == _NEW_SID:
            sid = "s-" + secrets.token_urlsafe(18)
            self._issued[sid] = None
            while len(self._issued) > _MAX_ISSUED:
                self._issued.popitem(last=False)
            return sid
        if session_id not in self._issued:
            raise ServeError("no_session", f"session_id {session_id!r} is not one this server issued: without an "
                             f"MCP session, start a session with session_id=\"{_NEW_SID}\" and pass back the "
                             "session_id its result gives")
        self._issued.move_to_end(session_id)
        return session_id

    def _alive_scopes(self) -> set[str] | None:
        if self.cfg.http is None or self.cfg.stateless:
            return None
        try:
            return set(self.mcp.session_manager._server_instances)  # SDK-private; None disables the drop
        except Exception:
            return None

    # ---- the tools -----------------------------------------------------------------------------

    def _register(self) -> None:
        description = RUN_DESCRIPTION + self._inner_tools()
        cap = self.cfg.timeout_ms
        new_help = (f'start a session with session_id="{_NEW_SID}" and pass back the session_id the result gives '
                    "(ids are issued by the server and unguessable)")
        sid_help = ("Session to run in; calls with the same session_id share variables. " +
                    ("This server keeps no per-client sessions: without a session_id the code runs in a fresh "
                     "interpreter; to keep state, " + new_help + "." if self.cfg.stateless else
                     "Omit it for your default session; other ids name more sessions of yours (letters, digits, "
                     "'.', '_', ':', '-'). A client without an MCP session (protocol 2026-07-28) has no default "
                     "session: " + new_help + "."))

        async def run_python(
            code: Annotated[str, Field(description="Python source to run (several statements are fine).")],
            ctx: Context,
            timeout_ms: Annotated[int | None, Field(description=(
                "Time limit of this call in milliseconds" + (f" (at most {cap}, the server's limit; that is "
                f"the default)" if cap else " (default: none)")))] = None,
            session_id: Annotated[str | None, Field(description=sid_help)] = None,
        ) -> CallToolResult:
            return await self.run_python(ctx, code, timeout_ms, session_id)

        async def reset_session(
            ctx: Context,
            session_id: Annotated[str | None, Field(description="Session to reset (omit: your default one).")] = None,
            files: Annotated[bool, Field(description="Also delete the session's /data files.")] = False,
        ) -> CallToolResult:
            return await self.reset_session(ctx, session_id, files)

        async def list_session(
            ctx: Context,
            session_id: Annotated[str | None, Field(description="Session to list (omit: your default one).")] = None,
        ) -> CallToolResult:
            return await self.list_session(ctx, session_id)

        async def put_file(
            path: Annotated[str, Field(description="Where to write, under /data (e.g. /data/input.csv or input.csv).")],
            content: Annotated[str, Field(description="The file's content: text, or base64 (see encoding).")],
            ctx: Context,
            encoding: Annotated[str, Field(description="'text' (UTF-8) or 'base64' for binary content.")] = "text",
            session_id: Annotated[str | None, Field(description="Session whose /data gets the file.")] = None,
        ) -> CallToolResult:
            return await self.put_file(ctx, path, content, encoding, session_id)

        async def get_file(
            path: Annotated[str, Field(description="File to read, under /data (e.g. /data/out.png).")],
            ctx: Context,
            encoding: Annotated[str | None, Field(description=(
                "'text' or 'base64'; omit it to get text when the file is UTF-8, else base64."))] = None,
            session_id: Annotated[str | None, Field(description="Session whose /data to read.")] = None,
        ) -> CallToolResult:
            return await self.get_file(ctx, path, encoding, session_id)

        async def list_files(
            ctx: Context,
            path: Annotated[str, Field(description="Directory under /data to list (default: /data).")] = "/data",
            session_id: Annotated[str | None, Field(description="Session whose /data to list.")] = None,
        ) -> CallToolResult:
            return await self.list_files(ctx, path, session_id)

        cap_b = self.cfg.max_file_bytes
        tools = [
            (run_python, description, ToolAnnotations(title="Run Python", read_only_hint=False,
                                                      destructive_hint=False, open_world_hint=self.cfg.network
                                                      is not None)),
            (reset_session, "Reset a session to a fresh interpreter: its variables, functions and imports are "
             "forgotten. Its /data files stay unless files=true.",
             ToolAnnotations(title="Reset session", destructive_hint=True, idempotent_hint=True)),
            (list_session, "List what a session defines (names, types and short reprs of its global "
             "variables, functions and modules) without changing anything in it.",
             ToolAnnotations(title="List session", read_only_hint=True)),
            (put_file, f"Write a file into a session's /data, where run_python code can open it. Text, or "
             f"base64 for binary content; at most {cap_b} bytes. Parent directories are made.",
             ToolAnnotations(title="Put file", destructive_hint=True, idempotent_hint=True)),
            (get_file, f"Read a file from a session's /data (e.g. one your code wrote); at most {cap_b} bytes.",
             ToolAnnotations(title="Get file", read_only_hint=True)),
            (list_files, "List the files under a session's /data (path, type, size).",
             ToolAnnotations(title="List files", read_only_hint=True)),
        ]
        for fn, desc, ann in tools:
            self.mcp.add_tool(fn, description=desc, annotations=ann, structured_output=False)

    def _inner_tools(self) -> str:
        if self.cfg.mcp is None:
            return ""
        tools = self.cfg.mcp.list_tools()
        if not tools:
            return ""
        lines = ["", "", "Tools callable from the code (await them; results are dicts):"]
        for t in tools[:100]:
            d = (t.get("description") or "").strip().splitlines()
            d1 = d[0] if d else ""
            lines.append(f"- await {t['name']}(**kwargs)" + (f": {d1[:117] + '...' if len(d1) > 120 else d1}"
                                                             if d1 else ""))
        return "\n".join(lines)

    async def run_python(self, ctx: Context, code: str, timeout_ms: int | None,
                         session_id: str | None) -> CallToolResult:
        try:
            key = self._key(ctx, session_id)
            timeout = self._timeout(timeout_ms)
            if key is None:
                return await self._until_gone(ctx, lambda: self._one_shot(code, timeout))
            res = await self._until_gone(ctx, lambda: self.table.use(key, lambda e: self._execute(e, code, timeout)))
            if session_id == _NEW_SID and res.content:  # a model reading only the text needs the new id too
                res.content[0].text = f"[session_id] {key[1]} (pass it back to keep this state)\n" + res.content[0].text
            return res
        except Exception as e:
            return _failed(e, **_no_run(session_id))

    async def _until_gone(self, ctx: Context, call: Any) -> Any:
        """call(), cancelled (so is its execution) if the HTTP client disconnects first.

        An abruptly closed client sends no cancel notification, and the SDK keeps
        a request running after its response stream is gone (for resumption):
        so the connection is watched here."""
        req = getattr(ctx.request_context, "request", None)
        is_disconnected = getattr(req, "is_disconnected", None)
        if is_disconnected is None:  # stdio: a closed stdin ends the server, and every call with it
            return await call()
        out: Any = None
        failed: Exception | None = None
        async with anyio.create_task_group() as tg:
            async def watch() -> None:
                while not await is_disconnected():
                    await anyio.sleep(_DISCONNECT_POLL_S)
                tg.cancel_scope.cancel()

            tg.start_soon(watch)
            try:
                out = await call()
            except Exception as e:  # raised outside the task group, not wrapped in an ExceptionGroup
                failed = e
            tg.cancel_scope.cancel()
        if failed is not None:
            raise failed
        if out is None:
            raise ServeError("cancelled", "the client disconnected; the call was cancelled")
        return out

    def _timeout(self, timeout_ms: int | None) -> int | None:
        cap = self.cfg.timeout_ms
        if timeout_ms is None:
            return cap
        # Without --timeout (0), bounded as the flag is: a huge value reached the library (OverflowError)
        if isinstance(timeout_ms, bool) or not isinstance(timeout_ms, int) or timeout_ms <= 0 or \
                (not cap and timeout_ms >= 10 ** 12):
            raise ServeError("bad_argument", f"timeout_ms must be a positive number of milliseconds "
                             f"(under 10**12), not {timeout_ms!r}")
        return min(timeout_ms, cap) if cap else timeout_ms

    async def _one_shot(self, code: str, timeout: int | None) -> CallToolResult:
        # No MCP session and no session_id: a fresh session with an empty /data, gone after the call.
        # under sessions/: what a killed server left there is removed by the next one at start
        tmp = tempfile.mkdtemp(prefix="oneshot-", dir=self.table.dir)
        e = Entry(("", ""), tmp)
        os.makedirs(e.data, mode=0o700)
        try:
            return await self.table.use_detached(e, lambda: self._execute(e, code, timeout, load=True))
        finally:
            e.session = None
            self.table.remove_dir(tmp)

    def _execute(self, e: Entry, code: str, timeout: int | None, load: bool = False) -> CallToolResult:
        """(worker) One run_python call on e's session."""
        if load:
            e.session = self.table.new_session(e.data)
        s = e.session
        assert s is not None
        sid = e.key[1] or None
        if s.execution_timeout_ms != timeout:
            s.execution_timeout_ms = timeout
        if e.cancel_requested:
            raise ServeError("cancelled", "the call was cancelled before it ran")  # a Cancelled result
        e.count += 1
        # restored: the session had been evicted to disk while idle, and was brought back for this call
        base = {"session_id": sid, "execution_count": e.count, "restored": e.restored}
        e.restored = False
        t0 = time.monotonic()
        try:
            r = s.execute(code)
        except ExecutionError as exc:
            tb = exc.traceback or str(exc)
            last = tb.rstrip("\n").splitlines()[-1] if tb.strip() else str(exc)
            msg = last.split(": ", 1)[1] if ": " in last and exc.exception_type else last
            err = {"type": exc.exception_type or "SystemExit", "message": msg, "traceback": tb}
            stderr = exc.stderr_text.rstrip("\n")
            if exc.traceback and stderr.endswith(exc.traceback.rstrip("\n")):  # said once, in error
                stderr = stderr[:len(stderr) - len(exc.traceback.rstrip("\n"))].rstrip("\n")
            return self._render(base, exc.stdout_text.rstrip("\n"), stderr, None, None, err,
                                (time.monotonic() - t0) * 1000)
        except (TimeoutError, ResourceLimitError, CancelledError) as exc:
            kind = "Timeout" if isinstance(exc, TimeoutError) else \
                "Cancelled" if isinstance(exc, CancelledError) else _limit_kind(exc)
            msg = str(exc)
            if "afresh" not in msg:
                msg += "; the next one starts afresh"
            msg += " (the session's variables are gone; /data files stay)"
            return self._render(base, exc.stdout_text.rstrip("\n"), exc.stderr_text.rstrip("\n"), None, None,
                                {"type": kind, "message": msg, "traceback": None}, (time.monotonic() - t0) * 1000)
        value, value_error = r.result, r.result_error
        if r.result_json is not None and len(r.result_json) > self.cfg.max_output:  # as stdout is bounded
            value, value_error = None, (f"`result` is {len(r.result_json)} characters of JSON, over the server's "
                                        f"--max-output ({self.cfg.max_output}): not returned (the session keeps it)")
        # text for the client, trailing newlines trimmed as the server always gave them
        return self._render(base, r.stdout_text.rstrip("\n"), r.stderr_text.rstrip("\n"), value, value_error, None,
                            r.duration_ms)

    def _render(self, base: dict[str, Any], out: str, err: str, value: Any, value_error: str | None,
                error: dict[str, Any] | None, duration_ms: float) -> CallToolResult:
        structured = {**base, "stdout": out, "stderr": err, "result": value, "result_error": value_error,
                      "error": error, "duration_ms": round(duration_ms, 3)}
        parts = [("", out), ("stderr", err)]
        if value is not None:
            parts.append(("result", json.dumps(value, ensure_ascii=False)))
        if value_error:
            parts.append(("result_error", value_error))
        if error is not None:
            parts.append(("error", error["traceback"] or f"{error['type']}: {error['message']}"))
        return _result(structured, _text(*parts), error is not None)

    async def reset_session(self, ctx: Context, session_id: str | None, files: bool) -> CallToolResult:
        try:
            key = self._need_key(ctx, session_id)
            await self.table.reset(key, bool(files))
        except Exception as e:
            return _failed(e, session_id=session_id)
        what = "variables and /data files are gone" if files else "variables are gone; its /data files stay"
        return _result({"session_id": key[1], "reset": True, "files_deleted": bool(files)},
                       f"session {key[1]!r} reset to a fresh interpreter: its {what}", False)

    def _need_key(self, ctx: Context, session_id: str | None) -> tuple[str, str]:
        key = self._key(ctx, session_id)
        if key is None:
            raise ServeError("bad_argument", "without an MCP session (stateless HTTP) this tool needs a session_id")
        return key

    async def list_session(self, ctx: Context, session_id: str | None) -> CallToolResult:
        try:
            key = self._need_key(ctx, session_id)
            listed = await self.table.use(key, self._inspect)
        except Exception as e:
            return _failed(e, session_id=session_id)
        total, names = listed
        truncated = total > len(names)
        lines = [f"{n['name']}: {n['type']} = {n['repr']}" for n in names]
        if truncated:
            lines.append(f"... (the first {len(names)} of {total} names)")
        return _result({"session_id": key[1], "names": names, "truncated": truncated},
                       "\n".join(lines) if lines else "(the session defines no names yet)", False)

    def _inspect(self, e: Entry) -> tuple[int, list[dict[str, str]]]:
        s = e.session
        assert s is not None
        if s.execution_timeout_ms != self.cfg.timeout_ms:  # not the last call's own, shorter, limit
            s.execution_timeout_ms = self.cfg.timeout_ms
        try:
            r = s.execute(_inspect_code(max(min(self.cfg.max_output, 1 << 20) - 256, 0)))
        except ExecutionError as exc:
            raise ServeError("inspect_failed", f"listing the session failed: {exc}") from None
        except (TimeoutError, ResourceLimitError, CancelledError) as exc:
            raise ServeError("inspect_failed", f"listing the session failed: {exc} (its variables are gone)") from None
        # the last such line: one a __repr__ printed comes before it
        line = next((ln for ln in reversed(r.stdout_text.split("\n")) if ln.startswith(_INSPECT_MARK)), None)
        if line is None:
            raise ServeError("inspect_failed", "listing the session failed (its print was replaced?)")
        total, items = json.loads(line[len(_INSPECT_MARK):])
        return total, [{"name": k, "type": t, "repr": v} for k, t, v in items]

    async def put_file(self, ctx: Context, path: str, content: str, encoding: str,
                       session_id: str | None) -> CallToolResult:
        c = self.cfg
        try:
            key = self._need_key(ctx, session_id)
            if encoding not in ("text", "base64"):
                raise ServeError("bad_argument", f"encoding must be 'text' or 'base64', not {encoding!r}")
            if encoding == "base64":  # as wrapped by most encoders (76 a line, a final newline)
                content = "".join(content.split())
            # Refused before encoding or decoding: text is at least a byte a character, base64 4/3
            if len(content) > (c.max_file_bytes if encoding == "text" else (c.max_file_bytes + 2) // 3 * 4 + 4):
                raise ServeError("file", f"{path}: content is over the server's file cap "
                                 f"({c.max_file_bytes} bytes)")
            if encoding == "text":
                data = content.encode("utf-8", "surrogatepass")
            else:
                try:
                    data = base64.b64decode(content, validate=True)
                except (binascii.Error, ValueError) as exc:
                    raise ServeError("bad_argument", f"content is not valid base64: {exc}") from None
            size = await self.table.use(key, lambda e: self._put(e, path, data), live=False)
        except Exception as e:
            return _failed(e, session_id=session_id)
        gpath = _files.guest_path(path)
        return _result({"session_id": key[1], "path": gpath, "size": size}, f"wrote {size} bytes to {gpath}", False)

    def _put(self, e: Entry, path: str, data: bytes) -> int:
        """(worker) Writes the file; a live interpreter is evicted first, so that its next load
        gives it what is left of the /data quota after this file (its count cannot see it).
        First: if its state cannot be saved, nothing is written and the session stays live."""
        c = self.cfg
        if _files.split(path) and len(data) <= c.max_file_bytes and e.session is not None:
            self.table._evict(e)
        return _files.write(e.data, path, data, max_file_bytes=c.max_file_bytes, max_bytes=c.data_max_bytes,
                            max_files=c.data_max_files)

    async def get_file(self, ctx: Context, path: str, encoding: str | None,
                       session_id: str | None) -> CallToolResult:
        c = self.cfg
        try:
            key = self._need_key(ctx, session_id)
            if encoding not in (None, "text", "base64"):
                raise ServeError("bad_argument", f"encoding must be 'text' or 'base64', not {encoding!r}")
            data = await self.table.use(key, lambda e: _files.read(e.data, path, max_file_bytes=c.max_file_bytes),
                                        live=False, create=False)
            if encoding is None or encoding == "text":
                try:
                    text, enc = data.decode("utf-8"), "text"
                except UnicodeDecodeError:
                    if encoding == "text":
                        raise ServeError("file", f"{path} is not UTF-8 text: ask for encoding='base64'") from None
                    text, enc = base64.b64encode(data).decode("ascii"), "base64"
            else:
                text, enc = base64.b64encode(data).decode("ascii"), "base64"
        except Exception as e:
            return _failed(e, session_id=session_id)
        gpath = _files.guest_path(path)
        return _result({"session_id": key[1], "path": gpath, "encoding": enc, "size": len(data), "content": text},
                       text, False)

    async def list_files(self, ctx: Context, path: str, session_id: str | None) -> CallToolResult:
        try:
            key = self._need_key(ctx, session_id)
            files, truncated = await self.table.use(key, lambda e: _files.listing(e.data, path), live=False)
        except Exception as e:
            return _failed(e, session_id=session_id)
        lines = [f"{f['path']}{'/' if f['type'] == 'dir' else ''} ({f['type']}, {f['size']} bytes)" for f in files]
        return _result({"session_id": key[1], "files": files, "truncated": truncated},
                       "\n".join(lines) if lines else "(no files)", False)

    # ---- transports ------------------------------------------------------------------------------

    async def serve(self) -> None:
        self.table.start(self._alive_scopes)
        try:
            if self.cfg.http is None:
                await self.mcp.run_stdio_async()
            else:
                host, port = self.cfg.http
                await self._serve_http(host, port)
        finally:
            with anyio.CancelScope(shield=True):
                await self.table.close()

    async def _serve_http(self, host: str, port: int) -> None:
        import uvicorn

        # The SDK's own idle reaping of MCP sessions is our --session-idle-s too; and its session
        # bound, well above ours (evicted sessions cost no memory).
        body = max(4 << 20, self.cfg.max_file_bytes * 4 // 3 + (1 << 20))  # a put_file of --max-file-bytes, base64
        app = self.mcp.streamable_http_app(stateless_http=self.cfg.stateless, host=host,
                                           session_idle_timeout=max(self.cfg.session_idle_s * 6, 3600.0),
                                           max_sessions=10000, max_request_body_size=body)
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        # IPPROTO_TCP, not 0: asyncio sets TCP_NODELAY only on sockets whose proto says TCP, and
        # without it a JSON response (headers and body written apart) waits ~40 ms for the
        # client's delayed ACK (bench/mcp.sh: 48 -> 2 ms per call at protocol 2026-07-28).
        sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))  # bound here so port 0 works: the line below says which port it got
        sock.listen(128)
        sock.setblocking(False)
        bound = sock.getsockname()[1]
        shown = f"[{host}]" if family == socket.AF_INET6 else host
        print(f"eryx serve: listening on http://{shown}:{bound}/mcp", file=sys.stderr, flush=True)
        if host not in _SDK_LOOPBACK:
            print(f"eryx serve: warning: {host} is not a loopback address and there is no authentication nor "
                  "Host/Origin check: whoever reaches this port runs code; put it behind an authenticating proxy",
                  file=sys.stderr, flush=True)
        config = uvicorn.Config(app, log_level="warning", lifespan="on", timeout_graceful_shutdown=5)
        server = uvicorn.Server(config)
        try:
            await server.serve(sockets=[sock])
        finally:
            sock.close()


def _valid_sid(s: str) -> bool:
    return _SID_RE.fullmatch(s) is not None
