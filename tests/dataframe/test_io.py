"""read_csv (globs, compression, blocks, options, dtype checks, projection), to_csv, parquet."""
from __future__ import annotations

import bz2
import gzip
import lzma
import os

import numpy as np
import pandas as pd
import pandas.testing as tm
import pytest

import shoal
import shoal.dataframe as ddf
from shoal.dataframe.io.csv import read_csv_part


def c(x):
    return x.compute(scheduler="sync")


@pytest.fixture
def frames():
    rng = np.random.default_rng(3)
    out = []
    for k in range(3):
        n = 150 + 10 * k
        out.append(pd.DataFrame({
            "id": np.arange(n) + 1000 * k,
            "name": rng.choice(["Zoë", "Åsa", "Bob", "Chloé"], n),
            "x": rng.normal(size=n).round(4),
            "when": pd.date_range("2021-01-01", periods=n, freq="h").strftime("%Y-%m-%d %H:%M:%S"),
        }))
    return out


def write(frames, tmp_path, ext="", encoding="utf-8"):
    paths = []
    for i, f in enumerate(frames):
        p = tmp_path / f"part{i}.csv{ext}"
        data = f.to_csv(index=False).encode(encoding)
        opener = {"": open, ".bz2": bz2.open, ".gz": gzip.open, ".xz": lzma.open}[ext]
        with opener(p, "wb") as fh:
            fh.write(data)
        paths.append(str(p))
    return paths


def expected(frames, **kw):
    return pd.concat(frames, ignore_index=True).astype(kw.get("astype", {}))


@pytest.mark.parametrize("ext", ["", ".bz2", ".gz", ".xz"])
def test_glob_and_compression(frames, tmp_path, ext):
    write(frames, tmp_path, ext)
    d = ddf.read_csv(str(tmp_path / f"*.csv{ext}"))
    assert d.npartitions == 3  # one per file (plain files smaller than a block)
    got = c(d).reset_index(drop=True)
    tm.assert_frame_equal(got, pd.concat(frames, ignore_index=True))


def test_blocks_are_line_aligned(frames, tmp_path):
    paths = write(frames, tmp_path)
    d = ddf.read_csv(paths, blocksize=997)
    assert d.npartitions > 10
    got = c(d).reset_index(drop=True)
    tm.assert_frame_equal(got, pd.concat(frames, ignore_index=True))


def test_list_encoding_usecols_parse_dates_path_column(frames, tmp_path):
    paths = write(frames, tmp_path, ".gz", encoding="latin1")
    d = ddf.read_csv(paths[:2], encoding="latin1", usecols=["id", "name", "when"], parse_dates=["when"],
                     include_path_column=True)
    got = c(d).reset_index(drop=True)
    exp = pd.concat(frames[:2], ignore_index=True)[["id", "name", "when"]]
    exp["when"] = pd.to_datetime(exp["when"])
    tm.assert_frame_equal(got[["id", "name", "when"]], exp, check_dtype=False)
    assert got["when"].dtype.kind == "M"
    assert list(got.path.cat.categories) == paths[:2]
    assert (got.path.astype(str) == [paths[0]] * 150 + [paths[1]] * 160).all()


def test_dtype_override(frames, tmp_path):
    paths = write(frames, tmp_path)
    d = ddf.read_csv(paths, dtype={"id": "float64", "name": "category"})
    assert d.dtypes["id"] == np.float64
    got = c(d)
    assert got["id"].dtype == np.float64 and got.name.dtype == "category"


def test_dtype_mismatch_error_names_file_column_and_fix(tmp_path):
    a = tmp_path / "a.csv"
    b = tmp_path / "b.csv"
    a.write_text("k,v\n" + "".join(f"{i},{i}\n" for i in range(50)))
    b.write_text("k,v\n" + "".join(f"{i},{'NA' if i % 7 == 0 else i}\n" for i in range(50)))
    d = ddf.read_csv(str(tmp_path / "*.csv"))
    assert d.dtypes["v"] == np.int64
    with pytest.raises(ddf.DtypeMismatchError) as err:
        c(d)
    msg = str(err.value)
    assert str(b) in msg and "'v'" in msg and "float64" in msg and "int64" in msg
    assert "dtype={'v': 'float64'}" in msg
    # the suggested fix works
    fixed = c(ddf.read_csv(str(tmp_path / "*.csv"), dtype={"v": "float64"}))
    assert fixed.v.isna().sum() == 8


