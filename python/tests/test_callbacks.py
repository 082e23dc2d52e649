"""Tests of host callbacks from the Python module: sync, async and keyword calls,
CallbackRegistry and schema inference, concurrency under asyncio.gather, errors,
limits, timeouts, a sandbox freed while a callback runs, invalid definitions."""
import asyncio
import threading
import time

import pytest

import eryx

def test_callbacks_sync_async_and_kwargs():
    def add(a: int, b: int = 2) -> int:
        """Adds two numbers.

        Not this line."""
        return a + b

    async def shout(text: str) -> str:
        await asyncio.sleep(0.01)
        return text.upper()

    sb = eryx.Sandbox(callbacks=[{"name": "add", "fn": add}, {"name": "shout", "fn": shout, "description": "loud"}])
    r = sb.execute("print(await add(a=1), await add(1, 5), await shout(text='hi'))\n"
                   "result = {c['name']: c['description'] for c in list_callbacks()}")
    assert r.stdout == b"3 6 HI\n"
    assert r.callback_invocations == 3
    assert r.result == {"add": "Adds two numbers.", "shout": "loud"}


def test_callback_registry():
    reg = eryx.CallbackRegistry()

    @reg.callback(description="the time")
    def now() -> float:
        return 1234.5

    @reg.callback(name="math.double", schema={"type": "object", "properties": {"x": {"type": "number"}}})
    async def double(x):
        return x * 2

    reg.add(lambda: None, name="nothing")
    assert len(reg) == 3
    entries = list(reg)
    assert [e["name"] for e in entries] == ["now", "math.double", "nothing"]
    assert entries[0]["description"] == "the time" and entries[0]["fn"] is now
    assert set(entries[0]) == {"name", "fn", "description", "schema"}
    with pytest.raises(ValueError, match="already registered"):
        reg.add(now)
    r = eryx.Sandbox(callbacks=reg).execute("print(await now(), await math.double(x=21), await nothing())")
    assert r.stdout == b"1234.5 42 None\n"
    # a registry and dicts together
    r = eryx.Sandbox(callbacks=[reg, {"name": "one", "fn": lambda: 1}]).execute("print(await one())")
    assert r.stdout == b"1\n"


def test_schema_inference():
    def f(s: str, i: int, x: float, flag: bool, xs: list, d: dict, n: None, opt: int = 3, anything=None):
        pass
    schema = eryx.infer_schema(f)
    props = schema["properties"]
    assert props["s"] == {"type": "string"} and props["i"] == {"type": "integer"}
    assert props["x"] == {"type": "number"} and props["flag"] == {"type": "boolean"}
    assert props["xs"] == {"type": "array"} and props["d"] == {"type": "object"}
    assert props["n"] == {"type": "null"} and props["anything"] == {}
    assert schema["required"] == ["s", "i", "x", "flag", "xs", "d", "n"]
    reg = eryx.CallbackRegistry()
    reg.add(f)
    assert list(reg)[0]["schema"] == schema
    # the guest sees it
    r = eryx.Sandbox(callbacks=reg).execute("result = list_callbacks()[0]['parameters']")
    assert r.result == schema


def test_gather_runs_callbacks_concurrently():
    # Each call waits until all four are in flight at once (no wall-clock bound: a
    # busy machine slows them, it does not serialize them); run one after another,
    # the first would wait alone and give up.
    lock, entered = threading.Lock(), [0]

    def arrive() -> None:
        with lock:
            entered[0] += 1

    def all_in() -> bool:
        with lock:
            return entered[0] % 4 == 0

    async def slow(ms: int) -> int:
        arrive()
        deadline = time.monotonic() + 20
        while not all_in():
            if time.monotonic() > deadline:
                raise RuntimeError("the other calls never started: not concurrent")
            await asyncio.sleep(0.005)
        return ms

    def blocking(ms: int) -> int:
        arrive()
        deadline = time.monotonic() + 20
        while not all_in():
            if time.monotonic() > deadline:
                raise RuntimeError("the other calls never started: not concurrent")
            time.sleep(0.005)
        return ms

    sb = eryx.Sandbox(callbacks=[{"name": "slow", "fn": slow}, {"name": "blocking", "fn": blocking}],
                      resource_limits=eryx.ResourceLimits(execution_timeout_ms=60_000, callback_timeout_ms=30_000))
    for _ in range(2):  # the second time, the first's callback threads are idle and reused
        r = sb.execute("import asyncio\n"
                       "xs = await asyncio.gather(slow(ms=300), slow(ms=300), blocking(ms=300), blocking(ms=300))\n"
                       "result = xs")
        assert r.result == [300, 300, 300, 300]
    assert entered[0] == 8


