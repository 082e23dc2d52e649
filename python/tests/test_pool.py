"""Tests of sandbox pools (SandboxFactory.create_pool, SandboxPool, PooledSandbox,
PoolStats, the PoolError family), following pyeryx 0.11's semantics: 8 threads on
one pool (no double lease, stats consistent), try_acquire, the acquire timeout,
close waking a blocked acquire, use after release, idempotent release, context
managers, nothing leaking between leases, per-lease limits, callbacks and streams."""
import gc
import threading
import time

import pytest

import eryx


@pytest.fixture(scope="module")
def factory():
    return eryx.SandboxFactory()


def _joined(chunks):
    return b"".join(chunks)


def test_exports_and_hierarchy():
    for name in ("SandboxPool", "PooledSandbox", "PoolStats", "PoolError", "PoolExhaustedError", "PoolTimeoutError",
                 "PoolClosedError"):
        assert name in eryx.__all__ and hasattr(eryx, name)
    for cls in (eryx.PoolExhaustedError, eryx.PoolTimeoutError, eryx.PoolClosedError):
        assert issubclass(cls, eryx.PoolError) and issubclass(cls, eryx.EryxError)


def test_defaults_and_prewarm(factory):
    with factory.create_pool() as pool:
        s = pool.stats()
        assert (s.total, s.idle, s.available, s.in_use) == (1, 1, 10, 0)  # min_idle=1 made at once, max_size=10
        assert (s.total_acquisitions, s.total_creations, s.wait_count) == (0, 1, 0)
        assert s.total_wait_time_ms == 0.0 and s.average_wait_time_ms == 0.0
        assert repr(s) == "PoolStats(total=1, idle=1, in_use=0, acquisitions=0)"
        assert repr(pool) == "SandboxPool(total=1, idle=1, in_use=0, closed=false)"
    assert pool.is_closed  # the context manager closed it


@pytest.mark.parametrize("kwargs, error, text", [
    (dict(max_size=0), eryx.InitializationError, "max_size must be greater than 0"),
    (dict(max_size=2, min_idle=3), eryx.InitializationError, "min_idle cannot exceed max_size"),
    (dict(max_size=-1), ValueError, "max_size"),
    (dict(acquire_timeout_ms="1"), TypeError, "acquire_timeout_ms"),
])
def test_bad_pool_arguments(factory, kwargs, error, text):
    with pytest.raises(error, match=text):
        factory.create_pool(**kwargs)


def test_execute_returns_execute_result(factory):
    with factory.create_pool(max_size=1) as pool, pool.acquire() as sb:
        r = sb.execute("print(6 * 7)\nresult = {'a': 1}")
        assert isinstance(r, eryx.ExecuteResult)
        assert r.stdout == b"42\n" and r.result == {"a": 1}
        with pytest.raises(eryx.ExecutionError, match="ZeroDivisionError"):
            sb.execute("1 / 0")
        assert repr(sb) == "PooledSandbox(active)"
    assert repr(sb) == "PooledSandbox(released)"


