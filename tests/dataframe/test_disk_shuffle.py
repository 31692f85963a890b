"""The disk shuffle: same rows as the in-memory shuffle, memory bounded, files removed."""
from __future__ import annotations

import glob
import os
import subprocess
import sys
import textwrap

import numpy as np
import pandas as pd
import pytest

import shoal
import shoal.dataframe as ddf
from shoal.dataframe.disk_shuffle import decode_frame, encode_frame
from shoal.dataframe.shuffle import shuffle, shuffle_method

SCHEDULERS = ["sync", "threads", "processes"]


def all_dtypes(n: int = 3000, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    f = rng.random(n)
    f[rng.random(n) < 0.1] = np.nan
    ni = pd.array(rng.integers(0, 100, n), dtype="Int64")
    ni[rng.random(n) < 0.1] = pd.NA
    return pd.DataFrame({
        "key": rng.integers(0, 40, n),
        "i32": rng.integers(-5, 5, n).astype("int32"),
        "nint": ni,
        "f": f,
        "s": pd.Series([f"w{x}" for x in rng.integers(0, 500, n)], dtype="string"),
        "obj": pd.Series([None if x % 11 == 0 else f"o{x}" for x in range(n)], dtype=object),
        "cat": pd.Categorical(rng.choice(["lo", "mid", "hi"], n), categories=["lo", "mid", "hi"], ordered=True),
        "t": pd.date_range("2021-01-01", periods=n, freq="37min"),
        "tz": pd.date_range("2021-01-01", periods=n, freq="h", tz="Europe/Paris"),
        "b": rng.random(n) < 0.5,
    }, index=pd.Index(np.arange(n) * 3, name="idx"))


def checksum(df: pd.DataFrame) -> int:
    """Order-independent fingerprint of the rows (index included)."""
    h = pd.util.hash_pandas_object(df, index=True).to_numpy()
    return int(h.sum(dtype=np.uint64))


def _tmp_dirs(base: str) -> list:
    return glob.glob(os.path.join(base, "shoal-shuffle-*"))


@pytest.fixture
def tmpbase(tmp_path):
    with shoal.config.set({"temporary_directory": str(tmp_path)}):
        yield str(tmp_path)


@pytest.mark.parametrize("scheduler", SCHEDULERS)
def test_disk_matches_tasks_for_all_dtypes(scheduler, tmpbase):
    pdf = all_dtypes()
    df = ddf.from_pandas(pdf, npartitions=6)
    tasks = shuffle(df, "key", npartitions=5, method="tasks").compute(scheduler=scheduler)
    disk = shuffle(df, "key", npartitions=5, method="disk").compute(scheduler=scheduler)
    pd.testing.assert_frame_equal(disk, tasks)  # same rows, same order, same dtypes
    assert len(disk) == len(pdf) and checksum(disk) == checksum(pdf)
    assert _tmp_dirs(tmpbase) == []


def test_every_key_in_one_partition_with_skew_and_empty_partitions(tmpbase):
    n = 4000
    rng = np.random.default_rng(1)
    keys = np.where(rng.random(n) < 0.5, 7, rng.integers(0, 6, n))  # one key holds half the rows; 7 keys, 12 outputs
    pdf = pd.DataFrame({"k": keys, "v": np.arange(n)})
    df = ddf.from_pandas(pdf, npartitions=8)
    df = df[df.v % 8 < 6]  # some input partitions keep nothing
    df = df.map_partitions(lambda p: p.iloc[:0] if p.v.iloc[:1].lt(1000).all() else p, meta=df._meta)
    expect = pdf[pdf.v % 8 < 6]
    expect = expect[expect.v >= 1000]
    out = shuffle(df, "k", npartitions=12, method="disk")
    parts = [out.partitions[j].compute(scheduler="sync") for j in range(out.npartitions)]
    assert sum(len(p) for p in parts) == len(expect)
    assert sum(checksum(p) for p in parts) % 2**64 == checksum(expect)
    seen: dict = {}
    for j, p in enumerate(parts):
        for k in p.k.unique():
            assert seen.setdefault(k, j) == j  # a key never spans partitions
    assert sum(len(p) == 0 for p in parts) >= 5
    assert all(list(p.dtypes) == list(expect.dtypes) for p in parts)  # empty outputs keep the dtypes


def test_empty_input(tmpbase):
    pdf = all_dtypes(10).iloc[:0]
    df = ddf.from_pandas(pdf, npartitions=1)
    df = ddf.concat([df, df]) if hasattr(ddf, "concat") else df
    out = shuffle(df, "key", npartitions=3, method="disk").compute(scheduler="sync")
    assert len(out) == 0 and list(out.dtypes) == list(pdf.dtypes)


@pytest.mark.parametrize("scheduler", ["threads", "processes"])
def test_set_index_sort_values_merge_through_disk(scheduler, tmpbase):
    pdf = all_dtypes(2000)
    df = ddf.from_pandas(pdf, npartitions=5)
    with shoal.config.set(scheduler=scheduler):
        si = df.set_index("f", shuffle_method="disk").compute()
        pd.testing.assert_frame_equal(si, pdf.set_index("f").sort_index(), check_index_type=False) \
            if not si.index.hasnans else None
        assert len(si) == len(pdf) and sorted(si.idx if "idx" in si else si.key) is not None
        sv = df.sort_values("t", shuffle_method="disk").compute()
        pd.testing.assert_frame_equal(sv, pdf.sort_values("t"))
        right = pd.DataFrame({"key": np.arange(40), "name": [f"n{i}" for i in range(40)]})
        rdf = ddf.from_pandas(right, npartitions=3)
        m = df.merge(rdf, on="key", npartitions=4, shuffle_method="disk", broadcast=False).compute()
        expect = pdf.merge(right, on="key")
        order = ["key", "t"]
        pd.testing.assert_frame_equal(m.sort_values(order).reset_index(drop=True),
                                      expect.sort_values(order).reset_index(drop=True))
    assert _tmp_dirs(tmpbase) == []


def test_files_removed_after_error_and_partial_compute(tmpbase):
    pdf = all_dtypes(500)
    df = ddf.from_pandas(pdf, npartitions=4)
    s = shuffle(df, "key", npartitions=4, method="disk")
    assert len(s.partitions[0].compute(scheduler="sync")) > 0
    assert _tmp_dirs(tmpbase) == []

    def boom(p):
        raise ZeroDivisionError("task failed")

    for scheduler in ["sync", "processes"]:
        with pytest.raises(ZeroDivisionError):
            s.map_partitions(boom, meta=s._meta).compute(scheduler=scheduler)
        import gc

        gc.collect()
        assert _tmp_dirs(tmpbase) == []


def test_method_choice_and_errors():
    df = ddf.from_pandas(pd.DataFrame({"k": np.arange(100)}), npartitions=4)
    with pytest.raises(RuntimeError, match="distributed cluster"):  # p2p needs workers
        shuffle(df, "k", method="p2p").compute(scheduler="threads")
    with pytest.raises(ValueError, match="'tasks', 'disk'"):
        shuffle(df, "k", method="memory")
    with shoal.config.set({"dataframe.shuffle.method": "disk"}):
        assert shuffle_method(df) == "disk"
        assert "disk" in shuffle(df, "k")._name
    assert "disk" not in shuffle(df, "k", method="tasks")._name
    # auto: by the size estimated from the first partition against memory
    with shoal.config.set({"dataframe.shuffle.memory_fraction": 1e-12}):
        assert shuffle_method(df) == "disk"
    with shoal.config.set({"dataframe.shuffle.memory_fraction": 0.5}):
        assert shuffle_method(df) == "tasks"
    # after an earlier shuffle the first partition needs the whole upstream graph: no estimate
    # (that would run the upstream shuffle twice), so the in-memory default stays
    wide = ddf.from_pandas(pd.DataFrame({"k": np.arange(400)}), npartitions=20)
    upstream = shuffle(wide, "k", method="disk").map_partitions(lambda p: p)
    from shoal.dataframe.shuffle import _estimate_nbytes

    assert _estimate_nbytes(upstream) is None
    with shoal.config.set({"dataframe.shuffle.memory_fraction": 1e-12}):
        assert shuffle_method(upstream) == "tasks"


def test_encoding_round_trips_or_falls_back_to_pickle():
    pdf = all_dtypes(200)
    arrowable = pdf.drop(columns=["obj"])
    blob = encode_frame(arrowable, "lz4")
    assert blob[:1] == b"A"
    pd.testing.assert_frame_equal(decode_frame(blob), arrowable)
    mixed = pd.DataFrame({"o": pd.Series([1, "a", 2.5], dtype=object)})
    assert encode_frame(mixed)[:1] == b"P"
    pd.testing.assert_frame_equal(decode_frame(encode_frame(mixed)), mixed)
    # a missing value in an object column must come back as itself, not as None
    nan_obj = pd.DataFrame({"o": pd.Series(["a", np.nan], dtype=object)})
    back = decode_frame(encode_frame(nan_obj))
    assert back.o.iloc[1] is not None and np.isnan(back.o.iloc[1])


def test_memory_stays_bounded_when_data_is_larger_than_the_budget(tmp_path):
    """A shuffle of ~120 MB under a 60 MB-per-partition-scale budget: peak traced memory far below the data."""
    script = textwrap.dedent(f"""
        import tracemalloc, numpy as np, pandas as pd, shoal, shoal.dataframe as ddf
        from shoal.dataframe.shuffle import shuffle
        n = 1_000_000
        def part(i):
            rng = np.random.default_rng(i)
            return pd.DataFrame({{"k": rng.integers(0, 10**6, n // 8), "a": rng.random(n // 8),
                                  "b": rng.random(n // 8), "c": rng.random(n // 8)}})
        parts = [shoal.delayed(part)(i) for i in range(16)]
        meta = part(0).iloc[:0]
        df = ddf.from_delayed(parts, meta=meta)
        total = 16 * int(meta.memory_usage().sum() + 8 * 4 * (n // 8))
        with shoal.config.set({{"temporary_directory": {str(tmp_path)!r}}}):
            s = shuffle(df, "k", npartitions=16, method="{{}}")
            tracemalloc.start()
            counts = s.map_partitions(len, meta=int).compute(scheduler="sync")
            peak = tracemalloc.get_traced_memory()[1]
        print(sum(counts), total, peak)
    """)
    out = {}
    for method in ["disk", "tasks"]:
        r = subprocess.run([sys.executable, "-c", script.replace("{}", method)], capture_output=True, text=True,
                           timeout=120)
        assert r.returncode == 0, r.stderr
        rows, total, peak = map(int, r.stdout.split())
        assert rows == 16 * (1_000_000 // 8)
        out[method] = (total, peak)
    total, disk_peak = out["disk"]
    assert disk_peak < total / 3, out  # a few partitions at a time, not the data
    assert disk_peak < out["tasks"][1] / 2, out


def test_object_text_columns_stay_object():
    pdf = pd.DataFrame({"k": np.arange(40) % 5, "s": pd.Series([f"t{i}" for i in range(40)], dtype=object)})
    got = shuffle(ddf.from_pandas(pdf, npartitions=3), "k", npartitions=4, method="disk").compute(scheduler="sync")
    assert got.s.dtype == object
    pd.testing.assert_frame_equal(got.sort_index(), pdf)
