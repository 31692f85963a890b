"""The Client API against a real LocalCluster (worker processes on loopback).

Most tests share the session-wide ``distributed_client`` (2 workers x 1
thread) so the suite stays fast on two cores.
"""
from __future__ import annotations

import operator
import random
import time

import numpy as np
import pytest

import shoal
from shoal import delayed
from shoal.distributed import (
    CancelledError, Client, Future, as_completed, fire_and_forget, get_client, wait, worker_client,
)


def inc(x):
    return x + 1


def add(a, b):
    return a + b


def boom(x):
    raise ValueError(f"boom {x}")


def slowinc(x, delay=0.05):
    time.sleep(delay)
    return x + 1


@pytest.fixture
def c(distributed_client):
    return distributed_client


def test_submit_result_and_future_api(c):
    f = c.submit(inc, 1)
    assert isinstance(f, Future)
    assert f.result(timeout=30) == 2
    assert f.done() and f.status == "finished" and f.exception() is None
    g = c.submit(add, f, 10)  # futures as arguments stand for their values
    assert g.result(timeout=30) == 12
    h = c.submit(sum, [f, g, 100])
    assert h.result(timeout=30) == 114
    assert c.submit(add, 1, b=f).result(timeout=30) == 3


def test_errors_carry_remote_traceback(c):
    f = c.submit(boom, 3)
    with pytest.raises(ValueError, match="boom 3"):
        f.result(timeout=30)
    assert f.status == "error"
    assert isinstance(f.exception(), ValueError)
    assert "boom" in f.traceback() and "Traceback" in f.traceback()
    dep = c.submit(inc, f)
    with pytest.raises(ValueError, match="boom 3"):
        dep.result(timeout=30)


def test_map_several_iterables_kwargs_and_batches(c):
    xs, ys = list(range(100)), list(range(100, 200))
    fs = c.map(add, xs, ys, batch_size=7)
    assert c.gather(fs) == [x + y for x, y in zip(xs, ys)]
    fs = c.map(slowinc, range(5), delay=0.0)
    assert c.gather(fs) == list(range(1, 6))
    fs = c.map(inc, range(3), key=["k-a", "k-b", "k-c"])
    assert [f.key for f in fs] == ["k-a", "k-b", "k-c"] and c.gather(fs) == [1, 2, 3]


def test_pure_calls_share_results_impure_do_not(c):
    a = c.submit(random.random, pure=True)
    b = c.submit(random.random, pure=True)
    assert a.key == b.key and a.result(timeout=30) == b.result(timeout=30)
    u = c.submit(random.random)  # recognised as random: not cached
    v = c.submit(random.random)
    assert u.key != v.key and u.result(timeout=30) != v.result(timeout=30)
    m1 = c.map(inc, [1, 2], pure=True)
    m2 = c.map(inc, [1, 2], pure=True)
    assert [f.key for f in m1] == [f.key for f in m2]


def test_gather_structures_and_errors_skip(c):
    fs = {"a": c.submit(inc, 1), "b": [c.submit(inc, 2), 5]}
    assert c.gather(fs) == {"a": 2, "b": [3, 5]}
    fs = [c.submit(inc, 1), c.submit(boom, 1), c.submit(inc, 3)]
    assert c.gather(fs, errors="skip") == [2, 4]


def test_scatter_and_broadcast(c):
    arr = np.arange(1000.0)
    [fut] = c.scatter([arr])
    assert c.submit(np.sum, fut).result(timeout=30) == arr.sum()
    d = c.scatter({"x": 1, "y": 2})
    assert c.submit(add, d["x"], d["y"]).result(timeout=30) == 3
    b = c.scatter(arr, broadcast=True)
    info = c.scheduler_info()
    holders = sum(1 for w in info["workers"].values() if w["n_keys"] > 0)
    assert holders == 2
    assert c.submit(np.mean, b).result(timeout=30) == arr.mean()


def test_compute_persist_and_default_scheduler(c):
    xs = [delayed(inc)(i) for i in range(10)]
    total = delayed(sum)(xs)
    f = c.compute(total)
    assert isinstance(f, Future) and f.result(timeout=30) == 55
    assert c.compute([total, xs[0]], sync=True) == [55, 1]
    p = c.persist(total)
    assert p.compute(scheduler=c) == 55
    assert shoal.compute(total, scheduler="distributed") == (55,)


def test_client_is_default_while_open(distributed_client):
    xs = delayed(inc)(1)
    with Client(distributed_client.cluster) as c2:
        assert shoal.base.get_default_client() is c2
        assert xs.compute() == 2
        # an explicit local scheduler still wins
        assert xs.compute(scheduler="sync") == 2
        with shoal.config.set(scheduler="threads"):
            assert shoal.base.get_scheduler() is not c2.get
    assert shoal.base.get_default_client() is None