def test_eight_threads_no_double_lease_and_consistent_stats(factory):
    max_size, threads, rounds = 3, 8, 6
    pool = factory.create_pool(max_size=max_size, min_idle=1, acquire_timeout_ms=120000)
    lock, errors = threading.Lock(), []
    inflight = [0, 0]  # executions running now, the most at once

    def work(tid):
        for i in range(rounds):
            with pool.acquire() as sb:
                with lock:
                    inflight[0] += 1
                    inflight[1] = max(inflight)
                    if pool.stats().in_use > max_size:
                        errors.append("more leases than max_size")
                out = sb.execute(f"v = {tid} * 100 + {i}\nprint(v)").stdout
                if out != f"{tid * 100 + i}\n".encode():
                    errors.append(f"thread {tid} round {i} got {out!r}")
                with lock:
                    inflight[0] -= 1

    ts = [threading.Thread(target=work, args=(t,)) for t in range(threads)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    assert errors == []
    assert 1 <= inflight[1] <= max_size  # never more sandboxes running than the pool has
    s = pool.stats()
    assert s.total_acquisitions == threads * rounds
    assert s.in_use == 0 and s.available == max_size
    assert s.total == s.idle and 1 <= s.idle <= max_size
    assert s.total_creations == s.idle  # every sandbox made is idle: none leaked, none freed
    assert s.wait_count <= s.total_acquisitions
    if s.wait_count:
        assert s.total_wait_time_ms > 0 and s.average_wait_time_ms == pytest.approx(s.total_wait_time_ms / s.wait_count)
    pool.close()


def test_try_acquire_none_when_busy_and_timeout(factory):
    pool = factory.create_pool(max_size=1, min_idle=0, acquire_timeout_ms=150)
    a = pool.try_acquire()
    assert isinstance(a, eryx.PooledSandbox)
    assert pool.try_acquire() is None
    t0 = time.monotonic()
    with pytest.raises(eryx.PoolTimeoutError, match="timed out after 150 ms"):
        pool.acquire()
    assert time.monotonic() - t0 >= 0.15
    s = pool.stats()
    assert s.wait_count == 0 and s.total_acquisitions == 1  # a timed-out wait is not an acquisition
    # a release wakes a waiter; that acquisition counts as a wait
    pool2 = factory.create_pool(max_size=1, min_idle=0, acquire_timeout_ms=30000)
    b = pool2.acquire()
    threading.Timer(0.05, b.release).start()
    with pool2.acquire() as c:
        assert c.execute("print(1)").stdout == b"1\n"
    s = pool2.stats()
    assert s.wait_count == 1 and s.total_wait_time_ms > 0 and s.average_wait_time_ms == s.total_wait_time_ms
    a.release()
    pool.close()
    pool2.close()


def test_close_wakes_blocked_acquire(factory):
    pool = factory.create_pool(max_size=1, acquire_timeout_ms=60000)
    held = pool.acquire()
    got = []

    def waiter():
        try:
            pool.acquire()
            got.append("acquired")
        except eryx.PoolClosedError as e:
            got.append(e)

    t = threading.Thread(target=waiter)
    t.start()
    time.sleep(0.1)  # the waiter is blocked in C with the GIL released: this thread runs
    assert t.is_alive()
    pool.close()
    t.join(30)
    assert not t.is_alive() and len(got) == 1 and isinstance(got[0], eryx.PoolClosedError)
    assert pool.is_closed
    with pytest.raises(eryx.PoolClosedError):
        pool.acquire()
    with pytest.raises(eryx.PoolClosedError):
        pool.try_acquire()
    assert held.execute("print('still')").stdout == b"still\n"  # a lease out keeps working
    held.release()
    s = pool.stats()
    assert s.total == 0 and s.idle == 0 and s.in_use == 0  # freed on release, not pooled
    pool.close()  # again: harmless


def test_use_after_release_and_idempotent_release(factory):
    pool = factory.create_pool(max_size=2)
    sb = pool.acquire()
    sb.release()
    sb.release()
    with pytest.raises(ValueError, match="released"):
        sb.execute("pass")
    assert pool.stats().in_use == 0
    with pool.acquire() as sb2:
        pass
    sb2.release()
    with pytest.raises(ValueError):
        sb2.execute("pass")
    assert pool.stats().in_use == 0 and pool.stats().idle == 1
    pool.close()


def test_dropped_lease_goes_back(factory):
    pool = factory.create_pool(max_size=1, min_idle=0)
    sb = pool.acquire()
    assert pool.stats().in_use == 1
    del sb
    gc.collect()
    s = pool.stats()
    assert s.in_use == 0 and s.idle == 1
    pool.close()


def test_evict_idle_keeps_min_idle(factory):
    pool = factory.create_pool(max_size=4, min_idle=1, idle_timeout_ms=0)
    leases = [pool.acquire() for _ in range(3)]
    for sb in leases:
        sb.release()
    assert pool.stats().idle == 3
    assert pool.evict_idle() == 2
    assert pool.stats().idle == 1 and pool.stats().total == 1
    assert pool.evict_idle() == 0
    pool.close()
    keep = factory.create_pool(max_size=4, min_idle=0, idle_timeout_ms=600000)
    keep.acquire().release()
    assert keep.evict_idle() == 0 and keep.stats().idle == 1
    keep.close()


def test_nothing_leaks_between_leases(factory):
    pool = factory.create_pool(max_size=1)
    with pool.acquire(resource_limits=eryx.ResourceLimits(execution_timeout_ms=100)) as sb:
        sb.execute("g = 5\nimport sys\nsys.modules['planted'] = 1\nopen('/tmp/left', 'w').write('x')")
        with pytest.raises(eryx.TimeoutError):
            sb.execute("while True: pass")
    chunks = []
    with pool.acquire(on_stdout=chunks.append) as sb:
        sb.execute("print('streamed')")
    assert b"streamed" in _joined(chunks)
    with pool.acquire() as sb:
        with pytest.raises(eryx.ExecutionError, match="NameError"):
            sb.execute("print(g)")
        r = sb.execute("import os, sys\nprint('planted' in sys.modules, os.path.exists('/tmp/left'))")
        assert r.stdout == b"False False\n"
        t0 = time.monotonic()
        sb.execute("import time\ntime.sleep(0.3)")  # the lease's 100 ms timeout did not stay
        assert time.monotonic() - t0 >= 0.3
        n = len(chunks)
        sb.execute("print('quiet')")
        assert len(chunks) == n  # nor did the lease's on_stdout
    assert pool.stats().total_creations == 1  # one warm sandbox served every lease
    pool.close()


def test_per_lease_callbacks_and_limits(factory):
    calls = []

    def add(a, b):
        calls.append((a, b))
        return a + b

    pool = factory.create_pool(max_size=2, min_idle=1)
    with pool.acquire(callbacks=[{"name": "add", "fn": add}]) as sb:
        assert sb.execute("print(await add(a=2, b=3))").stdout == b"5\n"
        assert pool.stats().in_use == 1
    assert calls == [(2, 3)]
    s = pool.stats()
    assert s.in_use == 0 and s.total <= 2  # the lease's own sandbox was freed, not pooled
    with pool.acquire() as sb:  # a pooled lease has no callback
        with pytest.raises(eryx.ExecutionError, match="NameError"):
            sb.execute("await add(a=1, b=1)")
    # a memory cap is part of the start state: the lease gets its own sandbox
    small = eryx.ResourceLimits(max_memory_bytes=64 << 20)
    with pool.acquire(resource_limits=small) as sb:
        with pytest.raises(eryx.ResourceLimitError):
            sb.execute("x = bytearray(80 << 20)")
    with pool.acquire() as sb:
        sb.execute("x = bytearray(80 << 20)")  # the pool's own 128 MiB cap again
    # bad callbacks raise before any permit is taken
    with pytest.raises((KeyError, TypeError)):
        pool.acquire(callbacks=[{"fn": add}])
    with pytest.raises(TypeError):
        pool.acquire(resource_limits="fast")
    with pytest.raises(TypeError):
        pool.acquire(on_stdout=42)
    with pytest.raises(ValueError):  # a timeout too large for the library: the lease goes back
        pool.acquire(resource_limits=eryx.ResourceLimits(execution_timeout_ms=2 ** 63))
    assert pool.stats().in_use == 0
    # a per-lease lease counts against max_size
    a = pool.acquire(callbacks=[{"name": "add", "fn": add}])
    b = pool.acquire()
    assert pool.try_acquire() is None
    assert pool.try_acquire(callbacks=[{"name": "add", "fn": add}]) is None
    a.release()
    b.release()
    pool.close()


def test_on_stderr_per_lease(factory):
    out, err = [], []
    with factory.create_pool(max_size=1) as pool:
        with pool.acquire(on_stdout=out.append, on_stderr=err.append) as sb:
            sb.execute("import sys\nprint('o')\nprint('e', file=sys.stderr)")
    assert _joined(out) == b"o\n" and _joined(err) == b"e\n"


def test_release_during_an_execution_in_another_thread(factory):
    pool = factory.create_pool(max_size=1)
    started = threading.Event()
    sb = pool.acquire(on_stdout=lambda b: started.set())
    result = []

    def run():
        result.append(sb.execute("import time\nprint('started', flush=True)\ntime.sleep(0.3)\nprint('done')").stdout)

    t = threading.Thread(target=run)
    t.start()
    assert started.wait(30)  # the guest is running
    sb.release()  # returns at once; the sandbox goes back when the execution ends
    with pytest.raises(ValueError, match="released"):
        sb.execute("pass")
    t.join()
    assert result and result[0] == b"started\ndone\n"
    assert pool.stats().in_use == 0 and pool.stats().idle == 1
    pool.close()


def test_release_from_the_executions_own_callbacks(factory):
    # an on_stdout or host callback of the execution releasing its own lease: no
    # deadlock (the callback runs while the execution holds the sandbox); it goes
    # back when the execution ends
    pool = factory.create_pool(max_size=1, acquire_timeout_ms=5000)
    box = {}
    sb = box["lease"] = pool.acquire(on_stdout=lambda b: box["lease"].release())
    assert sb.execute("print('x')\nprint('y')").stdout == b"x\ny\n"
    assert pool.stats().in_use == 0
    with pytest.raises(ValueError):
        sb.execute("pass")

    def give_back():
        box["lease"].release()
        return "given"

    sb = box["lease"] = pool.acquire(callbacks=[{"name": "give_back", "fn": give_back}])
    assert sb.execute("print(await give_back())\nprint('after')").stdout == b"given\nafter\n"
    s = pool.stats()
    assert s.in_use == 0 and s.available == 1
    with pool.acquire() as again:  # the permit came back
        assert again.execute("print(1)").stdout == b"1\n"
    pool.close()


# ---- the review of issue 20: Ctrl-C, huge numbers, foreign releases ----------------
_BLOCKED_ACQUIRE = r"""
import sys, eryx
pool = eryx.SandboxFactory().create_pool(max_size=1, acquire_timeout_ms=600000)
held = pool.acquire()
try:
    print("blocked", flush=True)  # inside the try: a signal landing early is caught as well
    pool.acquire()
    print("acquired")
except KeyboardInterrupt:
    s = pool.stats()
    print("interrupted", s.in_use, s.available, s.wait_count, s.total_acquisitions, flush=True)
held.release()
with pool.acquire() as again:  # nothing was lost: the permit is there
    print(again.execute("print(7)").stdout.decode().strip(), pool.stats().in_use, flush=True)
pool.close()
"""


def test_ctrl_c_interrupts_a_blocked_acquire(tmp_path):
    import os
    import signal
    import subprocess
    import sys
    script = tmp_path / "blocked.py"
    script.write_text(_BLOCKED_ACQUIRE)
    p = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                         cwd=os.getcwd())
    try:
        assert p.stdout.readline() == "blocked\n"
        time.sleep(0.5)  # the child is blocked in acquire by then; well inside its 600 s timeout
        p.send_signal(signal.SIGINT)
        out, err = p.communicate(timeout=60)  # without the fix: blocked until the 600 s timeout
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
    assert p.returncode == 0, err
    # the interrupted acquire took no permit and counted nothing
    assert out.splitlines() == ["interrupted 1 0 0 1", "7 1"]


