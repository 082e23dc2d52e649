"""The public API over the _eryx extension: Sandbox, Session, SandboxFactory, ..."""
from __future__ import annotations

import json
import os
import types
from typing import Any, Callable, Iterable, Mapping, Sequence

from . import _eryx, _journal, _net
from ._callbacks import _invoker, _normalize_callbacks
from ._net import NetConfig, NetStats

# ---- exceptions ---------------------------------------------------------------------


class _TextOutputs:
    """stdout_text/stderr_text over the stdout/stderr bytes (ExecuteResult and the
    errors that stopped an execution)."""

    __slots__ = ()
    stdout: bytes
    stderr: bytes

    @property
    def stdout_text(self) -> str:
        """stdout decoded as UTF-8, invalid bytes replaced (U+FFFD)."""
        return self.stdout.decode("utf-8", "replace")

    @property
    def stderr_text(self) -> str:
        """stderr decoded as UTF-8, invalid bytes replaced (U+FFFD)."""
        return self.stderr.decode("utf-8", "replace")


_NO_FILES: Mapping[str, bytes] = types.MappingProxyType({})


class EryxError(_TextOutputs, Exception):
    """Base class of every error eryx raises. An error that stopped an execution
    (ExecutionError, TimeoutError, ResourceLimitError, CancelledError) carries
    what the code wrote before it stopped as `stdout`/`stderr` (bytes) and
    `stdout_text`/`stderr_text` (UTF-8, errors replaced); others carry b""."""

    stdout: bytes = b""
    stderr: bytes = b""
    files: Mapping[str, bytes] = _NO_FILES  # what collect_files handed back from a stopped execution


class ExecutionError(EryxError):
    """The code raised an uncaught exception (or exited with a non-zero status) in
    the sandbox. `traceback` is the guest's formatted traceback."""

    net_stats: NetStats = _net.NO_NET_STATS  # the execution's network activity

    def __init__(self, message: str, *, traceback: str | None = None, stdout: bytes = b"", stderr: bytes = b"",
                 exception_type: str | None = None, exit_code: int = 1) -> None:
        super().__init__(message)
        self.traceback = traceback
        self.stdout = _as_bytes(stdout)
        self.stderr = _as_bytes(stderr)
        self.exception_type = exception_type
        self.exit_code = exit_code


def _as_bytes(data: bytes | str) -> bytes:
    # outputs are bytes (pyeryx 0.11); text given by older callers is taken as its UTF-8
    return data.encode("utf-8", "surrogateescape") if isinstance(data, str) else bytes(data)


class InitializationError(EryxError):
    """A sandbox could not be made (guest missing, an import or setup code failed,
    a mount or package unusable)."""


class ResourceLimitError(EryxError):
    """The execution hit a resource limit (memory, fuel, output)."""


class TimeoutError(EryxError, TimeoutError):  # noqa: A001 - the built-in is a base on purpose
    """The execution ran past its timeout and was stopped."""


class CancelledError(EryxError):
    """The execution was cancelled (Sandbox.cancel)."""


_LIMIT_STATUSES = {"ERYX_ERR_MEMORY_LIMIT", "ERYX_ERR_FUEL_EXHAUSTED", "ERYX_ERR_OUTPUT_LIMIT"}
_INIT_STATUSES = {"ERYX_ERR_GUEST_NOT_FOUND", "ERYX_ERR_ENGINE", "ERYX_ERR_GUEST_INIT", "ERYX_ERR_GUEST_API",
                  "ERYX_ERR_MOUNT", "ERYX_ERR_PREINIT", "ERYX_ERR_PACKAGE", "ERYX_ERR_IO"}


def _error_for(name: str, message: str, *, creating: bool = False) -> EryxError:
    if name == "ERYX_ERR_TIMEOUT":
        return TimeoutError(message)
    if name == "ERYX_ERR_CANCELLED":
        return CancelledError(message)
    if name == "ERYX_ERR_SUSPENDED":  # a callback raised SuspendCallback (the reference's error)
        return ExecutionError(message)
    if name in _LIMIT_STATUSES:
        return ResourceLimitError(message)
    if creating or name in _INIT_STATUSES:
        return InitializationError(message)
    return EryxError(message)


