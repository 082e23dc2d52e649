"""Guest-side support for eryx: how the host's code is run inside the sandbox.

Shipped in the stdlib image, so it can change without rebuilding the interpreter.
The C shim (guest/shim/eryx_shim.c) calls execute() for each piece of code, and the
host reaches the other functions here through the shim's eryx_call(name, bytes),
which returns the function's int result.
"""
import os as _os
import sys

import _eryx

FILENAME = "<string>"

# What _eryx.report's kinds mean: ERYX__REPORT_* in src/host/host.h (the guest ABI;
# ctest unit.guest_abi fails if the two disagree).
REPORT_EXC_TYPE = 1
REPORT_EXC_MESSAGE = 2
REPORT_TRACEBACK = 3
REPORT_RESULT = 4        # the result variable, JSON-encoded
REPORT_RESULT_ERROR = 5  # why the result variable could not be encoded


def _unbuffered_streams():
    """Makes stdout and stderr unbuffered (as python -u): each write reaches the
    host at once, so output written before a timeout, a cancel or a crash is
    never lost in a guest-side buffer."""
    import io
    for name, fd in (("stdout", 1), ("stderr", 2)):
        old = getattr(sys, name)
        raw = io.FileIO(fd, "w", closefd=False)
        new = io.TextIOWrapper(raw, encoding=old.encoding, errors=old.errors, write_through=True)
        setattr(sys, name, new)
        setattr(sys, "__%s__" % name, new)


_unbuffered_streams()


def _install_chmod():
    """CPython's WASI build makes os.chmod succeed without asking the host (WASI
    has no chmod), also on a read-only mount or a missing file. Ask the host
    whether the file may change: setting its times to what they are is refused
    with EROFS on a read-only mount, ENOENT when it does not exist. The mode itself
    is not kept (no mode bits in the VFS), as before."""
    real = _os.chmod

    def chmod(path, mode, *, dir_fd=None, follow_symlinks=True):
        if not isinstance(path, int):
            kw = {"follow_symlinks": follow_symlinks}
            if dir_fd is not None:
                kw["dir_fd"] = dir_fd
            st = _os.stat(path, **kw)
            _os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns), **kw)
        return real(path, mode, dir_fd=dir_fd, follow_symlinks=follow_symlinks)

    chmod.__doc__ = real.__doc__
    _os.chmod = chmod


_install_chmod()

# ---- stdlib imports from an index --------------------------------------------
# The stdlib image is immutable, so the path finder's work per import (a stat of
# the directory to check its cached listing, a stat of the file, then open, fstat,
# tell and two reads of the .pyc: ~10 host calls and ~50 us in the guest) is
# replaced by a lookup in an index of the image made once, in the start state, and
# one open, one read and one close. The finder answers only where the path finder
# would find the same file: the stdlib first on sys.path, or a stdlib package's
# own __path__; anything else (a package's module, a name the user put earlier on
# sys.path, a changed __path__) goes on to the path finder.

STDLIB = "/usr/local/lib/python3.13"
_bootstrap_external = sys.modules["_frozen_importlib_external"]


def _index_stdlib(root):
    """{module name: (path of its .pyc, its size, the package's directory or None,
    the directory holding it)} for every module in the image (one directory walk)."""
    index = {}

    def walk(directory, prefix):
        try:
            entries = list(_os.scandir(directory))
        except OSError:
            return
        for e in entries:
            name = e.name
            if name.endswith(".pyc") and name != "__init__.pyc" and e.is_file():
                index[prefix + name[:-4]] = (e.path, e.stat().st_size, None, directory)
            elif "." not in name and e.is_dir():
                init = e.path + "/__init__.pyc"
                try:
                    size = _os.stat(init).st_size
                except OSError:
                    continue  # not a package (data files only)
                index[prefix + name] = (init, size, e.path, directory)
                walk(e.path, prefix + name + ".")
    walk(root, "")
    return index


