"""Tests of durable execution (docs/DURABLE.md): execute_with_journal on Sandbox and
Session, ReplayOutcome, SuspendCallback and SuspendedCallback, as pyeryx 0.11 does
them, and the signed journals eryx adds. Assertions read the result variable, not
stdout, so they hold whether stdout is str or bytes."""
import json
import os
import subprocess
import sys
import threading

import pytest

import eryx

KEY = b"k" * 32


class Host:
    """Callbacks that count their live calls: get numbers each call, susp suspends
    until approved, slow answers after a while."""

    def __init__(self):
        self.lock = threading.Lock()
        self.calls = []
        self.approved = False

    def get(self, x: int, y: int = 0):
        with self.lock:
            self.calls.append(("get", x))
            return {"seq": len(self.calls), "x": x, "y": y}

    def susp(self, ticket: int):
        with self.lock:
            self.calls.append(("susp", ticket))
        if not self.approved:
            raise eryx.SuspendCallback(f"approve ticket {ticket}")
        return "approved"

    async def slow(self):
        import asyncio
        await asyncio.sleep(0.2)
        with self.lock:
            self.calls.append(("slow", 0))
        return "slow"

    def fail(self):
        raise LookupError("no such record")

    def callbacks(self):
        return [{"name": n, "fn": getattr(self, n), "description": n} for n in ("get", "susp", "slow", "fail")]


@pytest.fixture
def host():
    return Host()


def test_record_then_replay_does_not_call_the_host(host):
    sb = eryx.Sandbox(callbacks=host.callbacks())
    code = ("a = await get(x=1)\nc = await get(y=2, x=3)\n"
            "try:\n    await fail()\n    e = None\nexcept RuntimeError as exc:\n    e = str(exc)\n"
            "result = [a['seq'], c['seq'], e]")
    first = sb.execute_with_journal(code)
    assert first.error is None and first.suspended is None and first.replayed_callbacks == 0
    assert first.result.result == [1, 2, "callback fail failed: LookupError: no such record"]
    j = first.journal
    assert j["code"] == code
    assert [(e["index"], e["name"], e["args_json"]) for e in j["entries"]] == [
        (0, "get", '{"x":1}'), (1, "get", '{"x":3,"y":2}'), (2, "fail", "{}")]
    assert j["entries"][0]["result"] == {"Ok": {"seq": 1, "x": 1, "y": 0}}
    assert "Err" in j["entries"][2]["result"]
    assert "signature" not in j
    assert len(host.calls) == 2

    again = sb.execute_with_journal(code, json.loads(json.dumps(j)))
    assert again.replayed_callbacks == 3 and again.result.result == first.result.result
    assert len(host.calls) == 2  # nothing ran live
    assert again.journal["entries"] == j["entries"]
    assert repr(again) == "ReplayOutcome(ok=true, journal_entries=3, replayed_callbacks=3, suspended=None)"


def test_replay_is_a_fifo_per_name_and_arguments(host):
    sb = eryx.Sandbox(callbacks=host.callbacks())
    first = sb.execute_with_journal("result = [(await get(x=1))['seq'], (await get(x=2))['seq'], "
                                    "(await get(x=1))['seq']]")
    assert first.result.result == [1, 2, 3]
    # x=2 first, then the x=1 entries in their order; a third x=1 is a miss: live
    out = sb.execute_with_journal("result = [(await get(x=2))['seq'], (await get(x=1))['seq'], "
                                  "(await get(x=1))['seq'], (await get(x=1))['seq']]", first.journal)
    assert out.result.result == [2, 1, 3, 4]
    assert out.replayed_callbacks == 3 and len(host.calls) == 4


def test_the_first_miss_makes_the_rest_live(host):
    sb = eryx.Sandbox(callbacks=host.callbacks())
    first = sb.execute_with_journal("result = [(await get(x=1))['seq'], (await get(x=2))['seq']]")
    out = sb.execute_with_journal("result = [(await get(x=1))['seq'], (await get(x=9))['seq'], "
                                  "(await get(x=2))['seq']]", first.journal)
    assert out.result.result == [1, 3, 4]  # x=2 is in the journal, but after the miss it runs live
    assert out.replayed_callbacks == 1 and len(out.journal["entries"]) == 3


def test_suspension_in_the_middle_of_a_gather_then_resume(host):
    sb = eryx.Sandbox(callbacks=host.callbacks())
    code = ("import asyncio\na = await get(x=1)\n"
            "r = await asyncio.gather(get(x=2), slow(), susp(ticket=7), get(x=3))\n"
            "result = [a['seq'], r[1], r[2]]")
    out = sb.execute_with_journal(code)
    assert out.result is None
    s = out.suspended
    assert isinstance(s, eryx.SuspendedCallback)
    assert (s.name, s.args_json, s.reason) == ("susp", '{"ticket":7}', "approve ticket 7")
    assert repr(s) == 'SuspendedCallback(name="susp", args_json="{\\"ticket\\":7}", reason="approve ticket 7")'
    assert isinstance(out.error, eryx.ExecutionError) and str(out.error) == "execution suspended: approve ticket 7"
    assert "suspended=Some(\"susp\")" in repr(out)
    names = [e["name"] for e in out.journal["entries"]]
    assert "susp" not in names  # the suspended call is not journaled
    assert names[0] == "get" and "slow" in names  # slow was running: waited for and journaled
    live_before = len(host.calls)

    host.approved = True
    resumed = sb.execute_with_journal(code, out.journal)
    assert resumed.error is None and resumed.suspended is None
    assert resumed.result.result == [1, "slow", "approved"]
    live = host.calls[live_before:]
    assert ("susp", 7) in live and ("slow", 0) not in live  # only what was not journaled ran again
    assert resumed.replayed_callbacks + len(live) == 5


