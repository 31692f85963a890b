"""``read_csv``, ``read_table`` and ``read_fwf`` over many (possibly compressed) files.

Partitioning: a compressed file is one partition; a plain file is cut into
``blocksize`` byte ranges aligned on line starts (``_files.read_block``), so
every line lands in exactly one partition.  Quoted fields holding newlines
need ``blocksize=None`` (one partition per file).

Each file's first block is parsed with the user's keywords exactly as
pandas would parse the file's start (``skiprows``, ``header``, ``names``,
``comment``...).  Later blocks hold only data rows: they are parsed with
``header=None`` and the column names the sample found, so no header line
is re-inserted or guessed.  A block is never silently cut: a row with too
many fields raises ``CSVParserError`` (a ``pandas.errors.ParserError``)
naming the file and the line, unless ``on_bad_lines=`` says otherwise.

Types: the first ``sample`` bytes of the first file are parsed with pandas
to find the columns and dtypes (the *meta*); ``dtype=`` overrides them.
Every partition is reconciled with the meta: safe widenings (int -> float,
an all-missing column) are applied, anything else raises
``DtypeMismatchError`` naming the file, the columns, both dtypes and the
``dtype={...}`` to pass instead.

Parsing uses pyarrow's CSV reader with explicit column types taken from the
meta when the keywords allow it (much faster than pandas' parser); when
pyarrow refuses a block (a value it cannot convert, a row of another width)
the block is re-parsed with pandas, so the result or the error is pandas'.
Only the columns a computation needs are converted: the read task's
``columns`` argument is narrowed by the projection pass
(``shoal.dataframe.optimize``).
"""
from __future__ import annotations

import io
import re
import warnings
from typing import Any

import numpy as np
import pandas as pd

from shoal.core.graph import LayeredGraph
from shoal.core.task import Task
from shoal.core.tokenize import tokenize
from shoal.dataframe.core import new_collection
from shoal.dataframe.io._files import (expand_paths, infer_compression, inflate_cache, open_stream,
                                       parse_blocksize)
from shoal.dataframe.io._files import read_block as _read_bytes
from shoal.dataframe.io.csv_write import to_csv  # noqa: F401  (shoal.dataframe.io.csv.to_csv)
from shoal.dataframe.optimize import register_reader

__all__ = ["read_csv", "read_table", "read_fwf", "to_csv", "DtypeMismatchError", "CSVParserError", "inflate_cache"]

#: Plain files are cut into blocks of this many bytes by default.
DEFAULT_BLOCKSIZE = 64 * 2**20
#: Bytes of the first file parsed to infer column dtypes.
DEFAULT_SAMPLE = 256 * 2**10

_ASCII_COMPATIBLE = {"latin1", "iso88591", "cp1252", "windows1252", "ascii", "usascii", "l1", "latin",
                     "iso885915", "cp1250"}
# pandas' default missing-value spellings, for pyarrow's reader
_NULLS = ["", "#N/A", "#N/A N/A", "#NA", "-1.#IND", "-1.#QNAN", "-NaN", "-nan", "1.#IND", "1.#QNAN",
          "<NA>", "N/A", "NA", "NULL", "NaN", "None", "n/a", "nan", "null"]
# keywords pyarrow's reader honours the way pandas does
_ARROW_OK = {"sep", "encoding", "usecols", "dtype", "parse_dates", "header"}
# keywords this module handles itself (never passed to pandas as they are)
_NOT_SUPPORTED = {"iterator": "iterate over ddf.partitions or use to_delayed()",
                  "chunksize": "use blocksize= to set the partition size",
                  "nrows": "use read_csv(...).head(n) instead"}


class DtypeMismatchError(ValueError):
    """A partition's column parsed to a different dtype than the sample's."""


class CSVParserError(pd.errors.ParserError):
    """pandas' ``ParserError`` for one file of a ``read_csv`` call, naming the file and line."""


