"""``groupby``: tree aggregation for reductions, shuffles for apply/transform.

An aggregation request (``.mean()``, ``.agg(['mean', 'max'])``,
``.agg({'a': 'sum'})``, ``.agg(total=('a', 'sum'))``) becomes a list of
outputs ``(label, column, func)``.  Each output needs *partials* that can be
merged across partitions:

=========  ===========================  ================================
func       partials per partition       final value
=========  ===========================  ================================
sum        sum                          sum of sums
count      count                        sum of counts
size       size                         sum of sizes
min/max    min/max                      min/max
first/last first/last                   first/last in partition order
mean       sum, count                   sum / count
var/std    count, sum, sum of squares   (ss - s^2/n) / (n - ddof)
nunique    distinct (keys, value) rows  distinct rows per group
=========  ===========================  ================================

Each partition makes one frame of partials indexed by group; frames are
concatenated and re-aggregated ``split_every`` at a time, then finalised
into pandas' output shape (sorted by group when ``sort=True``).
``apply``/``transform`` move each group into one partition with a hash
shuffle, then run pandas' own ``groupby().apply`` per partition.
"""
from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from shoal.core.task import Ref
from shoal.dataframe import core
from shoal.dataframe.optimize import register_columns
from shoal.dataframe.utils import meta_nonempty

__all__ = ["DataFrameGroupBy", "SeriesGroupBy"]

_PARTIALS = {
    "sum": ["sum"], "count": ["count"], "size": ["size"], "min": ["min"], "max": ["max"],
    "first": ["first"], "last": ["last"], "mean": ["sum", "count"], "var": ["count", "sum", "sum2"],
    "std": ["count", "sum", "sum2"], "nunique": [], "prod": ["prod"],
}
_COMBINE = {"sum": "sum", "count": "sum", "size": "sum", "min": "min", "max": "max", "first": "first",
            "last": "last", "sum2": "sum", "prod": "prod"}


class _Plan:
    """The partials to compute and how to finish each output (picklable, tokenizable)."""

    def __init__(self, by: list, outputs: list, shape: str, sort: bool, dropna: bool, ddof: int,
                 series_name: Any, by_is_series: bool):
        self.by = by
        self.outputs = outputs  # [(label, column, func)]
        self.shape = shape  # 'series' | 'frame' | 'multi'
        self.sort = sort
        self.dropna = dropna
        self.ddof = ddof
        self.series_name = series_name
        self.by_is_series = by_is_series
        partials: list = []
        distinct: list = []
        for _, col, func in outputs:
            if func not in _PARTIALS:
                raise ValueError(
                    f"groupby aggregation {func!r} is not supported; use one of {sorted(_PARTIALS)} "
                    "or groupby(...).apply(func)"
                )
            if func == "nunique" and col not in distinct:
                distinct.append(col)
            for pf in _PARTIALS[func]:
                key = (None if pf == "size" else col, pf)
                if key not in partials:
                    partials.append(key)
        self.partials = partials
        self.distinct = distinct

    def __shoal_tokenize__(self) -> Any:
        return ("groupby-plan", repr(self.by), repr(self.outputs), self.shape, self.sort, self.dropna,
                self.ddof, repr(self.series_name), self.by_is_series)

    def columns_needed(self) -> set:
        cols = set() if self.by_is_series else set(self.by)
        for _, col, _ in self.outputs:
            if col is not None:
                cols.add(col)
        return cols


def _keys(df: pd.DataFrame, plan: _Plan, by_series: Any) -> list:
    if plan.by_is_series:
        return [by_series]
    return [df[b] for b in plan.by]


def _column(df: Any, col: Any) -> pd.Series:
    return df if isinstance(df, pd.Series) else df[col]


