"""Differential tests: random frames through shoal and pandas must agree.

Each example draws a small frame (ints, nullable ints, floats with NaN,
bools, strings with None, categoricals, datetimes with NaT; keys holding
None/NaN; skewed keys), splits it into 1-7 partitions (some empty), runs one
operation on both, and requires the same answer, or an error from shoal
where pandas errs too (or a NotImplementedError: a documented limitation).
Never a different answer.

``SHOAL_DIFF_EXAMPLES`` sets the examples per test (default 6, to keep the
normal suite fast; ``make difftest`` runs thousands, and shrinks failures).
"""
from __future__ import annotations

import os

import numpy as np
import pandas as pd
import pandas.testing as tm
import pytest
from hypothesis import HealthCheck, Phase, given, settings, strategies as st

import shoal.dataframe as ddf

EXAMPLES = int(os.environ.get("SHOAL_DIFF_EXAMPLES", "6"))
SETTINGS = settings(max_examples=EXAMPLES, deadline=None, derandomize=EXAMPLES <= 100,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
                    phases=[Phase.explicit, Phase.generate] + ([Phase.shrink] if EXAMPLES > 100 else []))
ERRORS = (TypeError, ValueError, KeyError, NotImplementedError, ZeroDivisionError, OverflowError, IndexError)


@st.composite
def frames(draw: st.DrawFn, min_rows: int = 0) -> pd.DataFrame:
    n = draw(st.integers(min_rows, 30))
    skew = draw(st.booleans())
    kvals = st.sampled_from([0, 0, 0, 0, 1, 2]) if skew else st.integers(0, 4)
    half = st.integers(-40, 40).map(lambda v: v / 2)  # exact in binary: sums do not depend on order
    cols = {
        "k": draw(st.lists(kvals, min_size=n, max_size=n)),
        "ks": draw(st.lists(st.sampled_from(["a", "b", "c", None]), min_size=n, max_size=n)),
        "kf": draw(st.lists(st.sampled_from([1.0, 2.0, np.nan]), min_size=n, max_size=n)),
        "i": draw(st.lists(st.integers(-100, 100), min_size=n, max_size=n)),
        "ni": draw(st.lists(st.one_of(st.none(), st.integers(-9, 9)), min_size=n, max_size=n)),
        "f": draw(st.lists(st.one_of(st.just(np.nan), half), min_size=n, max_size=n)),
        "b": draw(st.lists(st.booleans(), min_size=n, max_size=n)),
        "s": draw(st.lists(st.sampled_from(["x", "yy", "z", None]), min_size=n, max_size=n)),
        "c": draw(st.lists(st.sampled_from(["p", "q"]), min_size=n, max_size=n)),
        "t": draw(st.lists(st.one_of(st.none(), st.integers(0, 50)), min_size=n, max_size=n)),
    }
    pdf = pd.DataFrame({
        "k": pd.Series(cols["k"], dtype="int64"),
        "ks": pd.Series(cols["ks"], dtype=object),
        "kf": pd.Series(cols["kf"], dtype="float64"),
        "i": pd.Series(cols["i"], dtype="int64"),
        "ni": pd.array(cols["ni"], dtype="Int64"),
        "f": pd.Series(cols["f"], dtype="float64"),
        "b": pd.Series(cols["b"], dtype=bool),
        "s": pd.Series(cols["s"], dtype=object),
        "c": pd.Categorical(cols["c"], categories=["p", "q", "r"]),
        "t": pd.to_datetime(pd.Series([None if v is None else pd.Timestamp("2024-01-01") + pd.Timedelta(hours=v)
                                       for v in cols["t"]], dtype=object)),
    })
    pdf.index = pd.RangeIndex(n) * 3
    return pdf


@st.composite
def split(draw: st.DrawFn, min_rows: int = 0) -> tuple:
    """(pandas frame, the same in shoal) with 1-7 partitions, sometimes some of them empty."""
    pdf = draw(frames(min_rows))
    nparts = draw(st.integers(1, 7))
    if draw(st.booleans()) and len(pdf) > 2:
        # the first partitions end up empty
        cut = len(pdf) // 2
        pr = pdf.assign(row=np.arange(len(pdf)))
        d = ddf.from_pandas(pr, npartitions=nparts)
        return pdf[np.arange(len(pdf)) >= cut], d[d.row >= cut].drop(columns="row")
    return pdf, ddf.from_pandas(pdf, npartitions=nparts)


