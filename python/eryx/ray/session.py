"""RaySession: a session (Python state kept between executions) pinned to one of an
EryxExecutor's actors, snapshotted into the object store so that it outlives the
actor, and SessionLostError, what a caller sees when it did not.

What a caller sees: every `snapshot_every` executions (0: only on snapshot()) the
actor returns the session's state with the result, and the driver keeps it in the
object store (ray.put: owned by the driver, not by the actor, so the actor's death
does not take it along; the previous one is dropped). When the session's actor
dies, the execute() (or snapshot()) that finds it out, whether the death happened
during that call or before it, starts the session on another live actor from the
last snapshot (a fresh session when none was taken) and raises SessionLostError:
that call's code may or may not have run, and is not run again; the executions
after the snapshot are lost (their effects on the session's state are gone; their
results had been returned). execution_count goes back to the snapshot's. The next
execute() runs on the new actor. Files a code wrote on the actor's machine are
not part of the state."""
from __future__ import annotations

import threading
import uuid
from typing import TYPE_CHECKING, Any

import ray
from ray.exceptions import RayActorError

from .._core import EryxError
from .results import RayResult

if TYPE_CHECKING:
    from .executor import EryxExecutor

# Actors tried in turn to restore a session on before giving up (each may be dying too).
_RESTORE_TRIES = 3


class SessionLostError(EryxError):
    """The session's actor died: the session was restored on another actor as of its
    last snapshot. restored_after: the executions the restored state includes;
    lost: how many are gone (those after the snapshot, and the call that raised)."""

    def __init__(self, message: str, *, restored_after: int, lost: int) -> None:
        super().__init__(message)
        self.restored_after = restored_after
        self.lost = lost


class RaySession:
    """A session on one of an executor's actors (EryxExecutor.session()). execute()
    returns a RayResult (index: the execution's number in the session, from 0);
    calls are serialised. Module docstring: what the actor's death does."""

    def __init__(self, executor: "EryxExecutor", snapshot_every: int) -> None:
        self._ex = executor
        self._sid = uuid.uuid4().hex
        self.snapshot_every = snapshot_every
        self._lock = threading.Lock()
        self._count = 0  # executions the current state includes
        self._snap_ref: Any = None  # the driver's copy of the last snapshot (None: the fresh state)
        self._snap_count = 0
        self._closed = False
        self._slot: Any = None
        self._gen = 0
        self._handle: Any = None
        self.actor = ""
        self._attach()

    def _attach(self) -> None:
        """Opens the session on the least busy live actor, from the last snapshot."""
        last: Exception | None = None
        for _ in range(_RESTORE_TRIES):
            with self._ex._lock:
                if self._ex._closed or not self._ex._accepting:
                    raise RuntimeError("the EryxExecutor is shut down")
                slot, gen, handle = self._ex._pick()
                slot.outstanding -= 1  # a session is not a batch: it does not count against the slot
            try:
                self.actor = ray.get(handle.open_session.remote(self._sid, self._snap_ref))
            except RayActorError as e:
                self._ex._replace(slot, gen)
                last = e
                continue
            self._slot, self._gen, self._handle = slot, gen, handle
            return
        raise EryxError(f"no live eryx actor could take the session: {last}")

    def _lost(self) -> SessionLostError:
        lost = self._count - self._snap_count + 1
        dead = self.actor
        self._ex._replace(self._slot, self._gen)
        self._count = self._snap_count
        self._attach()
        return SessionLostError(
            f"the session's actor {dead} died; the session was restored on actor {self.actor} as of its last "
            f"snapshot (after execution {self._snap_count}); {lost} execution(s) lost, this call's included "
            f"(its code may or may not have run, and was not run again)", restored_after=self._snap_count, lost=lost)

    def execute(self, code: str) -> RayResult:
        """Runs code in the session; errors, timeouts and limits are results.
        Raises SessionLostError when the actor died (module docstring)."""
        with self._lock:
            self._check()
            n = self._count + 1
            want = self.snapshot_every > 0 and n % self.snapshot_every == 0
            try:
                result, snap = ray.get(self._handle.session_execute.remote(self._sid, code, n - 1, want))
            except RayActorError:
                raise self._lost() from None
            self._count = n
            if snap is not None:
                self._keep(snap)
            return result

    def snapshot(self) -> None:
        """Snapshots the session now (into the object store, owned by the driver)."""
        with self._lock:
            self._check()
            try:
                snap = ray.get(self._handle.session_snapshot.remote(self._sid))
            except RayActorError:
                raise self._lost() from None
            self._keep(snap)

    def _keep(self, snap: bytes) -> None:
        self._snap_ref = ray.put(snap)  # the previous one is dropped with its reference
        self._snap_count = self._count

    def _check(self) -> None:
        if self._closed:
            raise ValueError("the RaySession is closed")

    @property
    def execution_count(self) -> int:
        """Executions the session's current state includes."""
        return self._count

    @property
    def snapshot_count(self) -> int:
        """Executions the last snapshot includes (0: none taken)."""
        return self._snap_count

    def close(self) -> None:
        """Frees the session on its actor and its snapshot. Idempotent."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            self._snap_ref = None
            try:
                ray.get(self._handle.close_session.remote(self._sid))
            except RayActorError:
                pass  # it died with its actor

    def __enter__(self) -> "RaySession":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"RaySession(actor={self.actor!r}, execution_count={self._count}, snapshot_count={self._snap_count})"
