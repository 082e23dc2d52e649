"""Tests of eryx.mcp (issue 19): MCPManager against the fixture MCP server
(mcp_fixture_server.py, started over stdio by the SDK's client), the tools called
from guest code in a Sandbox and a Session, errors, the callback timeout, server
discovery from config files and --mcp-config on `python -m eryx`."""
import argparse
import gc
import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

import eryx
from eryx.mcp import MCPManager, MCPToolError, add_arguments, connect_servers, discover_servers, \
    manager_from_arguments

pytest.importorskip("mcp.client")

FIXTURE = str(Path(__file__).with_name("mcp_fixture_server.py"))
TOOLS = ["add", "greet", "config", "pixel", "fail", "protocol_error", "slow", "text.upper", "word-count", "big", "noise", "die", "flood"]


@pytest.fixture(scope="module")
def manager():
    m = MCPManager()
    assert m.connect("fixture", sys.executable, [FIXTURE], {"FIXTURE_GREETING": "Hi"}) == len(TOOLS)
    yield m
    m.close()


def _gone(pid: int, within: float = 10.0) -> bool:
    end = time.monotonic() + within
    while time.monotonic() < end:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True  # reaped: a zombie would still answer
        time.sleep(0.05)
    return False


def _run(box, code: str):
    r = box.execute(code)
    return r.result


# ---- the manager -------------------------------------------------------------------------

def test_connect_list_tools_server_names(manager):
    assert manager.server_names == ["fixture"]
    tools = {t["name"]: t for t in manager.list_tools()}
    assert list(tools) == [f"mcp.fixture.{n}" for n in TOOLS]
    assert tools["mcp.fixture.add"]["description"] == "Adds two integers (structured output)."
    assert tools["mcp.fixture.add"]["schema"]["properties"].keys() == {"a", "b"}
    assert tools["mcp.fixture.add"]["schema"]["required"] == ["a", "b"]
    # The callbacks eryx gets: identifier names, the others hex-escaped for the guest to decode.
    names = [cb["name"] for cb in manager._callbacks()]
    assert names[:7] == [f"mcp.fixture.{n}" for n in TOOLS[:7]]
    assert names[7] == "mcp.fixture._x_" + b"text.upper".hex()
    assert "MCPManager(servers=['fixture'])" == repr(manager)
    tools["mcp.fixture.add"]["schema"]["properties"].clear()  # a copy: the callbacks keep theirs
    assert manager.list_tools()[0]["schema"]["properties"].keys() == {"a", "b"}


def test_every_result_mapping_in_a_sandbox(manager):
    sb = eryx.Sandbox(mcp=manager)
    got = _run(sb, """
result = {
    "structured": await mcp.fixture.add(a=1, b=2),
    "subscript": await mcp["fixture"]["add"](3, 4),
    "text": await mcp.fixture.greet(name="eryx"),
    "json_text": await mcp.fixture.config(key="k"),
    "image": await mcp.fixture.pixel(),
    "dotted": await mcp["fixture"]["text.upper"](text="abc"),
    "dashed": await mcp.fixture["word-count"](text="a b c"),
}""")
    assert got["structured"] == {"sum": 3, "a": 1, "b": 2}
    assert got["subscript"] == {"sum": 7, "a": 3, "b": 4}  # positional: the schema's order
    assert got["text"] == {"text": "Hi, eryx!"}  # env reached the server
    assert got["json_text"] == {"key": "k", "values": [1, 2, 3], "on": True}
    assert got["image"] == {"text": "", "content": [{"type": "image", "data": "iVBORw0KGgo=",
                                                     "mimeType": "image/png"}]}
    assert got["dotted"] == {"text": "ABC"}
    assert got["dashed"] == {"words": 3}


def test_factory_sandbox_has_the_tools(manager):
    sb = eryx.SandboxFactory().create_sandbox(mcp=manager)
    assert _run(sb, "result = await mcp.fixture.add(a=5, b=6)")["sum"] == 11