def _missing(x) -> bool:
    try:
        return bool(pd.isna(x))
    except (TypeError, ValueError):
        return False


def _plain(x):
    """Nullable numeric columns as float64 (pd.NA as NaN): a missing value is a missing value."""
    if isinstance(x, pd.Series):
        if isinstance(x.dtype, pd.api.extensions.ExtensionDtype) and pd.api.types.is_numeric_dtype(x.dtype) \
                and not pd.api.types.is_bool_dtype(x.dtype):
            return x.astype("float64")
        return x
    return pd.DataFrame({i: _plain(x.iloc[:, i]) for i in range(x.shape[1])}, index=x.index).set_axis(
        x.columns, axis=1)


def same(got, exp, ordered: bool = True, ignore_index: bool = False) -> None:
    """Equal as pandas would say, with NaN/NA/NaT as one missing value and a float tolerance."""
    if isinstance(exp, (pd.DataFrame, pd.Series)):
        assert type(got) is type(exp), (type(got), type(exp))
        got, exp = _plain(got), _plain(exp)
        if ignore_index:
            got, exp = got.reset_index(drop=True), exp.reset_index(drop=True)
        if not ordered:
            if isinstance(exp, pd.DataFrame):
                got, exp = _sorted_frame(got, not ignore_index), _sorted_frame(exp, not ignore_index)
            else:
                got, exp = got.sort_index(kind="stable"), exp.sort_index(kind="stable")
        if isinstance(exp, pd.DataFrame):
            tm.assert_frame_equal(got, exp, check_dtype=False, check_index_type=False, check_column_type=False,
                                  rtol=1e-6, atol=1e-8)
            for i in range(exp.shape[1]):
                if exp.iloc[:, i].dtype == object:
                    assert _missing_kinds(got.iloc[:, i]) == _missing_kinds(exp.iloc[:, i]), exp.columns[i]
        else:
            if exp.dtype == object or got.dtype == object:
                got = got.astype(object).where(got.notna(), None)
                exp = exp.astype(object).where(exp.notna(), None)
            tm.assert_series_equal(got, exp, check_dtype=False, check_index_type=False, rtol=1e-6, atol=1e-8)
        return
    if _missing(exp):
        assert _missing(got), (got, exp)
        return
    if isinstance(exp, (float, np.floating)):
        assert np.isclose(float(got), float(exp), rtol=1e-6, atol=1e-8), (got, exp)
        return
    assert got == exp, (got, exp)


def _missing_kinds(col: pd.Series) -> list:
    """Which missing value (None, NaN, NA, NaT) each row of an object column holds: pandas
    shows None and NaN as different labels, so a result must keep the one pandas gives."""
    return [type(v).__name__ if _missing(v) else "" for v in col]


def _sorted_frame(df: pd.DataFrame, with_index: bool = True) -> pd.DataFrame:
    df = df.reset_index() if with_index else df
    key = df.astype(str)
    order = key.sort_values(list(key.columns), kind="stable").index
    return df.loc[order].reset_index(drop=True)


def check(shoal_thunk, pandas_thunk, ordered: bool = True, ignore_index: bool = False,
          refusals: tuple = (NotImplementedError,)) -> None:
    try:
        exp = pandas_thunk()
    except ERRORS:
        with pytest.raises(ERRORS):
            got = shoal_thunk()
            if hasattr(got, "compute"):
                got.compute(scheduler="sync")
        return
    try:
        got = shoal_thunk()
        got = got.compute(scheduler="sync") if hasattr(got, "compute") else got
    except refusals:
        return  # a documented limitation, said out loud
    same(got, exp, ordered, ignore_index)


VALUE_COLUMNS = ["i", "ni", "f", "b", "s", "c", "t"]
REDUCTIONS = ["sum", "prod", "min", "max", "count", "mean", "var", "std", "sem", "skew", "kurt", "any", "all",
              "idxmin", "idxmax", "nunique"]


@SETTINGS
@given(split(), st.sampled_from(REDUCTIONS), st.booleans(), st.booleans(), st.sampled_from([0, 1, 2]),
       st.sampled_from([0, 1, 3]))
