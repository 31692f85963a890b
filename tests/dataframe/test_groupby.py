"""groupby aggregations, apply and transform against pandas."""
from __future__ import annotations

import warnings

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


# -- keys, options and methods beyond plain aggregation -------------------------------------
def _rich(n: int = 60) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    pdf = pd.DataFrame({"k": rng.integers(0, 4, n), "k2": rng.choice(["x", "y"], n), "v": rng.normal(size=n),
                        "w": rng.integers(0, 9, n), "s": rng.choice(list("abc"), n),
                        "c": pd.Categorical(rng.choice(["p", "q"], n), categories=["p", "q", "r"]),
                        "t": pd.date_range("2020", periods=n, freq="5h")})
    pdf.loc[3, "v"] = np.nan
    return pdf


def eq(got, exp, sort: bool = False):
    got = c(got)
    if sort:
        got, exp = got.sort_index(), exp.sort_index()
    (tm.assert_frame_equal if isinstance(exp, pd.DataFrame) else tm.assert_series_equal)(got, exp)


def test_sum_numeric_only_drops_strings():
    pdf = pd.DataFrame({"k": [0, 1, 1], "s": pd.Series(["a", "b", "c"], dtype=object)})
    eq(ddf.from_pandas(pdf, npartitions=2).groupby("k").sum(numeric_only=True), pdf.groupby("k").sum(numeric_only=True))
    pdf = _rich()
    d = ddf.from_pandas(pdf, npartitions=5)
    for how in ("sum", "mean", "min", "max", "var", "std", "prod", "first", "last"):
        eq(getattr(d.groupby("k"), how)(numeric_only=True), getattr(pdf.groupby("k"), how)(numeric_only=True))
    with pytest.raises(TypeError):
        d.groupby("k").mean()


def test_key_forms():
    pdf = _rich()
    d = ddf.from_pandas(pdf, npartitions=5)
    sub, psub = d[["k", "k2", "v", "w"]], pdf[["k", "k2", "v", "w"]]
    eq(sub.groupby(d.k).sum(), psub.groupby(pdf.k).sum())  # the frame's own column: left out
    eq(sub.groupby(d.k + 1).sum(), psub.groupby(pdf.k + 1).sum())  # a derived Series: kept
    eq(sub.groupby([d.k, d.k2]).v.mean(), psub.groupby([pdf.k, pdf.k2]).v.mean())
    eq(sub.groupby([d.k, "k2"]).mean(), psub.groupby([pdf.k, "k2"]).mean())
    eq(d.groupby(lambda i: i % 3).v.sum(), pdf.groupby(lambda i: i % 3).v.sum())
    pi = pdf.set_index("k").sort_index()
    di = ddf.from_pandas(pi, npartitions=4)
    eq(di.groupby(level="k").v.sum(), pi.groupby(level="k").v.sum())
    eq(di.groupby(level=0).w.max(), pi.groupby(level=0).w.max())
    g = pd.Grouper(key="t", freq="D")
    eq(d.groupby(g).w.sum(), pdf.groupby(g).w.sum())
    with pytest.raises(NotImplementedError):
        d.groupby(pd.Grouper(key="t", freq="7h"))


def test_observed_false_keeps_unobserved_categories():
    pdf = _rich()
    d = ddf.from_pandas(pdf, npartitions=5)
    aggs = ["sum", "count", "mean", "size", "nunique", "min"]
    eq(d.groupby("c", observed=False).v.agg(aggs), pdf.groupby("c", observed=False).v.agg(aggs))
    eq(d.groupby(["c", "k"], observed=False).w.sum(), pdf.groupby(["c", "k"], observed=False).w.sum())
    eq(d.groupby("c", observed=True).w.sum(), pdf.groupby("c", observed=True).w.sum())


def test_apply_meta_name_and_warning():
    pdf = _rich()
    d = ddf.from_pandas(pdf, npartitions=5)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        r = d.groupby("k").apply(lambda g: g.v.sum(), meta=("x", "f8"))
    eq(r, pdf.groupby("k").apply(lambda g: g.v.sum()).rename("x"), sort=True)
    with pytest.warns(UserWarning, match="meta"):
        d.groupby("k").v.transform(lambda s: s - s.mean())


