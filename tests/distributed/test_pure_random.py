"""Client.map/submit keys: pure calls are cached, random functions are not."""
from __future__ import annotations

import warnings

import numpy as np
import pytest

from shoal.random import task_rng


def inc(x):
    return x + 1


def draw(i):
    return float(np.random.normal())


def draw_via_helper(i):
    return helper_draw()


def helper_draw():
    return float(task_rng().random())


@pytest.fixture
def client(distributed_client):
    return distributed_client


def test_identical_pure_calls_share_one_result(client):
    a = client.map(inc, range(5))
    b = client.map(inc, range(5))
    assert [f.key for f in a] == [f.key for f in b]
    assert client.gather(b) == [1, 2, 3, 4, 5]
    assert client.submit(inc, 1).key == client.submit(inc, 1).key


def test_random_functions_are_not_cached_and_warn_once(client):
    import shoal.distributed.client as cm

    cm._warned_random.discard("draw")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        first = client.map(draw, [0, 0, 0])
        second = client.map(draw, [0, 0, 0])
    told = [w for w in caught if "pure=False" in str(w.message)]
    assert len(told) == 1
    keys = {f.key for f in first + second}
    assert len(keys) == 6
    values = client.gather(first + second)
    assert len(set(values)) == 6


def test_random_draws_through_a_helper_are_recognised(client):
    a = client.gather(client.map(draw_via_helper, [1, 1]))
    b = client.gather(client.map(draw_via_helper, [1, 1]))
    assert len(set(a + b)) == 4


def test_explicit_pure_wins(client):
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no warning when the caller has said
        x = client.submit(draw, 0, pure=True)
        y = client.submit(draw, 0, pure=True)
        assert x.key == y.key
        z = client.submit(inc, 1, pure=False)
        w = client.submit(inc, 1, pure=False)
        assert z.key != w.key
        assert z.result() == w.result() == 2


def test_a_new_client_beats_an_earlier_config_and_a_later_config_beats_it():
    import os

    import shoal
    from shoal.distributed import Client, LocalCluster

    def where(_):
        return os.getpid()

    with shoal.config.set(scheduler="sync"):
        with LocalCluster(n_workers=1, dashboard_address=None) as cluster, Client(cluster) as c:
            worker_pids = set(c.run(os.getpid).values())
            assert shoal.delayed(where)(1).compute() in worker_pids  # the Client, not sync
            with shoal.config.set(scheduler="sync"):
                assert shoal.delayed(where)(2).compute() == os.getpid()
        assert shoal.config.get("scheduler") == "sync"  # restored on close
        assert shoal.delayed(where)(3).compute() == os.getpid()
