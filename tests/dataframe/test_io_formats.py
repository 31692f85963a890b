"""Round trips and bad input for JSON, HDF5, SQL (SQLite files) and parquet."""
from __future__ import annotations

import os
import warnings

import numpy as np
import pandas as pd
import pandas.testing as tm
import pytest

import shoal.dataframe as ddf
from tests.conftest import require_module


def c(x, scheduler="sync"):
    return x.compute(scheduler=scheduler)


@pytest.fixture
def pdf():
    n = 120
    return pd.DataFrame({
        "a": np.arange(n),
        "b": pd.Series(list("xyz") * 40),
        "x": np.linspace(-1, 1, n),
        "t": pd.date_range("2024-01-01", periods=n, freq="h"),
    })


# -- JSON ----------------------------------------------------------------------------------------------
def test_json_lines_roundtrip_and_blocks(pdf, tmp_path):
    d = ddf.from_pandas(pdf, npartitions=3)
    files = d.to_json(str(tmp_path / "js"))
    assert len(files) == 3 and all(os.path.exists(f) for f in files)
    back = ddf.read_json(str(tmp_path / "js" / "*.part"))
    assert back.npartitions == 3
    exp = pd.read_json(files[0], lines=True, orient="records")
    assert list(back.columns) == list(exp.columns)
    got = c(back).reset_index(drop=True)
    tm.assert_frame_equal(got[["a", "b", "x"]], pdf[["a", "b", "x"]])
    blocks = ddf.read_json(str(tmp_path / "js" / "*.part"), blocksize=500)
    assert blocks.npartitions > 3
    tm.assert_frame_equal(c(blocks, "threads").reset_index(drop=True), got)


def test_json_records_array_compression_and_path_column(pdf, tmp_path):
    d = ddf.from_pandas(pdf[["a", "b"]], npartitions=2)
    d.to_json(str(tmp_path / "r-*.json.gz"), orient="records", lines=False)
    back = ddf.read_json(str(tmp_path / "r-*.json.gz"), orient="records", lines=False, include_path_column=True)
    got = c(back)
    tm.assert_frame_equal(got[["a", "b"]].reset_index(drop=True), pdf[["a", "b"]])
    assert got.path.dtype == "category" and got.path.nunique() == 2