def _translate(exc: _eryx.Error, *, creating: bool = False, loading: bool = False) -> Exception:
    _code, name, message = exc.args
    if name == "ERYX_ERR_INVALID_ARGUMENT":
        # a saved state that does not fit is an initialization problem, not a bad argument
        return InitializationError(message) if loading else ValueError(message)
    return _error_for(name, message, creating=creating)


def _call(fn: Callable[..., Any], *args: Any, creating: bool = False, loading: bool = False) -> Any:
    try:
        return fn(*args)
    except _eryx.Error as e:
        raise _translate(e, creating=creating, loading=loading) from None


# ---- limits -----------------------------------------------------------------------------


def _check_limit(name: str, value: Any, *, allow_none: bool) -> int | None:
    if value is None:
        if allow_none:
            return None
        raise TypeError(f"{name} must be an int, not None")
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be an int{' or None' if allow_none else ''}, not {type(value).__name__}")
    if value < 0:
        raise ValueError(f"{name} must be >= 0, not {value}")
    return value


# The reference's (pyeryx 0.11) default limits, shared by ResourceLimits and Session.
_DEFAULT_TIMEOUT_MS = 30000
_DEFAULT_MAX_MEMORY = 128 << 20


class ResourceLimits:
    """Limits of each execution. None means no limit for the optional ones."""

    __slots__ = ("_execution_timeout_ms", "_callback_timeout_ms", "_max_memory_bytes", "_max_callback_invocations",
                 "_max_fuel", "_max_vfs_bytes")

    def __init__(self, *, execution_timeout_ms: int | None = _DEFAULT_TIMEOUT_MS,
                 callback_timeout_ms: int | None = 10000, max_memory_bytes: int | None = _DEFAULT_MAX_MEMORY,
                 max_callback_invocations: int | None = 1000, max_fuel: int | None = None,
                 max_vfs_bytes: int | None = None) -> None:
        self.execution_timeout_ms = execution_timeout_ms
        self.callback_timeout_ms = callback_timeout_ms
        self.max_memory_bytes = max_memory_bytes
        self.max_callback_invocations = max_callback_invocations
        self.max_fuel = max_fuel
        self.max_vfs_bytes = max_vfs_bytes

    @classmethod
    def unlimited(cls) -> "ResourceLimits":
        """No timeout, no memory cap (wasm32's 4 GiB), no callback limits, no fuel."""
        return cls(execution_timeout_ms=None, callback_timeout_ms=None, max_memory_bytes=None,
                   max_callback_invocations=None, max_fuel=None, max_vfs_bytes=None)

    def __repr__(self) -> str:
        fields = ", ".join(f"{n[1:]}={getattr(self, n)!r}" for n in self.__slots__)
        return f"ResourceLimits({fields})"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, ResourceLimits):
            return NotImplemented
        return all(getattr(self, n) == getattr(other, n) for n in self.__slots__)


def _limit_property(name: str) -> property:
    attr = "_" + name

    def get(self: ResourceLimits) -> int | None:
        return getattr(self, attr)

    def set_(self: ResourceLimits, value: int | None) -> None:
        object.__setattr__(self, attr, _check_limit(name, value, allow_none=True))

    return property(get, set_, doc=f"{name} (None: no limit)")


for _n in ("execution_timeout_ms", "callback_timeout_ms", "max_memory_bytes", "max_callback_invocations", "max_fuel",
           "max_vfs_bytes"):
    setattr(ResourceLimits, _n, _limit_property(_n))
del _n

# ---- results ----------------------------------------------------------------------------


