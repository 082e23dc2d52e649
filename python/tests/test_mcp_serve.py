"""python -m eryx serve, driven by the MCP SDK's own client over stdio and over
streamable HTTP (servers started here on 127.0.0.1 with an OS-picked port, and
stopped here): every tool, isError on each failure kind, isolation, eviction and
restore, the disk bound, the queue, parallel clients, a disconnect mid-call and
per-session limits. docs/MCP.md."""
from __future__ import annotations

import argparse
import base64
import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("mcp")
import anyio  # noqa: E402
from mcp import Client  # noqa: E402
from mcp.client.stdio import StdioServerParameters  # noqa: E402

SERVE = [sys.executable, "-m", "eryx", "serve"]
DEADLINE = 60  # seconds: a guard against a hung server, never a performance bound


def stdio(*args: str) -> Client:
    # The whole environment: the SDK's default passes only HOME, PATH and a few more,
    # and the sanitizer run (python/run-tests-asan.sh) needs its LD_PRELOAD in the server.
    return Client(StdioServerParameters(command=SERVE[0], args=[*SERVE[1:], *args], cwd=os.getcwd(),
                                        env=dict(os.environ)))


class HttpServer:
    """A `serve --http 127.0.0.1:0` process; url once it listens."""

    def __init__(self, tmp: Path, *args: str) -> None:
        self.log = tmp / f"serve-{time.monotonic_ns()}.log"
        self._logf = open(self.log, "w")
        self.proc = subprocess.Popen([*SERVE, "--http", "127.0.0.1:0", *args], stdout=subprocess.DEVNULL,
                                     stderr=self._logf, stdin=subprocess.DEVNULL)
        end = time.monotonic() + DEADLINE
        while True:
            m = re.search(r"listening on (http://\S+)", self.log.read_text())
            if m:
                self.url = m.group(1)
                return
            if self.proc.poll() is not None or time.monotonic() > end:
                self.stop()
                raise AssertionError(f"serve did not start: {self.log.read_text()}")
            time.sleep(0.05)

    def client(self, mode: str = "legacy") -> Client:
        # legacy: the initialize handshake, so the transport has an mcp-session-id
        return Client(self.url, mode=mode)

    def stop(self) -> int:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._logf.close()
        return self.proc.returncode


@pytest.fixture
def http_server(tmp_path: Path):
    servers: list[HttpServer] = []

    def start(*args: str) -> HttpServer:
        s = HttpServer(tmp_path, *args)
        servers.append(s)
        return s

    yield start
    for s in servers:
        s.stop()


def run(fn: Any) -> Any:
    async def guarded() -> Any:
        with anyio.fail_after(DEADLINE * 2):
            return await fn()
    return anyio.run(guarded)


async def call(c: Client, tool: str, **args: Any) -> tuple[bool, dict[str, Any], str]:
    r = await c.call_tool(tool, args)
    text = r.content[0].text if r.content else ""
    return bool(r.is_error), r.structured_content or {}, text


async def ok(c: Client, tool: str, **args: Any) -> dict[str, Any]:
    err, sc, text = await call(c, tool, **args)
    assert not err, text
    return sc


async def fails(c: Client, tool: str, kind: str | None = None, **args: Any) -> dict[str, Any]:
    err, sc, text = await call(c, tool, **args)
    assert err, f"{tool} {args} should fail: {text}"
    if kind is not None:
        assert (sc.get("error") or {}).get("type") == kind, text
    return sc


# ---- the tools, over stdio --------------------------------------------------------------------------


def test_tools_listed_with_schemas():
    async def main() -> None:
        async with stdio("--timeout", "2s") as c:
            tools = {t.name: t for t in (await c.list_tools()).tools}
            assert set(tools) == {"run_python", "reset_session", "list_session", "put_file", "get_file", "list_files"}
            rp = tools["run_python"]
            assert rp.input_schema["required"] == ["code"]
            assert set(rp.input_schema["properties"]) == {"code", "timeout_ms", "session_id"}
            assert "at most 2000" in rp.input_schema["properties"]["timeout_ms"]["description"]
            assert "persist" in rp.description
            assert tools["list_session"].annotations.read_only_hint is True
    run(main)


