"""Actors: one instance on one worker process, methods called remotely."""
from __future__ import annotations

import pytest

from shoal.distributed.actors import Actor, ActorFuture

pytestmark = pytest.mark.timeout(60)


class Counter:
    def __init__(self, start=0):
        self.n = start

    def increment(self, by=1):
        self.n += by
        return self.n

    def where(self):
        from shoal.distributed import get_worker

        return get_worker().address

    def fail(self):
        raise ValueError("actor method failed")


def bump(counter, by):
    return counter.increment(by).result(timeout=10)


@pytest.fixture
def c(distributed_client):
    return distributed_client


def test_actor_methods_run_on_its_one_worker(c):
    fut = c.submit(Counter, 5, actor=True)
    counter = fut.result(timeout=10)
    assert isinstance(counter, Actor)
    first = counter.increment()
    assert isinstance(first, ActorFuture) and first.result(timeout=10) == 6
    assert counter.n == 6  # attribute read on the worker
    homes = {counter.where().result(timeout=10) for _ in range(3)}
    assert len(homes) == 1 and homes <= set(c.nthreads())
    # a task (on any worker) calls the same instance
    assert c.submit(bump, counter, 10, pure=False).result(timeout=10) == 16
    counter.n = 100
    assert counter.increment().result(timeout=10) == 101
    with pytest.raises(ValueError, match="actor method failed"):
        counter.fail().result(timeout=10)


def test_actor_is_gone_when_its_future_is(c):
    fut = c.submit(Counter, actor=True)
    counter = fut.result(timeout=10)
    assert counter.increment().result(timeout=10) == 1
    del fut
    import time

    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            counter.increment().result(timeout=10)
        except ValueError as e:
            assert "released" in str(e)
            return
        time.sleep(0.05)
    pytest.fail("the actor outlived its future")