class ExecuteResult(_TextOutputs):
    """What an execution produced. Immutable. stdout and stderr are the bytes the
    code wrote, whole (pyeryx 0.11); stdout_text and stderr_text decode them
    (UTF-8, errors replaced); str(result) is stdout_text."""

    __slots__ = ("stdout", "stderr", "duration_ms", "callback_invocations", "peak_memory_bytes", "fuel_consumed",
                 "result_json", "result_error", "_result", "net_stats", "files", "files_left_out")

    stdout: bytes
    stderr: bytes
    duration_ms: float
    callback_invocations: int
    peak_memory_bytes: int
    fuel_consumed: int | None
    result_json: str | None
    result_error: str | None
    net_stats: NetStats  # connections, refused, bytes_sent, bytes_received (all 0 without a network)
    files: Mapping[str, bytes]  # collect_files: guest path -> bytes, sorted by path (read-only; empty without it)
    files_left_out: int  # files collect_files could not hand back (past its caps)

    def __init__(self, *, stdout: bytes, stderr: bytes, duration_ms: float, callback_invocations: int,
                 peak_memory_bytes: int, fuel_consumed: int | None, result_json: str | None,
                 result_error: str | None, net_stats: NetStats = _net.NO_NET_STATS,
                 files: Mapping[str, bytes] | None = None, files_left_out: int = 0) -> None:
        for k, v in (("stdout", _as_bytes(stdout)), ("stderr", _as_bytes(stderr)), ("duration_ms", duration_ms),
                     ("callback_invocations", callback_invocations), ("peak_memory_bytes", peak_memory_bytes),
                     ("fuel_consumed", fuel_consumed), ("result_json", result_json), ("result_error", result_error),
                     ("_result", json.loads(result_json) if result_json is not None else None),
                     ("net_stats", net_stats), ("files", types.MappingProxyType(dict(files or {}))),
                     ("files_left_out", files_left_out)):
            object.__setattr__(self, k, v)

    @property
    def result(self) -> Any:
        """The result variable's value, decoded from JSON; None when it is unset."""
        return self._result

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError(f"ExecuteResult is immutable (cannot set {name})")

    def __delattr__(self, name: str) -> None:
        raise AttributeError(f"ExecuteResult is immutable (cannot delete {name})")

    def __str__(self) -> str:
        return self.stdout_text

    def __repr__(self) -> str:
        # The reference's format (Rust's Debug): strings in double quotes (the outputs
        # as text, as the reference shows them), optional fields as Some(...)/None,
        # result as its JSON text.
        return (f"ExecuteResult(stdout={_debug_str(self.stdout_text)}, stderr={_debug_str(self.stderr_text)}, "
                f"duration_ms={self.duration_ms:.2f}, callback_invocations={self.callback_invocations}, "
                f"peak_memory_bytes={_debug_opt(self.peak_memory_bytes)}, "
                f"fuel_consumed={_debug_opt(self.fuel_consumed)}, result={_debug_opt(self.result_json)}, "
                f"result_error={_debug_opt(self.result_error)})")


_DEBUG_ESCAPES = {"\\": "\\\\", '"': '\\"', "\n": "\\n", "\r": "\\r", "\t": "\\t", "\0": "\\0"}


def _debug_str(text: str) -> str:
    """text as Rust's Debug writes a string (the reference's reprs): double quotes,
    backslash escapes, \\u{hex} for other unprintable characters."""
    return '"' + "".join(_DEBUG_ESCAPES.get(c) or (c if c.isprintable() else f"\\u{{{ord(c):x}}}")
                         for c in text) + '"'


def _debug_opt(value: Any) -> str:
    """An optional value as Rust's Debug writes an Option: Some(...) or None."""
    if value is None:
        return "None"
    return f"Some({_debug_str(value) if isinstance(value, str) else value})"


# ---- shared configuration -----------------------------------------------------------------

class VfsStorage:
    """An in-memory filesystem that several sessions (and sandboxes) can mount at
    once; its files survive Session.reset() and outlive the sessions."""

    def __init__(self, *, max_bytes: int | None = None) -> None:
        self._storage = _eryx.Storage(_check_limit("max_bytes", max_bytes, allow_none=True) or 0)

    @property
    def used_bytes(self) -> int:
        return self._storage.used_bytes

    def __repr__(self) -> str:
        return f"VfsStorage(used_bytes={self.used_bytes})"


def _mcp_callbacks(mcp: Any, limits: ResourceLimits) -> list[dict[str, Any]]:
    # An MCPManager's tools as callbacks named "mcp.<server>.<tool>" (eryx/mcp.py); a call
    # waits on the host no longer than the guest does (the callback timeout).
    if mcp is None:
        return []
    from .mcp import MCPManager
    if not isinstance(mcp, MCPManager):
        raise TypeError(f"mcp must be an eryx.mcp.MCPManager or None, not {type(mcp).__name__}")
    return mcp._callbacks(limits.callback_timeout_ms)


