"""The session table of `eryx serve`: sessions, their queue, eviction and restore.

Each (scope, session_id) pair owns an eryx Session and a host directory (its
/data). Scope is the caller's MCP session (stdio: the process's one client), so
equal session_ids of two clients never meet. Everything here runs on the event
loop; the blocking work (making, running, snapshotting, restoring sessions,
file I/O) runs on a pool of --workers threads (the extension releases the GIL).
Calls on one session run one at a time in arrival order (an asyncio.Lock); a
call that would take the count of admitted calls past workers + max_queue is
refused as busy. Idle sessions are evicted to disk (a snapshot blob next to
their files) by a sweeper or to make room past --max-sessions, and restored on
their next call; past --max-evicted-bytes the oldest evicted ones are discarded.
"""
from __future__ import annotations

import asyncio
import collections
import concurrent.futures
import fcntl
import hashlib
import os
import secrets
import sys
import time
from typing import Any, Callable

import anyio

from .._core import ResourceLimits, Session, _Config
from . import _files
from ._args import ServeConfig

_MAX_TOMBSTONES = 10000  # discarded sessions remembered, to say so on their next call


# What an entry without a live interpreter is charged on disk besides its files and
# snapshot: bounds how many such entries --max-evicted-bytes allows.
_ENTRY_OVERHEAD = 16 << 10


def _disk_bytes(e: "Entry") -> int:
    blob = os.path.getsize(e.blob) if os.path.exists(e.blob) else 0
    return blob + _files.usage(e.data)[0] + _ENTRY_OVERHEAD