# -- reading one partition ----------------------------------------------------------
class CSVSpec:
    """Everything a read task needs besides its source and columns (shared by all tasks)."""

    def __init__(self, **fields: Any):
        self.fs = fields["fs"]
        self.reader: str = fields["reader"]            # "csv" or "fwf"
        self.meta: pd.DataFrame = fields["meta"]       # includes the path column
        self.names: list = fields["names"]             # every column in the file, for header=None blocks
        self.kwargs: dict = fields["kwargs"]           # pandas keywords for a file's first block
        self.arrow_types: dict | None = fields["arrow_types"]
        self.arrow_enc: str = fields["arrow_enc"]
        self.sep: str = fields["sep"]
        self.unknown_categories: set = fields["unknown_categories"]
        self.path_column: str | None = fields["path_column"]
        self.path_values: list = fields["path_values"]
        self.path_categories: list = fields["path_categories"]
        self.sample_wide: bool = fields["sample_wide"]  # pandas made an index of the first file's leading fields
        self._token = tokenize(self.reader, self.meta, self.names, self.kwargs, self.arrow_types, self.sep,
                               sorted(self.unknown_categories), self.path_column, self.path_values,
                               self.sample_wide)

    def __shoal_tokenize__(self) -> str:
        return self._token

    def __getstate__(self) -> dict:
        return self.__dict__

    def __setstate__(self, d: dict) -> None:
        self.__dict__.update(d)


def _arrow_types(meta: pd.DataFrame, text_columns: set) -> dict | None:
    """pyarrow types reproducing the meta's dtypes, or None when one has no exact equivalent.

    An ``object`` column is text only when the user asked for ``dtype=object``
    (pandas infers text as ``str``; an inferred ``object`` column holds other
    things, such as integers too large for int64).
    """
    import pyarrow as pa

    out = {}
    for c in meta.columns:
        dt = meta[c].dtype
        k = dt.kind
        if isinstance(dt, np.dtype) and k in "iuf":
            out[c] = pa.from_numpy_dtype(dt)
        elif isinstance(dt, np.dtype) and k == "b":
            out[c] = pa.bool_()
        elif isinstance(dt, np.dtype) and k == "M":
            out[c] = pa.timestamp(np.datetime_data(dt)[0])
        elif isinstance(dt, pd.StringDtype) or (dt == object and c in text_columns):
            out[c] = pa.string()
        else:
            return None
    return out


def _parse_arrow(data: bytes, spec: CSVSpec, want: list, first: bool) -> pd.DataFrame | None:
    import pyarrow as pa
    import pyarrow.csv as pc

    enc = spec.arrow_enc
    norm = enc.lower().replace("-", "").replace("_", "")
    if norm == "utf8" or (norm in _ASCII_COMPATIBLE and data.isascii()):
        enc = "utf8"  # pure ASCII reads the same in every such encoding: skip transcoding
    ro = pc.ReadOptions(use_threads=False, block_size=1 << 24, encoding=enc,
                        column_names=None if first else spec.names)
    po = pc.ParseOptions(delimiter=spec.sep)
    types = {c: spec.arrow_types[c] for c in want}
    co = pc.ConvertOptions(column_types=types, include_columns=want, null_values=_NULLS,
                           strings_can_be_null=True, quoted_strings_can_be_null=True,
                           true_values=["True", "TRUE", "true"], false_values=["False", "FALSE", "false"])
    try:
        table = pc.read_csv(pa.py_buffer(data), read_options=ro, parse_options=po, convert_options=co)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowKeyError, UnicodeDecodeError):
        return None
    if first and pc.read_csv(pa.py_buffer(data.split(b"\n", 1)[0] + b"\n"), read_options=pc.ReadOptions(
            encoding=ro.encoding), parse_options=po).column_names != spec.names:
        return None  # the first line is not exactly the header pandas found: let pandas decide
    return table.to_pandas(split_blocks=True, self_destruct=True)


def _block_kwargs(spec: CSVSpec, first: bool) -> dict:
    kw = dict(spec.kwargs)
    if not first:
        kw.pop("skiprows", None)
        kw.pop("skipfooter", None)
        kw["header"] = None
        kw["names"] = spec.names
    return kw


def _parse_pandas(data: bytes, spec: CSVSpec, first: bool) -> pd.DataFrame:
    reader = pd.read_fwf if spec.reader == "fwf" else pd.read_csv
    return reader(io.BytesIO(data), **_block_kwargs(spec, first))


