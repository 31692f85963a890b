"""The disk shuffle on a LocalCluster (workers share this machine's disk): every row exactly once,
also when a worker is SIGKILLed mid-shuffle; memory warnings name the shuffle step."""
from __future__ import annotations

import glob
import logging
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


def checksum(df: pd.DataFrame) -> int:
    """Order-independent fingerprint of the rows and their index."""
    return int(pd.util.hash_pandas_object(df, index=True).to_numpy().sum(dtype=np.uint64))


def make_part(i: int, rows: int, delay: float) -> pd.DataFrame:
    """Input partition ``i``: every dtype, a key where 7 holds half the rows; partition 3 is empty."""
    time.sleep(delay)
    rng = np.random.default_rng(i)
    n = 0 if i == 3 else rows
    f = rng.random(n)
    f[rng.random(n) < 0.1] = np.nan
    ni = pd.array(rng.integers(0, 100, n), dtype="Int64")
    ni[rng.random(n) < 0.1] = pd.NA
    return pd.DataFrame({
        "key": np.where(rng.random(n) < 0.5, 7, rng.integers(0, 5, n)),
        "nint": ni,
        "f": f,
        "s": pd.Series([f"w{x}" for x in rng.integers(0, 500, n)], dtype="string"),
        "cat": pd.Categorical(rng.choice(["lo", "mid", "hi"], n), categories=["lo", "mid", "hi"]),
        "t": pd.date_range("2021-01-01", periods=n, freq="min") + pd.Timedelta(days=i),
    }, index=pd.RangeIndex(i * rows, i * rows + n, name="idx"))


def frame(nparts: int, rows: int, delay: float):
    meta = make_part(0, 0, 0.0)
    parts = [shoal.delayed(make_part, pure=True)(i, rows, delay) for i in range(nparts)]
    return ddf.from_delayed(parts, meta=meta)


def expected(nparts: int, rows: int) -> pd.DataFrame:
    return pd.concat([make_part(i, rows, 0.0) for i in range(nparts)])


def per_partition(client, s) -> list:
    """(rows, checksum, keys) of each output partition, computed on the cluster."""
    def summary(p):
        return pd.DataFrame({"rows": [len(p)], "sum": [str(checksum(p))], "keys": [sorted(set(p.key))],
                             "dtypes": [list(map(str, p.dtypes))]})

    meta = pd.DataFrame({"rows": pd.Series([], dtype=int), "sum": pd.Series([], dtype=object),
                         "keys": pd.Series([], dtype=object), "dtypes": pd.Series([], dtype=object)})
    return client.compute(s.map_partitions(summary, meta=meta)).result(timeout=120)


def check_exactly_once(out: pd.DataFrame, exp: pd.DataFrame, nout: int) -> None:
    assert int(out["rows"].sum()) == len(exp)
    assert sum(int(x) for x in out["sum"]) % 2**64 == checksum(exp)
    seen: dict = {}
    for j, keys in enumerate(out["keys"]):
        for k in keys:
            assert seen.setdefault(k, j) == j, f"key {k} in partitions {seen[k]} and {j}"
    assert all(d == list(map(str, exp.dtypes)) for d in out["dtypes"])  # empty outputs too
    assert len(out) == nout


@pytest.fixture
def tmpbase(tmp_path, monkeypatch):
    """Shuffle files of the workers (started after this) go to a fresh directory."""
    monkeypatch.setenv("SHOAL_TEMPORARY_DIRECTORY", str(tmp_path))
    return str(tmp_path)


def test_disk_shuffle_on_a_cluster_every_row_once(tmpbase, monkeypatch):
    nparts, rows = 8, 3000
    with LocalCluster(n_workers=2, threads_per_worker=1, dashboard_address=None, memory_limit="400MB") as cluster, \
            Client(cluster, set_as_default=False) as c:
        # auto weighs the data against the workers' memory limits: p2p when large, else tasks
        from shoal import base
        from shoal.dataframe.shuffle import shuffle_method

        monkeypatch.setattr(base, "_default_client", c)
        with shoal.config.set({"dataframe.shuffle.memory_fraction": 1e-9}):
            assert shuffle_method(frame(nparts, rows, 0.0)) == "p2p"
        assert shuffle_method(frame(nparts, rows, 0.0)) == "tasks"  # 8 x 3000 rows: far below 800 MB
        monkeypatch.setattr(base, "_default_client", None)
        s = shuffle(frame(nparts, rows, 0.0), "key", npartitions=12, method="disk")
        out = per_partition(c, s)
        check_exactly_once(out, expected(nparts, rows), 12)
        assert (out["rows"] == 0).sum() >= 6  # 6 keys into 12 partitions: some are empty
        # the dashboard's snapshot carries each worker's running shuffle steps ('' when none)
        deadline = time.monotonic() + 10
        while not all("shuffle" in (w.get("metrics") or {}) for w in c.scheduler_info()["workers"].values()):
            assert time.monotonic() < deadline, "workers' heartbeats carry no shuffle activity"
            time.sleep(0.1)
    assert glob.glob(os.path.join(tmpbase, "shoal-shuffle-*")) == []


def test_worker_sigkilled_mid_shuffle_loses_and_duplicates_nothing(tmpbase):
    nparts, rows = 16, 2000
    exp = expected(nparts, rows)
    with LocalCluster(n_workers=2, threads_per_worker=1, dashboard_address=None) as cluster, \
            Client(cluster, set_as_default=False) as c:
        s = shuffle(frame(nparts, rows, 0.15), "key", npartitions=6, method="disk")
        meta = pd.DataFrame({"rows": pd.Series([], dtype=int), "sum": pd.Series([], dtype=object),
                             "keys": pd.Series([], dtype=object), "dtypes": pd.Series([], dtype=object)})

        def summary(p):
            return pd.DataFrame({"rows": [len(p)], "sum": [str(checksum(p))], "keys": [sorted(set(p.key))],
                                 "dtypes": [list(map(str, p.dtypes))]})

        fut = c.compute(s.map_partitions(summary, meta=meta))
        deadline = time.monotonic() + 60
        while len(glob.glob(os.path.join(tmpbase, "shoal-shuffle-*", "in-*"))) < 2:  # transfers under way
            assert time.monotonic() < deadline, "no shuffle file appeared"
            time.sleep(0.01)
        assert not fut.done()
        victim = cluster.worker_pids()[0]
        os.kill(victim, signal.SIGKILL)
        out = fut.result(timeout=120)
        assert victim not in cluster.worker_pids()
        check_exactly_once(out, exp, 6)


def test_memory_warning_names_the_shuffle_step(caplog):
    from shoal.dataframe import disk_shuffle
    from shoal.distributed.shuffle import memory_check

    with disk_shuffle._Activity("disk shuffle: splitting input partition 4 (1000 rows, 1.0 MiB) into 8 pieces"):
        with caplog.at_level(logging.WARNING, logger="shoal.distributed.shuffle"):
            msg = memory_check(rss=800 * 2**20, limit=1000 * 2**20, fraction=0.7)
    assert "splitting input partition 4" in msg and "80%" in msg and "800 MiB of 1000 MiB" in msg
    assert "splitting input partition 4" in caplog.text
    assert memory_check(rss=100, limit=1000, fraction=0.7) == ""  # below the threshold: quiet
