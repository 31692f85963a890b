"""groupby aggregations, apply and transform against pandas."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pandas.testing as tm
import pytest
from hypothesis import given, settings, strategies as st

import shoal.dataframe as ddf


def c(x):
    return x.compute(scheduler="sync")


@pytest.mark.parametrize("how", ["sum", "mean", "count", "size", "min", "max", "std", "var", "first", "last", "nunique"])
def test_series_groupby(df, pdf, how):
    got = c(getattr(df.groupby("a").b, how)())
    exp = getattr(pdf.groupby("a").b, how)()
    tm.assert_series_equal(got, exp, check_dtype=how not in ("size",))


@pytest.mark.parametrize("how", ["sum", "mean", "count", "min", "max", "first", "last"])
def test_frame_groupby(df, pdf, how):
    got = c(getattr(df[["a", "b", "e"]].groupby("a"), how)())
    exp = getattr(pdf[["a", "b", "e"]].groupby("a"), how)()
    tm.assert_frame_equal(got, exp)


def test_groupby_size_and_multikey(df, pdf):
    tm.assert_series_equal(c(df.groupby("a").size()), pdf.groupby("a").size(), check_dtype=False)
    tm.assert_series_equal(c(df.groupby(["a", "c"]).b.mean()), pdf.groupby(["a", "c"]).b.mean())
    tm.assert_frame_equal(c(df.groupby(["c", "a"])[["b", "e"]].sum()), pdf.groupby(["c", "a"])[["b", "e"]].sum())


def test_agg_forms(df, pdf):
    g, pg = df.groupby("c"), pdf.groupby("c")
    tm.assert_frame_equal(c(g.b.agg(["mean", "max", "count"])), pg.b.agg(["mean", "max", "count"]))
    tm.assert_frame_equal(c(g.agg({"b": "sum", "e": "max"})), pg.agg({"b": "sum", "e": "max"}))
    tm.assert_frame_equal(c(g.agg({"b": ["sum", "mean"], "e": "max"})), pg.agg({"b": ["sum", "mean"], "e": "max"}))
    tm.assert_frame_equal(c(g.agg(total=("b", "sum"), top=("e", "max"), n=("a", "count"))),
                          pg.agg(total=("b", "sum"), top=("e", "max"), n=("a", "count")))
    tm.assert_frame_equal(c(g[["b", "e"]].agg(["min", "std"])), pg[["b", "e"]].agg(["min", "std"]))
    tm.assert_frame_equal(c(g.b.agg(lo="min", hi="max")), pg.b.agg(lo="min", hi="max"))


def test_groupby_by_series(df, pdf):
    got = c(df.b.groupby(df.a).sum())
    tm.assert_series_equal(got, pdf.b.groupby(pdf.a).sum())
    got = c(df.groupby(df.a % 3).e.mean())
    tm.assert_series_equal(got, pdf.groupby(pdf.a % 3).e.mean())


def test_groupby_tree_many_partitions(pdf):
    d = ddf.from_pandas(pdf, npartitions=25)
    tm.assert_series_equal(c(d.groupby("a").b.std(split_every=3)), pdf.groupby("a").b.std())


def test_apply_and_transform(df, pdf):
    f = lambda g: g.b.max() - g.b.min()  # noqa: E731
    got = c(df.groupby("a").apply(f, meta=(None, "f8"))).sort_index()
    exp = pdf.groupby("a").apply(f)
    tm.assert_series_equal(got, exp, check_names=False)
    got = c(df.groupby("c").e.transform(lambda s: s - s.mean())).sort_index()
    exp = pdf.groupby("c").e.transform(lambda s: s - s.mean()).sort_index()
    tm.assert_series_equal(got, exp)


def test_bad_aggregation_message(df):
    with pytest.raises(AttributeError, match="apply"):
        df.groupby("a").b.agg("median2")
    with pytest.raises(KeyError, match="columns"):
        df.groupby("nope")


@settings(max_examples=25, deadline=None)
@given(
    st.lists(st.tuples(st.integers(0, 4), st.one_of(st.none(), st.floats(-1e6, 1e6))), min_size=1, max_size=60),
    st.integers(1, 6),
    st.sampled_from(["sum", "mean", "count", "min", "max", "var"]),
)
def test_groupby_hypothesis(rows, nparts, how):
    pdf = pd.DataFrame(rows, columns=["k", "v"]).astype({"v": "float64"})
    d = ddf.from_pandas(pdf, npartitions=nparts, sort=False)
    got = c(getattr(d.groupby("k").v, how)())
    exp = getattr(pdf.groupby("k").v, how)()
    tm.assert_series_equal(got, exp, check_exact=False, rtol=1e-6, atol=1e-6)


@settings(max_examples=25, deadline=None)
@given(st.lists(st.one_of(st.none(), st.floats(-1e9, 1e9)), min_size=1, max_size=80), st.integers(1, 7))
def test_reductions_hypothesis(values, nparts):
    ps = pd.Series(values, dtype="float64")
    s = ddf.from_pandas(ps, npartitions=nparts)
    for how in ("sum", "mean", "min", "max", "count", "std"):
        got = c(getattr(s, how)())
        exp = getattr(ps, how)()
        if exp != exp:
            assert got != got
        else:
            assert got == pytest.approx(exp, rel=1e-6, abs=1e-3)