class ServeError(Exception):
    """A call the server refuses or could not do; kind is a short machine name."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind


class Entry:
    """One session: live (session set), evicted (blob on disk) or fresh (neither)."""

    def __init__(self, key: tuple[str, str], root: str) -> None:
        self.key = key
        self.root = root  # state_dir/sessions/<hash>: data/ (the guest's /data) and state.bin
        self.data = os.path.join(root, "data")
        self.blob = os.path.join(root, "state.bin")
        self.session: Session | None = None
        self.evicted_bytes = 0  # blob + files on disk while evicted, else 0
        self.count = 0  # run_python calls that ran (kept across eviction)
        self.last_used = time.monotonic()
        self.lock = asyncio.Lock()
        self.cancel_requested = False
        self.restored = False  # the last load restored a snapshot


class SessionTable:
    def __init__(self, cfg: ServeConfig, state_dir: str) -> None:
        self.cfg = cfg
        # One server per state dir; what an earlier one left cannot be restored (its
        # snapshots were signed with its own key), so it goes.
        self._lock_fd = os.open(os.path.join(state_dir, ".lock"), os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        try:
            fcntl.flock(self._lock_fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(self._lock_fd)
            raise ServeError("state_dir_busy", f"the state directory {state_dir} is in use by another "
                             "eryx serve") from None
        self.dir = os.path.join(state_dir, "sessions")
        _files.remove_tree(self.dir)
        os.makedirs(self.dir, mode=0o700, exist_ok=True)
        self.pool = concurrent.futures.ThreadPoolExecutor(cfg.workers, thread_name_prefix="eryx-serve")
        self._reaper = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="eryx-serve-rm")
        self.entries: dict[tuple[str, str], Entry] = {}
        self.live: collections.OrderedDict[tuple[str, str], Entry] = collections.OrderedDict()  # LRU first
        self.evicted: collections.OrderedDict[tuple[str, str], Entry] = collections.OrderedDict()  # oldest first
        self.tombstones: collections.OrderedDict[tuple[str, str], str] = collections.OrderedDict()
        self.evicted_total = 0
        self.inflight = 0
        self.running: set[Entry] = set()  # entries with work on a worker (one-shot ones too)
        self._sweeper: asyncio.Task[None] | None = None
        self._closed = False

    # ---- sandboxes -----------------------------------------------------------------------

    def _config(self, data_dir: str | None) -> _Config:
        c = self.cfg
        volumes = list(c.volumes)
        if data_dir is not None:
            # The quota counts growth from now on (eryx.h): bound it by what is left.
            used, entries = _files.usage(data_dir)
            quota = {"max_bytes": max(c.data_max_bytes - used, 1), "max_files": max(c.data_max_files - entries, 1)}
            volumes.append((data_dir, "/data", False, quota))
        limits = ResourceLimits(execution_timeout_ms=c.timeout_ms, max_memory_bytes=c.max_memory, max_fuel=c.max_fuel)
        scrub = tuple(c.scrub.get(f"scrub_{w}") for w in ("stdout", "stderr", "files", "result"))
        return _Config(limits=limits, callbacks=None, volumes=volumes, on_stdout=None, on_stderr=None,
                       result_variable=None, network=c.network, secrets=c.secrets, keep_state=True,
                       imports=c.imports, packages=c.packages, scrub=scrub, mcp=c.mcp, output_limit=c.max_output)

    def new_session(self, data_dir: str | None) -> Session:
        return Session._from_config(self._config(data_dir))

    def _load(self, e: Entry) -> None:
        """(worker) Makes e live: a fresh session, or its snapshot restored."""
        os.makedirs(e.data, mode=0o700, exist_ok=True)
        s = self.new_session(e.data)
        e.restored = False
        if os.path.exists(e.blob):
            with open(e.blob, "rb") as f:
                blob = f.read()
            try:
                s.restore_state(blob)
            except Exception as exc:  # e.g. over the memory cap: the state cannot come back
                os.unlink(e.blob)
                raise ServeError("restore_failed", f"the session's saved state could not be restored ({exc}); "
                                 "it was discarded, and the next call starts a fresh interpreter "
                                 "(/data files kept)") from None
            os.unlink(e.blob)
            e.restored = True
        e.session = s

    def _evict(self, e: Entry) -> None:
        """(worker) Snapshot to disk, session dropped; if the snapshot cannot be saved (a full
        disk), a ServeError, no temporary file left, and the session still live."""
        s = e.session
        assert s is not None
        blob = s.snapshot_state()
        tmp = e.blob + ".tmp"
        try:
            with open(tmp, "wb") as f:
                f.write(blob)
            os.replace(tmp, e.blob)
        except OSError as exc:
            try:
                os.unlink(tmp)
            except OSError:
                pass
            raise ServeError("evict_failed", f"the session's state could not be saved to disk "
                             f"({exc.strerror or exc}); it stays live") from None
        e.session = None

    # ---- the table -----------------------------------------------------------------------

    def _path(self, key: tuple[str, str]) -> str:
        return os.path.join(self.dir, hashlib.sha256(f"{key[0]}\0{key[1]}".encode()).hexdigest()[:32])

    def entry(self, key: tuple[str, str], create: bool = True) -> Entry:
        e = self.entries.get(key)
        if e is not None:
            return e
        why = self.tombstones.pop(key, None)
        if why is not None:
            raise ServeError("session_discarded", f"session {key[1]!r} was discarded: {why}. Its variables and "
                             "files are gone; call again to start a fresh session.")
        if not create:
            raise ServeError("no_session", f"no session {key[1]!r} (run_python makes one)")
        e = Entry(key, self._path(key))
        os.makedirs(e.data, mode=0o700, exist_ok=True)
        self.entries[key] = e
        return e

    def remove_dir(self, path: str) -> None:
        """Renamed at once (its name is free again), deleted off the event loop: a sweep or the
        disk bound may forget many sessions of many files in one go."""
        trash = os.path.join(self.dir, f".gone-{secrets.token_hex(8)}")
        try:
            os.rename(path, trash)
            self._reaper.submit(_files.remove_tree, trash)
        except (OSError, RuntimeError):  # not renamed (gone already?), or the reaper shut down
            _files.remove_tree(path)
            _files.remove_tree(trash)

    def _forget(self, e: Entry, why: str | None) -> None:
        self.entries.pop(e.key, None)
        self.live.pop(e.key, None)
        if self.evicted.pop(e.key, None) is not None:
            self.evicted_total -= e.evicted_bytes
        e.session = None
        self.remove_dir(e.root)
        if why is not None:
            self.tombstones[e.key] = why
            while len(self.tombstones) > _MAX_TOMBSTONES:
                self.tombstones.popitem(last=False)

    async def _run(self, e: Entry, fn: Callable[[], Any]) -> Any:
        """fn on a worker; a cancelled caller cancels the execution and waits for it to end."""
        cf = self.pool.submit(fn)
        af = asyncio.wrap_future(cf)
        self.running.add(e)
        try:
            return await asyncio.shield(af)
        except BaseException:
            if cf.done():  # fn itself failed
                raise
            if not cf.cancel():  # running: stop it, and hold the session until its thread is done
                e.cancel_requested = True
                if e.session is not None:
                    e.session.cancel()
                with anyio.CancelScope(shield=True):
                    try:
                        await af
                    except BaseException:
                        pass
            raise
        finally:
            self.running.discard(e)

    async def _make_room(self, keep: Entry) -> None:
        failed: dict[tuple[str, str], str] = {}
        while len(self.live) >= self.cfg.max_sessions:
            victim = next((v for v in self.live.values()
                           if v is not keep and not v.lock.locked() and v.key not in failed), None)
            if victim is None and failed:  # live sessions are kept, so no room without going past the bound
                raise ServeError("evict_failed", f"{len(self.live)} sessions are live (--max-sessions "
                                 f"{self.cfg.max_sessions}) and none could be saved to disk to make room for this "
                                 f"one ({next(iter(failed.values()))}); retry later")
            if victim is None:
                return  # every live session is busy: at most --workers over the bound, until they finish
            why = await self._evict_entry(victim)
            if why is not None:
                failed[victim.key] = why

    async def _evict_entry(self, e: Entry) -> str | None:
        """Evicts e (lock taken); None, or why its snapshot could not be saved (it stays live)."""
        async with e.lock:
            if e.session is None or self.entries.get(e.key) is not e:
                return None
            self.live.pop(e.key, None)
            try:
                await self._run(e, lambda: self._evict(e))
            except Exception as exc:  # a full disk (ServeError), or a snapshot that failed
                e.last_used = time.monotonic()  # tried again after another idle period
                print(f"eryx serve: session {e.key[1]!r} not evicted: {exc}", file=sys.stderr, flush=True)
                return str(exc)
            finally:
                await self._settle(e)  # on every path, a cancelled caller's too
        self._bound_disk()
        return None

    def _bound_disk(self) -> None:
        if self.evicted_total <= self.cfg.max_evicted_bytes:
            return
        why = (f"it was evicted and the server's bound on evicted sessions on disk "
               f"(--max-evicted-bytes {self.cfg.max_evicted_bytes}) needed its room")
        for e in list(self.evicted.values()):  # oldest first
            if self.evicted_total <= self.cfg.max_evicted_bytes:
                return
            if not e.lock.locked():  # a session in use leaves or re-enters the set itself
                self._forget(e, why)

    async def use(self, key: tuple[str, str], fn: Callable[[Entry], Any], *, live: bool = True,
                  create: bool = True) -> Any:
        """Runs fn(entry) on a worker, the entry's lock held (and the session live if asked)."""
        self._admit()
        e = self.entry(key, create)
        self.inflight += 1
        try:
            async with e.lock:
                if self.entries.get(key) is not e:  # discarded while this call waited
                    raise ServeError("session_discarded", f"session {key[1]!r} was discarded while this call "
                                     "waited; call again to start a fresh one")
                e.cancel_requested = False
                try:
                    if live and e.session is None:
                        await self._make_room(e)
                        await self._run(e, lambda: self._load(e))
                    if e.session is not None:
                        self.live[key] = e
                        self.live.move_to_end(key)
                        if self.evicted.pop(key, None) is not None:
                            self.evicted_total -= e.evicted_bytes
                            e.evicted_bytes = 0
                    return await self._run(e, lambda: fn(e))
                finally:
                    e.last_used = time.monotonic()
                    await self._settle(e)
        finally:
            self.inflight -= 1
            self._bound_disk()

    async def _settle(self, e: Entry) -> None:
        """(lock held) e is accounted for as what it is now, however the call using it ended
        (a caller cancelled while its session was loading leaves a live one)."""
        if self.entries.get(e.key) is not e:
            return
        if e.session is None:
            await self._park(e)
            return
        if self.evicted.pop(e.key, None) is not None:
            self.evicted_total -= e.evicted_bytes
            e.evicted_bytes = 0
        self.live.setdefault(e.key, e)

    async def _park(self, e: Entry) -> None:
        """(lock held) A session without a live interpreter is accounted for on disk."""
        self.live.pop(e.key, None)
        if self.evicted.pop(e.key, None) is not None:
            self.evicted_total -= e.evicted_bytes
        with anyio.CancelScope(shield=True):
            try:
                e.evicted_bytes = await self._run(e, lambda: _disk_bytes(e))
            except Exception:  # not measured: charged the most it may hold, never left out
                # (files + a snapshot, which is at most the guest's memory)
                e.evicted_bytes = self.cfg.data_max_bytes + (self.cfg.max_memory or 4 << 30) + _ENTRY_OVERHEAD
        self.evicted[e.key] = e
        self.evicted_total += e.evicted_bytes

    async def use_detached(self, e: Entry, fn: Callable[[], Any]) -> Any:
        """fn on a worker for an entry outside the table (a one-shot call), admitted as any call."""
        self._admit()
        self.inflight += 1
        try:
            return await self._run(e, fn)
        finally:
            self.inflight -= 1

    def _admit(self) -> None:
        if self._closed:
            raise ServeError("shutting_down", "the server is shutting down")
        if self.inflight >= self.cfg.workers + self.cfg.max_queue:
            raise ServeError("busy", f"the server is busy: {self.inflight} calls are running or waiting "
                             f"(--workers {self.cfg.workers} + --max-queue {self.cfg.max_queue}); retry later")

    async def reset(self, key: tuple[str, str], files: bool) -> None:
        def do(e: Entry) -> None:
            e.session = None  # the next call makes a fresh one (with a fresh /data quota)
            if os.path.exists(e.blob):
                os.unlink(e.blob)
            if files:
                _files.remove_tree(e.data)
                os.makedirs(e.data, mode=0o700, exist_ok=True)
            e.count = 0
        self.tombstones.pop(key, None)
        await self.use(key, do, live=False)

    def drop_scopes(self, alive: set[str]) -> None:
        """The sessions (and files) of ended MCP sessions go; one pass over the table (many
        MCP sessions can end at once: the SDK's idle reaping)."""
        for k, e in list(self.entries.items()):
            if k[0] not in alive and k[0] not in ("", "stdio") and not e.lock.locked():
                self._forget(e, None)

    # ---- sweeping and shutdown -------------------------------------------------------------

    def start(self, alive_scopes: Callable[[], set[str] | None] | None = None) -> None:
        self._alive_scopes = alive_scopes
        self._sweeper = asyncio.get_running_loop().create_task(self._sweep_forever())

    async def _sweep_forever(self) -> None:
        period = min(max(self.cfg.session_idle_s / 4, 0.05), 5.0)
        while True:
            await asyncio.sleep(period)
            try:
                await self.sweep()
            except Exception:  # a sweep must never stop the sweeper
                pass

    async def sweep(self) -> None:
        now = time.monotonic()
        alive = self._alive_scopes() if getattr(self, "_alive_scopes", None) else None
        if alive is not None:
            self.drop_scopes(alive)
        for e in list(self.live.values()):
            if not e.lock.locked() and now - e.last_used >= self.cfg.session_idle_s:
                await self._evict_entry(e)

    async def close(self) -> None:
        self._closed = True
        if self._sweeper is not None:
            self._sweeper.cancel()
        for e in [*self.live.values(), *self.running]:  # a one-shot session is running, not live
            if e.session is not None:
                e.session.cancel()
        await asyncio.get_running_loop().run_in_executor(
            None, lambda: self.pool.shutdown(wait=True, cancel_futures=True))  # queued work never starts
        await asyncio.get_running_loop().run_in_executor(None, lambda: self._reaper.shutdown(wait=True))
        for e in list(self.entries.values()):
            e.session = None
        self.entries.clear()
        self.live.clear()
        os.close(self._lock_fd)
