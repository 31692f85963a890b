"""``groupby``: lazy pandas groupby over partitions.

Keys are resolved once (``groupby_keys``): column labels, shoal Series,
index levels, callables and ``pd.Grouper``.  Every method then takes one of
three routes:

* aggregations that merge per-group partials (``sum mean var ... nunique``,
  ``agg`` of those, custom ``Aggregation``) run as a tree
  (``groupby_agg``);
* operations that need a whole group (``apply transform shift median idxmin
  cov corr value_counts``...) shuffle groups together first
  (``groupby_apply``);
* running operations (``cumsum cumcount ffill head``...) scan partitions in
  order, so rows keep their place.

Before building anything, pandas itself runs the same request on a two-row
stand-in of the data: what it refuses raises the same error here, and the
columns it keeps (``numeric_only``) are the ones computed.
"""
from __future__ import annotations

import warnings
from typing import Any

import pandas as pd

from shoal.dataframe import core
from shoal.dataframe.groupby_agg import PARTIALS, Plan, groupby_chunk, groupby_finalize, tree
from shoal.dataframe.groupby_apply import SCANS, run_method, scan, with_key_columns
from shoal.dataframe.groupby_keys import excluded_columns, key_arrays, key_names, resolve_keys
from shoal.dataframe.groupby_split import (keep_level_dtypes, partials_shuffle_ok, resolve_split_out,
                                          shuffle_tree, with_unobserved)
from shoal.dataframe.utils import meta_nonempty

__all__ = ["DataFrameGroupBy", "SeriesGroupBy", "Aggregation"]

# methods that need every row of a group in one place
_SHUFFLE_AGGS = ("median", "idxmin", "idxmax", "cov", "corr", "value_counts", "quantile", "skew", "describe")
_OPTION_NAMES = ("numeric_only", "min_count", "ddof", "skipna")


class Aggregation:
    """A custom groupby aggregation in three steps.

    ``chunk(grouped)`` runs on each partition's ``SeriesGroupBy`` and returns a
    Series (or a tuple of them) indexed by group; ``agg(*grouped)`` runs on the
    ``SeriesGroupBy`` of those pieces concatenated and returns the same;
    ``finalize(*series)`` (optional) makes the answer.  Use it in ``agg``:
    ``df.groupby('k').agg(Aggregation('mysum', lambda s: s.sum(), lambda s0: s0.sum()))``.
    """

    def __init__(self, name: str, chunk: Any, agg: Any, finalize: Any = None):
        self.__name__ = name
        self.name = name
        self.chunk = chunk
        self.agg = agg
        self.finalize = finalize

    def __shoal_tokenize__(self) -> Any:
        from shoal.core.tokenize import tokenize

        return ("aggregation", self.name, tokenize(self.chunk, self.agg, self.finalize))


def _fname(f: Any, custom: dict) -> str:
    if isinstance(f, Aggregation):
        custom[f.name] = f
        return f.name
    if isinstance(f, str):
        return f
    name = getattr(f, "__name__", None)
    aliases = {"amax": "max", "amin": "min", "nanmax": "max", "nanmin": "min", "nansum": "sum", "nanmean": "mean",
               "len": "size", "nanmedian": "median", "nanstd": "std", "nanvar": "var", "nanprod": "prod",
               "median": "median"}
    if name in PARTIALS:
        return name
    if name in aliases:
        return aliases[name]
    raise ValueError(f"groupby aggregation {f!r} is not supported; pass a name such as 'sum' or 'mean', "
                     "an Aggregation, or use groupby(...).apply(func)")


