"""read_csv keywords against pandas on the same file, every block split; bad rows raise; to_csv options."""
from __future__ import annotations

import gzip
import os

import numpy as np
import pandas as pd
import pandas.testing as tm
import pytest

import shoal.dataframe as ddf


def c(x):
    return x.compute(scheduler="sync")


def same(got, exp):
    tm.assert_frame_equal(c(got).reset_index(drop=True), exp.reset_index(drop=True))


@pytest.fixture
def text_file(tmp_path):
    def make(text: str, name: str = "data.csv") -> str:
        p = tmp_path / name
        p.write_bytes(text.encode())
        return str(p)
    return make


ROWS = "".join(f"{i},n{i % 5},{i * 0.5}\n" for i in range(60))


# -- malformed rows: never cut, always an error naming the file (or the user's on_bad_lines) -------------
@pytest.mark.parametrize("engine", ["auto", "pandas"])
@pytest.mark.parametrize("blocksize", [None, 40, 200, "1kB"])
@pytest.mark.parametrize("where", ["start", "late"])
def test_row_with_too_many_fields_raises_parser_error(text_file, engine, blocksize, where):
    lines = ["a,b,c"] + [f"{i},{i},{i}" for i in range(80)]
    bad = 2 if where == "start" else 70
    lines[bad] = "1,2,3,4,5"
    path = text_file("\n".join(lines) + "\n")
    with pytest.raises(pd.errors.ParserError) as err:
        pd.read_csv(path)
    with pytest.raises(pd.errors.ParserError) as err:
        c(ddf.read_csv(path, blocksize=blocksize, engine=engine))
    msg = str(err.value)
    assert path in msg and "saw 5" in msg
    assert f"line {bad + 1}," in msg  # the line number within the file, not the block
    assert "on_bad_lines" in msg


@pytest.mark.parametrize("blocksize", [None, 50])
def test_on_bad_lines_is_honoured(text_file, blocksize):
    lines = ["a,b,c"] + [f"{i},{i},{i}" for i in range(40)]
    lines[30] = "1,2,3,4,5"
    path = text_file("\n".join(lines) + "\n")
    exp = pd.read_csv(path, on_bad_lines="skip")
    same(ddf.read_csv(path, on_bad_lines="skip", blocksize=blocksize), exp)
    assert len(exp) == 39


def test_short_rows_fill_missing_like_pandas(text_file):
    path = text_file("a,b,c\n1,2,3\n4,5\n" + "".join(f"{i},{i},{i}\n" for i in range(30)))
    same(ddf.read_csv(path, blocksize=20, dtype={"c": "float64"}), pd.read_csv(path))


def test_projection_does_not_hide_bad_rows(text_file):
    lines = ["a,b,c"] + [f"{i},{i},{i}" for i in range(40)] + ["1,2,3,4,5"]
    path = text_file("\n".join(lines) + "\n")
    with pytest.raises(pd.errors.ParserError):
        c(ddf.read_csv(path, blocksize=60).a.sum())


# -- keywords, each compared with pandas over several block splits ------------------------------------
CASES = [
    ({}, "a,b,c\n" + ROWS),
    ({"skiprows": 2}, "junk\nmore junk\na,b,c\n" + ROWS),
    ({"skiprows": [0, 2]}, "junk\na,b,c\njunk2\n" + ROWS),
    ({"comment": "#"}, "# top\na,b,c\n# mid\n" + ROWS + "#end\n"),
    ({"header": None, "names": ["x", "y", "z"]}, ROWS),
    ({"names": ["x", "y", "z"], "header": 0}, "a,b,c\n" + ROWS),
    ({"header": None}, ROWS),
    ({"usecols": ["c", "a"]}, "a,b,c\n" + ROWS),
    ({"dtype": {"a": "float64"}}, "a,b,c\n" + ROWS),
    ({"dtype": "float64", "usecols": ["a", "c"]}, "a,b,c\n" + ROWS),
    ({"converters": {"b": str.upper}}, "a,b,c\n" + ROWS),
    ({"skipfooter": 2, "engine": "python"}, "a,b,c\n" + ROWS + "footer\nfooter 2\n"),
    ({"sep": ";"}, "a;b;c\n" + ROWS.replace(",", ";")),
    ({"na_values": ["n3"]}, "a,b,c\n" + ROWS),
    ({"parse_dates": ["d"]}, "a,d\n" + "".join(f"{i},2024-01-{i % 28 + 1:02d}\n" for i in range(50))),
]


