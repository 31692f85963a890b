"""The peer-to-peer shuffle on a LocalCluster: workers exchange shards directly and spill them to
their own directories. Every row arrives exactly once: with every dtype, skewed keys and empty
partitions, for data larger than the workers' memory, and with a worker SIGKILLed while shards
are moving or while outputs are being read."""
from __future__ import annotations

import glob
import os
import signal
import time

import numpy as np
import pandas as pd
import pytest

import shoal
import shoal.dataframe as ddf
from shoal.dataframe.shuffle import shuffle
from shoal.distributed import Client, LocalCluster

from .test_shuffle_cluster import check_exactly_once, checksum, expected, frame

SUMMARY_META = pd.DataFrame({"rows": pd.Series([], dtype=int), "sum": pd.Series([], dtype=object),
                             "keys": pd.Series([], dtype=object), "dtypes": pd.Series([], dtype=object)})


def summary(p: pd.DataFrame, delay: float = 0.0) -> pd.DataFrame:
    time.sleep(delay)
    return pd.DataFrame({"rows": [len(p)], "sum": [str(checksum(p))], "keys": [sorted(set(p.key))],
                         "dtypes": [list(map(str, p.dtypes))]})


@pytest.fixture
def tmpbase(tmp_path):
    """A fresh directory for the workers' directories (and their shards)."""
    return str(tmp_path)


def shard_files(base: str) -> list:
    return glob.glob(os.path.join(base, "**", "shuffle-*", "in-*"), recursive=True)


def test_p2p_same_rows_in_the_same_order_as_the_task_shuffle(tmpbase):
    nparts, rows = 8, 2000
    with LocalCluster(n_workers=2, threads_per_worker=2, dashboard_address=None,
                      local_directory=tmpbase) as cluster, \
            Client(cluster, set_as_default=False) as c:
        s = shuffle(frame(nparts, rows, 0.0), "key", npartitions=12, method="p2p")
        names = {k[0] if isinstance(k, tuple) else k for k in s.dask}
        assert any(n.endswith("-barrier") for n in names)
        own = [k for k in s.dask if str(k[0] if isinstance(k, tuple) else k).startswith(s._name)]
        assert len(own) == nparts + 12 + 1  # O(n_in + n_out), not n_in * n_out
        check_exactly_once(c.compute(s.map_partitions(summary, meta=SUMMARY_META)).result(timeout=120),
                           expected(nparts, rows), 12)
        # each output partition is computed on the worker holding its shards, and equals
        # (rows and their order) what the in-memory task shuffle gives
        p = c.persist(s)
        shoal.distributed.wait(p, timeout=120)
        workers = sorted(c.scheduler_info()["workers"])
        who = c.who_has(p)
        for j in range(12):
            assert list(who[(p._name, j)]) == [workers[j % 2]]
        # the shards held are reported with the heartbeats, and shown by the dashboard
        from shoal.distributed.dashboard.snapshot import _norm_worker

        deadline = time.monotonic() + 10
        while True:
            info = c.scheduler_info()["workers"]
            shown = [_norm_worker(w, a)["shuffle"] for a, w in info.items()]
            if all("p2p shuffle" in x and "MiB of shards on disk" in x for x in shown):
                break
            assert time.monotonic() < deadline, f"shards not reported: {shown}"
            time.sleep(0.1)
        got = c.compute(p).result(timeout=60)
        ref = shuffle(frame(nparts, rows, 0.0), "key", npartitions=12, method="tasks").compute(scheduler="sync")
        pd.testing.assert_frame_equal(got, ref)
        del p
    assert shard_files(tmpbase) == []


def test_p2p_sort_set_index_merge_match_pandas():
    rng = np.random.default_rng(1)
    pdf = pd.DataFrame({"a": rng.integers(0, 50, 3000), "b": rng.random(3000),
                        "s": rng.choice(["x", "y", None], 3000)})
    other = pd.DataFrame({"a": np.arange(0, 60), "c": np.arange(60) * 2.5})
    with LocalCluster(n_workers=2, threads_per_worker=1, dashboard_address=None) as cluster, \
            Client(cluster):
        df = ddf.from_pandas(pdf, npartitions=5)
        right = ddf.from_pandas(other, npartitions=3)
        got = df.sort_values("b", shuffle_method="p2p").compute()
        pd.testing.assert_frame_equal(got, pdf.sort_values("b"))
        got = df.set_index("b", shuffle_method="p2p").compute()
        pd.testing.assert_frame_equal(got, pdf.set_index("b").sort_index())
        got = df.merge(right, on="a", how="outer", shuffle_method="p2p").compute()
        exp = pdf.merge(other, on="a", how="outer")
        key = ["a", "b", "c"]
        pd.testing.assert_frame_equal(got.sort_values(key).reset_index(drop=True),
                                      exp.sort_values(key).reset_index(drop=True), check_dtype=False)
        with shoal.config.set({"dataframe.shuffle.method": "p2p"}):
            got = df.groupby("a").b.sum(split_out=3).compute()
        pd.testing.assert_series_equal(got.sort_index(), pdf.groupby("a").b.sum())


