"""Groupby operations that need whole groups, or rows in order.

*Shuffle* operations (``apply``, ``transform``, ``shift``, ``median``,
``idxmin``, ``cov``, ``value_counts``, ...) first move every group into one
partition with a hash shuffle on the keys (keys that are not columns travel
as temporary ``__gbk<i>`` columns), then run pandas' own groupby method per
partition.  Aggregations are then gathered into one partition and sorted by
group (unless ``split_out`` asks for several), so they equal pandas.

*Scan* operations (``cumsum cumprod cummin cummax cumcount ffill bfill``
and ``head``/``tail``) keep rows where they are: each partition's result is
corrected with a per-group summary of all earlier (for ``bfill``/``tail``:
later) partitions, chained partition to partition, as a prefix scan.
"""
from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from shoal.core.task import Ref, Task
from shoal.dataframe.groupby_keys import key_arrays

__all__ = ["partition_groupby", "with_key_columns", "scan", "SCANS"]

TMP = "__gbk"


def with_key_columns(df: pd.DataFrame, specs: list, *extra: Any) -> pd.DataFrame:
    """``df`` plus a temporary column for every key that is not a column."""
    arrays = key_arrays(df, specs, extra)
    new = {f"{TMP}{i}": np.asarray(a) for i, (sp, a) in enumerate(zip(specs, arrays)) if sp[0] != "col"}
    if not new:
        return df
    out = df.copy(deep=False)
    for k, v in new.items():
        out[k] = v
    return out


def partition_groupby(df: pd.DataFrame, spec: dict) -> Any:
    """pandas' groupby of one shuffled partition (temporary key columns read, then dropped)."""
    specs, names = spec["specs"], spec["names"]
    tmp = [c for c in df.columns if isinstance(c, str) and c.startswith(TMP)]
    base = df.drop(columns=tmp) if tmp else df
    keys = []
    for i, sp in enumerate(specs):
        keys.append(sp[1] if sp[0] == "col" else df[f"{TMP}{i}"].rename(names[i]))
    if spec["series"] is not None:
        base = base[spec["series"]]
        keys = [base.to_frame()[k] if not isinstance(k, pd.Series) else k for k in keys]
    by = keys if spec["is_list"] else keys[0]
    g = base.groupby(by, sort=spec["sort"], dropna=spec["dropna"], observed=spec["observed"],
                     group_keys=spec["group_keys"])
    sel = spec["selection"]
    if sel is not None:
        g = g[sel]
    return g


def run_method(df: pd.DataFrame, spec: dict, method: str, args: tuple, kwargs: dict, name: Any = None,
               rename: bool = False, meta: Any = None) -> Any:
    if len(df) == 0 and meta is not None:
        return meta
    g = partition_groupby(df, spec)
    out = getattr(g, method)(*args, **kwargs)
    if rename and isinstance(out, pd.Series):
        out = out.rename(name)
    return out


# -- scans ---------------------------------------------------------------------------
SCANS = {
    # method: (summary per partition, how summaries merge, direction)
    "cumsum": ("sum", "sum", 1), "cumprod": ("prod", "prod", 1), "cummin": ("min", "min", 1),
    "cummax": ("max", "max", 1), "cumcount": ("size", "sum", 1), "ffill": ("last", "last", 1),
    "bfill": ("first", "first", -1), "head": ("size", "sum", 1), "tail": ("size", "sum", -1),
}


def _grouped(df: Any, specs: list, extra: tuple, spec: dict) -> tuple:
    keys = key_arrays(df, specs, extra)
    if spec["series"] is not None:
        obj = df
    else:
        obj = df
    g = obj.groupby(keys, sort=False, dropna=spec["dropna"], observed=True)
    sel = spec["selection"]
    if sel is not None and isinstance(obj, pd.DataFrame):
        g = g[sel]
    elif spec["exclude"] and isinstance(obj, pd.DataFrame):
        g = g[[c for c in obj.columns if c not in spec["exclude"]]]
    return keys, g


def _summary(df: Any, method: str, spec: dict, *extra: Any) -> Any:
    _, g = _grouped(df, spec["specs"], extra, spec)
    how = SCANS[method][0]
    return g.size() if how == "size" else getattr(g, how)()


def _merge(a: Any, b: Any, method: str) -> Any:
    """Summary of two runs of partitions, ``a`` before ``b`` in scan direction."""
    if a is None:
        return b
    if b is None:
        return a
    # the partition nearer in scan direction decides first/last
    cat = pd.concat([b, a]) if SCANS[method][2] == -1 else pd.concat([a, b])
    how = SCANS[method][1]
    g = cat.groupby(level=list(range(cat.index.nlevels)), sort=False, observed=True)
    return getattr(g, how)()