@pytest.mark.parametrize("blocksize", [None, 64, 300])
@pytest.mark.parametrize("case", range(len(CASES)))
def test_keyword_cases_match_pandas(text_file, case, blocksize):
    kw, text = CASES[case]
    path = text_file(text)
    exp = pd.read_csv(path, **kw)
    got = ddf.read_csv(path, blocksize=blocksize, **kw)
    assert list(got.columns) == list(exp.columns)
    same(got, exp)


def test_read_table_and_fwf(text_file):
    path = text_file("a\tb\n" + "".join(f"{i}\tx{i}\n" for i in range(40)), "t.tsv")
    same(ddf.read_table(path, blocksize=50), pd.read_table(path))
    fwf = text_file("a    b\n" + "".join(f"{i:<5}{i * 2:<5}\n" for i in range(40)), "f.txt")
    same(ddf.read_fwf(fwf), pd.read_fwf(fwf))
    same(ddf.read_fwf(fwf, widths=[5, 5], blocksize=60), pd.read_fwf(fwf, widths=[5, 5]))


def test_blocksize_strings_and_errors(text_file):
    path = text_file("a,b,c\n" + ROWS * 10)
    assert ddf.read_csv(path, blocksize="1kB").npartitions == ddf.read_csv(path, blocksize=1000).npartitions
    assert ddf.read_csv(path, blocksize="64MiB").npartitions == 1
    with pytest.raises(ValueError, match="blocksize"):
        ddf.read_csv(path, blocksize="lots")


def test_skiprows_beyond_first_block_is_refused(text_file):
    path = text_file("junk\n" * 10 + "a,b,c\n" + ROWS)
    with pytest.warns(UserWarning), pytest.raises(ValueError, match="blocksize"):
        ddf.read_csv(path, skiprows=10, blocksize=20)
    same(ddf.read_csv(path, skiprows=10, blocksize=None), pd.read_csv(path, skiprows=10))


def test_unsupported_keywords_say_what_to_do(text_file):
    path = text_file("a,b,c\n" + ROWS)
    for kw in ({"nrows": 3}, {"chunksize": 3}, {"index_col": "a"}):
        with pytest.raises(ValueError, match="read_csv"):
            ddf.read_csv(path, **kw)
    with pytest.raises(ValueError, match="empty list"):
        ddf.read_csv([])


def test_mismatched_dtypes_error_and_assume_missing(tmp_path):
    (tmp_path / "1.csv").write_text("a,b\n" + "".join(f"{i},x\n" for i in range(20)))
    (tmp_path / "2.csv").write_text("a,b\n1,x\n,y\n2.5,z\n")
    d = ddf.read_csv(str(tmp_path / "*.csv"))
    with pytest.raises(ddf.DtypeMismatchError) as err:
        c(d)
    assert "2.csv" in str(err.value) and "dtype={'a': 'float64'}" in str(err.value)
    assert "assume_missing=True" in str(err.value)
    exp = pd.concat([pd.read_csv(tmp_path / "1.csv"), pd.read_csv(tmp_path / "2.csv")])
    same(ddf.read_csv(str(tmp_path / "*.csv"), assume_missing=True), exp)


def test_columns_differing_between_files_raise(tmp_path):
    (tmp_path / "1.csv").write_text("a,b\n1,2\n")
    (tmp_path / "2.csv").write_text("a,z\n1,2\n")
    with pytest.raises(ValueError, match="2.csv"):
        c(ddf.read_csv(str(tmp_path / "*.csv")))


def test_path_column_with_converter_and_natural_order(tmp_path):
    for i in (1, 2, 10):
        (tmp_path / f"part_{i}.csv").write_text(f"a\n{i}\n{i}\n")
    d = ddf.read_csv(str(tmp_path / "part_*.csv"), include_path_column="file",
                     converters={"file": os.path.basename})
    got = c(d)
    assert list(got.a) == [1, 1, 2, 2, 10, 10]
    assert list(got.file.cat.categories) == ["part_1.csv", "part_2.csv", "part_10.csv"]
    with pytest.raises(ValueError, match="include_path_column"):
        ddf.read_csv(str(tmp_path / "part_*.csv"), include_path_column="a")


def test_compression_is_one_partition_per_file_and_warns_on_blocksize(tmp_path):
    p = tmp_path / "x.csv.gz"
    with gzip.open(p, "wt") as f:
        f.write("a,b,c\n" + ROWS)
    with pytest.warns(UserWarning, match="blocksize=None"):
        d = ddf.read_csv(str(p), blocksize=100)
    assert d.npartitions == 1
    same(d, pd.read_csv(p))
    same(ddf.read_csv(str(p), blocksize=None, compression="gzip"), pd.read_csv(p))