def test_run_python_results_and_errors():
    async def main() -> None:
        async with stdio("--timeout", "1500ms", "--max-output", "4K", "--max-memory", "64M") as c:
            sc = await ok(c, "run_python", code="x = 41\nprint('hi')\nimport sys; print('warn', file=sys.stderr)\n"
                                                 "result = {'a': x + 1}")
            assert (sc["stdout"], sc["stderr"], sc["result"], sc["error"]) == ("hi", "warn", {"a": 42}, None)
            assert sc["session_id"] == "default" and sc["execution_count"] == 1 and sc["duration_ms"] >= 0
            assert sc["restored"] is False
            err, sc, text = await call(c, "run_python", code="print(x)\n1/0")
            assert err and sc["stdout"] == "41" and sc["execution_count"] == 2
            assert sc["error"]["type"] == "ZeroDivisionError" and sc["error"]["message"] == "division by zero"
            assert "Traceback" in sc["error"]["traceback"] and "ZeroDivisionError" in text
            assert sc["stderr"] == ""  # the traceback is said once, in error
            # a result that is not JSON: result_error, not a failure
            sc = await ok(c, "run_python", code="result = object()")
            assert sc["result"] is None and sc["result_error"]
            # a timeout, capped at the server's --timeout (asking for more gets the server's)
            sc = await fails(c, "run_python", "Timeout", code="while True: pass", timeout_ms=600000)
            assert "1500 ms" in sc["error"]["message"] and "/data files stay" in sc["error"]["message"]
            sc = await fails(c, "run_python", "Timeout", code="while True: pass", timeout_ms=200)
            assert "200 ms" in sc["error"]["message"]
            await fails(c, "run_python", "OutputLimit", code="print('x' * 100000)")
            await fails(c, "run_python", "MemoryLimit", code="b = bytearray(200 << 20)")
            # the session lives on after each of them (afresh after a limit)
            assert (await ok(c, "run_python", code="print(1 + 1)"))["stdout"] == "2"
            sc = await fails(c, "run_python", "BadArgument", code="1", timeout_ms=-5)
            assert set(sc) == {"session_id", "execution_count", "restored", "stdout", "stderr", "result",
                               "result_error", "error", "duration_ms"}  # a run's keys, though nothing ran
            await fails(c, "run_python", "BadArgument", code="1", session_id="no spaces allowed")
            err, _, text = await call(c, "run_python", code=5)  # the SDK's own argument validation
            assert err and "code" in text
            err, _, _ = await call(c, "run_python")
            assert err
    run(main)


def test_sessions_state_list_and_reset():
    async def main() -> None:
        async with stdio() as c:
            await ok(c, "run_python", code="import json\ndef f(a): return a\nx = [1, 2]\nresult = 7")
            await ok(c, "run_python", code="y = 'other'", session_id="b")
            names_code = "print(sorted(k for k in globals() if not k.startswith('_')))"
            before = (await ok(c, "run_python", code=names_code))["stdout"]
            sc = await ok(c, "list_session")
            got = {n["name"]: (n["type"], n["repr"]) for n in sc["names"]}
            assert got["x"] == ("list", "[1, 2]") and got["f"][0] == "function" and got["json"][0] == "module"
            # `result` is consumed by the run that sets it (pyeryx 0.11, issue 20)
            assert "result" not in got and "y" not in got and sc["truncated"] is False
            # listing defined nothing
            sc = await ok(c, "run_python", code=names_code)
            assert sc["stdout"] == before and sc["result"] is None
            assert [n["name"] for n in (await ok(c, "list_session", session_id="b"))["names"]] == ["y"]
            # reset: variables gone, files kept unless files=true
            await ok(c, "put_file", path="keep.txt", content="kept")
            sc = await ok(c, "reset_session")
            assert sc["reset"] is True and sc["files_deleted"] is False
            sc = await fails(c, "run_python", "NameError", code="print(open('/data/keep.txt').read()); x")
            assert sc["stdout"] == "kept" and sc["execution_count"] == 1
            assert (await ok(c, "run_python", code="print(y)", session_id="b"))["stdout"] == "other"
            await ok(c, "reset_session", files=True)
            await fails(c, "get_file", "FileError", path="keep.txt")
    run(main)