def test_suspension_rolls_a_session_back(host):
    s = eryx.Session(callbacks=host.callbacks())
    s.execute("x = 1")
    code = "x = 2\ny = await get(x=5)\nz = await susp(ticket=1)\nresult = [x, y['seq'], z]"
    out = s.execute_with_journal(code)
    assert out.suspended is not None and out.suspended.reason == "approve ticket 1"
    assert s.execution_count == 1  # a suspended run does not count
    assert s.execute("result = [x, 'y' in globals()]").result == [1, False]
    host.approved = True
    resumed = s.execute_with_journal(code, out.journal)
    assert resumed.result.result == [2, 1, "approved"]
    assert resumed.replayed_callbacks == 1 and [c for c in host.calls if c[0] == "get"] == [("get", 5)]
    assert s.execute("result = [x, z]").result == [2, "approved"]


def test_a_timeout_rolls_a_session_back_too(host):
    s = eryx.Session(callbacks=host.callbacks(), execution_timeout_ms=500)
    s.execute("x = 1")
    out = s.execute_with_journal("x = 2\nwhile True: pass")
    assert isinstance(out.error, eryx.TimeoutError) and out.suspended is None and out.result is None
    assert out.journal == {"code": "x = 2\nwhile True: pass", "entries": []}
    assert s.execute("result = x").result == 1


def test_suspension_outside_a_journal_is_an_execution_error(host):
    sb = eryx.Sandbox(callbacks=host.callbacks())
    with pytest.raises(eryx.ExecutionError, match="execution suspended: approve ticket 3"):
        sb.execute("try:\n    await susp(ticket=3)\nexcept BaseException:\n    pass")
    assert sb.execute("result = 1").result == 1


_WRITER = """
import json, sys, eryx
calls = []
def get(x):
    calls.append(x)
    return x * 10
def susp():
    raise eryx.SuspendCallback("later")
sb = eryx.Sandbox(callbacks=[{"name": "get", "fn": get}, {"name": "susp", "fn": susp}])
out = sb.execute_with_journal(sys.argv[2], key=sys.argv[3].encode())
assert out.suspended is not None and calls == [1, 2], (out, calls)
with open(sys.argv[1], "w") as f:
    json.dump(out.journal, f)
"""


def test_a_journal_resumes_in_another_process(host, tmp_path):
    code = "a = await get(x=1)\nb = await get(x=2)\nawait susp()\nresult = a + b"
    path = tmp_path / "journal.json"
    subprocess.run([sys.executable, "-c", _WRITER, str(path), code, KEY.decode()], check=True, timeout=300,
                   capture_output=True)
    journal = json.loads(path.read_text())
    assert journal["signature"].startswith("hmac-sha256:")

    def get(x):
        raise AssertionError("replayed calls must not run")

    sb = eryx.Sandbox(callbacks=[{"name": "get", "fn": get}, {"name": "susp", "fn": lambda: None}])
    out = sb.execute_with_journal(code, journal, key=KEY)
    assert out.error is None and out.result.result == 30 and out.replayed_callbacks == 2


def test_signed_journals(host):
    sb = eryx.Sandbox(callbacks=host.callbacks())
    code = "result = (await get(x=1))['seq']"
    first = sb.execute_with_journal(code, key=KEY)
    assert first.journal["signature"].startswith("hmac-sha256:")
    assert sb.execute_with_journal(code, first.journal, key=KEY).replayed_callbacks == 1
    tampered = json.loads(json.dumps(first.journal))
    tampered["entries"][0]["result"]["Ok"]["seq"] = 99
    with pytest.raises(ValueError, match="signature does not verify"):
        sb.execute_with_journal(code, tampered, key=KEY)
    with pytest.raises(ValueError, match="signature does not verify"):
        sb.execute_with_journal(code, first.journal, key=b"o" * 32)
    with pytest.raises(ValueError, match="is signed"):
        sb.execute_with_journal(code, first.journal)
    unsigned = sb.execute_with_journal(code).journal
    with pytest.raises(ValueError, match="not signed"):
        sb.execute_with_journal(code, unsigned, key=KEY)
    with pytest.raises(ValueError, match="at least 32 bytes"):
        sb.execute_with_journal(code, key=b"short")
    with pytest.raises(TypeError):
        sb.execute_with_journal(code, key="a str key of more than 32 characters")
    assert len(host.calls) == 2  # the refused ones ran nothing


