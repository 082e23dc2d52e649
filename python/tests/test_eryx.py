"""Tests of `import eryx`: every public name, against the real sandbox (host callbacks: test_callbacks.py)."""
import inspect
import json
import os
import subprocess
import sys
import threading
import time

import pytest

import eryx


# ---- Sandbox and ExecuteResult -------------------------------------------------------

def test_version_and_names():
    assert eryx.__version__ == "0.1.0"
    for name in eryx.__all__:
        assert hasattr(eryx, name), name


def test_execute_stdout_stderr_are_bytes_whole_and_str_is_text():
    r = eryx.Sandbox().execute("import sys\nprint('a')\nprint('b')\nprint('oops', file=sys.stderr)")
    assert r.stdout == b"a\nb\n"  # bytes, untrimmed (pyeryx 0.11)
    assert r.stderr == b"oops\n"
    assert (r.stdout_text, r.stderr_text) == ("a\nb\n", "oops\n")
    assert str(r) == "a\nb\n"
    assert r.duration_ms > 0
    assert r.peak_memory_bytes >= 16 << 20
    assert r.callback_invocations == 0
    assert r.fuel_consumed is None
    # bytes that are not UTF-8 stay as written; the *_text forms replace them
    r = eryx.Sandbox().execute("import os\nos.write(1, b'caf\\xc3\\xa9 \\xff\\n')\nos.write(2, b'\\xfe')")
    assert (r.stdout, r.stderr) == (b"caf\xc3\xa9 \xff\n", b"\xfe")
    assert (r.stdout_text, r.stderr_text, str(r)) == ("caf\u00e9 \ufffd\n", "\ufffd", "caf\u00e9 \ufffd\n")
    assert 'stdout="caf\u00e9 \ufffd\\n", stderr="\ufffd"' in repr(r)  # the reference's repr shows the text


def test_streaming_gets_the_bytes_of_each_write():
    out, err = [], []
    sb = eryx.Sandbox(on_stdout=out.append, on_stderr=err.append)
    r = sb.execute("import sys, os\nprint('a')\nsys.stdout.write('b\\n')\nsys.stdout.write('')\n"
                   "sys.stderr.write('e\\n')\nprint('\u00e9', end='')\nos.write(1, b'\\xff')\n"
                   "sys.stdout.write('x' * 100000)")
    # as pyeryx 0.11: one call per write (print writes the text, then the newline), bytes as
    # written, a UTF-8 character whole in its write, an empty write not passed, a big one whole
    assert out == [b"a", b"\n", b"b\n", "\u00e9".encode(), b"\xff", b"x" * 100000]
    assert err == [b"e\n"]
    assert r.stdout == b"".join(out) and r.stderr == b"".join(err)
    s = eryx.Session(on_stdout=out.append)
    out.clear()
    assert s.execute("print(5)").stdout == b"5\n" and out == [b"5", b"\n"]


def test_errors_carry_the_output_as_bytes_and_text():
    with pytest.raises(eryx.ExecutionError) as ei:
        eryx.Sandbox().execute("import sys\nprint('out \u00e9')\nsys.stderr.write('err\\n')\nraise ValueError('x')")
    e = ei.value
    assert e.stdout == "out \u00e9\n".encode() and e.stdout_text == "out \u00e9\n"
    assert e.stderr.startswith(b"err\nTraceback") and e.stderr_text.startswith("err\nTraceback")
    with pytest.raises(eryx.TimeoutError) as ti:
        eryx.Sandbox(resource_limits=eryx.ResourceLimits(execution_timeout_ms=300)).execute(
            "print('before')\nwhile True: pass")
    assert (ti.value.stdout, ti.value.stdout_text, ti.value.stderr) == (b"before\n", "before\n", b"")
    assert (eryx.EryxError("x").stdout, eryx.EryxError("x").stderr_text) == (b"", "")


def test_streaming_callback_error_propagates():
    def bad(chunk):
        raise RuntimeError("stream consumer failed")
    with pytest.raises(RuntimeError, match="stream consumer failed"):
        eryx.Sandbox(on_stdout=bad).execute("print(1)")


def test_result_variable():
    sb = eryx.Sandbox()
    r = sb.execute("result = {'sum': sum(range(10)), 'xs': [1, 2]}")
    assert r.result == {"sum": 45, "xs": [1, 2]}
    assert json.loads(r.result_json) == r.result
    assert r.result_error is None
    r = sb.execute("x = 1")
    assert r.result is None and r.result_json is None
    r = sb.execute("result = {1, 2}")
    assert r.result is None and "set" in r.result_error
    r = eryx.Sandbox(result_variable="answer").execute("answer = 42\nresult = 1")
    assert r.result == 42