def _check_network(network: Any) -> NetConfig | None:
    return _net.check_network(network)


def _check_secrets(secrets: Any) -> list[tuple[str, str, list[str]]]:
    return _net.check_secrets(secrets)


def _check_quota(v: Any, quota: Any) -> tuple[int, int]:
    """A volume's optional 4th item: {"max_bytes": N, "max_files": N} (either may be
    left out or None: unbounded), what the guest may add to the host directory."""
    if not isinstance(quota, Mapping):
        raise TypeError(f"a volume's quota must be a mapping with max_bytes and/or max_files: {v!r}")
    unknown = set(quota) - {"max_bytes", "max_files"}
    if unknown:
        raise ValueError(f"a volume's quota takes max_bytes and max_files, not {sorted(map(str, unknown))}: {v!r}")
    out = []
    for key in ("max_bytes", "max_files"):
        n = quota.get(key)
        if n is None:
            n = 0
        elif isinstance(n, bool) or not isinstance(n, int):
            raise TypeError(f"a volume's {key} must be an int or None: {v!r}")
        elif n <= 0 or n >= 1 << 64:
            raise ValueError(f"a volume's {key} must be positive: {v!r}")
        out.append(n)
    return out[0], out[1]


def _check_volumes(volumes: Any) -> list[tuple[str, str, bool, int, int]]:
    if volumes is None:
        return []
    if isinstance(volumes, (str, bytes)) or not isinstance(volumes, Iterable):
        raise TypeError("volumes must be a sequence of (host_path, guest_path, read_only[, quota]) tuples")
    out = []
    for v in volumes:
        if not isinstance(v, (tuple, list)) or len(v) not in (3, 4):
            raise TypeError(f"a volume must be a (host_path, guest_path, read_only[, quota]) tuple, not {v!r}")
        host, guest, ro = v[:3]
        if not isinstance(host, (str, os.PathLike)) or not isinstance(guest, str):
            raise TypeError(f"a volume's paths must be strings: {v!r}")
        if not isinstance(ro, bool):
            raise TypeError(f"a volume's read_only must be a bool: {v!r}")
        max_bytes, max_files = _check_quota(v, v[3]) if len(v) == 4 and v[3] is not None else (0, 0)
        if ro and (max_bytes or max_files):
            raise ValueError(f"a read-only volume takes no quota: {v!r}")
        host = os.fspath(host)
        if not (os.path.isdir(host) or os.path.isfile(host)):  # a file is mounted as itself
            raise ValueError(f"volume host path {host!r} is neither a directory nor a regular file")
        if not guest.startswith("/"):
            raise ValueError(f"volume guest path {guest!r} must be absolute")
        out.append((os.path.abspath(host), guest, ro, max_bytes, max_files))
    return out


def _check_stream(name: str, fn: Any) -> None:
    if fn is not None and not callable(fn):
        raise TypeError(f"{name} must be callable or None, not {type(fn).__name__}")


def _check_result_variable(name: Any) -> str:
    if name is None:
        return "result"
    if not isinstance(name, str):
        raise TypeError(f"result_variable must be a str or None, not {type(name).__name__}")
    if not name.isidentifier():
        raise ValueError(f"result_variable {name!r} is not a Python identifier")
    return name


def _check_state_key(key: Any, name: str = "state_key") -> bytes | None:
    """A secret key argument (state_key, a journal's key): None, or 32 bytes or more."""
    if key is None:
        return None
    if not isinstance(key, (bytes, bytearray, memoryview)):
        raise TypeError(f"{name} must be bytes or None, not {type(key).__name__}")
    key = bytes(key)
    if len(key) < 32:
        raise ValueError(f"{name} must be at least 32 bytes (got {len(key)}): use os.urandom(32)")
    return key