def test_a_signed_journal_survives_json_round_trips():
    # The signature covers the values, not their spelling: floats, unicode, indentation and key order
    # as Python's json writes them still verify.
    def data(q: str = ""):
        return {"q": q, "f": 0.1, "e": 1e-07, "u": "h\u00e9llo \U0001F40D", "n": None, "i": 2**62, "l": [1.5, True]}

    sb = eryx.Sandbox(callbacks=[{"name": "data", "fn": data}])
    first = sb.execute_with_journal("result = await data(q='\u00e9')", key=KEY)
    for text in (json.dumps(first.journal), json.dumps(first.journal, indent=2, sort_keys=True, ensure_ascii=True)):
        out = sb.execute_with_journal("result = await data(q='\u00e9')", json.loads(text), key=KEY)
        assert out.error is None and out.replayed_callbacks == 1 and out.result.result == first.result.result


def test_an_async_callback_suspends():
    async def wait(n: int):
        raise eryx.SuspendCallback({"n": n})  # any reason; it is surfaced as text

    out = eryx.Sandbox(callbacks=[{"name": "wait", "fn": wait}]).execute_with_journal("await wait(3)")
    assert out.suspended.name == "wait" and out.suspended.args_json == '{"n":3}'
    assert out.suspended.reason == "{'n': 3}"


@pytest.mark.parametrize("journal, message", [
    ("a string", "expected a dict"),
    ({}, 'no "code"'),
    ({"code": "x"}, 'no "entries"'),
    ({"code": "x", "entries": 1}, 'no "entries"'),
    ({"code": "x", "entries": [{"name": "get"}]}, 'entry 0 has no integer "index"'),
    ({"code": "x", "entries": [{"index": 0, "name": "get", "args_json": "{}", "result": {"Ok": 1, "Err": "e"}}]},
     "entry 0 has a \"result\" that is not"),
    ({"code": "x", "entries": [{"index": 0, "name": "get", "args_json": "{}", "result": "Ok"}]},
     'no "result" object'),
    ({"code": "x", "entries": [], "bad": float("nan")}, "not JSON"),
    ({"code": "x", "entries": [], "bad": object()}, "not JSON"),
])
def test_a_malformed_journal_is_a_value_error(host, journal, message):
    sb = eryx.Session(callbacks=host.callbacks())
    sb.execute("x = 1")
    with pytest.raises(ValueError, match="Invalid journal: .*" + message.replace("(", r"\(")):
        sb.execute_with_journal("x = 2\nawait get(x=1)", journal)
    assert host.calls == [] and sb.execute("result = x").result == 1  # nothing ran, nothing lost


def test_a_reference_journal_replays(host):
    # pyeryx 0.11's journals carry an args_hash (a 64-bit hash eryx ignores).
    sb = eryx.Sandbox(callbacks=host.callbacks())
    journal = {"code": "x", "entries": [{"index": 0, "name": "get", "args_hash": 13678510947902898134,
                                         "args_json": "{\"x\": 1}", "result": {"Ok": {"seq": 41}}}]}
    out = sb.execute_with_journal("result = (await get(x=1))['seq']", journal)
    assert out.result.result == 41 and out.replayed_callbacks == 1 and host.calls == []


def test_no_callbacks_gives_an_empty_journal():
    out = eryx.Sandbox().execute_with_journal("result = 6 * 7")
    assert out.result.result == 42 and out.journal == {"code": "result = 6 * 7", "entries": []}
    err = eryx.Sandbox().execute_with_journal("raise KeyError('k')")
    assert err.result is None and isinstance(err.error, eryx.ExecutionError) and err.suspended is None
    assert repr(err).startswith("ReplayOutcome(ok=false, journal_entries=0")


def test_exports():
    for name in ("ReplayOutcome", "SuspendedCallback", "SuspendCallback"):
        assert name in eryx.__all__ and hasattr(eryx, name)
    assert issubclass(eryx.SuspendCallback, Exception)
    assert os.path.basename(eryx._journal.__file__) == "_journal.py"


def test_a_pooled_sandbox_journals_suspends_and_replays(host):
    factory = eryx.SandboxFactory()
    with factory.create_pool(max_size=1) as pool:
        with pool.acquire(callbacks=host.callbacks()) as sb:
            code = "a = await get(x=1)\nb = await susp(ticket=7)\nresult = [a['seq'], b]"
            first = sb.execute_with_journal(code)
            assert first.result is None and first.suspended.name == "susp"
            assert first.suspended.reason == "approve ticket 7"
            assert [e["name"] for e in first.journal["entries"]] == ["get"]
            host.approved = True
            done = sb.execute_with_journal(code, first.journal, key=None)
            assert done.error is None and done.replayed_callbacks == 1
            assert done.result.result == [1, "approved"]
            assert [c[0] for c in host.calls] == ["get", "susp", "susp"]  # get ran once
        with pytest.raises(ValueError):
            sb.execute_with_journal("pass")  # released
        with pool.acquire() as plain:
            with pytest.raises(ValueError, match="[Jj]ournal"):
                plain.execute_with_journal("pass", {"entries": "nope"})