def _first_row_is_wide(data: bytes, kw: dict) -> bool:
    """Whether pandas would take the leading fields of the first data row as an index
    (that row has more fields than the header); asked of pandas' own tokenizer."""
    kw = {k: v for k, v in kw.items() if k not in ("skipfooter", "dtype", "converters", "parse_dates", "usecols")}
    if kw.get("engine") == "pyarrow":
        kw.pop("engine")
    if kw.get("names") is None:
        if kw.get("header", "infer") not in ("infer", 0):
            return False  # a header below other rows: not checked
        # the header line and the first data row as plain rows: a wider second row is a tokenizing error
        kw = dict(kw, header=None, nrows=2)
        try:
            pd.read_csv(io.BytesIO(data), **kw)
        except pd.errors.ParserError:
            return True
        except Exception:
            return False  # the real parse reports it
        return False
    if kw.get("header") not in (None, "infer"):
        # names replacing a header row: pandas' own parse shows an index made of leading fields
        # (one of value 0 looks like the default index and is not caught)
        try:
            first = pd.read_csv(io.BytesIO(data), **dict(kw, nrows=1))
        except Exception:
            return False
        return not (isinstance(first.index, pd.RangeIndex) and (len(first) == 0 or first.index[0] == 0))
    # names given: the first data row read as a plain row shows its width
    width = len(kw.pop("names"))
    kw = dict(kw, header=None, nrows=1)
    try:
        first = pd.read_csv(io.BytesIO(data), **kw)
    except Exception:
        return False  # the real parse reports it
    return first.shape[1] > width


def _is_string(dt: Any) -> bool:
    return dt == object or isinstance(dt, pd.StringDtype)


def _reconcile(df: pd.DataFrame, spec: CSVSpec, want: list, path: str) -> pd.DataFrame:
    """Cast ``df`` to the meta's dtypes where that loses nothing; raise for anything else."""
    if list(df.columns) != want:
        raise ValueError(
                f"read_csv: {path!r} has columns {list(df.columns)}, but the first file's sample has "
                f"{want}; read files with different columns separately (one read_csv each), or pass "
                f"names= and usecols= so every file gives the same columns")
    meta = spec.meta
    bad = []
    casts = {}
    for c in want:
        want_dt, got_dt = meta[c].dtype, df[c].dtype
        if got_dt == want_dt:
            continue
        col = df[c]
        if isinstance(want_dt, pd.CategoricalDtype):
            if c in spec.unknown_categories:
                if not isinstance(got_dt, pd.CategoricalDtype):
                    casts[c] = "category"
            else:
                casts[c] = want_dt
        elif len(col) == 0 or (col.isna().all() and not (want_dt.kind in "iub" and isinstance(want_dt, np.dtype))):
            casts[c] = want_dt
        elif want_dt.kind == "f" and got_dt.kind in "iuf":
            casts[c] = want_dt
        elif want_dt.kind in "iu" and got_dt.kind in "iu" and isinstance(want_dt, np.dtype):
            if got_dt.kind == "u" and want_dt.kind == "i" and col.max() > np.iinfo(want_dt).max:
                bad.append((c, got_dt, want_dt))
            else:
                casts[c] = want_dt
        elif _is_string(want_dt) and _is_string(got_dt):
            casts[c] = want_dt
        elif want_dt.kind == "M" and got_dt.kind == "M" and getattr(want_dt, "tz", None) == getattr(got_dt, "tz", None):
            casts[c] = want_dt
        else:
            bad.append((c, got_dt, want_dt))
    if bad:
        rows = "\n".join(f"  {c!r}: found {g}, expected {w}" for c, g, w in bad)
        fix = ", ".join(f"{c!r}: '{_fix_dtype(g, w)}'" for c, g, w in bad)
        hint = ""
        if any(w.kind in "iu" and g.kind == "f" for _, g, w in bad):
            hint = "\nOr pass assume_missing=True to read every integer column without a dtype as float64."
        dates = [c for c, _, w in bad if w.kind == "M"]
        if dates:
            hint += (f"\nColumns {dates} failed to parse as dates here: drop them from parse_dates= and convert "
                     f"them afterwards with ddf.to_datetime(..., errors='coerce') if that is what you want.")
        raise DtypeMismatchError(
            f"read_csv: columns of {path!r} parsed to other dtypes than the sample of the first file "
            f"(whose types every partition must share):\n{rows}\n"
            f"The sample had no values that needed the other type. Pass the dtypes explicitly, e.g.\n"
            f"  ddf.read_csv(..., dtype={{{fix}}}){hint}"
        )
    if casts:
        df = df.astype(casts)
    return df