def test_callback_errors_reach_the_guest():
    def fails(x: int):
        raise KeyError(f"no item {x}")

    def unserializable():
        return {1, 2}

    sb = eryx.Sandbox(callbacks=[{"name": "fails", "fn": fails}, {"name": "bad", "fn": unserializable}])
    r = sb.execute("try:\n    await fails(x=7)\nexcept CallbackError as e:\n    print('caught', e)")
    assert "caught" in r.stdout_text and "no item 7" in r.stdout_text
    r = sb.execute("try:\n    await bad()\nexcept CallbackError as e:\n    print('caught', e)")
    assert "caught" in r.stdout_text and "serializable" in r.stdout_text
    with pytest.raises(eryx.ExecutionError) as ei:
        sb.execute("await fails(x=1)")
    assert "CallbackError" in ei.value.traceback


def test_callback_invocation_limit():
    sb = eryx.Sandbox(callbacks=[{"name": "ping", "fn": lambda: "pong"}],
                      resource_limits=eryx.ResourceLimits(max_callback_invocations=2))
    r = sb.execute("out = []\nfor i in range(3):\n    try:\n        out.append(await ping())\n"
                   "    except CallbackError as e:\n        out.append('refused')\nresult = out")
    assert r.result == ["pong", "pong", "refused"]
    assert r.callback_invocations == 2  # calls started; the refused one never ran


def test_callback_timeout():
    def sleepy():
        time.sleep(1.0)
        return 1
    sb = eryx.Sandbox(callbacks=[{"name": "sleepy", "fn": sleepy}],
                      resource_limits=eryx.ResourceLimits(callback_timeout_ms=100))
    r = sb.execute("try:\n    await sleepy()\nexcept CallbackError as e:\n    print('timed out')")
    assert r.stdout == b"timed out\n"


def test_sandbox_freed_while_a_callback_runs():
    """A late call (past its timeout) still runs when its sandbox goes away: freeing
    waits for it, and no call starts afterwards, so nothing uses freed objects."""
    import gc
    ran = []

    def sleepy(i: int):
        time.sleep(0.3)
        ran.append(i)
        return i

    for n in range(3):
        sb = eryx.Sandbox(callbacks=[{"name": "sleepy", "fn": sleepy}],
                          resource_limits=eryx.ResourceLimits(callback_timeout_ms=20))
        r = sb.execute("import asyncio\nres = await asyncio.gather(*(sleepy(i=i) for i in range(4)), "
                       "return_exceptions=True)\nresult = [type(x).__name__ for x in res]")
        assert r.result == ["CallbackError"] * 4
        t0 = time.monotonic()
        del sb
        gc.collect()
        assert time.monotonic() - t0 < 2
    assert eryx.Sandbox().execute("print('still fine')").stdout == b"still fine\n"


def test_callbacks_invalid():
    # the reference's exceptions: KeyError for a missing key, TypeError for a name that is not a str
    with pytest.raises(KeyError, match="missing 'name'"):
        eryx.Sandbox(callbacks=[{"fn": print}])
    with pytest.raises(KeyError, match="missing 'fn'"):
        eryx.Sandbox(callbacks=[{"name": "x"}])
    with pytest.raises(TypeError, match="name must be a str"):
        eryx.Sandbox(callbacks=[{"name": 3, "fn": print}])
    with pytest.raises(TypeError, match="callable"):
        eryx.Sandbox(callbacks=[{"name": "x", "fn": 3}])
    with pytest.raises(ValueError):
        eryx.Sandbox(callbacks=[{"name": "not-an-identifier", "fn": print}])
    with pytest.raises(ValueError, match="twice"):
        eryx.Sandbox(callbacks=[{"name": "a", "fn": print}, {"name": "a", "fn": print}])


