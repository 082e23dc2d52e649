"""Tests of the pyeryx 0.11 behaviours issue 20 aligned (the reference's semantics,
checked against pyeryx 0.11.0): the result variable consumed by the run that sets
it, result_error's text, callback failures as RuntimeError, invoke() and
list_callbacks() in every sandbox, the reprs, SandboxFactory.create_session."""
import re

import pytest

import eryx


# ---- the result variable ----------------------------------------------------------------

def test_session_result_is_consumed_by_the_run_that_sets_it():
    s = eryx.Session()
    assert s.execute("result = 5").result == 5
    r = s.execute("pass")
    assert r.result is None and r.result_json is None and r.result_error is None
    # deleted from the session's globals, as the reference does (not only left unreported)
    assert s.execute("print('result' in globals())").stdout == b"False\n"
    # a failed run consumes it too
    with pytest.raises(eryx.ExecutionError):
        s.execute("result = 3\nraise ValueError('x')")
    r = s.execute("print('result' in globals())")
    assert r.stdout == b"False\n" and r.result is None
    # the other names stay
    s.execute("x = 7\nresult = x")
    assert s.execute("result = x * 2").result == 14


def test_session_custom_result_variable_is_consumed():
    s = eryx.Session(result_variable="out")
    assert s.execute("out = [1, 'a']").result == [1, "a"]
    assert s.execute("result = 9").result is None  # only the named variable is reported
    assert s.execute("print('out' in globals(), 'result' in globals())").stdout == b"False True\n"


@pytest.mark.parametrize("code, error", [
    ("result = object()", "result is not JSON-serializable: object (TypeError)"),
    ("result = {1, 2}", "result is not JSON-serializable: set (TypeError)"),
    ("result = [object()]", "result is not JSON-serializable: list (TypeError)"),
    ("result = float('nan')", "result is not JSON-serializable: float (ValueError)"),
])
def test_result_not_json_serializable(code, error):
    s = eryx.Session()
    r = s.execute(code + "\nprint('ran')")
    assert r.stdout == b"ran\n"  # the run still succeeds
    assert r.result is None and r.result_json is None
    assert r.result_error == error
    r = s.execute("pass")
    assert r.result_error is None  # consumed as well


# ---- callbacks --------------------------------------------------------------------------

def test_callback_failure_is_a_runtime_error_without_the_host_traceback():
    def fails(x: int):
        raise ValueError(f"nope {x}")

    sb = eryx.Sandbox(callbacks=[{"name": "fails", "fn": fails}])
    r = sb.execute("try:\n    await fails(x=1)\nexcept RuntimeError as e:\n"
                   "    print(type(e).__name__, isinstance(e, CallbackError), issubclass(CallbackError, RuntimeError))\n"
                   "    print(str(e))")
    kind, message = r.stdout_text.split("\n", 1)
    assert kind == "CallbackError True True"
    assert "ValueError: nope 1" in message
    assert "Traceback" not in message and __file__ not in message and "line " not in message


def test_invoke_and_list_callbacks():
    def add(a: int, b: int = 1) -> int:
        """Adds."""
        return a + b

    reg = eryx.CallbackRegistry()
    reg.add(add, name="math.add")
    sb = eryx.Sandbox(callbacks=reg)
    r = sb.execute("print(await invoke('math.add', a=2, b=5))\n"
                   "print(await math.add(2))\n"
                   "try:\n    await invoke('nosuch', a=1)\nexcept RuntimeError as e:\n    print('refused', e)\n"
                   "[cb] = list_callbacks()\n"
                   "print(cb['name'], cb['description'], sorted(cb['parameters_schema']['properties']))")
    assert r.stdout_text.split("\n") == ["7", "3", "refused callback nosuch: there is no such callback",
                                         "math.add Adds. ['a', 'b']", ""]
    assert r.callback_invocations == 2