def _normalise_funcs(arg: Any, named: dict, selection: Any, columns: list, is_series: bool,
                     custom: dict, all_columns: Any = None) -> tuple[list, str]:
    """(outputs, shape) for an aggregation request."""
    if named:
        outs = []
        for label, spec in named.items():
            if is_series:
                col, func = selection, spec
            elif isinstance(spec, tuple):
                col, func = spec
            else:
                col, func = spec.column, spec.aggfunc
            outs.append((label, col, _fname(func, custom)))
        return outs, "frame"
    if isinstance(arg, dict):
        if is_series:
            raise NotImplementedError("nested renamer is not supported")
        any_list = any(isinstance(v, (list, tuple)) for v in arg.values())
        outs = []
        for col, funcs in arg.items():
            if col not in (columns if all_columns is None else all_columns):
                raise KeyError(f"Column(s) [{col!r}] do not exist")
            for f in funcs if isinstance(funcs, (list, tuple)) else [funcs]:
                fn = _fname(f, custom)
                outs.append(((col, fn) if any_list else col, col, fn))
        return outs, "multi" if any_list else "frame"
    if isinstance(arg, (list, tuple)):
        if is_series:
            return [(_fname(f, custom), selection, _fname(f, custom)) for f in arg], "frame"
        return [((c, _fname(f, custom)), c, _fname(f, custom)) for c in columns for f in arg], "multi"
    f = _fname(arg, custom)
    if is_series:
        return [(selection, selection, f)], "series"
    if f == "size":
        return [(None, None, "size")], "series"
    return [(c, c, f) for c in columns], "frame"


