"""Groupby aggregations as a tree of mergeable per-group partials.

An aggregation request (``.mean()``, ``.agg(['mean', 'max'])``,
``.agg({'a': 'sum'})``, ``.agg(total=('a', 'sum'))``, a custom
``Aggregation``) becomes a list of outputs ``(label, column, func)``.  Each
output needs *partials* that merge across partitions:

=============  ===========================  ===============================
func           partials per partition       final value
=============  ===========================  ===============================
sum/prod       sum/prod (+ count)           sum/prod; NaN under min_count
count, size    count, size                  sums
min/max        min/max                      min/max
first/last     first/last                   first/last in partition order
mean           sum, count                   sum / count
var/std/sem    count, mean, M2              merged central moments
nunique        distinct (keys, value) rows  distinct rows per group
custom         chunk()                      agg() then finalize()
=============  ===========================  ===============================

Each partition makes one frame of partials indexed by group; frames are
concatenated and re-aggregated ``split_every`` at a time, then finalised
into pandas' output shape: ``skipna=False`` turns groups with a missing
value into NaN, ``observed=False`` adds the unobserved categories (and a
time ``Grouper`` its empty bins) with pandas' fill values, ``sort=True``
sorts by group.  ``meta`` is pandas' own answer on a stand-in, so column
choice (``numeric_only``), dtypes and errors follow pandas.
"""
from __future__ import annotations

import itertools
from typing import Any

import numpy as np
import pandas as pd

from shoal.core.task import Ref
from shoal.dataframe import core
from shoal.dataframe.groupby_keys import key_arrays
from shoal.dataframe.optimize import register_columns

__all__ = ["Plan", "groupby_chunk", "groupby_finalize", "tree", "PARTIALS"]

PARTIALS = {
    "sum": ["sum"], "count": ["count"], "size": ["size"], "min": ["min"], "max": ["max"],
    "first": ["first"], "last": ["last"], "mean": ["sum", "count"], "var": ["count", "mean", "m2"],
    "std": ["count", "mean", "m2"], "sem": ["count", "mean", "m2"], "nunique": [], "prod": ["prod"],
    "any": ["any"], "all": ["all"],
}
_COMBINE = {"sum": "sum", "count": "sum", "size": "sum", "min": "min", "max": "max", "first": "first",
            "last": "last", "prod": "prod", "any": "any", "all": "all"}
# what an empty group gives (observed=False categories, empty time bins)
_EMPTY = {"sum": 0, "count": 0, "size": 0, "nunique": 0, "prod": 1}


class Plan:
    """The partials to compute and how to finish each output (picklable, tokenizable)."""

    def __init__(self, keys: list, outputs: list, shape: str, sort: bool, dropna: bool, series_name: Any,
                 options: dict, fill: Any = None, custom: dict | None = None, columns: Any = None):
        self.keys = keys
        self.outputs = outputs  # [(label, column, func)]
        self.shape = shape  # 'series' | 'frame' | 'multi'
        self.sort = sort
        self.dropna = dropna
        self.series_name = series_name
        self.options = options  # ddof, min_count, skipna
        self.fill = fill  # None, or ('categories', [per-level categories or None]) / ('bins', freq)
        self.custom = custom or {}
        self.columns = columns  # the result's column Index when pandas gave one
        partials: list = []
        distinct: list = []
        customs: list = []
        for _, col, func in outputs:
            if func in self.custom:
                if (col, func) not in customs:
                    customs.append((col, func))
                continue
            if func not in PARTIALS:
                raise ValueError(f"groupby aggregation {func!r} is not supported here")
            if func == "nunique" and col not in distinct:
                distinct.append(col)
            pfs = list(PARTIALS[func])
            if func in ("sum", "prod") and options.get("min_count", 0) > 0:
                pfs.append("count")
            if not options.get("skipna", True):
                pfs += ["count", "size"]
            for pf in pfs:
                k = (None if pf == "size" else col, pf)
                if k not in partials:
                    partials.append(k)
        self.partials = partials
        self.distinct = distinct
        self.customs = customs

    def __shoal_tokenize__(self) -> Any:
        return ("groupby-plan", repr(self.keys), repr(self.outputs), self.shape, self.sort, self.dropna,
                repr(self.series_name), repr(sorted(self.options.items())), repr(self.fill),
                repr(sorted(self.custom)), repr(self.columns))

    def columns_needed(self) -> set:
        cols = {sp[1] for sp in self.keys if sp[0] == "col"}
        for _, col, _ in self.outputs:
            if col is not None:
                cols.add(col)
        return cols


def _column(df: Any, col: Any) -> pd.Series:
    return df if isinstance(df, pd.Series) else df[col]


def _key_frame(keys: list) -> pd.DataFrame:
    return pd.DataFrame({f"__k{i}": (k.to_numpy() if hasattr(k, "to_numpy") else k) for i, k in enumerate(keys)})