class StdlibLoader(_bootstrap_external.SourcelessFileLoader):
    """CPython's loader for a sourceless .pyc, reading the file in one call: the
    index knows its size."""

    def __init__(self, fullname, path, size):
        super().__init__(fullname, path)
        self._size = size

    def get_data(self, path):
        if path != self.path:
            return super().get_data(path)
        fd = _os.open(path, _os.O_RDONLY)
        try:
            data = _os.read(fd, self._size + 1)
        finally:
            _os.close(fd)
        if len(data) != self._size:  # not what the index says: read it as usual
            return super().get_data(path)
        return data

    def get_code(self, fullname):
        code = _CODE.get(self.path)
        return code if code is not None else super().get_code(fullname)


class StdlibFinder:
    """A meta path finder for the stdlib image, over _index_stdlib's index."""

    def __init__(self, root, index):
        self.root, self.index = root, index

    def find_spec(self, fullname, path=None, target=None):
        entry = self.index.get(fullname)
        if entry is None:
            return None
        origin, size, pkg_dir, where = entry
        if path is None:
            # Top level: the path finder would look in sys.path's order.
            if where != self.root or not sys.path or sys.path[0] != where:
                return None
        elif len(path) != 1 or path[0] != where:
            return None  # a parent package whose __path__ was changed
        loader = StdlibLoader(fullname, origin, size)
        return _bootstrap_external.spec_from_file_location(
            fullname, origin, loader=loader,
            submodule_search_locations=[pkg_dir] if pkg_dir is not None else None)

    def invalidate_caches(self):
        pass  # the image never changes


# The stdlib's code objects, unmarshalled ahead (cache_stdlib_code), by .pyc path.
_CODE = {}

# Left out of the code cache: pure-Python twins of C modules the stdlib uses
# instead, and what needs processes or a terminal.
_NO_CODE_CACHE = ("_pydecimal", "_pyio", "_pydatetime", "_pyrepl", "multiprocessing", "pydoc", "pdb",
                  "concurrent.futures.process")


def cache_stdlib_code():
    """Unmarshals the code of every stdlib module not imported yet (but those in
    _NO_CODE_CACHE) into _CODE, so that a later import of one only runs it: in the
    guest, unmarshalling is a quarter of an import's time. Meant for a start
    state (import _eryx_stdlib_code last in the import list): it costs ~0.1 s and
    ~11 MB of the snapshot's memory, shared by its sandboxes. Returns the count."""
    finder = next((f for f in sys.meta_path if isinstance(f, StdlibFinder)), None)
    if finder is None:
        return 0
    for name, (origin, size, _, _) in sorted(finder.index.items()):
        if name in sys.modules or origin in _CODE:
            continue
        if any(name == skip or name.startswith(skip + ".") for skip in _NO_CODE_CACHE):
            continue
        try:
            data = StdlibLoader(name, origin, size).get_data(origin)
            details = {"name": name, "path": origin}
            _bootstrap_external._classify_pyc(data, name, details)
            _CODE[origin] = _bootstrap_external._compile_bytecode(memoryview(data)[16:], name=name,
                                                                  bytecode_path=origin)
        except (OSError, ImportError, EOFError, ValueError):
            pass  # imported the ordinary way, if ever
    return len(_CODE)


def _install_stdlib_finder():
    for finder in sys.meta_path:
        if isinstance(finder, StdlibFinder):
            return
    index = _index_stdlib(STDLIB)
    if not index:
        return
    at = len(sys.meta_path)
    for i, finder in enumerate(sys.meta_path):
        if finder is _bootstrap_external.PathFinder:
            at = i
            break
    sys.meta_path.insert(at, StdlibFinder(STDLIB, index))


_install_stdlib_finder()


def _flush():
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except Exception:
            pass


def _exit_status(code):
    # The same mapping CPython applies to SystemExit at the top level.
    if code is None:
        return 0
    if isinstance(code, int):
        return code & 0xFF
    try:
        print(code, file=sys.stderr)
    except Exception:
        pass
    return 1


def _encode(text):
    return text.encode("utf-8", "backslashreplace")


