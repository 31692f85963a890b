"""``set_index`` and ``sort_values``: sampling-based range partitioning.

The boundaries come from approximate quantiles of the key, computed eagerly
as Dask does: every partition sorts its non-null keys and reports up to
``SAMPLES`` evenly spaced ones, each weighted by the rows it stands for;
the boundaries are read off the merged weighted sample.  Only comparisons
are needed, so any sortable dtype works (numbers, strings, datetimes,
nullable integers; categoricals are ranked by their category order).  Rows
are then range-partitioned by those boundaries and each partition sorted.
After ``set_index`` the divisions are known (the actual minimum/maximum and
the boundaries), so ``loc`` and index joins can skip partitions; for a
categorical key they stay unknown, since category values do not compare in
category order.
``sorted=True`` trusts that the column is already sorted across partitions
and only reads each partition's min/max.
"""
from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from shoal.base import compute
from shoal.core.graph import LayeredGraph
from shoal.core.task import Ref, Task
from shoal.core.tokenize import tokenize
from shoal.dataframe import methods as M
from shoal.dataframe.core import new_collection
from shoal.dataframe.shuffle import _shuffle_layers

__all__ = ["set_index", "sort_values", "key_boundaries"]

SAMPLES = 128


def _rank_values(s: pd.Series) -> pd.Series:
    """Values that compare like ``s`` sorts (categoricals by their codes); nulls dropped."""
    if isinstance(s.dtype, pd.CategoricalDtype):
        codes = pd.Series(s.cat.codes.to_numpy(), index=s.index)
        return codes[codes >= 0]
    return s.dropna()


def _sample_chunk(s: pd.Series, k: int) -> tuple:
    """Up to ``k`` evenly spaced sorted keys of one partition, with the partition's size."""
    v = _rank_values(s)
    n = len(v)
    if n == 0:
        return ([], 0, None, None)
    try:
        vals = np.sort(v.to_numpy(dtype=object) if v.dtype == object else v.to_numpy())
    except TypeError as e:
        raise TypeError(f"cannot sort the values of {s.name!r} (dtype {s.dtype}) to partition by them: {e}; "
                        "cast the column to one type first, e.g. df[col].astype(str)") from e
    pos = np.unique(np.linspace(0, n - 1, min(k, n)).round().astype(int))
    return (list(vals[pos]), n, vals[0], vals[-1])


def _pick_boundaries(chunks: list, npartitions: int) -> tuple:
    """Boundaries splitting the weighted sample into ``npartitions`` equal weights; (bounds, min, max)."""
    vals: list = []
    weights: list = []
    mins, maxs = [], []
    for sample, n, mn, mx in chunks:
        if not n:
            continue
        vals.extend(sample)
        weights.extend([n / len(sample)] * len(sample))
        mins.append(mn)
        maxs.append(mx)
    if not vals:
        return [], None, None
    mn, mx = min(mins), max(maxs)
    order = sorted(range(len(vals)), key=vals.__getitem__)
    svals = [vals[i] for i in order]
    cum = np.cumsum([weights[i] for i in order])
    total = cum[-1]
    out: list = []
    for q in np.linspace(0, 1, npartitions + 1)[1:-1]:
        j = min(int(np.searchsorted(cum, q * total, side="left")), len(svals) - 1)
        v = svals[j]
        # strictly increasing, inside (min, max]
        if (not out or v > out[-1]) and mn < v <= mx:
            out.append(v)
    return out, mn, mx


def _as_scalar(v: Any) -> Any:
    return v.item() if isinstance(v, np.generic) and not isinstance(v, (np.datetime64, np.timedelta64)) else v


def key_boundaries(col: Any, npartitions: int) -> tuple[list, Any, Any]:
    """Approximate ``npartitions``-quantile boundaries of a Series collection (computed now).

    Returns ``(boundaries, min, max)`` in the key's own type (category
    codes for categoricals); ``min``/``max`` are ``None`` when all are null.
    """
    name = f"key-sample-{tokenize(col, npartitions)}"
    layer = {(name + "-chunk", i): Task(_sample_chunk, Ref((col._name, i)), SAMPLES)
             for i in range(col.npartitions)}
    layer[(name, 0)] = Task(_pick_boundaries, [Ref((name + "-chunk", i)) for i in range(col.npartitions)],
                            npartitions)
    graph = LayeredGraph.from_collections(name, layer, [col])
    bounds, mn, mx = compute(new_collection(graph, name, None, [None, None]))[0]
    dtype = col._meta.dtype
    if dtype.kind == "M" or isinstance(dtype, pd.DatetimeTZDtype):
        conv = (lambda v: pd.Timestamp(v).tz_localize("UTC").tz_convert(dtype.tz)
                if isinstance(dtype, pd.DatetimeTZDtype) and not isinstance(v, pd.Timestamp) else pd.Timestamp(v))
    elif dtype.kind == "m":
        conv = pd.Timedelta
    else:
        conv = _as_scalar
    if mn is None:
        return [], None, None
    return [conv(b) for b in bounds], conv(mn), conv(mx)


