"""eryx.ray (EryxExecutor, RaySession) on a Ray cluster of this machine only:
ray.cluster_utils.Cluster, a head with no CPU and two nodes of one CPU each (each
actor lands on its own node). Skipped, with the reason, where Ray is not
installed (python/build-module.sh keeps why in the venv)."""
from __future__ import annotations

import gc
import os
import shutil
import signal
import sys
import tempfile
import threading
import time
import weakref
from pathlib import Path

import pytest

try:
    import ray
    from ray.cluster_utils import Cluster
    from ray.exceptions import RayActorError
except ImportError as _e:
    _why = Path(sys.prefix, ".eryx-ray-unavailable")
    pytest.skip(f"Ray is not installed: {_why.read_text().strip() if _why.exists() else _e}", allow_module_level=True)

import eryx
from eryx.ray import EryxExecutor, RayResult, RaySession, SessionLostError

# The callbacks below run in the actors' processes, which cannot import this test
# module: Ray's serializer ships its functions by value.
ray.cloudpickle.register_pickle_by_value(sys.modules[__name__])

_RENDEZVOUS_S = 60  # how long a test waits for an actor to reach a rendezvous before failing


@pytest.fixture(scope="module")
def cluster():
    # Ray's logs and sockets in a directory of the test's own, removed after (a short
    # path: Unix socket paths are limited to 107 bytes)
    temp = tempfile.mkdtemp(prefix="eryx-ray-", dir="/tmp")
    # Ray also writes the cluster's address to $RAY_TMPDIR/ray/ray_current_cluster
    # (default /tmp/ray, which a fresh machine does not have: Ray does not create it
    # there), whatever temp_dir says: point it into the same directory.
    os.makedirs(os.path.join(temp, "ray"))
    old_tmpdir = os.environ.get("RAY_TMPDIR")
    os.environ["RAY_TMPDIR"] = temp
    c = None
    try:
        c = Cluster(initialize_head=True,
                    head_node_args={"num_cpus": 0, "include_dashboard": False, "temp_dir": temp})
        nodes = [c.add_node(num_cpus=1) for _ in range(2)]
        ray.init(address=c.address)
        c.wait_for_nodes()
        yield c, nodes
    finally:
        ray.shutdown()
        if c is not None:
            c.shutdown()
        if old_tmpdir is None:
            os.environ.pop("RAY_TMPDIR", None)
        else:
            os.environ["RAY_TMPDIR"] = old_tmpdir
        shutil.rmtree(temp, ignore_errors=True)


def whoami() -> int:
    """The pid of the process the callback runs in."""
    return os.getpid()


def fail() -> None:
    raise LookupError("no such row")


def gate(path: str) -> str:
    """The first call (the file `path` is made atomically) writes its actor's pid to
    path + ".pid" and blocks until its actor is killed; later calls return at once."""
    try:
        fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
    except FileExistsError:
        return "again"
    os.close(fd)
    Path(path + ".tmp").write_text(str(os.getpid()))
    os.replace(path + ".tmp", path + ".pid")  # whole, for the test reading it
    time.sleep(_RENDEZVOUS_S)  # the test kills this process meanwhile
    return "first"


def _wait_pid(path: Path) -> int:
    """The pid the gate wrote once a batch reached it (the rendezvous)."""
    pid_file = Path(str(path) + ".pid")
    deadline = time.monotonic() + _RENDEZVOUS_S
    while not pid_file.exists():
        assert time.monotonic() < deadline, "no actor reached the gate"
        time.sleep(0.01)
    return int(pid_file.read_text())


def _keyed_factory(**kw) -> eryx.SandboxFactory:
    # a key of its own: the executor ships this very factory (not one made again)
    return eryx.SandboxFactory(state_key=os.urandom(32), **kw)


def test_map_1000_ordered_and_unordered(cluster):
    codes = [f"print({i} * 3)\nresult = {{'i': {i}}}" for i in range(1000)]
    with EryxExecutor(num_actors=2) as ex:
        ordered = list(ex.map(codes, batch_size=16))
        assert [r.index for r in ordered] == list(range(1000))
        for i, r in enumerate(ordered):
            assert isinstance(r, RayResult)
            assert r.ok and r.error_type is None and r.attempt == 1, r
            assert r.stdout_text == f"{i * 3}\n" and r.result == {"i": i}
        assert len({r.node for r in ordered}) == 2  # both nodes worked
        unordered = list(ex.map(iter(codes), ordered=False, batch_size=7, max_in_flight=3))
        assert sorted(r.index for r in unordered) == list(range(1000))
        assert all(r.ok and r.stdout == f"{r.index * 3}\n".encode() for r in unordered)
        stats = ex.actor_stats()
        assert len(stats) == 2 and sum(s["executions"] for s in stats) == 2000
        assert sum(s["batches"] for s in stats) == 1000 // 16 + 1 + -(-1000 // 7)