class _GroupByBase:
    def __init__(self, obj: Any, by: Any = None, sort: bool = True, dropna: bool = True, selection: Any = None,
                 group_keys: bool = True, observed: bool = True, level: Any = None, **kwargs: Any):
        as_index = kwargs.pop("as_index", True)
        if not as_index:
            raise TypeError("groupby(as_index=False) is not supported; call .reset_index() on the result")
        if kwargs:
            raise TypeError(f"groupby() got unexpected keyword arguments {sorted(kwargs)}")
        self.obj = obj
        self.sort = sort
        self.dropna = dropna
        self.group_keys = group_keys
        self.observed = observed
        self._by_arg, self._level = by, level
        self._specs, self._extra, self._is_list = resolve_keys(obj, by, level)
        self._selection = selection
        self._names = key_names(self._specs, obj._meta, [e._meta for e in self._extra])

    @property
    def by(self) -> list:
        """The group keys as names (column labels, Series names, levels)."""
        return list(self._names)

    # -- helpers ---------------------------------------------------------------------
    def _child(self, cls: type, selection: Any) -> Any:
        out = cls.__new__(cls)
        out.__dict__.update(self.__dict__)
        out._selection = selection
        return out

    def _columns(self) -> list:
        if isinstance(self.obj._meta, pd.Series):
            return [self.obj._meta.name]
        if self._selection is not None:
            return self._selection if isinstance(self._selection, list) else [self._selection]
        excl = excluded_columns(self._specs)
        return [c for c in self.obj._meta.columns if c not in excl]

    def _is_series_selection(self) -> bool:
        if isinstance(self.obj._meta, pd.Series):
            return True
        return self._selection is not None and not isinstance(self._selection, list)

    def _standins(self) -> tuple:
        mn = meta_nonempty(self.obj._meta)
        extra = []
        for e in self._extra:
            s = meta_nonempty(e._meta)
            s.index = mn.index
            extra.append(s)
        return mn, tuple(extra)

    def _pandas(self, df: Any, extra: tuple, observed: Any = None) -> Any:
        keys = key_arrays(df, self._specs, extra)
        by = keys if self._is_list else keys[0]
        g = df.groupby(by, sort=self.sort, dropna=self.dropna, group_keys=self.group_keys,
                       observed=self.observed if observed is None else observed)
        if self._selection is not None:
            g = g[self._selection]
        return g

    def _standin_groupby(self) -> Any:
        mn, extra = self._standins()
        return self._pandas(mn, extra)

    def _fill(self) -> Any:
        if any(sp[0] == "grouper" for sp in self._specs):
            if len(self._specs) > 1:
                raise NotImplementedError("pd.Grouper(freq=...) together with other keys is not supported; "
                                          "group by a column of floored timestamps instead")
            return ("bins", self._specs[0][1].freq)
        if self.observed:
            return None
        cats = []
        for sp in self._specs:
            dt = None
            if sp[0] == "col":
                dt = self.obj._meta[sp[1]].dtype if self.obj.ndim == 2 else None
            elif sp[0] == "ser":
                dt = self._extra[sp[1]]._meta.dtype
            elif sp[0] == "level":
                dt = self.obj._meta.index.get_level_values(sp[1]).dtype
            cats.append(list(dt.categories) if isinstance(dt, pd.CategoricalDtype) else None)
        return ("categories", cats) if any(c is not None for c in cats) else None

    def _spec(self) -> dict:
        series = None
        if isinstance(self.obj._meta, pd.Series):
            series = self.obj._meta.name if self.obj._meta.name is not None else "__series"
        return {"specs": self._specs, "names": self._names, "is_list": self._is_list, "sort": self.sort,
                "dropna": self.dropna, "observed": self.observed, "group_keys": self.group_keys,
                "selection": self._selection, "series": series,
                "exclude": excluded_columns(self._specs) if series is None else []}

    # -- aggregation -------------------------------------------------------------------
    def _aggregate(self, arg: Any = None, split_every: Any = None, split_out: Any = None,
                   shuffle_method: Any = None, options: dict | None = None, **named: Any) -> Any:
        options = {k: v for k, v in (options or {}).items() if v is not None}
        is_series = self._is_series_selection()
        selection = self._selection if self._selection is not None else (
            self.obj._meta.name if isinstance(self.obj._meta, pd.Series) else None)
        columns = self._columns()
        pg = self._standin_groupby()
        custom: dict = {}
        col_index = None
        has_custom = _contains_aggregation(arg) or any(_contains_aggregation(v) for v in named.values())
        if not has_custom:
            # pandas decides validity and, with numeric_only, which columns
            try:
                pm = getattr(pg, arg)(**options) if isinstance(arg, str) and not named else pg.agg(arg, **named)
            except (AttributeError, ValueError) as e:
                if isinstance(arg, str) and not named and not hasattr(pg, arg):
                    raise AttributeError(f"'{type(self).__name__}' object has no attribute {arg!r}: not a groupby "
                                         "aggregation; for your own function use groupby(...).apply(func) "
                                         "or an Aggregation") from e
                raise
            if isinstance(arg, str) and not named and isinstance(pm, pd.DataFrame) and not is_series \
                    and arg != "size":
                columns = list(pm.columns)
                col_index = pm.columns
        all_columns = list(self.obj._meta.columns) if self.obj.ndim == 2 and self._selection is None else None
        outputs, shape = _normalise_funcs(arg, named, selection, columns, is_series, custom, all_columns)
        if any(f not in PARTIALS and f not in custom for _, _, f in outputs):
            return self._shuffle_agg("agg", (arg,), named, split_out, shuffle_method)
        series_name = outputs[0][0] if shape == "series" else None
        if shape == "series" and outputs[0][2] == "size":
            series_name = selection if is_series else None
        plan = Plan(self._specs, outputs, shape, self.sort, self.dropna, series_name, options,
                    fill=self._fill(), custom=custom, columns=col_index)
        mn, extra = self._standins()
        chunk = groupby_chunk(mn, plan, *extra)
        meta = groupby_finalize([chunk], plan).iloc[:0]
        k = resolve_split_out(split_out, self.obj.npartitions, len(self._specs))
        if k > 1:  # the groups spread over k partitions by a shuffle, never all in one
            if partials_shuffle_ok(plan, chunk[0]):
                return shuffle_tree([self.obj] + list(self._extra), plan, meta, chunk[0].iloc[:0], k,
                                    shuffle_method)
            if not plan.customs and plan.fill is None:
                if isinstance(arg, str) and not named:
                    return self._shuffle_agg(arg, (), options, k, shuffle_method)
                return self._shuffle_agg("agg", (arg,), named, k, shuffle_method)
        return tree([self.obj] + list(self._extra), plan, meta, split_every or 8, k)

    def agg(self, arg: Any = None, split_every: Any = None, split_out: Any = None, shuffle_method: Any = None,
            shuffle_backend: Any = None, **named: Any) -> Any:
        """Aggregate: a name, a list of names, a dict ``{column: name(s)}``, named aggregation
        ``agg(total=('col', 'sum'))``, or an ``Aggregation``.  ``split_out=k`` spreads the result
        over ``k`` partitions (each one sorted when ``sort=True``)."""
        return self._aggregate(arg, split_every=split_every, split_out=split_out,
                               shuffle_method=shuffle_method or shuffle_backend, **named)

    aggregate = agg

    def _simple(self, how: str, split_every: Any, split_out: Any, shuffle_method: Any, **options: Any) -> Any:
        return self._aggregate(how, split_every=split_every, split_out=split_out, shuffle_method=shuffle_method,
                               options=options)

    def sum(self, numeric_only: bool = False, min_count: int = 0, skipna: bool = True, split_every: Any = None,
            split_out: Any = None, shuffle_method: Any = None):
        """Sum per group (``min_count``: fewer non-missing values give NaN)."""
        return self._simple("sum", split_every, split_out, shuffle_method, numeric_only=numeric_only,
                            min_count=min_count, skipna=skipna)

    def prod(self, numeric_only: bool = False, min_count: int = 0, skipna: bool = True, split_every: Any = None,
             split_out: Any = None, shuffle_method: Any = None):
        """Product per group."""
        return self._simple("prod", split_every, split_out, shuffle_method, numeric_only=numeric_only,
                            min_count=min_count, skipna=skipna)

    def mean(self, numeric_only: bool = False, skipna: bool = True, split_every: Any = None, split_out: Any = None,
             shuffle_method: Any = None):
        """Mean per group."""
        return self._simple("mean", split_every, split_out, shuffle_method, numeric_only=numeric_only,
                            skipna=skipna)

    def min(self, numeric_only: bool = False, skipna: bool = True, split_every: Any = None, split_out: Any = None,
            shuffle_method: Any = None):
        """Smallest value per group."""
        return self._simple("min", split_every, split_out, shuffle_method, numeric_only=numeric_only,
                            skipna=skipna)

    def max(self, numeric_only: bool = False, skipna: bool = True, split_every: Any = None, split_out: Any = None,
            shuffle_method: Any = None):
        """Largest value per group."""
        return self._simple("max", split_every, split_out, shuffle_method, numeric_only=numeric_only,
                            skipna=skipna)

    def first(self, numeric_only: bool = False, skipna: bool = True, split_every: Any = None,
              split_out: Any = None, shuffle_method: Any = None):
        """First non-missing value per group (partition order)."""
        return self._simple("first", split_every, split_out, shuffle_method, numeric_only=numeric_only,
                            skipna=skipna)

    def last(self, numeric_only: bool = False, skipna: bool = True, split_every: Any = None,
             split_out: Any = None, shuffle_method: Any = None):
        """Last non-missing value per group (partition order)."""
        return self._simple("last", split_every, split_out, shuffle_method, numeric_only=numeric_only,
                            skipna=skipna)

    def count(self, split_every: Any = None, split_out: Any = None, shuffle_method: Any = None):
        """Non-missing values per group."""
        return self._simple("count", split_every, split_out, shuffle_method)

    def size(self, split_every: Any = None, split_out: Any = None, shuffle_method: Any = None):
        """Rows per group."""
        return self._simple("size", split_every, split_out, shuffle_method)

    def nunique(self, dropna: bool = True, split_every: Any = None, split_out: Any = None,
                shuffle_method: Any = None):
        """Distinct values per group."""
        if not dropna:
            return self._shuffle_agg("nunique", (), {"dropna": False}, split_out, shuffle_method)
        return self._simple("nunique", split_every, split_out, shuffle_method)

    def var(self, ddof: int = 1, numeric_only: bool = False, skipna: bool = True, split_every: Any = None,
            split_out: Any = None, shuffle_method: Any = None):
        """Variance per group (merged central moments), ``ddof`` as pandas."""
        return self._simple("var", split_every, split_out, shuffle_method, ddof=ddof, numeric_only=numeric_only,
                            skipna=skipna)

    def std(self, ddof: int = 1, numeric_only: bool = False, skipna: bool = True, split_every: Any = None,
            split_out: Any = None, shuffle_method: Any = None):
        """Standard deviation per group."""
        return self._simple("std", split_every, split_out, shuffle_method, ddof=ddof, numeric_only=numeric_only,
                            skipna=skipna)

    def sem(self, ddof: int = 1, numeric_only: bool = False, skipna: bool = True, split_every: Any = None,
            split_out: Any = None, shuffle_method: Any = None):
        """Standard error of the mean per group."""
        return self._simple("sem", split_every, split_out, shuffle_method, ddof=ddof, numeric_only=numeric_only,
                            skipna=skipna)

    def any(self, skipna: bool = True, split_every: Any = None, split_out: Any = None):
        """Whether any value per group is true."""
        return self._simple("any", split_every, split_out, None, skipna=skipna)

    def all(self, skipna: bool = True, split_every: Any = None, split_out: Any = None):
        """Whether every value per group is true."""
        return self._simple("all", split_every, split_out, None, skipna=skipna)

    # -- whole-group operations (shuffle) -------------------------------------------------
    def _shuffled(self, shuffle_method: Any = None, npartitions: Any = None) -> Any:
        from shoal.dataframe.shuffle import shuffle

        if any(sp[0] == "grouper" for sp in self._specs):
            raise NotImplementedError("this operation with pd.Grouper(freq=...) is not supported; "
                                      "group by a column of floored timestamps instead")
        frame = self.obj
        if isinstance(frame._meta, pd.Series):
            name = frame._meta.name if frame._meta.name is not None else "__series"
            frame = frame.to_frame(name=name)
        if any(sp[0] != "col" for sp in self._specs):
            frame = frame.map_partitions(with_key_columns, self._specs, *self._extra, token="groupby-keys")
        on = [sp[1] if sp[0] == "col" else f"__gbk{i}" for i, sp in enumerate(self._specs)]
        if isinstance(shuffle_method, bool):  # Dask's shuffle_method=True/False: the configured method
            shuffle_method = None
        return shuffle(frame, on, npartitions=npartitions, method=shuffle_method)

    def _shuffle_agg(self, method: str, args: tuple, kwargs: dict, split_out: Any = None,
                     shuffle_method: Any = None) -> Any:
        pg = self._standin_groupby()
        meta = getattr(pg, method)(*args, **kwargs).iloc[:0]
        split_out = resolve_split_out(split_out, self.obj.npartitions, len(self._specs))
        shuffled = self._shuffled(shuffle_method, npartitions=split_out if split_out > 1 else None)
        name = meta.name if isinstance(meta, pd.Series) else None
        spec = self._spec()
        fill = self._fill()
        if fill is not None and shuffled.npartitions > 1:
            # every partition would add every unobserved group: each adds only those its hash owns
            if not all(c is not None for c in fill[1]):
                raise NotImplementedError(
                    f"groupby(..., observed=False).{method}() over several partitions needs every key to be "
                    "categorical; use observed=True, or make the other keys categorical (astype('category'))")
            res = with_unobserved(shuffled, spec, method, args, kwargs, name, meta)
        else:
            res = shuffled.map_partitions(run_method, spec, method, args, kwargs, name, True, meta, meta=meta,
                                          token=f"groupby-{method}")
        if split_out > 1:
            return res
        return res._reduction(_identity_chunk, _gather_sorted, meta=meta, token=f"groupby-{method}-gather",
                              aggregate_kwargs={"nkeys": len(self._specs), "sort": self.sort})

    def median(self, numeric_only: bool = False, split_every: Any = None, split_out: Any = None,
               shuffle_method: Any = None):
        """Exact median per group (groups gathered with a shuffle)."""
        return self._shuffle_agg("median", (), {"numeric_only": numeric_only}, split_out, shuffle_method)

    def idxmin(self, skipna: bool = True, numeric_only: bool = False, split_every: Any = None,
               split_out: Any = None, shuffle_method: Any = None):
        """Index label of the smallest value per group."""
        kw = {"skipna": skipna, "numeric_only": numeric_only} if not self._is_series_selection() else {"skipna": skipna}
        return self._shuffle_agg("idxmin", (), kw, split_out, shuffle_method)

    def idxmax(self, skipna: bool = True, numeric_only: bool = False, split_every: Any = None,
               split_out: Any = None, shuffle_method: Any = None):
        """Index label of the largest value per group."""
        kw = {"skipna": skipna, "numeric_only": numeric_only} if not self._is_series_selection() else {"skipna": skipna}
        return self._shuffle_agg("idxmax", (), kw, split_out, shuffle_method)

    def cov(self, ddof: int = 1, numeric_only: bool = False, split_every: Any = None, split_out: Any = None,
            shuffle_method: Any = None, **kwargs: Any):
        """Covariance matrix per group."""
        return self._shuffle_agg("cov", (), dict(ddof=ddof, numeric_only=numeric_only, **kwargs), split_out,
                                 shuffle_method)

    def corr(self, method: str = "pearson", numeric_only: bool = False, split_every: Any = None,
             split_out: Any = None, shuffle_method: Any = None, **kwargs: Any):
        """Correlation matrix per group."""
        return self._shuffle_agg("corr", (), dict(method=method, numeric_only=numeric_only, **kwargs), split_out,
                                 shuffle_method)

    def apply(self, func: Any, *args: Any, meta: Any = core.no_default, shuffle_method: Any = None,
              **kwargs: Any) -> Any:
        """``func`` on each group (groups moved into one partition each by a hash shuffle).

        Without ``meta`` the result's type is inferred by running ``func`` on a
        stand-in, with a warning; pass ``meta`` to be sure."""
        return self._rows("apply", func, args, kwargs, meta, shuffle_method)

    def transform(self, func: Any, *args: Any, meta: Any = core.no_default, shuffle_method: Any = None,
                  **kwargs: Any) -> Any:
        """``transform`` per group after a hash shuffle (rows come back grouped, index kept)."""
        return self._rows("transform", func, args, kwargs, meta, shuffle_method)

    def shift(self, periods: int = 1, freq: Any = None, fill_value: Any = None, meta: Any = core.no_default,
              shuffle_method: Any = None) -> Any:
        """Shift within each group (after a hash shuffle; index kept, row order grouped)."""
        kw: dict = {"periods": periods}
        if freq is not None:
            kw["freq"] = freq
        if fill_value is not None:
            kw["fill_value"] = fill_value
        return self._rows("shift", None, (), kw, meta, shuffle_method)

    def _rows(self, method: str, func: Any, args: tuple, kwargs: dict, meta: Any, shuffle_method: Any) -> Any:
        from shoal.dataframe.utils import make_meta

        call_args = (func,) + tuple(args) if func is not None else tuple(args)
        if meta is core.no_default:
            if method in ("apply", "transform"):
                warnings.warn(
                    "`meta` is not specified, inferred from partial data. Please provide `meta` if the result is "
                    "unexpected.\n  Before: .%s(func)\n  After:  .%s(func, meta={'x': 'f8', 'y': 'f8'}) for "
                    "dataframe result\n  or:     .%s(func, meta=('x', 'f8'))            for series result"
                    % (method, method, method), UserWarning, stacklevel=3)
            meta = make_meta(getattr(self._standin_groupby(), method)(*call_args, **kwargs))
        else:
            meta = make_meta(meta)
        name = meta.name if isinstance(meta, pd.Series) else None
        shuffled = self._shuffled(shuffle_method)
        return shuffled.map_partitions(run_method, self._spec(), method, call_args, kwargs, name,
                                       isinstance(meta, pd.Series), meta, meta=meta, token=f"groupby-{method}",
                                       divisions=[None] * (shuffled.npartitions + 1))

    def get_group(self, key: Any) -> Any:
        """The rows of one group (lazy; a partition without it contributes nothing)."""
        mn, extra = self._standins()
        meta = self.obj._meta
        if self._selection is not None:
            meta = meta[self._selection]
        return self.obj.map_partitions(_get_group, self._spec(), key, meta, *self._extra, meta=meta,
                                       token="groupby-get-group")

    # -- running operations (scan) ----------------------------------------------------------
    def _scan(self, method: str, **kwargs: Any) -> Any:
        from shoal.dataframe.utils import make_meta

        pg = self._standin_groupby()
        meta = make_meta(getattr(pg, method)(**kwargs))
        if method in ("head", "tail"):
            meta = self.obj._meta if self._selection is None else self.obj._meta[self._selection]
        return scan(self, method, meta, **kwargs)

    def cumsum(self, axis: Any = None, numeric_only: bool = False):
        """Running sum within each group (rows stay in place)."""
        return self._scan("cumsum")

    def cumprod(self, axis: Any = None, numeric_only: bool = False):
        """Running product within each group."""
        return self._scan("cumprod")

    def cummin(self, axis: Any = None, numeric_only: bool = False):
        """Running minimum within each group."""
        return self._scan("cummin")

    def cummax(self, axis: Any = None, numeric_only: bool = False):
        """Running maximum within each group."""
        return self._scan("cummax")

    def cumcount(self, ascending: bool = True):
        """Position of each row within its group (0-based)."""
        if not ascending:
            raise NotImplementedError("cumcount(ascending=False) is not supported; use size() - 1 - cumcount()")
        return self._scan("cumcount")

    def ffill(self, limit: Any = None):
        """Forward-fill missing values within each group."""
        if limit is not None:  # runs of missing values counted per group: whole groups needed
            return self._rows("ffill", None, (), {"limit": limit}, core.no_default, None)
        return self._scan("ffill")

    def bfill(self, limit: Any = None):
        """Back-fill missing values within each group."""
        if limit is not None:  # runs of missing values counted per group: whole groups needed
            return self._rows("bfill", None, (), {"limit": limit}, core.no_default, None)
        return self._scan("bfill")

    def head(self, n: int = 5):
        """First ``n`` rows of each group, in their original order."""
        return self._scan("head", n=n)

    def tail(self, n: int = 5):
        """Last ``n`` rows of each group, in their original order."""
        return self._scan("tail", n=n)

    def compute(self, **kwargs: Any) -> Any:
        raise NotImplementedError(f"a {type(self).__name__} is not a result: aggregate it first "
                                  "(e.g. .sum().compute()) or pick one group with .get_group(key)")

    def __iter__(self):
        raise NotImplementedError("iterating over a lazy groupby is not supported; compute the frame first, or "
                                  "use get_group(key) for one group")


