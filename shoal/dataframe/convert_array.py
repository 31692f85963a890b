"""Between dataframes and the other collections: ``shoal.array`` and ``shoal.bag``.

One array block (or bag partition) per dataframe partition; the graph
only grows by one task per partition.  Row counts per partition are not
known without computing, so array chunks along rows are NaN unless
``lengths=True`` (computes them) or a tuple of lengths is given.
"""
from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

from shoal.core.graph import LayeredGraph
from shoal.core.task import Ref, Task
from shoal.core.tokenize import tokenize

__all__ = ["frame_to_array", "frame_to_bag", "frame_to_records", "from_dask_array"]


def _values(part: Any) -> np.ndarray:
    if part.ndim == 1 and isinstance(part.dtype, pd.api.extensions.ExtensionDtype):
        return np.asarray(part, dtype=object)
    return np.asarray(part.to_numpy())


def _records(part: Any, index: bool) -> np.ndarray:
    return part.to_records(index=index)


def _size_series(part: Any) -> pd.Series:
    return pd.Series([len(part)], dtype="int64")


def _lengths(frame: Any, lengths: Any) -> tuple:
    if lengths is True:
        from shoal.base import compute

        sizes = frame.map_partitions(_size_series, meta=pd.Series([], dtype="int64"), token="partition-len",
                                     divisions=[None] * (frame.npartitions + 1))
        return tuple(int(x) for x in compute(sizes)[0])
    if lengths is None or lengths is False:
        return (np.nan,) * frame.npartitions
    if not isinstance(lengths, (list, tuple)):
        raise ValueError(f"lengths must be True, None or one length per partition, got {lengths!r}")
    lengths = tuple(int(x) for x in lengths)
    if len(lengths) != frame.npartitions:
        raise ValueError(f"lengths has {len(lengths)} values for {frame.npartitions} partitions")
    return lengths


def _array_of(frame: Any, func: Any, args: tuple, dtype: Any, ncols: Any, lengths: Any, token: str) -> Any:
    from shoal.array.core import Array

    rows = _lengths(frame, lengths)
    name = f"{token}-{tokenize(frame, func, args, lengths)}"
    layer = {}
    for i in range(frame.npartitions):
        key = (name, i) if ncols is None else (name, i, 0)
        layer[key] = Task(func, Ref((frame._name, i)), *args)
    graph = LayeredGraph.from_collections(name, layer, [frame])
    chunks = (rows,) if ncols is None else (rows, (ncols,))
    return Array(graph, name, chunks, dtype)


def frame_to_array(frame: Any, lengths: Any = None) -> Any:
    """The values of ``frame`` as an Array: 1-d for a Series or Index, 2-d for a DataFrame."""
    sample = _values(frame._meta_nonempty)
    ncols = None if frame._meta.ndim == 1 else len(frame._meta.columns)
    if ncols is None and isinstance(frame._meta.dtype, pd.api.extensions.ExtensionDtype):
        import warnings

        warnings.warn(f"the values of dtype {frame._meta.dtype} become a numpy object array (shoal arrays hold "
                      "numpy data); cast first, e.g. s.astype('float64').values, for a typed array",
                      UserWarning, stacklevel=3)
    return _array_of(frame, _values, (), sample.dtype, ncols, lengths, "values")


def frame_to_records(frame: Any, index: bool = False, lengths: Any = None) -> Any:
    """``DataFrame.to_records`` per partition, as a 1-d record Array."""
    sample = frame._meta_nonempty.to_records(index=index)
    return _array_of(frame, _records, (index,), sample.dtype, None, lengths, "to-records")


def _rows(part: Any, index: bool, format: str) -> list:
    if isinstance(part, pd.Series):
        return list(part.items()) if index else part.tolist()
    if format == "dict":
        df = part.reset_index() if index else part
        return df.to_dict(orient="records")
    if format == "frame":
        return [part]
    return list(part.itertuples(index=index, name=None))


def frame_to_bag(frame: Any, index: bool = False, format: str = "tuple") -> Any:
    """A Bag with one element per row: tuples (``format='tuple'``), dicts (``'dict'``) or one frame per partition."""
    from shoal.bag.creation import from_delayed
    from shoal.delayed import Delayed

    if format not in ("tuple", "dict", "frame"):
        raise ValueError(f"to_bag(format={format!r}): use 'tuple', 'dict' or 'frame'")
    name = f"to-bag-{tokenize(frame, index, format)}"
    layer = {(name, i): Task(_rows, Ref((frame._name, i)), index, format) for i in range(frame.npartitions)}
    graph = LayeredGraph.from_collections(name, layer, [frame])
    from shoal.dataframe.core import new_collection

    holder = new_collection(graph, name, frame._meta, frame.divisions)
    return from_delayed([Delayed(k, {}, (holder,)) for k in holder.__shoal_keys__()])