class _Config:
    """Everything a builder is made from; shared by Sandbox, Session and factories."""

    def __init__(self, *, limits: ResourceLimits, callbacks: Any, volumes: Any, on_stdout: Any, on_stderr: Any,
                 result_variable: Any, network: Any, secrets: Any, keep_state: bool = False,
                 imports: Sequence[str] = (), packages: Sequence[str] = (), cache_dir: Any = "default",
                 storage: tuple[VfsStorage, str] | None = None, argv: Sequence[str] | None = None,
                 state_cache: bool = True, default_imports: bool = True, state_key: Any = None,
                 scrub: Sequence[Any] = (None, None, None, None), mcp: Any = None,
                 output_limit: int | None = None, setup_code: str | None = None,
                 collect_files: str | None = None, collect_files_max_bytes: int | None = None) -> None:
        if not isinstance(limits, ResourceLimits):
            raise TypeError(f"resource_limits must be a ResourceLimits or None, not {type(limits).__name__}")
        self.network = _check_network(network)
        self.secrets = _check_secrets(secrets)
        self.scrub = _net.scrub_flags(*scrub)  # (stdout, stderr, files, result), None: the default
        _check_stream("on_stdout", on_stdout)
        _check_stream("on_stderr", on_stderr)
        self.limits = limits
        self.callbacks = _normalize_callbacks(callbacks) + _mcp_callbacks(mcp, limits)
        self.volumes = _check_volumes(volumes)
        self.on_stdout, self.on_stderr = on_stdout, on_stderr
        self.result_variable = _check_result_variable(result_variable)
        self.keep_state = keep_state
        self.imports = list(imports)
        self.packages = list(packages)
        self.cache_dir = cache_dir
        self.state_cache = state_cache
        self.default_imports = bool(default_imports)
        self.storage = storage
        self.argv = list(argv) if argv is not None else None  # python -m eryx SCRIPT ARGS...
        self.state_key = _check_state_key(state_key)
        # bytes kept of each output stream per execution (None: the library's 16 MiB; 0: none)
        self.output_limit = _check_limit("output_limit", output_limit, allow_none=True)
        if setup_code is not None and not isinstance(setup_code, str):
            raise TypeError(f"setup_code must be a str or None, not {type(setup_code).__name__}")
        self.setup_code = setup_code  # run after the imports, into the start state (SandboxFactory)
        # files handed back after each execution (ExecuteResult.files): a guest directory, or None
        if collect_files is not None and (not isinstance(collect_files, str) or not collect_files.startswith("/")):
            raise ValueError(f"collect_files must be an absolute guest directory (like '/data') or None, "
                             f"not {collect_files!r}")
        self.collect_files = collect_files
        self.collect_files_max_bytes = _check_limit("collect_files_max_bytes", collect_files_max_bytes,
                                                    allow_none=True)

    def builder(self) -> _eryx.Builder:
        b = _eryx.Builder()
        lim = self.limits
        try:
            if self.cache_dir != "default":
                b.set_cache_dir(self.cache_dir)
            if not self.state_cache:
                b.set_start_state_cache(False)
            if not self.default_imports:
                b.set_default_imports(False)
            b.set_timeout_ms(lim.execution_timeout_ms or 0)
            b.set_max_memory(lim.max_memory_bytes or 0)
            if self.output_limit is not None:
                b.set_output_limit(self.output_limit)
            if self.collect_files is not None:
                b.collect_files(self.collect_files, self.collect_files_max_bytes or 0)
            if lim.max_fuel is not None:
                b.set_fuel(lim.max_fuel or 1)
            if lim.max_vfs_bytes is not None:
                b.set_memfs_limit(lim.max_vfs_bytes)
            b.set_callback_limits(lim.max_callback_invocations or 0, lim.callback_timeout_ms or 0)
            b.set_result_name(self.result_variable)
            b.set_keep_state(self.keep_state)
            if self.state_key is not None:
                b.set_session_key(self.state_key)
            if self.argv is not None:
                b.set_argv(self.argv)
            for host, guest, ro, max_bytes, max_files in self.volumes:
                b.add_mount(host, guest, ro)
                if max_bytes or max_files:
                    b.set_mount_quota(guest, max_bytes, max_files)
            if self.storage is not None:
                b.add_storage(self.storage[0]._storage, self.storage[1])
            for p in self.packages:
                b.add_package(p)
            for m in self.imports:
                b.add_preimport(m)
            if self.setup_code is not None:
                b.set_setup_code(self.setup_code)
            for cb in self.callbacks:
                b.add_callback(cb["name"], cb["description"], json.dumps(cb["schema"]), _invoker(cb["fn"]))
            if self.network is not None:
                self.network._apply(b)
            for name, value, hosts in self.secrets:
                b.add_secret(name, value, hosts)
            if self.secrets:
                b.set_scrub(self.scrub)
        except _eryx.Error as e:
            raise _translate(e, creating=True) from None
        return b


