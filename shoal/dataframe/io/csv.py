"""``read_csv`` over many (possibly compressed) files, and ``to_csv``.

Partitioning:

* a compressed file (``.bz2``, ``.gz``, ``.xz``, ``.zst``, ``.zip`` by
  extension, or ``compression=``) is one partition, read and inflated in
  one call (Python's bz2/zlib/lzma release the GIL, so two threads inflate
  two files at once).  The trade-off: the file's whole text is in memory
  while its partition is parsed (pandas' streaming reader holds less, but
  parses slower and keeps the GIL);
* a plain file is cut into ``blocksize`` byte ranges; each range starts
  after a newline and runs to the first newline at or past its end, so
  every line lands in exactly one partition (the header is prepended to
  every block).  Quoted fields containing newlines need
  ``blocksize=None`` (one partition per file).

Types: the first ``sample`` bytes of the first file are parsed with pandas
to find the columns and dtypes (the *meta*); ``dtype=`` overrides them.
Every partition is then checked against the meta; a column that parses
differently in a later file raises ``DtypeMismatchError`` naming the file,
the column, both dtypes and the ``dtype={...}`` to pass instead.

Inflated files are kept in a small LRU cache (``InflateCache``, 256 MiB
by default, keyed by path, size and mtime) so a second ``compute`` over the
same compressed files parses again but does not inflate again.

Parsing uses pyarrow's CSV reader with explicit column types taken from the
meta when the options allow it (much faster than pandas' parser); when
pyarrow cannot convert a value the partition is re-parsed with pandas so
the error (or the result) is pandas'.  Only the columns a computation needs
are parsed: the read task's ``columns`` argument is narrowed by the
projection pass (``shoal.dataframe.optimize``).
"""
from __future__ import annotations

import bz2
import gzip
import io
import lzma
import os
import threading
import zipfile
from collections import OrderedDict
from typing import Any

import fsspec
import numpy as np
import pandas as pd

from shoal.core.graph import LayeredGraph
from shoal.core.task import Task
from shoal.core.tokenize import tokenize
from shoal.dataframe.core import new_collection
from shoal.dataframe.optimize import register_reader

__all__ = ["read_csv", "read_table", "to_csv", "DtypeMismatchError", "inflate_cache"]

#: Plain files are cut into blocks of this many bytes by default.
DEFAULT_BLOCKSIZE = 64 * 2**20
#: Bytes of the first file parsed to infer column dtypes.
DEFAULT_SAMPLE = 256 * 2**10

_EXT = {".zip": "zip", ".bz2": "bz2", ".gz": "gzip", ".gzip": "gzip", ".xz": "xz", ".lzma": "xz", ".zst": "zstd", ".zstd": "zstd"}


def _zstd_decompress(data: bytes) -> bytes:
    import zstandard

    return zstandard.ZstdDecompressor().decompressobj().decompress(data)


def _unzip(data: bytes) -> bytes:
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        names = [n for n in z.namelist() if not n.endswith("/")]
        if len(names) != 1:
            raise ValueError(f"a zipped CSV must hold exactly one file, this one holds {names}")
        return z.read(names[0])


_INFLATE = {"bz2": bz2.decompress, "gzip": gzip.decompress, "xz": lzma.decompress, "zstd": _zstd_decompress,
            "zip": _unzip}


def _open_stream(f: Any, compression: str) -> Any:
    """A file object that inflates ``f`` as it is read (for sampling a file's start)."""
    if compression == "bz2":
        return bz2.BZ2File(f)
    if compression == "gzip":
        return gzip.GzipFile(fileobj=f)
    if compression == "xz":
        return lzma.LZMAFile(f)
    if compression == "zstd":
        import zstandard

        return zstandard.ZstdDecompressor().stream_reader(f)
    z = zipfile.ZipFile(f)
    return z.open([n for n in z.namelist() if not n.endswith("/")][0])

# pandas keywords pyarrow's reader can honour (anything else -> pandas parser)
_ARROW_OK = {"sep", "delimiter", "header", "usecols", "dtype", "parse_dates", "encoding", "na_values",
             "names", "quotechar", "skiprows"}


_ASCII_COMPATIBLE = {"latin1", "iso88591", "cp1252", "windows1252", "ascii", "usascii", "l1", "latin",
                     "iso885915", "cp1250"}


