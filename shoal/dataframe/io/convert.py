"""Collections from in-memory data: ``from_pandas``, ``from_dict``, ``from_array``, ``from_delayed``."""
from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from shoal.core.graph import LayeredGraph
from shoal.core.task import Ref, Task
from shoal.core.tokenize import tokenize
from shoal.dataframe.core import new_collection
from shoal.dataframe.utils import make_meta

__all__ = ["from_pandas", "from_dict", "from_array", "from_delayed"]


def _split_points(index: pd.Index, npartitions: int, chunksize: int | None = None) -> list:
    """Row positions that cut a sorted index into about ``npartitions`` pieces (or pieces of
    ``chunksize`` rows), never splitting one index value across two pieces."""
    n = len(index)
    if chunksize is not None:
        raw = list(range(0, n, chunksize)) + [n]
    else:
        raw = np.linspace(0, n, npartitions + 1).round().astype(int)
    values = index.to_numpy()
    cuts = [0]
    for r in raw[1:-1]:
        # move the cut to the first row of its value
        pos = int(index.searchsorted(values[r], side="left")) if r < n else n
        if cuts[-1] < pos < n:
            cuts.append(pos)
    cuts.append(n)
    return cuts


def from_pandas(data: Any, npartitions: int | None = None, chunksize: int | None = None,
                sort: bool = True, name: str | None = None) -> Any:
    """A collection over a pandas DataFrame or Series, in ``npartitions`` pieces.

    With ``sort=True`` (the default) the index is sorted and divisions are
    known, so label lookups (``loc``) and index joins touch only the
    partitions they need.
    """
    if not isinstance(data, (pd.DataFrame, pd.Series)):
        raise TypeError(f"from_pandas takes a pandas DataFrame or Series, got {type(data).__name__}; "
                        "for dicts use ddf.from_dict, for numpy arrays ddf.from_array")
    if npartitions is None and chunksize is None:
        npartitions = 1
    n = len(data)
    if chunksize is not None:
        npartitions = max(1, int(np.ceil(n / chunksize)))
    npartitions = max(1, int(npartitions))
    token = name or "from-pandas-" + tokenize(data, npartitions, chunksize, sort)
    if sort:
        if not data.index.is_monotonic_increasing:
            data = data.sort_index()
        if n == 0:
            cuts = [0, 0]
        else:
            cuts = _split_points(data.index, npartitions, chunksize)
        idx = data.index
        divisions = [idx[c] for c in cuts[:-1]] + [idx[-1]] if n else [None, None]
    else:
        if chunksize is not None:
            cuts = list(range(0, n, chunksize)) + [n] if n else [0, 0]
        else:
            cuts = list(np.linspace(0, n, npartitions + 1).round().astype(int))
        divisions = [None] * len(cuts)
    layer = {(token, i): data.iloc[cuts[i]:cuts[i + 1]] for i in range(len(cuts) - 1)}
    return new_collection(LayeredGraph({token: layer}), token, make_meta(data), divisions)


def from_dict(data: dict, npartitions: int = 1, orient: str = "columns", dtype: Any = None,
              columns: Any = None) -> Any:
    """A collection from a dict of columns (``pandas.DataFrame.from_dict``), in ``npartitions`` pieces."""
    return from_pandas(pd.DataFrame.from_dict(data, orient=orient, dtype=dtype, columns=columns),
                       npartitions=npartitions)


def _array_piece(x: np.ndarray, start: int, columns: Any, is_series: bool) -> Any:
    idx = pd.RangeIndex(start, start + len(x))
    if is_series:
        return pd.Series(x, index=idx, name=columns)
    if x.dtype.names:
        return pd.DataFrame(x, index=idx)
    return pd.DataFrame(x, index=idx, columns=columns)


def from_array(x: Any, chunksize: int = 50_000, columns: Any = None, meta: Any = None) -> Any:
    """A collection over a 1-d (Series) or 2-d (DataFrame) numpy array, ``chunksize`` rows each."""
    x = np.asarray(x)
    if x.ndim not in (1, 2):
        raise ValueError(f"from_array takes 1-d or 2-d arrays, got {x.ndim}-d")
    is_series = x.ndim == 1 and not x.dtype.names
    if not is_series and columns is None and not x.dtype.names:
        columns = list(range(x.shape[1]))
    n = len(x)
    starts = list(range(0, n, chunksize)) or [0]
    name = "from-array-" + tokenize(x, chunksize, columns)
    layer = {(name, i): Task(_array_piece, x[s:s + chunksize], s, columns, is_series) for i, s in enumerate(starts)}
    m = _array_piece(x[:0], 0, columns, is_series)
    divisions = starts + [max(n - 1, 0)]
    return new_collection(LayeredGraph({name: layer}), name, make_meta(m) if meta is None else make_meta(meta), divisions)


def from_delayed(dfs: Any, meta: Any = None, divisions: Any = None, verify_meta: bool = True) -> Any:
    """A collection whose partitions are the values of ``Delayed`` objects.

    Without ``meta`` the first one is computed to find the columns and dtypes.
    """
    from shoal.delayed import Delayed

    if isinstance(dfs, Delayed):
        dfs = [dfs]
    dfs = list(dfs)
    if not dfs:
        raise ValueError("from_delayed needs at least one Delayed")
    if meta is None:
        meta = make_meta(dfs[0].compute())
    else:
        meta = make_meta(meta)
    name = "from-delayed-" + tokenize(*[d.key for d in dfs])
    layer = {(name, i): Task(_check_meta, Ref(d.key), meta, verify_meta) for i, d in enumerate(dfs)}
    if divisions is None:
        divisions = [None] * (len(dfs) + 1)
    graph = LayeredGraph.from_collections(name, layer, dfs)
    return new_collection(graph, name, meta, divisions)


def _check_meta(df: Any, meta: Any, verify: bool) -> Any:
    if verify and isinstance(meta, pd.DataFrame):
        if not isinstance(df, pd.DataFrame) or list(df.columns) != list(meta.columns):
            got = list(df.columns) if isinstance(df, pd.DataFrame) else type(df).__name__
            raise ValueError(f"from_delayed: a partition has columns {got}, expected {list(meta.columns)}; "
                             "pass meta= describing what every partition returns")
    return df
