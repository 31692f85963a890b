"""``set_index`` and ``sort_values``: sampling-based range partitioning.

The boundaries come from approximate quantiles of the key column (each
partition reports quantiles on a grid, weighted by its row count), computed
eagerly as Dask does; rows are then range-partitioned by those boundaries
and each partition sorted.  After ``set_index`` the divisions are known
(taken from the actual minimum/maximum and the boundaries), so ``loc`` and
index joins can skip partitions.  ``sorted=True`` trusts that the column is
already sorted across partitions and only reads each partition's min/max.
"""
from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from shoal.base import compute
from shoal.dataframe.core import new_collection
from shoal.dataframe.shuffle import partition_by_range

__all__ = ["set_index", "sort_values"]


def _boundaries(col: Any, npartitions: int) -> tuple[list, Any, Any]:
    qs = np.linspace(0, 1, npartitions + 1)
    mn, mx, q = compute(col.min(), col.max(), col.quantile(list(qs[1:-1])) if npartitions > 1 else col.min())
    if npartitions > 1:
        vals = list(q.to_numpy())
    else:
        vals = []
    dtype = col._meta.dtype
    if dtype.kind in "iu":
        vals = [int(round(v)) for v in vals]
    elif dtype.kind == "M":
        vals = [pd.Timestamp(v) for v in vals]
    # strictly increasing, inside (min, max]
    out = []
    for v in vals:
        if v != v:  # NaN
            continue
        if (not out or v > out[-1]) and v > mn and v <= mx:
            out.append(v)
    return out, mn, mx


def _set_index_part(df: pd.DataFrame, col: Any, drop: bool) -> pd.DataFrame:
    return df.set_index(col, drop=drop).sort_index()


def set_index(df: Any, other: Any, drop: bool = True, sorted: bool = False, npartitions: int | None = None,
              divisions: Any = None) -> Any:
    """Make column ``other`` the index, sorted across partitions (known divisions)."""
    if not isinstance(other, str) and not isinstance(other, (int, float)):
        raise NotImplementedError("set_index takes a column name, e.g. df.set_index('id')")
    if other not in df._meta.columns:
        raise KeyError(f"set_index: {other!r} is not a column; the columns are {list(df._meta.columns)}")
    meta = df._meta.set_index(other, drop=drop)
    if sorted:
        mins_maxs = compute(*[(df.partitions[i][other].min(), df.partitions[i][other].max())
                              for i in range(df.npartitions)])
        divs = [m[0] for m in mins_maxs] + [mins_maxs[-1][1]]
        out = df.map_partitions(_set_index_part, other, drop, meta=meta, token="set-index")
        return new_collection(out.dask, out._name, meta, divs)
    n = npartitions or df.npartitions
    if divisions is not None:
        bounds = list(divisions[1:-1])
        mn, mx = divisions[0], divisions[-1]
    else:
        bounds, mn, mx = _boundaries(df[other], n)
    parted = partition_by_range(df, other, bounds)
    out = parted.map_partitions(_set_index_part, other, drop, meta=meta, token="set-index")
    divs = [mn] + bounds + [mx]
    return new_collection(out.dask, out._name, meta, divs)


def _sort_part(df: pd.DataFrame, by: Any, ascending: Any, kwargs: dict) -> pd.DataFrame:
    return df.sort_values(by, ascending=ascending, **kwargs)


def sort_values(df: Any, by: Any, ascending: bool = True, npartitions: int | None = None, **kwargs: Any) -> Any:
    """Sort rows by column(s); partitions are ranges of the first key (divisions stay unknown)."""
    first = by[0] if isinstance(by, list) else by
    if not isinstance(ascending, bool):
        raise NotImplementedError("sort_values takes one ascending= for all keys")
    n = npartitions or df.npartitions
    col = df[first]
    bounds, _, _ = _boundaries(col, n)
    parted = partition_by_range(df, first, bounds, ascending=ascending)
    return parted.map_partitions(_sort_part, by, ascending, kwargs, meta=df._meta, token="sort-values",
                                 divisions=[None] * (parted.npartitions + 1))

