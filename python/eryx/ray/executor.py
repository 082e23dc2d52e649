"""EryxExecutor: codes executed over a pool of Ray actors (EryxActor), each holding
a local pool of warm sandboxes. It owns the driver's side: the factory's bytes put
once in the object store (and the compiled interpreter module with them), the
actors and their replacement when one dies, the dispatch of batches to the least
busy actor, the retries, and the one driver thread that collects finished batches.
Sessions pinned to an actor are session.py's."""
from __future__ import annotations

import concurrent.futures
import itertools
import logging
import os
import queue
import threading
import time
import weakref
from typing import TYPE_CHECKING, Any, Callable, Iterable, Iterator

import ray
from ray.exceptions import GetTimeoutError, RayActorError

from .._callbacks import _normalize_callbacks
from .._core import InitializationError, ResourceLimits, _check_state_key
from .._factory import SandboxFactory, _declarations
from . import results
from .actor import RemoteEryxActor
from .results import RayResult

if TYPE_CHECKING:
    from .session import RaySession

# A batch's items: (index, code, attempt); its sink takes the results of some of them.
_Items = list[tuple[int, str, int]]
_Sink = Callable[[list[RayResult]], None]

_log = logging.getLogger("eryx.ray")


class _Slot:
    """One of the executor's num_actors places: its live actor, replaced when it dies.
    started: the actor answered ready() (a replacement may wait for a CPU long,
    forever on a cluster that lost a node, or fail to start)."""

    __slots__ = ("handle", "actor_id", "gen", "outstanding", "started")

    def __init__(self, handle: Any) -> None:
        self.handle, self.actor_id, self.gen, self.outstanding = handle, handle._actor_id.hex(), 0, 0
        self.started = True  # the constructor waits for its actors


def _watch_start(slot: _Slot, gen: int) -> None:
    """Marks slot started once its generation-gen actor answers ready() (never
    when it cannot start: batches then go to it only when no actor is started)."""
    def done(f: "concurrent.futures.Future[Any]") -> None:
        if not f.cancelled() and f.exception() is None and slot.gen == gen:
            slot.started = True
    slot.handle.ready.remote().future().add_done_callback(done)


def _prepare_factory(factory: SandboxFactory | None, state_key: bytes | None,
                     callbacks: Any) -> tuple[bytes, SandboxFactory, list[dict[str, Any]]]:
    """The key the actors verify the factory's state with, the factory to ship, and
    the callbacks (normalized) the actors give it. Another machine cannot verify
    state signed with this machine's key, so a factory without a key of its own
    (or with another than state_key, or made with other callbacks than the
    executor's: they are part of the start state) is made again here, once, with
    the same configuration."""
    if factory is not None and not isinstance(factory, SandboxFactory):
        raise TypeError(f"factory must be a SandboxFactory or None, not {type(factory).__name__}")
    key = _check_state_key(state_key) or (factory._state_key if factory is not None else None) or os.urandom(32)
    if callbacks is not None:
        cbs = _normalize_callbacks(callbacks)
    else:
        cbs = (factory._callbacks or []) if factory is not None else []
    if factory is not None and factory._state_key == key and _declarations(cbs) == factory._decls:
        return key, factory, cbs
    f = factory
    made = SandboxFactory(site_packages=f._site if f else None, packages=f._pkgs if f else None,
                          imports=f._imports if f else None, setup_code=f._setup if f else None,
                          callbacks=cbs or None, default_imports=f._default_imports if f else True,
                          cache=_cache_of(f), state_key=key)
    return key, made, cbs


def _cache_of(f: SandboxFactory | None) -> Any:
    """The cache= argument f was made with (a directory, True, or False)."""
    if f is None:
        return True
    return f._cache_dir if f._cache_dir != "default" else f._state_cache


