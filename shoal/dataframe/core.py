"""Partitioned dataframes: ``DataFrame``, ``Series``, ``Index`` and ``Scalar``.

A dataframe collection is a sequence of pandas objects (its *partitions*),
the graph that makes them (a ``LayeredGraph``: one layer per operation,
keys ``(name, i)``), an empty pandas object with the right columns and
dtypes (its *meta*), and its *divisions*: ``npartitions + 1`` index values
such that partition ``i`` holds index values in ``[divisions[i],
divisions[i+1])`` (the last one closed), or all ``None`` when unknown.

Operations only build graphs.  Row-wise operations map over partitions and
keep divisions; reductions run per partition, then combine in a tree
(``split_every`` at a time); operations that move rows between partitions
(groupby-apply, merges, set_index, sort_values) go through ``shuffle``.
Before a graph runs, ``optimize`` pushes the columns it needs into the
readers (see ``shoal.dataframe.optimize``).
"""
from __future__ import annotations

import operator
from typing import Any, Callable, Hashable, Iterable

import numpy as np
import pandas as pd

from shoal import base
from shoal.core.graph import LayeredGraph
from shoal.core.task import Ref, Task
from shoal.core.tokenize import tokenize
from shoal.utils import funcname
from shoal.dataframe import methods as M
from shoal.dataframe.api import FrameMethods
from shoal.dataframe.optimize import optimize
from shoal.dataframe.utils import make_meta

__all__ = ["DataFrame", "Series", "Index", "Scalar", "new_collection", "map_partitions", "no_default"]


class _NoDefault:
    def __repr__(self) -> str:
        return "<no_default>"


no_default = _NoDefault()




def _meta_of(x: Any) -> Any:
    if isinstance(x, (_Frame, Scalar)):
        return x._meta
    return x


def _ref_for(x: Any, i: int) -> Any:
    if isinstance(x, _Frame):
        return Ref((x._name, i))
    if isinstance(x, Scalar):
        return Ref(x._key)
    if base.is_lazy(x):
        return Ref(x.__shoal_keys__())
    return x


def new_collection(graph: LayeredGraph, name: str, meta: Any, divisions: Iterable) -> Any:
    """The right collection type for ``meta``."""
    divisions = tuple(divisions)
    if isinstance(meta, pd.DataFrame):
        return DataFrame(graph, name, meta, divisions)
    if isinstance(meta, pd.Series):
        return Series(graph, name, meta, divisions)
    if isinstance(meta, pd.Index):
        return Index(graph, name, meta, divisions)
    return Scalar(graph, (name, 0), meta)


class Scalar(base.Collection):
    """A lazy single value (the result of a full reduction)."""

    __shoal_scheduler__ = "threads"
    __shoal_optimize__ = staticmethod(optimize)

    def __init__(self, graph: LayeredGraph, key: Hashable, meta: Any):
        self._graph = graph
        self._key = key
        self._meta = meta

    def __shoal_graph__(self) -> LayeredGraph:
        return self._graph

    def __shoal_keys__(self) -> Hashable:
        return self._key

    def __shoal_postcompute__(self):
        return M.identity, ()

    def __shoal_postpersist__(self):
        return _rebuild_scalar, (self._key, self._meta)

    def __shoal_tokenize__(self) -> Hashable:
        return self._key

    @property
    def key(self) -> Hashable:
        """The graph key holding this value."""
        return self._key

    @property
    def dtype(self) -> Any:
        """The dtype (from the meta; no compute)."""
        return getattr(self._meta, "dtype", np.dtype(type(self._meta)) if np.isscalar(self._meta) else object)

    # compute, persist, visualize, dask and graph come from Collection

    def to_delayed(self) -> Any:
        """One ``Delayed`` per partition."""
        from shoal.delayed import Delayed

        return Delayed(self._key, {}, (self,))

    def __repr__(self) -> str:
        return f"shoal.Scalar<{self._key[0]}, dtype={self.dtype}>"

    def __bool__(self) -> bool:
        raise TypeError(
            "the truth value of a lazy Scalar is unknown until computed; "
            "write `bool(x.compute())` or compare after `.compute()`"
        )

    def _binop(self, other: Any, op: Callable, reflect: bool = False) -> Any:
        if isinstance(other, _Frame):
            return other._binop(self, op, reflect=not reflect)
        f = M.rbinop if reflect else M.binop
        name = f"{op.__name__.strip('_')}-{tokenize(self, other, op, reflect)}"
        key = (name, 0)
        args = [Ref(self._key), _ref_for(other, 0)]
        layer = {key: Task(f, op, *args)}
        parents = [self] + ([other] if isinstance(other, Scalar) else [])
        try:
            meta = f(op, self._meta, _meta_of(other))
        except Exception:
            meta = self._meta
        return Scalar(LayeredGraph.from_collections(name, layer, parents), key, meta)

    def _unop(self, op: Callable) -> "Scalar":
        name = f"{op.__name__.strip('_')}-{tokenize(self, op)}"
        key = (name, 0)
        layer = {key: Task(M.unop, op, Ref(self._key))}
        return Scalar(LayeredGraph.from_collections(name, layer, [self]), key, self._meta)

    def __neg__(self):
        return self._unop(operator.neg)

    def __abs__(self):
        return self._unop(operator.abs)