def _fix_dtype(got: Any, want: Any) -> str:
    if _is_string(got) or _is_string(want):
        return "object"
    if got.kind in "fiub" and want.kind in "fiub":
        return "float64"
    return "object"


def _count_lines(data: bytes) -> int:
    return data.count(b"\n") + (1 if data and not data.endswith(b"\n") else 0)


def _parser_error(e: Exception, spec: CSVSpec, path: str, offset: int, first: bool,
                  compression: str | None) -> CSVParserError:
    """pandas' parser error, restated with the file and the line number within the file."""
    msg = str(e)
    m = re.search(r"\bline (\d+)", msg)
    where = ""
    if m and not first and compression is None:
        # this block's line 1 is the line after the ``offset`` bytes before it
        with spec.fs.open(path, "rb") as f:
            before = _count_lines(f.read(offset))
        msg = msg[: m.start(1)] + str(int(m.group(1)) + before) + msg[m.end(1):]
    elif not first:
        where = f" (in the block starting at byte {offset})"
    return CSVParserError(
        f"read_csv: could not parse {path!r}{where}: {msg}\n"
        f"Fix the file, or pass on_bad_lines='skip' (drop such rows) or 'warn' (drop and warn) if that is "
        f"what you want.")


def _wide_row_error(spec: CSVSpec, path: str, offset: int, first: bool, compression: str | None) -> CSVParserError:
    """A block's first data row is wider than the header (pandas would make an index of its leading fields)."""
    width = len(spec.names)
    if first:
        where = "in the first data row"
    elif compression is None:
        with spec.fs.open(path, "rb") as f:
            where = f"in line {_count_lines(f.read(offset)) + 1},"
    else:
        where = f"in the first row of the block starting at byte {offset},"
    if first and spec.sample_wide:
        why = "the first file's first data row was wider than its header, this file's is not"
    else:
        why = "more fields than the header"
    return CSVParserError(
        f"read_csv: could not parse {path!r}: Expected {width} fields {where} saw more ({why})\n"
        f"Fix the file, or pass on_bad_lines='skip' or 'warn' to drop rows with too many fields.")


def read_csv_part(source: tuple, columns: list | None, spec: CSVSpec) -> pd.DataFrame:
    """One partition: ``source`` = (path, offset, length, compression, first block?, file number)."""
    path, offset, length, compression, first, fileno = source
    meta = spec.meta
    file_cols = [c for c in meta.columns if c != spec.path_column]
    if columns is None:
        want = file_cols
    else:
        need = set(columns)
        want = [c for c in file_cols if c in need]
        if not want:  # nothing but row counts needed: convert the cheapest column
            want = file_cols[:1]
    data = _read_bytes(spec.fs, path, offset, length, compression)
    if first and spec.kwargs.get("skiprows") is not None and length is not None:
        sk = spec.kwargs["skiprows"]
        last = sk if isinstance(sk, int) else max(sk, default=-1) + 1
        if last >= _count_lines(data) and offset + len(data) < spec.fs.size(path):
            raise ValueError(f"read_csv: skiprows={sk!r} reaches past the first block of {path!r}; "
                             f"pass a larger blocksize= or blocksize=None")
    if not data.strip():
        df = meta[want].copy()
    else:
        df = None
        if spec.arrow_types is not None:
            df = _parse_arrow(data, spec, want, first)
        if df is None:
            if spec.reader == "csv" and spec.kwargs.get("usecols") is None and \
                    _first_row_is_wide(data, _block_kwargs(spec, first)) != (first and spec.sample_wide):
                raise _wide_row_error(spec, path, offset, first, compression)
            try:
                df = _parse_pandas(data, spec, first)
            except pd.errors.EmptyDataError:
                df = meta[file_cols].copy()
            except pd.errors.ParserError as e:
                raise _parser_error(e, spec, path, offset, first, compression) from e
        if list(df.columns) != want and list(df.columns) == file_cols:
            df = df[want]
        df = _reconcile(df, spec, want, path)
    if spec.path_column and (columns is None or spec.path_column in columns):
        code = spec.path_categories.index(spec.path_values[fileno])
        df[spec.path_column] = pd.Categorical.from_codes(np.full(len(df), code, dtype=np.int32),
                                                         categories=spec.path_categories)
    return df