def test_wait_as_completed_cancel(c):
    fs = c.map(slowinc, range(6), delay=0.02)
    done, not_done = wait(fs, timeout=30)
    assert len(done) == 6 and not not_done
    fs = c.map(slowinc, range(6), delay=0.01)
    seen = [f.result() for f in as_completed(fs)]
    assert sorted(seen) == list(range(1, 7))
    pairs = list(as_completed(c.map(inc, range(4)), with_results=True))
    assert sorted(r for _, r in pairs) == [1, 2, 3, 4]
    f = c.submit(slowinc, 1, delay=2)
    f.cancel()
    assert f.cancelled()
    with pytest.raises(CancelledError):
        f.result(timeout=5)


def test_fire_and_forget_still_runs(c, tmp_path):
    path = tmp_path / "ran"

    def touch(p):
        open(p, "w").close()

    fire_and_forget(c.submit(touch, str(path)))
    deadline = time.time() + 30
    while not path.exists() and time.time() < deadline:
        time.sleep(0.02)
    assert path.exists()


def test_retries_rerun_failing_tasks(c, tmp_path):
    counter = tmp_path / "n"
    counter.write_text("0")

    def flaky(p):
        n = int(open(p).read()) + 1
        open(p, "w").write(str(n))
        if n < 3:
            raise OSError("transient")
        return n

    assert c.submit(flaky, str(counter), retries=3).result(timeout=30) == 3
    counter.write_text("0")
    with pytest.raises(OSError):
        c.submit(flaky, str(counter), retries=1).result(timeout=30)


def test_priority_runs_urgent_first(c):
    # one long task occupies each thread; then urgent work must overtake queued work
    blockers = [c.submit(slowinc, i, delay=0.3) for i in range(2)]
    low = c.map(slowinc, range(20), delay=0.01, priority=-10)
    high = c.submit(inc, 0, priority=10)
    high.result(timeout=30)
    n_low_done = sum(f.done() for f in low)
    assert n_low_done < len(low)
    c.gather(low + blockers)


def test_tasks_can_submit_tasks(c):
    def fib(n):
        if n < 2:
            return n
        with worker_client() as wc:
            a, b = wc.submit(fib, n - 1), wc.submit(fib, n - 2)
            return a.result() + b.result()

    assert c.submit(fib, 5).result(timeout=60) == 5

    def via_get_client(x):
        return get_client().submit(inc, x).result()

    assert c.submit(via_get_client, 1).result(timeout=60) == 2


def test_run_on_every_worker_and_task_context(c):
    import os

    pids = c.run(os.getpid)
    assert len(pids) == 2 and len(set(pids.values())) == 2

    def key_of_task():
        from shoal.core.context import current_task_key

        return current_task_key()

    f = c.submit(key_of_task, key="my-key")
    assert f.result(timeout=30) == "my-key"
    # the legacy numpy RNG is seeded differently in each worker process
    draws = c.run(lambda: __import__("numpy").random.random())
    assert len(set(draws.values())) == 2


def test_resources_restrict_placement():
    with Client(n_workers=1, threads_per_worker=2, dashboard_address=None, processes=False,
                resources={"GPU": 1}, set_as_default=False) as c:
        fs = [c.submit(slowinc, i, delay=0.1, resources={"GPU": 1}) for i in range(4)]
        t = time.time()
        assert c.gather(fs) == [1, 2, 3, 4]
        assert time.time() - t > 0.35  # GPU=1: one at a time despite two threads
        f = c.submit(inc, 1, resources={"TPU": 1})
        with pytest.raises(TimeoutError):
            f.result(timeout=0.5)  # no worker has it: waits, never runs elsewhere


def test_large_numpy_results_round_trip(c):
    x = delayed(np.arange)(2_000_000)
    parts = [delayed(operator.getitem)(x, slice(i, None, 4)) for i in range(4)]
    out = shoal.compute(*[delayed(np.sum)(p) for p in parts], scheduler="distributed")
    assert sum(out) == np.arange(2_000_000).sum()
    arr = c.submit(np.ones, 1_000_000).result(timeout=30)
    assert arr.shape == (1_000_000,) and arr.sum() == 1_000_000
    arr[0] = 5  # results are writable, not views of a read-only buffer


def test_restart_cancels_futures_and_gives_fresh_workers():
    with Client(n_workers=1, threads_per_worker=1, dashboard_address=None, set_as_default=False) as c:
        import os

        before = set(c.run(os.getpid).values())
        f = c.submit(inc, 1)
        f.result(timeout=30)
        c.restart()
        assert f.status == "cancelled"
        after = set(c.run(os.getpid).values())
        assert before.isdisjoint(after)
        assert c.submit(inc, 2).result(timeout=30) == 3
        link = c.dashboard_link
        assert link is None or link.startswith("http")
    # closing the Client closed the LocalCluster it started
    assert c.cluster._closed


