"""Faults with real processes: SIGKILL and SIGSTOP workers mid-graph; tasks that kill workers."""
from __future__ import annotations

import os
import signal
import time

import pytest

import shoal
from shoal import delayed
from shoal.distributed import Client, KilledWorker, LocalCluster


def leaf(i):
    time.sleep(0.01)
    return i * i


def add(a, b):
    return a + b


def tree(n):
    layer = [delayed(leaf)(i) for i in range(n)]
    while len(layer) > 1:
        nxt = [delayed(add)(layer[i], layer[i + 1]) for i in range(0, len(layer) - 1, 2)]
        if len(layer) % 2:
            nxt.append(layer[-1])
        layer = nxt
    return layer[0]


def _wait_workers(cluster, n, timeout=30):
    deadline = time.time() + timeout
    while len(cluster.scheduler.state.workers) != n:
        assert time.time() < deadline, f"expected {n} workers, have {len(cluster.scheduler.state.workers)}"
        time.sleep(0.05)


def test_sigkill_worker_mid_graph_costs_time_not_results():
    n = 300
    expected = sum(i * i for i in range(n))
    with LocalCluster(n_workers=2, threads_per_worker=1, dashboard_address=None) as cluster, \
            Client(cluster, set_as_default=False) as c:
        for delay in (0.3, 1.0):
            fut = c.compute(tree(n))
            time.sleep(delay)
            victim = cluster.worker_pids()[0]
            os.kill(victim, signal.SIGKILL)
            assert fut.result(timeout=120) == expected
            _wait_workers(cluster, 2)  # the nanny restarted it
            assert victim not in cluster.worker_pids()


def test_sigstop_worker_is_detected_and_work_recovers():
    n = 200
    expected = sum(i * i for i in range(n))
    with LocalCluster(n_workers=2, threads_per_worker=1, dashboard_address=None, worker_ttl=2.0) as cluster, \
            Client(cluster, set_as_default=False) as c:
        fut = c.compute(tree(n))
        time.sleep(0.3)
        victim = cluster.worker_pids()[1]
        os.kill(victim, signal.SIGSTOP)
        try:
            t = time.time()
            _wait_workers(cluster, 1, timeout=10)
            detected = time.time() - t
            assert detected < 5.0  # within the configured 2 s timeout plus a check interval
            assert fut.result(timeout=120) == expected
        finally:
            os.kill(victim, signal.SIGCONT)
        # once thawed it reconnects with a clean slate and gets work again
        _wait_workers(cluster, 2, timeout=30)
        assert c.compute(tree(50)).result(timeout=60) == sum(i * i for i in range(50))


def crash(x):
    os.kill(os.getpid(), signal.SIGKILL)


def test_task_that_kills_workers_errs_naming_it():
    with shoal.config.set({"distributed.scheduler.allowed-failures": 2}):
        cluster = LocalCluster(n_workers=1, threads_per_worker=1, dashboard_address=None)
    with cluster, Client(cluster, set_as_default=False) as c:
        f = c.submit(crash, 1, key="crasher-1")
        with pytest.raises(KilledWorker, match="crasher-1"):
            f.result(timeout=120)
        _wait_workers(cluster, 1)
        assert c.submit(add, 1, 2).result(timeout=30) == 3  # the cluster is still usable


def hog(mb):
    import numpy as np

    block = np.ones(mb * 131072)  # mb MiB, touched
    time.sleep(30)
    return block.sum()


def test_nanny_restarts_worker_past_its_memory_limit():
    with shoal.config.set({"distributed.scheduler.allowed-failures": 1}):
        cluster = LocalCluster(n_workers=1, threads_per_worker=1, dashboard_address=None,
                               memory_limit="300MB")
    with cluster, Client(cluster, set_as_default=False) as c:
        pid = cluster.worker_pids()[0]
        f = c.submit(hog, 400, key="hog-1")
        with pytest.raises(KilledWorker, match="hog-1"):
            f.result(timeout=60)
        _wait_workers(cluster, 1)
        assert cluster.worker_pids()[0] != pid
        assert c.submit(add, 2, 3).result(timeout=30) == 5


_BALLAST: list = []


def fill_to(fraction):
    """Hold memory outside the worker's data store until RSS is ``fraction`` of its limit."""
    import numpy as np
    import psutil

    from shoal.distributed.worker.server import get_worker

    limit = get_worker().memory_limit
    need = int(fraction * limit) - psutil.Process().memory_info().rss
    if need > 0:
        _BALLAST.append(np.ones(need // 8))  # touched, so resident
    return psutil.Process().memory_info().rss / limit


def drop_ballast():
    _BALLAST.clear()
    return True


def test_worker_pauses_past_the_pause_fraction_and_resumes_below_it():
    cluster = LocalCluster(n_workers=1, threads_per_worker=1, dashboard_address=None,
                           memory_limit="600MB")
    with cluster, Client(cluster, set_as_default=False) as c:
        pid = cluster.worker_pids()[0]
        # 87%: past pause (80%), below terminate (95%); not managed data, so spilling cannot help
        frac = c.submit(fill_to, 0.87, pure=False).result(timeout=30)
        assert 0.8 < frac < 0.95

        def status():
            return next(iter(c.scheduler_info()["workers"].values()))["status"]

        deadline = time.time() + 20
        while status() != "paused":
            assert time.time() < deadline, "worker never reported itself paused"
            time.sleep(0.1)
        f = c.submit(add, 1, 2)
        time.sleep(1.0)
        assert not f.done()  # a paused worker starts nothing
        c.run(drop_ballast)
        assert f.result(timeout=30) == 3  # memory back under the threshold: it resumes
        assert status() == "running"
        assert cluster.worker_pids()[0] == pid  # paused, not restarted


def test_worker_directories_are_removed_even_after_a_sigkill(tmp_path):
    cluster = LocalCluster(n_workers=1, threads_per_worker=1, dashboard_address=None,
                           local_directory=str(tmp_path))
    with cluster, Client(cluster, set_as_default=False) as c:
        assert c.submit(add, 1, 2).result(timeout=30) == 3
        assert len(os.listdir(tmp_path)) == 1  # one directory for the one worker
        pid = cluster.worker_pids()[0]
        os.kill(pid, signal.SIGKILL)
        deadline = time.time() + 60
        while True:  # the nanny starts a new one, in a new directory
            pids = cluster.worker_pids()
            if pids and pids[0] not in (None, pid):
                break
            assert time.time() < deadline, "the killed worker was not replaced"
            time.sleep(0.05)
        assert c.submit(add, 2, 3, pure=False).result(timeout=30) == 5
        assert len(os.listdir(tmp_path)) == 1  # the killed worker's directory is gone
    assert os.listdir(tmp_path) == []