def _rebuild_scalar(graph: dict, key: Hashable, meta: Any) -> Scalar:
    return Scalar(LayeredGraph({key[0]: graph}), key, meta)


class _Partitions:
    """``df.partitions[i]`` / ``df.partitions[[0, 2]]`` / ``df.partitions[1:3]``."""

    def __init__(self, frame: "_Frame"):
        self._frame = frame

    def __getitem__(self, index: Any) -> "_Frame":
        f = self._frame
        n = f.npartitions
        if isinstance(index, (int, np.integer)):
            if not -n <= index < n:
                raise IndexError(f"partition {index} is out of range: this collection has {n} partitions")
            idx = [int(index) % n]
        elif isinstance(index, slice):
            idx = list(range(n))[index]
        else:
            idx = [int(i) % n for i in index]
        name = f"partitions-{tokenize(f, idx)}"
        layer = {(name, j): Ref((f._name, i)) for j, i in enumerate(idx)}
        if f.known_divisions:
            if idx == list(range(idx[0], idx[-1] + 1)):
                divs = list(f.divisions[idx[0]:idx[-1] + 2])
            else:
                divs = [None] * (len(idx) + 1)
        else:
            divs = [None] * (len(idx) + 1)
        return new_collection(LayeredGraph.from_collections(name, layer, [f]), name, f._meta, divs)


def _rebuild_frame(graph: dict, name: str, meta: Any, divisions: tuple) -> "_Frame":
    return new_collection(LayeredGraph({name: graph}), name, meta, divisions)