def test_map_reads_input_lazily(cluster):
    taken = []

    def codes():
        for i in range(100):
            taken.append(i)
            yield f"result = {i}"

    with EryxExecutor(num_actors=2) as ex:
        it = ex.map(codes(), batch_size=4, max_in_flight=2)
        first = next(it)
        assert first.index == 0 and first.result == 0
        assert len(taken) <= 4 * 3  # two batches out, one more read after the first came back
        assert [r.result for r in it] == list(range(1, 100))


def test_submit_and_results_are_plain(cluster):
    import pickle
    with EryxExecutor(num_actors=1) as ex:
        futs = [ex.submit(f"result = {i} * 2") for i in range(5)]
        rs = [f.result(timeout=120) for f in futs]
        assert [r.index for r in rs] == list(range(5)) and [r.result for r in rs] == [0, 2, 4, 6, 8]
        assert pickle.loads(pickle.dumps(rs[3])) == rs[3]
        with pytest.raises(AttributeError):
            rs[0].ok = False  # type: ignore[misc]
    with pytest.raises(RuntimeError, match="shut down"):
        ex.submit("pass")


def test_errors_timeouts_and_memory_limits_are_results(cluster):
    limits = eryx.ResourceLimits(execution_timeout_ms=1000, max_memory_bytes=64 << 20)
    codes = ["print('before'); 1/0", "while True: pass", "x = bytearray(200 * 1024 * 1024)", "print('fine')",
             "raise SystemExit(3)"]
    with EryxExecutor(num_actors=2, resource_limits=limits) as ex:
        r = list(ex.map(codes, batch_size=2))
        assert r[0].error_type == "ExecutionError" and r[0].error_message == "ZeroDivisionError: division by zero"
        assert "ZeroDivisionError" in r[0].traceback and r[0].stdout == b"before\n" and not r[0].ok
        assert r[1].error_type == "TimeoutError" and not r[1].ok
        assert r[2].error_type == "ResourceLimitError" and not r[2].ok
        assert r[3].ok and r[3].stdout_text == "fine\n"
        assert r[4].error_type == "ExecutionError" and not r[4].ok
        assert all(x.attempt == 1 for x in r)
        bad = ex.submit(b"print(1)").result(timeout=120)  # type: ignore[arg-type]
        assert bad.error_type == "TypeError" and not bad.ok
        # nothing crashed: the same two actors, which kept their warm sandboxes' limits
        assert ex.actors_replaced == 0 and len(ex.actor_stats()) == 2
        assert ex.submit("print('still here')").result(timeout=120).stdout_text == "still here\n"


@pytest.mark.parametrize("max_retries", [0, 1])
def test_actor_killed_mid_batch(cluster, tmp_path, max_retries):
    path = tmp_path / "gate"
    codes = [f"result = {i}" for i in range(16)]
    codes[5] = f"result = await gate(path={str(path)!r})"
    with EryxExecutor(num_actors=2, callbacks=[{"name": "gate", "fn": gate}], max_retries=max_retries) as ex:
        it = ex.map(codes, batch_size=4, max_in_flight=4)
        pid = _wait_pid(path)  # the batch of item 5 is running, blocked in the gate
        os.kill(pid, signal.SIGKILL)
        rs = list(it)
        assert [r.index for r in rs] == list(range(16))
        if max_retries == 0:
            assert rs[5].error_type == "ActorDiedError" and rs[5].attempt == 1 and not rs[5].ok
            lost = [r for r in rs if not r.ok]
            assert {r.index for r in rs[4:8]} <= {r.index for r in lost}  # the whole batch
            assert all(r.error_type == "ActorDiedError" and r.attempt == 1 for r in lost)
        else:
            assert all(r.ok for r in rs), [r for r in rs if not r.ok]
            assert rs[5].result == "again" and rs[5].attempt == 2
            assert all(r.attempt == 2 for r in rs[4:8])
        assert all(r.result == r.index for r in rs if r.ok and r.index != 5)
        assert ex.actors_replaced == 1
        stats = ex.actor_stats()  # the dead actor replaced: two live ones again, neither the killed one
        assert len(stats) == 2 and pid not in {s["pid"] for s in stats}
        deadline = time.monotonic() + _RENDEZVOUS_S
        while not all(s.started for s in ex._slots):  # the replacement takes batches again once started
            assert time.monotonic() < deadline, "the replacement, ready, is not marked started"
            time.sleep(0.01)
        rs = list(ex.map([f"result = {i}" for i in range(8)], batch_size=1))
        assert all(r.ok for r in rs) and len({r.actor for r in rs}) == 2