def test_files(tmp_path: Path):
    state = tmp_path / "state"

    async def main() -> None:
        async with stdio("--max-file-bytes", "1K", "--data-quota", "3K", "--data-files", "8",
                         "--state-dir", str(state)) as c:
            sc = await ok(c, "put_file", path="/data/in/a.txt", content="héllo")
            assert sc == {"session_id": "default", "path": "/data/in/a.txt", "size": 6}
            blob = bytes(range(256))
            await ok(c, "put_file", path="b.bin", content=base64.encodebytes(blob).decode(), encoding="base64")
            sc = await ok(c, "run_python", code="print(open('/data/in/a.txt').read(), len(open('/data/b.bin','rb')"
                                                 ".read()))\nopen('/data/out.txt', 'w').write('from code')")
            assert sc["stdout"] == "héllo 256"
            assert (await ok(c, "get_file", path="out.txt"))["content"] == "from code"
            sc = await ok(c, "get_file", path="b.bin")  # not UTF-8: base64 when no encoding is asked
            assert sc["encoding"] == "base64" and base64.b64decode(sc["content"]) == blob
            sc = await ok(c, "get_file", path="in/a.txt", encoding="base64")
            assert base64.b64decode(sc["content"]) == "héllo".encode()
            await fails(c, "get_file", "FileError", path="b.bin", encoding="text")
            files = {f["path"]: f for f in (await ok(c, "list_files"))["files"]}
            assert files["/data/in"]["type"] == "dir" and files["/data/b.bin"]["size"] == 256
            assert set(files) == {"/data/in", "/data/in/a.txt", "/data/b.bin", "/data/out.txt"}
            # refusals: outside /data, '..', too big, over the quota, bad base64 / encoding, a directory
            for bad in ("../x", "/etc/passwd", "in/../../x", "/data", "/datax/y", "a\0b"):
                sc = await fails(c, "put_file", "FileError", path=bad, content="x")
                await fails(c, "get_file", "FileError", path=bad)
            sc = await fails(c, "put_file", "FileError", path="big", content="x" * 1025)
            assert "1024" in sc["error"]["message"]
            await fails(c, "put_file", "FileError", path="big", content=base64.b64encode(b"x" * 2000).decode(),
                        encoding="base64")
            await fails(c, "get_file", "FileError", path="in")
            await fails(c, "get_file", "FileError", path="nope.txt")
            await fails(c, "put_file", "BadArgument", path="x", content="!!!", encoding="base64")
            await fails(c, "put_file", "BadArgument", path="x", content="x", encoding="utf-16")
            await ok(c, "put_file", path="q1", content="x" * 1000)
            await ok(c, "put_file", path="q2", content="x" * 1000)
            sc = await fails(c, "put_file", "FileError", path="q3", content="x" * 1000)
            assert "quota" in sc["error"]["message"]
            # put_file and the code's writes share the quota: the guest gets what is left
            await ok(c, "run_python", code="import os; os.remove('/data/q1')")
            write_g = "with open('/data/g', 'w') as f: f.write('z' * 1500)"
            sc = await fails(c, "run_python", "OSError", code=write_g)
            assert "quota" in sc["error"]["message"].lower()
            await ok(c, "put_file", path="q2", content="x" * 10)  # a live session: evicted, restored next
            sc = await ok(c, "run_python", code=write_g)
            assert sc["restored"] is True
            await ok(c, "run_python", code="import os; os.remove('/data/g')")
            # a file the code makes too big to fetch
            await ok(c, "run_python", code="import os; os.remove('/data/q2')\n"
                                           "open('/data/huge', 'w').write('y' * 2048)")
            await fails(c, "get_file", "FileError", path="huge")
            # a symlink in /data (the guest cannot make one; a host process could) is never followed
            secret = tmp_path / "secret.txt"
            secret.write_text("host secret")
            (data,) = state.glob("sessions/*/data")
            (data / "link").symlink_to(secret)
            (data / "root").symlink_to("/")
            await fails(c, "get_file", "FileError", path="link")
            await fails(c, "get_file", "FileError", path="root/etc/passwd")
            await fails(c, "put_file", "FileError", path="root/tmp/x", content="x")
            await fails(c, "list_files", "FileError", path="root")
            files = {f["path"]: f["type"] for f in (await ok(c, "list_files"))["files"]}
            assert files["/data/link"] == "symlink" and files["/data/root"] == "symlink"
            await ok(c, "put_file", path="link", content="replaced")  # replaces the link itself
            assert secret.read_text() == "host secret" and (data / "link").read_text() == "replaced"
    run(main)


