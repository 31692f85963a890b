"""``read_parquet`` / ``to_parquet`` with pyarrow.

One partition per row group of every file.  ``columns=`` reads only those
columns (and the projection pass narrows it further); ``filters=`` (pyarrow's
DNF list, e.g. ``[('year', '>=', 2000)]``) skips row groups whose statistics
rule them out when the graph is built, and filters rows when reading.
``to_parquet`` writes ``part.<i>.parquet`` per partition, index included.
"""
from __future__ import annotations

import os
from typing import Any

import pandas as pd

from shoal.core.graph import LayeredGraph
from shoal.core.task import Task
from shoal.core.tokenize import tokenize
from shoal.dataframe.core import new_collection
from shoal.dataframe.optimize import register_reader

__all__ = ["read_parquet", "to_parquet"]


def _expr(filters: Any) -> Any:
    if not filters:
        return None
    import pyarrow.parquet as pq

    return pq.filters_to_expression(filters)


def _local_fs() -> Any:
    import pyarrow.fs

    return pyarrow.fs.LocalFileSystem()


def read_parquet_part(source: tuple, columns: list | None, spec: tuple) -> pd.DataFrame:
    import pyarrow.dataset as ds

    path, rg = source
    filters, all_columns, index_cols = spec
    fmt = ds.ParquetFileFormat()
    frag = fmt.make_fragment(path, _local_fs(), row_groups=[rg] if rg is not None else None)
    cols = all_columns if columns is None else [c for c in all_columns if c in set(columns)]
    read_cols = cols + [c for c in index_cols if c not in cols]
    expr = _expr(filters)
    table = frag.to_table(schema=frag.physical_schema, columns=read_cols, filter=expr)
    df = table.to_pandas()  # restores a stored index from pandas' metadata
    if index_cols and all(c in df.columns for c in index_cols):
        df = df.set_index(index_cols)
    return df[cols]


register_reader(read_parquet_part, 1)


def read_parquet(path: Any, columns: Any = None, filters: Any = None, index: Any = None, **kwargs: Any) -> Any:
    """Lazily read parquet file(s): a file, a directory of ``*.parquet``, a glob or a list."""
    import pyarrow.dataset as ds
    import pyarrow.parquet as pq

    from shoal.dataframe.io.csv import expand_paths

    if isinstance(path, str) and os.path.isdir(path):
        path = os.path.join(path, "*.parquet")
    _, paths = expand_paths(path, "read_parquet")
    first = pq.ParquetFile(paths[0])
    schema = first.schema_arrow
    pmeta = schema.pandas_metadata or {}
    index_cols = [c for c in pmeta.get("index_columns", []) if isinstance(c, str)]
    if index is not None:
        index_cols = [index] if isinstance(index, str) else list(index)
    all_columns = [n for n in schema.names if n not in index_cols]
    if columns is not None:
        single = isinstance(columns, str)
        columns = [columns] if single else list(columns)
        missing = [c for c in columns if c not in all_columns]
        if missing:
            raise KeyError(f"read_parquet: columns {missing} are not in {paths[0]!r}; it has {all_columns}")
    else:
        single = False
    meta = schema.empty_table().to_pandas()
    if index_cols and all(c in meta.columns for c in index_cols):
        meta = meta.set_index(index_cols)
    meta = meta[columns if columns is not None else all_columns]
    expr = _expr(filters)
    sources = []
    fmt = ds.ParquetFileFormat()
    for p in paths:
        frag = fmt.make_fragment(p, _local_fs())
        pieces = frag.split_by_row_group(expr, schema=frag.physical_schema) if expr is not None else frag.split_by_row_group()
        for piece in pieces:
            for rg in piece.row_groups:
                sources.append((p, rg.id))
    if not sources:
        sources = [(paths[0], None)]
    spec = (filters, list(meta.columns), index_cols)
    name = "read-parquet-" + tokenize(paths, [os.path.getmtime(p) if os.path.exists(p) else None for p in paths],
                                      sources, spec)
    cols = None if columns is None else list(columns)
    layer = {(name, i): Task(read_parquet_part, src, cols, spec) for i, src in enumerate(sources)}
    out = new_collection(LayeredGraph({name: layer}), name, meta, [None] * (len(sources) + 1))
    return out[columns[0]] if single else out


def _write_part(df: pd.DataFrame, path: str, write_index: bool) -> str:
    import pyarrow as pa
    import pyarrow.parquet as pq

    if write_index and isinstance(df.index, pd.RangeIndex):
        df = df.set_axis(pd.Index(df.index.to_numpy(), name=df.index.name))  # store as a column in every file
    table = pa.Table.from_pandas(df, preserve_index=write_index)
    pq.write_table(table, path)
    return path


def to_parquet(df: Any, path: str, write_index: bool = True, compute: bool = True, **kwargs: Any) -> Any:
    """Write ``path/part.<i>.parquet`` for every partition; returns the paths (or lazy writes)."""
    from shoal import base
    from shoal.delayed import delayed

    os.makedirs(path, exist_ok=True)
    writes = [delayed(_write_part)(p, os.path.join(path, f"part.{i}.parquet"), write_index)
              for i, p in enumerate(df.to_delayed())]
    if compute:
        return list(base.compute(*writes, **kwargs))
    return writes
