"""The user-facing classes: ``DataFrame``, ``Series`` and ``Index``.

Shared machinery (graph, divisions, reductions, arithmetic) is in
``core._Frame``; this module adds what differs: column access, filtering,
``assign``/``rename``/``drop``, ``query``/``eval``, ``groupby``, ``merge``,
``set_index``/``sort_values``, accessors and the column rules the
projection pass uses (see ``shoal.dataframe.optimize``).
"""
from __future__ import annotations

from typing import Any, Callable

import numpy as np
import pandas as pd

from shoal.core.task import Ref
from shoal.dataframe import methods as M
from shoal.dataframe.api import DataFrameMethods, SeriesMethods, unsupported
from shoal.dataframe.core import _Frame, no_default
from shoal.dataframe.mapping import map_partitions as map_partitions_
from shoal.dataframe.optimize import labels, register_columns

__all__ = ["DataFrame", "Series", "Index"]

# public pandas names: asked for on a collection that lacks them, they raise NotImplementedError
_PANDAS_FRAME_NAMES = frozenset(n for n in dir(pd.DataFrame) if not n.startswith("_"))
_PANDAS_SERIES_NAMES = frozenset(n for n in set(dir(pd.Series)) | set(dir(pd.Index)) if not n.startswith("_"))


# -- column rules --------------------------------------------------------------
@register_columns(M.getitem)
def _getitem_cols(task: Any, need: Any) -> dict:
    src, key = task.args[0], task.args[1]
    return {src.key: labels(key)} if type(src) is Ref else {}


@register_columns(M.filter_rows)
def _filter_cols(task: Any, need: Any) -> dict:
    src = task.args[0]
    return {src.key: need} if type(src) is Ref else {}


@register_columns(M.assign)
def _assign_cols(task: Any, need: Any) -> dict:
    src, names = task.args[0], task.args[1]
    if type(src) is not Ref or need is None:
        return {}
    return {src.key: frozenset(need) - frozenset(names)}


@register_columns(M.size)
def _size_cols(task: Any, need: Any) -> dict:
    src = task.args[0]
    return {src.key: frozenset()} if type(src) is Ref else {}


@register_columns(M.head)
def _head_cols(task: Any, need: Any) -> dict:
    src = task.args[0]
    return {src.key: need} if type(src) is Ref else {}


class _Writers:
    """JSON, HDF5 and SQL writers of DataFrame and Series."""

    def to_json(self, url_path: Any, **kwargs: Any) -> Any:
        """Write JSON files, one per partition: see ``shoal.dataframe.to_json``."""
        from shoal.dataframe.io.json import to_json

        return to_json(self, url_path, **kwargs)

    def to_hdf(self, path: Any, key: str, **kwargs: Any) -> Any:
        """Write to HDF5 (PyTables): see ``shoal.dataframe.to_hdf``."""
        from shoal.dataframe.io.hdf import to_hdf

        return to_hdf(self, path, key, **kwargs)

    def to_sql(self, name: str, uri: str, **kwargs: Any) -> Any:
        """Write into a database table (SQLAlchemy URI): see ``shoal.dataframe.to_sql``."""
        from shoal.dataframe.io.sql import to_sql

        return to_sql(self, name, uri, **kwargs)