def _nothing() -> None:
    return None


def _prefix(prev_prefix: Any, prev_summary: Any, method: str) -> Any:
    return _merge(prev_prefix, prev_summary, method)


def _row_lookup(prior: Any, keys: list, index: pd.Index) -> Any:
    arrays = [np.asarray(k) for k in keys]
    kidx = pd.MultiIndex.from_arrays(arrays) if len(arrays) > 1 else pd.Index(arrays[0])
    looked = prior.reindex(kidx)
    looked.index = index
    return looked


def _scan_apply(df: Any, prior: Any, method: str, spec: dict, kwargs: dict, *extra: Any) -> Any:
    keys, g = _grouped(df, spec["specs"], extra, spec)
    if method in ("head", "tail"):
        n = kwargs.get("n", 5)
        pos = g.cumcount(ascending=(method == "head")) if not isinstance(g, pd.core.groupby.SeriesGroupBy) \
            else g.cumcount(ascending=(method == "head"))
        if prior is not None and len(df):
            pos = pos + _row_lookup(prior, keys, df.index).fillna(0).to_numpy()
        keep = (pos < n).to_numpy()
        sel = spec["selection"]
        return (df[sel] if sel is not None and isinstance(df, pd.DataFrame) else df)[keep]
    local = getattr(g, method)(**kwargs)
    if prior is None or len(df) == 0:
        return local
    return _same_dtype(_corrected(local, prior, keys, df, method), local)


def _same_dtype(out: Any, local: Any) -> Any:
    """Integer running sums stay integers (the lookup of earlier totals goes through float)."""
    try:
        if isinstance(out, pd.Series):
            return out.astype(local.dtype) if out.dtype != local.dtype and not out.isna().any() else out
        return out.astype({c: local[c].dtype for c in out.columns if not out[c].isna().any()})
    except (TypeError, ValueError):
        return out


def _corrected(local: Any, prior: Any, keys: list, df: Any, method: str) -> Any:
    p = _row_lookup(prior, keys, df.index)
    if method == "cumcount":
        return (local + p.fillna(0).to_numpy()).astype(local.dtype)
    if method in ("ffill", "bfill"):
        return local.fillna(p) if isinstance(local, pd.Series) else local.fillna(p[local.columns])
    if isinstance(local, pd.DataFrame):
        p = p[local.columns]
    if method == "cumsum":
        return local + p.fillna(0) if local.ndim == 1 else local + p.fillna(0)
    if method == "cumprod":
        return local * p.fillna(1)
    if method == "cummin":
        return local.where(p.isna() | (local <= p) | local.isna(), p)
    if method == "cummax":
        return local.where(p.isna() | (local >= p) | local.isna(), p)
    raise ValueError(method)


def scan(gb: Any, method: str, meta: Any, **kwargs: Any) -> Any:
    """``gb.<method>()`` as a prefix scan over partitions (rows stay in place)."""
    from shoal.core.graph import LayeredGraph
    from shoal.core.tokenize import tokenize
    from shoal.dataframe.core import new_collection
    from shoal.dataframe.mapping import align_partitions

    if any(sp[0] == "grouper" for sp in gb._specs):
        raise NotImplementedError(f"groupby(pd.Grouper(freq=...)).{method} is not supported; "
                                  "use a key column of floored timestamps instead")
    args = [gb.obj] + list(gb._extra)
    if len(args) > 1:
        args = align_partitions(*args)
    frame = args[0]
    spec = gb._spec()
    tok = tokenize(args, method, spec["specs"], spec["selection"], spec["dropna"], kwargs)
    sname, pname, name = f"gb-{method}-summary-{tok}", f"gb-{method}-prefix-{tok}", f"groupby-{method}-{tok}"
    n = frame.npartitions
    direction = SCANS[method][2]
    order = list(range(n)) if direction == 1 else list(range(n - 1, -1, -1))
    layer: dict = {}
    for i in range(n):
        refs = [Ref((a._name, i)) for a in args]
        layer[(sname, i)] = Task(_summary, refs[0], method, spec, *refs[1:])
    prev = None
    for i in order:
        if prev is None:
            layer[(pname, i)] = Task(_nothing)
        else:
            layer[(pname, i)] = Task(_prefix, Ref((pname, prev)), Ref((sname, prev)), method)
        prev = i
    for i in range(n):
        refs = [Ref((a._name, i)) for a in args]
        layer[(name, i)] = Task(_scan_apply, refs[0], Ref((pname, i)), method, spec, kwargs, *refs[1:])
    graph = LayeredGraph.from_collections(name, layer, args)
    divisions = frame.divisions
    return new_collection(graph, name, meta, divisions)
