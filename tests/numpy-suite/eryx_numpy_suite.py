"""pytest plugin for running numpy's own tests inside eryx's sandbox (run.sh).

Loaded with ``-p eryx_numpy_suite`` (run.sh copies this file to the top of the
package tree it mounts at /packages/numpy_suite). It does three things:

1. Stand-ins for modules the sandbox does not have.  The numpy package built by
   guest/numpy/build.sh leaves out meson's ``tests`` install tag, so
   ``numpy._core._multiarray_tests``, ``_umath_tests``, ``_rational_tests``,
   ``_struct_ufunc_tests``, ``_operand_flag_tests`` and ``_simd`` do not exist;
   CPython for wasm32-wasi has no ``_ctypes`` (so ``import ctypes`` fails) and
   no ``mmap``.  Many test files import one of them at the top (test_numeric.py
   imports ``rational``, test_multiarray.py ``ctypes``), and numpy/conftest.py
   imports ``get_fpu_mode``, so without them whole files would not run.

   When the real module cannot be found, a stand-in module is served whose
   every attribute is a placeholder (numpy's test-only modules: the finder is
   last on sys.meta_path, a real module wins; ctypes and mmap: only when their
   C part is missing, and only to test code: numpy's own modules still get the
   ImportError they handle).  *Using* a placeholder (calling it, reading an
   attribute, an operator, taking it as a dtype, ...) raises pytest's Skipped,
   so the test is reported as skipped with the reason "needs <module>.<name>"
   and counted apart by run.sh.  numpy's C code sometimes swallows that
   exception (np.dtype(x) clears any error from x.dtype and raises TypeError),
   so every use is also recorded, and a test that used a placeholder is
   reported as skipped with that reason whatever its outcome (a pass of such a
   test would mean nothing: it was written against the real module), as is a
   failure whose message names a placeholder, and a test with a placeholder
   among its parameters, which is not run.  A placeholder can be named,
   compared for identity and put in a parametrize list without skipping.  A
   placeholder used at import time (in a class body: test_dtype.py's
   ``np.dtype(rational)``) makes the file a collection error, as it is.
   The one exception is ``get_fpu_mode``: numpy's C version returns None on
   every platform that is not x86 or MSVC (wasm32 included), and so does the
   stand-in.  ERYX_NUMPY_SUITE_STUBS=0 turns all stand-ins off but that one
   (numpy/conftest.py alone gets a module holding only get_fpu_mode).

2. The test running now: written to the host file ERYX_NUMPY_SUITE_CURRENT
   (on a --mount) before each test and emptied after it, so that when the
   sandbox crashes (a wasm trap) or times out, run.sh knows which test did it
   and runs the file again without it.

3. Results.  At the end of the session it writes a JSON file (path in
   ERYX_NUMPY_SUITE_OUT, on a --mount'ed host directory) with pytest's outcome
   counts, for every failure and error the test id, the phase and the first
   line of the exception, and the skip and xfail reasons counted.
"""
import importlib.abc
import importlib.machinery
import importlib.util
import json
import os
import sys

import pytest

sys.dont_write_bytecode = True  # the package mount is read-only anyway

TEST_ONLY_MODULES = (
    "numpy._core._simd",
    "numpy._core._multiarray_tests",
    "numpy._core._umath_tests",
    "numpy._core._rational_tests",
    "numpy._core._struct_ufunc_tests",
    "numpy._core._operand_flag_tests",
)
# Standard modules that CPython for wasm32-wasi does not have (no libffi, no
# mmap): test files import them at the top (test_multiarray.py: import ctypes).
MISSING_STDLIB = {"ctypes": "_ctypes", "mmap": "mmap"}
STUB_REASON_PREFIX = "needs "
STUB_REASON_SUFFIX = {
    "numpy": " (numpy's test-only C module, not built for wasm32-wasi)",
    "ctypes": " (CPython for wasm32-wasi has no _ctypes)",
    "mmap": " (CPython for wasm32-wasi has no mmap)",
}
stubs_served = []
touched = []        # placeholders used since the current test started
collect_touches = []  # placeholders used outside any test (module level)


def _reason(what):
    suffix = STUB_REASON_SUFFIX.get(what.split(".")[0], " (a stand-in for a missing module)")
    return STUB_REASON_PREFIX + what + suffix


def _skip(what):
    touched.append(what)
    raise pytest.skip.Exception(_reason(what), allow_module_level=True)


