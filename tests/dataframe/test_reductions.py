"""Frame and series reductions against pandas: numeric_only, skipna, min_count, ddof, empty partitions."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pandas.testing as tm
import pytest

import shoal.dataframe as ddf


def c(x):
    return x.compute(scheduler="sync")


def same(got: pd.Series, exp: pd.Series, **kw) -> None:
    """Equal, counting NaN and pd.NA in object results as the same missing value."""
    if exp.dtype == object:
        got, exp = got.astype(object).where(got.notna(), None), exp.where(exp.notna(), None)
    tm.assert_series_equal(got, exp, **kw)


def mixed() -> pd.DataFrame:
    return pd.DataFrame({
        "i": [1, 2, 3, 4, 5, 6, 7, 8],
        "f": [1.5, np.nan, -2.0, 4.0, np.nan, 1e6, 3.0, 0.5],
        "b": [True, False, True, True, False, True, False, False],
        "n": pd.array([1, None, 3, 4, None, 6, 7, 8], dtype="Int64"),
        "s": list("abcdefgh"),
        "t": pd.date_range("2021-01-01", periods=8, freq="D"),
    })


def test_mean_numeric_only_keeps_bool_columns():
    pdf = pd.DataFrame({"k": [0, 1, 1], "b": [True, False, True]})
    got = c(ddf.from_pandas(pdf, npartitions=2).mean(numeric_only=True))
    tm.assert_series_equal(got, pdf.mean(numeric_only=True))
    for how in ("std", "var", "sum"):
        tm.assert_series_equal(c(getattr(ddf.from_pandas(pdf, npartitions=2), how)(numeric_only=True)),
                               getattr(pdf, how)(numeric_only=True))


@pytest.mark.parametrize("how", ["sum", "prod", "min", "max", "count", "mean", "var", "std", "sem", "skew",
                                 "kurt", "idxmin", "idxmax"])
@pytest.mark.parametrize("skipna", [True, False])
def test_frame_reductions_numeric_only(how, skipna):
    pdf = mixed()
    d = ddf.from_pandas(pdf, npartitions=3)
    kw = {"numeric_only": True}
    if how != "count":
        kw["skipna"] = skipna
    try:
        exp = getattr(pdf, how)(**kw)
    except ValueError as e:  # idxmin with skipna=False and NaN
        with pytest.raises(type(e)):
            c(getattr(d, how)(**kw))
        return
    same(c(getattr(d, how)(**kw)), exp, rtol=1e-9)


def test_series_reductions_and_min_count():
    pdf = mixed()
    d = ddf.from_pandas(pdf, npartitions=4)
    for col in ("i", "f", "n", "b"):
        for how in ("sum", "min", "max", "mean", "var", "std", "count", "skew", "kurt", "sem"):
            got, exp = c(getattr(d[col], how)()), getattr(pdf[col], how)()
            assert np.isclose(float(got), float(exp), equal_nan=True, rtol=1e-9), (col, how, got, exp)
    for mc in (0, 1, 6, 7, 9):
        tm.assert_series_equal(c(d.sum(numeric_only=True, min_count=mc)), pdf.sum(numeric_only=True, min_count=mc))
        got, exp = c(d.f.sum(min_count=mc)), pdf.f.sum(min_count=mc)
        assert np.isclose(got, exp, equal_nan=True)
    for ddof in (0, 1, 2):
        tm.assert_series_equal(c(d.var(numeric_only=True, ddof=ddof)), pdf.var(numeric_only=True, ddof=ddof))


def test_non_numeric_raises_like_pandas():
    d = ddf.from_pandas(mixed(), npartitions=2)
    with pytest.raises(TypeError):
        d.mean()
    with pytest.raises(TypeError):
        d.s.mean()


def test_min_max_mixed_types_and_empty_partitions():
    pdf = mixed()
    d = ddf.from_pandas(pdf, npartitions=4)
    d = d[d.i > 4]  # the first partitions are empty
    sub = pdf[pdf.i > 4]
    same(c(d.min()), sub.min())
    same(c(d.max(skipna=False)), sub.max(skipna=False))
    assert np.isnan(c(d.f.max(skipna=False))) and np.isnan(sub.f.max(skipna=False))
    assert c(d.f.max()) == sub.f.max()


def test_large_offsets_keep_precision():
    x = 1e9 + np.arange(100) * 1e-3
    pdf = pd.DataFrame({"x": x})
    d = ddf.from_pandas(pdf, npartitions=7)
    assert np.isclose(c(d.x.var()), pdf.x.var(), rtol=1e-6)
    assert np.isclose(c(d.x.skew()), pdf.x.skew(), atol=1e-4)


def test_idx_and_mode_and_nunique():
    pdf = pd.DataFrame({"a": [3, 1, 1, 5, 5, 0], "b": [2.0, np.nan, 9.0, 9.0, 1.0, 2.0]},
                       index=list("pqrstu"))
    d = ddf.from_pandas(pdf, npartitions=3)
    tm.assert_series_equal(c(d.idxmax()), pdf.idxmax())
    assert c(d.b.idxmin()) == pdf.b.idxmin()
    tm.assert_series_equal(c(d.a.mode()), pdf.a.mode())
    tm.assert_series_equal(c(d.b.mode()), pdf.b.mode())
    nun = d.nunique()
    assert isinstance(nun, ddf.Series)
    tm.assert_series_equal(c(nun), pdf.nunique())
    with pytest.raises(ValueError):
        c(d.b.idxmax(skipna=False))


def test_axis1_and_median():
    pdf = mixed()[["i", "f"]]
    d = ddf.from_pandas(pdf, npartitions=2)
    tm.assert_series_equal(c(d.sum(axis=1)), pdf.sum(axis=1))
    tm.assert_series_equal(c(d.mean(axis=1)), pdf.mean(axis=1))
    one = ddf.from_pandas(pdf, npartitions=1)
    tm.assert_series_equal(c(one.median()), pdf.median())
    with pytest.raises(NotImplementedError, match="median_approximate"):
        d.median()
    assert np.isclose(c(d.i.median_approximate()), pdf.i.median())


def test_describe_is_lazy_and_keeps_datetimes():
    pdf = mixed()
    d = ddf.from_pandas(pdf, npartitions=3)
    desc = d.describe()
    assert isinstance(desc, ddf.DataFrame)
    got, exp = c(desc), pdf.describe()
    assert list(got.index) == list(exp.index) and list(got.columns) == list(exp.columns)
    tm.assert_frame_equal(got[["i", "f", "n"]].astype(float), exp[["i", "f", "n"]].astype(float))
    assert got.loc["max", "t"] == exp.loc["max", "t"] and got.loc["50%", "t"] == exp.loc["50%", "t"]
    tm.assert_series_equal(c(d.s.describe()), pdf.s.describe())
    got, exp = c(d.describe(include="all")), pdf.describe(include="all")
    assert list(got.index) == list(exp.index) and list(got.columns) == list(exp.columns)
    tm.assert_frame_equal(got[["s", "b"]], exp[["s", "b"]])


def test_value_counts_options():
    s = pd.Series(["x", "y", None, "x", "z", "x", None, "y"], name="v")
    d = ddf.from_pandas(s, npartitions=3)
    for kw in ({}, {"normalize": True}, {"dropna": False}, {"ascending": True}, {"sort": False}):
        got, exp = c(d.value_counts(**kw)), s.value_counts(**kw)
        tm.assert_series_equal(got.sort_index(), exp.sort_index())


def test_cov_corr_frame_and_series():
    rng = np.random.default_rng(1)
    a = rng.normal(size=(40, 3)) * 3 + 1e6
    a[rng.random((40, 3)) < 0.2] = np.nan
    pdf = pd.DataFrame(a, columns=list("xyz")).assign(s="q")
    d = ddf.from_pandas(pdf, npartitions=5)
    tm.assert_frame_equal(c(d.cov(numeric_only=True)), pdf.cov(numeric_only=True), rtol=1e-7)
    tm.assert_frame_equal(c(d.corr(numeric_only=True)), pdf.corr(numeric_only=True), rtol=1e-7)
    # (pandas ignores ddof when values are missing, so compare ddof on complete data)
    full, dfull = pdf.fillna(0.0), d.fillna(0.0)
    tm.assert_frame_equal(c(dfull.cov(numeric_only=True, ddof=0)), full.cov(numeric_only=True, ddof=0), rtol=1e-7)
    assert np.isclose(c(d.x.cov(d.y)), pdf.x.cov(pdf.y))
    assert np.isclose(c(d.x.corr(d.z)), pdf.x.corr(pdf.z))
    assert np.isnan(c(d.x.corr(d.y, min_periods=100)))
    with pytest.raises(ValueError):
        d.cov()


@pytest.mark.parametrize("values", [
    ["a", None, "b", "a", None],
    ["a", np.nan, "b", None],  # None and NaN are different labels in an object column
    [1, "a", None, 1],
])
def test_value_counts_keeps_missing_labels_of_object_columns(values):
    s = pd.Series(values, dtype=object)
    for normalize in (False, True):
        expected = s.value_counts(dropna=False, normalize=normalize)
        got = ddf.from_pandas(s, npartitions=2).value_counts(dropna=False, normalize=normalize).compute()
        pd.testing.assert_series_equal(got, expected)


def test_frame_prod_of_an_overflowing_int_column_wraps_as_pandas_does():
    pdf = pd.DataFrame({"i": [1, 10, 21, 23, 29, 34, 44, 49, 52, 58, 60, 69, 72], "f": np.nan,
                        "n": pd.array([None] * 13, dtype="Int64")})
    for how in ("prod", "sum"):
        expected = getattr(pdf, how)()
        got = getattr(ddf.from_pandas(pdf, npartitions=3), how)().compute()
        tm.assert_series_equal(got, expected)


def test_median_approximate_of_bool_columns_counts_them_as_numbers():
    s = pd.Series([False, True, True, False, True])
    assert ddf.from_pandas(s, npartitions=2).median_approximate().compute() == s.median()
    pdf = pd.DataFrame({"b": [False, True, True], "x": [1.0, 2.0, 3.0]})
    got = ddf.from_pandas(pdf, npartitions=2).median_approximate().compute()
    tm.assert_series_equal(got, pdf.median())
