"""A signal handler installed after eryx's engine (here Python's faulthandler) must not
turn the guest's faults into the process's crash: a timeout of the standard engine is
a fault in guest code (docs/RUNTIME.md, "Interrupts"), and so is a guest's abort();
a real crash of the host process afterwards still reaches that handler. Each case in
a child process, with both interrupt mechanisms."""
import os
import subprocess
import sys

import pytest

_GUEST_FAULTS = r"""
import faulthandler, eryx
sb = eryx.Sandbox(resource_limits=eryx.ResourceLimits(execution_timeout_ms=200))
print(sb.execute("print(1)").stdout_text.strip(), flush=True)  # the engine exists from here
faulthandler.enable()
try:
    sb.execute("while True: pass")
except eryx.TimeoutError:
    print("timeout", flush=True)
try:
    sb.execute("import os\nos.abort()")
except eryx.EryxError as e:
    print("abort:", type(e).__name__, flush=True)
print(sb.execute("print(2)").stdout_text.strip(), flush=True)
"""

_HOST_CRASH = r"""
import ctypes, faulthandler, eryx
sb = eryx.Sandbox()
sb.execute("pass")
faulthandler.enable()
ctypes.string_at(0)
"""


def _run(code: str, interrupt: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, ERYX_INTERRUPT=interrupt)
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120)


@pytest.mark.parametrize("interrupt", ["memory", "epoch"])
def test_guest_faults_survive_a_later_handler(interrupt):
    r = _run(_GUEST_FAULTS, interrupt)
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines() == ["1", "timeout", "abort: EryxError", "2"]
    assert "Fatal Python error" not in r.stderr


@pytest.mark.parametrize("interrupt", ["memory", "epoch"])
def test_host_crash_still_reaches_the_later_handler(interrupt):
    r = _run(_HOST_CRASH, interrupt)
    assert r.returncode == -11, (r.returncode, r.stderr)
    assert "Fatal Python error: Segmentation fault" in r.stderr