@pytest.mark.parametrize("m", ["median", "idxmin", "idxmax", "cumsum", "cumprod", "cumcount", "cummax", "cummin",
                               "ffill", "bfill", "nunique", "first", "last", "std", "var", "sem", "prod", "size"])
def test_series_groupby_methods(m):
    pdf = _rich()
    d = ddf.from_pandas(pdf, npartitions=5)
    eq(getattr(d.groupby("k").v, m)(), getattr(pdf.groupby("k").v, m)())


@pytest.mark.parametrize("m", ["cumsum", "ffill", "bfill", "cumcount", "median", "var", "cov", "corr"])
def test_frame_groupby_methods(m):
    pdf = _rich()[["k", "v", "w"]]
    d = ddf.from_pandas(pdf, npartitions=5)
    eq(getattr(d.groupby("k"), m)(), getattr(pdf.groupby("k"), m)())


def test_rows_and_counts():
    pdf = _rich()
    d = ddf.from_pandas(pdf, npartitions=5)
    eq(d.groupby("k").head(2), pdf.groupby("k").head(2))
    eq(d.groupby("k").tail(2), pdf.groupby("k").tail(2))
    eq(d.groupby("k").v.shift(1), pdf.groupby("k").v.shift(1), sort=True)
    eq(d.groupby("k").get_group(2), pdf.groupby("k").get_group(2))
    eq(d.groupby("k").s.value_counts(), pdf.groupby("k").s.value_counts())
    eq(d.groupby("k").v.std(ddof=0), pdf.groupby("k").v.std(ddof=0))
    eq(d.groupby("k").v.sum(skipna=False), pdf.groupby("k").v.sum(skipna=False))
    eq(d.groupby("k").v.sum(min_count=14), pdf.groupby("k").v.sum(min_count=14))
    eq(d.groupby("k").v.agg(["sum", "median"]), pdf.groupby("k").v.agg(["sum", "median"]))
    kk, pkk = d.assign(kk=d.v.round()), pdf.assign(kk=pdf.v.round())
    eq(kk.groupby("kk", dropna=False).w.sum(), pkk.groupby("kk", dropna=False).w.sum())


def test_custom_aggregation_and_split_out():
    pdf = _rich()
    d = ddf.from_pandas(pdf, npartitions=5)
    mysum = ddf.Aggregation("mysum", lambda s: s.sum(), lambda s0: s0.sum())
    eq(d.groupby("k").v.agg(mysum), pdf.groupby("k").v.sum())
    mymean = ddf.Aggregation("mymean", lambda s: (s.count(), s.sum()), lambda n, s: (n.sum(), s.sum()),
                             lambda n, s: s / n)
    eq(d.groupby("k").agg({"v": mymean}), pdf.groupby("k").agg({"v": "mean"}))
    out = d.groupby("k", sort=False).v.sum(split_out=2)
    assert out.npartitions == 2
    eq(out, pdf.groupby("k").v.sum(), sort=True)


def test_var_of_large_offsets_is_stable():
    pdf = pd.DataFrame({"k": np.arange(400) % 3, "x": 1e9 + np.arange(400) * 1e-3})
    d = ddf.from_pandas(pdf, npartitions=7)
    # two-pass numpy per group is the precise reference (pandas' one-pass groupby var drifts here)
    exact = pdf.groupby("k").x.agg(lambda s: np.var(s.to_numpy(), ddof=1))
    tm.assert_series_equal(c(d.groupby("k").x.var()), exact, rtol=5e-6)


@pytest.mark.parametrize("nparts", [1, 2, 3])
def test_missing_keys_sort_last_with_dropna_false(nparts):
    pdf = pd.DataFrame({"k": [0, 0, 0], "ks": pd.Series([None, "a", None], dtype=object), "f": [1.0, 2.0, 3.0]})
    got = c(ddf.from_pandas(pdf, npartitions=nparts).groupby(["k", "ks"], dropna=False).f.sum())
    exp = pdf.groupby(["k", "ks"], dropna=False).f.sum()
    assert list(got.index) == [(0, "a"), (0, np.nan)] and list(got.values) == list(exp.values)