def test_bad_paths(tmp_path):
    pattern = str(tmp_path / "nothing-*.csv")
    with pytest.raises(FileNotFoundError, match="nothing-"):
        ddf.read_csv(pattern)
    with pytest.raises(FileNotFoundError, match="missing.csv"):
        ddf.read_csv([str(tmp_path / "missing.csv")])


def _optimized(colls):
    from shoal.core.graph import flatten_keys, merge_graphs
    from shoal.dataframe.optimize import optimize

    colls = colls if isinstance(colls, list) else [colls]
    keys = [k for cc in colls for k in flatten_keys(cc.__shoal_keys__())]
    return optimize(merge_graphs([cc.__shoal_graph__() for cc in colls]), keys)


def _read_columns(coll):
    graph = _optimized(coll)
    return [v.args[1] for v in graph.values() if getattr(v, "func", None) is read_csv_part]


def test_projection_pushed_into_reader(frames, tmp_path, monkeypatch):
    write(frames, tmp_path, ".bz2")
    d = ddf.read_csv(str(tmp_path / "*.csv.bz2"))
    assert _read_columns(d.x.max()) == [["x"]] * 3
    sub = d[d.name == "Bob"]
    cols = _read_columns(sub.groupby("id").x.mean())
    assert all(sorted(cc) == ["id", "name", "x"] for cc in cols)
    assert _read_columns(d) == [None] * 3
    # and the answers are right
    full = pd.concat(frames, ignore_index=True)
    assert c(d.x.max()) == full.x.max()
    psub = full[full.name == "Bob"]
    tm.assert_series_equal(c(sub.groupby("id").x.mean()), psub.groupby("id").x.mean())


def test_compute_two_results_reads_each_file_once(frames, tmp_path, monkeypatch):
    write(frames, tmp_path, ".gz")
    import shoal.dataframe.io.csv as csvmod

    calls = []
    orig = csvmod._read_bytes

    def counting(fs, path, *a):
        calls.append(path)
        return orig(fs, path, *a)

    monkeypatch.setattr(csvmod, "_read_bytes", counting)
    d = ddf.read_csv(str(tmp_path / "*.csv.gz"))
    a, b = shoal.compute(d.x.max(), d[d.name == "Bob"].id.count(), scheduler="sync")
    assert len(calls) == 3 and len(set(calls)) == 3
    full = pd.concat(frames, ignore_index=True)
    assert a == full.x.max() and b == (full.name == "Bob").sum()
    # the shared read parsed the union of the needed columns
    reads = _read_columns([d.x.max(), d[d.name == "Bob"].id.count()])
    assert len(reads) == 3 and all(sorted(r) == ["id", "name", "x"] for r in reads)


def test_to_csv_roundtrip(frames, tmp_path):
    d = ddf.from_pandas(pd.concat(frames, ignore_index=True), npartitions=3)
    out = d.to_csv(str(tmp_path / "out-*.csv"), index=False)
    assert len(out) == 3 and all(os.path.exists(p) for p in out)
    back = c(ddf.read_csv(str(tmp_path / "out-*.csv")))
    tm.assert_frame_equal(back.reset_index(drop=True), pd.concat(frames, ignore_index=True))
    single = d.to_csv(str(tmp_path / "all.csv.gz"), single_file=True, index=False)
    tm.assert_frame_equal(pd.read_csv(single[0]), pd.concat(frames, ignore_index=True))


