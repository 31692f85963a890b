"""Coordination primitives across clients and worker processes (state on the scheduler)."""
from __future__ import annotations

import threading
import time

import pytest

from shoal.distributed import Client, Event, Lock, MultiLock, Pub, Queue, Semaphore, Sub, Variable

pytestmark = pytest.mark.timeout(60)


@pytest.fixture
def c(distributed_client):
    return distributed_client


def inc(x):
    return x + 1


def _count_under_lock(i, name):
    # read-modify-write of a shared Variable: only correct if the Lock excludes other workers
    with Lock(name):
        v = Variable(name + "-n")
        try:
            n = v.get(timeout=0.01)
        except TimeoutError:
            n = 0
        time.sleep(0.005)
        v.set(n + 1)
    return i


def test_lock_excludes_tasks_on_every_worker(c):
    c.gather(c.map(_count_under_lock, range(12), name="count-lock"))
    assert Variable("count-lock-n", client=c).get() == 12
    Variable("count-lock-n", client=c).delete()


def test_lock_acquire_timeout_nonblocking_and_release_errors(c):
    a, b = Lock("L1", client=c), Lock("L1", client=c)
    assert a.acquire() and a.locked()
    t = time.monotonic()
    assert b.acquire(timeout=0.2) is False
    assert 0.15 < time.monotonic() - t < 3
    assert b.acquire(blocking=False) is False
    with pytest.raises(RuntimeError, match="not held"):
        b.release()
    a.release()
    assert not a.locked()
    with b:
        assert a.locked()


def test_lock_waiter_gets_it_when_released(c):
    a, b = Lock("L2", client=c), Lock("L2", client=c)
    a.acquire()
    got = []
    th = threading.Thread(target=lambda: got.append(b.acquire(timeout=10)))
    th.start()
    time.sleep(0.2)
    assert got == []
    a.release()
    th.join(10)
    assert got == [True]
    b.release()


def test_lock_of_a_closed_client_is_released(c, distributed_client):
    other = Client(c.scheduler_address, security=c.security, set_as_default=False)
    try:
        assert Lock("L3", client=other).acquire()
        assert Lock("L3", client=c).acquire(timeout=0.1) is False
    finally:
        other.close()
    lk = Lock("L3", client=c)
    assert lk.acquire(timeout=5)  # freed with its client's connection
    lk.release()


def test_multilock_takes_all_or_waits(c):
    held = Lock("m-b", client=c)
    held.acquire()
    ml = MultiLock(["m-a", "m-b"], client=c)
    assert ml.acquire(timeout=0.1) is False
    assert not Lock("m-a", client=c).locked()  # nothing half-taken
    assert ml.acquire(num_locks=1, timeout=1)
    ml.release()
    held.release()
    with MultiLock(["m-a", "m-b"], client=c):
        assert Lock("m-a", client=c).locked() and Lock("m-b", client=c).locked()


def test_semaphore_limits_holders(c):
    s = Semaphore(max_leases=2, name="S1", client=c)
    assert s.acquire() and s.acquire()
    assert s.get_value() == 2
    assert s.acquire(timeout=0.1) is False
    s.release()
    assert s.acquire(timeout=1)
    s.release()
    s.release()
    assert s.get_value() == 0
    assert s.acquire()
    with pytest.raises(ValueError, match="max_leases=2"):
        Semaphore(max_leases=3, name="S1", client=c).acquire(timeout=0.1)
    s.release()
    with pytest.raises(RuntimeError, match="without a lease"):
        s.release()


def _peak_holders(i, sem):
    with sem:
        time.sleep(0.1)
    return i


def test_semaphore_passed_to_tasks(c):
    sem = Semaphore(max_leases=1, name="S2", client=c)
    t = time.monotonic()
    c.gather(c.map(_peak_holders, range(4), sem=sem))
    assert time.monotonic() - t >= 0.4  # one at a time although two workers are free


def test_queue_data_and_futures_across_clients(c):
    q = Queue("Q1", client=c)
    q.put(1)
    q.put({"a": [1, 2]})
    f = c.submit(inc, 10)
    q.put(f)
    del f  # the queue keeps the result alive
    assert q.qsize() == 3
    other = Client(c.scheduler_address, security=c.security, set_as_default=False)
    try:
        q2 = Queue("Q1", client=other)
        assert q2.get() == 1
        second, third = q2.get(batch=2)
        assert second == {"a": [1, 2]} and third.result(timeout=10) == 11
        assert q.qsize() == 0
        with pytest.raises(TimeoutError, match="timed out"):
            q2.get(timeout=0.1)
        assert q2.get(batch=True) == []
    finally:
        other.close()


def test_queue_future_survives_until_got(c):
    q = Queue("Q2", client=c)
    f = c.submit(inc, 41, pure=False)
    f.result()
    q.put(f)
    del f
    time.sleep(0.2)
    assert q.get(timeout=5).result(timeout=10) == 42


def _producer(q):
    for i in range(3):
        q.put(i)
    return True


def test_queue_between_tasks_and_maxsize(c):
    q = Queue("Q3", client=c, maxsize=1)
    q.put("x")
    with pytest.raises(TimeoutError):
        q.put("y", timeout=0.1)
    assert q.get() == "x"
    fut = c.submit(_producer, q, pure=False)
    got = [q.get(timeout=10) for _ in range(3)]
    assert got == [0, 1, 2] and fut.result(timeout=10)


def _wait_for_event(name):
    return Event(name).wait(timeout=10)


def test_event_released_tasks_wait_and_timeout(c):
    ev = Event("E1", client=c)
    assert not ev.is_set()
    assert ev.wait(timeout=0.1) is False
    futs = c.map(_wait_for_event, ["E1", "E1"], pure=False)
    time.sleep(0.3)
    assert not any(f.done() for f in futs)
    ev.set()
    assert c.gather(futs) == [True, True]
    ev.clear()
    assert not ev.is_set()


def test_variable_with_future_and_wait(c):
    v = Variable("V1", client=c)
    with pytest.raises(TimeoutError):
        v.get(timeout=0.1)
    f = c.submit(inc, 1, pure=False)
    v.set(f)
    del f
    assert v.get().result() == 2
    v.set(5)
    assert v.get() == 5
    v.delete()
    with pytest.raises(TimeoutError):
        v.get(timeout=0.05)


def test_pub_sub(c):
    sub = Sub("T1", client=c)
    pub = Pub("T1", client=c)
    Pub("T-other", client=c).put("nobody listens")
    for i in range(3):
        pub.put({"i": i})
    assert [sub.get(timeout=5)["i"] for _ in range(3)] == [0, 1, 2]
    with pytest.raises(TimeoutError):
        sub.get(timeout=0.05)
    sub.close()
