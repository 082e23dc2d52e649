"""Files handed back after a run (collect_files): ExecuteResult.files on success,
the error's .files after an exception or a timeout, sessions, the factory, caps."""
import pytest

import eryx


def test_sandbox_hands_back_files():
    sb = eryx.Sandbox(collect_files="/data")
    r = sb.execute("import os\nos.makedirs('/data/plots')\n"
                   "open('/data/plots/fig.png', 'wb').write(b'\\x89PNG\\r\\n\\x1a\\n' + bytes(100))\n"
                   "open('/data/out.csv', 'w').write('a,b\\n1,2\\n')")
    assert dict(r.files) == {"/data/out.csv": b"a,b\n1,2\n", "/data/plots/fig.png": b"\x89PNG\r\n\x1a\n" + bytes(100)}
    assert list(r.files) == ["/data/out.csv", "/data/plots/fig.png"]  # sorted by path
    assert r.files_left_out == 0
    with pytest.raises(TypeError):
        r.files["/data/x"] = b""  # read-only
    assert dict(sb.execute("pass").files) == {}  # each run starts without the last one's files


def test_without_collect_files_nothing_comes_back():
    r = eryx.Sandbox().execute("open('/data/x', 'w').write('x')")
    assert dict(r.files) == {} and r.files_left_out == 0


def test_files_of_a_failed_run():
    sb = eryx.Sandbox(collect_files="/data", resource_limits=eryx.ResourceLimits(execution_timeout_ms=300))
    with pytest.raises(eryx.ExecutionError) as e:
        sb.execute("open('/data/log.txt', 'w').write('before')\nraise ValueError('then this')")
    assert dict(e.value.files) == {"/data/log.txt": b"before"}
    with pytest.raises(eryx.TimeoutError) as t:
        sb.execute("open('/data/progress', 'w').write('1')\nwhile True: pass")
    assert dict(t.value.files) == {"/data/progress": b"1"}


def test_session_and_factory():
    s = eryx.Session(collect_files="/tmp/out")
    s.execute("import os\nos.makedirs('/tmp/out')\nopen('/tmp/out/a', 'w').write('a')")
    assert dict(s.execute("open('/tmp/out/b', 'w').write('b')").files) == {"/tmp/out/a": b"a", "/tmp/out/b": b"b"}
    sb = eryx.SandboxFactory().create_sandbox(collect_files="/data", collect_files_max_bytes=10)
    r = sb.execute("open('/data/small', 'w').write('12345')\nopen('/data/zbig', 'w').write('x' * 100)")
    assert dict(r.files) == {"/data/small": b"12345"} and r.files_left_out == 1


def test_bad_directory_refused():
    with pytest.raises(ValueError, match="absolute guest directory"):
        eryx.Sandbox(collect_files="data")
    with pytest.raises(ValueError):
        eryx.Sandbox(collect_files="/data", collect_files_max_bytes=-1)