def _contains_aggregation(x: Any) -> bool:
    if isinstance(x, Aggregation):
        return True
    if isinstance(x, dict):
        return any(_contains_aggregation(v) for v in x.values())
    if isinstance(x, (list, tuple)):
        return any(_contains_aggregation(v) for v in x)
    return False


def _identity_chunk(x: Any) -> Any:
    return x


def _gather_sorted(parts: list, nkeys: int = 1, sort: bool = True) -> Any:
    nonempty = [p for p in parts if len(p)] or parts[:1]
    out = pd.concat(nonempty) if len(nonempty) > 1 else nonempty[0]
    out = keep_level_dtypes(out, nonempty[0])
    if sort:
        levels = list(range(min(nkeys, out.index.nlevels)))
        out = out.sort_index(level=levels if out.index.nlevels > 1 else None, sort_remaining=False, kind="stable")
    return out


def _get_group(df: Any, spec: dict, key: Any, meta: Any, *extra: Any) -> Any:
    keys = key_arrays(df, spec["specs"], extra)
    by = keys if spec["is_list"] else keys[0]
    g = df.groupby(by, sort=False, dropna=spec["dropna"], observed=True)
    try:
        out = g.get_group(key)
    except KeyError:
        return meta
    if spec["selection"] is not None:
        out = out[spec["selection"]]
    return out