def groupby_chunk(df: pd.DataFrame, plan: _Plan, by_series: Any = None) -> tuple:
    keys = _keys(df, plan, by_series)
    if any(pf == "sum2" for _, pf in plan.partials):
        sq = {c: _column(df, c).astype("float64") ** 2 for c, pf in plan.partials if pf == "sum2"}
    else:
        sq = {}
    cache: dict = {}

    def grouped(s: pd.Series) -> Any:
        return s.groupby(keys, sort=False, dropna=plan.dropna, observed=True)

    cols = {}
    for j, (col, pf) in enumerate(plan.partials):
        if pf == "size":
            cols[j] = grouped(pd.Series(np.zeros(len(df), dtype=np.int8), index=df.index)).size()
            continue
        if pf == "sum2":
            cols[j] = grouped(sq[col]).sum()
            continue
        g = cache.get(col)
        if g is None:
            g = cache[col] = grouped(_column(df, col))
        cols[j] = getattr(g, pf)()
    if cols:
        partial = pd.DataFrame(cols)
    else:
        partial = grouped(pd.Series(np.zeros(len(df), dtype=np.int8), index=df.index)).size().to_frame("__size")
    distinct = {}
    for col in plan.distinct:
        d = pd.DataFrame({f"__k{i}": k.to_numpy() for i, k in enumerate(keys)})
        d[col] = _column(df, col).to_numpy()
        if plan.dropna:
            d = d.dropna(subset=[f"__k{i}" for i in range(len(keys))])
        distinct[col] = d.drop_duplicates()
    return partial, distinct


def _combine_partials(parts: list, plan: _Plan) -> tuple:
    partials = [p[0] for p in parts]
    p = pd.concat(partials) if len(partials) > 1 else partials[0]
    nlev = p.index.nlevels
    g = p.groupby(level=list(range(nlev)) if nlev > 1 else 0, sort=False, dropna=plan.dropna)
    if "__size" in p.columns and len(p.columns) == 1:
        merged = g.sum()
    else:
        merged = g.agg({j: _COMBINE[pf] for j, (_, pf) in enumerate(plan.partials)})
    distinct = {}
    for col in plan.distinct:
        ds = [x[1][col] for x in parts]
        distinct[col] = (pd.concat(ds) if len(ds) > 1 else ds[0]).drop_duplicates()
    return merged, distinct


def groupby_combine(parts: list, plan: _Plan) -> tuple:
    return _combine_partials(parts, plan)


def groupby_finalize(parts: list, plan: _Plan) -> Any:
    p, distinct = _combine_partials(parts, plan)
    index = {pf_key: j for j, pf_key in enumerate(plan.partials)}
    out = {}
    for label, col, func in plan.outputs:
        if func == "nunique":
            d = distinct[col]
            kcols = [c for c in d.columns if c.startswith("__k")]
            s = d.groupby(kcols, sort=False, dropna=plan.dropna)[col].nunique(dropna=True)
            s.index = s.index.set_names(p.index.names)
            out[label] = s.reindex(p.index).fillna(0).astype("int64")
            continue
        if func == "mean":
            s, n = p[index[(col, "sum")]], p[index[(col, "count")]]
            with np.errstate(invalid="ignore", divide="ignore"):
                out[label] = s / n.where(n > 0)
        elif func in ("var", "std"):
            n, s, s2 = p[index[(col, "count")]], p[index[(col, "sum")]], p[index[(col, "sum2")]]
            with np.errstate(invalid="ignore", divide="ignore"):
                v = (s2 - s.astype("float64") ** 2 / n.where(n > 0)) / (n - plan.ddof).where(n - plan.ddof > 0)
                v = v.clip(lower=0)
            out[label] = np.sqrt(v) if func == "std" else v
        elif func == "size":
            out[label] = p[index[(None, "size")]]
        else:
            out[label] = p[index[(col, func)]]
    if plan.shape == "series":
        label = plan.outputs[0][0]
        res = out[label]
        res.name = plan.series_name
    else:
        res = pd.DataFrame(out, index=p.index)
        if plan.shape == "multi":
            res.columns = pd.MultiIndex.from_tuples(list(out))
        else:
            res.columns = pd.Index([o[0] for o in plan.outputs])
    if plan.sort:
        res = res.sort_index()
    return res


class _Finalize:
    def __init__(self, plan: _Plan):
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
    if type(src) is not Ref:
        return {}
    return {src.key: frozenset(plan.columns_needed())}


def _normalise_funcs(arg: Any, named: dict, selection: Any, columns: list, is_series: bool) -> tuple[list, str]:
    """(outputs, shape) for an aggregation request."""
    if named:
        outs = []
        for label, spec in named.items():
            if is_series:
                func = spec
                col = selection
            else:
                col, func = spec
            outs.append((label, col, _fname(func)))
        return outs, "frame"
    if isinstance(arg, dict):
        any_list = any(isinstance(v, (list, tuple)) for v in arg.values())
        outs = []
        for col, funcs in arg.items():
            for f in funcs if isinstance(funcs, (list, tuple)) else [funcs]:
                outs.append(((col, _fname(f)) if any_list else col, col, _fname(f)))
        return outs, "multi" if any_list else "frame"
    if isinstance(arg, (list, tuple)):
        if is_series:
            return [(_fname(f), selection, _fname(f)) for f in arg], "frame"
        return [((c, _fname(f)), c, _fname(f)) for c in columns for f in arg], "multi"
    f = _fname(arg)
    if is_series:
        return [(selection, selection, f)], "series"
    if f == "size":
        return [(None, None, "size")], "series"
    return [(c, c, f) for c in columns], "frame"


