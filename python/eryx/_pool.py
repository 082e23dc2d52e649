"""Sandbox pools (pyeryx 0.11's API over eryx_pool_*, docs/POOLS.md): SandboxPool,
PooledSandbox, PoolStats and the PoolError family. SandboxFactory.create_pool
makes the pool; capacity, waiting, idle sandboxes and what a release resets are
the C library's.

A lease with the pool's configuration gets a warm sandbox (a per-lease execution
timeout is set on it and put back on release). Callbacks, and limits that are
part of a sandbox's start state (memory, fuel, callback limits, /tmp size), cannot
change on a warm sandbox: such a lease gets a sandbox of its own, made from the
factory's state with its configuration, counted against max_size like any lease
and freed on release."""
from __future__ import annotations

import contextlib
import copy
import threading
from typing import Any, Callable, Iterator

from . import _eryx, _journal
from ._core import (EryxError, ExecuteResult, InitializationError, ResourceLimits, _call, _check_limit, _check_stream,
                    _run)


class PoolError(EryxError):
    """Base exception for pool operations."""


class PoolExhaustedError(PoolError):
    """All sandboxes in the pool are in use."""


class PoolTimeoutError(PoolError):
    """Timed out waiting for an available sandbox."""


class PoolClosedError(PoolError):
    """Pool has been closed."""


_POOL_ERRORS = {"ERYX_ERR_POOL_EXHAUSTED": PoolExhaustedError, "ERYX_ERR_POOL_TIMEOUT": PoolTimeoutError,
                "ERYX_ERR_POOL_CLOSED": PoolClosedError}


def _pool_error(exc: _eryx.Error) -> Exception:
    _code, name, message = exc.args
    cls = _POOL_ERRORS.get(name)
    if cls is not None:
        return cls(message)
    if name == "ERYX_ERR_INVALID_ARGUMENT":
        return ValueError(message)
    return InitializationError(message)  # the lease's sandbox could not be made


class PoolStats:
    """Statistics about pool usage. Returned by SandboxPool.stats()."""

    __slots__ = ("_v",)

    def __init__(self, values: tuple[Any, ...]) -> None:
        self._v = values

    total = property(lambda self: self._v[0], doc="Sandboxes tracked by the pool (in use + idle).")
    idle = property(lambda self: self._v[1], doc="Warm sandboxes idle in the pool.")
    available = property(lambda self: self._v[2], doc="Leases that may still be taken (max_size - in_use).")
    in_use = property(lambda self: self._v[3], doc="Sandboxes currently leased.")
    total_acquisitions = property(lambda self: self._v[4], doc="Successful acquisitions since the pool was made.")
    total_creations = property(lambda self: self._v[5], doc="Sandboxes made (warm-up, on demand, per-lease).")
    wait_count = property(lambda self: self._v[6], doc="Acquisitions that had to wait for a sandbox.")
    total_wait_time_ms = property(lambda self: self._v[7], doc="Cumulative wait time in milliseconds.")
    average_wait_time_ms = property(lambda self: self._v[8], doc="Average wait in milliseconds (0.0 if no waits).")

    def __repr__(self) -> str:
        return (f"PoolStats(total={self.total}, idle={self.idle}, in_use={self.in_use}, "
                f"acquisitions={self.total_acquisitions})")