def test_huge_numbers_never_wrap(factory):
    # 2**64 does not fit the C pool's u64: refused, never wrapped to 0 (no wait at all)
    with pytest.raises(OverflowError):
        factory.create_pool(acquire_timeout_ms=2**64)
    with pytest.raises(OverflowError):
        factory.create_pool(idle_timeout_ms=2**64)
    with pytest.raises(OverflowError):
        factory.create_pool(max_size=2**32 + 1, min_idle=0)  # never a pool of 1
    pool = factory.create_pool(max_size=1, min_idle=0, acquire_timeout_ms=2**64 - 1, idle_timeout_ms=2**64 - 1)
    held = pool.acquire()
    threading.Timer(0.2, pool.close).start()
    with pytest.raises(eryx.PoolClosedError):  # a real wait, woken by close
        pool.acquire()
    held.release()
    assert pool.evict_idle() == 0


def test_sliced_wait_is_counted_once_and_whole(factory):
    pool = factory.create_pool(max_size=1, min_idle=0, acquire_timeout_ms=30000)
    held = pool.acquire()
    threading.Timer(0.3, held.release).start()
    t0 = time.monotonic()
    with pool.acquire() as sb:
        waited_ms = (time.monotonic() - t0) * 1000
        assert sb.execute("print(1)").stdout == b"1\n"
    s = pool.stats()
    assert s.wait_count == 1
    assert 250 <= s.total_wait_time_ms <= waited_ms + 1  # the whole wait, not its last 50 ms slice
    pool.close()