def _fname(f: Any) -> str:
    if isinstance(f, str):
        return f
    name = getattr(f, "__name__", None)
    aliases = {"amax": "max", "amin": "min", "nanmax": "max", "nanmin": "min", "nansum": "sum", "nanmean": "mean",
               "len": "size"}
    if name in _PARTIALS:
        return name
    if name in aliases:
        return aliases[name]
    raise ValueError(f"groupby aggregation {f!r} is not supported; pass a name such as 'sum' or 'mean', "
                     "or use groupby(...).apply(func)")


class _GroupByBase:
    def __init__(self, obj: Any, by: Any, sort: bool = True, dropna: bool = True, selection: Any = None,
                 group_keys: bool = True, observed: bool = True, **kwargs: Any):
        self.obj = obj
        self.sort = sort
        self.dropna = dropna
        self.group_keys = group_keys
        if isinstance(by, core._Frame):
            self.by = [by]
            self.by_series = by
            self.by_labels: list = []
        else:
            self.by_series = None
            self.by = by if isinstance(by, list) else [by]
            self.by_labels = list(self.by)
            if isinstance(obj._meta, pd.DataFrame):
                missing = [b for b in self.by_labels if b not in obj._meta.columns]
                if missing:
                    raise KeyError(f"groupby keys {missing} are not columns; the columns are {list(obj._meta.columns)}")
        self._selection = selection
        self._by_arg = by

    # -- helpers ---------------------------------------------------------------------
    def _columns(self) -> list:
        if isinstance(self.obj._meta, pd.Series):
            return [self.obj._meta.name]
        if self._selection is not None:
            return self._selection if isinstance(self._selection, list) else [self._selection]
        return [c for c in self.obj._meta.columns if c not in self.by_labels]

    def _pandas_groupby(self, df: Any, by_series: Any = None) -> Any:
        by = by_series if by_series is not None else (self.by_labels if len(self.by_labels) > 1 or isinstance(self._by_arg, list) else self.by_labels[0])
        g = df.groupby(by, sort=self.sort, dropna=self.dropna)
        if self._selection is not None:
            g = g[self._selection]
        return g

    def _aggregate(self, arg: Any = None, split_every: Any = None, ddof: int = 1, **named: Any) -> Any:
        is_series = self._is_series_selection()
        selection = self._selection if self._selection is not None else (self.obj._meta.name if isinstance(self.obj._meta, pd.Series) else None)
        outputs, shape = _normalise_funcs(arg, named, selection, self._columns(), is_series)
        series_name = outputs[0][0] if shape == "series" else None
        if shape == "series" and outputs[0][2] == "size":
            series_name = selection if is_series else None
        by = self.by_labels if self.by_series is None else [self.by_series._meta.name]
        plan = _Plan(by, outputs, shape, self.sort, self.dropna, ddof, series_name, self.by_series is not None)
        frame = self.obj
        if isinstance(frame._meta, pd.Series) and self.by_series is None:
            raise NotImplementedError("Series.groupby needs a Series to group by: s.groupby(other_series)")
        args = [frame] + ([self.by_series] if self.by_series is not None else [])
        # meta: run the same plan on a one-row stand-in
        mn = meta_nonempty(frame._meta)
        bs = meta_nonempty(self.by_series._meta) if self.by_series is not None else None
        if bs is not None:
            bs.index = mn.index
        meta = groupby_finalize([groupby_chunk(mn, plan, bs)], plan).iloc[:0]
        return _tree(args, plan, meta, split_every or 8)

    def _is_series_selection(self) -> bool:
        if isinstance(self.obj._meta, pd.Series):
            return True
        return self._selection is not None and not isinstance(self._selection, list)

    # -- public ----------------------------------------------------------------------
    def agg(self, arg: Any = None, split_every: Any = None, **named: Any) -> Any:
        """Aggregate: a name, a list of names, a dict ``{column: name(s)}``, or
        named aggregation ``agg(total=('col', 'sum'))``."""
        return self._aggregate(arg, split_every=split_every, **named)

    aggregate = agg

    def sum(self, split_every: Any = None, **kw: Any):
        return self._aggregate("sum", split_every)

    def mean(self, split_every: Any = None, **kw: Any):
        return self._aggregate("mean", split_every)

    def count(self, split_every: Any = None, **kw: Any):
        return self._aggregate("count", split_every)

    def min(self, split_every: Any = None, **kw: Any):
        return self._aggregate("min", split_every)

    def max(self, split_every: Any = None, **kw: Any):
        return self._aggregate("max", split_every)

    def first(self, split_every: Any = None, **kw: Any):
        return self._aggregate("first", split_every)

    def last(self, split_every: Any = None, **kw: Any):
        return self._aggregate("last", split_every)

    def prod(self, split_every: Any = None, **kw: Any):
        return self._aggregate("prod", split_every)

    def nunique(self, split_every: Any = None, **kw: Any):
        return self._aggregate("nunique", split_every)

    def var(self, ddof: int = 1, split_every: Any = None, **kw: Any):
        return self._aggregate("var", split_every, ddof=ddof)

    def std(self, ddof: int = 1, split_every: Any = None, **kw: Any):
        return self._aggregate("std", split_every, ddof=ddof)

    def size(self, split_every: Any = None):
        return self._aggregate("size", split_every)

    def _shuffled(self) -> Any:
        if self.by_series is not None:
            raise NotImplementedError("groupby(series).apply is not supported; assign the series as a column first")
        from shoal.dataframe.shuffle import shuffle

        return shuffle(self.obj, self.by_labels)

    def apply(self, func: Any, *args: Any, meta: Any = core.no_default, **kwargs: Any) -> Any:
        """``func`` on each group (groups moved into one partition each by a hash shuffle)."""
        shuffled = self._shuffled()
        return shuffled.map_partitions(_apply_groups, self._spec(), func, args, kwargs, "apply",
                                       meta=meta, token="groupby-apply", divisions=[None] * (shuffled.npartitions + 1))

    def transform(self, func: Any, *args: Any, meta: Any = core.no_default, **kwargs: Any) -> Any:
        """``transform`` per group after a hash shuffle; rows come back in shuffled order."""
        shuffled = self._shuffled()
        return shuffled.map_partitions(_apply_groups, self._spec(), func, args, kwargs, "transform",
                                       meta=meta, token="groupby-transform", divisions=[None] * (shuffled.npartitions + 1))

    def _spec(self) -> tuple:
        by = self.by_labels if (len(self.by_labels) > 1 or isinstance(self._by_arg, list)) else self.by_labels[0]
        return (by, self._selection, self.dropna, self.group_keys)