# A traceback longer than _TB_HEAD + _TB_TAIL frames (a recursion far past the
# default limit: sys.setrecursionlimit raised, then the memory cap hit) keeps its
# outermost _TB_HEAD and innermost _TB_TAIL frames, with a line saying how many
# were left out. Formatting costs 20-40 us a frame here (10,000: 0.23 s; 100,000:
# 4.3 s), and a recursion that fills 256 MiB leaves a million, nearly all alike.
# Up to 10,000 frames the traceback is CPython's own, unchanged.
_TB_HEAD = 100
_TB_TAIL = 9900


def _cut_traceback(tb):
    """Unlinks the middle of a traceback chain longer than _TB_HEAD + _TB_TAIL
    (frees its frames); returns (frames kept before the cut, frames dropped), or
    None when nothing was cut."""
    head = tb
    for _ in range(_TB_HEAD - 1):
        if head is None:
            return None
        head = head.tb_next
    lead = head
    for _ in range(_TB_TAIL + 1):
        if lead is None:
            return None
        lead = lead.tb_next
    tail, dropped = head.tb_next, 0
    while lead is not None:  # tail ends _TB_TAIL frames before the end
        lead, tail, dropped = lead.tb_next, tail.tb_next, dropped + 1
    if not dropped:
        return None
    head.tb_next = tail
    return _TB_HEAD, dropped


_Stack = None


def _stack_class():
    """A traceback.StackSummary that formats each distinct frame once (CPython's
    formats every frame, parsing its source line for the carets, even the
    repeats it then leaves out) and marks where _cut_traceback cut."""
    global _Stack
    if _Stack is None:
        import traceback

        class Stack(traceback.StackSummary):
            cut = None  # _cut_traceback's answer

            def format_frame_summary(self, fs, **kwargs):
                if fs.locals is not None:
                    return super().format_frame_summary(fs, **kwargs)
                key = (fs.filename, fs.lineno, fs.end_lineno, fs.colno, fs.end_colno, fs.name,
                       kwargs.get("colorize", False))
                memo = self.__dict__.setdefault("memo", {})
                if key not in memo:
                    memo[key] = super().format_frame_summary(fs, **kwargs)
                return memo[key]

            def format(self, **kwargs):
                if self.cut is None:
                    return super().format(**kwargs)
                at, dropped = self.cut
                out = Stack(self[:at]).format(**kwargs)
                out.append(f"  [... {dropped} frames not shown: a traceback this deep keeps its first {_TB_HEAD} "
                           f"and last {_TB_TAIL} frames ...]\n")
                return out + Stack(self[at:]).format(**kwargs)

        _Stack = Stack
    return _Stack


def _fast_stacks(te, exc, cuts, seen):
    """Gives each TracebackException in te's chain (exc's) a _stack_class stack,
    marked where _cut_traceback cut the exception's traceback (cuts: id(exc) ->
    its answer)."""
    stack_class = _stack_class()
    while te is not None and exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        te.stack = stack_class(te.stack)
        te.stack.cut = cuts.get(id(exc))
        for sub_te, sub in zip(getattr(te, "exceptions", None) or (), getattr(exc, "exceptions", ())):
            _fast_stacks(sub_te, sub, cuts, seen)
        if te.__cause__ is not None:
            _fast_stacks(te.__cause__, exc.__cause__, cuts, seen)
        te, exc = te.__context__, exc.__context__


def _report(exc, source):
    """Prints the traceback on stderr, as python -c would, and hands the host the
    exception's type, message and traceback."""
    import linecache
    import traceback
    # Show the user's frames only (not this module's), with source lines.
    lines = source.decode("utf-8", "replace").splitlines(True)
    linecache.cache[FILENAME] = (len(source), None, lines, FILENAME)
    tb = exc.__traceback__
    # (compared by code filename: __file__ names the sourceless .pyc)
    while tb is not None and tb.tb_frame.f_code.co_filename == _report.__code__.co_filename:
        tb = tb.tb_next
    # Very deep tracebacks are cut first (this exception's and those it chains).
    cuts, pending, seen = {}, [(exc, tb)], set()
    while pending:
        e, t = pending.pop()
        if id(e) in seen:
            continue
        seen.add(id(e))
        cut = _cut_traceback(t)
        if cut:
            cuts[id(e)] = cut
        for sub in (e.__cause__, e.__context__, *(getattr(e, "exceptions", None) or ())):
            if isinstance(sub, BaseException):
                pending.append((sub, sub.__traceback__))
    try:
        te = traceback.TracebackException(type(exc), exc, tb, compact=True)
        _fast_stacks(te, exc, cuts, set())
        text = "".join(te.format())
    except BaseException:  # a broken __str__ must not hide the error
        text = f"{type(exc).__name__}: <exception str() failed>\n"
    try:
        sys.stderr.write(text)
    except BaseException:
        pass
    cls = type(exc)
    name = cls.__qualname__ if cls.__module__ in ("builtins", "__main__") else f"{cls.__module__}.{cls.__qualname__}"
    try:
        message = str(exc)
    except BaseException:
        message = "<exception str() failed>"
    _eryx.report(REPORT_EXC_TYPE, _encode(name))
    _eryx.report(REPORT_EXC_MESSAGE, _encode(message))
    _eryx.report(REPORT_TRACEBACK, _encode(text))


