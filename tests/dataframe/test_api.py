"""The frame/series API beyond reductions: every answer equals pandas, or a clear error."""
from __future__ import annotations

import inspect
from html.parser import HTMLParser

import numpy as np
import pandas as pd
import pytest

import shoal.array as sa
import shoal.dataframe as ddf


def _pdf(n: int = 40) -> pd.DataFrame:
    rs = np.random.RandomState(0)
    return pd.DataFrame({
        "s": rs.choice(list("abcdefghij"), n),
        "t": pd.date_range("2001-01-01", periods=n, freq="7h")[rs.permutation(n)],
        "x": rs.randint(0, 100, n),
        "f": np.where(rs.rand(n) < 0.2, np.nan, rs.randn(n)),
        "n": pd.array(np.where(rs.rand(n) < 0.2, None, rs.randint(0, 5, n)), dtype="Int64"),
        "c": pd.Categorical(rs.choice(["lo", "mid", "hi"], n), categories=["lo", "mid", "hi"], ordered=True),
    })


@pytest.fixture
def pdf() -> pd.DataFrame:
    return _pdf()


@pytest.fixture
def df(pdf: pd.DataFrame):
    return ddf.from_pandas(pdf, npartitions=8)


def _values(x: pd.DataFrame | pd.Series, cols=None) -> pd.DataFrame:
    x = x.to_frame() if isinstance(x, pd.Series) else x
    return (x[cols] if cols else x).reset_index(drop=True)


@pytest.mark.parametrize("col", ["s", "t", "x", "c", "n"])
def test_set_index_any_sortable_dtype_honours_npartitions(df, pdf, col):
    out = df.set_index(col, npartitions=4)
    assert 2 <= out.npartitions <= 4
    got = out.compute()
    exp = pdf.set_index(col).sort_index()
    pd.testing.assert_index_equal(got.index, exp.index)
    pd.testing.assert_frame_equal(got.sort_values(["x", "f"]), exp.sort_values(["x", "f"]), check_like=True)
    if out.known_divisions:
        parts = [out.get_partition(i).compute() for i in range(out.npartitions)]
        for i, p in enumerate(parts):
            if len(p):  # every partition's labels lie inside its divisions
                assert p.index.min() >= out.divisions[i]
                assert p.index.max() <= out.divisions[i + 1]


def test_set_index_string_and_datetime_divisions_are_known(df):
    for col in ("s", "t"):
        out = df.set_index(col, npartitions=4)
        assert out.known_divisions and out.npartitions == 4
        assert list(out.divisions) == sorted(out.divisions)


@pytest.mark.parametrize("by,ascending,na_position", [
    ("f", True, "last"), ("f", False, "first"), (["n", "x"], [False, True], "last"),
    (["c", "s"], True, "first"), ("s", False, "last"), ("t", True, "last"),
])
def test_sort_values_matches_pandas(df, pdf, by, ascending, na_position):
    got = df.sort_values(by, ascending=ascending, na_position=na_position, npartitions=3).compute()
    exp = pdf.sort_values(by, ascending=ascending, na_position=na_position)
    cols = by if isinstance(by, list) else [by]
    pd.testing.assert_frame_equal(_values(got, cols), _values(exp, cols))
    assert sorted(got.index) == sorted(exp.index)


def test_series_sort_values(df, pdf):
    got = df.f.sort_values(ascending=False).compute()
    pd.testing.assert_series_equal(got.reset_index(drop=True), pdf.f.sort_values(ascending=False).reset_index(drop=True))