def test_wide_encoding(tmp_path):
    pdf = pd.DataFrame({"a": range(50), "b": ["é"] * 50})
    p = tmp_path / "u16.csv"
    pdf.to_csv(p, encoding="utf-16", index=False)
    same(ddf.read_csv(str(p), encoding="utf-16", blocksize=100, sample=300), pd.read_csv(p, encoding="utf-16"))


def test_categories_known_and_unknown(text_file):
    path = text_file("a,b\n" + "".join(f"{'xyz'[i % 3]},{'pq'[i % 2]}\n" for i in range(30)))
    cat = pd.CategoricalDtype(["x", "y", "z"])
    d = ddf.read_csv(path, dtype={"a": cat, "b": "category"}, blocksize=40)
    assert d.a.cat.known and not d.b.cat.known
    got = c(d)
    assert got.a.dtype == cat
    assert sorted(got.b.astype(str).unique()) == ["p", "q"]


# -- to_csv ------------------------------------------------------------------------------------------
@pytest.fixture
def frame():
    return pd.DataFrame({"x": np.arange(12), "y": list("abcdefghijkl")})


def test_to_csv_name_function_and_header_first_only(frame, tmp_path):
    d = ddf.from_pandas(frame, npartitions=3)
    out = d.to_csv(str(tmp_path / "p-*.csv"), index=False, name_function=lambda i: f"{i:03d}",
                   header_first_partition_only=True)
    assert [os.path.basename(p) for p in out] == ["p-000.csv", "p-001.csv", "p-002.csv"]
    assert open(out[1]).readline().strip() != "x,y"
    tm.assert_frame_equal(pd.read_csv(out[0]), frame.iloc[:4])
    with pytest.raises(ValueError):
        d.to_csv(str(tmp_path / "a_*_*.csv"))
    with pytest.raises(ValueError):
        d.to_csv(str(tmp_path / "s.csv"), single_file=True, name_function=str)
    with pytest.raises(ValueError):
        d.to_csv(str(tmp_path / "s.csv"), single_file=True, header_first_partition_only=False)


def test_to_csv_single_file_modes_and_compression(frame, tmp_path):
    d = ddf.from_pandas(frame, npartitions=3)
    path = str(tmp_path / "all.csv.gz")
    d.to_csv(path, single_file=True, index=False)
    tm.assert_frame_equal(pd.read_csv(path), frame)
    with pytest.raises(FileExistsError):
        d.to_csv(path, single_file=True, index=False, mode="x")
    plain = str(tmp_path / "all.csv")
    d.to_csv(plain, single_file=True, index=False)
    d.to_csv(plain, single_file=True, index=False, mode="a", header=False)
    tm.assert_frame_equal(pd.read_csv(plain), pd.concat([frame, frame], ignore_index=True))
    lazy = d.to_csv(str(tmp_path / "lazy-*.csv"), compute=False)
    assert not os.path.exists(tmp_path / "lazy-0.csv")
    c(lazy[0])
    assert os.path.exists(tmp_path / "lazy-0.csv")


def test_to_csv_read_csv_roundtrip_directory(frame, tmp_path):
    d = ddf.from_pandas(frame, npartitions=4)
    d.to_csv(str(tmp_path / "out"), index=False)
    same(ddf.read_csv(str(tmp_path / "out" / "*.part")), frame)


from hypothesis import given, settings, strategies as st  # noqa: E402


@settings(max_examples=25, deadline=None)
@given(st.integers(1, 60), st.integers(0, 59), st.integers(4, 7), st.sampled_from(["auto", "pandas"]),
       st.integers(16, 400))
def test_bad_row_anywhere_any_split_raises(tmp_path_factory, nrows, bad, nfields, engine, blocksize):
    # (a wide *first* data row is pandas' implicit-index case, tested below)
    nrows += 1
    bad = 1 + bad % (nrows - 1)
    lines = [f"{i},s{i},{i / 4}" for i in range(nrows)]
    lines[bad] = ",".join(str(k) for k in range(nfields))
    path = tmp_path_factory.mktemp("bad") / "f.csv"
    path.write_text("a,b,c\n" + "\n".join(lines) + "\n")
    with pytest.raises(pd.errors.ParserError, match=f"line {bad + 2},"):
        c(ddf.read_csv(str(path), blocksize=blocksize, engine=engine, dtype={"a": "float64"}))


def test_wide_first_row_is_pandas_implicit_index_or_an_error(text_file):
    path = text_file("a,b,c\n0,1,2,3\n" + "".join(f"{i},{i},{i},{i}\n" for i in range(1, 30)))
    same_index = c(ddf.read_csv(path, blocksize=None))
    tm.assert_frame_equal(same_index, pd.read_csv(path))
    with pytest.raises(ValueError, match="blocksize=None"):
        ddf.read_csv(path, blocksize=50)
    # a wide row that starts a later block is a bad row, not an index
    rows = "".join(f"{i},{i},{i}\n" for i in range(40))
    path2 = text_file("a,b,c\n" + rows + "1,2,3,4\n" + rows, "wide.csv")
    for bs in (None, 30, 100, 1000):
        with pytest.raises(pd.errors.ParserError, match="line 42,"):
            c(ddf.read_csv(path2, blocksize=bs))


