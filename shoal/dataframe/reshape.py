"""Reshaping: ``get_dummies``, ``melt``, ``pivot_table`` and the module-level helpers.

The output columns of ``get_dummies`` and ``pivot_table`` must be known
before anything runs, so they take categorical columns with known
categories (``df.categorize()`` or ``astype(CategoricalDtype([...]))``),
as Dask does.  ``pivot_table`` is a tree reduction: each partition is
pivoted with sums and counts, the pieces are added, and the final step
turns them into the requested aggregate.
"""
from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from shoal.dataframe.api import UNKNOWN_CATEGORIES

__all__ = ["get_dummies", "melt", "pivot_table", "isna", "repartition_frame"]


def _known_categorical(dtype: Any) -> bool:
    return isinstance(dtype, pd.CategoricalDtype) and UNKNOWN_CATEGORIES not in dtype.categories


def get_dummies(data: Any, prefix: Any = None, prefix_sep: str = "_", dummy_na: bool = False, columns: Any = None,
                sparse: bool = False, drop_first: bool = False, dtype: Any = bool, **kwargs: Any) -> Any:
    """``pandas.get_dummies`` per partition; the columns to encode must be categoricals with known categories.

    (Per-partition distinct values would give partitions different columns,
    so plain object columns raise: call ``df.categorize()`` first.)
    """
    from shoal.dataframe.core import _Frame

    if not isinstance(data, _Frame):
        return pd.get_dummies(data, prefix=prefix, prefix_sep=prefix_sep, dummy_na=dummy_na, columns=columns,
                              sparse=sparse, drop_first=drop_first, dtype=dtype, **kwargs)
    meta = data._meta
    if meta.ndim == 1:
        targets = [meta]
    elif columns is None:
        targets = [meta[c] for c in meta.columns if meta[c].dtype == object or isinstance(meta[c].dtype, pd.CategoricalDtype)
                   or pd.api.types.is_string_dtype(meta[c].dtype)]
    else:
        targets = [meta[c] for c in columns]
    if not targets and columns is None:
        raise NotImplementedError("get_dummies needs categorical columns with known categories; "
                                  "call df.categorize() (or astype a CategoricalDtype) first")
    for s in targets:
        if not _known_categorical(s.dtype):
            raise NotImplementedError(
                f"get_dummies on {s.name!r} (dtype {s.dtype}) needs known categories, so every partition has the "
                "same columns; call df.categorize() or .astype(pd.CategoricalDtype([...])) first"
            )
    kw = dict(prefix=prefix, prefix_sep=prefix_sep, dummy_na=dummy_na, columns=columns, sparse=sparse,
              drop_first=drop_first, dtype=dtype, **kwargs)
    return data.map_partitions(_get_dummies, kw, token="get-dummies")


def _get_dummies(df: Any, kw: dict) -> Any:
    return pd.get_dummies(df, **kw)


def melt(frame: Any, id_vars: Any = None, value_vars: Any = None, var_name: Any = None, value_name: str = "value",
         col_level: Any = None) -> Any:
    """``pandas.melt`` per partition (lazy; divisions become unknown)."""
    return frame.map_partitions(_melt, dict(id_vars=id_vars, value_vars=value_vars, var_name=var_name,
                                            value_name=value_name, col_level=col_level),
                                token="melt", divisions=[None] * (frame.npartitions + 1))


def _melt(df: Any, kw: dict) -> Any:
    return pd.melt(df, **kw)


_PIVOT_AGGS = ("mean", "sum", "count", "first", "last")


def _pivot_chunk(df: pd.DataFrame, index: Any, columns: Any, values: Any, cats: Any) -> dict:
    out = {}
    for how in ("sum", "count", "first", "last"):
        p = pd.pivot_table(df, index=index, columns=columns, values=values, aggfunc=how, observed=False,
                           dropna=False)
        out[how] = p
    return out


def _pivot_combine(parts: list) -> dict:
    out = {}
    for how in ("sum", "count"):
        frames = [p[how] for p in parts if len(p[how])]
        out[how] = pd.concat(frames).groupby(level=0, sort=False).sum(min_count=1) if frames else parts[0][how]
    for how in ("first", "last"):
        frames = [p[how] for p in parts if len(p[how])]
        if not frames:
            out[how] = parts[0][how]
            continue
        g = pd.concat(frames).groupby(level=0, sort=False)
        out[how] = g.first() if how == "first" else g.last()
    return out


def _pivot_agg(parts: list, how: str, columns_index: pd.Index) -> pd.DataFrame:
    d = _pivot_combine(parts)
    if how == "mean":
        res = d["sum"] / d["count"].where(d["count"] > 0)
    elif how == "count":
        res = d["count"]
    else:
        res = d[how]
    res = res.reindex(columns=columns_index).sort_index()
    if how == "count":
        res = res.fillna(0).astype("int64")
    elif how == "sum":
        res = res.fillna(0) if len(res) else res
    res.columns = columns_index
    return res


