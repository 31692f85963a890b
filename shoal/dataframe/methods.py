"""Top-level partition functions used in dataframe task graphs.

Every function a graph calls lives at module level (not a lambda or a
closure) so the process and distributed schedulers can pickle it by
reference and ``tokenize`` gives it a stable name.
"""
from __future__ import annotations

import operator
import warnings
from typing import Any

import numpy as np
import pandas as pd

# -- selection -------------------------------------------------------------


def getitem(df: Any, key: Any) -> Any:
    """``df[key]`` for a column label or list of labels."""
    return df[key]


def filter_rows(df: Any, mask: Any) -> Any:
    """``df[mask]`` for a boolean Series partition."""
    return df[mask]


def getattr_(obj: Any, name: str) -> Any:
    return getattr(obj, name)


def call_method(obj: Any, _method: str, *args: Any, **kwargs: Any) -> Any:
    return getattr(obj, _method)(*args, **kwargs)


def accessor_call(obj: Any, _accessor: str, _attr: str, *args: Any, **kwargs: Any) -> Any:
    return getattr(getattr(obj, _accessor), _attr)(*args, **kwargs)


def accessor_attr(obj: Any, _accessor: str, _attr: str) -> Any:
    return getattr(getattr(obj, _accessor), _attr)


def assign(df: pd.DataFrame, names: list, *values: Any) -> pd.DataFrame:
    """``df.assign(**dict(zip(names, values)))``, values already computed."""
    df = df.copy(deep=False)
    values = tuple(_aligned(v, df) for v in values)
    with warnings.catch_warnings():
        # many single-column assignments fragment the frame; pandas' advice (concat) does not apply here
        warnings.simplefilter("ignore", pd.errors.PerformanceWarning)
        for n, v in zip(names, values):
            df[n] = v
    return df


def _aligned(v: Any, df: pd.DataFrame) -> Any:
    """A pandas Series/Index cut to ``df``'s labels (so an empty partition never takes another's rows)."""
    if isinstance(v, pd.Series) and len(v) != len(df) or (isinstance(v, pd.Series) and not v.index.equals(df.index)):
        if v.index.is_unique:
            return v.reindex(df.index)
    return v


def binop(op: Any, a: Any, b: Any) -> Any:
    return op(a, b)


def unop(op: Any, a: Any) -> Any:
    return op(a)


def head(df: Any, n: int) -> Any:
    return df[:n] if isinstance(df, pd.Index) else df.head(n)


def head_concat(dfs: list, n: int) -> Any:
    return head(concat(dfs), n)


def tail(df: Any, n: int) -> Any:
    if isinstance(df, pd.Index):
        return df[len(df) - n:] if n else df[:0]
    return df.tail(n)


def tail_before(part: Any, later: Any, n: int) -> Any:
    """The last ``n`` rows of this partition followed by ``later`` (the tail of what comes after)."""
    if later is not None and len(later) >= n:
        return later
    both = part if later is None else concat([part, later])
    return tail(both, n)


def loc(df: Any, key: Any) -> Any:
    return df.loc[key]


def loc_slice(df: Any, start: Any, stop: Any) -> Any:
    return df.loc[start:stop]


def boundary_slice(df: Any, start: Any, stop: Any, right_closed: bool) -> Any:
    """Rows with ``start <= index < stop`` (``<= stop`` when right_closed)."""
    if len(df) == 0:
        return df
    idx = df.index
    lo = 0 if start is None else idx.searchsorted(start, side="left")
    if stop is None:
        hi = len(df)
    else:
        hi = idx.searchsorted(stop, side="right" if right_closed else "left")
    return df.iloc[lo:hi]


def iloc_split(df: Any, k: int, i: int) -> Any:
    n = len(df)
    bounds = np.linspace(0, n, k + 1).astype(int)
    return df.iloc[bounds[i]:bounds[i + 1]]


def concat(dfs: list, **kwargs: Any) -> Any:
    """Concatenate partitions (rows), skipping the copy when there is one."""
    dfs = [d for d in dfs]
    if len(dfs) == 1:
        return dfs[0]
    if not dfs:
        raise ValueError("nothing to concatenate")
    if isinstance(dfs[0], pd.Index):
        out = dfs[0]
        return out.append(dfs[1:])
    if not isinstance(dfs[0], (pd.DataFrame, pd.Series)):
        return pd.Series(dfs)  # one plain value per partition
    nonempty = [d for d in dfs if len(d)]
    if not nonempty:
        return dfs[0]
    if len(nonempty) == 1:
        return nonempty[0]
    return pd.concat(_same_categories(nonempty), **kwargs)


def _same_categories(dfs: list) -> list:
    """Pieces whose categorical columns share one set of categories (their union), so they stay categorical."""
    first = dfs[0]
    if isinstance(first, pd.Series):
        cols = [None] if isinstance(first.dtype, pd.CategoricalDtype) else []
    elif isinstance(first, pd.DataFrame):
        cols = [c for c, t in first.dtypes.items() if isinstance(t, pd.CategoricalDtype)]
    else:
        return dfs
    for c in cols:
        dts = [(d if c is None else d[c]).dtype for d in dfs if c is None or c in d.columns]
        if not all(isinstance(t, pd.CategoricalDtype) for t in dts) or all(t == dts[0] for t in dts):
            continue
        seen: dict = {}
        for t in dts:
            for v in t.categories:
                seen.setdefault(v, None)
        dt = pd.CategoricalDtype(list(seen), ordered=dts[0].ordered)
        dfs = [d.astype(dt) if c is None else d.astype({c: dt}) for d in dfs]
    return dfs


def concat_axis1(*dfs: Any) -> Any:
    return pd.concat(dfs, axis=1)


def identity(x: Any) -> Any:
    return x


def size(df: Any) -> int:
    return len(df)


def apply_func(df: Any, func: Any, args: tuple, kwargs: dict) -> Any:
    return func(df, *args, **kwargs)


def apply_with_partition_info(df: Any, func: Any, args: tuple, kwargs: dict, info: dict) -> Any:
    return func(df, *args, partition_info=info, **kwargs)


def enforce_columns(df: pd.DataFrame, meta: pd.DataFrame) -> pd.DataFrame:
    if list(df.columns) != list(meta.columns):
        df = df.reindex(columns=meta.columns)
    return df


def to_pandas_concat(parts: list, meta: Any) -> Any:
    """Final step of ``compute``: one pandas object from the partitions."""
    if not parts:
        return meta
    return concat(list(parts))


OPS = {
    "add": operator.add, "sub": operator.sub, "mul": operator.mul, "truediv": operator.truediv,
    "floordiv": operator.floordiv, "mod": operator.mod, "pow": operator.pow,
    "and": operator.and_, "or": operator.or_, "xor": operator.xor,
    "eq": operator.eq, "ne": operator.ne, "lt": operator.lt, "le": operator.le,
    "gt": operator.gt, "ge": operator.ge,
}


def rbinop(op: Any, a: Any, b: Any) -> Any:
    return op(b, a)