def test_json_bad_input(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text('{"a": 1}\n{"a": \n')
    with pytest.raises(ValueError, match="bad.json"):
        c(ddf.read_json(str(bad), meta=pd.DataFrame({"a": pd.Series([], dtype="int64")})))
    with pytest.raises(FileNotFoundError):
        ddf.read_json(str(tmp_path / "missing-*.json"))
    with pytest.raises(ValueError, match="lines=True"):
        ddf.read_json(str(bad), orient="split", blocksize=100)


# -- HDF5 ----------------------------------------------------------------------------------------------
@pytest.fixture
def tables():
    return require_module("tables", "pip install 'shoal[io]'")


def test_hdf_roundtrip_chunks_and_divisions(pdf, tmp_path, tables):
    d = ddf.from_pandas(pdf, npartitions=4)
    path = str(tmp_path / "data.h5")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # PyTables warns about object columns
        d.to_hdf(path, "/data", mode="w")
    back = ddf.read_hdf(path, "/data", chunksize=50)
    assert back.npartitions == 3
    tm.assert_frame_equal(c(back, "threads"), pdf)
    sorted_back = ddf.read_hdf(path, "data", chunksize=50, sorted_index=True, columns=["a", "x"])
    assert sorted_back.divisions == (0, 50, 100, 119)
    tm.assert_frame_equal(c(sorted_back.loc[45:55]), pdf[["a", "x"]].loc[45:55])
    assert list(c(ddf.read_hdf(path, "/data", start=10, stop=20)).a) == list(range(10, 20))


def test_hdf_one_file_or_key_per_partition(pdf, tmp_path, tables):
    d = ddf.from_pandas(pdf[["a", "x"]], npartitions=3)
    d.to_hdf(str(tmp_path / "p-*.h5"), "/k", mode="w")
    assert sorted(os.listdir(tmp_path)) == ["p-0.h5", "p-1.h5", "p-2.h5"]
    tm.assert_frame_equal(c(ddf.read_hdf(str(tmp_path / "p-*.h5"), "/k")), pdf[["a", "x"]])
    d.to_hdf(str(tmp_path / "keys.h5"), "/part*", mode="w")
    back = ddf.read_hdf(str(tmp_path / "keys.h5"), "/part*")
    assert back.npartitions == 3
    tm.assert_frame_equal(c(back), pdf[["a", "x"]])


def test_hdf_fixed_format_and_errors(pdf, tmp_path, tables):
    path = str(tmp_path / "fixed.h5")
    pdf[["a", "x"]].to_hdf(path, key="f", mode="w")
    back = ddf.read_hdf(path, "f")
    assert back.npartitions == 1
    tm.assert_frame_equal(c(back), pdf[["a", "x"]])
    with pytest.raises(ValueError, match="fixed"):
        ddf.read_hdf(path, "f", start=3, stop=5)
    with pytest.raises(KeyError, match="nokey"):
        ddf.read_hdf(path, "nokey")
    with pytest.raises(FileNotFoundError):
        ddf.read_hdf(str(tmp_path / "nothing.h5"), "f")


# -- SQL (SQLite files) --------------------------------------------------------------------------------
@pytest.fixture
def sa():
    return require_module("sqlalchemy", "pip install 'shoal[io]'")


def test_sql_roundtrip_partitions(pdf, tmp_path, sa):
    uri = f"sqlite:///{tmp_path / 'db.sqlite'}"
    d = ddf.from_pandas(pdf.set_index("a"), npartitions=3)
    d.to_sql("tab", uri)
    back = ddf.read_sql_table("tab", uri, index_col="a", npartitions=4)
    assert back.npartitions == 4 and back.divisions[0] == 0 and back.divisions[-1] == 119
    got = c(back, "threads")
    tm.assert_frame_equal(got, pdf.set_index("a"), check_dtype=False)
    assert got.t.dtype.kind == "M"
    # only some columns; explicit divisions
    few = ddf.read_sql_table("tab", uri, index_col="a", columns=["x"], divisions=[0, 10, 119])
    assert few.npartitions == 2
    tm.assert_frame_equal(c(few), pdf.set_index("a")[["x"]])
    # a query, split by bytes
    t = sa.table("tab", sa.column("a"), sa.column("x"))
    q = sa.select(t.c.a, t.c.x).where(t.c.x > 0)
    res = ddf.read_sql_query(q, uri, index_col="a", bytes_per_chunk=1000)
    assert res.npartitions > 1
    tm.assert_frame_equal(c(res), pdf.set_index("a")[["x"]][pdf.x.values > 0])
    with pytest.raises(ValueError):
        d.to_sql("tab", uri)  # if_exists='fail'
    d.to_sql("tab", uri, if_exists="append", parallel=True)
    assert len(c(ddf.read_sql("tab", uri, index_col="t", npartitions=3))) == 240


def test_sql_bad_input(tmp_path, sa):
    uri = f"sqlite:///{tmp_path / 'db2.sqlite'}"
    pd.DataFrame({"k": [1.0, None, 3.0], "v": [1, 2, 3]}).to_sql("n", uri, index=False)
    with pytest.raises(ValueError, match="NULL"):
        ddf.read_sql_table("n", uri, index_col="k")
    with pytest.raises(sa.exc.NoSuchTableError):
        ddf.read_sql_table("absent", uri, index_col="k")
    with pytest.raises(TypeError, match="URI"):
        ddf.read_sql_table("n", sa.create_engine(uri), index_col="k")
    with pytest.raises(TypeError, match="selectable"):
        ddf.read_sql_query("select * from n", uri, index_col="v")


# -- parquet -------------------------------------------------------------------------------------------
def test_parquet_index_categoricals_and_divisions(pdf, tmp_path):
    frame = pdf.assign(cat=pd.Categorical(list("pq") * 60)).set_index("a")
    d = ddf.from_pandas(frame, npartitions=4)
    d.to_parquet(str(tmp_path / "pq"))
    back = ddf.read_parquet(str(tmp_path / "pq"), calculate_divisions=True)
    assert back.index.name == "a" and back.known_divisions
    assert back.divisions == d.divisions
    assert back.dtypes["cat"] == "category" and not back.cat.cat.known
    tm.assert_frame_equal(c(back), frame)
    no_index = ddf.read_parquet(str(tmp_path / "pq"), index=False)
    assert "a" in no_index.columns
    assert list(c(no_index).a) == list(range(120))
    ser = ddf.read_parquet(str(tmp_path / "pq"), columns="x")
    tm.assert_series_equal(c(ser), frame.x)
    d.to_parquet(str(tmp_path / "noidx"), write_index=False)
    assert c(ddf.read_parquet(str(tmp_path / "noidx"))).index.name is None


def test_parquet_partition_on(pdf, tmp_path):
    d = ddf.from_pandas(pdf, npartitions=2)
    d.to_parquet(str(tmp_path / "hive"), partition_on=["b"], write_index=False)
    assert sorted(os.listdir(tmp_path / "hive")) == ["b=x", "b=y", "b=z"]
    back = ddf.read_parquet(str(tmp_path / "hive"))
    assert back.dtypes["b"] == "category"
    got = c(back).sort_values("a").reset_index(drop=True)
    tm.assert_frame_equal(got[["a", "x", "t"]], pdf[["a", "x", "t"]], check_dtype=False)
    assert (got.b.astype(str) == pdf.b).all()
    only_y = c(ddf.read_parquet(str(tmp_path / "hive"), filters=[("b", "==", "y")]))
    assert set(only_y.b.astype(str)) == {"y"} and len(only_y) == 40


def test_parquet_bad_input(tmp_path):
    with pytest.raises(FileNotFoundError):
        ddf.read_parquet(str(tmp_path / "none-*.parquet"))
    ddf.from_pandas(pd.DataFrame({"a": [1, 2]}), npartitions=1).to_parquet(str(tmp_path / "p"))
    with pytest.raises(KeyError, match="zz"):
        ddf.read_parquet(str(tmp_path / "p"), columns=["zz"])


def test_orc_roundtrip(pdf, tmp_path):
    require_module("pyarrow.orc", "pip install 'shoal[dataframe]' (a pyarrow built with ORC)")
    from shoal.dataframe.io.orc import read_orc, to_orc

    frame = pdf[["a", "b", "x"]]
    to_orc(ddf.from_pandas(frame, npartitions=3), str(tmp_path / "o"), write_index=False)
    back = read_orc(str(tmp_path / "o"))
    assert back.npartitions == 3
    tm.assert_frame_equal(c(back).reset_index(drop=True), frame)
    idx = read_orc(str(tmp_path / "o"), columns=["x"], index="a")
    tm.assert_frame_equal(c(idx), frame.set_index("a")[["x"]])
    with pytest.raises(KeyError):
        read_orc(str(tmp_path / "o"), columns=["nope"])


def test_json_later_partition_with_other_dtypes_raises(tmp_path):
    (tmp_path / "1.json").write_text("".join(f'{{"a": {i}, "b": "x"}}\n' for i in range(5)))
    (tmp_path / "2.json").write_text('{"a": null, "b": "y"}\n{"a": 2.5, "b": "z"}\n')
    d = ddf.read_json(str(tmp_path / "*.json"))
    with pytest.raises(ValueError, match="meta="):
        c(d)
    fixed = ddf.read_json(str(tmp_path / "*.json"), meta=pd.DataFrame({"a": pd.Series([], dtype="float64"),
                                                                         "b": pd.Series([], dtype="str")}))
    assert c(fixed).a.tolist()[-1] == 2.5


def test_parquet_append_and_name_function(pdf, tmp_path):
    frame = pdf[["a", "x"]]
    d = ddf.from_pandas(frame, npartitions=2)
    out = str(tmp_path / "app")
    d.to_parquet(out, name_function=lambda i: f"chunk-{i:02d}.parquet")
    assert sorted(os.listdir(out)) == ["chunk-00.parquet", "chunk-01.parquet"]
    d.to_parquet(out, append=True, name_function=lambda i: f"chunk-{i:02d}.parquet")
    assert len(os.listdir(out)) == 4
    assert len(c(ddf.read_parquet(out))) == 2 * len(frame)
    with pytest.raises(ValueError, match="columns"):
        ddf.from_pandas(pdf[["a"]], npartitions=1).to_parquet(out, append=True)