def test_result_is_immutable():
    r = eryx.Sandbox().execute("print(1)")
    with pytest.raises(AttributeError):
        r.stdout = b"x"
    with pytest.raises(AttributeError):
        del r.stderr


def test_isolation_between_executes():
    sb = eryx.Sandbox()
    sb.execute("x = 41\nimport colorsys\nopen('/tmp/f', 'w').write('hi')")  # colorsys: not pre-imported
    r = sb.execute("import sys, os\nprint('x' in globals(), 'colorsys' in sys.modules, os.path.exists('/tmp/f'))")
    assert r.stdout == b"False False False\n"


def test_exception_raises_execution_error_with_traceback():
    with pytest.raises(eryx.ExecutionError) as ei:
        eryx.Sandbox().execute("def f():\n    raise ValueError('bad value')\nprint('before')\nf()")
    e = ei.value
    assert isinstance(e, eryx.EryxError)
    assert "ValueError: bad value" in e.traceback
    assert "line 2" in e.traceback
    assert e.exception_type == "ValueError"
    assert e.stdout == b"before\n"
    assert "bad value" in str(e)


def test_sys_exit_nonzero_is_execution_error_and_zero_is_ok():
    with pytest.raises(eryx.ExecutionError) as ei:
        eryx.Sandbox().execute("import sys; sys.exit(3)")
    assert ei.value.exit_code == 3
    assert eryx.Sandbox().execute("import sys; print('x'); sys.exit(0)").stdout == b"x\n"


def test_timeout_caught_as_builtin_timeout_error():
    sb = eryx.Sandbox(resource_limits=eryx.ResourceLimits(execution_timeout_ms=300))
    t0 = time.monotonic()
    with pytest.raises(TimeoutError) as ei:  # the built-in name
        sb.execute("while True: pass")
    assert isinstance(ei.value, eryx.TimeoutError) and isinstance(ei.value, eryx.EryxError)
    assert time.monotonic() - t0 < 5
    assert sb.execute("print('again')").stdout == b"again\n"  # usable afterwards


def test_memory_limit_is_resource_limit_error():
    sb = eryx.Sandbox(resource_limits=eryx.ResourceLimits(max_memory_bytes=64 << 20))
    with pytest.raises(eryx.ResourceLimitError):
        sb.execute("x = bytearray(256 * 1024 * 1024)")
    assert sb.execute("print(len(bytearray(1024)))").stdout == b"1024\n"


def test_deep_recursion_to_the_cap_is_resource_limit_error():
    # Python makes a SystemError of the failed allocation here; the refused growth
    # decides (issue 17, item 3), and the traceback of a million frames comes cut.
    sb = eryx.Sandbox(resource_limits=eryx.ResourceLimits(max_memory_bytes=64 << 20))
    with pytest.raises(eryx.ResourceLimitError, match="memory limit"):
        sb.execute("import sys\nsys.setrecursionlimit(10**9)\ndef f(n): return f(n + 1)\nf(0)")
    with pytest.raises(eryx.ExecutionError) as ei:  # a moderate limit: RecursionError, as natively
        sb.execute("import sys\nsys.setrecursionlimit(5000)\ndef f(n): return f(n + 1)\nf(0)")
    assert ei.value.exception_type == "RecursionError"


def test_default_limits_stop_a_memory_hog_near_128_mib():
    # No limits given: every entry point has pyeryx 0.11's defaults (30 s, 128 MiB,
    # 1,000 callback calls, 10 s per call), not the C API's no-cap (4 GiB: seconds
    # to fill, and that much host memory).
    hog = "l = []\nwhile True: l.append(bytearray(1 << 20))"
    for make in (eryx.Sandbox, eryx.Session, lambda: eryx.SandboxFactory(cache=False).create_sandbox()):
        sb = make()
        with pytest.raises(eryx.ResourceLimitError, match="of 128 MiB allowed"):
            sb.execute(hog)
    s = eryx.Session()
    assert s.execution_timeout_ms == 30000 and s.max_memory_bytes == 128 << 20
    # None turns the cap off; a number sets it.
    assert eryx.Session(max_memory_bytes=None).execute("x = bytearray(200 << 20)\nprint(len(x) >> 20)"
                                                       ).stdout == b"200\n"
    with pytest.raises(eryx.ResourceLimitError, match="of 64 MiB allowed"):
        eryx.Session(max_memory_bytes=64 << 20).execute(hog)


