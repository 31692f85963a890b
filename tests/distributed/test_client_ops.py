"""Client cluster operations on real worker processes: datasets, where data lives,
plugins, uploads, versions, logs, retiring and restarting workers."""
from __future__ import annotations

import pytest

import shoal.distributed as dist
from shoal.distributed import Client, LocalCluster, get_client, get_worker, rejoin, secede

pytestmark = pytest.mark.timeout(90)


@pytest.fixture
def c(distributed_client):
    return distributed_client


def inc(x):
    return x + 1


def test_published_dataset_seen_by_another_client(c):
    f = c.submit(inc, 1, pure=False)
    c.publish_dataset(f, name="one")
    c.datasets["two"] = [1, 2]
    with pytest.raises(KeyError, match="already published"):
        c.publish_dataset(3, name="one")
    del f  # the published Future keeps the value alive
    other = Client(c.scheduler_address, security=c.security, set_as_default=False)
    try:
        assert set(other.list_datasets()) >= {"one", "two"}
        assert other.get_dataset("one").result(timeout=10) == 2
        assert other.datasets["two"] == [1, 2]
        assert other.get_dataset("nope", default=None) is None
        with pytest.raises(KeyError, match="no dataset named 'nope'"):
            other.get_dataset("nope")
    finally:
        other.close()
    c.unpublish_dataset("one")
    del c.datasets["two"]
    assert "one" not in c.datasets and "two" not in c.list_datasets()


def test_who_has_has_what_replicate_nthreads(c):
    f = c.submit(inc, 5, pure=False)
    f.result()
    (holders,) = c.who_has([f]).values()
    assert len(holders) == 1
    assert f.key in c.has_what()[holders[0]]
    c.replicate([f])
    assert sorted(c.who_has([f])[f.key]) == sorted(c.nthreads())
    assert c.ncores() == c.nthreads() and set(c.nthreads().values()) == {1}


def _block(i):
    import numpy as np

    return np.full(250_000, i, dtype="f8")  # 2 MB


def test_rebalance_moves_values_from_a_full_worker_and_keeps_one_copy_each(c):
    a, b = sorted(c.nthreads())
    futures = [c.submit(_block, i, workers=[a], pure=False) for i in range(8)]
    c.gather(futures)
    assert len(c.has_what()[a]) >= 8 and not set(c.has_what()[b]) & {f.key for f in futures}
    moved = c.rebalance(futures)
    assert moved >= 3
    held = c.has_what()
    mine = {f.key for f in futures}
    assert 3 <= len(mine & set(held[a])) <= 5 and 3 <= len(mine & set(held[b])) <= 5
    assert all(len(v) == 1 for v in c.who_has(futures).values())  # moved, not copied
    assert [float(x[0]) for x in c.gather(futures)] == [float(i) for i in range(8)]
    assert c.rebalance(futures) == 0  # already even


def test_run_on_scheduler_versions_task_stream_logs(c):
    assert c.run_on_scheduler(lambda dask_scheduler: dask_scheduler.address) == c.scheduler_address
    v = c.get_versions(check=True)
    assert set(v["workers"]) == set(c.nthreads()) and v["client"]["packages"]["shoal"]
    c.submit(inc, 100, pure=False).result()
    stream = c.get_task_stream()
    assert stream and {"key", "worker", "status"} <= set(stream[-1])
    with dist.get_task_stream(c) as ts:
        c.gather(c.map(inc, range(200, 205), pure=False))
    assert len(ts.data) == 5 and {d["status"] for d in ts.data} == {"memory"}
    logs = c.get_worker_logs()
    assert set(logs) == set(c.nthreads()) and all(isinstance(x, list) for x in logs.values())


class Flag:
    name = "flag-plugin"

    def setup(self, worker):
        worker.flag = 7
        return "ready"

    def teardown(self, worker):
        worker.flag = None


def test_worker_plugin_setup_and_teardown(c):
    assert set(c.register_plugin(Flag()).values()) == {"ready"}
    assert set(c.run(lambda dask_worker: dask_worker.flag).values()) == {7}
    c.unregister_worker_plugin("flag-plugin")
    assert set(c.run(lambda dask_worker: dask_worker.flag).values()) == {None}


def test_upload_file_is_importable_by_tasks(c, tmp_path):
    mod = tmp_path / "shoal_uploaded_mod.py"
    mod.write_text("def answer():\n    return 42\n")
    c.upload_file(str(mod))

    def use():
        import shoal_uploaded_mod

        return shoal_uploaded_mod.answer()

    assert c.submit(use, pure=False).result(timeout=10) == 42
    c.unregister_worker_plugin("upload-file-shoal_uploaded_mod.py")


def _fan_out(n):
    client = get_client()
    futs = client.map(inc, range(n), pure=False)
    secede()  # give this thread back while waiting on tasks that need it
    total = sum(client.gather(futs))
    rejoin()
    return total, get_worker().address is not None


def test_secede_rejoin_in_tasks_on_single_thread_workers(c):
    # every worker has one thread: without secede, the fan-outs would wait forever
    assert c.gather(c.map(_fan_out, [3, 4], pure=False)) == [(6, True), (10, True)]


def test_names_and_dir():
    for name in ("Lock", "Semaphore", "Queue", "Variable", "Event", "MultiLock", "Pub", "Sub",
                 "get_worker", "get_client", "secede", "rejoin", "worker_client", "SSHCluster",
                 "progress", "performance_report"):
        assert name in dir(dist) and getattr(dist, name) is not None


def test_retire_keeps_results_and_restart_workers():
    with LocalCluster(n_workers=2, threads_per_worker=1, dashboard_address=None) as cluster, \
            Client(cluster, set_as_default=False) as client:
        client.wait_for_workers(2, timeout=30)
        futs = client.map(inc, range(6), pure=False)
        client.gather(futs)
        victim = next(a for a, keys in client.has_what().items() if keys)
        assert client.retire_workers([victim]) == [victim]
        assert victim not in client.nthreads()
        assert victim not in {a for hs in client.who_has(futs).values() for a in hs}
        assert client.gather(futs) == list(range(1, 7))
        (left,) = client.nthreads()
        with pytest.raises(TimeoutError, match="3 workers"):
            client.wait_for_workers(3, timeout=0.3)
        now = client.restart_workers([left], timeout=60)
        assert len(now) == len(client.nthreads()) >= 1 and left not in now
