"""drop_duplicates and groupby with split_out go through the hash shuffle; the local memory budget."""
from __future__ import annotations

import subprocess
import sys
import textwrap

import numpy as np
import pandas as pd
import pytest

import shoal
import shoal.dataframe as ddf
from shoal.dataframe.shuffle import _memory_budget, shuffle_method

METHODS = ["tasks", "disk"]


@pytest.fixture(autouse=True)
def tmpbase(tmp_path):
    with shoal.config.set({"temporary_directory": str(tmp_path)}):
        yield str(tmp_path)


def frame(n: int = 2000, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    # unsorted, unique index labels: keep='first'/'last' is checked through them
    return pd.DataFrame({
        "a": rng.integers(0, 30, n),
        "b": rng.choice(["x", "y", "z"], n),
        "c": rng.integers(0, 4, n).astype("float64"),
        "s": pd.Series(rng.choice(["p", "q", None], n), dtype=object),
    }, index=pd.Index(rng.permutation(n) * 3, name="idx"))


def graph_names(coll) -> str:
    return " ".join(str(k) for k in dict(coll.dask))


def same_rows(got, exp):
    if isinstance(exp, pd.DataFrame):
        pd.testing.assert_frame_equal(got.sort_index(), exp.sort_index())
    else:
        pd.testing.assert_series_equal(got.sort_index(), exp.sort_index())


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("keep", ["first", "last", False])
def test_drop_duplicates_split_out_matches_pandas(method, keep):
    pdf = frame()
    df = ddf.from_pandas(pdf, npartitions=7, sort=False)
    for subset in [None, "a", ["a", "b"], ["s", "c"]]:
        out = df.drop_duplicates(subset=subset, keep=keep, split_out=3, shuffle_method=method)
        assert out.npartitions == 3
        assert ("disk" in graph_names(out)) == (method == "disk")
        parts = [out.partitions[j].compute() for j in range(3)]
        exp = pdf.drop_duplicates(subset=subset, keep=keep)
        same_rows(pd.concat(parts), exp)
        if subset == "a" and keep is not False:  # 30 keys over 3 partitions: spread, not gathered
            assert all(0 < len(p) < len(exp) for p in parts)
    # split_out=True: as many partitions as the input
    out = df.drop_duplicates(subset=["a", "b"], keep=keep, split_out=True, shuffle_method=method)
    assert out.npartitions == 7
    same_rows(out.compute(), pdf.drop_duplicates(subset=["a", "b"], keep=keep))


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("keep", ["first", "last", False])
def test_series_and_index_drop_duplicates_split_out(method, keep):
    pdf = frame(800)
    df = ddf.from_pandas(pdf, npartitions=5, sort=False)
    same_rows(df.b.drop_duplicates(keep=keep, split_out=2, shuffle_method=method).compute(),
              pdf.b.drop_duplicates(keep=keep))
    same_rows(df.s.drop_duplicates(keep=keep, split_out=4, shuffle_method=method).compute(),
              pdf.s.drop_duplicates(keep=keep))
    unnamed = df.c.rename(None).drop_duplicates(keep=keep, split_out=2, shuffle_method=method).compute()
    assert unnamed.name is None
    same_rows(unnamed, pdf.c.rename(None).drop_duplicates(keep=keep))
    idx = (df.a // 2).drop_duplicates(keep=keep, split_out=3, shuffle_method=method)
    same_rows(idx.compute(), (pdf.a // 2).drop_duplicates(keep=keep))


def test_drop_duplicates_keep_false_without_split_out_keeps_pandas_order():
    pdf = frame(600)
    df = ddf.from_pandas(pdf, npartitions=4, sort=False)
    got = df.drop_duplicates(subset=["a", "c"], keep=False).compute()
    pd.testing.assert_frame_equal(got, pdf.drop_duplicates(subset=["a", "c"], keep=False))
    # a row twice in one partition and once in another is a duplicate everywhere
    p = pd.DataFrame({"k": [1, 1, 2, 3, 1, 3]}, index=range(6))
    d = ddf.from_pandas(p, npartitions=2, sort=False)
    for so in [None, 2]:
        same_rows(d.drop_duplicates(keep=False, split_out=so).compute(), p.drop_duplicates(keep=False))


def test_drop_duplicates_ignore_index_and_errors():
    pdf = frame(300)
    df = ddf.from_pandas(pdf, npartitions=3, sort=False)
    out = df.drop_duplicates(subset="a", split_out=2, ignore_index=True).compute()
    assert list(out.index) == list(range(pdf.a.nunique()))
    assert sorted(out.a) == sorted(pdf.a.unique())
    same_rows(df.drop_duplicates(subset="b", split_out=2, shuffle_method=True).compute(),
              pdf.drop_duplicates(subset="b"))
    with pytest.raises(ValueError, match="keep"):
        df.drop_duplicates(keep="middle")
    with pytest.raises(KeyError):
        df.drop_duplicates(subset=["nope"], split_out=2)


def groupby_frame(n: int = 3000) -> pd.DataFrame:
    rng = np.random.default_rng(1)
    pdf = pd.DataFrame({
        "a": rng.integers(0, 60, n), "b": rng.choice(list("wxyz"), n), "v": rng.random(n),
        "i": rng.integers(0, 9, n),
        "cat": pd.Categorical(rng.choice(["p", "q", "r"], n), categories=["p", "q", "r", "s", "t"]),
    })
    pdf.loc[::11, "v"] = np.nan
    return pdf


@pytest.mark.parametrize("method", METHODS)
def test_groupby_split_out_goes_through_the_shuffle(method):
    pdf = groupby_frame()
    df = ddf.from_pandas(pdf, npartitions=6, sort=False)
    for how in ["sum", "mean", "var", "first", "last", "count", "size", "max", "nunique", "median"]:
        out = getattr(df.groupby("a").v, how)(split_out=3, shuffle_method=method)
        assert out.npartitions == 3
        assert ("disk" in graph_names(out)) == (method == "disk")
        parts = [out.partitions[j].compute() for j in range(3)]
        assert all(0 < len(p) < 60 for p in parts), how  # the groups are spread, not gathered
        same_rows(pd.concat(parts), getattr(pdf.groupby("a").v, how)())
    spec = {"v": ["mean", "std"], "i": "sum"}
    out = df.groupby(["a", "b"], sort=False).agg(spec, split_out=4, shuffle_method=method)
    assert ("disk" in graph_names(out)) == (method == "disk")
    same_rows(out.compute(), pdf.groupby(["a", "b"], sort=False).agg(spec))
    # grouping by a Series, and split_out=True (about one output per 15 inputs)
    same_rows(df.v.groupby(df.i).sum(split_out=2, shuffle_method=method).compute(), pdf.v.groupby(pdf.i).sum())
    assert df.groupby("a").v.sum(split_out=True).npartitions == 1
    # Dask's shuffle_method=True/False mean the configured method
    same_rows(df.groupby("a").v.sum(split_out=2, shuffle_method=True).compute(), pdf.groupby("a").v.sum())
    same_rows(df.groupby("a").v.median(split_out=2, shuffle_method=False).compute(), pdf.groupby("a").v.median())


@pytest.mark.parametrize("method", METHODS)
def test_groupby_split_out_unobserved_categories_once(method):
    pdf = groupby_frame(500)
    df = ddf.from_pandas(pdf, npartitions=5, sort=False)
    for how in ["sum", "count", "first", "mean", "median", "nunique"]:
        for so in [None, 3]:
            got = getattr(df.groupby("cat", observed=False).i, how)(split_out=so, shuffle_method=method).compute()
            same_rows(got, getattr(pdf.groupby("cat", observed=False).i, how)())
    got = df.groupby(["cat", "b"], observed=False).i.sum(split_out=3, shuffle_method=method).compute()
    same_rows(got, pdf.groupby(["cat", "b"], observed=False).i.sum())
    with pytest.raises(NotImplementedError, match="observed=True"):
        df.groupby(["cat", "b"], observed=False).i.median()
    # every key categorical: the product of the categories, levels still categorical
    pdf["c2"] = pdf.b.astype(pd.CategoricalDtype(list("vwxyz")))
    df = ddf.from_pandas(pdf, npartitions=5, sort=False)
    for so in [None, 2]:
        for how in ["median", "sum"]:
            got = getattr(df.groupby(["cat", "c2"], observed=False).i, how)(split_out=so, shuffle_method=method)
            same_rows(got.compute(), getattr(pdf.groupby(["cat", "c2"], observed=False).i, how)())


def test_memory_limit_config_picks_the_disk_shuffle():
    pdf = frame(4000).reset_index()  # 'idx' is unique: nothing is dropped before the rows move
    df = ddf.from_pandas(pdf, npartitions=4, sort=False)
    assert shoal.config.get("dataframe.shuffle.memory-limit") is None
    assert shuffle_method(df) == "tasks"  # a few hundred kB against the machine's memory
    with shoal.config.set({"dataframe.shuffle.memory-limit": "1MB"}):
        assert _memory_budget() == 1_000_000
        assert shuffle_method(df) == "disk"
        out = df.drop_duplicates(subset=["idx", "a"], split_out=2)
        assert "disk" in graph_names(out)
        for scheduler in ["sync", "threads", "processes"]:
            same_rows(out.compute(scheduler=scheduler), pdf.drop_duplicates(subset=["idx", "a"]))
        # what moves is judged after each partition's own duplicates are gone: 30 keys stay in memory
        assert "disk" not in graph_names(df.drop_duplicates(subset="a", split_out=2))
        # groupby moves per-group partials (about 64 kB here), under a quarter of 1 MB
        assert "disk" not in graph_names(df.groupby("idx").c.sum(split_out=2))
    with shoal.config.set({"dataframe.shuffle.memory-limit": "100kB"}):
        gb = df.groupby("idx").c.sum(split_out=2)
        assert "disk" in graph_names(gb)
        same_rows(gb.compute(scheduler="threads"), pdf.groupby("idx").c.sum())
    with shoal.config.set({"dataframe.shuffle.memory_limit": 10**15}):
        assert shuffle_method(df) == "tasks"
        assert "disk" not in graph_names(df.drop_duplicates(subset=["idx", "a"], split_out=2))
    with shoal.config.set({"dataframe.shuffle.memory-limit": "lots"}):
        with pytest.raises(ValueError, match="memory-limit"):
            shuffle_method(df)


def test_drop_duplicates_split_out_memory_stays_bounded(tmp_path):
    """Distinct rows of ~40 MB through the disk shuffle: peak traced memory a fraction of the data."""
    script = textwrap.dedent(f"""
        import tracemalloc, numpy as np, pandas as pd, shoal, shoal.dataframe as ddf
        n = 1_000_000
        def part(i):
            rng = np.random.default_rng(i)
            k = rng.integers(0, 10**9, n // 16)
            return pd.DataFrame({{"k": k, "a": k * 0.5, "b": rng.random(n // 16), "c": rng.random(n // 16)}})
        parts = [shoal.delayed(part)(i) for i in range(16)]
        meta = part(0).iloc[:0]
        df = ddf.from_delayed(parts, meta=meta)
        total = 16 * int(part(0).memory_usage(deep=True).sum())
        with shoal.config.set({{"temporary_directory": {str(tmp_path)!r}}}):
            out = df.drop_duplicates(subset=["k", "a"], split_out=16, shuffle_method="disk")
            tracemalloc.start()
            counts = out.map_partitions(len, meta=int).compute(scheduler="sync")
            peak = tracemalloc.get_traced_memory()[1]
        print(sum(counts), total, peak)
    """)
    r = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    rows, total, peak = map(int, r.stdout.split())
    assert 0.99 * 1_000_000 < rows <= 1_000_000  # keys drawn from 10**9: very few repeats
    assert peak < total / 3, (peak, total)