register_reader(read_csv_part, 1)


# -- building the graph --------------------------------------------------------------
def _sample_bytes(fs: Any, path: str, compression: str | None, sample: int,
                  encoding: str | None = None) -> tuple[bytes, bool]:
    """The first ``sample`` bytes of ``path`` (inflated) up to a line end, and whether that is all of it."""
    nl = b"\n"
    if encoding:
        nl = "\n".encode(encoding)[len("".encode(encoding)):]  # without a byte-order mark
    with fs.open(path, "rb") as f:
        raw = f if compression is None else open_stream(f, compression)
        try:
            head = raw.read(sample)
            complete = len(head) < sample
            if not complete and nl != b"\n":
                # wide encodings: cut after the last whole newline character
                w = len(nl)
                i = head.rfind(nl)
                while i >= 0 and i % w:
                    i = head.rfind(nl, 0, i)
                head = head[: i + w] if i >= 0 else head
            elif not complete:
                rest = raw.readline()
                head += rest
                complete = not rest.endswith(b"\n") and raw.read(1) == b""
        finally:
            if raw is not f:
                raw.close()
    return head, complete


def _size(fs: Any, path: str) -> int | None:
    try:
        return fs.size(path)
    except Exception:
        return None


def _check_first_block(head: bytes, blocksize: int | None, kwargs: dict, complete: bool, name: str,
                       path: str) -> None:
    """``skiprows`` and ``header`` apply to a file's first block: raise if they reach past it."""
    sk = kwargs.get("skiprows")
    if blocksize is None or sk is None or callable(sk) or (complete and len(head) <= blocksize):
        return
    last = sk if isinstance(sk, int) else max(sk, default=-1) + 1
    header = kwargs.get("header", "infer" if kwargs.get("names") is None else None)
    need = last + (header + 1 if isinstance(header, int) else 1 if header == "infer" else 0) + 1
    block = head[:blocksize]
    if len(head) > blocksize and not block.endswith(b"\n"):
        nl = head.find(b"\n", blocksize)
        block = head[: nl + 1] if nl >= 0 else head
    if _count_lines(block) < need:
        raise ValueError(f"{name}: skiprows={sk!r} and the header need {need} lines, but the first block of "
                         f"{path!r} (blocksize={blocksize} bytes) holds {_count_lines(block)}; pass a larger "
                         f"blocksize= or blocksize=None")


def _check_kwargs(kwargs: dict, name: str) -> None:
    for k, fix in _NOT_SUPPORTED.items():
        if kwargs.get(k):
            raise ValueError(f"{name}: {k}= is not supported (partitions are read lazily and in parallel); {fix}")
    if "index" in kwargs or kwargs.get("index_col") not in (None, False):
        raise ValueError(f"{name}: index_col= is not supported (each partition would restart the index); "
                         f"use {name}(...).set_index('column') instead")
    if isinstance(kwargs.get("header"), (list, tuple)):
        raise TypeError(f"{name}: a list of header rows is not supported; read with header=None and "
                        f"rename the columns")