def test_session_survives_its_actors_death(cluster):
    with EryxExecutor(num_actors=2) as ex:
        s = ex.session(snapshot_every=2)
        assert isinstance(s, RaySession)
        s.execute("x = 0")
        s.execute("x += 1")  # execution 2: snapshot (x == 1)
        r = s.execute("x += 1; result = x")  # x == 2, after the snapshot
        assert r.result == 2 and s.execution_count == 3 and s.snapshot_count == 2
        first_actor = s.actor
        pid = next(a["pid"] for a in ex.actor_stats() if a["actor"] == first_actor)
        os.kill(pid, signal.SIGKILL)
        with pytest.raises(SessionLostError, match="after execution 2") as ei:
            s.execute("x += 100")
        assert isinstance(ei.value, eryx.EryxError)
        assert ei.value.restored_after == 2 and ei.value.lost == 2  # execution 3 and the call that raised
        assert s.actor != first_actor and s.execution_count == 2
        assert s.execute("result = x").result == 1  # as of the snapshot: the lost increment is gone
        assert s.execute("x += 1; result = x").result == 2  # continues on the new actor, no error again
        s.snapshot()
        assert s.snapshot_count == 4
        s.close()
        with pytest.raises(ValueError):
            s.execute("pass")


def test_factory_shipped_once(cluster):
    f = _keyed_factory(imports=["json"], setup_code="import random\nTOKEN = random.getrandbits(64)")
    token = f.create_sandbox().execute("result = TOKEN").result
    with EryxExecutor(num_actors=2, factory=f, sandboxes_per_actor=2) as ex:
        rs = list(ex.map(["result = [TOKEN, json.dumps(1)]"] * 64, batch_size=4))
        assert {r.actor for r in rs} == {a["actor"] for a in ex.actor_stats()} and len({r.actor for r in rs}) == 2
        assert all(r.result == [token, "1"] for r in rs)  # the driver's start state, not a new one
        s = ex.session()
        assert s.execute("result = TOKEN").result == token
        for st in ex.actor_stats():
            assert st["factory_loads"] == 1 and st["seconds_to_ready"] > 0
            assert st["start_states_made"] == 0, st  # no import or setup code run on the actor
            assert st["module"] in ("installed", "present", "compiled")


def test_factory_without_key_is_made_again_with_the_executors(cluster):
    f = eryx.SandboxFactory(setup_code="import random\nTOKEN = random.getrandbits(64)")
    with EryxExecutor(num_actors=2, factory=f) as ex:
        rs = list(ex.map(["result = TOKEN"] * 32, batch_size=2))
        assert len({r.actor for r in rs}) == 2 and len({r.result for r in rs}) == 1  # one state for all
        assert all(st["start_states_made"] == 0 for st in ex.actor_stats())


def test_callbacks_run_on_the_actors(cluster):
    calls = []

    def note(x: int) -> int:
        calls.append(x)  # the actor's copy of `calls`, not the driver's
        return len(calls)

    with EryxExecutor(num_actors=2, callbacks=[{"name": "whoami", "fn": whoami}, {"name": "note", "fn": note}]) as ex:
        rs = list(ex.map(["result = [await whoami(), await note(x=1)]"] * 8, batch_size=1))
        pids = {a["pid"] for a in ex.actor_stats()}
        assert all(r.ok for r in rs), rs
        assert {r.result[0] for r in rs} <= pids and os.getpid() not in pids
        assert max(r.result[1] for r in rs) >= 2 and calls == []
        s = ex.session()
        assert s.execute("result = await whoami()").result in pids
    with EryxExecutor(num_actors=1, callbacks=[{"name": "fail", "fn": fail}]) as ex:
        r = ex.submit("try:\n    await fail()\nexcept Exception as e:\n    result = str(e)\nawait fail()").result(120)
        assert r.error_type == "ExecutionError" and "no such row" in r.traceback, r