def test_memory_limit_spills_to_disk(tmp_path):
    with LocalClusterFactory(memory_limit="400MB", local_directory=str(tmp_path)) as c:
        # 10 x 40 MB results held by futures: past 60% of 400 MB they must spill
        fs = [c.submit(np.full, 5_000_000, i, dtype="f8") for i in range(10)]
        wait(fs, timeout=60)
        deadline = time.time() + 10
        while time.time() < deadline:
            metrics = [w["metrics"] for w in c.scheduler_info()["workers"].values()]
            if metrics and metrics[0].get("spilled", 0) > 0:
                break
            time.sleep(0.2)
        assert metrics[0]["spilled"] > 0
        assert [float(a[0]) for a in c.gather(fs)] == [float(i) for i in range(10)]


class LocalClusterFactory:
    def __init__(self, **kw):
        self.kw = kw

    def __enter__(self):
        from shoal.distributed import LocalCluster

        self.cluster = LocalCluster(n_workers=1, threads_per_worker=1, dashboard_address=None, **self.kw)
        self.client = Client(self.cluster, set_as_default=False)
        return self.client

    def __exit__(self, *exc):
        self.client.close()
        self.cluster.close()


def test_large_literal_sent_once_while_its_object_lives(c):
    import gc

    x = np.random.random(500_000)  # 4 MB: goes straight to a worker, not via the scheduler
    xd = delayed(x)
    key = xd.key
    # two tasks read it (a single reader would be fused with it into one task)
    assert shoal.compute(delayed(np.sum)(xd), delayed(np.min)(xd), scheduler="distributed") == (x.sum(), x.min())
    tasks = c.cluster.scheduler.state.tasks
    assert key in tasks and key in c.graphs.literals
    first = c.graphs.literals[key]
    assert shoal.compute(delayed(np.max)(xd), delayed(len)(xd), scheduler="distributed") == (x.max(), len(x))
    assert c.graphs.literals[key] is first  # reused, not uploaded again
    del x, xd, first
    gc.collect()
    deadline = time.time() + 10
    while key in tasks and time.time() < deadline:
        time.sleep(0.05)
    assert key not in tasks  # freed on the cluster once the caller dropped the array


def test_workers_restriction(c):
    addrs = sorted(c.nthreads())
    fs = c.map(lambda i: __import__("os").getpid(), range(6), workers=[addrs[1]])
    pids = set(c.gather(fs))
    assert pids == {c.run(__import__("os").getpid)[addrs[1]]}


def _slow_where(x, i, delay=0.15):
    import os

    time.sleep(delay)
    return (os.getpid(), x + i)


def test_work_piled_behind_data_is_stolen_by_the_idle_worker(c):
    """All 16 tasks need data held by one worker, so they are first placed
    there; the other worker steals the not-yet-started ones."""
    import os

    pids = set(c.run(os.getpid).values())
    assert len(pids) == 2
    addr = sorted(c.scheduler_info()["workers"])[0]
    [x] = c.scatter([1000], workers=[addr])
    fs = [c.submit(_slow_where, x, i, pure=False) for i in range(16)]
    out = c.gather(fs)
    assert [v for _, v in out] == [1000 + i for i in range(16)]
    ran = {p: sum(1 for q, _ in out if q == p) for p in pids}
    assert min(ran.values()) >= 4, ran  # without stealing the second worker runs one or two


def _connections_to(port):
    """Open worker-to-peer connections of this worker process to ``port``."""
    import gc

    from shoal.distributed.comm.tcp import Comm

    return sum(1 for o in gc.get_objects() if isinstance(o, Comm) and o.name == "worker->peer"
               and not o.closed and o.peer.endswith(f":{port}"))


def _drop_peer(address):
    from shoal.distributed.worker.server import get_worker

    comm = get_worker()._peer_comms.pop(address, None)
    if comm is not None:
        comm.abort()


def test_a_worker_opens_one_connection_per_peer_however_many_fetches_at_once(c):
    a, b = sorted(c.scheduler_info()["workers"])
    port = int(a.rsplit(":", 1)[1])
    c.run(_drop_peer, a, workers=[b])  # start without a connection (earlier tests may have one)
    time.sleep(0.2)
    assert c.run(_connections_to, port, workers=[b])[b] == 0
    xs = [c.submit(inc, i, workers=[a], pure=False) for i in range(20)]
    wait(xs, timeout=30)
    ys = c.map(inc, xs, workers=[b], pure=False)  # 20 fetches from a, started together
    assert c.gather(ys) == [i + 2 for i in range(20)]
    assert c.run(_connections_to, port, workers=[b])[b] == 1