def test_guest_namespace_and_list_callbacks(manager):
    got = _run(eryx.Sandbox(mcp=manager), """
names = [c["name"] for c in list_callbacks()]
errors = []
for probe in (lambda: mcp["nope"], lambda: mcp.fixture["nope"]):
    try:
        probe()
    except KeyError as e:
        errors.append(str(e))
result = {"names": names, "servers": list(mcp), "tools": list(mcp.fixture), "errors": errors,
          "has": ["fixture" in mcp, "text.upper" in mcp.fixture, "x" in mcp.fixture],
          "fn": mcp.fixture["word-count"].__name__, "same": mcp.fixture.add is mcp["fixture"]["add"]}""")
    assert got["names"] == [f"mcp.fixture.{n}" for n in TOOLS]  # as written, not escaped
    assert got["servers"] == ["fixture"] and got["tools"] == TOOLS
    assert got["errors"] == ["'nope'", "'nope'"]
    assert got["has"] == [True, True, False]
    assert got["fn"] == "word-count" and got["same"] is True


def test_session_keeps_results_and_calls_tools(manager):
    s = eryx.Session(mcp=manager)
    s.execute("r = await mcp.fixture.add(a=20, b=22)")
    assert _run(s, "result = [r['sum'], await mcp['fixture']['greet'](name='again')]") == [42, {"text": "Hi, again!"}]
    s.reset()  # a reset session still has the tools
    assert _run(s, "result = await mcp.fixture.add(a=1, b=1)") == {"sum": 2, "a": 1, "b": 1}


def test_session_clear_state_and_messages_name_tools_as_written(manager):
    s = eryx.Session(mcp=manager)
    s.execute("x = await mcp.fixture.add(a=1, b=1)\nmcp.fixture.add = None")  # the session's own namespace
    s.clear_state()  # the names executions added go; the tools stay
    assert _run(s, "result = ['x' in globals(), sorted(mcp), callable(mcp.fixture['greet'])]") == \
        [False, ["fixture"], True]
    s.reset()  # a fresh interpreter: the namespace as set up
    got = _run(s, """
try:
    await mcp.fixture["word-count"]("a", "b")
except TypeError as e:
    result = [str(e), (await mcp.fixture.add(a=1, b=2))["sum"]]""")
    assert got == ["mcp.fixture.word-count() takes 1 positional arguments but 2 were given", 3]
    sb = eryx.Sandbox(mcp=manager, resource_limits=eryx.ResourceLimits(max_callback_invocations=1))
    got = _run(sb, """
await mcp.fixture["word-count"](text="a")
try:
    await mcp.fixture["word-count"](text="b")
except CallbackError as e:
    result = str(e)""")
    assert got == "callback mcp.fixture.word-count: the callback invocation limit is reached"


def test_tool_errors_raise_in_the_guest_with_their_message(manager):
    got = _run(eryx.Sandbox(mcp=manager), """
out = []
for call in (mcp.fixture.fail(message="disk on fire"), mcp.fixture.protocol_error(message="bad request x"),
             mcp.fixture.add(a="not a number", b=1)):
    try:
        await call
        out.append(None)
    except CallbackError as e:
        out.append(str(e))
result = out""")
    assert "MCPToolError: Error executing tool fail: disk on fire" in got[0]
    assert "bad request x (MCP error -32602)" in got[1]
    assert "validation error" in got[2]


def test_slow_tool_under_the_callback_timeout(manager):
    sb = eryx.Sandbox(mcp=manager, resource_limits=eryx.ResourceLimits(callback_timeout_ms=300))
    got = _run(sb, """
try:
    await mcp.fixture.slow(seconds=3)
    result = "answered"
except CallbackError as e:
    result = str(e)""")
    assert "callback mcp.fixture.slow did not answer within 300 ms" == got  # eryx's timeout, in the guest
    # The host side gave up too (the request was cancelled): every call slot is free again.
    end = time.monotonic() + 10
    while manager._slots._value != manager._max_calls and time.monotonic() < end:
        time.sleep(0.05)
    assert manager._slots._value == manager._max_calls
    assert _run(sb, "result = await mcp.fixture.add(a=2, b=3)")["sum"] == 5


def test_host_call_is_bounded_by_the_callback_timeout(manager):
    # Called directly (as eryx's thread does), the call gives up 0.5 s after the guest would have.
    fn = {cb["name"]: cb["fn"] for cb in manager._callbacks(200)}["mcp.fixture.slow"]
    with pytest.raises(MCPToolError, match=r"did not answer within 0.7 s \(the request was cancelled\)"):
        fn(seconds=3)


def test_calls_at_once_with_gather(manager):
    got = _run(eryx.Sandbox(mcp=manager), """
import asyncio
result = await asyncio.gather(*[mcp.fixture.slow(seconds=0.3) for _ in range(4)],
                              *[mcp.fixture.add(a=i, b=i) for i in range(8)])""")
    assert got[:4] == [{"text": "slept 0.3"}] * 4
    assert [g["sum"] for g in got[4:]] == [2 * i for i in range(8)]