class DtypeMismatchError(ValueError):
    """A partition's column parsed to a different dtype than the sample's."""


def infer_compression(path: str, compression: Any) -> str | None:
    if compression == "infer":
        return _EXT.get(os.path.splitext(path)[1].lower())
    if compression in (None, "none", False):
        return None
    if compression == "gz":
        return "gzip"
    if compression not in _INFLATE:
        raise ValueError(f"compression={compression!r} is not supported; use 'infer', 'bz2', 'gzip', 'xz', 'zstd', 'zip' or None")
    return compression


def expand_paths(urlpath: Any, what: str = "read_csv", storage_options: dict | None = None) -> tuple[Any, list[str]]:
    """The filesystem and sorted list of files matching a path, glob or list."""
    paths = [urlpath] if isinstance(urlpath, (str, os.PathLike)) else list(urlpath)
    if not paths:
        raise FileNotFoundError(f"{what}: got an empty list of paths")
    paths = [os.fspath(p) for p in paths]
    so = storage_options or {}
    fs, _, _ = fsspec.get_fs_token_paths(paths[0], storage_options=so)
    out: list[str] = []
    for p in paths:
        fs_p, _, found = fsspec.get_fs_token_paths(p, storage_options=so)
        if not found or not all(fs_p.exists(f) for f in found[:1]):
            raise FileNotFoundError(
                f"{what}: no files match {p!r}; check the path (and the glob pattern, e.g. 'data/*.csv.bz2') "
                f"from the current directory {os.getcwd()!r}"
            )
        out.extend(found)
    return fs, out


# -- reading one partition ----------------------------------------------------------
class CSVSpec:
    """Everything a read task needs besides its source and columns (shared by all tasks)."""

    def __init__(self, fs: Any, meta: pd.DataFrame, header: bytes, kwargs: dict, user_dtype: dict,
                 encoding: str | None, sep: str, use_arrow: bool, path_column: str | None,
                 path_categories: list, parse_dates: list):
        self.fs = fs
        self.meta = meta
        self.header = header
        self.kwargs = kwargs
        self.user_dtype = user_dtype
        self.encoding = encoding
        self.sep = sep
        self.use_arrow = use_arrow
        self.path_column = path_column
        self.path_categories = path_categories
        self.parse_dates = parse_dates
        self._token = tokenize(meta, header, kwargs, user_dtype, encoding, sep, use_arrow, path_column,
                               path_categories, parse_dates)

    def __shoal_tokenize__(self) -> str:
        return self._token

    def __getstate__(self) -> dict:
        return self.__dict__

    def __setstate__(self, d: dict) -> None:
        self.__dict__.update(d)