def key_partitions(df: pd.DataFrame, on: Any, boundaries: list, ascending: bool, na_last: bool,
                   k: int) -> np.ndarray:
    """Output partition of each row by the range of ``on`` (a column; the values of a Series); nulls at one end."""
    s = df if df.ndim == 1 else df[on]
    part = np.full(len(df), k - 1 if na_last else 0, dtype=np.int64)
    if isinstance(s.dtype, pd.CategoricalDtype):
        codes = s.cat.codes.to_numpy()
        valid = codes >= 0
        vals = codes[valid]
    else:
        valid = ~np.asarray(pd.isna(s), dtype=bool)
        vals = s[valid].to_numpy(dtype=object) if s.dtype == object else s[valid].to_numpy()
    if len(vals):
        if not len(boundaries):
            p = np.zeros(len(vals), dtype=np.int64)
        elif vals.dtype == object:
            import bisect

            p = np.fromiter((bisect.bisect_right(boundaries, v) for v in vals), dtype=np.int64, count=len(vals))
        else:
            p = np.searchsorted(np.asarray(boundaries), vals, side="right").astype(np.int64)
        part[valid] = p if ascending else k - 1 - p
    return part


def _split_by_keys(df: pd.DataFrame, on: Any, boundaries: list, ascending: bool, na_last: bool) -> list:
    from shoal.dataframe.shuffle import _split

    k = len(boundaries) + 1
    return _split(df, key_partitions(df, on, boundaries, ascending, na_last, k), k)


def _range_partition(df: Any, on: Any, boundaries: list, ascending: bool = True, na_last: bool = True) -> Any:
    k = len(boundaries) + 1
    args = (on, list(boundaries), ascending, na_last)
    name, layer = _shuffle_layers(df, _split_by_keys, args, k, "range-partition")
    graph = LayeredGraph.from_collections(name, layer, [df])
    return new_collection(graph, name, df._meta, [None] * (k + 1))


def measured_divisions(frame: Any) -> Any:
    """``frame`` (whose index is sorted across partitions) with divisions read from each partition's index now."""
    mins_maxs = compute(*[(frame.partitions[i].index.min(), frame.partitions[i].index.max())
                          for i in range(frame.npartitions)])
    divs = [m[0] for m in mins_maxs] + [mins_maxs[-1][1]]
    if any(pd.isna(d) for d in divs):
        return frame.clear_divisions()
    if any(divs[i] > divs[i + 1] for i in range(len(divs) - 1)):
        raise ValueError("sorted_index=True, but the new index is not sorted across partitions; "
                         "drop sorted_index (divisions then become unknown)")
    return new_collection(frame.dask, frame._name, frame._meta, divs)


def _set_index_part(df: pd.DataFrame, col: Any, drop: bool) -> pd.DataFrame:
    # stable: rows with equal keys keep their input order, so the result does not vary by run
    return df.set_index(col, drop=drop).sort_index(kind="stable")