# ---- sessions over streamable HTTP --------------------------------------------------------------------


def test_http_clients_isolated(http_server):
    server = http_server("--workers", "2")

    async def main() -> None:
        async with server.client() as a, server.client() as b:
            await ok(a, "run_python", code="x = 'a'")
            await ok(a, "run_python", code="x = 'a-s'", session_id="s")
            await fails(b, "run_python", "NameError", code="x")  # b's default session
            await fails(b, "run_python", "NameError", code="x", session_id="s")  # b's own "s"
            await fails(b, "get_file", "NoSession", path="f", session_id="s2")
            await ok(b, "put_file", path="f", content="b's", session_id="s")
            await fails(a, "get_file", "FileError", path="f", session_id="s")
            assert (await ok(a, "run_python", code="print(x)"))["stdout"] == "a"
            assert (await ok(a, "run_python", code="print(x)", session_id="s"))["stdout"] == "a-s"
    run(main)


def test_http_stateless(http_server):
    server = http_server("--stateless")

    async def main() -> None:
        async with server.client() as a, server.client() as b:
            (rp,) = [t for t in (await a.list_tools()).tools if t.name == "run_python"]
            assert 'session_id="new"' in rp.input_schema["properties"]["session_id"]["description"]
            sc = await ok(a, "run_python", code="x = 1")
            assert sc["session_id"] is None  # one-shot: no MCP session, no session_id
            await fails(a, "run_python", "NameError", code="x")
            # state only through ids the server issued (unguessable): a client-chosen id is refused
            await fails(a, "run_python", "NoSession", code="y = 2", session_id="shared-1")
            res = await a.call_tool("run_python", {"code": "y = 2", "session_id": "new"})
            sid = res.structured_content["session_id"]
            assert not res.is_error and sid.startswith("s-") and len(sid) >= 20
            assert sid in res.content[0].text  # a model that reads only the text sees the id
            # the id is the handle: whoever holds it reaches the session (b here), a fresh "new" does not
            assert (await ok(b, "run_python", code="print(y)", session_id=sid))["stdout"] == "2"
            other = await b.call_tool("run_python", {"code": "print('y' in globals())", "session_id": "new"})
            assert other.structured_content["stdout"] == "False" and other.structured_content["session_id"] != sid
            assert [n["name"] for n in (await ok(a, "list_session", session_id=sid))["names"]] == ["y"]
            await fails(a, "list_session", "BadArgument")
    run(main)


def test_eviction_restore_and_mcp_session_end(http_server, tmp_path: Path):
    state = tmp_path / "state"
    server = http_server("--session-idle-s", "0.3", "--max-sessions", "2", "--state-dir", str(state))
    blobs = lambda: sorted(state.glob("sessions/*/state.bin"))  # noqa: E731

    async def main() -> None:
        async with server.client() as a:
            await ok(a, "run_python", code="x = 41")
            await ok(a, "put_file", path="f.txt", content="kept")
            end = time.monotonic() + DEADLINE
            while not blobs():  # the sweeper evicts the idle session to disk
                assert time.monotonic() < end, "never evicted"
                await anyio.sleep(0.05)
            sc = await ok(a, "run_python", code="print(x + 1, open('/data/f.txt').read())")
            assert sc["stdout"] == "42 kept" and sc["restored"] is True and sc["execution_count"] == 2
            assert not blobs()  # live again: the blob is gone
            # --max-sessions 2: a third session evicts the least recently used one
            for sid in ("s1", "s2", "s3"):
                await ok(a, "run_python", code=f"v = {sid!r}", session_id=sid)
            for sid in ("s1", "s2", "s3"):
                sc = await ok(a, "run_python", code="print(v)", session_id=sid)
                assert sc["stdout"] == sid
        # the MCP session ended (the client's DELETE): its sessions and files go
        end = time.monotonic() + DEADLINE
        while list(state.glob("sessions/*")):
            assert time.monotonic() < end, "the ended MCP session's sessions stayed"
            await anyio.sleep(0.05)
    run(main)