def test_shutdown_without_waiting_returns_the_batches_out(cluster, tmp_path):
    ex = EryxExecutor(num_actors=1, callbacks=[{"name": "gate", "fn": gate}], max_retries=3)
    fut = ex.submit(f"result = await gate(path={str(tmp_path / 'gate')!r})")
    _wait_pid(tmp_path / "gate")
    ex.shutdown(wait=False)
    r = fut.result(timeout=120)
    assert r.error_type == "ActorDiedError" and not r.ok  # no retry once shut down


def test_session_without_snapshot_restarts_fresh(cluster):
    with EryxExecutor(num_actors=2, snapshot_every=0) as ex:
        s = ex.session()
        s.execute("x = 1")
        s.execute("x += 1")
        pid = next(a["pid"] for a in ex.actor_stats() if a["actor"] == s.actor)
        os.kill(pid, signal.SIGKILL)
        with pytest.raises(SessionLostError, match="after execution 0") as ei:
            s.execute("pass")
        assert ei.value.restored_after == 0 and ei.value.lost == 3
        assert s.execute("result = 'x' in globals()").result is False


def test_bad_arguments(cluster):
    with pytest.raises(TypeError):
        EryxExecutor(num_actors="2")  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        EryxExecutor(num_actors=0)
    with pytest.raises(TypeError):
        EryxExecutor(num_actors=1, factory="nope")  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        EryxExecutor(num_actors=1, state_key=b"short")
    with EryxExecutor(num_actors=1) as ex:
        with pytest.raises(ValueError):
            ex.map(["pass"], batch_size=0)
        with pytest.raises(ValueError):
            ex.session(snapshot_every=-1)


def test_compiled_module_shipped_to_a_cold_cache(cluster, tmp_path):
    # The actors' eryx cache is an empty directory (as on a new node): they install
    # the driver's compiled module instead of compiling the interpreter.
    env = {"env_vars": {"XDG_CACHE_HOME": str(tmp_path / "cold")}}
    with EryxExecutor(num_actors=2, factory=_keyed_factory(imports=["json"]), actor_options={"runtime_env": env}) as ex:
        rs = list(ex.map(["result = json.dumps([1])"] * 8, batch_size=2))
        assert all(r.ok and r.result == "[1]" for r in rs) and len({r.actor for r in rs}) == 2
        stats = ex.actor_stats()
        # both actors share this machine's (cold) cache: the first installs, the other may find it there
        assert sorted(st["module"] for st in stats) in (["installed", "installed"], ["installed", "present"])
        assert all(st["modules_compiled"] == 0 and st["start_states_made"] == 0 for st in stats), stats
    assert any((tmp_path / "cold").rglob("*"))  # the actors' cache was the cold one


def _shutdown_returns(ex: EryxExecutor) -> bool:
    """Whether ex.shutdown() (waiting) returns, rather than waiting for batches
    counted in flight that will never come back."""
    done = threading.Event()
    threading.Thread(target=lambda: (ex.shutdown(), done.set()), daemon=True).start()
    return done.wait(_RENDEZVOUS_S)


def _wait_dead(handle) -> None:
    """Returns once the actor behind handle answers no more (ray.kill is asynchronous)."""
    deadline = time.monotonic() + _RENDEZVOUS_S
    while True:
        try:
            ray.get(handle.ready.remote(), timeout=_RENDEZVOUS_S)
        except RayActorError:
            return
        assert time.monotonic() < deadline, "the killed actor still answers"


def test_bad_codes_and_abandoned_maps_lose_nothing(cluster):
    ex = EryxExecutor(num_actors=1)
    with pytest.raises(TypeError, match="iterable of codes"):
        ex.map("print(1)")  # a str is not a list of one-character codes
    lock = threading.Lock()  # not a str, and not even picklable: its item's result says so
    r = ex.submit(lock).result(timeout=_RENDEZVOUS_S)  # type: ignore[arg-type]
    assert r.error_type == "TypeError" and "str" in r.error_message and not r.ok and r.index == 0
    rs = list(ex.map(["result = 1", lock, b"result = 3", "result = 4"], batch_size=2))  # type: ignore[list-item]
    assert [x.index for x in rs] == [0, 1, 2, 3] and [x.result for x in rs if x.ok] == [1, 4]
    assert [x.error_type for x in rs if not x.ok] == ["TypeError", "TypeError"]
    it = ex.map([f"result = {i}" for i in range(40)], batch_size=4, max_in_flight=3)
    assert next(it).result == 0
    it.close()  # abandoned with batches out: they finish, their results discarded
    assert ex.submit("result = 7").result(timeout=_RENDEZVOUS_S).result == 7
    assert _shutdown_returns(ex), "shutdown(wait=True) hung"


