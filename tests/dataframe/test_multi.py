"""merge/join (broadcast, aligned, shuffled), concat, set_index, sort_values, shuffle."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pandas.testing as tm
import pytest

import shoal.dataframe as ddf


def c(x):
    return x.compute(scheduler="sync")


def norm(df, by):
    return df.sort_values(by).reset_index(drop=True)


@pytest.fixture
def right():
    rng = np.random.default_rng(1)
    return pd.DataFrame({"a": np.arange(0, 12), "label": [f"L{i}" for i in range(12)],
                         "w": rng.normal(size=12)})


@pytest.mark.parametrize("how", ["inner", "left"])
def test_merge_broadcast_pandas_and_one_partition(df, pdf, right, how):
    exp = norm(pdf.merge(right, on="a", how=how), ["a", "b", "e"])
    got = df.merge(right, on="a", how=how)
    assert "broadcast" in got._name
    tm.assert_frame_equal(norm(c(got), ["a", "b", "e"]), exp)
    r1 = ddf.from_pandas(right, npartitions=1)
    got = ddf.merge(df, r1, on="a", how=how)
    assert "broadcast" in got._name
    tm.assert_frame_equal(norm(c(got), ["a", "b", "e"]), exp)


@pytest.mark.parametrize("how", ["inner", "left", "right", "outer"])
def test_merge_shuffle(df, pdf, right, how):
    r3 = ddf.from_pandas(right, npartitions=3)
    got = df.merge(r3, on="a", how=how)
    assert "broadcast" not in got._name
    exp = norm(pdf.merge(right, on="a", how=how), ["a", "b", "e", "label"])
    tm.assert_frame_equal(norm(c(got), ["a", "b", "e", "label"]), exp)


def test_merge_left_right_on_and_dtype_error(df, pdf, right):
    r = right.rename(columns={"a": "key"})
    got = df.merge(ddf.from_pandas(r, npartitions=2), left_on="a", right_on="key", broadcast=False)
    exp = pdf.merge(r, left_on="a", right_on="key")
    tm.assert_frame_equal(norm(c(got), ["a", "b", "e"]), norm(exp, ["a", "b", "e"]))
    bad = ddf.from_pandas(r.astype({"key": "float64"}), npartitions=2)
    with pytest.raises(TypeError, match="astype"):
        df.merge(bad, left_on="a", right_on="key", broadcast=False)


def test_join_on_index(pdf):
    left = ddf.from_pandas(pdf[["a", "b"]], npartitions=4)
    other = pdf[["e"]].iloc[::3] * 10
    right = ddf.from_pandas(other, npartitions=3)
    got = c(left.join(right, how="inner"))
    tm.assert_frame_equal(got.sort_index(), pdf[["a", "b"]].join(other, how="inner"))
    got = c(left.clear_divisions().join(right.clear_divisions(), how="left"))
    tm.assert_frame_equal(got.sort_index(), pdf[["a", "b"]].join(other, how="left"))


def test_concat(pdf):
    a = ddf.from_pandas(pdf.iloc[:100], npartitions=2)
    b = ddf.from_pandas(pdf.iloc[100:], npartitions=3)
    out = ddf.concat([a, b])
    assert out.npartitions == 5 and out.known_divisions
    tm.assert_frame_equal(c(out), pdf)
    mixed = ddf.concat([a[["a", "b"]], b[["b", "c"]]])
    tm.assert_frame_equal(c(mixed), pd.concat([pdf.iloc[:100][["a", "b"]], pdf.iloc[100:][["b", "c"]]]))
    side = ddf.concat([a.a, a.b], axis=1)
    tm.assert_frame_equal(c(side), pd.concat([pdf.iloc[:100].a, pdf.iloc[:100].b], axis=1))


def test_set_index(df, pdf):
    out = df.set_index("e")
    assert out.known_divisions
    got = c(out)
    assert got.index.is_monotonic_increasing
    exp = pdf.set_index("e").sort_index()
    tm.assert_frame_equal(got.sort_values(["e", "d"]), exp.sort_values(["e", "d"]))
    # divisions are honest: every partition's index lies in its range
    for i in range(out.npartitions):
        part = c(out.partitions[i])
        if len(part):
            assert part.index.min() >= out.divisions[i]
            assert part.index.max() <= out.divisions[i + 1]
    # loc uses them
    tm.assert_frame_equal(c(out.loc[0:2]).sort_values(["e", "d"]),
                          exp.loc[0:2].sort_values(["e", "d"]))


def test_sort_values(df, pdf):
    got = c(df.sort_values("b"))
    assert list(got.b.dropna()) == sorted(pdf.b.dropna())
    assert got.b.isna().sum() == pdf.b.isna().sum()
    got = c(df.sort_values("a", ascending=False))
    assert list(got.a) == sorted(pdf.a, reverse=True)


def test_shuffle_groups_together(df, pdf):
    s = df.shuffle("a", npartitions=3)
    parts = [c(s.partitions[i]) for i in range(3)]
    seen = {}
    for i, p in enumerate(parts):
        for k in p.a.unique():
            assert seen.setdefault(k, i) == i
    tm.assert_frame_equal(pd.concat(parts).sort_index(), pdf)


def test_merge_object_and_str_keys_shuffle(pdf):
    left = ddf.from_pandas(pdf[["c", "a"]], npartitions=3)
    right_p = pd.DataFrame({"c": pd.Series(["apple", "date", "kiwi"], dtype=object), "price": [1.0, 2.0, 3.0]})
    right = ddf.from_pandas(right_p, npartitions=2)
    got = c(left.merge(right, on="c", how="inner", broadcast=False))
    exp = pdf[["c", "a"]].merge(right_p, on="c")
    assert len(got) == len(exp) and got.price.sum() == exp.price.sum()


@pytest.mark.parametrize("join", ["outer", "inner"])
def test_concat_join_interleave_and_ignore_index(join):
    a = pd.DataFrame({"x": range(10), "y": np.arange(10.0)}, index=range(0, 20, 2))
    b = pd.DataFrame({"x": range(6), "z": list("abcdef")}, index=range(1, 12, 2))
    da, db = ddf.from_pandas(a, 3), ddf.from_pandas(b, 2)
    pd.testing.assert_frame_equal(ddf.concat([da, db], join=join).compute(), pd.concat([a, b], join=join))
    inter = ddf.concat([da, db], join=join, interleave_partitions=True)
    assert inter.known_divisions
    pd.testing.assert_frame_equal(inter.compute(), pd.concat([a, b], join=join).sort_index(kind="stable"))
    pd.testing.assert_frame_equal(ddf.concat([da, db], join=join, ignore_index=True).compute(),
                                  pd.concat([a, b], join=join, ignore_index=True))
    left, right = a[["x"]], a[["y"]].iloc[2:]
    pd.testing.assert_frame_equal(
        ddf.concat([ddf.from_pandas(left, 2), ddf.from_pandas(right, 2)], axis=1, join=join).compute(),
        pd.concat([left, right], axis=1, join=join))


def _labels(df):
    """Rows as reprs, so None and NaN count as different labels."""
    return sorted(tuple(repr(v) for v in r) for r in df.itertuples(index=False))


@pytest.mark.parametrize("how", ["right", "outer", "left", "inner"])
@pytest.mark.parametrize("parts", [(2, 2), (1, 3), (3, 1)])
def test_merge_object_keys_label_missing_as_pandas(how, parts):
    # pandas turns a right-only None key into NaN when some row of the whole result has a
    # left row and the right keys are strings; a partition holding only right-only rows
    # cannot see that alone
    a = pd.DataFrame({"ks": pd.Series(["a"], dtype=object), "x": [0]})
    b = pd.DataFrame({"ks": pd.Series([None, np.nan, "a", "a"], dtype=object), "y": [0, 1, 2, 3]})
    for bc in (None, False):
        got = c(ddf.from_pandas(a, parts[0]).merge(ddf.from_pandas(b, parts[1]), how=how, on="ks", broadcast=bc))
        assert _labels(got) == _labels(a.merge(b, how=how, on="ks"))


@pytest.mark.parametrize("how", ["right", "outer"])
def test_merge_object_keys_keep_none_where_pandas_does(how):
    # a right key that is not a string (5), or no left row at all: pandas keeps None
    a = pd.DataFrame({"ks": pd.Series(["a", "b"], dtype=object), "k": [1, 1], "x": [0, 1]})
    b = pd.DataFrame({"ks": pd.Series(["a", None, 5, "b"], dtype=object), "k": [1, 0, 0, 1], "y": [0, 1, 2, 3]})
    for frame in (a, a.iloc[:0]):
        for on in ("ks", ["ks", "k"]):
            got = c(ddf.from_pandas(frame, 2).merge(ddf.from_pandas(b, 3), how=how, on=on, broadcast=False))
            assert _labels(got) == _labels(frame.merge(b, how=how, on=on))


def test_hash_shuffle_puts_equal_object_keys_together_whatever_else_the_column_holds():
    """pandas hashes a datetime in an object column by what the rest of the column holds; the
    hash shuffle must not, or equal keys land apart and merge rows are lost."""
    import datetime as dt

    from shoal.dataframe.shuffle import hash_partitions

    a = pd.DataFrame({"ks": pd.Series(["a", dt.datetime(2024, 1, 1), "a", "a", None], dtype=object),
                      "x": range(5)})
    b = pd.DataFrame({"ks": pd.Series(["a", dt.datetime(2024, 1, 1)], dtype=object), "y": range(2)})
    got = ddf.from_pandas(a, 2).merge(ddf.from_pandas(b, 2), on="ks", broadcast=False).compute()
    exp = a.merge(b, on="ks")
    pd.testing.assert_frame_equal(got.sort_values("x").reset_index(drop=True), exp.sort_values("x").reset_index(drop=True))
    # equal values (and every kind of missing value) hash alike across columns of different make-up
    one = pd.DataFrame({"k": pd.Series([1, "s", None, dt.datetime(2024, 1, 1), dt.timedelta(days=1)], dtype=object)})
    other = pd.DataFrame({"k": pd.Series([1.0, "s", np.nan, pd.Timestamp("2024-01-01"), pd.Timedelta("1D")],
                                         dtype=object)})
    only_dates = pd.DataFrame({"k": pd.Series([dt.datetime(2024, 1, 1), pd.NA], dtype=object)})
    h1, h2, h3 = (hash_partitions(f, "k", 10_000) for f in (one, other, only_dates))
    assert list(h1) == list(h2)
    assert list(h3) == [h1[3], h1[2]]