def test_max_evicted_bytes_discards(http_server):
    # a snapshot is hundreds of KiB: over a 64K bound, an evicted session is discarded at once
    server = http_server("--max-sessions", "1", "--max-evicted-bytes", "64K")

    async def main() -> None:
        async with server.client() as a:
            await ok(a, "run_python", code="x = 1", session_id="old")
            await ok(a, "run_python", code="y = 1", session_id="new")  # evicts "old", then drops it
            sc = await fails(a, "run_python", "SessionDiscarded", code="print(x)", session_id="old")
            assert "max-evicted-bytes" in sc["error"]["message"]
            await fails(a, "run_python", "NameError", code="x", session_id="old")  # then a fresh one
    run(main)


def test_busy_and_disconnect_mid_call(http_server):
    server = http_server("--workers", "1", "--max-queue", "0", "--timeout", "120s")

    async def main() -> None:
        started = anyio.Event()

        async def long_call() -> None:
            async with server.client() as c:
                started.set()
                while True:  # b's probes may hold the one worker for a moment: then this one is busy
                    err, sc, _ = await call(c, "run_python", code="while True: pass")  # noqa: F841
                    assert err and (sc.get("error") or {}).get("type") == "Busy", _
                    await anyio.sleep(0.01)

        async with server.client() as b, anyio.create_task_group() as tg:
            tg.start_soon(long_call)
            await started.wait()
            end = time.monotonic() + DEADLINE
            while True:  # once the long call runs, the one worker is taken and the queue is 0
                err, sc, _ = await call(b, "run_python", code="1")
                if err and sc["error"]["type"] == "Busy":
                    assert "busy" in sc["error"]["message"]
                    break
                assert time.monotonic() < end, "never busy"
                await anyio.sleep(0.2)
            tg.cancel_scope.cancel()  # the client goes away mid-call
        async with server.client() as b:
            end = time.monotonic() + DEADLINE  # the long call (120 s) was cancelled, not waited for
            while True:
                err, sc, _ = await call(b, "run_python", code="print('still here')")
                if not err:
                    assert sc["stdout"] == "still here"
                    break
                assert sc["error"]["type"] == "Busy" and time.monotonic() < end
                await anyio.sleep(0.1)
    run(main)


def test_twenty_clients_in_parallel(http_server):
    server = http_server("--workers", "2")

    async def main() -> None:
        results: dict[int, str] = {}

        async def one(i: int) -> None:
            async with server.client() as c:
                await ok(c, "run_python", code=f"v = {i} * 2")
                results[i] = (await ok(c, "run_python", code="print(v)"))["stdout"]

        async with anyio.create_task_group() as tg:
            for i in range(20):
                tg.start_soon(one, i)
        assert results == {i: str(i * 2) for i in range(20)}
    run(main)


def test_limits_apply_to_every_session(http_server):
    server = http_server("--max-memory", "64M")

    async def main() -> None:
        async with server.client() as a, server.client() as b:
            for c in (a, b):
                await ok(c, "run_python", code="keep = bytearray(16 << 20)")
                sc = await fails(c, "run_python", "MemoryLimit", code="big = bytearray(100 << 20)")
                assert "64 MiB" in sc["error"]["message"]
            await ok(a, "run_python", code="print(len(bytearray(16 << 20)))")
    run(main)


def test_usage_errors():
    for args in (["--stateless"], ["--timeout", "soon"], ["--http", "nohost"], ["--max-queue", "-1"]):
        r = subprocess.run([*SERVE, *args], capture_output=True, text=True, stdin=subprocess.DEVNULL)
        assert r.returncode == 2, (args, r.stderr)
        assert "error" in r.stderr
    # --timeout 0.3 is refused with python -m eryx's message (it once read as 0 ms: no timeout)
    msg = "'0.3': a bare --timeout is whole milliseconds; for seconds write 0.3s"
    for cmd in ([*SERVE, "--timeout", "0.3"], [sys.executable, "-m", "eryx", "--timeout", "0.3", "-c", "pass"]):
        r = subprocess.run(cmd, capture_output=True, text=True, stdin=subprocess.DEVNULL)
        assert r.returncode == 2 and msg in r.stderr, (cmd, r.stderr)