def test_a_failed_replacement_does_not_stop_the_executor(cluster, monkeypatch):
    with EryxExecutor(num_actors=1, max_retries=1) as ex:
        old = ex._slots[0].handle
        ray.kill(old, no_restart=True)
        _wait_dead(old)

        def refuse():
            raise RuntimeError("Ray refused the new actor")

        monkeypatch.setattr(ex, "_new_actor", refuse)
        r = ex.submit("result = 1").result(timeout=_RENDEZVOUS_S)  # the driver thread lives on
        assert r.error_type == "ActorDiedError" and r.attempt == 2 and not r.ok
        monkeypatch.undo()
        r = ex.submit("result = 2").result(timeout=_RENDEZVOUS_S)  # replaced now, and retried there
        assert r.ok and r.result == 2 and r.attempt == 2 and ex.actors_replaced == 1


def test_start_timeout_when_the_cluster_lacks_cpus(cluster):
    # three one-CPU actors on two CPUs: one can never start
    with pytest.raises(eryx.InitializationError, match=r"not ready after 1 s.*CPU"):
        EryxExecutor(num_actors=3, start_timeout_s=1)
    with pytest.raises(ValueError):
        EryxExecutor(num_actors=1, start_timeout_s=0)
    with EryxExecutor(num_actors=2) as ex:  # the actors that had started were freed
        assert len(ex.actor_stats()) == 2


def test_an_executor_dropped_without_shutdown_frees_its_actors(cluster):
    ex = EryxExecutor(num_actors=2)
    assert ex.submit("result = 1").result(timeout=_RENDEZVOUS_S).result == 1
    handles = [s.handle for s in ex._slots]  # these alone do not keep the actors alive
    gone = weakref.ref(ex)
    del ex
    gc.collect()
    assert gone() is None, "the executor is kept alive (by its driver thread)"
    for h in handles:
        _wait_dead(h)


@pytest.mark.parametrize("why", ["no CPU for it", "its start fails"])
def test_batches_go_to_started_actors_while_a_replacement_is_not(cluster, monkeypatch, why):
    with EryxExecutor(num_actors=2, max_retries=1) as ex:
        old = ex._slots[0].handle
        ray.kill(old, no_restart=True)
        _wait_dead(old)
        if why == "no CPU for it":  # as on a cluster that lost a node: Ray cannot place the replacement
            monkeypatch.setitem(ex._options, "resources", {"no-such-node": 1})
        else:  # e.g. a packages path missing on the node the replacement lands on
            monkeypatch.setattr(ex, "_factory_ref", ray.put(b"not a factory"))
        out: list[RayResult] = []
        done = threading.Event()

        def consume() -> None:
            out.extend(ex.map([f"result = {i}" for i in range(24)], batch_size=2))
            done.set()

        threading.Thread(target=consume, daemon=True).start()
        assert done.wait(_RENDEZVOUS_S), "batches wait for an actor that does not start"
        assert [r.result for r in out] == list(range(24)) and all(r.ok for r in out), out
        assert ex.actors_replaced == 1  # the dead actor's batches were retried on the live one


def test_shutdown_from_a_done_callback_is_an_error_not_a_deadlock(cluster, tmp_path):
    with EryxExecutor(num_actors=1, callbacks=[{"name": "gate", "fn": gate}]) as ex:
        fut = ex.submit(f"result = await gate(path={str(tmp_path / 'gate')!r})")
        pid = _wait_pid(tmp_path / "gate")
        seen: list[Exception] = []
        done = threading.Event()

        def on_done(_f) -> None:  # runs on the executor's driver thread
            try:
                ex.shutdown()
            except RuntimeError as e:
                seen.append(e)
            done.set()

        fut.add_done_callback(on_done)  # not done yet: its code waits in the gate
        os.kill(pid, signal.SIGKILL)
        assert done.wait(_RENDEZVOUS_S), "shutdown() from a done callback waits for itself"
        assert len(seen) == 1 and "done callback" in str(seen[0])
        assert fut.result().error_type == "ActorDiedError"
        assert ex.submit("result = 1").result(timeout=_RENDEZVOUS_S).result == 1  # still at work