def test_quoted_newlines_need_whole_files(text_file):
    path = text_file("a,b\n" + "".join(f'{i},"line one\nline {i}"\n' for i in range(30)))
    with pytest.raises(ValueError, match="blocksize=None"):
        ddf.read_csv(path, blocksize=64)
    same(ddf.read_csv(path, blocksize=None), pd.read_csv(path))


def test_storage_options_and_fsspec_urls():
    import fsspec

    fs = fsspec.filesystem("memory")
    with fs.open("/shoal-test/m1.csv", "wb") as f:
        f.write(("a,b\n" + "".join(f"{i},{i * 2}\n" for i in range(50))).encode())
    try:
        d = ddf.read_csv("memory://shoal-test/*.csv", blocksize=100, storage_options={})
        assert d.npartitions > 1
        got = c(d).reset_index(drop=True)
        tm.assert_frame_equal(got, pd.DataFrame({"a": range(50), "b": [i * 2 for i in range(50)]}))
    finally:
        fs.rm("/shoal-test", recursive=True)


def test_carriage_return_inside_a_value_with_newline_terminator(text_file):
    path = text_file("a,b\n" + "0,my\n1,data\n" * 40 + "2,foo\rbar\n")
    got = c(ddf.read_csv(path, lineterminator="\n", blocksize=100))
    exp = pd.read_csv(path, lineterminator="\n")
    tm.assert_frame_equal(got.reset_index(drop=True), exp)
    assert got.b.iloc[-1] == "foo\rbar"


@pytest.mark.parametrize("blocksize", [None, 40])
def test_fast_parser_agrees_with_pandas_on_awkward_values(text_file, blocksize):
    # quoted empty and "NA" are missing in pandas; 1/0 are not booleans; spaces and signs in numbers
    head = "q,flag,n,f\n" + 'x,True,1,1.5\n' * 3
    tail = '"",true,+2, 2.5\n"NA",FALSE,3,inf\nz,1,4,-1e3\n'
    path = text_file(head + tail)
    for engine in ("auto", "pandas"):
        try:
            exp = pd.read_csv(path)
        except Exception as e:  # pragma: no cover - pandas itself refuses
            pytest.fail(f"pandas could not read the file: {e}")
        d = ddf.read_csv(path, blocksize=blocksize, engine=engine, sample=60)
        try:
            got = c(d)
        except ddf.DtypeMismatchError:
            continue  # 'flag' holds 1 later on: a clear error is acceptable, a silent True is not
        tm.assert_frame_equal(got.reset_index(drop=True), exp)


_TOKENS = ["1", "-2", "+3", " 4", "5 ", "1.5", "1e3", "inf", "-inf", "nan", "NA", "", '""', '"NA"', '"1"', "True",
           "false", "TRUE", "1.0", "007", "2024-01-01", "2024-01-01 10:00:00", "abc", "é", "1,000", ".5", "#N/A",
           "None", "null", "<NA>"]


@settings(max_examples=60, deadline=None)
@given(st.lists(st.lists(st.sampled_from(_TOKENS), min_size=3, max_size=3), min_size=1, max_size=8),
       st.sampled_from([None, 12, 40]), st.booleans(), st.sampled_from(["auto", "pandas"]))
def test_differential_against_pandas(tmp_path_factory, rows, blocksize, dates, engine):
    """Any file pandas reads gives pandas' values, or a clear error (dtype mismatch, cut not possible)."""
    path = tmp_path_factory.mktemp("diff") / "f.csv"
    path.write_text("a,b,c\n" + "".join(",".join(r) + "\n" for r in rows))
    kw = {"parse_dates": ["a"]} if dates else {}
    try:
        exp = pd.read_csv(path, **kw)
    except Exception:
        return
    try:
        d = ddf.read_csv(str(path), blocksize=blocksize, engine=engine, **kw)
    except ValueError as e:
        assert "blocksize" in str(e)
        return
    try:
        got = c(d)
    except ddf.DtypeMismatchError:
        assert blocksize is not None  # one partition is its own sample: never a mismatch
        return
    if blocksize is None:
        tm.assert_frame_equal(got, exp)  # one partition: the index too
    else:
        tm.assert_frame_equal(got.reset_index(drop=True), exp.reset_index(drop=True))