def test_inner_mcp_tools(tmp_path: Path):
    fixture = str(Path(__file__).with_name("mcp_fixture_server.py"))
    config = tmp_path / "mcp.json"
    config.write_text(json.dumps({"mcpServers": {"fx": {"command": sys.executable, "args": [fixture]}}}))

    async def main() -> None:
        async with stdio("--mcp-config", str(config)) as c:
            (rp,) = [t for t in (await c.list_tools()).tools if t.name == "run_python"]
            assert "await mcp.fx.add(**kwargs): Adds two integers" in rp.description
            sc = await ok(c, "run_python", code="result = await mcp.fx.add(a=2, b=3)")
            assert sc["result"] == {"sum": 5, "a": 2, "b": 3}
            sc = await fails(c, "run_python", code="await mcp.fx.fail(message='no luck')")
            assert "no luck" in sc["error"]["message"]
    run(main)


def test_durations_and_signals(tmp_path: Path):
    from types import SimpleNamespace

    from eryx.serve._args import ServeConfig, seconds, timeout_ms
    from eryx.serve._server import Server
    from eryx.serve._sessions import ServeError
    assert [timeout_ms(t) for t in ("500ms", "2s", "1.5m", "30000", "0")] == [500, 2000, 90000, 30000, 0]
    # the same parser as python -m eryx's --timeout: a bare fraction is refused, not read as 0 ms
    import eryx.__main__ as cli
    assert timeout_ms is cli._timeout_ms
    with pytest.raises(argparse.ArgumentTypeError, match="a bare --timeout is whole milliseconds; for seconds "
                                                          "write 0.3s"):
        timeout_ms("0.3")
    # a call's timeout_ms: capped by --timeout; without one (0), bounded as the flag is
    assert Server._timeout(SimpleNamespace(cfg=ServeConfig(timeout_ms=2000)), 10 ** 30) == 2000
    assert Server._timeout(SimpleNamespace(cfg=ServeConfig(timeout_ms=None)), 5000) == 5000
    with pytest.raises(ServeError, match="under 10"):
        Server._timeout(SimpleNamespace(cfg=ServeConfig(timeout_ms=None)), 10 ** 30)
    assert [seconds(t) for t in ("300", "5m", "500ms")] == [300, 300, 0.5]
    # SIGTERM ends the server, stdio or HTTP, and its private state directory goes
    for extra in ([], ["--http", "127.0.0.1:0"]):
        tmp = tmp_path / f"t{len(extra)}"
        tmp.mkdir()
        proc = subprocess.Popen([*SERVE, *extra], stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
                                stderr=subprocess.PIPE, env={**os.environ, "TMPDIR": str(tmp)})
        end = time.monotonic() + DEADLINE
        while not list(tmp.glob("eryx-serve-*/sessions")):
            assert proc.poll() is None and time.monotonic() < end
            time.sleep(0.05)
        if extra:
            assert "listening on http://127.0.0.1:" in proc.stderr.readline().decode()
        proc.terminate()
        time.sleep(0.02)
        proc.terminate()  # a second signal does not interrupt the first one's unwinding
        assert proc.wait(DEADLINE) == 0
        assert list(tmp.iterdir()) == []
        proc.stdin.close()
        assert "warning" not in proc.stderr.read().decode()  # loopback: the SDK checks Host and Origin
        proc.stderr.close()