_TOP_LEVEL_AWAIT = 0x2000  # ast.PyCF_ALLOW_TOP_LEVEL_AWAIT
_CO_COROUTINE = 0x0080     # inspect.CO_COROUTINE


def _run_code(code, main):
    """Runs a compiled module; one with a top-level await is a coroutine, run to
    its end on a fresh event loop (with the host callbacks' selector)."""
    if code.co_flags & _CO_COROUTINE:
        import asyncio
        loop = asyncio.new_event_loop()
        try:
            loop.run_until_complete(eval(code, main))
        finally:
            loop.close()
    else:
        exec(code, main)


def _execute(source, mode):
    """Compiles source (bytes) in mode ("exec", or "single" for a REPL statement,
    which prints an expression's value) and runs it in __main__; returns a
    process-style exit status."""
    main = sys.modules["__main__"].__dict__
    try:
        code = compile(source, FILENAME, mode, flags=_TOP_LEVEL_AWAIT)
        _run_code(code, main)
        status = 0
    except SystemExit as e:
        status = _exit_status(e.code)
    except MemoryError as e:
        # Memory is at its cap: formatting the traceback may fail too, so the
        # type alone (constant bytes, no allocation) is the fallback.
        try:
            _report(e, source)
        except BaseException:
            _eryx.report(REPORT_EXC_TYPE, b"MemoryError")
            try:
                _os.write(2, b"MemoryError (no memory left to format the traceback)\n")
            except BaseException:
                pass
        status = 1
    except BaseException as e:
        try:
            _report(e, source)
        except BaseException:  # out of memory while reporting: the type alone
            _eryx.report(REPORT_EXC_TYPE, _encode(type(e).__name__))
        status = 1
    _flush()
    return status


def execute(source):
    """Runs source (bytes) in __main__ (the shim's eryx_execute)."""
    return _execute(source, "exec")


def execute_single(source):
    """Runs source (bytes) as the interactive interpreter does (eryx repl)."""
    return _execute(source, "single")


def complete(source):
    """For a REPL: 0 if source (bytes) is a complete statement, 1 if it needs more
    lines, 2 if it is already a syntax error (run it, to show the error)."""
    import codeop
    text = source.decode("utf-8", "replace")
    try:
        return 0 if codeop.compile_command(text, FILENAME, "single") is not None else 1
    except (SyntaxError, ValueError, OverflowError):
        return 2


EXTENSION_SUFFIXES = [".cpython-313-wasm32-wasi.so", ".abi3.so", ".so"]


class ExtensionLoader:
    """Loads a wasm32-wasi extension module (a side module, docs/LATE-LINKING.md)
    through the host: CPython's ExtensionFileLoader, with the host as dlopen."""

    def __init__(self, fullname, path):
        self.name, self.path = fullname, path

    def create_module(self, spec):
        import _eryx
        return _eryx.load_extension(spec.name, spec.origin, spec)

    def exec_module(self, module):
        pass  # single-phase modules are ready; multi-phase ones ran in create_module

    def is_package(self, fullname):
        return False

    def get_filename(self, fullname):
        return self.path