def groupby_chunk(df: Any, plan: Plan, *extra: Any) -> tuple:
    """One partition's partials: a frame indexed by group, and distinct rows for ``nunique``."""
    keys = key_arrays(df, plan.keys, extra)
    cache: dict = {}

    def grouped(s: pd.Series) -> Any:
        return s.groupby(keys, sort=False, dropna=plan.dropna, observed=True)

    cols = {}
    for j, (col, pf) in enumerate(plan.partials):
        if pf == "size":
            cols[j] = grouped(pd.Series(np.zeros(len(df), dtype=np.int8), index=df.index)).size()
            continue
        g = cache.get(col)
        if g is None:
            g = cache[col] = grouped(_column(df, col))
        if pf == "mean":
            cols[j] = grouped(_as_float(_column(df, col))).mean()
        elif pf == "m2":
            x = _as_float(_column(df, col))
            dev = x - grouped(x).transform("mean")
            cols[j] = (dev * dev).groupby(keys, sort=False, dropna=plan.dropna, observed=True).sum()
        else:
            cols[j] = getattr(g, pf)()
    if cols:
        partial = pd.DataFrame(cols)
    else:
        partial = grouped(pd.Series(np.zeros(len(df), dtype=np.int8), index=df.index)).size().to_frame("__size")
    distinct = {}
    for col in plan.distinct:
        d = _key_frame([k for k in keys])
        d[col] = _column(df, col).to_numpy()
        if plan.dropna:
            d = d.dropna(subset=[f"__k{i}" for i in range(len(keys))])
        distinct[col] = d.drop_duplicates()
    for col, name in plan.customs:
        res = plan.custom[name].chunk(grouped(_column(df, col)))
        distinct[(col, name)] = res if isinstance(res, tuple) else (res,)
    return partial, distinct


def _numeric(s: pd.Series) -> bool:
    return pd.api.types.is_numeric_dtype(s.dtype) or pd.api.types.is_bool_dtype(s.dtype)


def _as_float(s: pd.Series) -> pd.Series:
    if not _numeric(s):
        raise TypeError(f"Cannot compute a variance of dtype {s.dtype} (column {s.name!r})")
    return s.astype("float64")


def _levels(p: pd.DataFrame) -> Any:
    n = p.index.nlevels
    return list(range(n)) if n > 1 else 0


def _combine_partials(parts: list, plan: Plan) -> tuple:
    partials = [p[0] for p in parts]
    p = pd.concat(partials) if len(partials) > 1 else partials[0]
    g = p.groupby(level=_levels(p), sort=False, dropna=plan.dropna, observed=True)
    if "__size" in p.columns and len(p.columns) == 1:
        merged = g.sum()
    else:
        spec = {}
        moments = {}
        for j, (col, pf) in enumerate(plan.partials):
            if pf in ("mean", "m2"):
                moments.setdefault(col, {})[pf] = j
                spec[j] = None
            else:
                spec[j] = _COMBINE[pf]
        merged = g.agg({j: f for j, f in spec.items() if f is not None}) if any(
            f is not None for f in spec.values()) else g.size().to_frame("__tmp").drop(columns="__tmp")
        for col, js in moments.items():
            n_j = plan.partials.index((col, "count"))
            n = p[n_j].astype("float64")
            mean = p[js["mean"]].astype("float64")
            key = dict(level=_levels(p), sort=False, dropna=plan.dropna, observed=True)
            tot = n.groupby(**key).transform("sum")
            with np.errstate(invalid="ignore", divide="ignore"):
                gmean = (n * mean.fillna(0)).groupby(**key).transform("sum") / tot.where(tot > 0)
            merged[js["mean"]] = gmean.groupby(**key).first()
            if "m2" in js:
                dev = (mean - gmean).fillna(0)
                merged[js["m2"]] = (p[js["m2"]].fillna(0) + n * dev * dev).groupby(**key).sum()
        merged = merged[[j for j in range(len(plan.partials))]] if len(plan.partials) else merged
    distinct = {}
    for col in plan.distinct:
        ds = [x[1][col] for x in parts]
        distinct[col] = (pd.concat(ds) if len(ds) > 1 else ds[0]).drop_duplicates()
    for col, name in plan.customs:
        pieces = [x[1][(col, name)] for x in parts]
        out = []
        for i in range(len(pieces[0])):
            cat = pd.concat([pc[i] for pc in pieces]) if len(pieces) > 1 else pieces[0][i]
            out.append(cat.groupby(level=_levels(cat), sort=False, dropna=plan.dropna, observed=True))
        res = plan.custom[name].agg(*out)
        distinct[(col, name)] = res if isinstance(res, tuple) else (res,)
    return merged, distinct