def test_repartition_keeps_known_divisions(df, pdf):
    by_time = df.set_index("t")
    more = by_time.repartition(npartitions=16)
    assert more.known_divisions and more.npartitions == 16
    pd.testing.assert_frame_equal(more.compute(), pdf.set_index("t").sort_index())
    fewer = df.repartition(npartitions=3)
    assert fewer.known_divisions and fewer.npartitions == 3
    daily = by_time.repartition(freq="2D")
    assert all(d == d.floor("2D") for d in daily.divisions[1:-1])
    pd.testing.assert_frame_equal(daily.compute(), pdf.set_index("t").sort_index())
    with pytest.raises(ValueError):
        df.repartition(divisions=[5, 10])  # does not start where the data does
    assert ddf.repartition(pdf, divisions=[0, 10, 39]).npartitions == 2


@pytest.mark.parametrize("scheduler", ["sync", "threads", "processes"])
def test_cumulative_and_fill_across_partitions(df, pdf, scheduler):
    cols = ["f", "x", "n"]
    for how in ("cumsum", "cumprod", "cummax", "cummin"):
        pd.testing.assert_frame_equal(getattr(df[cols], how)().compute(scheduler=scheduler),
                                      getattr(pdf[cols], how)())
        pd.testing.assert_series_equal(getattr(df.f, how)(skipna=False).compute(scheduler=scheduler),
                                       getattr(pdf.f, how)(skipna=False))
    pd.testing.assert_frame_equal(df.ffill().compute(scheduler=scheduler), pdf.ffill())
    pd.testing.assert_frame_equal(df.bfill().compute(scheduler=scheduler), pdf.bfill())
    pd.testing.assert_series_equal(df.f.ffill(limit=1).compute(scheduler=scheduler), pdf.f.ffill(limit=1))
    pd.testing.assert_series_equal(df.f.fillna(method="bfill").compute(scheduler=scheduler), pdf.f.bfill())


def test_cumsum_runs_over_an_all_null_partition():
    pdf = pd.DataFrame({"a": [1.0, 2, np.nan, np.nan, np.nan, 5, np.nan, 1]})
    df = ddf.from_pandas(pdf, npartitions=4)
    pd.testing.assert_frame_equal(df.cumsum().compute(), pdf.cumsum())
    pd.testing.assert_frame_equal(df.ffill().compute(), pdf.ffill())


@pytest.mark.parametrize("periods", [0, 1, 3, 7, -1, -7])
def test_shift_and_diff_cross_partitions(df, pdf, periods):
    cols = ["f", "x"]
    pd.testing.assert_frame_equal(df[cols].shift(periods).compute(), pdf[cols].shift(periods))
    pd.testing.assert_frame_equal(df[cols].diff(periods).compute(), pdf[cols].diff(periods))
    with pytest.raises(TypeError):
        df.shift(1.5)


def test_structure_properties(df, pdf):
    assert df.shape[0].compute() == len(pdf) and df.shape[1] == pdf.shape[1]
    assert df.npartitions == 8 and len(df.divisions) == 9
    assert df.index.is_monotonic_increasing.compute()
    assert not df.x.is_monotonic_increasing.compute()
    # the sum over partitions (each categorical partition carries its own categories)
    num = ["s", "t", "x", "f", "n"]
    assert df[num].memory_usage(index=False).compute().equals(pdf[num].memory_usage(index=False))
    assert df.memory_usage_per_partition().compute().sum() > 0
    assert df.clear_divisions().known_divisions is False
    out = ddf.from_pandas(pdf, npartitions=8).iloc[:, [0, 2]]
    assert list(out.columns) == ["s", "x"]
    with pytest.raises(NotImplementedError):
        df.iloc[3]


def test_array_and_bag_round_trips(df, pdf):
    arr = df[["x", "f"]].to_dask_array(lengths=True)
    assert isinstance(arr, sa.Array)
    assert sum(arr.chunks[0]) == len(pdf)
    np.testing.assert_array_equal(arr.compute(), pdf[["x", "f"]].to_numpy())
    back = ddf.from_dask_array(arr, columns=["x", "f"])
    pd.testing.assert_frame_equal(back.compute(), pdf[["x", "f"]].astype(float).reset_index(drop=True))
    assert back.known_divisions
    np.testing.assert_array_equal(df.x.values.compute(), pdf.x.to_numpy())
    assert df[["s", "x"]].to_bag().compute() == list(pdf[["s", "x"]].itertuples(index=False, name=None))
    assert len(df.to_records().compute()) == len(pdf)


