"""DataFrame/Series operations checked against pandas on the same data."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pandas.testing as tm
import pytest

import shoal
import shoal.dataframe as ddf


def eq(a, b, **kw):
    if hasattr(a, "compute"):
        a = a.compute(scheduler="sync")
    if isinstance(b, pd.DataFrame):
        tm.assert_frame_equal(a, b, **kw)
    elif isinstance(b, pd.Series):
        tm.assert_series_equal(a, b, **kw)
    elif isinstance(b, pd.Index):
        tm.assert_index_equal(a, b, **kw)
    else:
        if isinstance(b, float) and np.isnan(b):
            assert np.isnan(a)
        else:
            assert a == pytest.approx(b)


def test_all_is_explicit():
    assert "read_csv" in ddf.__all__ and "from_pandas" in ddf.__all__
    for name in ddf.__all__:
        assert hasattr(ddf, name), name


def test_structure(df, pdf):
    assert df.npartitions == 4
    assert list(df.columns) == list(pdf.columns)
    tm.assert_series_equal(df.dtypes, pdf.dtypes)
    assert "npartitions=4" in repr(df)
    assert df.b.dtype == pdf.b.dtype and df.b.name == "b"
    eq(df, pdf)
    eq(df.index, pdf.index)
    assert len(df) == len(pdf)
    if df.known_divisions:
        assert df.divisions[0] == pdf.index[0] and df.divisions[-1] == pdf.index[-1]


def test_partitions_head_tail(df, pdf):
    parts = [df.partitions[i].compute() for i in range(df.npartitions)]
    tm.assert_frame_equal(pd.concat(parts), pdf)
    tm.assert_frame_equal(df.head(3), pdf.head(3))
    tm.assert_frame_equal(df.tail(3), pdf.tail(3))
    tm.assert_frame_equal(df.head(120, npartitions=-1), pdf.head(120))
    assert df.partitions[1:3].npartitions == 2


def test_head_reads_only_first_partition(pdf):
    calls = []

    def mark(part, i):
        calls.append(i)
        return part

    d = ddf.from_pandas(pdf, npartitions=4)
    m = d.map_partitions(mark, 0, meta=d._meta)
    m.head(2)
    assert calls == [0]


def test_elementwise(df, pdf):
    eq(df.a + df.b * 2 - 1, pdf.a + pdf.b * 2 - 1)
    eq(1 / (df.e + 10), 1 / (pdf.e + 10))
    eq((df.a > 3) & (df.b < 0), (pdf.a > 3) & (pdf.b < 0))
    eq(~(df.a > 3) | (df.c == "apple"), ~(pdf.a > 3) | (pdf.c == "apple"))
    eq(df[df.a > 5], pdf[pdf.a > 5])
    eq(df[["a", "c"]], pdf[["a", "c"]])
    eq(df.b.abs().round(1), pdf.b.abs().round(1))
    eq(-df.e, -pdf.e)
    eq(df.a.isin([1, 2]), pdf.a.isin([1, 2]))
    eq(df.b.between(-1, 1), pdf.b.between(-1, 1))
    eq(df[["a", "e"]].add(1), pdf[["a", "e"]].add(1))


def test_frame_methods(df, pdf):
    eq(df.assign(z=df.a * 2, w=1), pdf.assign(z=pdf.a * 2, w=1))
    eq(df.assign(z=lambda x: x.a + x.e), pdf.assign(z=lambda x: x.a + x.e))
    eq(df.astype({"a": "float64"}), pdf.astype({"a": "float64"}))
    eq(df.rename(columns={"a": "A"}), pdf.rename(columns={"a": "A"}))
    eq(df.drop(columns=["c", "d"]), pdf.drop(columns=["c", "d"]))
    eq(df.fillna({"b": 0}), pdf.fillna({"b": 0}))
    eq(df.b.fillna(-1), pdf.b.fillna(-1))
    eq(df.dropna(), pdf.dropna())
    eq(df.isna(), pdf.isna())
    eq(df.b.notna(), pdf.b.notna())
    eq(df.b.where(df.b > 0, 0), pdf.b.where(pdf.b > 0, 0))
    eq(df.query("a > 3 and e < 2"), pdf.query("a > 3 and e < 2"))
    eq(df.eval("a + e"), pdf.eval("a + e"))
    eq(df.select_dtypes("number"), pdf.select_dtypes("number"))
    d2 = df.copy()
    d2["z"] = d2.a + 1
    eq(d2, pdf.assign(z=pdf.a + 1))
    eq(df.b.map(lambda v: v * 2, meta=("b", "f8")), pdf.b.map(lambda v: v * 2))
    eq(df.apply(lambda r: r.a + r.e, axis=1, meta=(None, "f8")), pdf.apply(lambda r: r.a + r.e, axis=1))
    eq(df.reset_index(drop=True).compute().reset_index(drop=True), pdf.reset_index(drop=True))


def test_meta_inference_and_override(df, pdf):
    out = df.map_partitions(lambda p: p.assign(z=p.a.astype(str)))
    assert list(out.columns) == list(pdf.columns) + ["z"]
    out2 = df.map_partitions(lambda p: p.a * 1.5, meta=("a", "float64"))
    assert out2.dtype == np.float64
    eq(out2, pdf.a * 1.5)
    per_part = df.map_partitions(len).compute()
    assert per_part.sum() == len(pdf)


@pytest.mark.parametrize("how", ["sum", "min", "max", "count", "mean", "std", "var", "prod", "any", "all"])
def test_series_reductions(df, pdf, how):
    s, ps = df.e, pdf.e
    eq(getattr(s, how)(), getattr(ps, how)())
    eq(getattr(df.b, how)(), getattr(pdf.b, how)())


@pytest.mark.parametrize("how", ["sum", "min", "max", "count", "mean", "std"])
def test_frame_reductions(df, pdf, how):
    num, pnum = df[["a", "b", "e"]], pdf[["a", "b", "e"]]
    eq(getattr(num, how)(), getattr(pnum, how)())


def test_tree_reduction_many_partitions(pdf):
    d = ddf.from_pandas(pdf, npartitions=40)
    eq(d.b.sum(split_every=3), pdf.b.sum())
    eq(d.b.std(split_every=2), pdf.b.std())
    eq(d.a.value_counts(split_every=4), pdf.a.value_counts())


def test_distinct(df, pdf):
    eq(df.a.value_counts(), pdf.a.value_counts())
    eq(df.c.value_counts(normalize=True).compute().sort_index(), pdf.c.value_counts(normalize=True).sort_index())
    assert sorted(df.a.unique().compute()) == sorted(pdf.a.unique())
    assert df.c.nunique().compute() == pdf.c.nunique()
    eq(df[["a", "c"]].drop_duplicates().compute().sort_values(["a", "c"]),
       pdf[["a", "c"]].drop_duplicates().sort_values(["a", "c"]))
    eq(df.a.drop_duplicates().compute().sort_values(), pdf.a.drop_duplicates().sort_values())
    eq(df.nunique(), pdf.nunique())
    assert df.b.size.compute() == pdf.b.size


def test_quantile_and_describe(df, pdf):
    q = df.b.quantile(0.5).compute()
    assert abs(q - pdf.b.quantile(0.5)) < 0.2
    qs = df.e.quantile([0.1, 0.9]).compute()
    assert list(qs.index) == [0.1, 0.9]
    one = ddf.from_pandas(pdf, npartitions=1)
    eq(one.b.quantile(0.3), pdf.b.quantile(0.3))
    exp = pdf.select_dtypes("number").describe()
    desc = df.describe().compute()[list(exp.columns)]
    tm.assert_frame_equal(desc.loc[["count", "mean", "std", "min", "max"]],
                          exp.loc[["count", "mean", "std", "min", "max"]])
    assert abs(desc.loc["50%", "e"] - exp.loc["50%", "e"]) <= 1


def test_accessors(df, pdf):
    eq(df.c.str.upper(), pdf.c.str.upper())
    eq(df.c.str.len(), pdf.c.str.len())
    eq(df.c.str.contains("an"), pdf.c.str.contains("an"))
    eq(df.d.dt.year, pdf.d.dt.year)
    eq(df.d.dt.day_of_week, pdf.d.dt.day_of_week)
    eq(df.d.dt.strftime("%Y-%m"), pdf.d.dt.strftime("%Y-%m"))
    with pytest.raises(AttributeError, match="accessor"):
        df.a.str


def test_loc(pdf):
    d = ddf.from_pandas(pdf, npartitions=4)
    eq(d.loc[40:100], pdf.loc[40:100])
    eq(d.loc[40], pdf.loc[[40]])
    assert d.loc[40:100].npartitions < d.npartitions or d.npartitions == 1
    eq(d.loc[d.a > 4], pdf.loc[pdf.a > 4])
    eq(d.loc[:, ["a", "b"]], pdf.loc[:, ["a", "b"]])
    eq(d.loc[10:30, "b"], pdf.loc[10:30, "b"])
    u = d.clear_divisions()
    eq(u.loc[40:100], pdf.loc[40:100])


def test_alignment_with_different_divisions(pdf):
    a = ddf.from_pandas(pdf, npartitions=3)
    b = ddf.from_pandas(pdf, npartitions=5)
    eq(a.a + b.e, pdf.a + pdf.e)
    with pytest.raises(ValueError, match="repartition"):
        a.clear_divisions().a + b.clear_divisions().e


def test_repartition(df, pdf):
    r = df.repartition(npartitions=2)
    assert r.npartitions == 2
    eq(r, pdf)
    r = df.repartition(npartitions=7)
    assert r.npartitions == 7
    eq(r, pdf)
    k = ddf.from_pandas(pdf, npartitions=4)
    r = k.repartition(divisions=[0, 50, 150, 398])
    assert r.divisions == (0, 50, 150, 398)
    eq(r, pdf)
    assert r.partitions[0].compute().index.max() < 50


def test_rolling(pdf):
    d = ddf.from_pandas(pdf, npartitions=7)
    eq(d.e.rolling(5).mean(), pdf.e.rolling(5).mean())
    eq(d[["a", "e"]].rolling(3, min_periods=1).sum(), pdf[["a", "e"]].rolling(3, min_periods=1).sum())
    # a window longer than a partition borrows from several predecessors
    eq(d.e.rolling(70).max(), pdf.e.rolling(70).max())
    eq(d.e.rolling(5, center=True).mean(), pdf.e.rolling(5, center=True).mean())
    ts = pdf.set_index("d")
    dt = ddf.from_pandas(ts, npartitions=5)
    eq(dt.e.rolling("1D").sum(), ts.e.rolling("1D").sum())


def test_persist_to_delayed_from_delayed(df, pdf):
    p = df.persist(scheduler="sync")
    eq(p, pdf)
    assert p.divisions == df.divisions
    parts = df.to_delayed()
    assert len(parts) == 4
    back = ddf.from_delayed(parts, meta=df._meta)
    eq(back, pdf)
    back2 = ddf.from_delayed(parts)
    eq(back2, pdf)


def test_from_dict_and_array():
    d = ddf.from_dict({"x": [1, 2, 3, 4], "y": [5.0, 6, 7, 8]}, npartitions=2)
    eq(d, pd.DataFrame({"x": [1, 2, 3, 4], "y": [5.0, 6, 7, 8]}))
    arr = np.arange(20.0).reshape(10, 2)
    a = ddf.from_array(arr, chunksize=3, columns=["p", "q"])
    assert a.npartitions == 4 and a.known_divisions
    eq(a, pd.DataFrame(arr, columns=["p", "q"]))
    s = ddf.from_array(np.arange(7), chunksize=3)
    eq(s, pd.Series(np.arange(7)))


def test_compute_shares_work(pdf):
    calls = []

    def mark(part):
        calls.append(1)
        return part

    d = ddf.from_pandas(pdf, npartitions=4).map_partitions(mark, meta=pdf.iloc[:0])
    a, b = shoal.compute(d.a.sum(), d.b.mean(), scheduler="sync")
    assert len(calls) == 4
    assert a == pdf.a.sum() and b == pytest.approx(pdf.b.mean())


def test_visualize(df, tmp_path):
    from tests.conftest import require

    require("dot")
    out = tmp_path / "g.svg"
    df.a.sum().visualize(filename=str(out))
    assert out.exists() and out.stat().st_size > 0


def test_scalar_arithmetic(df, pdf):
    m = df.b.mean()
    eq(m * 2 + 1, pdf.b.mean() * 2 + 1)
    eq(df.b - df.b.mean(), pdf.b - pdf.b.mean())
    with pytest.raises(TypeError, match="compute"):
        bool(m)


def test_nlargest_sample_to_datetime(df, pdf):
    eq(df.b.nlargest(7), pdf.b.nlargest(7))
    eq(df.e.nsmallest(4).compute().sort_values().reset_index(drop=True),
       pdf.e.nsmallest(4).sort_values().reset_index(drop=True))
    eq(df.nlargest(5, "b"), pdf.nlargest(5, "b"))
    s = df.sample(frac=0.5, random_state=1).compute(scheduler="sync")
    again = df.sample(frac=0.5, random_state=1).compute(scheduler="sync")
    tm.assert_frame_equal(s, again)
    assert 60 < len(s) < 140 and set(s.index) <= set(pdf.index)
    strs = ddf.from_pandas(pdf.d.dt.strftime("%Y-%m-%d %H:%M").to_frame(), npartitions=3).d
    eq(ddf.to_datetime(strs), pd.to_datetime(pdf.d.dt.strftime("%Y-%m-%d %H:%M")))
    eq(ddf.to_numeric(df.a.astype(str)), pd.to_numeric(pdf.a.astype(str)))


def test_series_describe_and_clip_mask(df, pdf):
    got = df.e.describe().compute()
    exp = pdf.e.describe()
    tm.assert_series_equal(got[["count", "mean", "std", "min", "max"]], exp[["count", "mean", "std", "min", "max"]])
    assert list(got.index) == list(exp.index)
    eq(df.e.clip(-2, 2), pdf.e.clip(-2, 2))
    eq(df.b.mask(df.b > 0, 1.0), pdf.b.mask(pdf.b > 0, 1.0))
    eq(df.b.apply(lambda v: v + 1, meta=("b", "f8")), pdf.b.apply(lambda v: v + 1))