class _Placeholder:
    """Stands for a name from a missing test-only module; any use skips."""

    def __init__(self, qualname):
        object.__setattr__(self, "_eryx_name", qualname)

    # What collection needs (ids, reprs, identity, hashing) works ...
    @property
    def __name__(self):
        return object.__getattribute__(self, "_eryx_name").rsplit(".", 1)[1]

    def __repr__(self):
        return "<placeholder for %s>" % object.__getattribute__(self, "_eryx_name")

    __hash__ = object.__hash__

    def __eq__(self, other):
        return self is other

    def __ne__(self, other):
        return self is not other

    def __bool__(self):
        return True

    # ... everything else skips the test.
    def __getattr__(self, attr):
        if (attr.startswith("__") and attr.endswith("__")) or "pytest" in attr:
            raise AttributeError(attr)  # dunders, and pytest probing at collection
        _skip(object.__getattribute__(self, "_eryx_name"))

    def __call__(self, *a, **k):
        _skip(object.__getattribute__(self, "_eryx_name"))

    def __setattr__(self, attr, value):
        _skip(object.__getattribute__(self, "_eryx_name"))


def _placeholder_skipper(name):
    def method(self, *a, **k):
        _skip(object.__getattribute__(self, "_eryx_name"))
    method.__name__ = name
    return method


for _m in ("__iter__", "__len__", "__getitem__", "__setitem__", "__delitem__",
           "__contains__", "__lt__", "__le__", "__gt__", "__ge__",
           "__int__", "__float__", "__complex__", "__index__", "__round__",
           "__neg__", "__pos__", "__abs__", "__invert__", "__bytes__", "__fspath__",
           "__enter__", "__exit__", "__buffer__", "__array__", "__mro_entries__",
           "__instancecheck__", "__subclasscheck__", "__reduce__", "__reduce_ex__"):
    setattr(_Placeholder, _m, _placeholder_skipper(_m))
for _op in ("add", "sub", "mul", "matmul", "truediv", "floordiv", "mod", "divmod",
            "pow", "lshift", "rshift", "and", "xor", "or"):
    for _m in ("__%s__", "__r%s__", "__i%s__"):
        setattr(_Placeholder, _m % _op, _placeholder_skipper(_m % _op))


def _get_fpu_mode():
    # numpy/_core/src/multiarray/_multiarray_tests.c.src: Py_RETURN_NONE on
    # platforms other than x86 and MSVC.
    return None


class _StubModule(type(sys)):
    def __getattr__(self, attr):
        if attr == "__file__":
            # No file: an AttributeError (inspect.getmodule probes every module
            # with hasattr), worded so that a test failing on it (ctypes.CDLL(
            # module.__file__)) is counted as a stand-in skip.
            raise AttributeError("<placeholder for %s>.__file__: a stand-in module "
                                 "has no file" % self.__name__)
        if attr.startswith("__") and attr.endswith("__"):
            raise AttributeError(attr)
        if self.__name__ == "numpy._core._multiarray_tests" and attr == "get_fpu_mode":
            return _get_fpu_mode
        return _Placeholder(self.__name__ + "." + attr)


class _StubLoader(importlib.abc.Loader):
    def create_module(self, spec):
        return _StubModule(spec.name)

    def exec_module(self, module):
        module.__eryx_numpy_suite_stub__ = True
        stubs_served.append(module.__name__)


def _importer():
    """The name of the module whose code is importing (past importlib's frames)."""
    f = sys._getframe(2)
    while f is not None:
        name = f.f_globals.get("__name__", "")
        if not (name.startswith("importlib") or name.startswith("_frozen_importlib")
                or name == __name__):
            return name
        f = f.f_back
    return ""


class _StubFinder(importlib.abc.MetaPathFinder):
    def __init__(self, names, tests_only=False):
        self.names = names
        self.tests_only = tests_only

    def find_spec(self, fullname, path, target=None):
        if fullname not in self.names:
            return None
        if self.tests_only:
            # numpy's own modules see what the sandbox has (no ctypes: they
            # import it in try/except ImportError); only test code gets the
            # stand-in.
            who = _importer()
            if (who == "numpy" or who.startswith("numpy.")) and ".tests." not in who:
                return None
        return importlib.machinery.ModuleSpec(fullname, _StubLoader())


def _missing(name):
    try:
        return importlib.util.find_spec(name) is None
    except ImportError:
        return True


class _ConftestOnlyFinder(importlib.abc.MetaPathFinder):
    """Without stand-ins: numpy/conftest.py still gets get_fpu_mode (else no
    test runs at all); test files get the real ImportError."""

    def find_spec(self, fullname, path, target=None):
        if fullname == "numpy._core._multiarray_tests" and _importer() == "numpy.conftest":
            return importlib.machinery.ModuleSpec(fullname, self)
        return None

    def create_module(self, spec):
        return None

    def exec_module(self, module):
        module.get_fpu_mode = _get_fpu_mode


def pytest_configure(config):
    # After numpy/conftest.py: test files importing the module get the real
    # ImportError.
    if os.environ.get("ERYX_NUMPY_SUITE_STUBS", "1") == "0":
        sys.modules.pop("numpy._core._multiarray_tests", None)