def add_paths(paths):
    """Appends the packages' mount points (bytes, NUL-separated) to sys.path, after
    the stdlib, as site-packages would be, and lets the path finder load extension
    modules from them. Returns 0."""
    import importlib.machinery as m
    hook = m.FileFinder.path_hook((ExtensionLoader, EXTENSION_SUFFIXES),
                                  (m.SourceFileLoader, m.SOURCE_SUFFIXES),
                                  (m.SourcelessFileLoader, m.BYTECODE_SUFFIXES))
    sys.path_hooks.insert(0, hook)
    sys.path_importer_cache.clear()
    for p in paths.decode("utf-8").split("\0"):
        if p and p not in sys.path:
            sys.path.append(p)
    return 0


def preimport(names):
    """Imports each module named in names (bytes, one per line), in order, before a
    snapshot is taken. Returns 0, or 1 after reporting the failing import's error.

    The cyclic GC is off while they import (numpy's import spends ~8% of its time
    in collections of objects that all survive), then gc.freeze() moves every
    object alive into the permanent generation (no collection first: after numpy's
    import one took 10 ms to free 162 objects): later
    collections in the sandboxes skip the interpreter's and the imports' objects
    instead of walking (and writing the GC headers of) every one of them, which
    would also copy the snapshot's pages into each sandbox. A workload with a full
    collection ran 2x faster (docs/BENCHMARKS.md). Frozen objects are not collected
    if they become garbage later: a kept-state session may keep a few."""
    import gc
    import importlib
    gc.disable()
    try:
        for name in names.decode("utf-8").splitlines():
            if not name.strip():
                continue
            try:
                importlib.import_module(name.strip())
            except BaseException as e:
                _report(e, b"")
                _flush()
                return 1
    finally:
        gc.enable()
    gc.freeze()
    _flush()
    return 0


def restore(argv):
    """Called by the host on every instance restored from a snapshot, with the
    sandbox's argv (bytes, NUL-separated). The snapshot is shared by every argv,
    so sys.argv is set here; and it holds the state of every generator seeded
    while it was made, so each instance draws its own seed from the host's CSPRNG
    (WASI random_get)."""
    args = [a.decode("utf-8", "surrogateescape") for a in argv.split(b"\0")] if argv else []
    sys.argv = args
    sys.orig_argv = list(args)
    global _baseline
    _baseline = frozenset(sys.modules["__main__"].__dict__)
    return reseed()


_baseline = None  # __main__'s names when the instance started (set by restore)


def clear(_arg):
    """Deletes the names the executions added to __main__ since the instance
    started (the setup code's and the interpreter's own stay). Returns 0."""
    main = sys.modules["__main__"].__dict__
    if _baseline is None:
        return 0
    for name in [n for n in main if n not in _baseline]:
        del main[name]
    return 0


def reseed():
    mod = sys.modules.get("random")
    if mod is not None:
        # 256 bits from the host's CSPRNG, not seed()'s 2,496 bytes: the same
        # Mersenne Twister key expansion, and a tenth of the cost of a restore's
        # reseed (reading 2.5 KB through WASI random_get took 19-80 us here;
        # docs/START-STATE.md). MT is no cryptographic generator either way.
        mod.seed(int.from_bytes(_os.urandom(32), "little"))
    mod = sys.modules.get("tempfile")
    if mod is not None:
        mod._name_sequence = None  # rebuilt, with a fresh Random, on next use
    mod = sys.modules.get("logging")
    if mod is not None:  # records' relativeCreated counts from the sandbox's start, not the capture's
        mod._startTime = __import__("time").time_ns()
    return 0


def set_env(pairs):
    """Called by the host after restore (and after a session restore) with the
    sandbox's secret placeholders: "NAME=VALUE" pairs, bytes, NUL-separated. Set
    here, never in a start state: a snapshot serves many sandboxes, each with its
    own placeholders. Returns 0."""
    for pair in pairs.split(b"\0") if pairs else ():
        name, _, value = pair.partition(b"=")
        _os.environ[name.decode("ascii")] = value.decode("ascii")
    return 0