def test_p2p_needs_a_cluster():
    df = ddf.from_pandas(pd.DataFrame({"a": range(10)}), npartitions=2)
    with pytest.raises(RuntimeError, match="distributed cluster"):
        shuffle(df, "a", method="p2p").compute(scheduler="sync")


def big_part(i: int, rows: int) -> pd.DataFrame:
    rng = np.random.default_rng(100 + i)
    return pd.DataFrame({"key": rng.integers(0, 1000, rows), "v": rng.random(rows),
                         "w": rng.random(rows), "z": rng.integers(0, 2**40, rows)})


def test_p2p_shuffle_larger_than_the_workers_memory(tmpbase):
    # 48 partitions of ~16 MB (~770 MB) through 2 workers limited to 500 MB each
    nparts, rows = 48, 500_000
    parts = [shoal.delayed(big_part, pure=True)(i, rows) for i in range(nparts)]
    df = ddf.from_delayed(parts, meta=big_part(0, 0))
    exp_sum = sum(checksum(big_part(i, rows)) for i in range(nparts)) % 2**64
    with LocalCluster(n_workers=2, threads_per_worker=1, dashboard_address=None, memory_limit="500MB",
                      local_directory=tmpbase) as cluster, \
            Client(cluster, set_as_default=False) as c:
        pids = set(cluster.worker_pids())
        s = shuffle(df, "key", npartitions=48, method="p2p")
        out = c.compute(s.map_partitions(lambda p: pd.DataFrame({"rows": [len(p)], "sum": [str(checksum(p))],
                                                                 "kmin": [p.key.min()], "kmax": [p.key.max()]}),
                                         meta={"rows": int, "sum": object, "kmin": int, "kmax": int}))
        res = out.result(timeout=600)
        assert set(cluster.worker_pids()) == pids  # no worker was killed or restarted
        assert shard_files(tmpbase)  # kept while its result is held (a lost output is rebuilt from them)
        del out
        deadline = time.monotonic() + 30  # the shuffle is forgotten: its shards are deleted
        while shard_files(tmpbase):
            assert time.monotonic() < deadline, "shards of a finished shuffle were kept"
            time.sleep(0.2)
    assert int(res["rows"].sum()) == nparts * rows
    assert sum(int(x) for x in res["sum"]) % 2**64 == exp_sum
    assert shard_files(tmpbase) == []


def test_worker_sigkilled_while_shards_move(tmpbase):
    nparts, rows = 16, 2000
    exp = expected(nparts, rows)
    with LocalCluster(n_workers=2, threads_per_worker=1, dashboard_address=None,
                      local_directory=tmpbase) as cluster, \
            Client(cluster, set_as_default=False) as c:
        s = shuffle(frame(nparts, rows, 0.15), "key", npartitions=6, method="p2p")
        fut = c.compute(s.map_partitions(summary, meta=SUMMARY_META))
        deadline = time.monotonic() + 60
        while len(shard_files(tmpbase)) < 4:  # transfers under way
            assert time.monotonic() < deadline, "no shard arrived"
            time.sleep(0.01)
        assert not fut.done()
        victim = cluster.worker_pids()[0]
        os.kill(victim, signal.SIGKILL)
        out = fut.result(timeout=180)
        assert victim not in cluster.worker_pids()
        check_exactly_once(out, exp, 6)


def test_worker_sigkilled_while_outputs_are_read(tmpbase):
    nparts, rows = 8, 2000
    exp = expected(nparts, rows)
    with LocalCluster(n_workers=2, threads_per_worker=1, dashboard_address=None,
                      local_directory=tmpbase) as cluster, \
            Client(cluster, set_as_default=False) as c:
        s = shuffle(frame(nparts, rows, 0.0), "key", npartitions=8, method="p2p")
        mp = s.map_partitions(summary, 0.4, meta=SUMMARY_META)
        fut = c.compute(mp)
        deadline = time.monotonic() + 60
        while not any(mp._name in str(k) for keys in c.has_what().values() for k in keys):
            assert time.monotonic() < deadline, "no output was read"
            time.sleep(0.01)
        assert not fut.done()
        victim = cluster.worker_pids()[1]
        os.kill(victim, signal.SIGKILL)
        out = fut.result(timeout=180)
        check_exactly_once(out, exp, 8)