if os.environ.get("ERYX_NUMPY_SUITE_STUBS", "1") == "0":
    sys.meta_path.append(_ConftestOnlyFinder())
else:
    sys.meta_path.append(_StubFinder(TEST_ONLY_MODULES))  # last: a real module wins
    # ctypes itself is there (pure Python) but fails on its C part: stand in
    # for it first, only when that C part is missing.
    missing = [mod for mod, c_part in MISSING_STDLIB.items() if _missing(c_part)]
    if missing:
        sys.meta_path.insert(0, _StubFinder(missing, tests_only=True))


def _has_placeholder(value, depth=0):
    if isinstance(value, _Placeholder):
        return object.__getattribute__(value, "_eryx_name")
    if depth < 3 and isinstance(value, (tuple, list)):
        for v in value:
            found = _has_placeholder(v, depth + 1)
            if found:
                return found
    if depth < 3 and isinstance(value, dict):
        return _has_placeholder(list(value.values()), depth + 1)
    return None


def _note_current(nodeid):
    path = os.environ.get("ERYX_NUMPY_SUITE_CURRENT")
    if path:
        with open(path, "w") as f:
            f.write(nodeid)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_protocol(item, nextitem):
    collect_touches.extend(touched)  # used at import or collection time
    del touched[:]
    # The test now running, on the host: if the sandbox crashes (a wasm trap)
    # or times out, run.sh knows which test did it, and runs the file again
    # without it.
    _note_current(item.nodeid)
    yield
    _note_current("")
    del touched[:]


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item):
    callspec = getattr(item, "callspec", None)
    if callspec is not None:
        found = _has_placeholder(list(callspec.params.values()))
        if found:
            _skip(found)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    rep = outcome.get_result()
    if rep.failed and not touched:
        # numpy's C code may have swallowed the skip and put the placeholder
        # in its own error message ("Cannot interpret '<placeholder for ...>'")
        msg = getattr(getattr(rep.longrepr, "reprcrash", None), "message", "") or ""
        i = msg.find("<placeholder for ")
        if i >= 0:
            touched.append(msg[i + len("<placeholder for "):].split(">")[0])
        elif "_Placeholder" in msg:  # "argument 1 must be numpy.ufunc, not _Placeholder"
            touched.append("a placeholder, given to: " + msg[:80])
    if touched and rep.when in ("setup", "call") and not rep.skipped:
        rep.outcome = "skipped"
        if hasattr(rep, "wasxfail"):
            del rep.wasxfail
        path, lineno, _ = item.location
        rep.longrepr = (str(item.path), (lineno or 0) + 1,
                        "Skipped: " + _reason(touched[0]))


def _first_line(report):
    rc = getattr(report.longrepr, "reprcrash", None)
    if rc is not None and getattr(rc, "message", None):
        msg = rc.message
    elif isinstance(report.longrepr, tuple):  # skip: (path, line, reason)
        msg = report.longrepr[2]
    else:
        msg = str(report.longrepr)
        # collection errors: the last 'E ' line names the exception
        es = [l[1:].strip() for l in msg.splitlines() if l.startswith("E ")]
        if es:
            msg = es[-1]
    msg = msg.strip().splitlines()[0] if msg.strip() else ""
    return msg[:300]


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    out = os.environ.get("ERYX_NUMPY_SUITE_OUT")
    if not out:
        return
    stats = terminalreporter.stats
    # The same numbers as pytest's closing line (one report per outcome).
    counts = {key: len(stats.get(key, []))
              for key in ("passed", "failed", "error", "skipped", "xfailed", "xpassed",
                          "deselected")}
    problems = []
    for key in ("failed", "error"):
        for r in stats.get(key, []):
            problems.append({"outcome": key, "nodeid": r.nodeid,
                             "when": getattr(r, "when", "collect"),
                             "message": _first_line(r)})
    skips = {}
    stub_skips = 0
    for r in stats.get("skipped", []):
        reason = _first_line(r)
        if reason.startswith("Skipped: "):
            reason = reason[len("Skipped: "):]
        if reason.startswith(STUB_REASON_PREFIX):
            stub_skips += 1
        skips[reason] = skips.get(reason, 0) + 1
    xfails = {}
    for r in stats.get("xfailed", []):
        reason = getattr(r, "wasxfail", "") or ""
        xfails[reason[:200]] = xfails.get(reason[:200], 0) + 1
    result = {"exitstatus": int(exitstatus), "counts": counts,
              "collect_touches": sorted(set(collect_touches + touched)),
              "stub_skips": stub_skips, "stubs_served": sorted(set(stubs_served)),
              "problems": problems,
              "skip_reasons": sorted(skips.items(), key=lambda kv: -kv[1]),
              "xfail_reasons": sorted(xfails.items(), key=lambda kv: -kv[1])}
    with open(out, "w") as f:
        json.dump(result, f, indent=1)