def _read_text(reader: str, name: str, urlpath: Any, blocksize: Any, compression: Any, sample: int,
               sample_rows: int | None, assume_missing: bool, include_path_column: Any, engine: str,
               storage_options: dict | None, kwargs: dict) -> Any:
    _check_kwargs(kwargs, name)
    if engine in ("c", "python", "python-fwf"):
        kwargs["engine"] = engine  # one of pandas' own parsers, by the user's choice
    elif engine not in ("auto", "pyarrow", "pandas"):
        raise ValueError(f"{name}: engine={engine!r}; use 'auto' (pyarrow where the keywords allow, else pandas), "
                         f"'pyarrow', 'pandas', or pandas' 'c' / 'python'")
    if kwargs.get("lineterminator") == "\r\n":
        del kwargs["lineterminator"]  # pandas' parser takes one character; by default it ends lines at "\r\n"
    if "delimiter" in kwargs:
        kwargs["sep"] = kwargs.pop("delimiter")
    explicit_blocksize = blocksize != "default"
    blocksize = parse_blocksize(blocksize, DEFAULT_BLOCKSIZE)
    fs, paths = expand_paths(urlpath, name, storage_options)
    nonempty = [p for p in paths if _size(fs, p) != 0]
    paths = nonempty or paths[:1]  # an empty file holds no rows: it makes no partition
    if sample is False or sample is None:
        sample = blocksize or DEFAULT_SAMPLE  # "no separate sample": infer from the first block
    if blocksize is not None and blocksize < sample and kwargs.get("skiprows") not in (None, 0):
        warnings.warn(f"{name}: skiprows= applies to the first block of each file only, and blocksize "
                      f"({blocksize} bytes) is smaller than the sample; rows to skip beyond the first block "
                      f"raise an error when computed", UserWarning, stacklevel=3)
    encoding = kwargs.get("encoding")
    if encoding and "\n".encode(encoding) != b"\n":
        blocksize = None  # lines cannot be found by byte search in utf-16/32: one partition per file
    sk = kwargs.get("skiprows")
    whole_files = (
        callable(sk) or bool(kwargs.get("skipfooter"))
        or (reader == "fwf" and kwargs.get("colspecs", "infer") == "infer" and "widths" not in kwargs)
    )
    comps = [infer_compression(p, compression) for p in paths]
    if explicit_blocksize and blocksize is not None and any(comps):
        warnings.warn(f"{name}: {[c for c in comps if c][0]} files cannot be split into blocks, so each is one "
                      f"partition; pass blocksize=None to say so and silence this warning", UserWarning,
                      stacklevel=3)

    # the meta: parse the first file's start with the user's keywords
    head, complete = _sample_bytes(fs, paths[0], comps[0], sample, encoding)
    skw = {k: v for k, v in kwargs.items() if k not in ("skipfooter",) or complete}
    if sample_rows is not None:
        skw["nrows"] = sample_rows
    read = pd.read_fwf if reader == "fwf" else pd.read_csv
    try:
        sample_df = read(io.BytesIO(head), **skw)
    except pd.errors.EmptyDataError:
        if len(paths) == 1 or not head.strip():
            sample_df = pd.DataFrame(columns=kwargs.get("names") or [])
        else:
            raise
    except pd.errors.ParserError as e:
        raise CSVParserError(f"{name}: could not parse the start of {paths[0]!r}: {e}\n"
                             f"Fix the file, or pass on_bad_lines='skip' or 'warn' to drop rows with too many "
                             f"fields (if a quoted field spans many lines, pass a larger sample=)") from e
    except (ValueError, UnicodeDecodeError) as e:
        raise ValueError(f"{name}: could not parse the start of {paths[0]!r}: {e}") from e
    _check_first_block(head, blocksize, kwargs, complete, name, paths[0])
    if not complete and len(sample_df) == 0:
        raise ValueError(f"{name}: the sample of {paths[0]!r} ({sample} bytes) holds no data row after the "
                         f"header; pass a larger sample=")
    sample_wide = reader == "csv" and kwargs.get("usecols") is None and _first_row_is_wide(head, skw)
    if sample_wide and (
            blocksize is not None and not whole_files and comps[0] is None and (_size(fs, paths[0]) or 0) > blocksize):
        raise ValueError(f"{name}: the first data row of {paths[0]!r} has more fields than the header, so pandas "
                         f"takes the leading fields as the index; a file split into blocks cannot do that. Pass "
                         f"blocksize=None, or names= for every field")
    if blocksize is not None and not whole_files and any(c is None and (_size(fs, p) or 0) > blocksize
                                                         for p, c in zip(paths, comps)):
        for col in sample_df.columns:
            vals = sample_df[col]
            if (vals.dtype == object or isinstance(vals.dtype, pd.StringDtype)) and \
                    vals.astype("string").str.contains("\n", regex=False).fillna(False).any():
                raise ValueError(f"{name}: column {col!r} of {paths[0]!r} has quoted values that span lines, so the "
                                 f"file cannot be cut into blocks at line ends; pass blocksize=None (one partition "
                                 f"per file)")
    # every column of the file (before usecols), named as pandas names them
    if kwargs.get("usecols") is not None:
        nkw = {k: v for k, v in skw.items() if k not in ("usecols", "dtype", "converters", "parse_dates")}
        nkw["nrows"] = 1
        try:
            names = list(read(io.BytesIO(head), **nkw).columns)
        except Exception:
            names = list(sample_df.columns)
    else:
        names = list(sample_df.columns)

    dtype = kwargs.get("dtype")
    user_dtype = dtype if isinstance(dtype, dict) else ({} if dtype is None else {c: dtype for c in sample_df.columns})
    if assume_missing:
        for c in sample_df.columns:
            if sample_df[c].dtype.kind in "iu" and c not in user_dtype:
                sample_df[c] = sample_df[c].astype("float64")
    unknown_categories = {c for c, d in user_dtype.items()
                          if (isinstance(d, str) and d == "category")
                          or (isinstance(d, pd.CategoricalDtype) and d.categories is None)}
    meta = sample_df.iloc[:0]
    if unknown_categories & set(meta.columns):
        from shoal.dataframe.api import UNKNOWN_CATEGORIES

        for c in unknown_categories & set(meta.columns):
            meta[c] = pd.Categorical([], categories=[UNKNOWN_CATEGORIES])

    path_column = None
    path_values: list = []
    categories: list = []
    pkw = dict(kwargs)
    if include_path_column:
        path_column = include_path_column if isinstance(include_path_column, str) else "path"
        if path_column in meta.columns:
            raise ValueError(f"{name}: the files already have a column {path_column!r}; pass "
                             f"include_path_column='another_name'")
        conv = (kwargs.get("converters") or {}).get(path_column)
        if conv is not None:
            pkw["converters"] = {k: v for k, v in kwargs["converters"].items() if k != path_column}
        path_values = [conv(p) if conv else p for p in paths]
        categories = list(dict.fromkeys(path_values))
        meta = meta.assign(**{path_column: pd.Categorical([], categories=categories)})

    sep = kwargs.get("sep", ",")
    use_arrow = (
        reader == "csv" and engine in ("auto", "pyarrow") and set(kwargs) <= _ARROW_OK
        and kwargs.get("header", "infer") in ("infer", 0) and isinstance(sep, str) and len(sep) == 1
        and not unknown_categories and not assume_missing and len(set(names)) == len(names)
        and all(isinstance(n, str) for n in names) and (not encoding or "\n".encode(encoding) == b"\n")
    )
    text_columns = {c for c, d in user_dtype.items() if d in (object, "object", str, "str", "string")}
    arrow_types = _arrow_types(meta.drop(columns=[path_column]) if path_column else meta,
                               text_columns) if use_arrow else None
    spec = CSVSpec(fs=fs, reader=reader, meta=meta, names=names, kwargs=pkw, arrow_types=arrow_types,
                   arrow_enc=encoding or "utf8",
                   sep=sep, unknown_categories=unknown_categories, path_column=path_column,
                   path_values=path_values, path_categories=categories, sample_wide=sample_wide)

    sources = []
    mtimes = []
    for i, (p, comp) in enumerate(zip(paths, comps)):
        try:
            mtimes.append(fs.modified(p).timestamp())
        except Exception:
            mtimes.append(None)
        if comp is not None or blocksize is None or whole_files:
            sources.append((p, 0, None, comp, True, i))
            continue
        size = fs.size(p)
        for b in range(max(1, int(np.ceil(size / blocksize)))):
            off = b * blocksize
            sources.append((p, off, min(blocksize, size - off), None, b == 0, i))
    cols = None if kwargs.get("usecols") is None else list(meta.columns)
    token = f"{name.replace('_', '-')}-" + tokenize(paths, mtimes, sources, spec, cols)
    layer = {(token, i): Task(read_csv_part, src, cols, spec) for i, src in enumerate(sources)}
    return new_collection(LayeredGraph({token: layer}), token, meta, [None] * (len(sources) + 1))