def _apply_groups(df: pd.DataFrame, spec: tuple, func: Any, args: tuple, kwargs: dict, how: str) -> Any:
    by, selection, dropna, group_keys = spec
    g = df.groupby(by, dropna=dropna, group_keys=group_keys)
    if selection is not None:
        g = g[selection]
    if how == "apply":
        return g.apply(func, *args, **kwargs)
    return g.transform(func, *args, **kwargs)


def _tree(args: list, plan: _Plan, meta: Any, split_every: int) -> Any:
    from shoal.core.graph import LayeredGraph
    from shoal.core.task import Task
    from shoal.core.tokenize import tokenize
    from shoal.dataframe.mapping import align_partitions

    args = align_partitions(*args)
    frame = args[0]
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
    return core.new_collection(graph, name, meta, [None, None])


class DataFrameGroupBy(_GroupByBase):
    def __getitem__(self, key: Any) -> Any:
        if isinstance(key, list):
            return DataFrameGroupBy(self.obj, self._by_arg, sort=self.sort, dropna=self.dropna, selection=key)
        if key not in self.obj._meta.columns:
            raise KeyError(f"column {key!r} is not in the grouped frame; it has {list(self.obj._meta.columns)}")
        return SeriesGroupBy(self.obj, self._by_arg, sort=self.sort, dropna=self.dropna, selection=key)

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        obj = self.__dict__.get("obj")
        if obj is not None and name in obj._meta.columns:
            return self[name]
        raise AttributeError(f"'DataFrameGroupBy' object has no attribute {name!r}")


class SeriesGroupBy(_GroupByBase):
    def value_counts(self, **kwargs: Any):
        raise NotImplementedError("SeriesGroupBy.value_counts is not supported; use .apply(lambda s: s.value_counts())")