def test_parquet_roundtrip_columns_filters(frames, tmp_path):
    full = pd.concat(frames, ignore_index=True)
    d = ddf.from_pandas(full, npartitions=4)
    d.to_parquet(str(tmp_path / "pq"))
    back = ddf.read_parquet(str(tmp_path / "pq"))
    assert back.npartitions == 4
    tm.assert_frame_equal(c(back), full)
    only = ddf.read_parquet(str(tmp_path / "pq"), columns=["id", "x"])
    tm.assert_frame_equal(c(only), full[["id", "x"]])
    filt = ddf.read_parquet(str(tmp_path / "pq"), filters=[("id", ">=", 2000)])
    assert filt.npartitions < 4  # row groups ruled out by statistics
    tm.assert_frame_equal(c(filt), full[full.id >= 2000])
    assert c(back.x.sum()) == pytest.approx(full.x.sum())


from hypothesis import given, settings, strategies as st  # noqa: E402


@settings(max_examples=30, deadline=None)
@given(st.lists(st.tuples(st.integers(-10**6, 10**6), st.text("abcxyz ", max_size=12)), min_size=1, max_size=80),
       st.integers(8, 400))
def test_blocks_hypothesis(tmp_path_factory, rows, blocksize):
    path = tmp_path_factory.mktemp("blocks") / "data.csv"
    pdf = pd.DataFrame(rows, columns=["n", "s"])
    pdf["s"] = "v" + pdf["s"]  # never empty, so pandas keeps it as text
    pdf.to_csv(path, index=False)
    got = c(ddf.read_csv(str(path), blocksize=blocksize)).reset_index(drop=True)
    tm.assert_frame_equal(got, pd.read_csv(path), check_dtype=False)


def test_projection_through_merge_keeps_suffixes(frames, tmp_path):
    write(frames, tmp_path, ".gz")
    d = ddf.read_csv(str(tmp_path / "*.csv.gz"))
    small = pd.DataFrame({"name": ["Bob", "Zoë"], "x": [1.0, 2.0], "tag": ["b", "z"]})
    m = d.merge(small, on="name")
    cols = _read_columns(m.x_y.sum())  # (names the file lacks are ignored by the reader)
    assert all(sorted(set(cc) & {"id", "name", "x", "when"}) == ["name", "x"] for cc in cols)
    full = pd.concat(frames, ignore_index=True)
    pm = full.merge(small, on="name")
    assert c(m.x_y.sum()) == pytest.approx(pm.x_y.sum())
    assert c(m.x_x.sum()) == pytest.approx(pm.x_x.sum())
    assert all(sorted(cc) == ["id", "name"] for cc in _read_columns(m.id.count()))
    assert c(m.id.count()) == pm.id.count()


def test_inflate_cache_reuses_and_notices_rewrites(frames, tmp_path, monkeypatch):
    import shoal.dataframe.io._files as files

    paths = write(frames, tmp_path, ".bz2")
    files.inflate_cache.clear()
    calls = []
    orig = files._INFLATE["bz2"]
    monkeypatch.setitem(files._INFLATE, "bz2", lambda b: calls.append(1) or orig(b))
    d = ddf.read_csv(str(tmp_path / "*.csv.bz2"))
    first = c(d.x.sum())
    assert c(d[d.name == "Bob"].id.count()) == (pd.concat(frames).name == "Bob").sum()
    assert len(calls) == 3  # the second compute inflated nothing
    # a rewritten file is inflated again and its new content is used
    changed = frames[0].assign(x=frames[0].x + 1)
    with bz2.open(paths[0], "wb") as fh:
        fh.write(changed.to_csv(index=False).encode())
    os.utime(paths[0], (1, 1))
    d2 = ddf.read_csv(str(tmp_path / "*.csv.bz2"))
    assert c(d2.x.sum()) == pytest.approx(first + len(frames[0]))
    assert len(calls) == 4
    # budget 0 turns it off
    with shoal.config.set({"dataframe.inflate-cache-bytes": 0}):
        c(d2.x.sum())
    assert len(calls) == 7
    files.inflate_cache.clear()
    assert files.inflate_cache.nbytes == 0


def test_narrow_dtypes(frames, tmp_path):
    paths = write(frames, tmp_path)
    d = ddf.read_csv(paths, dtype={"x": "float32", "id": "int32"})
    got = c(d)
    assert got.x.dtype == np.float32 and got["id"].dtype == np.int32
    assert d.dtypes["x"] == np.float32