def test_categoricals(df, pdf):
    unknown = df.s.astype("category")
    assert not unknown.cat.known
    got = unknown.compute()
    assert isinstance(got.dtype, pd.CategoricalDtype)
    assert got.astype(str).tolist() == pdf.s.tolist()
    known = unknown.cat.as_known()
    assert known.cat.known and set(known.cat.categories) == set(pdf.s)
    assert not known.cat.as_unknown().cat.known
    cat = df.categorize(columns=["s"])
    assert cat.s.cat.known
    dummies = ddf.get_dummies(cat[["s", "x"]]).compute()
    pd.testing.assert_frame_equal(dummies, pd.get_dummies(pdf[["s", "x"]].astype({"s": cat.s.dtype})))
    with pytest.raises(NotImplementedError):
        ddf.get_dummies(df[["s"]])


def test_reshape(df, pdf):
    melted = ddf.melt(df[["x", "f"]], id_vars="x").compute()
    pd.testing.assert_frame_equal(melted.sort_values(["x", "value"]).reset_index(drop=True),
                                  pd.melt(pdf[["x", "f"]], id_vars="x").sort_values(["x", "value"]).reset_index(drop=True))
    for how in ("mean", "sum", "count"):
        got = ddf.pivot_table(df, index="x", columns="c", values="f", aggfunc=how).compute()
        exp = pdf.pivot_table(index="x", columns="c", values="f", aggfunc=how, observed=False)
        pd.testing.assert_frame_equal(got, exp.reindex(got.index), check_dtype=False, check_names=False)


def test_concat_different_columns(pdf):
    a = ddf.from_pandas(pdf[["x", "f"]], npartitions=2)
    b = ddf.from_pandas(pdf[["x", "s"]], npartitions=3)
    for join in ("outer", "inner"):
        got = ddf.concat([a, b], join=join).compute()
        exp = pd.concat([pdf[["x", "f"]], pdf[["x", "s"]]], join=join)
        pd.testing.assert_frame_equal(got, exp)


def test_misc_elementwise(df, pdf):
    pd.testing.assert_frame_equal(df.add_prefix("p_").compute(), pdf.add_prefix("p_"))
    pd.testing.assert_series_equal(df.x.add_suffix("_r").compute(), pdf.x.add_suffix("_r"))
    pd.testing.assert_frame_equal(df.replace({"a": "A"}).compute(), pdf.replace({"a": "A"}))
    got = (df[["x", "f"]] - df[["x", "f"]].max()).compute()
    pd.testing.assert_frame_equal(got, pdf[["x", "f"]] - pdf[["x", "f"]].max())
    a, b = df[["x"]].align(df[["f"]])
    ea, eb = pdf[["x"]].align(pdf[["f"]])
    pd.testing.assert_frame_equal(a.compute(), ea)
    pd.testing.assert_frame_equal(b.compute(), eb)
    parts = df.random_split([0.3, 0.7], random_state=1)
    assert sum(len(p) for p in parts) == len(pdf)
    pd.testing.assert_series_equal(df.x.isin([1, 2, 50]).compute(), pdf.x.isin([1, 2, 50]))
    pd.testing.assert_frame_equal(df.nsmallest(3, "x").compute(), pdf.nsmallest(3, "x"))


def test_assign_and_setitem(df, pdf):
    d = df.copy()
    d["y"] = d.x * 2
    d.x = d.x + 1
    del d["s"]
    exp = pdf.assign(y=pdf.x * 2, x=pdf.x + 1).drop(columns="s")
    pd.testing.assert_frame_equal(d.compute(), exp)
    with pytest.raises(TypeError):
        df.assign(z=list(range(len(pdf))))
    with pytest.raises(ValueError):
        df.copy(deep=True)