class DataFrame(_Writers, DataFrameMethods, _Frame):
    """A lazy pandas DataFrame split into partitions along the index."""

    def __repr__(self) -> str:
        from shoal.dataframe.display import frame_repr

        return frame_repr(self, "DataFrame")

    def _repr_html_(self) -> str:
        from shoal.dataframe.display import frame_repr_html

        return frame_repr_html(self)

    # -- structure -----------------------------------------------------------------
    @property
    def columns(self) -> pd.Index:
        """The column labels (from the meta; no compute)."""
        return self._meta.columns

    @columns.setter
    def columns(self, value: Any) -> None:
        """Rename the columns (per partition) to ``value``."""
        renamed = self.rename(columns=dict(zip(self._meta.columns, value)))
        self.dask, self._name, self._meta = renamed.dask, renamed._name, renamed._meta

    @property
    def dtypes(self) -> pd.Series:
        """The column dtypes (from the meta; no compute)."""
        return self._meta.dtypes

    @property
    def empty(self) -> bool:
        """Not available lazily (raises NotImplementedError): use ``len(df) == 0``."""
        from shoal.dataframe.api import UnsupportedAttributeError

        raise UnsupportedAttributeError("df.empty needs a compute: use `len(df) == 0`")

    def __dir__(self):
        return list(super().__dir__()) + [c for c in self._meta.columns if isinstance(c, str) and c.isidentifier()]

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        meta = self.__dict__.get("_meta")
        if meta is not None and name in meta.columns:
            return self[name]
        if hasattr(type(self), name):  # a property whose getter raised: let its own error through
            return object.__getattribute__(self, name)
        if name in _PANDAS_FRAME_NAMES:
            raise unsupported("DataFrame", name)
        raise AttributeError(f"'DataFrame' object has no attribute {name!r}")

    def __getitem__(self, key: Any) -> Any:
        if isinstance(key, Series):
            return map_partitions_(M.filter_rows, self, key, token="filter", meta=self._meta)
        if isinstance(key, DataFrame):
            return self.where(key)
        if isinstance(key, slice):
            return self.loc[key]
        if isinstance(key, (pd.Index, pd.Series, np.ndarray)):
            if getattr(key, "dtype", None) == bool:
                raise NotImplementedError("a boolean numpy/pandas mask has no partitions to line up with; "
                                          "use a shoal Series mask, e.g. df[df.x > 0]")
            key = list(key)
        if isinstance(key, list):
            missing = [k for k in key if k not in self._meta.columns]
            if missing:
                raise KeyError(f"columns {missing} are not in this DataFrame; it has {list(self._meta.columns)}")
            return map_partitions_(M.getitem, self, key, token="getitem", meta=self._meta[key])
        if key in self._meta.columns:
            return map_partitions_(M.getitem, self, key, token="getitem", meta=self._meta[key])
        raise KeyError(f"column {key!r} is not in this DataFrame; it has {list(self._meta.columns)}")

    def __setitem__(self, key: Any, value: Any) -> None:
        if isinstance(key, (Series, DataFrame)):
            # df[mask] = value: rows where the mask holds take the value
            new = self.where(~key, value)
        elif isinstance(key, (list, pd.Index, np.ndarray)):
            key = list(key)
            if isinstance(value, DataFrame):
                vals = [value[k] for k in value.columns] if len(value.columns) == len(key) else [value[k] for k in key]
            else:
                vals = [value] * len(key)
            new = self._assign_now(key, vals)
        else:
            new = self._assign_now([key], [value])
        self.dask, self._name, self._meta, self.divisions = new.dask, new._name, new._meta, new.divisions

    def __delitem__(self, key: Any) -> None:
        new = self.drop(columns=key)
        self.dask, self._name, self._meta, self.divisions = new.dask, new._name, new._meta, new.divisions

    def __setattr__(self, name: str, value: Any) -> None:
        meta = self.__dict__.get("_meta")
        if name == "index" and meta is not None:
            new = map_partitions_(_set_index_values, self, value, token="set-index-values",
                                  divisions=[None] * (self.npartitions + 1))
            self.dask, self._name, self._meta, self.divisions = new.dask, new._name, new._meta, new.divisions
        elif (meta is not None and not name.startswith("_") and name in meta.columns
              and name not in self.__dict__ and name not in ("dask", "divisions") and not hasattr(type(self), name)):
            self[name] = value
        else:
            object.__setattr__(self, name, value)

    def pop(self, item: Any) -> "Series":
        """Remove column ``item`` from this frame and return it."""
        out = self[item]
        del self[item]
        return out

    def squeeze(self, axis: Any = None) -> Any:
        """A one-column DataFrame as a Series (``axis=1`` or None); rows cannot be squeezed lazily."""
        if axis in (None, 1, "columns"):
            return self[self._meta.columns[0]] if len(self._meta.columns) == 1 else self
        raise NotImplementedError(f"squeeze(axis={axis!r}) needs the row count; use axis=1 or compute first")

    def __iter__(self):
        return iter(self._meta.columns)

    # -- column operations ----------------------------------------------------------
    def assign(self, **kwargs: Any) -> "DataFrame":
        """New columns from collections, scalars or callables ``f(df)``."""
        df = self
        names, values = [], []
        for k, v in kwargs.items():
            if callable(v) and not isinstance(v, _Frame):
                v = v(df if not names else df._assign_now(names, values))
            names.append(k)
            values.append(v)
        return self._assign_now(names, values)

    def _assign_now(self, names: list, values: list) -> "DataFrame":
        values = [self._array_as_series(v, n) if hasattr(v, "chunks") and getattr(v, "ndim", 0) == 1 else v
                  for n, v in zip(names, values)]
        for v in values:
            if isinstance(v, DataFrame):
                raise TypeError("assign takes Series, scalars or callables, not a DataFrame; assign its columns one by one")
            if hasattr(v, "chunks") and getattr(v, "ndim", 1) != 1:
                raise ValueError(f"only a 1-d array can be assigned as a column, not a {v.ndim}-d one")
            if isinstance(v, (list, tuple, np.ndarray)) or (hasattr(v, "chunks") and hasattr(v, "ndim")):
                raise TypeError(f"cannot assign a {type(v).__name__}: it has no index to line its rows up with the "
                                "partitions; wrap it first, e.g. ddf.from_array(values) / ddf.from_dask_array(x, "
                                "index=df.index), or pass a pandas Series with the same index")
        return map_partitions_(M.assign, self, names, *values, token="assign")

    def _array_as_series(self, x: Any, name: Any) -> "Series":
        """A 1-d shoal Array as a Series on this frame's partitions (partition lengths are computed now)."""
        from shoal.dataframe.convert_array import _lengths, from_dask_array

        lengths = _lengths(self, True)
        if not any(c != c for c in x.chunks[0]) and sum(x.chunks[0]) != sum(lengths):
            raise ValueError(f"cannot assign an array of length {sum(x.chunks[0])} to a frame of {sum(lengths)} rows")
        x = x.rechunk((tuple(lengths),))
        return from_dask_array(x, columns=name, index=self.index)

    def rename(self, index: Any = None, columns: Any = None, sorted_index: bool = False, **kwargs: Any) -> "DataFrame":
        """Relabel columns (per partition) and/or the index (a function or dict).

        A new index makes divisions unknown unless ``sorted_index=True``
        promises the new labels are still sorted (then known divisions are
        measured again now, and an unsorted result raises ValueError).
        """
        if index is None:
            return self._elementwise("rename", columns=columns, **kwargs)
        out = self._elementwise("rename", index=index, columns=columns, **kwargs)
        if sorted_index and self.known_divisions:
            from shoal.dataframe.sorting import measured_divisions

            return measured_divisions(out)
        return out.clear_divisions()

    def drop(self, labels: Any = None, axis: int = 0, columns: Any = None, errors: str = "raise") -> "DataFrame":
        """Drop columns (``columns=`` or ``axis=1``), per partition; rows cannot be dropped by label lazily."""
        if columns is None:
            if axis not in (1, "columns"):
                raise NotImplementedError("drop only removes columns: use df.drop(columns=[...])")
            columns = labels
        return self._elementwise("drop", columns=columns, errors=errors)

    def query(self, expr: str, **kwargs: Any) -> "DataFrame":
        """``pandas.DataFrame.query`` per partition."""
        return self._elementwise("query", expr, **kwargs)

    def eval(self, expr: str, **kwargs: Any) -> Any:
        """``pandas.DataFrame.eval`` per partition (no ``inplace``)."""
        if "inplace" in kwargs:
            raise NotImplementedError("eval(inplace=True) is not supported; assign the result")
        return self._elementwise("eval", expr, **kwargs)

    def select_dtypes(self, include: Any = None, exclude: Any = None) -> "DataFrame":
        """The columns whose dtypes match ``include``/``exclude`` (from the meta)."""
        cols = list(self._meta.select_dtypes(include=include, exclude=exclude).columns)
        return self[cols]

    def nunique(self, dropna: bool = True, axis: Any = 0) -> Any:
        """Number of distinct values per column (lazy; a tree of per-partition distinct sets), or per row (``axis=1``)."""
        if axis in (1, "columns"):
            return self._elementwise("nunique", dropna=dropna, axis=1)
        from shoal.dataframe.reductions import frame_nunique

        return frame_nunique(self, dropna=dropna)

    def pipe(self, func: Callable, *args: Any, **kwargs: Any) -> Any:
        return func(self, *args, **kwargs)

    def apply(self, func: Callable, axis: int = 0, meta: Any = no_default, args: tuple = (), **kwargs: Any) -> Any:
        """``func`` on every row (``axis=1``), partition by partition.

        Pass ``meta`` (what one call returns over a partition: an empty
        frame, a dict of dtypes or a ``(name, dtype)`` tuple); without it
        ``func`` runs on a made-up two-row partition to guess, with a warning.
        """
        if axis not in (1, "columns"):
            raise NotImplementedError("DataFrame.apply works row-wise only: pass axis=1 (columns need every "
                                      "row: use a reduction or map_partitions)")
        if meta is no_default:
            meta = _guess_apply_meta(self, func, args, dict(kwargs, axis=1))
        return map_partitions_(M.call_method, self, "apply", func, axis=1, args=args, meta=meta, token="apply", **kwargs)

    # -- relational ------------------------------------------------------------------
    def groupby(self, by: Any = None, sort: bool = True, dropna: bool = True, **kwargs: Any) -> Any:
        """Group rows by keys (columns, Series, index levels); aggregations run as tree reductions or shuffles."""
        from shoal.dataframe.groupby import DataFrameGroupBy

        return DataFrameGroupBy(self, by, sort=sort, dropna=dropna, **kwargs)

    def merge(self, right: Any, how: str = "inner", on: Any = None, left_on: Any = None, right_on: Any = None,
              left_index: bool = False, right_index: bool = False, suffixes: tuple = ("_x", "_y"),
              npartitions: int | None = None, broadcast: bool | None = None, shuffle_method: str | None = None,
              **kwargs: Any) -> "DataFrame":
        """Database-style join (broadcast, aligned or hash-shuffled, whichever is cheapest); ``how`` as pandas."""
        from shoal.dataframe.multi import merge
        from shoal.dataframe.shuffle import using_method

        with using_method(shuffle_method):
            return merge(self, right, how=how, on=on, left_on=left_on, right_on=right_on, left_index=left_index,
                         right_index=right_index, suffixes=suffixes, npartitions=npartitions, broadcast=broadcast,
                         **kwargs)

    def join(self, other: Any, on: Any = None, how: str = "left", lsuffix: str = "", rsuffix: str = "",
             npartitions: int | None = None, shuffle_method: str | None = None) -> "DataFrame":
        """Join on the index (or ``on`` column of this frame against ``other``'s index); see ``merge``."""
        from shoal.dataframe.multi import merge
        from shoal.dataframe.shuffle import using_method

        if shuffle_method is not None:
            with using_method(shuffle_method):
                return self.join(other, on=on, how=how, lsuffix=lsuffix, rsuffix=rsuffix, npartitions=npartitions)
        if on is not None:
            return merge(self, other, how=how, left_on=on, right_index=True, suffixes=(lsuffix, rsuffix),
                         npartitions=npartitions)
        return merge(self, other, how=how, left_index=True, right_index=True, suffixes=(lsuffix, rsuffix),
                     npartitions=npartitions)

    def set_index(self, other: Any, drop: bool = True, sorted: bool = False, npartitions: int | None = None,
                  divisions: Any = None, shuffle_method: str | None = None) -> "DataFrame":
        """Make a column the index, sorted across partitions (boundaries from sampled quantiles, computed now; known divisions)."""
        from shoal.dataframe.shuffle import using_method
        from shoal.dataframe.sorting import set_index

        with using_method(shuffle_method):
            return set_index(self, other, drop=drop, sorted=sorted, npartitions=npartitions, divisions=divisions)

    def sort_values(self, by: Any, ascending: bool = True, npartitions: int | None = None,
                    shuffle_method: str | None = None, **kwargs: Any) -> "DataFrame":
        """Sort by column(s) across partitions (boundaries from sampled quantiles, computed now)."""
        from shoal.dataframe.shuffle import using_method
        from shoal.dataframe.sorting import sort_values

        with using_method(shuffle_method):
            return sort_values(self, by, ascending=ascending, npartitions=npartitions, **kwargs)

    def to_csv(self, path: str, **kwargs: Any) -> list:
        """Write one CSV file per partition (``'out-*.csv'``) or one file; runs now."""
        from shoal.dataframe.io.csv import to_csv

        return to_csv(self, path, **kwargs)

    def to_parquet(self, path: str, **kwargs: Any) -> Any:
        """Write a Parquet dataset, one file per partition; runs now."""
        from shoal.dataframe.io.parquet import to_parquet

        return to_parquet(self, path, **kwargs)

    def value_counts(self, *args: Any, **kwargs: Any) -> Any:
        """Counts of each distinct value (lazy; combined across partitions)."""
        raise NotImplementedError("DataFrame.value_counts is not supported; use df[col].value_counts()")

    def nlargest(self, n: int = 5, columns: Any = None, split_every: Any = None) -> "DataFrame":
        """The ``n`` rows with the largest ``columns`` (each partition's n largest, then again)."""
        if columns is None:
            raise TypeError("DataFrame.nlargest needs columns=, e.g. df.nlargest(5, 'x')")
        return self._reduction(M.call_method, _frame_nlargest_agg, meta=self._meta, token="nlargest",
                               split_every=split_every,
                               chunk_kwargs={"_method": "nlargest", "n": n, "columns": columns},
                               aggregate_kwargs={"n": n, "columns": columns})

    def items(self):
        """``(column, Series)`` pairs, lazily."""
        for c in self._meta.columns:
            yield c, self[c]


