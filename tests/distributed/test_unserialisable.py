"""Results that cannot be pickled err promptly and clearly; ``result(timeout=)`` is honoured.

A value that cannot leave its worker (a lock, an open socket) must not be
treated as "missing" (that refetched and recomputed it forever): the client,
or a dependent task on another worker, gets a ``SerializationError`` naming
the key, with the pickling error as its cause.
"""
from __future__ import annotations

import threading
import time

import pytest

from shoal.distributed import wait
from shoal.distributed.protocol.serialize import SerializationError, deserialize, unserialisable
from shoal.distributed.worker.state import WorkerState


def inc(x):
    return x + 1


def is_locked(lock):
    return lock.locked()


@pytest.fixture
def c(distributed_client):
    return distributed_client


# ---- pure pieces --------------------------------------------------------------
def test_error_names_key_and_worker_and_keeps_its_cause_over_the_wire():
    try:
        import pickle

        pickle.dumps(threading.Lock())
    except TypeError as e:
        cause = e
    exc = deserialize(unserialisable("lock-1", "tcp://w:1", cause))
    assert isinstance(exc, SerializationError) and isinstance(exc, TypeError)
    assert "'lock-1'" in str(exc) and "tcp://w:1" in str(exc) and "could not be serialised" in str(exc)
    assert type(exc.__cause__) is TypeError and str(exc.__cause__) == str(cause)


def test_unserialisable_input_fails_the_waiting_task_instead_of_refetching():
    w = WorkerState(nthreads=1)
    out = w.compute("x", b"", "f", [("a", ["p1"], 8), ("b", ["p2"], 8)], 0)
    assert sorted(i for i in out if i[0] == "fetch") == [("fetch", "p1", ["a"]), ("fetch", "p2", ["b"])]
    w.compute("y", b"", "f", [("a", ["p1"], 8)], 1)  # shares the in-flight fetch of a
    err = b"serialised-error"
    out = w.fetched("p1", [], [], {"a": err})
    erred = [i[1] for i in out if i[0] == "send"]
    assert sorted(m["key"] for m in erred) == ["x", "y"]
    assert all(m["op"] == "task-erred" and m["exception"] == err for m in erred)
    assert not [i for i in out if i[0] in ("fetch", "execute")]  # no refetch, nothing runs
    assert "x" not in w.tasks and "y" not in w.tasks and not w.borrowed
    # b arriving later for the failed task is not kept and runs nothing
    out = w.fetched("p2", ["b"], [])
    assert out == [("drop", "b")]
    assert not w.executing and not w.have


# ---- on a real cluster ------------------------------------------------------
def test_unpicklable_result_raises_promptly_and_cluster_keeps_working(c):
    f = c.submit(threading.Lock, pure=False)
    t0 = time.monotonic()
    with pytest.raises(SerializationError) as info:
        f.result(timeout=30)
    assert time.monotonic() - t0 < 10
    msg = str(info.value)
    assert repr(f.key) in msg and "could not be serialised" in msg
    assert isinstance(info.value.__cause__, TypeError) and "pickle" in str(info.value.__cause__)
    with pytest.raises(SerializationError):
        c.gather([f])
    assert c.submit(inc, 41, pure=False).result(timeout=30) == 42


def test_dependent_on_another_worker_errs_and_same_worker_uses_the_value(c):
    a, b = sorted(c.nthreads())[:2]
    lock = c.submit(threading.Lock, pure=False, workers=[a])
    same = c.submit(is_locked, lock, pure=False, workers=[a])
    other = c.submit(is_locked, lock, pure=False, workers=[b])
    assert same.result(timeout=30) is False  # usable where it lives: nothing to pickle
    t0 = time.monotonic()
    with pytest.raises(SerializationError) as info:
        other.result(timeout=30)
    assert time.monotonic() - t0 < 10
    assert repr(lock.key) in str(info.value) and a in str(info.value)
    assert isinstance(info.value.__cause__, TypeError)
    assert [x.result(timeout=30) for x in c.map(inc, range(4), pure=False, workers=[b])] == [1, 2, 3, 4]


def test_result_timeout_bounds_the_fetch_too(c):
    def make_slow_to_send():
        import time as _t

        class SlowToSend:
            def __reduce__(self):
                _t.sleep(2.0)  # the holder takes 2 s to serialise it
                return (int, (7,))

        return SlowToSend()

    f = c.submit(make_slow_to_send, pure=False)
    wait([f], timeout=30)
    assert f.status == "finished"
    t0 = time.monotonic()
    with pytest.raises(TimeoutError):
        f.result(timeout=0.5)
    assert time.monotonic() - t0 < 1.6
    assert f.result(timeout=30) == 7  # without the deadline the value does arrive