def test_frame_reductions(data, how, numeric_only, skipna, ddof, min_count):
    pdf, d = data
    kw: dict = {}
    if how not in ("any", "all", "nunique"):
        kw["numeric_only"] = numeric_only
    if how not in ("count", "nunique"):
        kw["skipna"] = skipna
    if how in ("var", "std", "sem"):
        kw["ddof"] = ddof
    if how in ("sum", "prod"):
        kw["min_count"] = min_count
    if how in ("any", "all"):
        pdf, d = pdf[["i", "f", "b"]], d[["i", "f", "b"]]
    check(lambda: getattr(d, how)(**kw), lambda: getattr(pdf, how)(**kw))


NUMERIC_ONLY = {"prod", "mean", "var", "std", "sem", "skew", "kurt", "median", "median_approximate"}


@SETTINGS
@given(split(), st.sampled_from(REDUCTIONS + ["median_approximate"]), st.sampled_from(VALUE_COLUMNS),
       st.booleans(), st.sampled_from([0, 1, 3]), st.sampled_from([0, 1, 2]))
def test_series_reductions(data, how, col, skipna, min_count, ddof):
    pdf, d = data
    kw: dict = {}
    if how not in ("count", "nunique", "median_approximate"):
        kw["skipna"] = skipna
    if how in ("sum", "prod"):
        kw["min_count"] = min_count
    if how in ("var", "std", "sem"):
        kw["ddof"] = ddof
    if how in NUMERIC_ONLY and col == "s" and (how == "prod" or pdf[col].isna().all()):
        # shoal refuses arithmetic on a string column up front (TypeError, as pandas does on any
        # string); pandas alone answers (NaN, or 1 for prod) when no value is a string
        with pytest.raises(TypeError):
            getattr(d[col], how)(**kw)
        return
    if how == "median_approximate":  # exact while partitions hold at most 1001 values
        check(lambda: d[col].median_approximate(), lambda: pdf[col].median())
        return
    check(lambda: getattr(d[col], how)(**kw), lambda: getattr(pdf[col], how)(**kw))


KEYS = ["k", "ks", "kf", "c", ["k", "ks"], ["kf", "k"]]
GB_AGGS = ["sum", "mean", "min", "max", "count", "size", "var", "std", "first", "last", "nunique", "prod",
           "median"]


@SETTINGS
@given(split(), st.sampled_from(KEYS), st.sampled_from(GB_AGGS), st.booleans(), st.booleans(),
       st.sampled_from([None, "f", "i", ["f", "b"]]), st.booleans(), st.booleans(), st.sampled_from([0, 1, 2]))
def test_groupby_aggregations(data, by, how, dropna, numeric_only, selection, sort, observed, extra):
    pdf, d = data
    kw: dict = {}
    if how not in ("count", "size", "nunique", "median"):
        kw["numeric_only"] = numeric_only
    if how in ("var", "std"):
        kw["ddof"] = extra
    if how in ("sum", "prod"):
        kw["min_count"] = extra

    def run(frame):
        g = frame.groupby(by, dropna=dropna, observed=observed, sort=sort)
        if selection is not None:
            g = g[selection]
            kw.pop("numeric_only", None) if not isinstance(selection, list) else None
        return getattr(g, how)(**kw)

    # without sort the order of groups is pandas' order of first appearance; a partitioned
    # groupby need not keep it (as Dask), so then compare the groups, not their order
    # arithmetic on the string column is refused up front (TypeError, as pandas does on any
    # string); pandas alone answers when the column holds no string
    refusals = (NotImplementedError, TypeError) if how in NUMERIC_ONLY and pdf["s"].isna().all() \
        else (NotImplementedError,)
    check(lambda: run(d), lambda: run(pdf), ordered=sort, refusals=refusals)


@SETTINGS
@given(split(), st.sampled_from(["k", "ks", "c"]), st.booleans())
def test_groupby_agg_lists_and_observed(data, by, observed):
    pdf, d = data
    spec = {"f": ["sum", "mean", "count"], "i": "max", "ni": ["min", "std"]}
    check(lambda: d.groupby(by, observed=observed).agg(spec), lambda: pdf.groupby(by, observed=observed).agg(spec))
    check(lambda: d.groupby(by, observed=observed).f.sum(), lambda: pdf.groupby(by, observed=observed).f.sum())