def test_invoke_and_list_callbacks_exist_without_callbacks():
    sb = eryx.Sandbox()
    r = sb.execute("print(list_callbacks(), callable(invoke))\n"
                   "try:\n    await invoke('x')\nexcept RuntimeError as e:\n    print(e)")
    assert r.stdout == b"[] True\ncallback x: there is no such callback\n"
    # builtins, not globals: globals() lists only the user's names
    assert sb.execute("print(sorted(k for k in globals() if not k.startswith('_')))").stdout == b"[]\n"
    # a session's clear_state keeps them
    s = eryx.Session()
    s.clear_state()
    assert s.execute("print(list_callbacks())").stdout == b"[]\n"


def test_callback_dict_errors():
    with pytest.raises(KeyError, match="Callback dict missing 'name' key"):
        eryx.Sandbox(callbacks=[{}])
    with pytest.raises(KeyError, match="Callback dict missing 'fn' key"):
        eryx.Sandbox(callbacks=[{"name": "f"}])
    with pytest.raises(TypeError):
        eryx.Sandbox(callbacks=[{"name": None, "fn": print}])


# ---- reprs and create_session -----------------------------------------------------------

def test_execute_result_repr_every_field():
    s = eryx.Session()
    r = s.execute('print("a\\tb")\nresult = "q\\"\\n\\x01é"')
    assert re.fullmatch(
        r'ExecuteResult\(stdout="a\\tb\\n", stderr="", duration_ms=\d+\.\d\d, callback_invocations=0, '
        r'peak_memory_bytes=Some\(\d+\), fuel_consumed=None, result=Some\("\\"q\\\\\\"\\\\n\\\\u0001é\\""\), '
        r'result_error=None\)', repr(r)), repr(r)
    r = s.execute("result = {1}")
    assert repr(r).endswith('result=None, result_error=Some("result is not JSON-serializable: set (TypeError)"))')
    r = eryx.Session(max_fuel=10**9).execute("pass")
    assert re.search(r"fuel_consumed=Some\(\d+\), result=None, result_error=None\)$", repr(r)), repr(r)


def test_session_repr():
    s = eryx.Session()
    assert repr(s) == "Session(execution_count=0)"
    s.execute("pass")
    assert repr(s) == "Session(execution_count=1)"
    v = eryx.Session(vfs=eryx.VfsStorage(), vfs_mount_path="/work")
    assert repr(v) == 'Session(execution_count=0, vfs_mount_path="/work")'


def test_factory_repr_and_create_session(tmp_path):
    (tmp_path / "mod20.py").write_text("VALUE = 20\n")
    f = eryx.SandboxFactory(site_packages=tmp_path, imports=["mod20"])
    assert repr(f) == f'SandboxFactory(size_bytes={f.size_bytes}, site_packages=Some("{tmp_path}"))'
    assert f.size_bytes > 0
    vfs = eryx.VfsStorage()
    s = f.create_session(vfs=vfs, result_variable="out")
    assert isinstance(s, eryx.Session) and s.vfs is vfs and s.vfs_mount_path == "/data"
    assert repr(s) == 'Session(execution_count=0, vfs_mount_path="/data")'
    assert s.execute("import mod20\nn = mod20.VALUE\nopen('/data/f', 'w').write('x')").result is None
    assert s.execute("out = n + 1").result == 21  # state kept from one run to the next
    assert s.execute("out = open('/data/f').read()").result == "x"
    assert s.execute("pass").result is None
    assert s.execution_count == 4
    other = f.create_session(vfs_mount_path="/elsewhere")
    assert other.execute("print('n' in globals())").stdout == b"False\n"  # sessions are isolated
    assert other.vfs is None and repr(other) == "Session(execution_count=1)"
    with pytest.raises(ValueError, match="absolute"):
        f.create_session(vfs=vfs, vfs_mount_path="data")
    with pytest.raises(TypeError, match="VfsStorage"):
        f.create_session(vfs="/tmp")
    limited = f.create_session(resource_limits=eryx.ResourceLimits(execution_timeout_ms=200))
    with pytest.raises(eryx.TimeoutError):
        limited.execute("while True: pass")
    bare = eryx.SandboxFactory()
    assert repr(bare) == f"SandboxFactory(size_bytes={bare.size_bytes}, site_packages=None)"