class Series(_Writers, SeriesMethods, _Frame):
    """A lazy pandas Series split into partitions along the index."""

    def __repr__(self) -> str:
        from shoal.dataframe.display import frame_repr

        return frame_repr(self, "Series")

    @property
    def name(self) -> Any:
        """The Series name (from the meta)."""
        return self._meta.name

    @name.setter
    def name(self, value: Any) -> None:
        """The Series name (from the meta)."""
        new = self.rename(value)
        self.dask, self._name, self._meta = new.dask, new._name, new._meta

    @property
    def dtype(self) -> Any:
        """The dtype (from the meta; no compute)."""
        return self._meta.dtype

    def __getitem__(self, key: Any) -> Any:
        if isinstance(key, Series):
            return map_partitions_(M.filter_rows, self, key, token="filter", meta=self._meta)
        return self.loc[key]

    def rename(self, index: Any = no_default, sorted_index: bool = False, **kwargs: Any) -> "Series":
        """A new name (a scalar), or new index labels (a function, dict or Series mapping).

        Relabelling the index makes divisions unknown unless ``sorted_index=True``
        promises the new labels are still sorted (then known divisions are
        measured again now, and an unsorted result raises ValueError).
        """
        if index is no_default:
            raise TypeError("rename needs a new name or an index mapping, e.g. s.rename('y')")
        if index is None or pd.api.types.is_scalar(index) or isinstance(index, tuple):
            return self._elementwise("rename", index, **kwargs)
        # new labels: their type shows on made-up rows, not on an empty index
        if isinstance(index, _Frame):  # a lazy mapping: every partition needs all of it
            from shoal.dataframe.core import _whole

            meta = self._meta_nonempty.rename(index._meta_nonempty, **kwargs).iloc[:0]
            index = _whole(index)
        else:
            meta = self._meta_nonempty.rename(index, **kwargs).iloc[:0]
        out = map_partitions_(M.call_method, self, "rename", index, meta=meta, token="rename", **kwargs)
        if sorted_index and self.known_divisions:
            from shoal.dataframe.sorting import measured_divisions

            return measured_divisions(out)
        return out.clear_divisions()

    def to_frame(self, name: Any = no_default) -> DataFrame:
        """A one-column DataFrame, per partition."""
        if name is no_default:
            return self._elementwise("to_frame")
        return self._elementwise("to_frame", name=name)

    def map(self, arg: Any, na_action: Any = None, meta: Any = no_default) -> "Series":
        """Map values through a function, dict or Series (a shoal Series is sent whole to every partition)."""
        if isinstance(arg, _Frame):
            from shoal.dataframe.core import _whole

            arg = _whole(arg)
            if meta is no_default:
                meta = (self._meta.name, arg._meta.dtype)
        return map_partitions_(M.call_method, self, "map", arg, na_action=na_action, meta=meta, token="map")

    def apply(self, func: Callable, convert_dtype: Any = no_default, meta: Any = no_default, args: tuple = (),
              **kwargs: Any) -> "Series":
        """``func`` on every value, partition by partition (see ``DataFrame.apply`` about ``meta``)."""
        if meta is no_default:
            meta = _guess_apply_meta(self, func, args, kwargs)
        return map_partitions_(M.call_method, self, "apply", func, args=args, meta=meta, token="apply", **kwargs)

    def value_counts(self, sort: bool = True, ascending: bool = False, dropna: bool = True,
                     normalize: bool = False, split_every: Any = None, split_out: int | None = None,
                     shuffle_method: Any = None) -> "Series":
        """Counts of each distinct value (lazy; combined across partitions; ``split_out`` partitions)."""
        from shoal.dataframe.core import _split_out
        from shoal.dataframe.reductions import value_counts

        return _split_out(value_counts(self, sort=sort, ascending=ascending, dropna=dropna, normalize=normalize,
                                       split_every=split_every), split_out)

    def unique(self, split_every: Any = None, split_out: int | None = None, shuffle_method: Any = None) -> "Series":
        """The distinct values (lazy; a tree of per-partition ``unique``; ``split_out`` partitions)."""
        from shoal.dataframe.core import _split_out
        from shoal.dataframe.reductions import unique

        return _split_out(unique(self, split_every=split_every), split_out)

    def mode(self, dropna: bool = True, split_every: Any = None) -> "Series":
        """Most frequent value(s), sorted (lazy)."""
        from shoal.dataframe.reductions import mode

        return mode(self, dropna=dropna, split_every=split_every)

    def nunique(self, dropna: bool = True, split_every: Any = None) -> Any:
        """Number of distinct values (lazy; a tree of per-partition distinct sets)."""
        from shoal.dataframe.reductions import nunique

        return nunique(self, dropna=dropna, split_every=split_every)

    @property
    def size(self) -> Any:
        """Number of rows, NaN included (lazy)."""
        return self._reduction(M.size, _sum, meta=0, token="size")

    def groupby(self, by: Any = None, sort: bool = True, dropna: bool = True, **kwargs: Any) -> Any:
        """Group rows by keys (columns, Series, index levels); aggregations run as tree reductions or shuffles."""
        from shoal.dataframe.groupby import SeriesGroupBy

        return SeriesGroupBy(self, by, sort=sort, dropna=dropna, **kwargs)

    @property
    def str(self):
        """pandas' ``.str`` accessor, applied per partition."""
        from shoal.dataframe.accessors import Accessor

        return Accessor(self, "str")

    @property
    def dt(self):
        """pandas' ``.dt`` accessor, applied per partition."""
        from shoal.dataframe.accessors import Accessor

        return Accessor(self, "dt")

    @property
    def cat(self):
        """pandas' ``.cat`` accessor per partition, plus ``known``, ``as_known()`` and ``as_unknown()``."""
        from shoal.dataframe.accessors import CategoricalAccessor

        return CategoricalAccessor(self, "cat")

    def __getattr__(self, name: str) -> Any:
        if hasattr(type(self), name):  # a property whose getter raised: let its own error through
            return object.__getattribute__(self, name)
        if not name.startswith("_") and name in _PANDAS_SERIES_NAMES:
            raise unsupported(type(self).__name__, name)
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    def to_csv(self, path: str, **kwargs: Any) -> list:
        """Write one CSV file per partition (``'out-*.csv'``) or one file; runs now."""
        return self.to_frame().to_csv(path, **kwargs)

    def nlargest(self, n: int = 5, split_every: Any = None) -> "Series":
        """The ``n`` largest values (each partition's n largest, then again)."""
        return self._reduction(M.call_method, _nlargest_agg, meta=self._meta, token="nlargest", split_every=split_every,
                               chunk_kwargs={"_method": "nlargest", "n": n}, aggregate_kwargs={"n": n})

    def nsmallest(self, n: int = 5, split_every: Any = None) -> "Series":
        """The ``n`` smallest values (each partition's n smallest, then again)."""
        return self._reduction(M.call_method, _nsmallest_agg, meta=self._meta, token="nsmallest",
                               split_every=split_every, chunk_kwargs={"_method": "nsmallest", "n": n},
                               aggregate_kwargs={"n": n})

    def __iter__(self):
        """The values, computing one partition at a time."""
        for i in range(self.npartitions):
            yield from self.get_partition(i).compute()


