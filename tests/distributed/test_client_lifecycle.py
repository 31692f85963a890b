"""Future lifetimes on a real cluster: releasing, cancelling, resubmitting,
callbacks, ordering of releases against new work, and gather's structures."""
from __future__ import annotations

import collections
import sys
import threading
import time

import numpy as np
import pytest

from shoal.core.task import Ref, Task
from shoal.distributed import CancelledError, Client, as_completed
from shoal.distributed.futures import Future


def inc(x):
    return x + 1


def slow(x, delay=0.5):
    time.sleep(delay)
    return x


def total(items):
    return sum(items)


@pytest.fixture
def c(distributed_client):
    return distributed_client


def test_release_counts_once(c):
    f1 = c.submit(slow, 100, 0.3)
    f2 = c.submit(slow, 100, 0.3)  # same key, a second reference
    f1.release()
    f1.release()
    del f1  # its reference is gone already: the key must stay for f2
    assert f2.result(timeout=30) == 100


def test_cancel_then_resubmit_and_cancel_of_a_finished_future(c):
    x = c.submit(slow, 1, 1.0, pure=True)
    x.cancel()
    assert x.status == "cancelled"
    x = c.submit(slow, 1, 1.0, pure=True)  # same key again: runs anew
    assert x.result(timeout=30) == 1
    y = c.submit(inc, 41)
    assert y.result(timeout=30) == 42
    y.cancel()
    t = time.monotonic()
    with pytest.raises(CancelledError):
        y.result(timeout=30)
    assert time.monotonic() - t < 5  # says so at once, no fetch of a freed value


def test_as_completed_ends_when_a_future_is_cancelled_meanwhile(c):
    a = c.submit(slow, 1, 0.3, pure=False)
    b = c.submit(slow, 2, 3.0, pure=False)
    seen = []

    def consume():
        for f in as_completed([a, b]):
            seen.append(f.status)

    th = threading.Thread(target=consume, daemon=True)
    th.start()
    time.sleep(0.1)
    b.cancel()
    th.join(10)
    assert not th.is_alive() and sorted(seen) == ["cancelled", "finished"]


def test_done_callbacks_may_block(c):
    got = []
    done = threading.Event()
    other = c.submit(slow, 5, 1.0, pure=False)

    def cb(fut):
        got.append(fut.result() + other.result(timeout=30))  # blocks: must not stop the IO loop
        done.set()

    c.submit(inc, 1, pure=False).add_done_callback(cb)
    assert done.wait(30) and got == [7]


def test_a_future_dropped_right_after_use_is_released_after_the_graph_that_needs_it(c):
    for trial in range(5):
        z = c.submit(inc, 1000 + trial)
        x = c.submit(inc, 2000 + trial)
        z.result(timeout=30)
        x.result(timeout=30)
        old = sys.getswitchinterval()
        sys.setswitchinterval(0.5)  # keep the IO thread from running between the lines below
        try:
            del z   # queues a release
            y = c.submit(inc, x)
            del x   # released after the graph that uses it, never before
        finally:
            sys.setswitchinterval(old)
        assert y.result(timeout=30) == 2002 + trial


def test_futures_inside_sets_and_objects_are_dependencies(c):
    a = c.submit(slow, 5, 0.5, pure=False)
    assert c.submit(total, {a}).result(timeout=30) == 5
    Box = collections.namedtuple("Box", "inner")
    b = c.submit(slow, 6, 0.3, pure=False)
    assert c.submit(lambda box: box.inner + 1, Box(b)).result(timeout=30) == 7


def test_a_large_literal_under_a_reused_key_is_sent_again(c):
    zeros, ones = np.zeros(300_000), np.ones(300_000)
    assert c.get({"x": zeros, "y": Task(np.sum, Ref("x"))}, ["y"]) == [0.0]
    assert c.get({"x": ones, "y": Task(np.sum, Ref("x"))}, ["y"]) == [300_000.0]


def test_pure_keys_follow_the_globals_a_function_reads(c):
    # a function of a script (module __main__) travels by value with the globals it reads
    ns = {"__name__": "__main__", "K": 1}
    exec("def add_k(x):\n    return x + K\n", ns)
    first = c.submit(ns["add_k"], 1)
    assert first.result(timeout=30) == 2
    ns["K"] = 10  # while the first result is still held
    assert c.submit(ns["add_k"], 1).result(timeout=30) == 11


def test_gather_structures_and_foreign_futures(c):
    P = collections.namedtuple("P", "x y")
    fs = [c.submit(inc, i) for i in range(3)]
    assert c.gather(P(fs[0], fs[1])) == P(1, 2)
    assert c.gather(f for f in fs) == [1, 2, 3]
    assert c.gather(5) == 5
    bad = c.submit(lambda: 1 / 0, pure=False)
    assert c.gather({"ok": fs[0], "bad": bad}, errors="skip") == {"ok": 1}
    with Client(c.scheduler_address, security=c.security, set_as_default=False) as other:
        with pytest.raises(ValueError, match="belongs to another Client"):
            other.gather(fs)


def test_dropping_futures_in_reference_cycles_never_deadlocks(c):
    keep = c.submit(inc, 0)
    keep.result(timeout=30)
    stop = threading.Event()

    class Node:
        pass

    def churn():  # futures freed by the cyclic garbage collector, at any allocation
        while not stop.is_set():
            n = Node()
            n.me = n
            n.f = Future(keep.key, c)

    bg = threading.Thread(target=churn, daemon=True)
    bg.start()
    done = []

    def work():
        for i in range(5):
            done.append(len(c.map(inc, range(i * 20000, (i + 1) * 20000))))

    th = threading.Thread(target=work, daemon=True)
    th.start()
    th.join(60)
    stop.set()
    bg.join(10)
    assert not th.is_alive(), "map() stuck: the reference lock deadlocked"
    assert done == [20000] * 5


def test_no_scheduler_at_the_address_says_so():
    import socket

    from shoal.distributed import Security

    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()  # nothing listens there now
    with pytest.raises(TimeoutError, match=f"no scheduler answered at tcp://127.0.0.1:{port} within 2"):
        Client(f"tcp://127.0.0.1:{port}", security=Security(token="t" * 32), timeout=2, set_as_default=False)


def _refuse_to_load():
    raise ValueError("this value cannot be rebuilt here")


class _LoadsBadly:
    def __reduce__(self):
        return (_refuse_to_load, ())


def _make_loads_badly():
    return _LoadsBadly()


def test_a_result_that_cannot_be_unpickled_raises_its_error_at_once(c):
    f = c.submit(_make_loads_badly, pure=False)
    t = time.monotonic()
    with pytest.raises(ValueError, match="cannot be rebuilt here"):
        f.result(timeout=60)
    assert time.monotonic() - t < 20  # the error itself, not a timeout after retries


def test_an_input_that_cannot_be_unpickled_on_another_worker_fails_its_dependent_clearly(c):
    a, b = sorted(c.scheduler_info()["workers"])
    x = c.submit(_make_loads_badly, workers=[a], pure=False)
    y = c.submit(lambda v: 1, x, workers=[b], pure=False)  # b must fetch x from a
    with pytest.raises(RuntimeError, match="could not unpickle .* cannot be rebuilt here"):
        y.result(timeout=60)