def test_unsupported_names_raise_not_implemented(df):
    with pytest.raises(NotImplementedError, match="to_xarray"):
        df.to_xarray()
    with pytest.raises(NotImplementedError, match="searchsorted"):
        df.x.searchsorted(3)
    assert not hasattr(df, "to_xarray")  # still an AttributeError for hasattr
    with pytest.raises(AttributeError):
        df.no_such_name


class _Cells(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.cells: list[str] = []
        self._in = False

    def handle_starttag(self, tag, attrs):
        self._in = tag in ("td", "th")

    def handle_endtag(self, tag):
        self._in = False

    def handle_data(self, data):
        if self._in and data.strip():
            self.cells.append(data.strip())


def test_repr_and_html_show_structure(df):
    text = repr(df)
    assert "DataFrame Structure" in text and "npartitions=8" in text
    for col, dtype in df.dtypes.items():
        assert col in text and str(dtype) in text
    p = _Cells()
    p.feed(df._repr_html_())
    assert {"s", "t", "x", "f", "n", "c"} <= set(p.cells)
    assert "int64" in p.cells and "npartitions=8" in p.cells
    assert p.cells.count("...") == 8 * 6
    assert str(df.divisions[0]) in p.cells


def test_public_methods_have_docstrings():
    missing = []
    for cls in (ddf.DataFrame, ddf.Series, ddf.Index, ddf.Scalar):
        for name in dir(cls):
            if name.startswith("_"):
                continue
            member = inspect.getattr_static(cls, name)
            target = member.fget if isinstance(member, property) else member
            target = getattr(target, "__func__", target)
            if callable(target) and not inspect.getdoc(target):
                missing.append(f"{cls.__name__}.{name}")
    missing += [n for n in ddf.__all__ if callable(getattr(ddf, n)) and not inspect.getdoc(getattr(ddf, n))]
    assert not missing, f"no docstring: {missing}"


@pytest.mark.parametrize("rule", ["1h", "90min", "7h", "D", "MS"])
def test_resample_matches_pandas(rule):
    rs = np.random.RandomState(1)
    idx = pd.date_range("2000-01-01 03:00", periods=400, freq="37min")
    idx = idx[np.sort(rs.choice(400, 150, replace=False))]
    pdf = pd.DataFrame({"x": rs.randint(0, 10, 150), "y": rs.randn(150)}, index=idx)
    df = ddf.from_pandas(pdf, npartitions=7)
    for how in ("sum", "mean", "count", "max", "first"):
        pd.testing.assert_frame_equal(getattr(df.resample(rule), how)().compute(), getattr(pdf.resample(rule), how)(),
                                      check_freq=False)
    pd.testing.assert_series_equal(df.x.resample(rule).sum().compute(), pdf.x.resample(rule).sum(), check_freq=False)
    agg = {"x": "sum", "y": "mean"}
    pd.testing.assert_frame_equal(df.resample(rule).agg(agg).compute(), pdf.resample(rule).agg(agg), check_freq=False)


def test_resample_refuses_right_closed_bins():
    pdf = pd.DataFrame({"x": range(10)}, index=pd.date_range("2000", periods=10, freq="10D"))
    with pytest.raises(NotImplementedError):
        ddf.from_pandas(pdf, npartitions=2).resample("ME")


def test_arithmetic_with_pandas_objects_pairs_rows_by_label():
    s = pd.Series(range(6))
    d = ddf.from_pandas(s, 3)
    pd.testing.assert_series_equal((d + s).compute(), s + s)
    pd.testing.assert_series_equal((s + d).compute(), s + s)
    frame = pd.DataFrame({"a": range(6), "b": np.arange(6.0)})
    f = ddf.from_pandas(frame, 2)
    pd.testing.assert_frame_equal((f + frame).compute(), frame + frame)
    pd.testing.assert_frame_equal((f - frame.sum()).compute(), frame - frame.sum())
    with pytest.raises(ValueError):
        d.clear_divisions() + s
    m = pd.Series({0: "a", 1: "b", 2: "c"})
    pd.testing.assert_series_equal(d.map(ddf.from_pandas(m, 2)).compute(), s.map(m))
    pd.testing.assert_series_equal(np.cos(d).compute(), np.cos(s))


def test_on_a_local_cluster(pdf):
    from shoal.distributed import Client, LocalCluster

    df = ddf.from_pandas(pdf, npartitions=5)
    with LocalCluster(n_workers=1, threads_per_worker=2) as cluster, Client(cluster):
        got = df.set_index("s", npartitions=3).compute()
        pd.testing.assert_index_equal(got.index, pdf.set_index("s").sort_index().index)
        pd.testing.assert_frame_equal(df[["x", "f"]].cumsum().compute(), pdf[["x", "f"]].cumsum())
        pd.testing.assert_frame_equal(df[["x", "f"]].shift(-3).compute(), pdf[["x", "f"]].shift(-3))
        by = ["x", "f"]
        got = df.sort_values(by, ascending=[False, True]).compute()
        pd.testing.assert_frame_equal(_values(got, by), _values(pdf.sort_values(by, ascending=[False, True]), by))


def test_split_out_and_ignore_index(df, pdf):
    vc = df.s.value_counts(split_out=3)
    assert vc.npartitions == 3
    pd.testing.assert_series_equal(vc.compute().sort_index(), pdf.s.value_counts().sort_index())
    dd_ = df[["s"]].drop_duplicates(split_out=2, ignore_index=True)
    assert dd_.npartitions == 2
    got = dd_.compute()
    assert list(got.index) == list(range(len(got)))
    assert sorted(got.s) == sorted(pdf.s.unique())
    pd.testing.assert_series_equal(df[["x", "f"]].nunique(axis=1).compute(), pdf[["x", "f"]].nunique(axis=1))


def test_arithmetic_with_row_aligned_arrays(pdf):
    df = ddf.from_pandas(pdf[["x", "f"]], npartitions=4)
    arr = (df.values + 1).astype(float)
    exp = pdf[["x", "f"]] + (pdf[["x", "f"]].to_numpy() + 1) + 1
    pd.testing.assert_frame_equal((df + arr + 1).compute(), exp)
    with pytest.raises(ValueError):
        df + sa.ones((len(pdf), 2), chunks=(len(pdf), 2))
    with pytest.raises(ValueError):
        df.get_partition(-1)


def test_tail_reads_back_past_a_short_last_partition():
    pdf = pd.DataFrame({"x": range(10)})
    d = ddf.from_pandas(pdf, npartitions=4)
    pd.testing.assert_frame_equal(d.tail(4), pdf.tail(4))
    pd.testing.assert_frame_equal(d.tail(4, compute=False).compute(), pdf.tail(4))
    pd.testing.assert_series_equal(d.x.tail(20), pdf.x.tail(20))


def test_autocorr_crosses_partitions():
    x = pd.Series(np.random.RandomState(3).random_sample(60))
    dx = ddf.from_pandas(x, npartitions=6)
    for lag in (0, 2, -3):
        assert np.isclose(dx.autocorr(lag).compute(), x.autocorr(lag))
    with pytest.raises(TypeError):
        dx.autocorr(1.5)


def test_rename_index_labels():
    s = pd.Series(list("abcdefg"), name="x")
    ds = ddf.from_pandas(s, 2)
    res = ds.rename(lambda i: i ** 2, sorted_index=True)
    assert res.known_divisions
    pd.testing.assert_series_equal(res.compute(), s.rename(lambda i: i ** 2))
    pd.testing.assert_series_equal(ds.rename(ds).compute(), s.rename(s))
    with pytest.raises(ValueError):
        ds.rename(lambda i: -i, sorted_index=True)
    assert not ds.rename(lambda i: -i).known_divisions