def test_state_dir_is_one_servers(tmp_path: Path):
    state = tmp_path / "state"
    (state / "sessions" / "stale").mkdir(parents=True)  # an earlier server's: its snapshots cannot be restored
    first = subprocess.Popen([*SERVE, "--state-dir", str(state)], stdin=subprocess.PIPE,
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        end = time.monotonic() + DEADLINE
        while (state / "sessions" / "stale").exists():
            assert first.poll() is None and time.monotonic() < end
            time.sleep(0.05)
        second = subprocess.run([*SERVE, "--state-dir", str(state)], capture_output=True, text=True,
                                stdin=subprocess.DEVNULL, timeout=DEADLINE)
        assert second.returncode == 2 and "in use by another eryx serve" in second.stderr
    finally:
        first.stdin.close()  # end of input: the server ends
        assert first.wait(DEADLINE) == 0
    assert (state / "sessions").is_dir()  # a given state dir is kept


def test_cancelled_call_stops_its_execution():
    async def main() -> None:
        async with stdio("--workers", "1", "--timeout", "120s") as c:
            await ok(c, "run_python", code="x = 1")
            with anyio.move_on_after(1):  # the client gives up: the SDK sends notifications/cancelled
                await c.call_tool("run_python", {"code": "while True: pass"})
            # the one worker and the session are free again long before the loop's 120 s
            sc = await ok(c, "run_python", code="print('next')")
            assert sc["stdout"] == "next"
            await fails(c, "run_python", "NameError", code="x")  # cancelled: the session started afresh
    run(main)


# ---- host-side file operations, in process --------------------------------------------------------


def test_files_special_entries_and_many_directories(tmp_path: Path):
    from eryx.serve import _files
    root = tmp_path / "data"
    (root / "d").mkdir(parents=True)
    os.mkfifo(root / "fifo")  # a read would block without a writer: refused before any open
    with pytest.raises(_files.FileError, match="not a regular file"):
        _files.read(str(root), "fifo", max_file_bytes=100)
    with pytest.raises(_files.FileError, match="is a directory"):
        _files.read(str(root), "d", max_file_bytes=100)
    # 300 directories listed under a limit of 64 descriptors: one is open at a time
    for i in range(300):
        (root / "d" / f"{i:03}").mkdir()
        (root / "d" / f"{i:03}" / "f").write_text("x")
    code = ("import resource, sys; from eryx.serve import _files; "
            "resource.setrlimit(resource.RLIMIT_NOFILE, (64, 64)); "
            "out, cut = _files.listing(sys.argv[1]); print(len(out), cut, sum(f['type'] == 'dir' for f in out))")
    r = subprocess.run([sys.executable, "-c", code, str(root)], capture_output=True, text=True, timeout=DEADLINE)
    assert r.returncode == 0, r.stderr
    assert r.stdout.split() == ["602", "False", "301"]
    out, cut = _files.listing(str(root), "/data/d/007")
    assert out == [{"path": "/data/d/007/f", "type": "file", "size": 1}] and not cut
    # a guest can nest /data 1,500 deep: counted and listed without recursion, one descriptor
    deep = root / "deep"
    try:
        deep.mkdir()
        fd = os.open(deep, os.O_RDONLY)
        for _ in range(1500):  # as the guest does it (os.makedirs is recursive too)
            os.mkdir("a", dir_fd=fd)
            fd, old = os.open("a", os.O_RDONLY, dir_fd=fd), fd
            os.close(old)
        os.write(f := os.open("f", os.O_WRONLY | os.O_CREAT, 0o600, dir_fd=fd), b"xyz")
        os.close(f)
        os.close(fd)
        assert _files.usage(str(deep)) == (3, 1501)
        out, cut = _files.listing(str(root), "deep")
        assert len(out) == 1000 and cut and out[2]["path"] == "/data/deep/a/a/a"
        with pytest.raises(_files.FileError, match="no such file"):
            _files.listing(str(root), "nope")
        (deep / "a" / "link").symlink_to(root / "d")  # removed as a link, never followed
    finally:  # shutil.rmtree (and pytest's clean-up) raise RecursionError here, the tree left
        _files.remove_tree(str(deep))
    assert sorted(os.listdir(root)) == ["d", "fifo"] and len(os.listdir(root / "d")) == 300


def test_http_unchecked_session_header_is_no_scope(http_server):
    # The SDK does not check mcp-session-id on a sessionless (2026-07-28) request: a
    # header two clients agree on must not give them a scope with client-chosen ids.
    import httpx2
    from mcp.client.streamable_http import streamable_http_client
    server = http_server()

    def spoofing() -> Client:
        http = httpx2.AsyncClient(headers={"mcp-session-id": "agreed"}, timeout=DEADLINE)
        return Client(streamable_http_client(server.url, http_client=http))

    async def main() -> None:
        async with spoofing() as a, spoofing() as b:
            await fails(a, "run_python", "NoSession", code="x = 1", session_id="shared")
            sc = await ok(a, "run_python", code="x = 1")
            assert sc["session_id"] is None  # a one-shot sandbox, as without the header
            await fails(b, "run_python", "NameError", code="x")
    run(main)


def test_outputs_bounded_by_max_output():
    async def main() -> None:
        async with stdio("--max-output", "2K") as c:
            # a `result` over --max-output is not returned (a result_error; the run succeeded)
            sc = await ok(c, "run_python", code="result = 'r' * 5000")
            assert sc["result"] is None and "--max-output" in sc["result_error"]
            # list_session fits its listing under --max-output: past it the session would start afresh
            await ok(c, "run_python", code="for i in range(60): globals()[f'v{i:02}'] = 'x' * 500\n"
                                           "globals()['n' * 5000] = 1\nglobals()[7] = 'not a name'")
            sc = await ok(c, "list_session")
            assert sc["truncated"] is True and 0 < len(sc["names"]) < 61
            assert all(len(n["name"]) <= 100 and len(n["repr"]) <= 200 for n in sc["names"])
            assert (await ok(c, "run_python", code="print(len(v59))"))["stdout"] == "500"
    run(main)


def test_session_kept_live_when_its_state_cannot_be_saved(tmp_path: Path, monkeypatch, capsys):
    import errno

    from eryx.serve._args import ServeConfig
    from eryx.serve._sessions import ServeError, SessionTable
    table = SessionTable(ServeConfig(max_sessions=1, workers=1), str(tmp_path))
    run = lambda code: lambda e: e.session.execute(code).stdout_text.rstrip("\n")  # noqa: E731
    real_replace = os.replace

    def disk_full(src: str, dst: str) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    async def main() -> None:
        await table.use(("c", "a"), run("x = 1"))
        a = table.entries[("c", "a")]
        monkeypatch.setattr(os, "replace", disk_full)
        # no room for b: a cannot be evicted, so it stays live (not lost) and b is refused
        with pytest.raises(ServeError, match="none could be saved to disk"):
            await table.use(("c", "b"), run("y = 2"))
        assert a.session is not None and list(table.live) == [("c", "a")]
        assert os.listdir(a.root) == ["data"]  # no half-written snapshot left
        assert "not evicted: the session's state could not be saved" in capsys.readouterr().err
        assert await table.use(("c", "a"), run("print(x)")) == "1"
        monkeypatch.setattr(os, "replace", real_replace)
        assert await table.use(("c", "b"), run("y = 2; print(y)")) == "2"  # a goes to disk now
        assert a.session is None and os.path.exists(a.blob)
        # a caller cancelled while its session loads leaves it accounted for (live, under the bound)
        load = table._load
        monkeypatch.setattr(table, "_load", lambda e: (time.sleep(0.3), load(e)))
        task = asyncio.ensure_future(table.use(("c", "a"), run("print(x)")))
        await asyncio.sleep(0.1)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert a.session is not None and list(table.live) == [("c", "a")] and ("c", "a") not in table.evicted
        await table.close()

    import asyncio
    asyncio.run(main())
    # an unexpected OSError reaches the client as its reason, without the host path in it
    from eryx.serve._server import _failed
    res = _failed(OSError(errno.ENOSPC, "No space left on device", str(tmp_path / "sessions")))
    assert res.is_error and res.structured_content["error"] == {
        "type": "OSError", "message": "No space left on device", "traceback": None}


def test_deep_data_tree():
    # A guest can nest /data 1,200 deep: the server's walks (the disk bound, the quota at load,
    # list_files, reset) must not recurse (RecursionError left such a session unaccounted for).
    async def main() -> None:
        async with stdio("--max-sessions", "1", "--data-files", "5000") as c:
            await ok(c, "run_python", code="import os\nos.chdir('/data')\nfor _ in range(1200):\n    os.mkdir('a'); os.chdir('a')\n"
                                           "open('f', 'w').write('deep')", session_id="d")
            await ok(c, "run_python", code="y = 1")  # evicts d: its /data is counted on disk
            sc = await ok(c, "run_python", code="print(open('/data/' + 'a/' * 1200 + 'f').read())", session_id="d")
            assert sc["stdout"] == "deep" and sc["restored"] is True
            assert (await ok(c, "list_files", session_id="d"))["truncated"] is True
            await ok(c, "reset_session", files=True, session_id="d")
            assert (await ok(c, "list_files", session_id="d"))["files"] == []
    run(main)


def test_console_script_names_itself():
    script = Path(sys.executable).with_name("eryx-serve")  # installed beside the venv's python
    out = subprocess.run([str(script), "--bogus"], capture_output=True, text=True, timeout=DEADLINE)
    assert out.returncode == 2 and out.stderr.splitlines()[-1] == "eryx-serve: error: unrecognized arguments: --bogus"
    out = subprocess.run([*SERVE, "--bogus"], capture_output=True, text=True, timeout=DEADLINE)
    assert out.returncode == 2 and out.stderr.splitlines()[-1].startswith("python -m eryx serve: error:")