class Index(Series):
    """A lazy pandas Index (one piece per partition)."""

    def __repr__(self) -> str:
        return f"shoal Index Structure (npartitions={self.npartitions}): dtype {self._meta.dtype}"

    @property
    def name(self) -> Any:
        """The Series name (from the meta)."""
        return self._meta.name

    @name.setter
    def name(self, value: Any) -> None:
        """The Series name (from the meta)."""
        new = self._elementwise("rename", value)
        self.dask, self._name, self._meta = new.dask, new._name, new._meta

    def max(self, **kwargs: Any):
        return self._reduction(_max, _max_list, token="index-max")

    def min(self, **kwargs: Any):
        return self._reduction(_min, _min_list, token="index-min")

    def to_series(self):
        """The index values as a Series (indexed by themselves), per partition."""
        return self._elementwise("to_series")

    def to_frame(self, index: bool = True, name: Any = no_default) -> DataFrame:
        """The index values as a one-column DataFrame, per partition."""
        kw = {} if name is no_default else {"name": name}
        return self._elementwise("to_frame", index=index, **kw)

    def __dir__(self):
        return sorted(set(super().__dir__()) | {n for n in dir(self._meta) if not n.startswith("_")
                                                  and n in _INDEX_FIELDS})

    def __getattr__(self, name: str) -> Any:
        if name in _INDEX_FIELDS and hasattr(self.__dict__.get("_meta"), name):
            # a field of each label (day, hour, ...): computed partition by partition
            return self.map_partitions(M.getattr_, name, token=f"index-{name}",
                                       divisions=[None] * (self.npartitions + 1))
        return super().__getattr__(name)

    def _binop(self, other: Any, op: Callable, reflect: bool = False) -> Any:
        # new labels: the old divisions no longer bound them
        return super()._binop(other, op, reflect=reflect).clear_divisions()

    def __neg__(self):
        return self._elementwise("__neg__").clear_divisions()