def _run(sb: _eryx.Sandbox, code: str, on_stdout: Any, on_stderr: Any) -> ExecuteResult:
    if not isinstance(code, str):
        raise TypeError(f"code must be a str, not {type(code).__name__}")
    stream = None
    if on_stdout is not None or on_stderr is not None:
        targets = {1: on_stdout, 2: on_stderr}

        def stream(fd: int, data: bytes) -> None:
            # each write of the guest, as bytes (pyeryx 0.11); an empty one is not passed
            fn = targets.get(fd)
            if fn is not None and data:
                fn(data)
    r = sb.execute(code, stream) if stream else sb.execute(code)
    status = r["status_name"]
    if "stdout" not in r:  # no result at all (the sandbox could not run)
        raise _error_for(status, r["message"])
    out, err = r["stdout"], r["stderr"]  # bytes, whole (no trimming, as pyeryx 0.11)
    net_stats = NetStats(*r["net_stats"])
    files = types.MappingProxyType(dict(r["files"]))
    if status == "ERYX_OK":
        return ExecuteResult(stdout=out, stderr=err, duration_ms=r["duration_ns"] / 1e6,
                             callback_invocations=r["callback_invocations"], peak_memory_bytes=r["peak_memory"],
                             fuel_consumed=r["fuel_consumed"] or None, result_json=r["value"],
                             result_error=r["value_error"], net_stats=net_stats, files=files,
                             files_left_out=r["files_left_out"])
    if status in ("ERYX_ERR_PYTHON_EXCEPTION", "ERYX_ERR_EXIT"):
        tb = r["traceback"]
        if status == "ERYX_ERR_EXIT":
            msg = f"the code exited with status {r['exit_code']}"
        else:
            msg = (tb or f"{r['exception_type']}: {r['exception_message']}").rstrip("\n")
        exc = ExecutionError(msg, traceback=tb, stdout=out, stderr=err, exception_type=r["exception_type"],
                             exit_code=r["exit_code"])
        exc.net_stats = net_stats
        exc.files = files
        raise exc
    e = _error_for(status, r["message"] or status)
    e.stdout, e.stderr = out, err
    e.net_stats = net_stats  # type: ignore[attr-defined]
    e.files = files  # type: ignore[attr-defined]
    raise e


# ---- Sandbox --------------------------------------------------------------------------------


class Sandbox:
    """A sandbox: each execute() starts from fresh interpreter state."""

    def __init__(self, *, resource_limits: ResourceLimits | None = None, callbacks: Any = None,
                 volumes: Sequence[tuple[str, str, bool]] | None = None,
                 on_stdout: Callable[[bytes], Any] | None = None, on_stderr: Callable[[bytes], Any] | None = None,
                 result_variable: str | None = None,
                 network: Any = None, secrets: Any = None, default_imports: bool = True,
                 scrub_stdout: bool | None = None, scrub_stderr: bool | None = None,
                 scrub_result: bool | None = None, scrub_files: bool | None = None, mcp: Any = None,
                 collect_files: str | None = None, collect_files_max_bytes: int | None = None) -> None:
        self._init(_Config(limits=resource_limits if resource_limits is not None else ResourceLimits(),
                           callbacks=callbacks, volumes=volumes, on_stdout=on_stdout, on_stderr=on_stderr,
                           result_variable=result_variable, network=network, secrets=secrets,
                           default_imports=default_imports,
                           scrub=(scrub_stdout, scrub_stderr, scrub_files, scrub_result), mcp=mcp,
                           collect_files=collect_files, collect_files_max_bytes=collect_files_max_bytes))

    def _init(self, cfg: _Config, builder: _eryx.Builder | None = None) -> None:
        self._cfg = cfg
        b = builder or cfg.builder()
        self._sb = _call(b.new_sandbox, creating=True)

    @classmethod
    def _from_config(cls, cfg: _Config) -> "Sandbox":
        self = cls.__new__(cls)
        self._init(cfg)
        return self

    @classmethod
    def _from_factory(cls, cfg: _Config, builder: _eryx.Builder) -> "Sandbox":
        self = cls.__new__(cls)
        self._init(cfg, builder)
        return self

    def execute(self, code: str) -> ExecuteResult:
        """Runs code in __main__ (top-level await works) and returns its result.
        Raises ExecutionError with the guest traceback when it raises."""
        return _run(self._sb, code, self._cfg.on_stdout, self._cfg.on_stderr)

    def execute_with_journal(self, code: str, journal: Mapping[str, Any] | None = None, *,
                             key: bytes | None = None) -> _journal.ReplayOutcome:
        """Runs code as execute() does, journaling its host callbacks and replaying
        those of journal (a previous outcome's); never raises for the execution's
        failure (it is the outcome's error). key (32+ bytes) signs the new journal
        and is required of the one given. ValueError for a malformed, oversized or
        wrongly signed journal. See docs/DURABLE.md."""
        return _journal.run_with_journal(self._sb, code, journal, key=key, on_stdout=self._cfg.on_stdout,
                                         on_stderr=self._cfg.on_stderr)

    def cancel(self) -> None:
        """Stops the running execution (from another thread); it raises CancelledError."""
        self._sb.cancel()