def test_concurrent_call_bound():
    m = MCPManager(max_concurrent_calls=1)
    try:
        m.connect("fx", sys.executable, [FIXTURE])
        slow = {cb["name"]: cb["fn"] for cb in m._callbacks(5000)}["mcp.fx.slow"]
        t = threading.Thread(target=slow, kwargs={"seconds": 1.0})
        t.start()
        end = time.monotonic() + 10
        while m._slots._value and time.monotonic() < end:  # the slow call holds the only slot
            time.sleep(0.01)
        add = {cb["name"]: cb["fn"] for cb in m._callbacks(100)}["mcp.fx.add"]
        with pytest.raises(MCPToolError, match="1 MCP calls are already in flight"):
            add(a=1, b=2)
        t.join()
        assert add(a=1, b=2) == {"sum": 3, "a": 1, "b": 2}
    finally:
        m.close()


def test_large_answer_is_bounded_and_disconnects(monkeypatch, tmp_path):
    # A message over MAX_MESSAGE_BYTES ends the connection (the server is stopped and
    # reaped) with a clear error; one under it arrives whole over many pipe reads.
    monkeypatch.setattr(eryx.mcp, "MAX_MESSAGE_BYTES", 1 << 20)
    pid_file = tmp_path / "pid"
    with MCPManager() as m:
        m.connect("fx", sys.executable, [FIXTURE], {"FIXTURE_PID_FILE": str(pid_file)})
        big = {cb["name"]: cb["fn"] for cb in m._callbacks(20000)}["mcp.fx.big"]
        assert big(n=900_000) == {"text": "x" * 900_000}
        with pytest.raises(MCPToolError, match=r"'fx': the server sent a message of more than 1 MiB; it was disconnected"):
            big(n=2_000_000)
        assert _gone(int(pid_file.read_text()))
        with pytest.raises(MCPToolError, match="not connected: the server sent a message of more than 1 MiB"):
            big(n=1)


def test_a_server_flooding_its_own_requests_is_disconnected(monkeypatch, tmp_path):
    # Each request of the server's is a task of the SDK's until its answer is written;
    # a server that does not read its stdin would pile them up without bound.
    monkeypatch.setattr(eryx.mcp, "MAX_SERVER_REQUESTS", 16)
    pid_file = tmp_path / "pid"
    with MCPManager() as m:
        m.connect("fx", sys.executable, [FIXTURE], {"FIXTURE_PID_FILE": str(pid_file)})
        flood = {cb["name"]: cb["fn"] for cb in m._callbacks(60000)}["mcp.fx.flood"]
        with pytest.raises(MCPToolError, match="more than 16 requests that were not answered yet .* disconnected"):
            flood(n=20000)
        assert _gone(int(pid_file.read_text()))


def test_garbage_on_stdout_and_a_crash_mid_call(tmp_path):
    pid_file = tmp_path / "pid"
    with MCPManager() as m:
        m.connect("fx", sys.executable, [FIXTURE], {"FIXTURE_PID_FILE": str(pid_file)})
        fns = {cb["name"]: cb["fn"] for cb in m._callbacks(20000)}
        assert fns["mcp.fx.noise"]() == {"text": "after the noise"}  # lines that do not parse are passed over
        t0 = time.monotonic()
        with pytest.raises(MCPToolError, match=r"Connection closed \(MCP error -32000\)"):
            fns["mcp.fx.die"]()
        assert time.monotonic() - t0 < 15  # a bound (not its 20 s timeout), not a speed
        assert _gone(int(pid_file.read_text()))  # reaped
        with pytest.raises(MCPToolError, match="Connection closed"):
            fns["mcp.fx.add"](a=1, b=2)
        assert m.server_names == ["fx"]  # listed until closed; its calls fail at once