def test_release_refuses_another_pools_lease(factory):
    a = factory.create_pool(max_size=1)
    b = factory.create_pool(max_size=1)
    lease = b.acquire()
    with pytest.raises(ValueError, match="not lent by this pool"):
        a._pool.release(lease._sb)
    with pytest.raises(TypeError):
        a._pool.release(object())
    assert lease.execute("print('mine')").stdout == b"mine\n"  # not taken from its lease
    lease.release()
    assert b.stats().in_use == 0 and b.stats().idle == 1 and a.stats().in_use == 0
    a.close()
    b.close()


def test_pool_resource_limits_are_the_warm_sandboxes(factory):
    small = eryx.ResourceLimits(execution_timeout_ms=5000, max_memory_bytes=64 << 20)
    with factory.create_pool(max_size=1, min_idle=1, resource_limits=small) as pool:
        for _ in range(3):  # the pool's limits, given or not: the one warm sandbox each time
            with pool.acquire() as sb:
                with pytest.raises(eryx.ResourceLimitError):
                    sb.execute("x = bytearray(80 << 20)")
            with pool.acquire(resource_limits=eryx.ResourceLimits(execution_timeout_ms=5000,
                                                                  max_memory_bytes=64 << 20)) as sb:
                assert sb.execute("print(1)").stdout == b"1\n"
        assert pool.stats().total_creations == 1
        with pool.acquire(resource_limits=eryx.ResourceLimits()) as sb:  # other limits: a sandbox of its own
            sb.execute("x = bytearray(80 << 20)")
        assert pool.stats().total_creations == 2
    with pytest.raises(TypeError):
        factory.create_pool(resource_limits="small")