def _check_count(name: str, value: Any, *, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be an int, not {type(value).__name__}")
    if value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, not {value}")
    return value


class EryxExecutor:
    """Runs codes in eryx sandboxes over num_actors Ray actors (docs/SCALE.md).

    Calls ray.init() (a local Ray instance, Ray's defaults) only when Ray is not
    initialised yet, and never shuts Ray down. Returns when every actor is ready
    (InitializationError when one cannot start, or when they are not all ready
    within start_timeout_s: Ray waits for free CPUs). Dropped without shutdown(),
    it is collected and its actors are killed."""

    def __init__(self, num_actors: int = 2, factory: SandboxFactory | None = None, *,
                 resource_limits: ResourceLimits | None = None, callbacks: Any = None, max_retries: int = 0,
                 sandboxes_per_actor: int | None = None, actor_options: dict[str, Any] | None = None,
                 state_key: bytes | None = None, snapshot_every: int = 1, ship_artifacts: bool = True,
                 start_timeout_s: float | None = None) -> None:
        self._num_actors = _check_count("num_actors", num_actors, minimum=1)
        if start_timeout_s is not None:
            if isinstance(start_timeout_s, bool) or not isinstance(start_timeout_s, (int, float)):
                raise TypeError(f"start_timeout_s must be a number of seconds or None, not "
                                f"{type(start_timeout_s).__name__}")
            if not start_timeout_s > 0:
                raise ValueError(f"start_timeout_s must be > 0, not {start_timeout_s}")
        self._max_retries = _check_count("max_retries", max_retries, minimum=0)
        self.snapshot_every = _check_count("snapshot_every", snapshot_every, minimum=0)
        if resource_limits is not None and not isinstance(resource_limits, ResourceLimits):
            raise TypeError(f"resource_limits must be a ResourceLimits or None, not {type(resource_limits).__name__}")
        opts = {"num_cpus": 1, **(actor_options or {})}
        if sandboxes_per_actor is None:
            sandboxes_per_actor = max(1, int(opts.get("num_cpus") or 1))
        self._sandboxes = _check_count("sandboxes_per_actor", sandboxes_per_actor, minimum=1)
        opts.setdefault("max_concurrency", self._sandboxes)
        opts["max_restarts"] = 0  # a dead actor is replaced by the executor (a fresh one reloads the factory)
        self._options = opts
        if not ray.is_initialized():
            ray.init()
        self._key, factory, self._callbacks = _prepare_factory(factory, state_key, callbacks)
        self._limits = resource_limits
        # Put once: every actor (and every replacement) reads the same objects.
        self._factory_ref = ray.put(factory.to_bytes())
        # The compiled interpreter too: a node whose cache is cold installs it instead
        # of compiling (or compiles, when its engine refuses it: other CPU features).
        self._module_ref = ray.put(factory._export_module()) if ship_artifacts else None
        self._lock = threading.Lock()
        self._idle = threading.Condition(self._lock)
        self._accepting, self._closed = True, False
        self._in_flight = 0  # batches dispatched and not yet handled by the driver thread
        self._replaced = 0
        self._submitted = itertools.count()
        self._slots = [_Slot(self._new_actor()) for _ in range(self._num_actors)]
        self._done: queue.SimpleQueue[Any] = queue.SimpleQueue()
        # The driver thread holds the executor only while it handles a batch: an
        # executor dropped without shutdown() is collected, and its finalizer kills
        # the actors (they would hold their CPUs until the driver process exits).
        self._driver = threading.Thread(target=_drive, args=(weakref.ref(self), self._done),
                                        name="eryx-ray-driver", daemon=True)
        self._finalizer = weakref.finalize(self, _release, self._done, self._slots, self._factory_ref,
                                           self._module_ref)
        self._finalizer.atexit = False  # at exit Ray ends the driver's actors itself
        self._wait_ready(start_timeout_s)
        self._driver.start()

    def _wait_ready(self, timeout: float | None) -> None:
        refs = [s.handle.ready.remote() for s in self._slots]
        try:
            ready, pending = ray.wait(refs, num_returns=len(refs), timeout=timeout)
            if pending:
                need = {k: v for k, v in self._options.items() if k in ("num_cpus", "num_gpus", "resources")}
                total = ray.cluster_resources().get("CPU", 0)
                raise InitializationError(
                    f"{len(pending)} of {self._num_actors} eryx actors not ready after {timeout:g} s (each needs "
                    f"{need}; the cluster has {total:g} CPU in all, {ray.available_resources().get('CPU', 0):g} "
                    f"free: Ray waits for CPUs to start an actor)")
            ray.get(ready)
        except RayActorError as e:
            _kill_all(self._slots)
            self._finalizer()
            raise InitializationError(f"an eryx actor could not start: {e}") from None
        except BaseException:  # the timeout above, an interrupt: the actors started go too
            _kill_all(self._slots)
            self._finalizer()
            raise

    def _new_actor(self) -> Any:
        return RemoteEryxActor.options(**self._options).remote(self._factory_ref, self._module_ref, self._key,
                                                               self._callbacks, self._limits, self._sandboxes)

    # ---- dispatch (any thread) and the driver thread ---------------------------------------

    def _pick(self, avoid: _Slot | None = None) -> tuple[_Slot, int, Any]:
        """The slot with the fewest outstanding batches (not `avoid`, nor one whose
        actor is still starting, when another exists), counted as one more; with its
        generation and handle. Lock held."""
        slot = min(self._slots, key=lambda s: (s is avoid, not s.started, s.outstanding))
        slot.outstanding += 1
        return slot, slot.gen, slot.handle

    def _refuse_if_closed(self, internal: bool) -> None:
        """RuntimeError once shut down (retries, internal, run until the actors go). Lock held."""
        if not (self._accepting or (internal and not self._closed)):
            raise RuntimeError("the EryxExecutor is shut down")

    def _dispatch(self, items: _Items, sink: _Sink, *, avoid: _Slot | None = None, internal: bool = False) -> None:
        with self._lock:
            self._refuse_if_closed(internal)
        # A code that is not a str is its item's result here: never shipped (it
        # may not even be picklable), and the others of its batch run.
        bad = [(i, c, a) for i, c, a in items if not isinstance(c, str)]
        if bad:
            items = [it for it in items if isinstance(it[1], str)]
            sink([results.from_exception(i, TypeError(f"a code must be a str, not {type(c).__name__}"), 0.0, a,
                                         "", "") for i, c, a in bad])
            if not items:
                return
        with self._lock:
            self._refuse_if_closed(internal)  # again: a shutdown may have come meanwhile
            slot, gen, handle = self._pick(avoid)
            self._in_flight += 1
        try:
            fut = handle.run_batch.remote(items).future()
        except BaseException:  # not dispatched: counted nowhere (shutdown() would wait for it forever)
            with self._lock:
                if slot.gen == gen:
                    slot.outstanding -= 1
                self._in_flight -= 1
                self._idle.notify_all()
            raise
        fut.add_done_callback(lambda f: self._done.put((items, sink, slot, gen, f)))

    def _handle(self, items: _Items, sink: _Sink, slot: _Slot, gen: int, fut: Any) -> None:
        """The driver thread's work for one finished (or failed) batch."""
        try:
            with self._lock:
                if slot.gen == gen:
                    slot.outstanding -= 1
            try:
                out = fut.result()
            except RayActorError as e:
                self._actor_failed(items, sink, slot, gen, e)
                return
            except Exception as e:  # e.g. the results could not be fetched: the items' results
                out = [results.from_exception(i, e, 0.0, a, slot.actor_id, "") for i, _, a in items]
            sink(out)
        finally:
            with self._lock:
                self._in_flight -= 1
                self._idle.notify_all()

    def _actor_failed(self, items: _Items, sink: _Sink, slot: _Slot, gen: int, e: RayActorError) -> None:
        """A batch's actor died: its items are retried on another actor while they have
        attempts left, else each comes back as an ActorDiedError result."""
        dead = slot.actor_id if slot.gen == gen else getattr(e, "actor_id", None) or ""
        self._replace(slot, gen)
        init_failed = bool(getattr(e, "actor_init_failed", False))  # retrying would fail the same way
        retry: _Items = []
        lost: list[RayResult] = []
        for i, code, a in items:
            if a < 1 + self._max_retries and not init_failed and not self._closed:
                retry.append((i, code, a + 1))
            elif init_failed:
                lost.append(RayResult(index=i, ok=False, error_type="InitializationError",
                                      error_message=f"the eryx actor could not start: {e}", attempt=a, actor=dead))
            else:
                lost.append(results.actor_died(i, a, dead, f"the actor {dead} died before returning this result "
                                                           f"(attempt {a} of {1 + self._max_retries})"))
        if retry:
            try:
                self._dispatch(retry, sink, avoid=slot, internal=True)
            except Exception as e:  # shut down meanwhile, or Ray refused the call
                why = "the executor was shut down" if isinstance(e, RuntimeError) else f"its retry failed: {e!r}"
                lost += [results.actor_died(i, a - 1, dead, f"the actor died and {why}") for i, _, a in retry]
        if lost:
            sink(lost)

    def _replace(self, slot: _Slot, gen: int) -> None:
        """Starts a new actor in a dead one's slot (once per death)."""
        with self._lock:
            if slot.gen != gen or self._closed:
                return
            old = slot.handle
            try:
                slot.handle = self._new_actor()
            except Exception:  # the slot keeps its dead actor: the next failure there tries again
                _log.exception("eryx.ray: could not start an actor to replace %s", slot.actor_id)
                return
            slot.actor_id, slot.gen, slot.outstanding = slot.handle._actor_id.hex(), gen + 1, 0
            slot.started = False
            self._replaced += 1
        try:
            _watch_start(slot, gen + 1)
        except Exception:
            pass  # never started: it stays last in _pick's choice
        try:
            ray.kill(old, no_restart=True)
        except Exception:
            pass  # dead already

    # ---- public API ----------------------------------------------------------------------

    def submit(self, code: str) -> "concurrent.futures.Future[RayResult]":
        """Runs code on an actor: a Future of its RayResult (errors, timeouts and limits
        are results; retries as map()'s). index is the submit order."""
        fut: concurrent.futures.Future[RayResult] = concurrent.futures.Future()
        fut.set_running_or_notify_cancel()

        def sink(out: list[RayResult]) -> None:
            fut.set_result(out[0])

        self._dispatch([(next(self._submitted), code, 1)], sink)
        return fut

    def map(self, codes: Iterable[str], *, ordered: bool = True, batch_size: int = 16,
            max_in_flight: int | None = None) -> Iterator[RayResult]:
        """Runs every code, yielding a RayResult each as batches finish: in input order
        (ordered=True, buffering) or as they come. The first batches are dispatched
        at once; codes is read lazily after them: at most max_in_flight batches'
        worth of codes (default 2 batches per actor) are dispatched and not yet
        yielded, so a generator of millions of codes is fine."""
        if isinstance(codes, (str, bytes, bytearray)):
            raise TypeError(f"codes must be an iterable of codes, not a {type(codes).__name__} "
                            f"(for one code: submit(code) or map([code]))")
        batch_size = _check_count("batch_size", batch_size, minimum=1)
        if max_in_flight is None:
            max_in_flight = 2 * self._num_actors
        max_in_flight = _check_count("max_in_flight", max_in_flight, minimum=1)
        return self._map(iter(codes), bool(ordered), batch_size, max_in_flight)

    def _map(self, codes: Iterator[str], ordered: bool, batch_size: int, max_in_flight: int) -> Iterator[RayResult]:
        run = _MapRun(self, codes, batch_size, max_in_flight)
        run.fill()  # the first batches start now, not at the first next()
        return run.ordered() if ordered else run.unordered()

    def session(self, snapshot_every: int | None = None) -> "RaySession":
        """A session (state kept between executions) pinned to one actor; see RaySession."""
        from .session import RaySession
        every = self.snapshot_every if snapshot_every is None else _check_count("snapshot_every", snapshot_every,
                                                                                minimum=0)
        return RaySession(self, every)

    def actor_stats(self) -> list[dict[str, Any]]:
        """One dict per live actor: actor, node, pid, executions, batches, sessions,
        factory_loads, seconds_to_ready, module (what installing the shipped module
        did) and this process's eryx counters (modules_compiled, start_states_made...)."""
        with self._lock:
            handles = [s.handle for s in self._slots]
        out = []
        for h in handles:
            try:
                out.append(ray.get(h.stats.remote()))
            except RayActorError:
                continue  # dead: being replaced
        return out

    @property
    def actors_replaced(self) -> int:
        """How many dead actors the executor has replaced."""
        return self._replaced

    def shutdown(self, wait: bool = True) -> None:
        """Stops accepting work; with wait, lets the dispatched batches finish; then
        kills the actors. Ray itself stays up. Not from a Future's done callback:
        those run on the driver thread, which shutdown() waits for."""
        if threading.current_thread() is self._driver:
            raise RuntimeError("EryxExecutor.shutdown() called from a Future's done callback, on the executor's "
                               "driver thread, which it would wait for: call it from another thread")
        with self._lock:
            if self._closed:
                return
            self._accepting = False
            if wait:
                while self._in_flight:
                    self._idle.wait()
            self._closed = True
        _kill_all(self._slots)
        if self._driver.is_alive():
            # batches still out fail now, as ActorDiedError results (no retry once closed)
            with self._lock:
                while self._in_flight:
                    self._idle.wait()
        self._finalizer()  # the driver thread's end
        if self._driver.is_alive():
            self._driver.join()

    def __enter__(self) -> "EryxExecutor":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.shutdown()

    def __repr__(self) -> str:
        return (f"EryxExecutor(num_actors={self._num_actors}, sandboxes_per_actor={self._sandboxes}, "
                f"max_retries={self._max_retries})")



def _kill_all(slots: list[_Slot]) -> None:
    for s in slots:
        try:
            ray.kill(s.handle, no_restart=True)
        except Exception:
            pass


class _Stop:
    """The driver thread's last message: kill these actors, drop these references."""

    def __init__(self, slots: list[_Slot], refs: tuple[Any, ...]) -> None:
        self.slots, self.refs = slots, refs


def _release(done: "queue.SimpleQueue[Any]", slots: list[_Slot], *refs: Any) -> None:
    """An executor's end (shutdown(), or its collection). Its collection may happen
    on one of Ray's own threads (a batch's callback dropping the last reference),
    where ray.kill() would wait for that very thread: the driver thread does it."""
    done.put(_Stop(slots, refs))


def _drive(ref: "weakref.ref[EryxExecutor]", done: "queue.SimpleQueue[Any]") -> None:
    """The driver thread: hands each finished batch to its executor, holding the
    executor only meanwhile (a batch in flight keeps it alive through its callback)."""
    while True:
        msg = done.get()
        if isinstance(msg, _Stop):
            _kill_all(msg.slots)
            return
        ex = ref()
        if ex is None:  # collected: its _Stop follows
            continue
        try:
            ex._handle(*msg)
        except Exception:  # never let the thread die: every batch after would wait forever
            _log.exception("eryx.ray: handling a finished batch failed")
        del ex, msg  # the Ray future in msg holds the executor through its callback


class _MapRun:
    """One map(): reads codes a batch at a time while the window has room, and
    turns the batches' results into the caller's stream."""

    def __init__(self, ex: EryxExecutor, codes: Iterator[str], batch_size: int, max_in_flight: int) -> None:
        self._ex, self._codes, self._batch, self._window = ex, codes, batch_size, max_in_flight * batch_size
        self._sink: queue.SimpleQueue[list[RayResult]] = queue.SimpleQueue()
        self._index = 0
        self.pending = 0  # codes dispatched and not yet yielded (buffered ones included: bounded memory)
        self._exhausted = False

    def fill(self) -> None:
        while not self._exhausted and self.pending + self._batch <= self._window:
            chunk = list(itertools.islice(self._codes, self._batch))
            if not chunk:
                self._exhausted = True
                return
            self._ex._dispatch([(self._index + k, c, 1) for k, c in enumerate(chunk)], self._sink.put)
            self._index += len(chunk)
            self.pending += len(chunk)

    def unordered(self) -> Iterator[RayResult]:
        while self.pending:
            got = self._sink.get()
            self.pending -= len(got)
            self.fill()
            yield from got

    def ordered(self) -> Iterator[RayResult]:
        buffered: dict[int, RayResult] = {}
        next_out = 0
        while self.pending:
            for r in self._sink.get():
                buffered[r.index] = r
            while next_out in buffered:
                self.pending -= 1
                next_out += 1
                yield buffered.pop(next_out - 1)
                self.fill()
