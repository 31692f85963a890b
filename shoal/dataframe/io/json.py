"""``read_json`` / ``to_json``: one partition per file, or per byte block of a JSON-lines file.

Only line-delimited JSON (``lines=True``, one record per line) can be cut
into blocks: a block starts after a newline and ends at one, like CSV
blocks.  Any other layout (``orient='records'`` arrays, ``'split'``...) is
one partition per file, parsed whole by pandas.  The meta comes from
parsing the first partition's start when ``meta=`` is not given.
"""
from __future__ import annotations

import io
from typing import Any, Callable

import fsspec
import pandas as pd

from shoal.core.graph import LayeredGraph
from shoal.core.task import Task
from shoal.core.tokenize import tokenize
from shoal.dataframe.core import new_collection
from shoal.dataframe.io._files import expand_paths, infer_compression, parse_blocksize, read_block
from shoal.dataframe.utils import make_meta

__all__ = ["read_json", "to_json"]


def _read_json_part(source: tuple, fs: Any, kwargs: dict, meta: pd.DataFrame | None,
                    path_column: str | None = None, path_value: Any = None, categories: list | None = None
                    ) -> pd.DataFrame:
    """One partition: ``source`` = (path, offset, length, compression); checked against ``meta``."""
    path, offset, length, compression = source
    data = read_block(fs, path, offset, length, compression)
    kwargs = dict(kwargs)
    enc = kwargs.pop("encoding", None) or "utf-8"
    reader = kwargs.pop("engine", None) or pd.read_json
    if data.strip():
        try:
            df = reader(io.StringIO(data.decode(enc)), **kwargs)
        except ValueError as e:
            raise ValueError(f"read_json: could not parse {path!r}"
                             f"{'' if offset == 0 else f' (block at byte {offset})'}: {e}") from e
    else:
        df = pd.DataFrame() if meta is None else meta.iloc[:0].copy()
    if meta is not None and len(df.columns) and list(df.columns) != list(meta.columns):
        missing = [c for c in meta.columns if c not in df.columns]
        extra = [c for c in df.columns if c not in meta.columns]
        if extra:
            raise ValueError(f"read_json: {path!r} has columns {extra} that the first partition lacks; pass meta= "
                             f"naming every column")
        df = df.reindex(columns=list(meta.columns)) if missing else df[list(meta.columns)]
    if meta is not None and len(df) == 0:
        df = meta.iloc[:0].copy()
    elif meta is not None:
        df = _match_dtypes(df, meta, path)
    if path_column:
        df[path_column] = pd.Categorical([path_value] * len(df), categories=categories)
    return df


def _match_dtypes(df: pd.DataFrame, meta: pd.DataFrame, path: str) -> pd.DataFrame:
    """Cast to the meta's dtypes where nothing is lost; a real difference raises, naming the fix."""
    casts, bad = {}, []
    for c in meta.columns:
        want, got = meta[c].dtype, df[c].dtype
        if want == got:
            continue
        col = df[c]
        stringy = lambda d: d == object or isinstance(d, pd.StringDtype)  # noqa: E731
        if col.isna().all() or (want.kind == "f" and got.kind in "iuf") or (stringy(want) and stringy(got)) \
                or (want.kind in "iu" and got.kind in "iu" and isinstance(want, type(got))):
            casts[c] = want
        else:
            bad.append(f"{c!r}: found {got}, expected {want}")
    if bad:
        raise ValueError(f"read_json: columns of {path!r} parsed to other dtypes than the first partition's: "
                         f"{'; '.join(bad)}. Pass meta= with the dtypes every partition can hold (e.g. float64 for "
                         f"integers with missing values)")
    return df.astype(casts) if casts else df


def reader_for_meta(head: bytes, kw: dict, path: str) -> pd.DataFrame:
    """Parse the start of a JSON-lines file (for the meta)."""
    kw = dict(kw)
    enc = kw.pop("encoding", None) or "utf-8"
    reader = kw.pop("engine", None) or pd.read_json
    try:
        return reader(io.StringIO(head.decode(enc)), **kw)
    except ValueError as e:
        raise ValueError(f"read_json: could not parse the start of {path!r}: {e}") from e