class InflateCache:
    """The most recently inflated compressed files, up to a byte budget (LRU).

    Inflating bz2 costs ~30 MB/s per core, far more than parsing; the
    tutorial's pattern (``compute`` one result, then another on the same
    files) would pay it twice.  Entries are keyed by path, size and
    modification time, so a rewritten file is read again.  The budget is
    ``shoal.config`` key ``dataframe.inflate-cache-bytes`` (default
    ``DEFAULT_INFLATE_CACHE``; 0 turns the cache off); ``clear()`` empties it.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._items: OrderedDict = OrderedDict()
        self.nbytes = 0

    def get(self, key: tuple) -> bytes | None:
        with self._lock:
            data = self._items.get(key)
            if data is not None:
                self._items.move_to_end(key)
            return data

    def put(self, key: tuple, data: bytes, budget: int) -> None:
        if len(data) > budget:
            return
        with self._lock:
            if key in self._items:
                return
            self._items[key] = data
            self.nbytes += len(data)
            while self.nbytes > budget and self._items:
                _, old = self._items.popitem(last=False)
                self.nbytes -= len(old)

    def clear(self) -> None:
        with self._lock:
            self._items.clear()
            self.nbytes = 0


#: Default byte budget of the inflated-file cache.
DEFAULT_INFLATE_CACHE = 256 * 2**20
inflate_cache = InflateCache()


def _file_key(fs: Any, path: str) -> tuple | None:
    try:
        info = fs.info(path)
    except Exception:
        return None
    return (path, info.get("size"), info.get("mtime") or info.get("LastModified") or info.get("created"))


def _read_bytes(fs: Any, path: str, offset: int, length: int | None, compression: str | None) -> bytes:
    if compression is not None:
        from shoal import config

        budget = int(config.get("dataframe.inflate-cache-bytes", DEFAULT_INFLATE_CACHE) or 0)
        key = _file_key(fs, path) if budget > 0 else None
        if key is not None:
            data = inflate_cache.get(key)
            if data is not None:
                return data
        with fs.open(path, "rb") as f:
            raw = f.read()
        data = _INFLATE[compression](raw)
        if key is not None:
            inflate_cache.put(key, data, budget)
        return data
    with fs.open(path, "rb") as f:
        if length is None:
            return f.read()
        start = offset
        if offset > 0:
            f.seek(offset - 1)
            # skip to the first line that starts at or after offset
            chunk = f.read(1)
            if chunk != b"\n":
                f.readline()
            start = f.tell()
        if start >= offset + length:
            return b""
        data = f.read(offset + length - start)
        if data and not data.endswith(b"\n"):
            data += f.readline()
        return data


def _arrow_types(meta: pd.DataFrame, columns: list) -> dict:
    import pyarrow as pa

    out = {}
    for c in columns:
        dt = meta[c].dtype
        k = dt.kind
        if k in "iuf" and isinstance(dt, np.dtype):
            out[c] = pa.from_numpy_dtype(dt)
        elif k == "b":
            out[c] = pa.bool_()
        elif k == "M" and getattr(dt, "tz", None) is None:
            out[c] = pa.timestamp(np.datetime_data(dt)[0])
        elif k == "O":
            out[c] = pa.string()
        else:
            return {}  # unusual dtype: let pandas parse
    return out


def _parse_arrow(data: bytes, spec: CSVSpec, columns: list) -> pd.DataFrame | None:
    import pyarrow as pa
    import pyarrow.csv as pc

    types = _arrow_types(spec.meta, columns)
    if len(types) != len(columns):
        return None
    enc = (spec.encoding or "utf8").lower().replace("-", "").replace("_", "")
    if enc != "utf8" and data.isascii() and enc in _ASCII_COMPATIBLE:
        enc = "utf8"  # pure ASCII reads the same in every such encoding: skip transcoding
    ro = pc.ReadOptions(use_threads=False, block_size=1 << 24, encoding="utf8" if enc == "utf8" else spec.encoding)
    po = pc.ParseOptions(delimiter=spec.sep)
    nulls = ["", "#N/A", "#N/A N/A", "#NA", "-1.#IND", "-1.#QNAN", "-NaN", "-nan", "1.#IND", "1.#QNAN",
             "<NA>", "N/A", "NA", "NULL", "NaN", "None", "n/a", "nan", "null"]
    co = pc.ConvertOptions(column_types=types, include_columns=columns, null_values=nulls,
                           strings_can_be_null=True, quoted_strings_can_be_null=False)
    try:
        table = pc.read_csv(pa.py_buffer(data), read_options=ro, parse_options=po, convert_options=co)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError, UnicodeDecodeError):
        return None
    df = table.to_pandas(split_blocks=True, self_destruct=True)
    return df


def _parse_pandas(data: bytes, spec: CSVSpec, columns: list) -> pd.DataFrame:
    kw = dict(spec.kwargs)
    kw["usecols"] = columns
    if spec.user_dtype:
        kw["dtype"] = {k: v for k, v in spec.user_dtype.items() if k in columns}
    pdates = [c for c in spec.parse_dates if c in columns]
    if pdates:
        kw["parse_dates"] = pdates
    return pd.read_csv(io.BytesIO(data), sep=spec.sep, encoding=spec.encoding, **kw)


def _check_dtypes(df: pd.DataFrame, spec: CSVSpec, path: str) -> pd.DataFrame:
    meta = spec.meta
    bad = []
    for c in df.columns:
        want = meta[c].dtype
        got = df[c].dtype
        if got == want:
            continue
        if want.kind == "f" and got.kind in "iubf":
            df[c] = df[c].astype(want)
        elif want == object and (df[c].isna().all() or got.kind in "O"):
            df[c] = df[c].astype(object)
        elif (want.kind in "iu" and got.kind in "iu") or (want.kind == "M" and got.kind == "M"):
            df[c] = df[c].astype(want)
        elif isinstance(want, pd.CategoricalDtype) or str(want) == "category":
            df[c] = df[c].astype(want)
        else:
            bad.append((c, got, want))
    if bad:
        rows = "\n".join(f"  {c!r}: found {g}, expected {w}" for c, g, w in bad)
        fix = ", ".join(f"{c!r}: '{_fix_dtype(g, w)}'" for c, g, w in bad)
        raise DtypeMismatchError(
            f"read_csv: columns of {path!r} parsed to other dtypes than the sample of the first file "
            f"(whose types every partition must share):\n{rows}\n"
            f"The sample had no values that needed the wider type. Pass the dtypes explicitly, e.g.\n"
            f"  ddf.read_csv(..., dtype={{{fix}}})"
        )
    return df


def _fix_dtype(got: Any, want: Any) -> str:
    if got == object or want == object:
        return "object"
    if got.kind in "fiu" and want.kind in "fiu":
        return "float64"
    return "object"


def read_csv_part(source: tuple, columns: list | None, spec: CSVSpec) -> pd.DataFrame:
    """One partition: ``source`` = (path, offset, length, compression, first block?)."""
    path, offset, length, compression, first = source
    meta = spec.meta
    file_cols = [c for c in meta.columns if c != spec.path_column]
    if columns is None:
        want = file_cols
    else:
        need = set(columns)
        want = [c for c in file_cols if c in need]
        if not want:  # nothing but row counts needed: parse the cheapest column
            want = file_cols[:1]
    data = _read_bytes(spec.fs, path, offset, length, compression)
    if not first and spec.header:
        data = spec.header + data
    if len(data) < 4096 and not data.strip():
        df = meta[want].copy()
    else:
        df = _parse_arrow(data, spec, want) if spec.use_arrow else None
        if df is None:
            df = _parse_pandas(data, spec, want)
        df = _check_dtypes(df, spec, path)
    if spec.path_column and (columns is None or spec.path_column in columns):
        df[spec.path_column] = pd.Categorical([path] * len(df), categories=spec.path_categories)
    return df


register_reader(read_csv_part, 1)


def read_csv(urlpath: Any, blocksize: Any = "default", compression: str | None = "infer",
             encoding: str | None = None, dtype: Any = None, usecols: Any = None, parse_dates: Any = None,
             sep: str = ",", include_path_column: Any = False, sample: int = DEFAULT_SAMPLE,
             assume_missing: bool = False, engine: str = "auto", storage_options: dict | None = None,
             **kwargs: Any) -> Any:
    """Lazily read CSV files into a partitioned DataFrame.

    >>> air = ddf.read_csv('data/*.csv.bz2', encoding='latin1',
    ...                    dtype={'TailNum': 'object', 'CancellationCode': 'object'})

    ``urlpath``: a path, glob or list of them.  ``blocksize``: bytes per
    partition for plain files (``None``: one partition per file).
    ``assume_missing=True`` reads integer-looking columns as float64 (so
    later NaNs fit).  ``include_path_column=True`` (or a name) adds a
    categorical column with each row's file.  Other keywords go to
    ``pandas.read_csv``.
    """
    if "delimiter" in kwargs:
        sep = kwargs.pop("delimiter")
    fs, paths = expand_paths(urlpath, storage_options=storage_options)
    if blocksize == "default":
        blocksize = DEFAULT_BLOCKSIZE
    user_dtype = dict(dtype) if isinstance(dtype, dict) else ({} if dtype is None else None)
    if user_dtype is None:
        raise TypeError("read_csv(dtype=...) takes a dict of {column: dtype}, e.g. dtype={'Distance': 'float64'}")
    if isinstance(parse_dates, bool) or (parse_dates is not None and not isinstance(parse_dates, (list, tuple))):
        raise TypeError("parse_dates= takes a list of column names, e.g. parse_dates=['time_hour']")
    parse_dates = list(parse_dates or [])
    path_column = None
    if include_path_column:
        path_column = include_path_column if isinstance(include_path_column, str) else "path"

    # sources: one per compressed file, line-aligned blocks for plain files
    sources = []
    for i, p in enumerate(paths):
        comp = infer_compression(p, compression)
        if comp is not None or blocksize is None:
            sources.append((p, 0, None, comp, True))
            continue
        size = fs.size(p)
        nblocks = max(1, int(np.ceil(size / blocksize)))
        for b in range(nblocks):
            off = b * blocksize
            sources.append((p, off, min(blocksize, size - off), None, b == 0))

    # sample the first file for column names and dtypes
    first_comp = infer_compression(paths[0], compression)
    with fs.open(paths[0], "rb") as f:
        if first_comp is None:
            head = f.read(sample)
            if len(head) == sample:
                head += f.readline()
        else:
            raw = _open_stream(f, first_comp)
            try:
                head = raw.read(sample)
                if len(head) == sample:
                    head += raw.readline()
            finally:
                raw.close()
    nl = head.find(b"\n")
    header_line = head[: nl + 1] if nl >= 0 else head + b"\n"
    skw = dict(kwargs)
    skw.pop("nrows", None)
    if kwargs.get("header", "infer") is None or "names" in kwargs:
        header_line = b""
    try:
        sample_df = pd.read_csv(io.BytesIO(head), sep=sep, encoding=encoding, dtype=user_dtype or None,
                                usecols=usecols, parse_dates=parse_dates or None, **skw)
    except (ValueError, UnicodeDecodeError) as e:
        raise ValueError(f"read_csv: could not parse the start of {paths[0]!r}: {e}") from e
    if assume_missing:
        for c in sample_df.columns:
            if sample_df[c].dtype.kind in "iu" and c not in user_dtype:
                sample_df[c] = sample_df[c].astype("float64")
    meta = sample_df.iloc[:0]
    if path_column:
        meta = meta.assign(**{path_column: pd.Categorical([], categories=paths)})
    use_arrow = engine in ("auto", "pyarrow") and set(kwargs) <= _ARROW_OK and not kwargs.get("skiprows") \
        and kwargs.get("header", "infer") in ("infer", 0) and "names" not in kwargs and "na_values" not in kwargs
    pkw = {k: v for k, v in kwargs.items()}
    spec = CSVSpec(fs, meta, header_line, pkw, user_dtype, encoding, sep, use_arrow, path_column, paths,
                   [c for c in parse_dates if isinstance(c, str)])
    mtimes = []
    for p in paths:
        try:
            mtimes.append(fs.modified(p).timestamp())
        except Exception:
            mtimes.append(None)
    cols = None if usecols is None else list(meta.columns)
    name = "read-csv-" + tokenize(paths, mtimes, sources, spec, cols)
    layer = {(name, i): Task(read_csv_part, src, cols, spec) for i, src in enumerate(sources)}
    return new_collection(LayeredGraph({name: layer}), name, meta, [None] * (len(sources) + 1))


def read_table(urlpath: Any, **kwargs: Any) -> Any:
    kwargs.setdefault("sep", "\t")
    return read_csv(urlpath, **kwargs)


# -- writing -------------------------------------------------------------------------
def _write_csv_part(df: pd.DataFrame, path: str, kwargs: dict) -> str:
    comp = infer_compression(path, "infer")
    with fsspec.open(path, "wb", compression=comp) as f:
        df.to_csv(f, **kwargs)
    return path


def to_csv(df: Any, path: str, name_function: Any = None, single_file: bool = False, compute: bool = True,
           index: bool = True, scheduler: Any = None, **kwargs: Any) -> Any:
    """Write one CSV per partition: ``'out/part-*.csv'`` (``*`` -> partition number) or a directory.

    ``single_file=True`` writes all partitions, in order, to ``path``.
    Returns the list of paths written (or the lazy writes with ``compute=False``).
    """
    from shoal import base
    from shoal.delayed import delayed

    kwargs["index"] = index
    if single_file:
        parts = df.to_delayed()
        out = delayed(_write_single)(parts, path, kwargs)
        return [base.compute(out, scheduler=scheduler)[0]] if compute else out
    if "*" not in path:
        os.makedirs(path, exist_ok=True)
        path = os.path.join(path, "*.part")
    name_function = name_function or str
    parts = df.to_delayed()
    writes = [delayed(_write_csv_part)(p, path.replace("*", name_function(i)), kwargs) for i, p in enumerate(parts)]
    if compute:
        return list(base.compute(*writes, scheduler=scheduler))
    return writes


def _write_single(parts: list, path: str, kwargs: dict) -> str:
    comp = infer_compression(path, "infer")
    with fsspec.open(path, "wb", compression=comp) as f:
        for i, p in enumerate(parts):
            kw = dict(kwargs)
            if i > 0:
                kw["header"] = False
            p.to_csv(f, **kw)
    return path
