"""``read_orc`` / ``to_orc`` with pyarrow: one partition per stripe of every file."""
from __future__ import annotations

import os
from typing import Any

import pandas as pd

from shoal.core.graph import LayeredGraph
from shoal.core.task import Task
from shoal.core.tokenize import tokenize
from shoal.dataframe.core import new_collection

__all__ = ["read_orc", "to_orc"]


def _read_stripe(path: str, stripe: int, columns: list | None, index: str | None) -> pd.DataFrame:
    from pyarrow import orc

    df = orc.ORCFile(path).read_stripe(stripe, columns=columns).to_pandas()
    return df.set_index(index) if index else df


def read_orc(path: Any, columns: Any = None, index: str | None = None, storage_options: dict | None = None,
             **kwargs: Any) -> Any:
    """Lazily read ORC files (a file, directory, glob or list): one partition per stripe.

    ``columns=`` reads only those columns; ``index=`` names a column to use
    as the index.  A missing path raises FileNotFoundError, an unknown
    column KeyError.
    """
    from pyarrow import orc

    from shoal.dataframe.io._files import expand_paths

    if kwargs:
        raise TypeError(f"read_orc: unexpected keywords {sorted(kwargs)}")
    if isinstance(path, (str, os.PathLike)) and os.path.isdir(path):
        path = os.path.join(os.fspath(path), "*.orc")
    _, paths = expand_paths(path, "read_orc", storage_options)
    first = orc.ORCFile(paths[0])
    names = first.schema.names
    cols = None if columns is None else list(columns)
    read_cols = cols
    if cols is not None:
        missing = [c for c in cols if c not in names]
        if missing:
            raise KeyError(f"read_orc: columns {missing} are not in {paths[0]!r}; it has {names}")
        if index and index not in cols:
            read_cols = cols + [index]
    if index and index not in names:
        raise KeyError(f"read_orc: index {index!r} is not a column of {paths[0]!r}")
    meta = first.schema.empty_table().to_pandas()
    meta = meta[read_cols] if read_cols is not None else meta
    if index:
        meta = meta.set_index(index)
    pieces = []
    for p in paths:
        n = orc.ORCFile(p).nstripes
        pieces += [(p, s) for s in range(n)]
    name = "read-orc-" + tokenize(paths, [os.path.getmtime(p) if os.path.exists(p) else None for p in paths],
                                  pieces, read_cols, index)
    if not pieces:
        layer = {(name, 0): meta}
    else:
        layer = {(name, i): Task(_read_stripe, p, s, read_cols, index) for i, (p, s) in enumerate(pieces)}
    return new_collection(LayeredGraph({name: layer}), name, meta, [None] * (len(layer) + 1))


def _write_orc(df: pd.DataFrame, path: str, write_index: bool) -> str:
    import pyarrow as pa
    from pyarrow import orc

    if write_index:
        df = df.reset_index()
    orc.write_table(pa.Table.from_pandas(df, preserve_index=False), path)
    return path


def to_orc(df: Any, path: Any, write_index: bool = True, compute: bool = True,
           compute_kwargs: dict | None = None, **kwargs: Any) -> Any:
    """Write ``path/part.<i>.orc`` for every partition; the index becomes a column unless ``write_index=False``.

    Returns the files written (or the lazy writes with ``compute=False``).
    """
    from shoal import base
    from shoal.delayed import delayed

    if kwargs:
        raise TypeError(f"to_orc: unexpected keywords {sorted(kwargs)}")
    path = os.fspath(path)
    os.makedirs(path, exist_ok=True)
    writes = [delayed(_write_orc, pure=False)(p, os.path.join(path, f"part.{i}.orc"), write_index)
              for i, p in enumerate(df.to_delayed())]
    if not compute:
        return writes
    return list(base.compute(*writes, **(compute_kwargs or {})))