def pivot_table(df: Any, index: Any, columns: Any, values: Any, aggfunc: str = "mean") -> Any:
    """Spreadsheet-style pivot: ``columns`` must be a categorical column with known categories.

    ``aggfunc`` is one of 'mean', 'sum', 'count', 'first', 'last'.  The
    result has one partition (its rows are the distinct ``index`` values).
    """
    if not isinstance(index, str) or not isinstance(columns, str):
        raise ValueError("pivot_table takes one column name each for index= and columns=")
    if aggfunc not in _PIVOT_AGGS:
        raise ValueError(f"pivot_table(aggfunc={aggfunc!r}): use one of {', '.join(_PIVOT_AGGS)}")
    dt = df._meta[columns].dtype
    if not _known_categorical(dt):
        raise ValueError(f"pivot_table needs {columns!r} to be a categorical with known categories "
                         "(the output columns); call df.categorize(columns=[...]) first")
    if not isinstance(values, str):
        raise NotImplementedError("pivot_table takes one values= column; pivot each column and concat(axis=1)")
    cols_index = pd.CategoricalIndex(dt.categories, dtype=dt, name=columns)
    vdtype = df._meta[values].dtype
    if aggfunc in ("mean",):
        out_dtype = np.float64
    elif aggfunc == "count":
        out_dtype = np.int64
    elif aggfunc == "sum":
        out_dtype = np.result_type(vdtype, np.float64) if vdtype.kind == "f" else vdtype
    else:
        out_dtype = vdtype
    meta = pd.DataFrame({c: pd.Series([], dtype=out_dtype) for c in range(len(cols_index))},
                        index=pd.Index([], dtype=df._meta[index].dtype, name=index))
    meta.columns = cols_index
    return _pivot(df, index, columns, values, aggfunc, cols_index, meta)


def _pivot(df: Any, index: Any, columns: Any, values: Any, aggfunc: str, cols_index: Any, meta: Any) -> Any:
    from shoal.core.graph import LayeredGraph
    from shoal.core.task import Ref, Task
    from shoal.core.tokenize import tokenize
    from shoal.dataframe.core import new_collection

    tok = tokenize(df, index, columns, values, aggfunc)
    name = f"pivot-table-{tok}"
    cname = f"pivot-table-chunk-{tok}"
    layer: dict = {(cname, i): Task(_pivot_chunk, Ref((df._name, i)), index, columns, values, None)
                   for i in range(df.npartitions)}
    keys = [(cname, i) for i in range(df.npartitions)]
    depth = 0
    while len(keys) > 8:
        depth += 1
        new = []
        for j in range(0, len(keys), 8):
            k = (f"pivot-table-combine{depth}-{tok}", j // 8)
            layer[k] = Task(_pivot_combine, [Ref(x) for x in keys[j:j + 8]])
            new.append(k)
        keys = new
    layer[(name, 0)] = Task(_pivot_agg, [Ref(k) for k in keys], aggfunc, cols_index)
    graph = LayeredGraph.from_collections(name, layer, [df])
    return new_collection(graph, name, meta, [None, None])


def isna(obj: Any) -> Any:
    """``pandas.isna`` of a collection (lazy) or of anything else (eager, pandas' answer)."""
    from shoal.dataframe.core import _Frame

    if isinstance(obj, _Frame):
        return obj.isna()
    return pd.isna(obj)


def repartition_frame(df: Any, divisions: Any = None, force: bool = False) -> Any:
    """``dd.repartition``: a collection (or pandas object) on the given ``divisions``.

    A pandas object is cut at those index values (it must be sorted by its index).
    """
    from shoal.dataframe.core import _Frame

    if isinstance(df, _Frame):
        return df.repartition(divisions=divisions, force=force)
    if isinstance(df, (pd.DataFrame, pd.Series, pd.Index)):
        from shoal.core.graph import LayeredGraph
        from shoal.core.tokenize import tokenize
        from shoal.dataframe.core import new_collection
        from shoal.dataframe.methods import boundary_slice
        from shoal.dataframe.utils import make_meta

        if divisions is None:
            raise TypeError("repartition of a pandas object needs divisions=[...]")
        divisions = list(divisions)
        name = "repartition-pandas-" + tokenize(df, divisions)
        n = len(divisions) - 1
        layer = {(name, i): boundary_slice(df, divisions[i], divisions[i + 1], i == n - 1) for i in range(n)}
        return new_collection(LayeredGraph({name: layer}), name, make_meta(df), divisions)
    raise TypeError(f"repartition takes a shoal DataFrame/Series or a pandas object, not {type(df).__name__}")