def test_close_while_a_call_is_handed_to_the_loop(monkeypatch):
    # The window between a call taking the loop and handing itself over, held open:
    # close() waits for the hand-over (then cancels the call), so the call fails with
    # MCPToolError, not RuntimeError from a closed loop nor a wait for its timeout.
    import asyncio
    m = MCPManager()
    m.connect("fx", sys.executable, [FIXTURE])
    add = {cb["name"]: cb["fn"] for cb in m._callbacks(60000)}["mcp.fx.add"]
    real = asyncio.run_coroutine_threadsafe
    handing, closed = threading.Event(), threading.Event()

    def held_open(coro, loop):
        if threading.current_thread().name == "caller":
            handing.set()
            closed.wait(3)
        return real(coro, loop)
    monkeypatch.setattr(asyncio, "run_coroutine_threadsafe", held_open)
    outcome: list[BaseException] = []

    def caller():
        try:
            add(a=1, b=2)
        except BaseException as e:  # noqa: BLE001 - recorded
            outcome.append(e)
    t = threading.Thread(target=caller, name="caller")
    t.start()
    assert handing.wait(30)
    m.close()
    closed.set()
    t.join(30)
    assert not t.is_alive() and len(outcome) == 1
    assert isinstance(outcome[0], MCPToolError) and "closed" in str(outcome[0]), outcome


class _FakeTools:
    """A connected client's tools/list, for _list_tools (hostile tool lists)."""

    def __init__(self, pages):
        from mcp_types import ListToolsResult, ServerCapabilities, Tool, ToolsCapability
        self.server_capabilities = ServerCapabilities(tools=ToolsCapability())
        self.pages = [ListToolsResult(tools=[Tool(name=n, input_schema=sch) for n, sch in page],
                                      next_cursor=str(i + 1) if i + 1 < len(pages) else None)
                      for i, page in enumerate(pages)]

    async def list_tools(self, cursor=None):
        return self.pages[int(cursor or 0)]


def test_hostile_tool_lists_are_refused_at_connect():
    import asyncio
    from eryx.mcp import _list_tools
    obj = {"type": "object"}
    assert [t.name for t in asyncio.run(_list_tools(_FakeTools([[("a", obj)], [("b", obj)]])))] == ["a", "b"]
    with pytest.raises(ValueError, match="lists the tool 'a' twice"):  # would fail every sandbox's build
        asyncio.run(_list_tools(_FakeTools([[("a", obj)], [("a", obj)]])))
    huge = {"type": "object", "properties": {f"p{i}": {"type": "string", "description": "d" * 1000}
                                             for i in range(5000)}}
    with pytest.raises(ValueError, match="tools .* take more than 4 MiB"):
        asyncio.run(_list_tools(_FakeTools([[("a", huge)]])))


def test_close_racing_calls_ends_every_call_with_a_tool_error():
    # Calls from many callback threads while close() runs: each ends promptly with
    # MCPToolError (never another exception, never a wait for its whole timeout).
    m = MCPManager()
    m.connect("fx", sys.executable, [FIXTURE])
    add = {cb["name"]: cb["fn"] for cb in m._callbacks(60000)}["mcp.fx.add"]
    outcome: list[BaseException] = []

    def caller():
        try:
            while True:
                add(a=1, b=2)
        except BaseException as e:  # noqa: BLE001 - recorded
            outcome.append(e)
    threads = [threading.Thread(target=caller) for _ in range(8)]
    for t in threads:
        t.start()
    time.sleep(0.3)
    m.close()
    for t in threads:
        t.join(30)  # a bound, not a speed: far below the calls' 60 s timeout
    assert not any(t.is_alive() for t in threads)
    assert len(outcome) == 8 and all(isinstance(e, MCPToolError) for e in outcome), outcome


# ---- connect failures, names, close ---------------------------------------------------------

def test_connect_failures_are_initialization_errors(tmp_path):
    m = MCPManager()
    try:
        with pytest.raises(eryx.InitializationError, match="cannot start '/nonexistent/srv': no such file"):
            m.connect("missing", "/nonexistent/srv")
        with pytest.raises(eryx.InitializationError, match="ended the connection.*its stderr: no config here"):
            m.connect("exits", sys.executable, ["-c", "import sys; sys.exit('no config here')"])
        with pytest.raises(eryx.InitializationError, match="handshake failed: Method not found"):
            m.connect("echo", "cat")  # echoes our requests back: not an MCP server
        pid_file = tmp_path / "pid"
        t0 = time.monotonic()
        with pytest.raises(eryx.InitializationError, match=r"'hang' .*no MCP handshake within 1 s"):
            m.connect("hang", sys.executable, [FIXTURE, "--hang"], {"FIXTURE_PID_FILE": str(pid_file)},
                      timeout_secs=1)
        assert time.monotonic() - t0 < 30  # a bound (no hang), not a speed: the timeout plus the SDK shutdown
        assert _gone(int(pid_file.read_text()), within=1)  # stopped and reaped before connect returned
        assert m.server_names == []
        # The names stay free after a failure.
        assert m.connect("exits", sys.executable, [FIXTURE, "--no-tools"]) == 0
        assert m.server_names == ["exits"] and m.list_tools() == []
    finally:
        m.close()