_DOC = """Lazily read {what} files into a partitioned DataFrame.

    >>> df = ddf.{name}('data/2024-*.csv', dtype={{'code': 'object'}})

    Nothing is read but a sample until the result is computed.

    ``urlpath``: a path, a glob (``'data/*.csv.gz'``), a list of them, or an
    fsspec URL (``storage_options=`` goes to the filesystem).
    ``blocksize``: bytes per partition for plain files, an int or a string
    such as ``'64MB'`` (default 64 MiB); ``None`` makes one partition per
    file.  Compressed files (``compression='infer'`` reads the extension)
    are one partition each.  Quoted fields that hold newlines need
    ``blocksize=None``; ``skipfooter=`` and a callable ``skiprows=`` read
    whole files.

    The columns and dtypes (the *meta*) come from parsing the first
    ``sample`` bytes (256 KiB) of the first file (``sample_rows=`` limits the
    rows used).  A later partition whose column parses to a different dtype
    raises ``DtypeMismatchError`` (a ValueError) naming the file and the
    ``dtype={{...}}`` to pass; ``assume_missing=True`` reads integer columns
    without a dtype as float64, so missing values later on fit.
    ``include_path_column=True`` (or a name) adds a categorical column with
    each row's file (a ``converters=`` entry for it maps the path).

    Every other keyword (``sep``, ``header``, ``names``, ``usecols``,
    ``skiprows``, ``comment``, ``parse_dates``, ``converters``, ``dtype``,
    ``na_values``, ``on_bad_lines``...) means what it means in
    ``pandas.{name}``; ``skiprows`` and ``header`` apply to each file's start.
    A row with more fields than the header raises ``CSVParserError`` (a
    ``pandas.errors.ParserError``) naming the file and line, as pandas does,
    unless ``on_bad_lines=`` says otherwise.  ``nrows``, ``chunksize``,
    ``iterator`` and ``index_col`` raise ValueError (use ``head`` and
    ``set_index``).  A missing file raises FileNotFoundError.

    ``engine='auto'`` parses blocks with pyarrow when the keywords allow it
    (same results, faster), else with pandas; ``'pandas'``, ``'c'`` or
    ``'python'`` always use pandas' parser.
    """