@SETTINGS
@given(split(), st.sampled_from(["cumsum", "cumcount", "cummax", "ffill", "bfill", "head", "tail"]),
       st.sampled_from(["k", "ks"]))
def test_groupby_scans(data, how, by):
    pdf, d = data
    check(lambda: getattr(d.groupby(by).f, how)(), lambda: getattr(pdf.groupby(by).f, how)())


@SETTINGS
@given(split(), split(), st.sampled_from(["inner", "left", "right", "outer", "leftsemi"]),
       st.sampled_from(["k", "ks", ["k", "c"]]))
def test_merges(a, b, how, on):
    pa, da = a
    pb, db = b
    pb, db = pb[["k", "ks", "c", "f"]], db[["k", "ks", "c", "f"]]
    if how == "leftsemi":
        return  # not a pandas join kind
    # a partitioned merge numbers rows per partition (as Dask): compare rows, not the index
    check(lambda: da.merge(db, how=how, on=on), lambda: pa.merge(pb, how=how, on=on), ordered=False,
          ignore_index=True)


@SETTINGS
@given(split(), st.sampled_from(["k", "f", "ks", "t", "i"]), st.booleans())
def test_set_index_and_sort_values(data, col, ascending):
    pdf, d = data
    check(lambda: d.sort_values(col, ascending=ascending), lambda: pdf.sort_values(col, ascending=ascending),
          ordered=False)
    check(lambda: d.set_index(col), lambda: pdf.set_index(col), ordered=False)


@SETTINGS
@given(split(), st.sampled_from([None, ["k"], ["ks", "c"]]), st.sampled_from(["first", "last"]))
def test_drop_duplicates(data, subset, keep):
    pdf, d = data
    cols = ["k", "ks", "c", "b"]
    check(lambda: d[cols].drop_duplicates(subset=subset, keep=keep),
          lambda: pdf[cols].drop_duplicates(subset=subset, keep=keep), ordered=False)


@SETTINGS
@given(split(), st.sampled_from(["k", "ks", "kf", "c", "b", "t", "ni"]), st.booleans(), st.booleans())
def test_value_counts_and_nunique(data, col, dropna, normalize):
    pdf, d = data
    check(lambda: d[col].value_counts(dropna=dropna, normalize=normalize),
          lambda: pdf[col].value_counts(dropna=dropna, normalize=normalize), ordered=False)
    check(lambda: d[col].nunique(dropna=dropna), lambda: pdf[col].nunique(dropna=dropna))


@pytest.mark.parametrize("vals", [[None], [None, 1], [None, 0], [0, 0, None, 0], [1, None, 0]])
@pytest.mark.parametrize("how", ["any", "all"])
def test_any_all_of_nullable_ints_without_skipna(vals, how):
    # a partition's answer can be NA; the partitions combine with pandas' three-valued logic
    pdf = pd.DataFrame({"ni": pd.array(vals, dtype="Int64"), "i": range(len(vals))})
    for n in (1, 2, 3):
        d = ddf.from_pandas(pdf, npartitions=n)
        check(lambda: getattr(d.ni, how)(skipna=False), lambda: getattr(pdf.ni, how)(skipna=False))
        check(lambda: getattr(d, how)(skipna=False), lambda: getattr(pdf, how)(skipna=False))


@pytest.mark.parametrize("how", ["first", "last"])
@pytest.mark.parametrize("by", ["c", ["c", "k"]])
def test_groupby_first_last_of_unobserved_categories_is_none(how, by):
    # pandas labels an empty group's first/last in an object column None (min/max: NaN)
    pdf = pd.DataFrame({"c": pd.Categorical(["p", "p"], categories=["p", "q", "r"]), "k": [1, 1],
                        "s": pd.Series(["x", None], dtype=object), "f": [1.0, 2.0]})
    for n in (1, 2):
        d = ddf.from_pandas(pdf, npartitions=n)
        check(lambda: getattr(d.groupby(by, observed=False), how)(),
              lambda: getattr(pdf.groupby(by, observed=False), how)())