def test_fuel_limit_and_consumed():
    sb = eryx.Sandbox(resource_limits=eryx.ResourceLimits(max_fuel=50_000_000))
    r = sb.execute("x = sum(range(1000))")
    assert r.fuel_consumed and r.fuel_consumed > 0
    with pytest.raises(eryx.ResourceLimitError):
        sb.execute("while True: pass")


def test_cancel_from_another_thread():
    sb = eryx.Sandbox(resource_limits=eryx.ResourceLimits.unlimited())
    threading.Timer(0.3, sb.cancel).start()
    with pytest.raises(eryx.CancelledError):
        sb.execute("while True: pass")


def test_threads_execute_at_once(tmp_path):
    # Four sandboxes on four threads meet in a shared volume: each leaves a file
    # and waits for the other three's. With the GIL held during an execution (one at
    # a time) the first would wait alone until its deadline; no wall-clock bound.
    code = ("import os, time\nopen(f'/meet/{N}', 'w').close()\ndeadline = time.time() + 20\n"
            "while len(os.listdir('/meet')) < 4:\n"
            "    if time.time() > deadline:\n        raise SystemExit('alone: not concurrent')\n"
            "    time.sleep(0.005)\nprint('done')")
    sandboxes = [eryx.Sandbox(volumes=[(str(tmp_path), "/meet", False)],
                              resource_limits=eryx.ResourceLimits(execution_timeout_ms=60_000)) for _ in range(4)]
    results = [None] * 4

    def run(i):
        results[i] = sandboxes[i].execute(code.replace("{N}", str(i))).stdout

    threads = [threading.Thread(target=run, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == [b"done\n"] * 4
    assert sorted(os.listdir(tmp_path)) == ["0", "1", "2", "3"]


# ---- arguments -----------------------------------------------------------------------------

def _kwonly(fn):
    return {n: p.default for n, p in inspect.signature(fn).parameters.items()
            if p.kind is inspect.Parameter.KEYWORD_ONLY}


SCRUB = dict(scrub_stdout=None, scrub_stderr=None, scrub_result=None, scrub_files=None)  # None: the defaults
FILES = dict(collect_files=None, collect_files_max_bytes=None)  # files back from a run (ours, issue 23)


def test_signatures_keyword_only_with_defaults():
    assert _kwonly(eryx.Sandbox.__init__) == dict(resource_limits=None, callbacks=None, volumes=None, on_stdout=None,
                                                  on_stderr=None, result_variable=None, network=None, secrets=None,
                                                  default_imports=True, mcp=None, **SCRUB, **FILES)
    assert _kwonly(eryx.ResourceLimits.__init__) == dict(execution_timeout_ms=30000, callback_timeout_ms=10000,
                                                         max_memory_bytes=134217728, max_callback_invocations=1000,
                                                         max_fuel=None, max_vfs_bytes=None)
    assert _kwonly(eryx.Session.__init__) == dict(vfs=None, vfs_mount_path="/data", execution_timeout_ms=30000,
                                                  max_fuel=None, callbacks=None, volumes=None, on_stdout=None,
                                                  on_stderr=None, result_variable=None, network=None,
                                                  default_imports=True, max_memory_bytes=134217728,
                                                  state_key=None, secrets=None, mcp=None, **SCRUB, **FILES)
    # cache=True by default, as pyeryx 0.11 (issue 16): False keeps only the start state off the disk.
    assert _kwonly(eryx.SandboxFactory.__init__) == dict(site_packages=None, packages=None, imports=None,
                                                         setup_code=None, callbacks=None, cache=True,
                                                         default_imports=True, state_key=None)
    assert _kwonly(eryx.SandboxFactory.load) == dict(site_packages=None, callbacks=None, cache=True, state_key=None)
    # A factory's sandboxes start from the factory's state: default_imports is the factory's.
    sandbox_args = {k: v for k, v in _kwonly(eryx.Sandbox.__init__).items() if k != "default_imports"}
    assert _kwonly(eryx.SandboxFactory.create_sandbox) == dict(site_packages=None, **sandbox_args)
    # the reference's create_session arguments, then ours as create_sandbox's
    assert _kwonly(eryx.SandboxFactory.create_session) == dict(
        vfs=None, vfs_mount_path=None, resource_limits=None, network=None, callbacks=None, volumes=None,
        on_stdout=None, on_stderr=None, result_variable=None, secrets=None, mcp=None, **SCRUB, **FILES)
    with pytest.raises(TypeError):
        eryx.Sandbox(None)  # positional arguments are refused


def test_invalid_arguments():
    with pytest.raises(TypeError, match="resource_limits"):
        eryx.Sandbox(resource_limits={"execution_timeout_ms": 5})
    with pytest.raises(TypeError, match="volume"):
        eryx.Sandbox(volumes=["/tmp"])
    with pytest.raises(ValueError, match="neither a directory nor a regular file"):
        eryx.Sandbox(volumes=[("/nonexistent-eryx", "/mnt/x", True)])
    with pytest.raises(TypeError, match="on_stdout"):
        eryx.Sandbox(on_stdout="print")
    with pytest.raises(ValueError, match="identifier"):
        eryx.Sandbox(result_variable="not valid")
    with pytest.raises(TypeError, match="code must be a str"):
        eryx.Sandbox().execute(b"print(1)")
    with pytest.raises(ValueError, match=">= 0"):
        eryx.ResourceLimits(execution_timeout_ms=-1)
    with pytest.raises(TypeError):
        eryx.ResourceLimits(max_fuel="lots")
    with pytest.raises(ValueError, match="stdlib"):
        eryx.Sandbox(volumes=[("/tmp", "/usr/local/lib/python3.13", True)])


def test_network_and_secrets_arguments_checked():
    # test_network.py tests what they do; here: what is accepted and refused
    eryx.Sandbox(network=None, secrets=None)
    eryx.Sandbox(network=False, secrets={})
    with pytest.raises(TypeError, match="NetConfig"):
        eryx.Sandbox(network="example.com")
    with pytest.raises(TypeError, match="secret 'API_KEY'"):
        eryx.Sandbox(secrets={"API_KEY": "x"})
    with pytest.raises(TypeError, match="scrub_stdout"):
        eryx.Sandbox(scrub_stdout="yes")


def test_resource_limits_attributes_and_unlimited():
    lim = eryx.ResourceLimits()
    assert lim.execution_timeout_ms == 30000 and lim.max_memory_bytes == 128 << 20
    lim.execution_timeout_ms = 500
    lim.max_fuel = 10
    assert lim.execution_timeout_ms == 500 and lim.max_fuel == 10
    with pytest.raises(AttributeError):
        lim.no_such_limit = 1
    u = eryx.ResourceLimits.unlimited()
    assert all(getattr(u, n) is None for n in ("execution_timeout_ms", "callback_timeout_ms", "max_memory_bytes",
                                                "max_callback_invocations", "max_fuel", "max_vfs_bytes"))
    assert eryx.ResourceLimits(max_fuel=3) == eryx.ResourceLimits(max_fuel=3) != eryx.ResourceLimits()


def test_max_vfs_bytes():
    sb = eryx.Sandbox(resource_limits=eryx.ResourceLimits(max_vfs_bytes=1 << 20))
    r = sb.execute("try:\n    open('/tmp/big', 'wb').write(b'x' * (2 << 20))\nexcept OSError as e:\n    import errno\n    print(e.errno == errno.ENOSPC)")
    assert r.stdout == b"True\n"


# ---- volumes --------------------------------------------------------------------------------

def test_volumes_read_only_and_read_write(tmp_path):
    ro, rw = tmp_path / "ro", tmp_path / "rw"
    ro.mkdir()
    rw.mkdir()
    (ro / "in.txt").write_text("from host")
    sb = eryx.Sandbox(volumes=[(str(ro), "/mnt/in", True), (str(rw), "/mnt/out", False)])
    r = sb.execute("print(open('/mnt/in/in.txt').read())\n"
                   "open('/mnt/out/out.txt', 'w').write('from guest')\n"
                   "try:\n    open('/mnt/in/new.txt', 'w')\nexcept OSError as e:\n    print('refused', e.errno)")
    assert r.stdout_text.splitlines()[0] == "from host"
    assert r.stdout_text.splitlines()[1].startswith("refused")
    assert (rw / "out.txt").read_text() == "from guest"
    assert not (ro / "new.txt").exists()


# ---- sessions ------------------------------------------------------------------------------

def test_session_keeps_state_and_counts():
    s = eryx.Session()
    assert s.execution_count == 0
    s.execute("x = 41\ndef f(): return x + 1")
    assert s.execute("print(f())").stdout == b"42\n"
    assert s.execution_count == 2
    with pytest.raises(eryx.ExecutionError):
        s.execute("raise ValueError('kept going')")
    assert s.execution_count == 3
    assert s.execute("print(x)").stdout == b"41\n"  # an exception does not lose state
    assert s.vfs is None and s.vfs_mount_path == "/data"


def test_session_reset_vs_clear_state():
    s = eryx.Session()
    s.execute("import colorsys\ny = 1")
    s.clear_state()
    r = s.execute("import sys\nprint('y' in globals(), 'colorsys' in sys.modules)")
    assert r.stdout == b"False True\n"  # names gone, imports stay
    s.execute("import colorsys\ny = 1")
    s.reset()
    assert s.execution_count == 0
    r = s.execute("import sys\nprint('y' in globals(), 'colorsys' in sys.modules)")
    assert r.stdout == b"False False\n"  # a fresh interpreter


def test_session_snapshot_restore_across_sessions():
    a = eryx.Session()
    a.execute("import io\nbuf = io.StringIO()\nbuf.write('kept')\ngen = (i * i for i in range(10))\nnext(gen)\n"
              "sq = lambda v: v * v")
    blob = a.snapshot_state()
    assert isinstance(blob, bytes) and len(blob) > 0
    b = eryx.Session()
    b.restore_state(blob)
    assert b.execute("print(buf.getvalue(), next(gen), sq(7))").stdout == b"kept 1 49\n"
    with pytest.raises(ValueError):
        b.restore_state(blob[:40] + b"x" + blob[41:])
    with pytest.raises(TypeError):
        b.restore_state("text")


# Session blobs are authenticated (HMAC-SHA-256 under state_key, else the
# process's own key) and refused past the memory limit before any allocation.
_STATE_KEY = b"k" * 32


def _peak_reset() -> None:
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")


def _peak_mib() -> int:
    with open("/proc/self/status") as f:
        return next(int(line.split()[1]) for line in f if line.startswith("VmHWM:")) // 1024


def _snapshot_in_child(key: bytes | None) -> bytes:
    code = ("import eryx, sys\n"
            f"s = eryx.Session(state_key={key!r})\n"
            "s.execute('x = 41 + 1')\n"
            "sys.stdout.buffer.write(s.snapshot_state())\n")
    return subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, timeout=120).stdout


def test_session_state_key_round_trip_and_refusals():
    import hashlib
    import hmac
    a = eryx.Session(state_key=_STATE_KEY)
    a.execute("x = [1, 2, 3]")
    blob = a.snapshot_state()
    assert hmac.new(_STATE_KEY, blob[:-32], hashlib.sha256).digest() == blob[-32:]  # HMAC-SHA-256 of the rest
    b = eryx.Session(state_key=bytearray(_STATE_KEY))
    b.restore_state(blob)
    assert b.execute("print(x)").stdout == b"[1, 2, 3]\n"
    for other in (eryx.Session(state_key=b"o" * 32), eryx.Session()):
        with pytest.raises(ValueError, match="authentication"):
            other.restore_state(blob)
    plain = eryx.Session()
    plain.execute("y = 'default key'")
    own = plain.snapshot_state()
    plain.execute("y = 'changed'")
    plain.restore_state(own)
    assert plain.execute("print(y)").stdout == b"default key\n"
    with pytest.raises(ValueError, match="at least 32 bytes"):
        eryx.Session(state_key=b"short")
    with pytest.raises(TypeError):
        eryx.Session(state_key="a str of 32 characters, not bytes")


def test_session_state_from_another_process_needs_the_key():
    s = eryx.Session()
    with pytest.raises(ValueError, match="authentication"):
        s.restore_state(_snapshot_in_child(None))
    k = eryx.Session(state_key=_STATE_KEY)
    k.restore_state(_snapshot_in_child(_STATE_KEY))
    assert k.execute("print(x)").stdout == b"42\n"


def test_session_state_bit_flips_refused_and_state_kept():
    s = eryx.Session()
    s.execute("marker = 'kept'")
    blob = s.snapshot_state()
    positions = list(range(72)) + list(range(72, len(blob) - 32, max(1, len(blob) // 100))) + \
        list(range(len(blob) - 32, len(blob)))
    for i in positions:
        bad = bytearray(blob)
        bad[i] ^= 1 << (i % 8)
        with pytest.raises(ValueError):
            s.restore_state(bytes(bad))
    assert s.execute("print(marker)").stdout == b"kept\n"


def test_session_state_forged_huge_memory_refused_without_allocating():
    import hashlib
    import hmac
    s = eryx.Session()
    s.execute("marker = 'kept'")
    blob = bytearray(s.snapshot_state())
    blob[48:56] = (1 << 30).to_bytes(8, "little")  # claims a 1 GiB memory
    blob[-32:] = hmac.new(b"guessed" * 5, bytes(blob[:-32]), hashlib.sha256).digest()
    _peak_reset()
    before = _peak_mib()
    with pytest.raises(ValueError, match="authentication"):
        s.restore_state(bytes(blob))
    assert _peak_mib() - before < 64
    assert s.execute("print(marker)").stdout == b"kept\n"


def test_session_state_over_memory_limit_refused_before_allocating():
    big = eryx.Session(max_memory_bytes=None, state_key=_STATE_KEY)
    big.execute("huge = b'x' * (300 << 20)")
    blob = big.snapshot_state()
    del big
    small = eryx.Session(max_memory_bytes=128 << 20, state_key=_STATE_KEY)
    small.execute("marker = 'kept'")
    _peak_reset()
    before = _peak_mib()
    with pytest.raises(eryx.ResourceLimitError, match="limit of 134217728 bytes"):
        small.restore_state(blob)
    assert _peak_mib() - before < 64
    assert small.execute("print(marker)").stdout == b"kept\n"


def test_session_timeout_settable():
    s = eryx.Session(execution_timeout_ms=None)
    s.execute("x = 1")
    s.execution_timeout_ms = 200
    assert s.execution_timeout_ms == 200
    with pytest.raises(TimeoutError):
        s.execute("while True: pass")
    s.execution_timeout_ms = None
    assert s.execute("print('alive')").stdout == b"alive\n"


def test_session_fuel_limit():
    s = eryx.Session(max_fuel=100_000_000)
    assert s.fuel_limit == 100_000_000
    s.execute("x = sum(range(100))")
    s.fuel_limit = 1000
    with pytest.raises(eryx.ResourceLimitError):
        s.execute("y = sum(range(100000))")
    plain = eryx.Session()
    assert plain.fuel_limit is None
    with pytest.raises(ValueError, match="max_fuel"):
        plain.fuel_limit = 10


def test_vfs_storage_shared_by_two_sessions_and_survives_reset():
    store = eryx.VfsStorage()
    a = eryx.Session(vfs=store)
    b = eryx.Session(vfs=store, vfs_mount_path="/shared")
    a.execute("import os\nos.makedirs('/data/dir', exist_ok=True)\nopen('/data/dir/note.txt', 'w').write('hello')")
    assert b.execute("print(open('/shared/dir/note.txt').read())").stdout == b"hello\n"
    b.execute("open('/shared/dir/reply.txt', 'w').write('hi back')")
    a.reset()
    assert a.execute("import os\nprint(sorted(os.listdir('/data/dir')))").stdout == b"['note.txt', 'reply.txt']\n"
    assert store.used_bytes == len("hello") + len("hi back")
    assert a.vfs is store and b.vfs_mount_path == "/shared"
    # a session without the storage does not see it
    assert eryx.Session().execute("import os\nprint(os.listdir('/data'))").stdout == b"[]\n"


def test_vfs_storage_from_threads():
    store = eryx.VfsStorage()
    sessions = [eryx.Session(vfs=store) for _ in range(3)]

    def write(i):
        sessions[i].execute(f"for j in range(50):\n    open(f'/data/{i}-{{j}}', 'w').write('x' * 100)")

    threads = [threading.Thread(target=write, args=(i,)) for i in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sessions[0].execute("import os\nprint(len(os.listdir('/data')))").stdout == b"150\n"
    assert store.used_bytes == 150 * 100


# ---- SandboxFactory -----------------------------------------------------------------------

PKG_INIT = "import random\nTOKEN = random.random()\n"


def test_factory_imports_packages_and_create_sandbox(tmp_path):
    pkg = tmp_path / "proj" / "stamp"  # a source tree holding the package
    pkg.mkdir(parents=True)
    (pkg / "__init__.py").write_text(PKG_INIT)
    fac = eryx.SandboxFactory(packages=[str(tmp_path / "proj")], imports=["stamp", "json"], cache=True)
    sb = fac.create_sandbox(resource_limits=eryx.ResourceLimits(execution_timeout_ms=5000))
    r = sb.execute("import sys\nprint('stamp' in sys.modules, 'json' in sys.modules)\nresult = sys.modules['stamp'].TOKEN")
    assert r.stdout == b"True True\n"
    token = r.result
    assert fac.create_sandbox().execute("import stamp\nresult = stamp.TOKEN").result == token
    assert fac.size_bytes == len(fac.to_bytes()) > 1000


def test_factory_save_load_round_trip_in_another_process(tmp_path):
    pkg = tmp_path / "site" / "stamp"
    pkg.mkdir(parents=True)
    (pkg / "__init__.py").write_text(PKG_INIT)
    fac = eryx.SandboxFactory(site_packages=str(tmp_path / "site"), imports=["stamp"], cache=True)
    token = fac.create_sandbox().execute("import stamp\nresult = stamp.TOKEN").result
    path = tmp_path / "factory.bin"
    fac.save(path)
    assert path.read_bytes() == fac.to_bytes()
    loaded = eryx.SandboxFactory.load(path)
    assert loaded.create_sandbox().execute("import stamp\nresult = stamp.TOKEN").result == token
    # Another process with no disk cache (cache=False): the token is the saved one,
    # so the imports were not run again there.
    code = ("import eryx, sys\nf = eryx.SandboxFactory.load(sys.argv[1], cache=False)\n"
            "print(f.create_sandbox().execute('import stamp\\nresult = stamp.TOKEN').result_json)")
    out = subprocess.run([sys.executable, "-c", code, str(path)], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    assert float(out.stdout) == token
    # damaged and foreign files are refused
    data = bytearray(path.read_bytes())
    data[-100] ^= 0xFF
    with pytest.raises(eryx.EryxError, match="damaged"):
        eryx.SandboxFactory.from_bytes(bytes(data))
    with pytest.raises(ValueError, match="not a saved"):
        eryx.SandboxFactory.from_bytes(b"hello")


def test_factory_state_key(tmp_path):
    # Saved state is authenticated (HMAC-SHA-256): with the factory's state_key, or
    # by default the machine's key (the cache directory's state.key, 0600).
    key, other = os.urandom(32), os.urandom(32)
    fac = eryx.SandboxFactory(imports=["json"], cache=False, state_key=key)
    data = fac.to_bytes()
    assert eryx.SandboxFactory.from_bytes(data, state_key=key).create_sandbox().execute("print(1)").stdout == b"1\n"
    for wrong in (other, None):
        with pytest.raises(eryx.EryxError, match="failed authentication"):
            eryx.SandboxFactory.from_bytes(data, state_key=wrong)
    with pytest.raises(ValueError, match="at least 32 bytes"):
        eryx.SandboxFactory(state_key=b"short")
    # Another process loads it with the key.
    path = tmp_path / "factory.bin"
    fac.save(path)
    code = ("import eryx, sys\n"
            "f = eryx.SandboxFactory.load(sys.argv[1], cache=False, state_key=bytes.fromhex(sys.argv[2]))\n"
            "print(f.create_sandbox().execute('print(2)').stdout_text, end='')")
    out = subprocess.run([sys.executable, "-c", code, str(path), key.hex()], capture_output=True, text=True,
                         timeout=300)
    assert out.returncode == 0 and out.stdout == "2\n", out.stderr
    # The default key is the machine's: a private 32-byte file in the cache directory.
    eryx.SandboxFactory(imports=["json"], cache=False).to_bytes()
    home = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    st = os.stat(os.path.join(home, "eryx", "state.key"))
    assert st.st_size == 32 and st.st_mode & 0o777 == 0o600


def test_factory_refuses_another_configuration(tmp_path):
    fac = eryx.SandboxFactory(imports=["json"], cache=True)
    blob = fac.to_bytes()
    # same header, but the configuration (imports) differs
    meta = json.dumps({"imports": ["decimal"], "site_packages": None, "packages": []}).encode()
    import struct
    other = b"ERYXFAC1" + struct.pack("<I", len(meta)) + meta + blob[12 + struct.unpack_from("<I", blob, 8)[0]:]
    with pytest.raises(eryx.InitializationError, match="another configuration"):
        eryx.SandboxFactory.from_bytes(other)


def _cache_entries(cache_home):
    d = cache_home / "eryx" / "modules"
    return {(n, (d / n).stat().st_ino) for n in os.listdir(d) if n.endswith(".cwasm")} if d.is_dir() else set()


def test_factory_cache_false_compiles_nothing(tmp_path):
    # A new process's SandboxFactory(cache=False) takes the compiled interpreter from
    # the machine's cache (its entries are read) and writes nothing there: a compile
    # would write its entry (a new file), and its start state stays in memory.
    env = dict(os.environ, XDG_CACHE_HOME=str(tmp_path))
    warm = "import eryx\nprint(eryx.Sandbox().execute('print(1)').stdout_text)"
    out = subprocess.run([sys.executable, "-c", warm], capture_output=True, text=True, timeout=600, env=env)
    assert out.returncode == 0, out.stderr
    assert "RuntimeWarning: eryx: compiling a module for this machine" in out.stderr  # said so, not silent
    before = _cache_entries(tmp_path)
    assert before, "the first process cached no compiled module"
    old = time.time() - 3600  # a cache hit touches its entry (the store's LRU order): see which are read
    for name, _ in before:
        os.utime(tmp_path / "eryx" / "modules" / name, (old, old))
    code = ("import eryx\nf = eryx.SandboxFactory(imports=['json', 're', 'decimal'], cache=False)\n"
            "print(f.create_sandbox().execute('import json; print(json.dumps([1]))').stdout_text)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=600, env=env)
    assert out.returncode == 0, out.stderr
    assert "[1]" in out.stdout
    assert "compiling" not in out.stderr
    assert _cache_entries(tmp_path) == before  # nothing compiled (and stored), no start state written
    read = [n for n, _ in before if (tmp_path / "eryx" / "modules" / n).stat().st_mtime > old + 60]
    assert read, "the factory did not take the compiled interpreter from the cache"


def test_factory_bad_import_is_initialization_error():
    with pytest.raises(eryx.InitializationError, match="no_such_module"):
        eryx.SandboxFactory(imports=["no_such_module_eryx"], cache=True)


# ---- type stubs ----------------------------------------------------------------------------

def test_stubs_installed_and_match_the_implementation():
    import ast
    from pathlib import Path
    pkg = Path(eryx.__file__).parent
    assert (pkg / "py.typed").exists()
    tree = ast.parse((pkg / "__init__.pyi").read_text())
    top = {n.name: n for n in tree.body if isinstance(n, (ast.ClassDef, ast.FunctionDef))}
    assert set(eryx.__all__) - {"__version__"} <= set(top)

    def stub_kwonly(cls, meth):
        node = next(f for f in top[cls].body if isinstance(f, ast.FunctionDef) and f.name == meth)
        return {a.arg: ast.literal_eval(d) for a, d in zip(node.args.kwonlyargs, node.args.kw_defaults)}

    for cls, meth in [("Sandbox", "__init__"), ("Session", "__init__"), ("ResourceLimits", "__init__"),
                      ("SandboxFactory", "__init__"), ("SandboxFactory", "create_sandbox"),
                      ("SandboxFactory", "load"), ("CallbackRegistry", "add")]:
        assert stub_kwonly(cls, meth) == _kwonly(getattr(getattr(eryx, cls), meth)), (cls, meth)
    for cls in ("Sandbox", "Session", "SandboxFactory", "CallbackRegistry", "ExecuteResult", "VfsStorage"):
        stub_names = {f.name for f in top[cls].body if isinstance(f, (ast.FunctionDef, ast.AnnAssign))
                      if not isinstance(f, ast.AnnAssign)} | {f.target.id for f in top[cls].body
                                                              if isinstance(f, ast.AnnAssign)}
        for name in stub_names:
            assert hasattr(getattr(eryx, cls), name) or name in getattr(getattr(eryx, cls), "__slots__", ()), \
                (cls, name)


# ---- the default start state (issue 16) ---------------------------------------------------

def test_default_start_state_and_opt_out():
    listed = eryx._eryx.default_imports().split()
    assert "json" in listed and "re" in listed
    code = f"import sys\nprint([m for m in {listed!r} if m not in sys.modules])"
    assert eryx.Sandbox().execute(code).stdout == b"[]\n"
    assert eryx.Session().execute(code).stdout == b"[]\n"
    bare = "import sys\nprint('json' in sys.modules)"
    assert eryx.Sandbox(default_imports=False).execute(bare).stdout == b"False\n"
    assert eryx.Session(default_imports=False).execute(bare).stdout == b"False\n"
    f = eryx.SandboxFactory(imports=["colorsys"], default_imports=False)
    assert f.create_sandbox().execute("import sys\nprint('json' in sys.modules, 'colorsys' in sys.modules)"
                                      ).stdout == b"False True\n"
    g = eryx.SandboxFactory.from_bytes(f.to_bytes())  # the choice travels with the saved state
    assert g.create_sandbox().execute("import sys\nprint('json' in sys.modules)").stdout == b"False\n"