def read_csv(urlpath: Any, blocksize: Any = "default", compression: str | None = "infer", sample: int = DEFAULT_SAMPLE,
             sample_rows: int | None = None, assume_missing: bool = False, include_path_column: Any = False,
             engine: str = "auto", storage_options: dict | None = None, **kwargs: Any) -> Any:
    return _read_text("csv", "read_csv", urlpath, blocksize, compression, sample, sample_rows, assume_missing,
                      include_path_column, engine, storage_options, kwargs)


def read_table(urlpath: Any, blocksize: Any = "default", compression: str | None = "infer",
               sample: int = DEFAULT_SAMPLE, sample_rows: int | None = None, assume_missing: bool = False,
               include_path_column: Any = False, engine: str = "auto", storage_options: dict | None = None,
               **kwargs: Any) -> Any:
    if "sep" not in kwargs and "delimiter" not in kwargs:
        kwargs["sep"] = "\t"
    return _read_text("csv", "read_table", urlpath, blocksize, compression, sample, sample_rows, assume_missing,
                      include_path_column, engine, storage_options, kwargs)


def read_fwf(urlpath: Any, blocksize: Any = "default", compression: str | None = "infer",
             sample: int = DEFAULT_SAMPLE, sample_rows: int | None = None, assume_missing: bool = False,
             include_path_column: Any = False, storage_options: dict | None = None, **kwargs: Any) -> Any:
    return _read_text("fwf", "read_fwf", urlpath, blocksize, compression, sample, sample_rows, assume_missing,
                      include_path_column, "pandas", storage_options, kwargs)


read_csv.__doc__ = _DOC.format(what="CSV", name="read_csv")
read_table.__doc__ = _DOC.format(what="delimited (default tab-separated)", name="read_table")
read_fwf.__doc__ = _DOC.format(what="fixed-width", name="read_fwf") + """
    With ``colspecs='infer'`` (the default) each file is one partition, so
    every row is cut at the same columns; pass ``colspecs=`` or ``widths=``
    to split files into blocks.
    """