class DataFrameGroupBy(_GroupByBase):
    """``df.groupby(...)``: lazy; aggregations, transforms and scans as in pandas."""

    def __getitem__(self, key: Any) -> Any:
        if isinstance(key, (list, tuple)):
            key = list(key)
            missing = [k for k in key if k not in self.obj._meta.columns]
            if missing:
                raise KeyError(f"Columns not found: {', '.join(repr(m) for m in missing)} "
                               f"(the grouped frame has {list(self.obj._meta.columns)})")
            return self._child(DataFrameGroupBy, key)
        if key not in self.obj._meta.columns:
            raise KeyError(f"Column not found: {key} (the grouped frame has {list(self.obj._meta.columns)})")
        return self._child(SeriesGroupBy, key)

    def __dir__(self) -> list:
        cols = [c for c in self.obj._meta.columns if isinstance(c, str) and c.isidentifier()]
        return sorted(set(super().__dir__()) | set(cols))

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        obj = self.__dict__.get("obj")
        if obj is not None and name in obj._meta.columns:
            return self[name]
        raise AttributeError(f"'DataFrameGroupBy' object has no attribute {name!r}")


class SeriesGroupBy(_GroupByBase):
    """``s.groupby(...)`` or ``df.groupby(...)[col]``."""

    def value_counts(self, normalize: bool = False, sort: bool = True, ascending: bool = False,
                     dropna: bool = True, split_out: Any = None, shuffle_method: Any = None):
        """Counts of each value within each group (pandas' order)."""
        return self._shuffle_agg("value_counts", (), {"normalize": normalize, "sort": sort, "ascending": ascending,
                                                      "dropna": dropna}, split_out, shuffle_method)

    def unique(self, split_out: Any = None, shuffle_method: Any = None):
        """Distinct values of each group (arrays)."""
        return self._shuffle_agg("unique", (), {}, split_out, shuffle_method)