def groupby_combine(parts: list, plan: Plan) -> tuple:
    return _combine_partials(parts, plan)


def _finish(func: str, col: Any, p: pd.DataFrame, index: dict, distinct: dict, plan: Plan) -> pd.Series:
    opts = plan.options
    if func in plan.custom:
        agg = plan.custom[func]
        vals = distinct[(col, func)]
        out = agg.finalize(*vals) if agg.finalize is not None else vals[0]
        return out.reindex(p.index) if len(p.index) else out
    if func == "nunique":
        d = distinct[col]
        kcols = [c for c in d.columns if str(c).startswith("__k")]
        s = d.groupby(kcols, sort=False, dropna=plan.dropna, observed=True)[col].nunique(dropna=True)
        s.index = s.index.set_names(p.index.names)
        return s.reindex(p.index).fillna(0).astype("int64")
    if func == "mean":
        s, n = p[index[(col, "sum")]], p[index[(col, "count")]]
        with np.errstate(invalid="ignore", divide="ignore"):
            out = s / n.where(n > 0)
    elif func in ("var", "std", "sem"):
        n, m2 = p[index[(col, "count")]].astype("float64"), p[index[(col, "m2")]].astype("float64")
        ddof = opts.get("ddof", 1)
        with np.errstate(invalid="ignore", divide="ignore"):
            v = (m2 / (n - ddof).where(n - ddof > 0)).clip(lower=0)
            out = v if func == "var" else np.sqrt(v) if func == "std" else np.sqrt(v) / np.sqrt(n)
    elif func == "size":
        out = p[index[(None, "size")]]
    else:
        out = p[index[(col, func)]]
        if func in ("sum", "prod") and opts.get("min_count", 0) > 0:
            cnt = p[index[(col, "count")]]
            if (cnt < opts["min_count"]).any():
                out = out.where(cnt >= opts["min_count"])
    if not opts.get("skipna", True) and func not in ("size", "count", "nunique") and col is not None:
        cnt, size = p[index[(col, "count")]], p[index[(None, "size")]]
        if (cnt < size).any():
            out = out.where(cnt == size)
    return out


def groupby_finalize(parts: list, plan: Plan, part: tuple | None = None) -> Any:
    """pandas' answer from the partials in ``parts``.

    ``part=(k, j)``: these are the groups of output partition ``j`` of a hash shuffle into
    ``k``; unobserved groups are added only where their hash puts them.
    """
    p, distinct = _combine_partials(parts, plan)
    index = {pf_key: j for j, pf_key in enumerate(plan.partials)}
    out = {}
    for label, col, func in plan.outputs:
        out[label] = _finish(func, col, p, index, distinct, plan)
    if plan.shape == "series":
        res = out[plan.outputs[0][0]]
        res.name = plan.series_name
    else:
        res = pd.DataFrame(out, index=p.index)
        if plan.shape == "multi":
            res.columns = pd.MultiIndex.from_tuples(list(out))
        elif plan.columns is not None and len(plan.columns) == len(plan.outputs):
            res.columns = plan.columns
        else:
            res.columns = pd.Index([o[0] for o in plan.outputs])
    if plan.fill is not None:
        res = _fill_empty_groups(res, plan, part)
    if plan.sort:
        if isinstance(res.index, pd.MultiIndex) and not plan.dropna:
            # concatenated partials can hold NaN as a level value; rebuilt, NaN is missing again (sorts last)
            res.index = pd.MultiIndex.from_arrays(
                [res.index.get_level_values(i) for i in range(res.index.nlevels)], names=res.index.names)
        res = res.sort_index()
    return res


def _fill_empty_groups(res: Any, plan: Plan, part: tuple | None = None) -> Any:
    kind, info = plan.fill
    idx = res.index
    if kind == "bins":
        if len(idx) == 0:
            return res
        full = pd.date_range(idx.min(), idx.max(), freq=info, name=idx.name, tz=getattr(idx, "tz", None))
    else:
        levels = []
        for i, cats in enumerate(info):
            lv = idx.get_level_values(i) if idx.nlevels > 1 else idx
            if cats is not None:
                levels.append(pd.CategoricalIndex(cats, categories=cats, ordered=lv.dtype.ordered
                                                  if isinstance(lv.dtype, pd.CategoricalDtype) else False))
            else:
                levels.append(lv.unique())
        if idx.nlevels > 1:
            full = pd.MultiIndex.from_tuples(list(itertools.product(*levels)), names=idx.names)
            full = pd.MultiIndex.from_arrays(
                [pd.Categorical(full.get_level_values(i), categories=info[i],
                                ordered=getattr(idx.get_level_values(i).dtype, "ordered", False))
                 if info[i] is not None else full.get_level_values(i) for i in range(idx.nlevels)], names=idx.names)
        else:
            full = levels[0].rename(idx.name)
    missing = ~full.isin(idx) if not isinstance(full, pd.MultiIndex) else ~full.isin(list(idx))
    if part is not None and missing.any():  # another partition of a shuffle adds the others
        from shoal.dataframe.shuffle import INDEX, hash_partitions

        k, j = part
        mine = hash_partitions(pd.DataFrame(index=full), INDEX, k) == j
        full = full[~missing | mine]
        missing = missing[~missing | mine]
    if not missing.any() and kind != "bins":
        return res
    new = res.reindex(full)
    funcs = {o[0]: o[2] for o in plan.outputs}
    if isinstance(new, pd.Series):
        f = plan.outputs[0][2]
        return _fill_col(new, res, f, plan)
    for c in new.columns:
        new[c] = _fill_col(new[c], res[c], funcs.get(c, funcs.get(c[0] if isinstance(c, tuple) else c)), plan)
    return new