class PooledSandbox:
    """A sandbox lease acquired from a pool. Returns to the pool when the context
    manager exits or release() is called; use after release raises ValueError.

    release() never blocks: called while executions run on the lease (from another
    thread, or from an on_stdout/on_stderr or host callback of the execution
    itself), it marks the lease released and the last of them gives the sandbox
    back when it ends."""

    def __init__(self, pool: "SandboxPool", sb: Any, on_stdout: Any, on_stderr: Any) -> None:
        self._pool = pool
        self._sb: Any = sb
        self._on_stdout, self._on_stderr = on_stdout, on_stderr
        self._lock = threading.Lock()  # guards the three fields below; never held while code runs
        self._running = 0  # executions in flight on the lease
        self._released = False

    def _lease(self) -> Any:
        if self._released or self._sb is None:
            raise ValueError("sandbox has been released back to pool")
        return self._sb

    @contextlib.contextmanager
    def _using(self) -> Iterator[Any]:
        """The lent _eryx.Sandbox for one execution: ValueError after release; a
        release meanwhile gives it back when the last execution ends."""
        with self._lock:
            sb = self._lease()
            self._running += 1
        try:
            yield sb
        finally:
            with self._lock:
                self._running -= 1
                back = self._released and not self._running and self._sb is not None
                if back:
                    self._sb = None
            if back:
                self._pool._pool.release(sb)

    def execute(self, code: str) -> ExecuteResult:
        """Runs code in the leased sandbox (fresh interpreter state, as Sandbox.execute)."""
        with self._using() as sb:
            return _run(sb, code, self._on_stdout, self._on_stderr)

    def execute_with_journal(self, code: str, journal: Any = None, *, key: bytes | None = None) -> Any:
        """Sandbox.execute_with_journal on the lease (docs/DURABLE.md): a ReplayOutcome;
        ValueError once released, or for a malformed journal."""
        with self._using() as sb:
            return _journal.run_with_journal(sb, code, journal, key=key, on_stdout=self._on_stdout,
                                             on_stderr=self._on_stderr)

    def release(self) -> None:
        """Gives the sandbox back to the pool. Idempotent. (A lease dropped without
        release() goes back when it is collected: the lent _eryx.Sandbox does it.)"""
        with self._lock:
            self._released = True
            if self._running or self._sb is None:
                return  # the running execution gives it back (or it is back already)
            sb, self._sb = self._sb, None
        self._pool._pool.release(sb)

    def __enter__(self) -> "PooledSandbox":
        return self

    def __exit__(self, exc_type: Any, exc_val: Any, exc_tb: Any) -> None:
        self.release()

    def __repr__(self) -> str:
        return f"PooledSandbox({'released' if self._released or self._sb is None else 'active'})"


