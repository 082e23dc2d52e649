"""EryxActor: the Ray actor of EryxExecutor. It loads the executor's factory from
the bytes the driver put once in the object store (the compiled interpreter module
first, when the driver shipped one), keeps a local SandboxPool of warm sandboxes
with the executor's limits, runs batches of codes over it (in parallel over its
threads), keeps the sessions pinned to it, and counts what it did (stats())."""
from __future__ import annotations

import concurrent.futures
import os
import threading
import time
from typing import Any

import ray

from .._core import ResourceLimits
from .._factory import SandboxFactory, process_counters
from . import results

# A batch's items wait for a lease as long as it takes (the actor's calls are
# bounded by the driver's in-flight limit, not by a pool timeout).
_ACQUIRE_TIMEOUT_MS = 24 * 3600 * 1000


class EryxActor:
    def __init__(self, factory_blob: bytes, module_blob: bytes | None, state_key: bytes, callbacks: Any,
                 resource_limits: ResourceLimits | None, sandboxes: int) -> None:
        # factory_blob and module_blob arrive resolved: Ray fetches a top-level
        # ObjectRef argument from the object store before __init__ runs.
        t0 = time.monotonic()
        ctx = ray.get_runtime_context()
        self._actor, self._node = ctx.get_actor_id() or "", ctx.get_node_id() or ""
        self._limits = resource_limits
        self._module = None
        if module_blob is not None:
            # the driver's compiled interpreter, unless this machine's engine refuses it
            self._module = SandboxFactory._install_module(module_blob, state_key=state_key)
        self._factory = SandboxFactory.from_bytes(factory_blob, callbacks=callbacks, state_key=state_key)
        self._factory_loads = 1  # the only one: the actor's sandboxes and sessions all start from it
        self._pool = self._factory.create_pool(max_size=sandboxes, min_idle=sandboxes,
                                               acquire_timeout_ms=_ACQUIRE_TIMEOUT_MS, resource_limits=resource_limits)
        self._threads = (concurrent.futures.ThreadPoolExecutor(sandboxes, thread_name_prefix="eryx-actor")
                         if sandboxes > 1 else None)
        self._lock = threading.Lock()
        self._sessions: dict[str, Any] = {}
        self._executions = self._batches = 0
        self._seconds_to_ready = time.monotonic() - t0

    # ---- batches --------------------------------------------------------------------

    def _one(self, index: int, code: str, attempt: int) -> results.RayResult:
        t0 = time.perf_counter()
        try:
            with self._pool.acquire() as lease:
                r = lease.execute(code)
            out = results.from_execute(index, r, attempt, self._actor, self._node)
        except Exception as e:  # a timeout, a memory limit, a bad argument: the item's result
            out = results.from_exception(index, e, (time.perf_counter() - t0) * 1000, attempt, self._actor,
                                         self._node)
        with self._lock:
            self._executions += 1
        return out

    def run_batch(self, items: list[tuple[int, str, int]]) -> list[results.RayResult]:
        """Runs (index, code, attempt) items; one result per item, in their order."""
        with self._lock:
            self._batches += 1
        if self._threads is None or len(items) == 1:
            return [self._one(*it) for it in items]
        return list(self._threads.map(lambda it: self._one(*it), items))

    # ---- sessions -------------------------------------------------------------------

    def open_session(self, sid: str, snapshot: bytes | None) -> str:
        """Makes session sid here, from snapshot (another actor's) when given;
        returns this actor's id."""
        s = self._factory.create_session(resource_limits=self._limits)
        if snapshot is not None:
            s.restore_state(snapshot)
        with self._lock:
            self._sessions[sid] = s
        return self._actor

    def session_execute(self, sid: str, code: str, index: int,
                        want_snapshot: bool) -> tuple[results.RayResult, bytes | None]:
        """Runs code in session sid; with want_snapshot, also the session's state after it."""
        with self._lock:
            s = self._sessions[sid]
        t0 = time.perf_counter()
        try:
            out = results.from_execute(index, s.execute(code), 1, self._actor, self._node)
        except Exception as e:
            out = results.from_exception(index, e, (time.perf_counter() - t0) * 1000, 1, self._actor, self._node)
        with self._lock:
            self._executions += 1
        return out, (s.snapshot_state() if want_snapshot else None)

    def session_snapshot(self, sid: str) -> bytes:
        with self._lock:
            s = self._sessions[sid]
        return s.snapshot_state()

    def close_session(self, sid: str) -> None:
        with self._lock:
            self._sessions.pop(sid, None)

    # ---- counters -------------------------------------------------------------------

    def stats(self) -> dict[str, Any]:
        with self._lock:
            out = {"actor": self._actor, "node": self._node, "pid": os.getpid(), "executions": self._executions,
                   "batches": self._batches, "sessions": len(self._sessions), "factory_loads": self._factory_loads,
                   "seconds_to_ready": self._seconds_to_ready}
        if self._module is not None:
            out["module"] = self._module
        out.update(process_counters())
        return out

    def ready(self) -> str:
        return self._actor


RemoteEryxActor = ray.remote(EryxActor)