def _fill_col(new: pd.Series, old: pd.Series, func: Any, plan: Plan) -> pd.Series:
    if func in ("first", "last") and old.dtype == object:
        # pandas' first/last of an empty group in an object column is None, not NaN
        added = ~new.index.isin(old.index)
        if added.any():
            vals = new.to_numpy(dtype=object, copy=True)
            vals[added] = None
            return pd.Series(vals, index=new.index, name=new.name, dtype=object)
        return new
    if func in _EMPTY and not (func in ("sum", "prod") and plan.options.get("min_count", 0) > 0):
        filled = new.fillna(_EMPTY[func])
        try:
            return filled.astype(old.dtype)
        except (TypeError, ValueError):
            return filled
    return new


class _Finalize:
    def __init__(self, plan: Plan):
        self.plan = plan

    def __call__(self, parts: list) -> Any:
        return groupby_finalize(parts, self.plan)

    def __shoal_tokenize__(self) -> Any:
        return ("gb-final", self.plan.__shoal_tokenize__())


class _Combine(_Finalize):
    def __call__(self, parts: list) -> Any:
        return groupby_combine(parts, self.plan)

    def __shoal_tokenize__(self) -> Any:
        return ("gb-combine", self.plan.__shoal_tokenize__())


@register_columns(groupby_chunk)
def _gb_cols(task: Any, need: Any) -> dict:
    src, plan = task.args[0], task.args[1]
    if type(src) is not Ref or any(sp[0] in ("func", "grouper") for sp in plan.keys):
        return {}
    return {src.key: frozenset(plan.columns_needed())}


def tree(args: list, plan: Plan, meta: Any, split_every: int, split_out: int | None = None) -> Any:
    """The lazy aggregation: chunk every partition, combine ``split_every`` at a time, finalise."""
    from shoal.core.graph import LayeredGraph
    from shoal.core.task import Task
    from shoal.core.tokenize import tokenize
    from shoal.dataframe.mapping import align_partitions

    if len(args) > 1:
        args = align_partitions(*args)
    frame = args[0]
    split_every = max(int(split_every), 2)  # 1 would never shrink the list
    tok = tokenize(args, plan, split_every)
    cname = f"groupby-chunk-{tok}"
    name = f"groupby-agg-{tok}"
    layer: dict = {}
    keys = []
    for i in range(frame.npartitions):
        refs = [Ref((a._name, i)) for a in args]
        layer[(cname, i)] = Task(groupby_chunk, refs[0], plan, *refs[1:])
        keys.append((cname, i))
    depth = 0
    comb = _Combine(plan)
    while len(keys) > split_every:
        depth += 1
        new = []
        for j in range(0, len(keys), split_every):
            k = (f"groupby-combine{depth}-{tok}", j // split_every)
            layer[k] = Task(comb, [Ref(x) for x in keys[j:j + split_every]])
            new.append(k)
        keys = new
    layer[(name, 0)] = Task(_Finalize(plan), [Ref(x) for x in keys])
    graph = LayeredGraph.from_collections(name, layer, args)
    out = core.new_collection(graph, name, meta, [None, None])
    if split_out and split_out > 1:
        out = split_by_index(out, split_out)
    return out


def _index_part(x: Any, k: int, j: int) -> Any:
    h = pd.util.hash_pandas_object(x.index, index=False).to_numpy() % k
    return x[h == j]


def split_by_index(one: Any, k: int) -> Any:
    """A one-partition result spread over ``k`` partitions by the hash of its index."""
    from shoal.core.graph import LayeredGraph
    from shoal.core.task import Task
    from shoal.core.tokenize import tokenize

    name = f"split-out-{tokenize(one, k)}"
    layer = {(name, j): Task(_index_part, Ref((one._name, 0)), k, j) for j in range(k)}
    graph = LayeredGraph.from_collections(name, layer, [one])
    return core.new_collection(graph, name, one._meta, [None] * (k + 1))