def test_bad_arguments():
    m = MCPManager()
    for name in ["a.b", "1x", "", "-x", "x y", "é", "x" * 65, None]:
        with pytest.raises(ValueError, match="MCP server name"):
            m.connect(name, "cat")
    with pytest.raises(TypeError, match="args"):
        m.connect("x", "cat", "not-a-list")
    with pytest.raises(TypeError, match="env"):
        m.connect("x", "cat", [], {"A": 1})
    for bad in (0, -1, float("nan"), float("inf"), "3"):
        with pytest.raises(ValueError, match="timeout_secs"):
            m.connect("x", "cat", [], {}, bad)
    with pytest.raises(ValueError, match="max_concurrent_calls"):
        MCPManager(max_concurrent_calls=0)
    with pytest.raises(TypeError, match="mcp must be an eryx.mcp.MCPManager"):
        eryx.Sandbox(mcp="fixture")
    assert m.server_names == []
    m.close()


def test_duplicate_name_and_close(tmp_path):
    pid_file = tmp_path / "pid"
    with MCPManager() as m:
        m.connect("srv", sys.executable, [FIXTURE], {"FIXTURE_PID_FILE": str(pid_file)})
        with pytest.raises(ValueError, match="already connected"):
            m.connect("srv", sys.executable, [FIXTURE])
        pid = int(pid_file.read_text())
        sb = eryx.Sandbox(mcp=m)
        assert _run(sb, "result = await mcp.srv.add(a=1, b=1)")["sum"] == 2
        fn = m._callbacks()[0]["fn"]
    assert _gone(pid, within=1)  # the with block closed it: graceful exit, reaped
    assert m.server_names == [] and m.list_tools() == []
    m.close()  # idempotent
    with pytest.raises(MCPToolError, match="not connected"):
        fn(a=1, b=2)
    got = _run(sb, "try:\n    await mcp.srv.add(a=1, b=1)\nexcept CallbackError as e:\n    result = str(e)")
    assert "MCP server 'srv' is not connected" in got
    assert m._thread is None  # the loop thread ended