# ---- Session ------------------------------------------------------------------------------


class Session:
    """A sandbox that keeps Python state from one execute() to the next."""

    def __init__(self, *, vfs: VfsStorage | None = None, vfs_mount_path: str = "/data",
                 execution_timeout_ms: int | None = _DEFAULT_TIMEOUT_MS, max_fuel: int | None = None,
                 callbacks: Any = None,
                 volumes: Sequence[tuple[str, str, bool]] | None = None,
                 on_stdout: Callable[[bytes], Any] | None = None, on_stderr: Callable[[bytes], Any] | None = None,
                 result_variable: str | None = None,
                 network: Any = None, default_imports: bool = True,
                 max_memory_bytes: int | None = _DEFAULT_MAX_MEMORY, state_key: bytes | None = None,
                 secrets: Any = None, scrub_stdout: bool | None = None, scrub_stderr: bool | None = None,
                 scrub_result: bool | None = None, scrub_files: bool | None = None, mcp: Any = None,
                 collect_files: str | None = None, collect_files_max_bytes: int | None = None) -> None:
        if vfs is not None and not isinstance(vfs, VfsStorage):
            raise TypeError(f"vfs must be a VfsStorage or None, not {type(vfs).__name__}")
        if not isinstance(vfs_mount_path, str) or not vfs_mount_path.startswith("/"):
            raise ValueError(f"vfs_mount_path must be an absolute guest path, not {vfs_mount_path!r}")
        # The same default limits as a Sandbox's (ResourceLimits()); None turns the
        # timeout or the cap off.
        limits = ResourceLimits(execution_timeout_ms=_check_limit("execution_timeout_ms", execution_timeout_ms,
                                                                  allow_none=True),
                                max_fuel=_check_limit("max_fuel", max_fuel, allow_none=True),
                                max_memory_bytes=_check_limit("max_memory_bytes", max_memory_bytes,
                                                              allow_none=True))
        cfg = _Config(limits=limits, callbacks=callbacks, volumes=volumes, on_stdout=on_stdout, on_stderr=on_stderr,
                      result_variable=result_variable, network=network, secrets=secrets, keep_state=True,
                      storage=(vfs, vfs_mount_path) if vfs is not None else None, default_imports=default_imports,
                      state_key=state_key, scrub=(scrub_stdout, scrub_stderr, scrub_files, scrub_result), mcp=mcp,
                      collect_files=collect_files, collect_files_max_bytes=collect_files_max_bytes)
        self._init(cfg, vfs, vfs_mount_path)

    def _init(self, cfg: _Config, vfs: VfsStorage | None, vfs_mount_path: str) -> None:
        self._cfg = cfg
        self._vfs = vfs
        self._vfs_mount_path = vfs_mount_path
        self._timeout = cfg.limits.execution_timeout_ms
        self._fuel = cfg.limits.max_fuel
        self._count = 0
        self._sb = _call(cfg.builder().new_sandbox, creating=True)

    @classmethod
    def _from_config(cls, cfg: _Config) -> "Session":
        """A session of any _Config (imports, packages: what `serve` needs); cfg.keep_state must be set."""
        if not cfg.keep_state:
            raise ValueError("a Session's _Config keeps state")
        self = cls.__new__(cls)
        self._init(cfg, cfg.storage[0] if cfg.storage else None, cfg.storage[1] if cfg.storage else "/data")
        return self

    def execute(self, code: str) -> ExecuteResult:
        """Runs code in the session's __main__: names defined earlier are visible."""
        try:
            return _run(self._sb, code, self._cfg.on_stdout, self._cfg.on_stderr)
        finally:
            self._count += 1

    def execute_with_journal(self, code: str, journal: Mapping[str, Any] | None = None, *,
                             key: bytes | None = None) -> _journal.ReplayOutcome:
        """Sandbox.execute_with_journal in the session. A run that halts (a callback
        suspends it, it times out, runs out of fuel, crashes) rolls the session back
        to its state before the run (files and network calls are not undone), so
        resuming here does not apply the replayed calls' effects twice; a suspended
        run does not count in execution_count."""
        outcome = _journal.run_with_journal(self._sb, code, journal, key=key, on_stdout=self._cfg.on_stdout,
                                            on_stderr=self._cfg.on_stderr)
        if outcome.suspended is None:
            self._count += 1
        return outcome

    def reset(self) -> None:
        """Back to a fresh interpreter (the VfsStorage's files stay)."""
        _call(self._sb.reset)
        self._count = 0

    def clear_state(self) -> None:
        """Deletes the names executions defined in __main__; imports stay loaded."""
        _call(self._sb.clear)

    def snapshot_state(self) -> bytes:
        """The whole interpreter state as bytes (files are not included),
        authenticated with the session's state_key (default: this process's own)."""
        return _call(self._sb.snapshot)

    def restore_state(self, snapshot: bytes) -> None:
        """Replaces the state with one from snapshot_state(), of this or another
        session of the same configuration and state_key. Raises ValueError for
        state made with another key (by default: in another process), changed or
        forged; ResourceLimitError when it needs more memory than allowed. (The
        parameter is named `snapshot` as in pyeryx 0.11.)"""
        if not isinstance(snapshot, (bytes, bytearray, memoryview)):
            raise TypeError(f"restore_state needs bytes, not {type(snapshot).__name__}")
        _call(self._sb.restore, snapshot)

    def cancel(self) -> None:
        self._sb.cancel()

    @property
    def execution_count(self) -> int:
        return self._count

    @property
    def execution_timeout_ms(self) -> int | None:
        return self._timeout

    @execution_timeout_ms.setter
    def execution_timeout_ms(self, value: int | None) -> None:
        value = _check_limit("execution_timeout_ms", value, allow_none=True)
        _call(self._sb.set_timeout_ms, value or 0)
        self._timeout = value

    @property
    def max_memory_bytes(self) -> int | None:
        """The guest's memory cap (fixed at creation; None: the 4 GiB of wasm32)."""
        return self._cfg.limits.max_memory_bytes

    @property
    def fuel_limit(self) -> int | None:
        return self._fuel

    @fuel_limit.setter
    def fuel_limit(self, value: int | None) -> None:
        value = _check_limit("fuel_limit", value, allow_none=True)
        if self._fuel is None and value is not None:
            raise ValueError("fuel metering is compiled into the sandbox's code: create the Session with "
                             "max_fuel=... to set fuel_limit later")
        if self._fuel is not None:
            _call(self._sb.set_fuel, value or 0)
        self._fuel = value

    @property
    def vfs(self) -> VfsStorage | None:
        return self._vfs

    @property
    def vfs_mount_path(self) -> str:
        return self._vfs_mount_path

    def __repr__(self) -> str:
        # The reference's format: the mount path only when a VfsStorage is mounted.
        mount = f", vfs_mount_path={_debug_str(self._vfs_mount_path)}" if self._vfs is not None else ""
        return f"Session(execution_count={self._count}{mount})"
