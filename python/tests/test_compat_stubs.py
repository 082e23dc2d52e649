"""Issue 20: our module's API against pyeryx 0.11's stubs (tests/compat_stubs.py).
Runs when the reference's stubs are on this machine (the bench venv or the pinned
wheel in the cache; never fetched here: tests stay on this machine), skips
otherwise. Every difference must be in the script's KNOWN list, each with its
reason, so a new one fails; docs/PYTHON.md lists them."""
import importlib.util
from pathlib import Path

import pytest

import eryx

SCRIPT = Path(__file__).resolve().parents[2] / "tests" / "compat_stubs.py"
spec = importlib.util.spec_from_file_location("compat_stubs", SCRIPT)
cs = importlib.util.module_from_spec(spec)
spec.loader.exec_module(cs)

REF = cs.default_reference(fetch=False)
needs_ref = pytest.mark.skipif(REF is None, reason="pyeryx 0.11.0's stubs are not on this machine "
                                                   "(tests/compat_stubs.py --fetch gets the pinned wheel)")


@pytest.fixture(scope="module")
def differences():
    text, _ = cs.reference_source(REF)
    ref_all, classes = cs.parse_reference(text)
    out, _extra = cs.diff(ref_all, classes, eryx)
    return ref_all, dict(out)


@needs_ref
def test_no_new_difference(differences):
    _, out = differences
    new = {k: m for k, m in out.items() if k not in cs.KNOWN}
    assert new == {}, "differences from pyeryx 0.11 not in tests/compat_stubs.py's KNOWN (fix, or add with a reason)"


@needs_ref
def test_aligned_names_stay_aligned(differences):
    ref_all, out = differences
    # what already matches: most classes, with the signatures the compat tests pin
    for name in ("Sandbox", "Session", "SandboxFactory", "ExecuteResult", "ResourceLimits", "VfsStorage",
                 "CallbackRegistry", "EryxError", "ExecutionError", "InitializationError", "ResourceLimitError",
                 "TimeoutError"):
        assert name in ref_all and name not in out
    assert not [k for k in out if k.startswith(("Sandbox.__init__", "Sandbox.execute(", "Session.execute(",
                                               "SandboxFactory.create_session", "TimeoutError:"))]
    assert "Session.restore_state(snapshot)" not in out


def test_known_entries_have_reasons():
    assert all(isinstance(r, str) and len(r) > 10 for r in cs.KNOWN.values())


def test_the_diff_sees_differences():
    """The comparison itself, on a made-up stub: a missing class, a missing and a
    renamed parameter, a changed default, a property's type."""
    stub = '''
class Sandbox:
    def __init__(self, *, volumes=None, brand_new: int = 3) -> None: ...
    def execute(self, code: str, extra) -> ExecuteResult: ...
class ExecuteResult:
    @property
    def stdout(self) -> list[int]: ...
class Imaginary: ...
'''
    ref_all, classes = cs.parse_reference(stub)
    out = dict(cs.diff(ref_all, classes, eryx)[0])
    assert set(out) == {"Imaginary", "Sandbox.__init__(brand_new)", "Sandbox.execute(extra)",
                        "ExecuteResult.stdout: type"}