def test_garbage_collection_and_exit_stop_the_servers(tmp_path):
    pid_file = tmp_path / "pid"
    m = MCPManager()
    m.connect("gc", sys.executable, [FIXTURE], {"FIXTURE_PID_FILE": str(pid_file)})
    pid = int(pid_file.read_text())
    del m
    gc.collect()
    assert _gone(pid)
    # A script that never closes its manager: closed at interpreter exit (this atexit
    # handler, registered before eryx.mcp's, runs after it).
    code = ("import atexit, sys; atexit.register(lambda: print('at exit', m.server_names, m._thread)); "
            "from eryx.mcp import MCPManager; m = MCPManager(); "
            f"print(m.connect('x', sys.executable, [{FIXTURE!r}], {{'FIXTURE_PID_FILE': {str(pid_file)!r}}}))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert (out.returncode, out.stdout, out.stderr) == (0, f"{len(TOOLS)}\nat exit [] None\n", "")
    assert _gone(int(pid_file.read_text()), within=1)


# ---- discovery ------------------------------------------------------------------------------

def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def test_discover_servers_from_every_default_source(tmp_path, monkeypatch):
    home, project = tmp_path / "home", tmp_path / "project"
    project.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.chdir(project)
    monkeypatch.setenv("MCP_TOKEN", "t0k")
    monkeypatch.delenv("MCP_UNSET", raising=False)

    def srv(cmd, **extra):
        return {"command": cmd, **extra}
    _write(home / ".claude.json", json.dumps({
        "mcpServers": {"claude_user": srv("cu", args=["-x"], env={"TOKEN": "$MCP_TOKEN", "B": "${MCP_TOKEN}",
                                                                  "C": "${MCP_UNSET:-dflt}", "D": "$MCP_UNSET"}),
                       "shared": srv("from-user")},
        "projects": {str(project): {"mcpServers": {"claude_local": srv("cl")}}, "/elsewhere": {
            "mcpServers": {"other_project": srv("no")}}}}))
    _write(home / ".cursor" / "mcp.json", json.dumps({"mcpServers": {
        "cursor_user": srv("cur"), "off": srv("x", disabled=True), "off2": srv("x", enabled=False),
        "remote": {"url": "https://example.invalid/mcp"}}}))
    _write(home / ".codeium" / "windsurf" / "mcp_config.json", json.dumps({"mcpServers": {
        "windsurf": srv("ws"), "ws_remote": {"serverUrl": "https://example.invalid"}}}))
    _write(home / ".config" / "zed" / "settings.json", json.dumps({"context_servers": {
        "zed_new": {"source": "custom", "command": "zn", "args": ["a"]},
        "zed_old": {"command": {"path": "zo", "args": ["b"], "env": {"E": "1"}}}}}))
    _write(home / ".gemini" / "settings.json", json.dumps({"mcpServers": {
        "gemini": srv("gm"), "gm_http": {"httpUrl": "https://example.invalid"}}}))
    _write(home / ".codex" / "config.toml", '[mcp_servers.codex]\ncommand = "cx"\nargs = ["--stdio"]\n'
                                            '[mcp_servers.codex.env]\nK = "${MCP_TOKEN}"\n'
                                            '[mcp_servers.codex_off]\ncommand = "x"\nenabled = false\n')
    _write(project / ".mcp.json", json.dumps({"mcpServers": {"shared": srv("from-project"),
                                                             "bad.name": srv("x")}}))
    _write(project / ".cursor" / "mcp.json", json.dumps({"mcpServers": {"cursor_project": srv("cp")}}))
    _write(project / ".vscode" / "mcp.json", json.dumps({"servers": {
        "vscode": {"type": "stdio", "command": "vs"}, "vs_http": {"type": "http", "url": "https://x.invalid"}}}))
    _write(project / ".zed" / "settings.json", "{ not json")
    _write(project / ".gemini" / "settings.json", json.dumps({"mcpServers": {"gemini_project": srv("gp")}}))
    _write(project / ".codex" / "config.toml", "[mcp_servers.codex_project]\ncommand = 'cxp'\n")

    errors: list[str] = []
    found = discover_servers(errors=errors)
    assert sorted(found) == sorted(["claude_user", "shared", "claude_local", "cursor_user", "windsurf", "zed_new",
                                    "zed_old", "gemini", "codex", "cursor_project", "vscode", "gemini_project",
                                    "codex_project"])
    assert found["claude_user"] == {"command": "cu", "args": ["-x"],
                                    "env": {"TOKEN": "t0k", "B": "t0k", "C": "dflt", "D": ""}}
    assert found["shared"]["command"] == "from-project"  # project level overrides user level
    assert found["zed_old"] == {"command": "zo", "args": ["b"], "env": {"E": "1"}}
    assert found["zed_new"] == {"command": "zn", "args": ["a"], "env": {}}
    assert found["codex"] == {"command": "cx", "args": ["--stdio"], "env": {"K": "t0k"}}
    assert len(errors) == 2
    assert any(".zed/settings.json: not valid JSON" in e for e in errors)
    assert any("'bad.name'" in e and "namespace" in e for e in errors)
    monkeypatch.chdir(tmp_path)  # no project files, and not the project Claude knows
    assert "claude_local" not in discover_servers() and "shared" in discover_servers()
    _write(home / ".claude.json", json.dumps({"projects": ["not", "an", "object"]}))  # odd, not fatal
    assert "claude_user" not in discover_servers()


def test_discover_refuses_odd_files(tmp_path, monkeypatch):
    monkeypatch.setattr(eryx.mcp, "MAX_CONFIG_BYTES", 10_000)
    fifo, big, deep, latin, link = (tmp_path / n for n in ("fifo.json", "big.json", "deep.json", "latin.json",
                                                          "link.json"))
    os.mkfifo(fifo)  # would block an ordinary open
    big.write_text(json.dumps({"mcpServers": {"a": {"command": "x" * 20_000}}}))
    deep.write_text("[" * 9000)  # deeper than the recursion limit
    latin.write_bytes(b'{"mcpServers": {"\xe9": {"command": "x"}}}')  # Latin-1, not UTF-8
    link.symlink_to("/dev/zero")
    errors: list[str] = []
    assert discover_servers([fifo, big, deep, latin, link, tmp_path], errors=errors) == {}
    assert len(errors) == 6
    assert "fifo.json: cannot read: not a regular file" in errors[0]
    assert "big.json: cannot read: larger than" in errors[1]
    assert "deep.json: not valid JSON" in errors[2]
    assert "latin.json: cannot read" in errors[3]
    assert "link.json: cannot read: not a regular file" in errors[4]
    assert "cannot read: not a regular file" in errors[5]  # a directory


def test_discover_explicit_paths(tmp_path):
    a, b, t = tmp_path / "a.json", tmp_path / "b.json", tmp_path / "c.toml"
    a.write_text(json.dumps({"mcpServers": {"one": {"command": "1"}, "two": {"command": "2"}}}))
    b.write_text(json.dumps({"servers": {"two": {"command": "2b", "args": ["$HOME"]}}}))
    t.write_text("[mcp_servers.three]\ncommand = '3'\n")
    errors: list[str] = []
    found = discover_servers([a, str(b), t, tmp_path / "missing.json"], errors=errors)
    assert found == {"one": {"command": "1", "args": [], "env": {}},
                     "two": {"command": "2b", "args": [os.environ["HOME"]], "env": {}},
                     "three": {"command": "3", "args": [], "env": {}}}
    assert errors == [f"MCP config {tmp_path / 'missing.json'}: no such file"]
    with pytest.raises(TypeError):
        discover_servers(str(a))


def test_connect_servers_collects_failures(tmp_path):
    cfg = tmp_path / "mcp.json"
    cfg.write_text(json.dumps({"mcpServers": {
        "fixture": {"command": sys.executable, "args": [FIXTURE]},
        "broken": {"command": "/nonexistent/srv"},
        "remote": {"url": "https://example.invalid/mcp"}}}))
    errors: list[str] = []
    m = connect_servers([cfg], connect_timeout=20, errors=errors)
    try:
        assert m is not None and m.server_names == ["fixture"]
        assert errors == ["MCP server 'broken' (/nonexistent/srv): cannot start '/nonexistent/srv': "
                          "no such file or command"]
    finally:
        m.close()
    cfg.write_text(json.dumps({"mcpServers": {"broken": {"command": "/nonexistent/srv"}}}))
    errors = []
    assert connect_servers([cfg], errors=errors) is None and len(errors) == 1
    assert connect_servers([tmp_path / "none.json"]) is None


# ---- the CLI flags ------------------------------------------------------------------------

def test_argparse_helpers(tmp_path):
    p = argparse.ArgumentParser()
    add_arguments(p)
    assert manager_from_arguments(p.parse_args([])) is None
    opts = p.parse_args(["--mcp-config", str(tmp_path / "a.json"), "--mcp-config", str(tmp_path / "b.json")])
    assert opts.mcp_config == [str(tmp_path / "a.json"), str(tmp_path / "b.json")] and not opts.mcp
    errors: list[str] = []
    assert manager_from_arguments(opts, errors=errors) is None
    assert len(errors) == 2 and all("no such file" in e for e in errors)
    empty = tmp_path / "empty.json"
    empty.write_text('{"mcpServers": {"remote": {"url": "https://example.invalid/mcp"}}}')
    errors = []
    assert manager_from_arguments(p.parse_args(["--mcp-config", str(empty)]), errors=errors) is None
    assert errors == [f"no stdio MCP server is configured in {empty}"]


def test_python_m_eryx_mcp_config(tmp_path):
    cfg = tmp_path / "mcp.json"
    cfg.write_text(json.dumps({"mcpServers": {"fixture": {"command": sys.executable, "args": [FIXTURE]},
                                              "broken": {"command": "/nonexistent/srv"}}}))
    out = subprocess.run([sys.executable, "-m", "eryx", "--mcp-config", str(cfg), "-c",
                          "print((await mcp.fixture.add(a=20, b=22))['sum'])"],
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout == "42\n"
    assert out.stderr == ("eryx: mcp: MCP server 'broken' (/nonexistent/srv): cannot start '/nonexistent/srv': "
                          "no such file or command\n")
    # Piped code (read whole, run once) has the tools too.
    out = subprocess.run([sys.executable, "-m", "eryx", "--mcp-config", str(cfg)], capture_output=True,
                         text=True, timeout=120, input="r = await mcp.fixture.greet(name='repl')\nprint(r['text'])\n")
    assert out.returncode == 0, out.stderr
    assert out.stdout == "Hello, repl!\n"