# per-label fields of datetime/period/timedelta indexes (values computed per partition)
_INDEX_FIELDS = frozenset({
    "year", "month", "day", "hour", "minute", "second", "microsecond", "nanosecond", "date", "time",
    "dayofweek", "day_of_week", "weekday", "dayofyear", "day_of_year", "quarter", "days_in_month",
    "daysinmonth", "is_month_start", "is_month_end", "is_quarter_start", "is_quarter_end",
    "is_year_start", "is_year_end", "is_leap_year", "days", "seconds", "microseconds", "nanoseconds",
    "qyear", "week", "weekofyear", "start_time", "end_time",
})


def _guess_apply_meta(frame: Any, func: Callable, args: tuple, kwargs: dict) -> Any:
    """What ``apply`` returns, from a run on a made-up two-row partition (warns: pass meta= to be sure)."""
    import warnings

    from shoal.dataframe.utils import make_meta

    out = make_meta(frame._meta_nonempty.apply(func, args=args, **kwargs))
    if isinstance(out, pd.DataFrame):
        guess = "meta=" + repr({k: str(v) for k, v in out.dtypes.items()})
    elif isinstance(out, pd.Series):
        guess = f"meta=({out.name!r}, '{out.dtype}')"
    else:
        guess = f"meta=(None, '{np.asarray(out).dtype}')"
    warnings.warn(
        f"{type(frame).__name__}.apply: no meta= given, so the output type was guessed by running the function "
        f"on made-up rows (which may be wrong). The guess was {guess}; pass that, or the right one, to be sure",
        UserWarning, stacklevel=3,
    )
    return out


def _set_index_values(df: pd.DataFrame, index: Any) -> pd.DataFrame:
    if len(index) != len(df):
        raise ValueError(f"the new index has {len(index)} values for a partition of {len(df)} rows; "
                         "it must come from the same frame (same partitions)")
    df = df.copy(deep=False)
    df.index = index
    return df


def _frame_nlargest_agg(parts: list, n: int, columns: Any) -> Any:
    return M.concat(parts).nlargest(n, columns)


def _nlargest_agg(parts: list, n: int) -> Any:
    return M.concat(parts).nlargest(n)


def _nsmallest_agg(parts: list, n: int) -> Any:
    return M.concat(parts).nsmallest(n)


def _sum(parts: list) -> Any:
    return sum(parts)


def _max(x: Any) -> Any:
    return x.max() if len(x) else None


def _min(x: Any) -> Any:
    return x.min() if len(x) else None


def _max_list(xs: list) -> Any:
    xs = [x for x in xs if x is not None and x == x]
    return max(xs) if xs else np.nan


def _min_list(xs: list) -> Any:
    xs = [x for x in xs if x is not None and x == x]
    return min(xs) if xs else np.nan