def _block_to_frame(block: np.ndarray, start: Any, columns: Any, is_series: bool, index_block: Any = None) -> Any:
    n = len(block)
    if index_block is not None:
        idx = pd.Index(np.asarray(index_block))
    else:
        idx = pd.RangeIndex(start, start + n)
    if is_series:
        return pd.Series(block, index=idx, name=columns)
    if block.dtype.names:
        return pd.DataFrame.from_records(block, index=idx)
    return pd.DataFrame(block, index=idx, columns=columns)


def from_dask_array(x: Any, columns: Any = None, index: Any = None, meta: Any = None) -> Any:
    """A DataFrame (2-d) or Series (1-d) whose partitions are the row blocks of a ``shoal.array`` Array.

    Known row chunk sizes give a default integer index with known
    divisions; unknown ones (NaN chunks) are computed first.  ``index``
    (a shoal Index/Series with matching partitions) replaces the default index.
    """
    from shoal.array.core import Array
    from shoal.dataframe.core import new_collection
    from shoal.dataframe.utils import make_meta

    if not isinstance(x, Array):
        from shoal.dataframe import from_array

        return from_array(np.asarray(x), columns=columns, meta=meta)
    if x.ndim not in (1, 2):
        raise ValueError(f"from_dask_array takes a 1-d or 2-d array, got {x.ndim}-d")
    if x.ndim == 2 and len(x.chunks[1]) > 1:
        x = x.rechunk({1: x.shape[1]})
    rows = x.chunks[0]
    if any(isinstance(r, float) and math.isnan(r) for r in rows):
        from shoal.base import compute

        sizes = compute(*[_block_len(x, i) for i in range(len(rows))])
        rows = tuple(int(s) for s in sizes)
    is_series = x.ndim == 1 and not x.dtype.names
    if x.ndim == 2 and columns is None:
        columns = list(range(x.shape[1]))
    elif x.ndim == 2 and isinstance(columns, str):
        columns = [columns]
    if x.ndim == 2 and len(columns) != x.shape[1]:
        raise ValueError(f"{len(columns)} column names for an array with {x.shape[1]} columns")
    starts = np.concatenate([[0], np.cumsum(rows)]).astype(int)
    name = "from-dask-array-" + tokenize(x, columns, index)
    keys = x.__shoal_keys__()
    layer = {}
    for i in range(len(rows)):
        key = keys[i] if x.ndim == 1 else keys[i][0]
        idx_ref = Ref((index._name, i)) if index is not None else None
        layer[(name, i)] = Task(_block_to_frame, Ref(key), int(starts[i]), columns, is_series, idx_ref)
    empty = np.empty((0,) + tuple(x.shape[1:]), dtype=x.dtype)
    m = _block_to_frame(empty, 0, columns, is_series)
    parents = [x] + ([index] if index is not None else [])
    graph = LayeredGraph.from_collections(name, layer, parents)
    if index is not None:
        if index.npartitions != len(rows):
            raise ValueError(f"the index has {index.npartitions} partitions, the array {len(rows)} row blocks")
        m.index = index._meta[:0] if isinstance(index._meta, pd.Index) else pd.Index(index._meta)
        divisions = index.divisions
    else:
        nonempty = [i for i, r in enumerate(rows) if r]
        divisions = [int(starts[i]) for i in range(len(rows))] + [int(max(starts[-1] - 1, 0))]
        if len(nonempty) != len(rows) or not len(rows):
            divisions = [None] * (len(rows) + 1)
    return new_collection(graph, name, make_meta(m) if meta is None else make_meta(meta), divisions)


def _block_len(x: Any, i: int) -> Any:
    from shoal.delayed import Delayed

    keys = x.__shoal_keys__()
    key = keys[i] if x.ndim == 1 else keys[i][0]
    return _len_of(Delayed(key, {}, (x,)))


def _len_of(d: Any) -> Any:
    from shoal.delayed import delayed

    return delayed(len)(d)