class _Frame(FrameMethods):
    """What DataFrame, Series and Index share."""

    __shoal_scheduler__ = "threads"
    __shoal_optimize__ = staticmethod(optimize)

    def __init__(self, graph: LayeredGraph, name: str, meta: Any, divisions: tuple):
        if not isinstance(graph, LayeredGraph):
            graph = LayeredGraph({name: dict(graph)})
        self.dask = graph
        self._name = name
        self._meta = meta
        self.divisions = tuple(_plain(d) for d in divisions)

    # -- collection protocol -------------------------------------------------
    def __shoal_graph__(self) -> LayeredGraph:
        return self.dask

    def __shoal_keys__(self) -> list:
        return [(self._name, i) for i in range(self.npartitions)]

    def __shoal_postcompute__(self):
        return M.to_pandas_concat, (self._meta,)

    def __shoal_postpersist__(self):
        return _rebuild_frame, (self._name, self._meta, self.divisions)

    def __shoal_tokenize__(self) -> str:
        return self._name

    # -- structure -------------------------------------------------------------
    @property
    def npartitions(self) -> int:
        """Number of partitions."""
        return len(self.divisions) - 1

    @property
    def known_divisions(self) -> bool:
        """Whether the index boundaries of the partitions are known."""
        return len(self.divisions) > 0 and self.divisions[0] is not None

    def clear_divisions(self) -> "_Frame":
        """The same collection with divisions forgotten (all ``None``); nothing is computed."""
        return new_collection(self.dask, self._name, self._meta, [None] * (self.npartitions + 1))

    @property
    def _meta_nonempty(self) -> Any:
        from shoal.dataframe.utils import meta_nonempty

        return meta_nonempty(self._meta)

    @property
    def partitions(self) -> _Partitions:
        """Select partitions by position: ``df.partitions[0]``, ``df.partitions[1:3]``."""
        return _Partitions(self)

    def get_partition(self, i: int) -> "_Frame":
        """Partition ``i`` as a one-partition collection."""
        if not isinstance(i, (int, np.integer)) or not 0 <= i < self.npartitions:
            raise ValueError(f"get_partition({i!r}): partitions are numbered 0..{self.npartitions - 1}")
        return self.partitions[i]

    @property
    def index(self) -> "Index":
        """The index as a lazy ``Index`` collection (one piece per partition)."""
        return self.map_partitions(M.getattr_, "index", meta=self._meta.index, token="index")

    @property
    def ndim(self) -> int:
        """Number of dimensions (1 for Series/Index, 2 for DataFrame)."""
        return self._meta.ndim

    # -- running ---------------------------------------------------------------
    # Not base.Collection: frames keep their graph in the instance attribute
    # ``dask``, and DataFrame.__getattr__ maps unknown names to columns, which
    # an inherited ``graph`` property would shadow.
    def compute(self, **kwargs: Any) -> Any:
        """Run the graph and return the pandas result (``scheduler=`` picks where it runs)."""
        return base.compute(self, **kwargs)[0]

    def persist(self, **kwargs: Any) -> "_Frame":
        """Compute the partitions now and keep them (in memory, or on the cluster); returns a collection over them."""
        return base.persist(self, **kwargs)[0]

    def visualize(self, filename: str | None = "mydask", **kwargs: Any) -> Any:
        """Draw the task graph (graphviz) to ``filename``."""
        return base.visualize(self, filename=filename, **kwargs)

    def to_delayed(self, optimize_graph: bool = True) -> list:
        """One ``Delayed`` per partition."""
        from shoal.delayed import Delayed

        return [Delayed(k, {}, (self,)) for k in self.__shoal_keys__()]

    def __len__(self) -> int:
        return int(self._reduction(M.size, _sum_list, meta=0, token="len").compute())

    def __bool__(self) -> bool:
        raise ValueError(
            f"the truth value of a lazy {type(self).__name__} is ambiguous: "
            "use `&`/`|` for element-wise logic, or `.any().compute()` / `.all().compute()`"
        )

    # -- building blocks -------------------------------------------------------
    def map_partitions(self, func: Callable, *args: Any, meta: Any = no_default,
                       token: str | None = None, divisions: Any = no_default, **kwargs: Any) -> Any:
        """Apply ``func(partition, *args, **kwargs)`` to every partition.

        ``meta`` (an empty pandas object, a dict of dtypes, or a ``(name,
        dtype)`` tuple) says what ``func`` returns; without it ``func`` runs
        on an empty partition to find out.  Other collections in ``args``
        are aligned partition by partition.
        """
        return map_partitions(func, self, *args, meta=meta, token=token, divisions=divisions, **kwargs)

    def _reduction(self, chunk: Callable, aggregate: Callable, meta: Any = no_default,
                   combine: Callable | None = None, token: str | None = None, split_every: int | None = None,
                   chunk_kwargs: dict | None = None, aggregate_kwargs: dict | None = None) -> Any:
        """Tree reduction: ``chunk`` each partition, ``combine`` lists of
        ``split_every`` results, ``aggregate`` the last list."""
        chunk_kwargs = chunk_kwargs or {}
        aggregate_kwargs = aggregate_kwargs or {}
        combine = combine or aggregate
        split_every = max(split_every or 8, 2)  # 1 would never shrink the list
        token = token or funcname(chunk)
        tok = tokenize(self, chunk, aggregate, combine, split_every, chunk_kwargs, aggregate_kwargs)
        name = f"{token}-{tok}"
        cname = f"{token}-chunk-{tok}"
        layer: dict = {}
        keys = []
        for i in range(self.npartitions):
            layer[(cname, i)] = Task(chunk, Ref((self._name, i)), **chunk_kwargs)
            keys.append((cname, i))
        depth = 0
        while len(keys) > split_every:
            depth += 1
            new = []
            for j in range(0, len(keys), split_every):
                k = (f"{token}-combine{depth}-{tok}", j // split_every)
                layer[k] = Task(combine, [Ref(x) for x in keys[j:j + split_every]], **aggregate_kwargs)
                new.append(k)
            keys = new
        layer[(name, 0)] = Task(aggregate, [Ref(x) for x in keys], **aggregate_kwargs)
        if meta is no_default:
            part = chunk(self._meta, **chunk_kwargs)
            meta = make_meta(aggregate([part], **aggregate_kwargs))
        graph = LayeredGraph.from_collections(name, layer, [self])
        return new_collection(graph, name, meta, [None, None])

    def _binop(self, other: Any, op: Callable, reflect: bool = False) -> Any:
        func = M.rbinop if reflect else M.binop
        if isinstance(other, (pd.Series, pd.DataFrame)) and not (self.ndim == 2 and other.ndim == 1):
            # rows pair up by label: give the pandas object partitions that line up with ours
            from shoal.dataframe.io.convert import from_pandas

            if not self.known_divisions:
                raise ValueError("arithmetic with a pandas object pairs rows by label, which needs known "
                                 "divisions here; set_index first, or wrap it: ddf.from_pandas(obj, npartitions=1) "
                                 "and repartition both to the same partitions")
            other = from_pandas(other, npartitions=1)
        if hasattr(other, "chunks") and hasattr(other, "__shoal_keys__") and getattr(other, "ndim", 0) >= 1:
            return _binop_array(self, other, op, reflect)
        if isinstance(other, _Frame) and self.ndim == 2 and other.ndim == 1:
            # pandas aligns a Series with a DataFrame's columns, not its rows: send it whole to every partition
            other = _whole(other)
        elif isinstance(other, _Frame) and self.ndim == 1 and other.ndim == 2:
            return other._binop(self, op, reflect=not reflect)
        return map_partitions(func, op, self, other, token=op.__name__.strip("_"))

    # -- common operations -----------------------------------------------------
    def head(self, n: int = 5, npartitions: int = 1, compute: bool = True) -> Any:
        """First ``n`` rows, reading only the first ``npartitions`` partitions.

        ``npartitions=-1`` looks through all of them.
        """
        if npartitions < 0:
            npartitions = self.npartitions
        elif npartitions > self.npartitions:
            raise ValueError(f"head(npartitions={npartitions}): this collection has only {self.npartitions} "
                             "partitions; pass npartitions=-1 to look through all of them")
        npartitions = min(npartitions, self.npartitions)
        name = f"head-{tokenize(self, n, npartitions)}"
        if npartitions == 1:
            layer = {(name, 0): Task(M.head, Ref((self._name, 0)), n)}
        else:
            layer = {(name, 0): Task(M.head_concat, [Ref((self._name, i)) for i in range(npartitions)], n)}
        divs = [self.divisions[0], self.divisions[npartitions]]
        out = new_collection(LayeredGraph.from_collections(name, layer, [self]), name, self._meta, divs)
        if compute:
            res = out.compute()
            if len(res) < n and npartitions < self.npartitions:
                import warnings

                warnings.warn(
                    f"only {len(res)} rows in the first {npartitions} partition(s), fewer than n={n}; "
                    f"pass npartitions=-1 to look further, e.g. df.head({n}, npartitions=-1)",
                    stacklevel=2,
                )
            return res
        return out

    def tail(self, n: int = 5, compute: bool = True) -> Any:
        """Last ``n`` rows: the last partition, and earlier ones only while it is too short.

        With ``compute=False`` the lazy result reads back through as many
        partitions as it needs (a chain from the last one).
        """
        if compute:
            got = None
            for i in range(self.npartitions - 1, -1, -1):
                part = self.get_partition(i).compute()
                got = part if got is None else M.concat([part, got])
                if len(got) >= n:
                    break
            return M.tail(got, n)
        name = f"tail-{tokenize(self, n)}"
        layer = {}
        for i in range(self.npartitions - 1, -1, -1):
            later = Ref((name, i + 1)) if i < self.npartitions - 1 else None
            layer[(name, i)] = Task(M.tail_before, Ref((self._name, i)), later, n)
        out = new_collection(LayeredGraph.from_collections(name, layer, [self]), name, self._meta,
                             [self.divisions[0], self.divisions[-1]])
        return _first_partition(out)

    def repartition(self, divisions: Any = None, npartitions: int | None = None,
                    partition_size: Any = None, freq: Any = None, force: bool = False) -> "_Frame":
        """Change the partitioning: ``npartitions=k``, new ``divisions``, ``partition_size='100MB'``
        (measures partition sizes now) or ``freq='1D'`` (datetime index, known divisions).

        Known divisions stay known (more partitions: split points are
        interpolated between the old divisions).
        """
        from shoal.dataframe.repartition import repartition

        return repartition(self, npartitions=npartitions, divisions=divisions, partition_size=partition_size,
                           freq=freq, force=force)

    def _elementwise(self, method: str, *args: Any, **kwargs: Any) -> Any:
        return map_partitions(M.call_method, self, method, *args, token=method, **kwargs)

    def isna(self):
        """Boolean mask of nulls, per partition."""
        return self._elementwise("isna")

    isnull = isna

    def notna(self):
        """Boolean mask of non-nulls, per partition."""
        return self._elementwise("notna")

    notnull = notna

    def fillna(self, value: Any = None, method: str | None = None, limit: int | None = None, axis: Any = None):
        """Fill nulls with ``value`` (per partition) or by ``method`` ('ffill'/'bfill', across partitions)."""
        if method is not None:
            if value is not None:
                raise ValueError("fillna takes value= or method=, not both")
            if method in ("ffill", "pad"):
                return self.ffill(axis=axis, limit=limit)
            if method in ("bfill", "backfill"):
                return self.bfill(axis=axis, limit=limit)
            raise ValueError(f"fillna(method={method!r}): use 'ffill' or 'bfill'")
        if isinstance(value, _Frame):
            if not (self.known_divisions and value.known_divisions) and value.divisions != self.divisions:
                # fillna pairs values by label: without divisions to line them up, send the filler whole
                value = _whole(value)
            return map_partitions(M.call_method, self, "fillna", value, limit=limit, axis=axis, token="fillna",
                                  meta=self._meta)
        return self._elementwise("fillna", value, limit=limit, axis=axis)

    def dropna(self, **kwargs: Any):
        """Drop rows with nulls (``how``, ``thresh``, ``subset`` as pandas), per partition."""
        return self._elementwise("dropna", **kwargs)

    def where(self, cond: Any, other: Any = np.nan):
        """Keep values where ``cond`` holds, else ``other`` (per aligned partition)."""
        _check_condition(cond, "where")
        return map_partitions(M.call_method, self, "where", cond, other, token="where")

    def mask(self, cond: Any, other: Any = np.nan):
        """Replace values where ``cond`` holds by ``other`` (per aligned partition)."""
        _check_condition(cond, "mask")
        return map_partitions(M.call_method, self, "mask", cond, other, token="mask")

    def abs(self):
        """Absolute values, per partition (lazy)."""
        return self._elementwise("abs")

    def round(self, decimals: int = 0):
        """Round to ``decimals``, per partition."""
        return self._elementwise("round", decimals)

    def clip(self, lower: Any = None, upper: Any = None, axis: Any = None):
        """Bound values to ``[lower, upper]`` per partition."""
        return self._elementwise("clip", lower, upper, axis=axis)

    def between(self, left: Any, right: Any, inclusive: str = "both"):
        """Whether each value lies between ``left`` and ``right`` (``inclusive`` as pandas), per partition."""
        return self._elementwise("between", left, right, inclusive=inclusive)

    def isin(self, values: Any):
        """Element-wise membership; ``values`` may hold lazy values (computed first)."""
        if isinstance(values, _Frame) or (self.ndim == 2 and isinstance(values, (pd.Series, pd.DataFrame))):
            raise NotImplementedError("isin with a Series or DataFrame (matched by label) is not supported; "
                                      "pass a list of values, or a dict of lists per column")
        if not isinstance(values, dict):
            values = list(values)
            if any(base.is_lazy(v) for v in values):
                from shoal.delayed import delayed

                d = delayed(list)(values)
                values = Scalar(d.__shoal_graph__(), d.__shoal_keys__(), [])
        if isinstance(values, Scalar):
            return map_partitions(M.call_method, self, "isin", values, token="isin",
                                  meta=M.call_method(self._meta, "isin", []))
        return self._elementwise("isin", values)

    def copy(self, deep: bool = False) -> "_Frame":
        """A new collection object over the same graph (partitions are never mutated in place)."""
        if deep is not False:
            raise ValueError("copy(deep=...) must be False: this copies the lazy graph, not data "
                             "(partitions are never modified in place)")
        return new_collection(self.dask, self._name, self._meta, self.divisions)

    def reset_index(self, drop: bool = False):
        """Reset each partition's index (a new 0..n-1 index per partition, as Dask does)."""
        return map_partitions(M.call_method, self, "reset_index", drop=drop, token="reset-index",
                              divisions=[None] * (self.npartitions + 1))

    def map_overlap(self, func: Callable, before: int, after: int, *args: Any, meta: Any = no_default, **kwargs: Any):
        """``func`` on each partition plus ``before``/``after`` rows (or a time span) of its neighbours."""
        from shoal.dataframe.rolling import map_overlap

        return map_overlap(func, self, before, after, *args, meta=meta, **kwargs)

    def rolling(self, window: Any, min_periods: int | None = None, center: bool = False, **kwargs: Any):
        """Rolling windows; rows from neighbouring partitions are borrowed so windows cross partition edges."""
        from shoal.dataframe.rolling import Rolling

        return Rolling(self, window, min_periods=min_periods, center=center, **kwargs)

    @property
    def loc(self):
        """Label-based selection; known divisions let it skip partitions."""
        from shoal.dataframe.indexing import LocIndexer

        return LocIndexer(self)

    def shuffle(self, on: Any, npartitions: int | None = None, shuffle_method: str | None = None):
        """Rows with equal ``on`` in one partition; ``shuffle_method``: ``"tasks"``, ``"disk"`` or None (config)."""
        from shoal.dataframe.shuffle import shuffle

        return shuffle(self, on, npartitions=npartitions, method=shuffle_method)

    # reductions shared by frames and series (all through reductions.reduce)
    def _reduce(self, how: str, **kwargs: Any) -> Any:
        from shoal.dataframe import reductions as R

        return R.reduce(self, how, **kwargs)

    def sum(self, axis: Any = 0, skipna: bool = True, numeric_only: bool = False, min_count: int = 0,
            split_every: Any = None):
        """Sum per column (or of the Series); ``min_count`` non-missing values needed, else NaN."""
        return self._reduce("sum", axis=axis, skipna=skipna, numeric_only=numeric_only, min_count=min_count,
                            split_every=split_every)

    def prod(self, axis: Any = 0, skipna: bool = True, numeric_only: bool = False, min_count: int = 0,
             split_every: Any = None):
        """Product per column (or of the Series)."""
        return self._reduce("prod", axis=axis, skipna=skipna, numeric_only=numeric_only, min_count=min_count,
                            split_every=split_every)

    product = prod

    def min(self, axis: Any = 0, skipna: bool = True, numeric_only: bool = False, split_every: Any = None):
        """Smallest value per column (or of the Series)."""
        return self._reduce("min", axis=axis, skipna=skipna, numeric_only=numeric_only, split_every=split_every)

    def max(self, axis: Any = 0, skipna: bool = True, numeric_only: bool = False, split_every: Any = None):
        """Largest value per column (or of the Series)."""
        return self._reduce("max", axis=axis, skipna=skipna, numeric_only=numeric_only, split_every=split_every)

    def count(self, axis: Any = 0, numeric_only: bool = False, split_every: Any = None):
        """Non-missing values per column (or of the Series)."""
        return self._reduce("count", axis=axis, numeric_only=numeric_only, split_every=split_every)

    def any(self, axis: Any = 0, skipna: bool = True, split_every: Any = None):
        """Whether any value is true."""
        return self._reduce("any", axis=axis, skipna=skipna, split_every=split_every)

    def all(self, axis: Any = 0, skipna: bool = True, split_every: Any = None):
        """Whether every value is true."""
        return self._reduce("all", axis=axis, skipna=skipna, split_every=split_every)

    def mean(self, axis: Any = 0, skipna: bool = True, numeric_only: bool = False, split_every: Any = None):
        """Mean (mergeable moments: the same answer however rows are partitioned)."""
        return self._reduce("mean", axis=axis, skipna=skipna, numeric_only=numeric_only, split_every=split_every)

    def var(self, axis: Any = 0, skipna: bool = True, ddof: int = 1, numeric_only: bool = False,
            split_every: Any = None):
        """Variance with ``ddof`` (numerically stable merge of partition moments)."""
        return self._reduce("var", axis=axis, skipna=skipna, ddof=ddof, numeric_only=numeric_only,
                            split_every=split_every)

    def std(self, axis: Any = 0, skipna: bool = True, ddof: int = 1, numeric_only: bool = False,
            split_every: Any = None):
        """Standard deviation with ``ddof``."""
        return self._reduce("std", axis=axis, skipna=skipna, ddof=ddof, numeric_only=numeric_only,
                            split_every=split_every)

    def sem(self, axis: Any = 0, skipna: bool = True, ddof: int = 1, numeric_only: bool = False,
            split_every: Any = None):
        """Standard error of the mean."""
        return self._reduce("sem", axis=axis, skipna=skipna, ddof=ddof, numeric_only=numeric_only,
                            split_every=split_every)

    def skew(self, axis: Any = 0, skipna: bool = True, numeric_only: bool = False, split_every: Any = None):
        """Bias-corrected skewness (as pandas)."""
        return self._reduce("skew", axis=axis, skipna=skipna, numeric_only=numeric_only, split_every=split_every)

    def kurt(self, axis: Any = 0, skipna: bool = True, numeric_only: bool = False, split_every: Any = None):
        """Bias-corrected excess kurtosis (as pandas)."""
        return self._reduce("kurt", axis=axis, skipna=skipna, numeric_only=numeric_only, split_every=split_every)

    kurtosis = kurt

    def idxmin(self, axis: Any = 0, skipna: bool = True, numeric_only: bool = False, split_every: Any = None):
        """Index label of the first smallest value (per column for a DataFrame)."""
        return self._reduce("idxmin", axis=axis, skipna=skipna, numeric_only=numeric_only, split_every=split_every)

    def idxmax(self, axis: Any = 0, skipna: bool = True, numeric_only: bool = False, split_every: Any = None):
        """Index label of the first largest value (per column for a DataFrame)."""
        return self._reduce("idxmax", axis=axis, skipna=skipna, numeric_only=numeric_only, split_every=split_every)

    def quantile(self, q: Any = 0.5, numeric_only: bool = False, method: str = "default"):
        """Approximate quantiles.

        Each partition reports its own quantiles on a fine grid (with its
        row count as weight); these are merged into one weighted sample and
        the quantile is read from it.  Exact when every partition holds at
        most 1001 values; otherwise close but not exact (like
        ``dask.dataframe``'s default).
        """
        from shoal.dataframe import reductions as R

        return R.quantile(self, q, numeric_only=numeric_only)

    def median_approximate(self, numeric_only: bool = False):
        """Approximate median (see ``quantile``)."""
        from shoal.dataframe import reductions as R

        return R.median(self, numeric_only=numeric_only, approximate=True)

    def median(self, numeric_only: bool = False):
        """Exact median of a one-partition collection; with more partitions raises and points
        to ``median_approximate`` (an exact median needs all values in one place)."""
        from shoal.dataframe import reductions as R

        return R.median(self, numeric_only=numeric_only)

    def cov(self, other: Any = None, min_periods: int | None = None, ddof: int = 1, numeric_only: bool = False,
            split_every: Any = None):
        """Covariance: of the columns (DataFrame) or with ``other`` (Series), pairwise-complete rows."""
        return self._co(other, False, min_periods, ddof, numeric_only, split_every)

    def corr(self, other: Any = None, method: str = "pearson", min_periods: int | None = None,
             numeric_only: bool = False, split_every: Any = None):
        """Pearson correlation: of the columns (DataFrame) or with ``other`` (Series)."""
        if self.ndim == 2 and other is not None and not isinstance(other, str):
            raise TypeError("DataFrame.corr takes no other collection; use df.corrwith or s1.corr(s2)")
        if isinstance(other, str):  # df.corr('pearson')
            method, other = other, None
        if method != "pearson":
            raise NotImplementedError(f"corr(method={method!r}) is not supported; only 'pearson' is")
        return self._co(other, True, min_periods, 1, numeric_only, split_every)

    def _co(self, other: Any, corr: bool, min_periods: Any, ddof: int, numeric_only: bool, split_every: Any):
        from shoal.dataframe.moments import cov_corr

        if self.ndim == 2:
            return cov_corr(self, corr=corr, min_periods=min_periods, ddof=ddof, numeric_only=numeric_only,
                            split_every=split_every)
        if other is None:
            raise TypeError(f"Series.{'corr' if corr else 'cov'}() missing 1 required positional argument: 'other'")
        pair = map_partitions(M.concat_axis1, self.rename("__a"), other.rename("__b"), token="pair")
        return cov_corr(pair, corr=corr, min_periods=min_periods, ddof=ddof, split_every=split_every, scalar=True)

    def describe(self, percentiles: Any = None, include: Any = None, exclude: Any = None):
        """Summary statistics in pandas' layout, lazily; percentiles approximate (see ``quantile``)."""
        from shoal.dataframe.describe import describe

        return describe(self, percentiles=percentiles, include=include, exclude=exclude)

    def drop_duplicates(self, subset: Any = None, keep: Any = "first", split_every: Any = None, ignore_index: bool = False,
                        split_out: Any = None, shuffle_method: Any = None):
        """Rows with duplicates removed; ``keep`` (``"first"``, ``"last"``, False) as pandas.

        Without ``split_out`` a tree of per-partition ``drop_duplicates`` gathers the distinct
        rows into one partition, in pandas' order.  ``split_out=k`` (True: as many as the
        input has) hash-shuffles the rows by ``subset`` (by default the whole row; a Series'
        values) into ``k`` partitions with ``shuffle_method`` (``"tasks"``, ``"disk"``, None
        for config ``dataframe.shuffle.method``), so the distinct rows never meet in one
        place; their order across partitions then differs from pandas'.  ``keep=False``
        without ``split_out`` shuffles into one partition.  ``ignore_index`` numbers the rows
        0..n-1.
        """
        from shoal.dataframe import reductions as R
        from shoal.dataframe.dedup import drop_duplicates_shuffled, subset_list

        if keep not in ("first", "last", False):
            raise ValueError(f"keep must be either 'first', 'last' or False, not {keep!r}")
        subset = subset_list(self._meta, subset)
        if subset is not None:
            self._meta.drop_duplicates(subset=subset)  # missing columns raise pandas' KeyError now
        k = self.npartitions if split_out is True else int(split_out or 1)
        if k > 1 or keep is False:
            out = drop_duplicates_shuffled(self, subset, keep, k, shuffle_method)
        else:
            out = R.drop_duplicates(self, subset=subset, keep=keep, split_every=split_every)
        if ignore_index:
            from shoal.dataframe.multi import _renumber

            out = _renumber(out)
        return out


def _make_op(opname: str, reflect: bool = False) -> Callable:
    op = M.OPS[opname]

    def method(self: Any, other: Any) -> Any:
        return self._binop(other, op, reflect=reflect)

    method.__name__ = f"__{'r' if reflect else ''}{opname}__"
    method.__doc__ = f"``{opname}`` element-wise, partition by partition (partitions aligned first)."
    return method


def _make_named_op(opname: str) -> Callable:
    op = M.OPS[opname]

    def method(self: Any, other: Any, fill_value: Any = None, **kwargs: Any) -> Any:
        if fill_value is None and not kwargs:
            return self._binop(other, op)
        return map_partitions(M.call_method, self, opname, other, fill_value=fill_value, token=opname, **kwargs)

    method.__name__ = opname
    method.__doc__ = (f"``{opname}`` element-wise with ``fill_value`` and pandas' other keywords, "
                      "partition by partition (partitions aligned first).")
    return method


for _o in ("add", "sub", "mul", "truediv", "floordiv", "mod", "pow", "and", "or", "xor", "eq", "ne", "lt", "le", "gt", "ge"):
    setattr(_Frame, f"__{_o}__", _make_op(_o))
    if _o not in ("eq", "ne", "lt", "le", "gt", "ge"):
        setattr(_Frame, f"__r{_o}__", _make_op(_o, reflect=True))
        setattr(Scalar, f"__r{_o}__", (lambda o: lambda self, other: self._binop(other, M.OPS[o], reflect=True))(_o))
    setattr(Scalar, f"__{_o}__", (lambda o: lambda self, other: self._binop(other, M.OPS[o]))(_o))
    if _o not in ("and", "or", "xor"):
        setattr(_Frame, _o, _make_named_op(_o))
_Frame.div = _Frame.truediv  # type: ignore[attr-defined]
_Frame.__neg__ = lambda self: self._elementwise("__neg__")  # type: ignore[attr-defined]
_Frame.__invert__ = lambda self: self._elementwise("__invert__")  # type: ignore[attr-defined]
_Frame.__abs__ = lambda self: self._elementwise("abs")  # type: ignore[attr-defined]


def _binop_array(frame: "_Frame", arr: Any, op: Callable, reflect: bool) -> "_Frame":
    """``frame op array`` where row block ``i`` of the array holds the rows of partition ``i``."""
    if arr.ndim > 2 or len(arr.chunks[0]) != frame.npartitions:
        raise ValueError(f"an array with {len(arr.chunks[0])} row blocks cannot meet {frame.npartitions} partitions "
                         "row for row; rechunk it to the partitions (e.g. x.rechunk(lengths)) or compute it")
    if arr.ndim == 2 and len(arr.chunks[1]) > 1:
        arr = arr.rechunk({1: arr.shape[1]})
    keys = arr.__shoal_keys__()
    keys = [k if arr.ndim == 1 else k[0] for k in keys]
    f = M.rbinop if reflect else M.binop
    name = f"{op.__name__.strip('_')}-array-{tokenize(frame, arr, op, reflect)}"
    layer = {(name, i): Task(f, op, Ref((frame._name, i)), Ref(keys[i])) for i in range(frame.npartitions)}
    sample = np.ones((2,) + tuple(arr.shape[1:]), dtype=arr.dtype) if arr.ndim == 2 else np.ones(2, dtype=arr.dtype)
    meta = make_meta(f(op, frame._meta_nonempty, sample))
    graph = LayeredGraph.from_collections(name, layer, [frame, arr])
    return new_collection(graph, name, meta, frame.divisions)


def _first_partition(frame: "_Frame") -> "_Frame":
    """A collection of just the first partition of ``frame`` (keeping its outer divisions)."""
    name = f"first-{frame._name}"
    layer = {(name, 0): Ref((frame._name, 0))}
    return new_collection(LayeredGraph.from_collections(name, layer, [frame]), name, frame._meta,
                          [frame.divisions[0], frame.divisions[-1]])


def _split_out(result: Any, split_out: int | None) -> Any:
    """A one-partition result spread over ``split_out`` partitions (the values are unchanged)."""
    if split_out is None or split_out is True or int(split_out) <= 1 or not isinstance(result, _Frame):
        return result
    return result.repartition(npartitions=int(split_out)).clear_divisions()


def _plain(d: Any) -> Any:
    """A division as a plain Python or pandas scalar (numpy scalars print and hash oddly)."""
    if isinstance(d, np.generic):
        if isinstance(d, np.datetime64):
            return pd.Timestamp(d)
        if isinstance(d, np.timedelta64):
            return pd.Timedelta(d)
        return d.item()
    return d


def _check_condition(cond: Any, method: str) -> None:
    """A list or array condition has no labels to split it by partition: refuse it rather than misapply it."""
    if isinstance(cond, (list, tuple, np.ndarray)) or (hasattr(cond, "chunks") and hasattr(cond, "ndim")):
        raise ValueError(f"{method}(cond=...) takes a shoal or pandas object (or a callable), not a "
                         f"{type(cond).__name__}: its rows cannot be matched to partitions; wrap it with "
                         "ddf.from_pandas(pd.DataFrame(cond, index=...)) first")


def _whole(frame: "_Frame") -> Scalar:
    """A collection as one lazy value (its partitions concatenated), to broadcast to every partition."""
    if frame.npartitions > 1:
        frame = frame.repartition(npartitions=1)
    return Scalar(frame.dask, (frame._name, 0), frame._meta)


def _sum_list(parts: list) -> Any:
    return sum(parts)


# imported at the end: the classes below need _Frame
from shoal.dataframe.frame import DataFrame, Index, Series  # noqa: E402
from shoal.dataframe.mapping import map_partitions  # noqa: E402