class SandboxPool:
    """A managed pool of warm sandbox instances: bounded concurrent execution.
    Create with SandboxFactory.create_pool(); resource_limits are the warm
    sandboxes' (and a lease's default)."""

    def __init__(self, factory: Any, *, max_size: int = 10, min_idle: int = 1, acquire_timeout_ms: int = 30000,
                 idle_timeout_ms: int = 300000, resource_limits: ResourceLimits | None = None) -> None:
        max_size = _check_limit("max_size", max_size, allow_none=False)
        min_idle = _check_limit("min_idle", min_idle, allow_none=False)
        acquire_timeout_ms = _check_limit("acquire_timeout_ms", acquire_timeout_ms, allow_none=False)
        idle_timeout_ms = _check_limit("idle_timeout_ms", idle_timeout_ms, allow_none=False)
        if max_size == 0:
            raise InitializationError("max_size must be greater than 0")
        if min_idle > max_size:
            raise InitializationError("min_idle cannot exceed max_size")
        if resource_limits is not None and not isinstance(resource_limits, ResourceLimits):
            raise TypeError(f"resource_limits must be a ResourceLimits or None, not {type(resource_limits).__name__}")
        self._factory = factory
        # The warm sandboxes' limits (None: the factory's create_sandbox default); a
        # lease asking for no others gets a warm sandbox.
        self._limits = copy.copy(resource_limits) if resource_limits is not None else ResourceLimits()
        base = factory._base_builder() if resource_limits is None else factory._config(
            resource_limits=self._limits, callbacks=None, volumes=None, on_stdout=None, on_stderr=None,
            result_variable=None, network=None, secrets=None).builder()
        try:
            self._pool = _eryx.Pool(base, max_size, min_idle, acquire_timeout_ms, idle_timeout_ms)
        except _eryx.Error as e:
            raise InitializationError(e.args[2]) from None

    def _lease(self, nowait: bool, resource_limits: ResourceLimits | None, callbacks: Any, on_stdout: Any,
               on_stderr: Any) -> PooledSandbox | None:
        _check_stream("on_stdout", on_stdout)
        _check_stream("on_stderr", on_stderr)
        limits = resource_limits if resource_limits is not None else self._limits
        if not isinstance(limits, ResourceLimits):
            raise TypeError(f"resource_limits must be a ResourceLimits or None, not {type(limits).__name__}")
        builder = None
        if callbacks or not self._warm_fits(limits):
            # made before waiting, so a bad callback raises at once and costs no permit
            builder = self._factory._config(resource_limits=limits, callbacks=callbacks, volumes=None,
                                            on_stdout=None, on_stderr=None, result_variable=None,
                                            network=None, secrets=None).builder()
        try:
            sb = self._pool.acquire(builder, nowait)
        except _eryx.Error as e:
            err = _pool_error(e)
            if nowait and isinstance(err, PoolExhaustedError):
                return None
            raise err from None
        lease = PooledSandbox(self, sb, on_stdout, on_stderr)
        if builder is None and limits.execution_timeout_ms != self._limits.execution_timeout_ms:
            try:
                _call(sb.set_timeout_ms, limits.execution_timeout_ms or 0)  # put back by the pool on release
            except BaseException:
                lease.release()
                raise
        return lease

    def _warm_fits(self, limits: ResourceLimits) -> bool:
        """Whether a warm sandbox can serve these limits: all but the execution
        timeout are part of its start state."""
        mine = self._limits
        return all(getattr(limits, n) == getattr(mine, n) for n in
                   ("callback_timeout_ms", "max_memory_bytes", "max_callback_invocations", "max_fuel", "max_vfs_bytes"))

    def acquire(self, *, resource_limits: ResourceLimits | None = None, callbacks: Any = None,
                on_stdout: Callable[[bytes], None] | None = None,
                on_stderr: Callable[[bytes], None] | None = None) -> PooledSandbox:
        """Leases a sandbox, waiting (GIL released) up to the acquire timeout.
        Raises PoolTimeoutError, or PoolClosedError when the pool is closed."""
        lease = self._lease(False, resource_limits, callbacks, on_stdout, on_stderr)
        assert lease is not None
        return lease

    def try_acquire(self, *, resource_limits: ResourceLimits | None = None, callbacks: Any = None,
                    on_stdout: Callable[[bytes], None] | None = None,
                    on_stderr: Callable[[bytes], None] | None = None) -> PooledSandbox | None:
        """Leases a sandbox without waiting: None when none is free.
        Raises PoolClosedError when the pool is closed."""
        return self._lease(True, resource_limits, callbacks, on_stdout, on_stderr)

    def stats(self) -> PoolStats:
        """Current pool statistics."""
        return PoolStats(self._pool.stats())

    def evict_idle(self) -> int:
        """Frees the sandboxes idle longer than idle_timeout_ms, keeping min_idle.
        Returns how many it freed."""
        return self._pool.evict_idle()

    def close(self) -> None:
        """Closes the pool: blocked acquire() calls raise PoolClosedError, idle
        sandboxes are freed, leases out keep working and are freed on release."""
        self._pool.close()

    @property
    def is_closed(self) -> bool:
        """Whether the pool has been closed."""
        return self._pool.closed

    def __enter__(self) -> "SandboxPool":
        return self

    def __exit__(self, exc_type: Any, exc_val: Any, exc_tb: Any) -> None:
        self.close()

    def __repr__(self) -> str:
        s = self.stats()
        return (f"SandboxPool(total={s.total}, idle={s.idle}, in_use={s.in_use}, "
                f"closed={'true' if self.is_closed else 'false'})")