def result(name):
    """Reports __main__'s variable called name (bytes) as JSON, or why it cannot be
    encoded ("result is not JSON-serializable: <type> (<exception type>)", the
    reference's text). NaN and Infinity are not JSON and are refused. The variable
    is consumed: deleted from __main__, so a session's later run that does not set
    it reports nothing (as the reference). Returns 1 if the variable does not
    exist, else 0."""
    main = sys.modules["__main__"].__dict__
    key = name.decode("utf-8")
    if key not in main:
        return 1
    value = main.pop(key)
    import json
    try:
        text = json.dumps(value, allow_nan=False, ensure_ascii=False)
    except BaseException as e:
        message = f"result is not JSON-serializable: {type(value).__name__} ({type(e).__name__})"
        _eryx.report(REPORT_RESULT_ERROR, _encode(message))
        return 0
    _eryx.report(REPORT_RESULT, _encode(text))
    return 0


def drop_result(name):
    """Deletes __main__'s variable called name (bytes), unread: a run that failed
    consumes it too (the reference's sessions do). Returns 0."""
    sys.modules["__main__"].__dict__.pop(name.decode("utf-8"), None)
    return 0


# ---- host callbacks: guest/lib/_eryx_callbacks.py ----------------------------------
# cb_start's refusals: ERYX__CB_* in src/sandbox/callbacks.h (checked by unit.guest_abi).
_REFUSED = {-1: "there is no such callback", -2: "the callback invocation limit is reached",
            -3: "the arguments are over the payload limit", -4: "the host is out of memory"}

# The host calls set_callbacks here (eryx_call("set_callbacks", ...)).
from _eryx_callbacks import CallbackError, CallbackNamespace, invoke, list_callbacks, set_callbacks  # noqa: E402,F401

# invoke and list_callbacks are names in every sandbox, callbacks or none (as the
# reference's). Builtins, not __main__'s: globals() lists only the user's names (the
# MCP server's list_session shows them), and clear() cannot remove them.
import builtins as _builtins  # noqa: E402
_builtins.invoke, _builtins.list_callbacks = invoke, list_callbacks


# ---- network (issue 18) ----------------------------------------------------------
# The guest has no real sockets and no OpenSSL: _socket and ssl are eryx's modules
# over the host's network (_eryx_socket, _eryx_ssl), and asyncio is patched, once
# imported, to use them (_eryx_asyncio), and anyio's TLS streams (_eryx_anyio, for
# httpx.AsyncClient). docs/NETWORK-GUEST.md.

_NET_ALIASES = {"_socket": "_eryx_socket", "ssl": "_eryx_ssl"}
_NET_PATCHES = {"asyncio": "_eryx_asyncio", "anyio.streams.tls": "_eryx_anyio"}


class _NetAliasLoader:
    """Runs the code of eryx's module (src) as the module asked for."""

    def __init__(self, src):
        self.src = src

    def create_module(self, spec):
        return None

    def exec_module(self, module):
        import importlib.util
        spec = importlib.util.find_spec(self.src)
        module.__file__ = spec.origin
        exec(spec.loader.get_code(self.src), module.__dict__)


class _NetPatchLoader:
    """The module's own loader, then eryx's patch (src.patch(module))."""

    def __init__(self, loader, src):
        self._loader, self._src = loader, src

    def __getattr__(self, name):
        return getattr(self._loader, name)

    def create_module(self, spec):
        return self._loader.create_module(spec)

    def exec_module(self, module):
        self._loader.exec_module(module)
        import importlib
        importlib.import_module(self._src).patch(module)


class NetFinder:
    def find_spec(self, fullname, path=None, target=None):
        src = _NET_ALIASES.get(fullname)
        if src is not None:
            import importlib.machinery
            return importlib.machinery.ModuleSpec(fullname, _NetAliasLoader(src))
        src = _NET_PATCHES.get(fullname)
        if src is None:
            return None
        for finder in sys.meta_path:
            if finder is self or not hasattr(finder, "find_spec"):
                continue
            spec = finder.find_spec(fullname, path, target)
            if spec is not None:
                spec.loader = _NetPatchLoader(spec.loader, src)
                return spec
        return None

    def invalidate_caches(self):
        pass


if not any(isinstance(f, NetFinder) for f in sys.meta_path):
    sys.meta_path.insert(0, NetFinder())