def read_json(url_path: Any, orient: str = "records", lines: bool | None = None, storage_options: dict | None = None,
              blocksize: Any = None, sample: int = 2**20, encoding: str = "utf-8", errors: str = "strict",
              compression: Any = "infer", meta: Any = None, engine: Callable | None = None,
              include_path_column: Any = False, path_converter: Callable | None = None, **kwargs: Any) -> Any:
    """Lazily read JSON files into a DataFrame (``pandas.read_json`` keywords pass through).

    ``url_path``: a path, glob or list.  ``orient='records'`` with
    ``lines=True`` (the default for that orient) reads JSON lines;
    ``blocksize=`` (bytes or ``'64MB'``) then splits each uncompressed file
    into blocks of whole lines, otherwise each file is one partition.
    ``meta=`` gives the columns and dtypes; without it the first partition
    is read once to find them (its first ``sample`` bytes for JSON lines).
    ``engine=`` is the parsing function (default ``pandas.read_json``).
    ``include_path_column=True`` (or a name)
    adds a categorical column with each row's file.  Malformed JSON raises
    ValueError naming the file; a missing file raises FileNotFoundError.
    """
    if lines is None:
        lines = orient == "records"
    if orient != "records" and lines:
        raise ValueError("read_json: lines=True works with orient='records' only")
    if engine is not None and not callable(engine):
        raise TypeError("read_json(engine=...) takes a function with pandas.read_json's signature (default "
                        "pandas.read_json)")
    if errors != "strict":
        raise NotImplementedError("read_json(errors=...) other than 'strict' is not supported")
    bs = parse_blocksize(blocksize, 64 * 2**20)
    if bs is not None and not lines:
        raise ValueError("read_json: blocksize= needs lines=True (only line-delimited JSON can be split)")
    fs, paths = expand_paths(url_path, "read_json", storage_options)
    path_column = None
    if include_path_column:
        path_column = include_path_column if isinstance(include_path_column, str) else "path"
    conv = path_converter or (lambda p: p)
    sources = []
    for i, p in enumerate(paths):
        comp = infer_compression(p, compression)
        size = fs.size(p)
        if bs is None or comp is not None or not size:
            sources.append((p, 0, None, comp))
        else:
            for off in range(0, size, bs):
                sources.append((p, off, min(bs, size - off), None))
    kw = dict(kwargs, orient=orient, lines=lines, encoding=encoding, engine=engine)
    categories = list(dict.fromkeys(conv(p) for p in paths))
    if meta is None:
        p0, _, _, comp0 = sources[0]
        if lines and comp0 is None and sample:
            # the first ``sample`` bytes, to a line end, are enough to find the columns and dtypes
            with fs.open(p0, "rb") as f:
                head = f.read(sample)
                head += f.readline()
            first = reader_for_meta(head, kw, p0)
        else:
            first = _read_json_part(sources[0], fs, kw, None)
        meta = first.iloc[:0]
    else:
        meta = make_meta(meta)
    part_meta = meta.drop(columns=[path_column]) if path_column and path_column in meta.columns else meta
    if path_column:
        meta = part_meta.assign(**{path_column: pd.Categorical([], categories=categories)})
    name = "read-json-" + tokenize(paths, [_mtime(fs, p) for p in paths], sources, kw, path_column, part_meta)
    layer = {(name, i): Task(_read_json_part, src, fs, kw, part_meta, path_column, conv(src[0]), categories)
             for i, src in enumerate(sources)}
    return new_collection(LayeredGraph({name: layer}), name, meta, [None] * (len(sources) + 1))


def _mtime(fs: Any, path: str) -> Any:
    try:
        return fs.modified(path).timestamp()
    except Exception:
        return None


def _write_json(df: pd.DataFrame, path: str, compression: Any, encoding: str, storage_options: dict,
                kwargs: dict) -> str:
    comp = infer_compression(path, compression)
    with fsspec.open(path, "wt", compression=comp, encoding=encoding, **storage_options) as f:
        df.to_json(f, **kwargs)
        if kwargs.get("lines") and len(df):
            f.write("\n")
    return path


def to_json(df: Any, url_path: Any, orient: str = "records", lines: bool | None = None,
            storage_options: dict | None = None, compute: bool = True, encoding: str = "utf-8",
            errors: str = "strict", compression: Any = "infer", compute_kwargs: dict | None = None,
            name_function: Callable | None = None, **kwargs: Any) -> Any:
    """Write one JSON file per partition (``pandas.DataFrame.to_json`` keywords pass through).

    ``url_path``: a directory (``0.part``, ``1.part``...), a pattern with one
    ``*`` (replaced by ``name_function(i)``, default the partition number) or
    a list with one name per partition.  ``orient='records'`` writes JSON
    lines by default.  Returns the file names written, or the lazy writes
    with ``compute=False``.
    """
    from shoal import base
    from shoal.dataframe.io.csv_write import output_paths
    from shoal.delayed import delayed

    if lines is None:
        lines = orient == "records"
    if errors != "strict":
        raise NotImplementedError("to_json(errors=...) other than 'strict' is not supported")
    parts = df.to_delayed()
    paths = output_paths(url_path, len(parts), name_function, "to_json")
    kw = dict(kwargs, orient=orient, lines=lines)
    writes = [delayed(_write_json, pure=False)(p, path, compression, encoding, storage_options or {}, kw)
              for p, path in zip(parts, paths)]
    if not compute:
        return writes
    return list(base.compute(*writes, **(compute_kwargs or {})))