def set_index(df: Any, other: Any, drop: bool = True, sorted: bool = False, npartitions: int | None = None,
              divisions: Any = None) -> Any:
    """Make column ``other`` the index, sorted across partitions (known divisions).

    ``npartitions`` (default: as many as now) is the target; fewer come out
    when the key has fewer distinct values.  ``divisions`` skips sampling.
    """
    from shoal.dataframe.frame import DataFrame, Index, Series

    if isinstance(other, Index) and other._name == df.index._name:
        return df  # already the index
    if isinstance(other, DataFrame):
        raise NotImplementedError("set_index takes one column (a name or a Series), not a DataFrame; "
                                  "a MultiIndex is not supported")
    if isinstance(other, Series):
        if other._name in [df[c]._name for c in df._meta.columns if c == other.name]:
            other = other.name
        else:
            tmp = "__set_index_key__"
            df2 = df.assign(**{tmp: other})
            out = set_index(df2, tmp, drop=True, sorted=sorted, npartitions=npartitions, divisions=divisions)
            return out.map_partitions(M.call_method, "rename_axis", other.name, token="rename-axis")
    if isinstance(other, list) or not pd.api.types.is_hashable(other):
        raise NotImplementedError("set_index takes one column name (or a Series), e.g. df.set_index('id'); "
                                  "a MultiIndex is not supported")
    if other not in df._meta.columns:
        if other == df._meta.index.name and other is not None:
            return df
        raise KeyError(f"set_index: {other!r} is not a column; the columns are {list(df._meta.columns)}")
    meta = df._meta.set_index(other, drop=drop)
    if sorted:
        if divisions is not None:
            divs = list(divisions)
            if len(divs) != df.npartitions + 1:
                raise ValueError(f"set_index(sorted=True, divisions=...) needs npartitions + 1 = "
                                 f"{df.npartitions + 1} values, got {len(divs)}")
        else:
            mins_maxs = compute(*[(df.partitions[i][other].min(), df.partitions[i][other].max())
                                  for i in range(df.npartitions)])
            divs = [m[0] for m in mins_maxs] + [mins_maxs[-1][1]]
            if any(pd.isna(d) for d in divs):
                divs = [None] * (df.npartitions + 1)
            elif any(divs[i] > divs[i + 1] for i in range(len(divs) - 1)):
                raise ValueError(f"set_index(sorted=True): column {other!r} is not sorted across partitions; "
                                 "drop sorted=True to sort it")
        out = df.map_partitions(_set_index_part, other, drop, meta=meta, token="set-index")
        return new_collection(out.dask, out._name, meta, divs)
    dtype = df._meta[other].dtype
    is_cat = isinstance(dtype, pd.CategoricalDtype)
    if divisions is not None:
        divisions = list(divisions)
        bounds = list(divisions[1:-1])
        if is_cat:
            bounds = [dtype.categories.get_loc(b) for b in bounds]
        mn, mx = divisions[0], divisions[-1]
    else:
        n = df.npartitions if npartitions in (None, "auto") else int(npartitions)
        bounds, mn, mx = key_boundaries(df[other], n)
        if mn is None:  # no non-null keys: one partition
            parted = df.repartition(npartitions=1)
            out = parted.map_partitions(_set_index_part, other, drop, meta=meta, token="set-index")
            return new_collection(out.dask, out._name, meta, [None, None])
    parted = _range_partition(df, other, bounds)
    out = parted.map_partitions(_set_index_part, other, drop, meta=meta, token="set-index")
    if is_cat:
        # partitions follow the category order, but category values compare by their own type
        # (strings alphabetically), so divisions made of them would mislead loc and joins
        divs = [None] * (len(bounds) + 2)
    elif divisions is not None:
        divs = divisions
    else:
        divs = [mn] + bounds + [mx]
    return new_collection(out.dask, out._name, meta, divs)


def _sort_part(df: pd.DataFrame, by: Any, ascending: Any, na_position: str, kwargs: dict) -> pd.DataFrame:
    if by is None:
        return df.sort_values(ascending=ascending, na_position=na_position, **kwargs)
    return df.sort_values(by, ascending=ascending, na_position=na_position, **kwargs)


def sort_values(df: Any, by: Any = None, ascending: Any = True, npartitions: int | None = None,
                na_position: str = "last", sort_function: Any = None, sort_function_kwargs: Any = None,
                **kwargs: Any) -> Any:
    """Sort rows by column(s), pandas' order across all partitions (computes boundaries now).

    Partitions become ranges of the first key (equal first keys share a
    partition, so later keys and ties sort correctly inside it); nulls go
    to the first or last partition as ``na_position`` says.  Divisions
    become unknown.
    """
    if na_position not in ("first", "last"):
        raise ValueError(f"na_position must be 'first' or 'last', not {na_position!r}")
    if sort_function is not None:
        raise NotImplementedError("sort_values(sort_function=...) is not supported; sort partitions with "
                                  "map_partitions after sort_values")
    if kwargs.get("key") is not None:
        raise NotImplementedError("sort_values(key=...) is not supported; sort by a computed column: "
                                  "df.assign(k=f(df.col)).sort_values('k')")
    series = df.ndim == 1
    keys = [by] if not isinstance(by, (list, tuple)) else list(by)
    if series:
        keys = [None]
    if isinstance(ascending, (list, tuple)):
        if len(ascending) != len(keys):
            raise ValueError(f"ascending has {len(ascending)} values for {len(keys)} sort keys")
        first_asc = bool(ascending[0])
        ascending = [bool(a) for a in ascending]
    else:
        first_asc = bool(ascending)
    for k in keys:
        if k is not None and k not in df._meta.columns:
            raise KeyError(f"sort_values: {k!r} is not a column; the columns are {list(df._meta.columns)}")
    first = keys[0]
    n = df.npartitions if npartitions in (None, "auto") else int(npartitions)
    col = df if series else df[first]
    bounds, _, _ = key_boundaries(col, n)
    parted = _range_partition(df, first, bounds, ascending=first_asc, na_last=na_position == "last")
    by_arg = None if series else by
    return parted.map_partitions(_sort_part, by_arg, ascending, na_position, kwargs, meta=df._meta,
                                 token="sort-values", divisions=[None] * (parted.npartitions + 1))
