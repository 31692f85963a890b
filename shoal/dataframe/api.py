"""More of the pandas API on collections, as mixins of ``_Frame`` and friends.

Row-wise methods map over partitions (divisions kept); methods whose rows
depend on other partitions (``cumsum``, ``ffill``, ``shift``...) chain a
small carry between partitions (``shoal.dataframe.cumulative``).  Names
pandas has and shoal does not raise ``NotImplementedError`` naming a way
round (see ``unsupported``).
"""
from __future__ import annotations

from typing import Any, Callable

import numpy as np
import pandas as pd

from shoal.core.graph import LayeredGraph
from shoal.core.task import Ref, Task
from shoal.core.tokenize import tokenize
from shoal.dataframe import methods as M

__all__ = ["FrameMethods", "DataFrameMethods", "SeriesMethods", "UnsupportedAttributeError", "unsupported",
           "UNKNOWN_CATEGORIES"]

UNKNOWN_CATEGORIES = "__UNKNOWN_CATEGORIES__"


class UnsupportedAttributeError(NotImplementedError, AttributeError):
    """A pandas name shoal does not provide (an AttributeError too, so ``hasattr`` is False)."""


def unsupported(kind: str, name: str) -> UnsupportedAttributeError:
    """The error for ``kind.name`` when pandas has ``name`` and shoal does not."""
    return UnsupportedAttributeError(
        f"{kind}.{name} is not supported by shoal.dataframe; compute first and use pandas "
        f"(`x.compute().{name}`), or apply it per partition with "
        f"`x.map_partitions(lambda part: part.{name}...)` when partitions can be treated separately"
    )


def _new(graph: Any, name: str, meta: Any, divisions: Any) -> Any:
    from shoal.dataframe.core import new_collection

    return new_collection(graph, name, meta, divisions)


def _map(func: Callable, *args: Any, **kwargs: Any) -> Any:
    from shoal.dataframe.mapping import map_partitions

    return map_partitions(func, *args, **kwargs)


# -- partition functions -------------------------------------------------------------
def _memory_usage(part: Any, index: bool, deep: bool) -> Any:
    return part.memory_usage(index=index, deep=deep)


def _sum_parts(parts: list) -> Any:
    if isinstance(parts[0], pd.Series):
        return pd.concat(parts, axis=1).sum(axis=1)
    return sum(parts)


def _total_memory(part: Any, index: bool, deep: bool) -> int:
    m = part.memory_usage(deep=deep) if isinstance(part, pd.Index) else part.memory_usage(index=index, deep=deep)
    return int(m.sum()) if isinstance(m, pd.Series) else int(m)


def _ufunc_part(ufunc: Any, kwargs: dict, *inputs: Any) -> Any:
    return ufunc(*inputs, **kwargs)


def _custom_chunk(part: Any, _func: Callable, _kw: dict) -> Any:
    return _func(part, **_kw)


def _stack(parts: list, rows: bool = False) -> Any:
    """Chunk results together: scalars as a Series; Series as rows of a frame (``rows``) or end to end."""
    if rows and isinstance(parts[0], pd.Series):
        return pd.DataFrame(parts)
    if isinstance(parts[0], (pd.Series, pd.DataFrame)):
        return pd.concat(parts)
    return pd.Series(parts)


def _custom_combine(parts: list, _func: Callable, _kw: dict, _cfunc: Callable, _ckw: dict, _rows: bool) -> Any:
    return _cfunc(_stack(parts, _rows), **_ckw)


def _custom_agg(parts: list, _func: Callable, _kw: dict, _cfunc: Callable, _ckw: dict, _rows: bool) -> Any:
    return _func(_stack(parts, _rows), **_kw)


def _custom_meta(frame: Any, chunk: Callable, aggregate: Callable, ckw: Any, akw: Any) -> Any:
    from shoal.dataframe.utils import make_meta

    part = chunk(frame._meta_nonempty, **(ckw or {}))
    return make_meta(aggregate(_stack([part, part], frame._meta.ndim == 2), **(akw or {})))


def _total_memory_series(part: Any, index: bool, deep: bool) -> pd.Series:
    return pd.Series([_total_memory(part, index, deep)], dtype="int64")


def _nbytes(part: Any) -> int:
    return int(part.nbytes)


def _monotonic_chunk(s: Any) -> tuple:
    s = s.to_series() if isinstance(s, pd.Index) else s
    if len(s) == 0:
        return (None, None, True, True)
    return (s.iloc[0], s.iloc[-1], bool(s.is_monotonic_increasing), bool(s.is_monotonic_decreasing))


def _monotonic_agg(parts: list, increasing: bool) -> bool:
    parts = [p for p in parts if p[0] is not None or not (p[2] and p[3])]
    ok = all(p[2] if increasing else p[3] for p in parts)
    for a, b in zip(parts, parts[1:]):
        if pd.isna(a[1]) or pd.isna(b[0]):
            return False
        ok = ok and (a[1] <= b[0] if increasing else a[1] >= b[0])
    return bool(ok)


def _monotonic_final(parts: list, increasing: bool) -> bool:
    return _monotonic_agg(parts, increasing)


def _random_split_part(df: Any, p: list, seed: int, i: int) -> list:
    rs = np.random.default_rng([seed, i])
    which = rs.choice(len(p), size=len(df), p=p)
    return [df[which == j] for j in range(len(p))]


def _union_categories(parts: list, columns: list) -> dict:
    out: dict = {}
    for part in parts:
        for c, vals in part.items():
            out.setdefault(c, []).append(vals)
    res = {}
    for c in columns:
        vals = pd.Index(pd.concat([pd.Series(v, dtype=object) for v in out.get(c, [])])
                        if out.get(c) else [], dtype=object).dropna().unique()
        res[c] = vals
    return res


def _categories_chunk(df: Any, columns: list, index: bool) -> dict:
    res = {}
    for c in columns:
        s = df.index if c is None else df[c]
        if isinstance(s.dtype, pd.CategoricalDtype):
            res[c] = list(s.dtype.categories) if UNKNOWN_CATEGORIES not in s.dtype.categories else list(pd.unique(s.dropna()))
        else:
            res[c] = list(pd.unique(pd.Series(s).dropna()))
    return res


def _ordered_categories(chunks: list, columns: list) -> dict:
    seen: dict = {c: {} for c in columns}
    for ch in chunks:
        for c in columns:
            for v in ch[c]:
                seen[c].setdefault(v, None)
    out = {}
    for c in columns:
        vals = list(seen[c])
        try:
            vals = sorted(vals)
        except TypeError:
            pass
        out[c] = vals
    return out


def _apply_categories(df: Any, cats: dict, ordered: dict) -> Any:
    df = df.copy(deep=False)
    for c, v in cats.items():
        dt = pd.CategoricalDtype(v, ordered=ordered.get(c, False))
        if c is None:
            df.index = df.index.astype(dt)
        else:
            df[c] = df[c].astype(dt)
    return df


def _set_categories(s: Any, cats: list, ordered: bool) -> Any:
    return s.astype(pd.CategoricalDtype(cats, ordered=ordered))


def unknown_categorical_meta(meta: Any, columns: Any = None) -> Any:
    """``meta`` with the categories of ``columns`` (all categoricals by default) marked unknown."""
    meta = meta.copy()
    if isinstance(meta, pd.Series):
        if isinstance(meta.dtype, pd.CategoricalDtype):
            return meta.astype(pd.CategoricalDtype([UNKNOWN_CATEGORIES], ordered=meta.dtype.ordered))
        return meta
    for c in meta.columns if columns is None else columns:
        if isinstance(meta[c].dtype, pd.CategoricalDtype):
            meta[c] = meta[c].astype(pd.CategoricalDtype([UNKNOWN_CATEGORIES], ordered=meta[c].dtype.ordered))
    return meta


def _as_collection(x: Any) -> Any:
    """A pandas object as a one-partition collection with known divisions (so it aligns by label)."""
    if isinstance(x, (pd.DataFrame, pd.Series)):
        from shoal.dataframe.io.convert import from_pandas

        return from_pandas(x, npartitions=1)
    return x


def _unknown_category_dtype(dtype: Any) -> bool:
    """'category' (or a CategoricalDtype without categories): the categories come from the data."""
    if isinstance(dtype, str):
        return dtype == "category"
    return isinstance(dtype, pd.CategoricalDtype) and dtype.categories is None


def _astype_part(part: Any, dtype: Any) -> Any:
    return part.astype(dtype)


def _replace_part(part: Any, args: tuple, kwargs: dict) -> Any:
    return part.replace(*args, **kwargs)


def _align_part(a: Any, b: Any, which: int, kwargs: dict) -> Any:
    return a.align(b, **kwargs)[which]


def _to_records(part: Any, index: bool) -> np.ndarray:
    return part.to_records(index=index)


def _to_values(part: Any) -> np.ndarray:
    return part.to_numpy() if not isinstance(part, pd.Index) else part.to_numpy()


def _explode(part: Any, args: tuple, kwargs: dict) -> Any:
    return part.explode(*args, **kwargs)


class FrameMethods:
    """Methods DataFrame, Series and Index share (``_Frame`` overrides any of these it defines)."""

    # pandas defers arithmetic to objects of higher priority, so `pandas_obj + collection` comes here
    __pandas_priority__ = 5000

    # -- structure ------------------------------------------------------------------
    @property
    def shape(self) -> tuple:
        """``(rows, columns)`` for a DataFrame, ``(rows,)`` for a Series; the row count is a lazy Scalar."""
        n = self._reduction(M.size, _sum_parts, meta=0, token="shape-len")
        return (n, len(self._meta.columns)) if self._meta.ndim == 2 else (n,)

    @property
    def axes(self) -> list:
        """``[index, columns]`` (DataFrame) or ``[index]`` (Series); the index is lazy."""
        return [self.index, self._meta.columns] if self._meta.ndim == 2 else [self.index]

    @property
    def size(self) -> Any:
        """Number of elements (rows x columns), lazy."""
        n = self._reduction(M.size, _sum_parts, meta=0, token="size")
        return n * len(self._meta.columns) if self._meta.ndim == 2 else n

    def memory_usage(self, index: bool = True, deep: bool = False) -> Any:
        """Bytes used (summed over partitions): per column for a DataFrame, one Scalar for a Series."""
        if self._meta.ndim == 2:
            meta = self._meta_nonempty.memory_usage(index=index, deep=deep).iloc[:0]
            return self._reduction(_memory_usage, _sum_parts, meta=meta, token="memory-usage",
                                   chunk_kwargs={"index": index, "deep": deep})
        return self._reduction(_total_memory, _sum_parts, meta=0, token="memory-usage",
                               chunk_kwargs={"index": index, "deep": deep})

    @property
    def nbytes(self) -> Any:
        """Bytes of the values (summed over partitions), lazy."""
        return self._reduction(_nbytes, _sum_parts, meta=0, token="nbytes")

    def memory_usage_per_partition(self, index: bool = True, deep: bool = False) -> Any:
        """Total bytes of each partition, as a Series with one value per partition."""
        return _map(_total_memory_series, self, index, deep, meta=pd.Series([], dtype="int64"),
                    token="memory-usage-per-partition", divisions=[None] * (self.npartitions + 1))

    @property
    def is_monotonic_increasing(self) -> Any:
        """Whether values never decrease, across all partitions (lazy Scalar of bool)."""
        return self._monotonic(True)

    @property
    def is_monotonic_decreasing(self) -> Any:
        """Whether values never increase, across all partitions (lazy Scalar of bool)."""
        return self._monotonic(False)

    def _monotonic(self, increasing: bool) -> Any:
        tok = tokenize(self, increasing)
        name = f"is-monotonic-{tok}"
        cname = f"is-monotonic-chunk-{tok}"
        layer: dict = {(cname, i): Task(_monotonic_chunk, Ref((self._name, i))) for i in range(self.npartitions)}
        layer[(name, 0)] = Task(_monotonic_final, [Ref((cname, i)) for i in range(self.npartitions)], increasing)
        return _new(LayeredGraph.from_collections(name, layer, [self]), name, True, [None, None])

    # -- row-wise ----------------------------------------------------------------------
    def replace(self, to_replace: Any = None, value: Any = None, regex: bool = False,
                **kwargs: Any) -> Any:
        """``pandas.replace`` on every partition (lazy)."""
        kw = dict(kwargs, regex=regex)
        args: tuple = (to_replace,) if value is None else (to_replace, value)
        return _map(_replace_part, self, args, kw, token="replace")

    def add_prefix(self, prefix: str, axis: Any = None) -> Any:
        """Prefix column labels (DataFrame, or ``axis=0``: index labels), per partition."""
        return self._add_affix("add_prefix", prefix, axis)

    def add_suffix(self, suffix: str, axis: Any = None) -> Any:
        """Suffix column labels (DataFrame, or ``axis=0``: index labels), per partition."""
        return self._add_affix("add_suffix", suffix, axis)

    def _add_affix(self, method: str, affix: str, axis: Any) -> Any:
        kw = {} if axis is None else {"axis": axis}
        meta = getattr(self._meta_nonempty, method)(affix, **kw).iloc[:0]  # an empty index keeps its dtype
        out = _map(M.call_method, self, method, affix, meta=meta, token=method.replace("_", "-"), **kw)
        on_index = self._meta.ndim == 1 or axis in (0, "index")
        if on_index and self.known_divisions:
            divs = [f"{affix}{d}" if method == "add_prefix" else f"{d}{affix}" for d in self.divisions]
            if all(divs[i] <= divs[i + 1] for i in range(len(divs) - 1)):
                return _new(out.dask, out._name, out._meta, divs)
        return out.clear_divisions() if on_index else out

    def explode(self, *args: Any, **kwargs: Any) -> Any:
        """One row per list element (``pandas.explode``), per partition; the index repeats, divisions kept."""
        return _map(_explode, self, args, kwargs, token="explode")

    def combine(self, other: Any, func: Callable, fill_value: Any = None, overwrite: bool = True) -> Any:
        """``pandas.combine`` partition by partition (both sides aligned by divisions first)."""
        other = _as_collection(other)
        kw = {} if self._meta.ndim == 1 else {"overwrite": overwrite}
        meta = self._meta_nonempty.combine(other._meta_nonempty, func, fill_value=fill_value, **kw).iloc[:0]
        return _map(M.call_method, self, "combine", other, func, fill_value=fill_value, meta=meta,
                    token="combine", **kw)

    def combine_first(self, other: Any) -> Any:
        """Nulls filled from ``other`` at the same labels, partition by partition (aligned first)."""
        other = _as_collection(other)
        return _map(M.call_method, self, "combine_first", other, token="combine-first")

    def pipe(self, func: Callable, *args: Any, **kwargs: Any) -> Any:
        """``func(self, *args, **kwargs)``."""
        if isinstance(func, tuple):
            func, target = func
            kwargs[target] = self
            return func(*args, **kwargs)
        return func(self, *args, **kwargs)

    def align(self, other: Any, join: str = "outer", axis: Any = None, fill_value: Any = None) -> tuple:
        """Both collections on a common index (and columns): partitions are aligned first by divisions."""
        from shoal.dataframe.mapping import align_partitions

        a, b = align_partitions(self, other)
        kw = dict(join=join, axis=axis, fill_value=fill_value)
        ma, mb = self._meta.align(other._meta, **kw)
        left = _map(_align_part, a, b, 0, kw, meta=ma, token="align-left", align=False)
        right = _map(_align_part, a, b, 1, kw, meta=mb, token="align-right", align=False)
        return left, right

    def resample(self, rule: Any, closed: Any = None, label: Any = None, **kwargs: Any) -> Any:
        """Group rows into time bins of ``rule`` (datetime index with known divisions); then ``.sum()``, ``.mean()``...

        Partitions are first cut at bin edges, so every bin is whole in one partition.
        """
        from shoal.dataframe.resample import Resampler

        return Resampler(self, rule, closed=closed, label=label, **kwargs)

    def to_timestamp(self, freq: Any = None, how: str = "start") -> Any:
        """A PeriodIndex turned into timestamps (per partition; divisions converted too)."""
        out = self._elementwise("to_timestamp", freq=freq, how=how)
        if self.known_divisions and all(isinstance(d, pd.Period) for d in self.divisions):
            divs = [d.to_timestamp(freq=freq, how=how) for d in self.divisions]
            return _new(out.dask, out._name, out._meta, divs)
        return out.clear_divisions()

    def reduction(self, chunk: Callable, aggregate: Callable | None = None, combine: Callable | None = None,
                  meta: Any = None, token: str | None = None, split_every: Any = None,
                  chunk_kwargs: dict | None = None, aggregate_kwargs: dict | None = None,
                  combine_kwargs: dict | None = None) -> Any:
        """A custom tree reduction: ``chunk`` per partition, ``combine`` then ``aggregate`` on the
        concatenated chunk results (a Series when chunks give scalars)."""
        aggregate = aggregate or chunk
        combine = combine or aggregate
        out = self._reduction(_custom_chunk, _custom_agg, combine=_custom_combine, token=token or "reduction",
                              split_every=split_every,
                              chunk_kwargs={"_func": chunk, "_kw": chunk_kwargs or {}},
                              aggregate_kwargs={"_func": aggregate, "_kw": aggregate_kwargs or {},
                                                "_cfunc": combine, "_ckw": combine_kwargs or {},
                                                "_rows": self._meta.ndim == 2},
                              meta=meta if meta is not None else _custom_meta(self, chunk, aggregate,
                                                                               chunk_kwargs, aggregate_kwargs))
        return out

    def __array_ufunc__(self, ufunc: Any, method: str, *inputs: Any, **kwargs: Any) -> Any:
        from shoal.dataframe.core import Scalar, _Frame

        if method != "__call__" or kwargs.get("out") is not None:
            return NotImplemented
        if not all(isinstance(x, (_Frame, Scalar)) or np.isscalar(x) for x in inputs):
            return NotImplemented  # a whole array cannot be split to match partitions
        return _map(_ufunc_part, ufunc, kwargs, *inputs, token=getattr(ufunc, "__name__", "ufunc"))

    # -- across partitions --------------------------------------------------------------
    def _cumulative(self, how: str, axis: Any, skipna: bool) -> Any:
        if axis in (1, "columns"):
            return _map(M.call_method, self, how, axis=1, skipna=skipna, token=how)
        from shoal.dataframe.cumulative import cumulative

        return cumulative(self, how, skipna=skipna)

    def cumsum(self, axis: Any = None, skipna: bool = True, dtype: Any = None, out: Any = None) -> Any:
        """Cumulative sum across all partitions (a carry chains from partition to partition)."""
        return self._cumulative("cumsum", axis, skipna)

    def cumprod(self, axis: Any = None, skipna: bool = True, dtype: Any = None, out: Any = None) -> Any:
        """Cumulative product across all partitions."""
        return self._cumulative("cumprod", axis, skipna)

    def cummax(self, axis: Any = None, skipna: bool = True, dtype: Any = None, out: Any = None) -> Any:
        """Cumulative maximum across all partitions."""
        return self._cumulative("cummax", axis, skipna)

    def cummin(self, axis: Any = None, skipna: bool = True, dtype: Any = None, out: Any = None) -> Any:
        """Cumulative minimum across all partitions."""
        return self._cumulative("cummin", axis, skipna)

    def ffill(self, axis: Any = None, limit: Any = None) -> Any:
        """Forward fill; a partition's leading nulls take the last value of earlier partitions."""
        if axis in (1, "columns"):
            return self._elementwise("ffill", axis=1, limit=limit)
        if limit is not None:
            # a null is filled from at most ``limit`` rows away: borrow that many from the neighbours
            from shoal.dataframe.cumulative import ffill_rows, shift_across

            return shift_across(self, ffill_rows, int(limit), "ffill")
        from shoal.dataframe.cumulative import fill_across

        return fill_across(self, "ffill")

    def bfill(self, axis: Any = None, limit: Any = None) -> Any:
        """Backward fill; a partition's trailing nulls take the first value of later partitions."""
        if axis in (1, "columns"):
            return self._elementwise("bfill", axis=1, limit=limit)
        if limit is not None:
            # a null is filled from at most ``limit`` rows away: borrow that many from the neighbours
            from shoal.dataframe.cumulative import bfill_rows, shift_across

            return shift_across(self, bfill_rows, -int(limit), "bfill")
        from shoal.dataframe.cumulative import fill_across

        return fill_across(self, "bfill")

    def shift(self, periods: int = 1, freq: Any = None, axis: Any = 0, **kwargs: Any) -> Any:
        """Shift rows by ``periods`` (rows cross partition edges); with ``freq`` the index moves instead.

        Divisions stay known when the index moves by a fixed step (a Timedelta-like ``freq``).
        """
        if not isinstance(periods, (int, np.integer)) or isinstance(periods, bool):
            raise TypeError(f"periods must be an integer, got {periods!r}")
        if axis in (1, "columns"):
            return self._elementwise("shift", periods, axis=1, **kwargs)
        is_index = isinstance(self._meta, pd.Index)
        if freq is not None or is_index:
            if is_index and freq is None:
                freq = getattr(self._meta, "freq", None)
                out = _map(M.call_method, self, "shift", periods, token="shift")
            else:
                out = _map(M.call_method, self, "shift", periods, freq=freq, token="shift", **kwargs)
            divs = _shifted_divisions(self, periods, freq)
            return _new(out.dask, out._name, out._meta, divs) if divs else out.clear_divisions()
        from shoal.dataframe.cumulative import shift_across, shift_rows

        return shift_across(self, shift_rows, periods, "shift", **kwargs)

    def diff(self, periods: int = 1, axis: Any = 0) -> Any:
        """Difference with the row ``periods`` before (rows cross partition edges)."""
        if not isinstance(periods, (int, np.integer)) or isinstance(periods, bool):
            raise TypeError(f"periods must be an integer, got {periods!r}")
        if axis in (1, "columns"):
            return self._elementwise("diff", periods, axis=1)
        from shoal.dataframe.cumulative import diff_rows, shift_across

        return shift_across(self, diff_rows, periods, "diff")

    # -- conversion ---------------------------------------------------------------------
    def to_dask_array(self, lengths: Any = None, meta: Any = None) -> Any:
        """A ``shoal.array`` Array of the values; ``lengths=True`` computes the row counts of the chunks."""
        from shoal.dataframe.convert_array import frame_to_array

        return frame_to_array(self, lengths=lengths)

    @property
    def values(self) -> Any:
        """The values as a ``shoal.array`` Array (row chunks of unknown length)."""
        return self.to_dask_array()

    def to_bag(self, index: bool = False, format: str = "tuple") -> Any:
        """A ``shoal.bag`` Bag with one element per row (tuples, or dicts with ``format='dict'``)."""
        from shoal.dataframe.convert_array import frame_to_bag

        return frame_to_bag(self, index=index, format=format)

    def to_records(self, index: bool = False, lengths: Any = None) -> Any:
        """A ``shoal.array`` record Array of the rows (``DataFrame.to_records`` per partition)."""
        from shoal.dataframe.convert_array import frame_to_records

        return frame_to_records(self, index=index, lengths=lengths)

    # -- sampling --------------------------------------------------------------------------
    def sample(self, n: Any = None, frac: Any = None, replace: bool = False, random_state: Any = None) -> Any:
        """A fraction ``frac`` of each partition's rows (each partition draws from its own seeded stream)."""
        if n is not None and frac is None:
            if isinstance(n, float):
                import warnings

                warnings.warn("sample(0.5): the first argument is n (a row count) in pandas; a float there is "
                              "read as frac=, write sample(frac=0.5) to say so", UserWarning, stacklevel=2)
                frac = n
            else:
                raise ValueError("sample(n=...) is not supported (the row count per partition is unknown); "
                                 "pass frac=, e.g. df.sample(frac=0.1)")
        if frac is None:
            raise ValueError("sample needs frac=, e.g. df.sample(frac=0.1)")
        if isinstance(random_state, np.random.RandomState):
            seed = int(random_state.randint(0, 2**31 - 1))
        else:
            seed = 0 if random_state is None else int(random_state)
        name = f"sample-{tokenize(self, frac, replace, seed)}"
        layer = {(name, i): Task(M.call_method, Ref((self._name, i)), "sample", frac=frac, replace=replace,
                                 random_state=(seed * 1_000_003 + i) % (2**32)) for i in range(self.npartitions)}
        return _new(LayeredGraph.from_collections(name, layer, [self]), name, self._meta, self.divisions)

    def random_split(self, frac: list, random_state: Any = None, shuffle: bool = False) -> list:
        """Split rows at random into ``len(frac)`` collections with those expected fractions."""
        p = np.asarray(frac, dtype=float)
        if not np.isclose(p.sum(), 1):
            raise ValueError(f"random_split fractions must sum to 1, got {p.sum()}")
        if isinstance(random_state, np.random.RandomState):
            seed = int(random_state.randint(0, 2**31 - 1))
        else:
            seed = 0 if random_state is None else int(random_state)
        tok = tokenize(self, list(p), seed)
        sname = f"random-split-{tok}"
        layer: dict = {(sname, i): Task(_random_split_part, Ref((self._name, i)), list(p), seed, i)
                       for i in range(self.npartitions)}
        base = LayeredGraph.from_collections(sname, layer, [self])
        out = []
        for j in range(len(p)):
            name = f"random-split-{j}-{tok}"
            lay = {(name, i): Task(M.getitem, Ref((sname, i)), j) for i in range(self.npartitions)}
            out.append(_new(LayeredGraph.from_collections(name, lay, [_new(base, sname, self._meta, self.divisions)]),
                            name, self._meta, self.divisions))
        return out

    # -- categoricals -------------------------------------------------------------------
    def _astype_meta(self, dtype: Any) -> Any:
        meta = self._meta.astype(dtype)
        wants_cat = _unknown_category_dtype(dtype)
        if isinstance(dtype, dict):
            cols = [c for c, t in dtype.items()
                    if _unknown_category_dtype(t) and not isinstance(self._meta[c].dtype, pd.CategoricalDtype)]
            return unknown_categorical_meta(meta, cols) if cols else meta
        if wants_cat and not isinstance(getattr(self._meta, "dtype", None), pd.CategoricalDtype):
            if isinstance(meta, pd.DataFrame):
                cols = [c for c in meta.columns if not isinstance(self._meta[c].dtype, pd.CategoricalDtype)]
                return unknown_categorical_meta(meta, cols)
            return unknown_categorical_meta(meta)
        return meta

    def astype(self, dtype: Any) -> Any:
        """Cast per partition; ``'category'`` gives unknown categories (see ``categorize``/``cat.as_known``)."""
        return _map(_astype_part, self, dtype, meta=self._astype_meta(dtype), token="astype")


class DataFrameMethods:
    """Methods only DataFrame has (they come before ``_Frame`` in the class order)."""

    @classmethod
    def from_dict(cls, data: dict, npartitions: int = 1, orient: str = "columns", dtype: Any = None,
                  columns: Any = None) -> Any:
        """A collection from a dict (``pandas.DataFrame.from_dict``), in ``npartitions`` pieces."""
        from shoal.dataframe.core import _Frame
        from shoal.dataframe.io.convert import from_dict

        if any(isinstance(v, _Frame) for v in (data.values() if isinstance(data, dict) else ())):
            raise NotImplementedError("from_dict takes in-memory values; to combine lazy Series use "
                                      "ddf.concat([...], axis=1) or df.assign(name=series)")
        return from_dict(data, npartitions=npartitions, orient=orient, dtype=dtype, columns=columns)

    @property
    def iloc(self) -> Any:
        """Column selection by position: ``df.iloc[:, [0, 2]]``; row positions are not supported."""
        return _ILoc(self)

    def nsmallest(self, n: int = 5, columns: Any = None, split_every: Any = None) -> Any:
        """The ``n`` rows with the smallest ``columns`` (each partition's n smallest, then again)."""
        if columns is None:
            raise TypeError("DataFrame.nsmallest needs columns=, e.g. df.nsmallest(5, 'x')")
        return self._reduction(M.call_method, _frame_nsmallest_agg, meta=self._meta, token="nsmallest",
                               split_every=split_every,
                               chunk_kwargs={"_method": "nsmallest", "n": n, "columns": columns},
                               aggregate_kwargs={"n": n, "columns": columns})

    def categorize(self, columns: Any = None, index: Any = None, split_every: Any = None) -> Any:
        """Make ``columns`` (default: object and categorical ones) categoricals with known categories.

        Computes the distinct values now (one pass over the data).
        """
        meta = self._meta
        if columns is None:
            columns = [c for c in meta.columns if meta[c].dtype == object or isinstance(meta[c].dtype, pd.CategoricalDtype)
                       or pd.api.types.is_string_dtype(meta[c].dtype)]
        elif not isinstance(columns, list):
            columns = [columns]
        if index is None:
            idx = meta.index
            index = idx.dtype == object or (isinstance(idx.dtype, pd.CategoricalDtype)
                                            and UNKNOWN_CATEGORIES in idx.dtype.categories)
        keys = list(columns) + ([None] if index else [])
        if not keys:
            return self
        from shoal.base import compute

        tok = tokenize(self, keys)
        name = f"categories-{tok}"
        layer: dict = {(name + "-chunk", i): Task(_categories_chunk, Ref((self._name, i)), keys, index)
                       for i in range(self.npartitions)}
        layer[(name, 0)] = Task(_ordered_categories, [Ref((name + "-chunk", i)) for i in range(self.npartitions)], keys)
        cats = compute(_new(LayeredGraph.from_collections(name, layer, [self]), name, None, [None, None]))[0]
        ordered = {}
        for c in keys:
            dt = meta.index.dtype if c is None else meta[c].dtype
            ordered[c] = bool(getattr(dt, "ordered", False))
            if isinstance(dt, pd.CategoricalDtype) and UNKNOWN_CATEGORIES not in dt.categories:
                cats[c] = list(dt.categories)
        new_meta = _apply_categories(meta, cats, ordered)
        divs = self.divisions if not index else [None] * (self.npartitions + 1)
        return _map(_apply_categories, self, cats, ordered, meta=new_meta, token="categorize", divisions=divs)

    def info(self, buf: Any = None, verbose: bool = False, memory_usage: bool = False) -> None:
        """A concise summary (like ``pandas.DataFrame.info``); computes the row count."""
        import sys

        buf = buf or sys.stdout
        lines = [str(type(self)).replace("<class '", "").replace("'>", "")]
        if verbose:
            from shoal.base import compute

            n, counts = compute(len_scalar(self), self.count())
            lines.append(f"Index: {n} entries, {_index_bounds(self)}")
            lines.append(f"Data columns (total {len(self._meta.columns)} columns):")
            w = max([len(str(c)) for c in self._meta.columns] + [6])
            lines.append(f" #   {'Column':<{w}}  Non-Null Count  Dtype")
            lines.append(f"---  {'-' * w}  --------------  -----")
            for i, (c, t) in enumerate(self._meta.dtypes.items()):
                lines.append(f" {i:<3} {str(c):<{w}}  {int(counts[c])} non-null{'':<4}  {t}")
        else:
            lines.append(f"Columns: {len(self._meta.columns)} entries, "
                         f"{self._meta.columns[0] if len(self._meta.columns) else ''} to "
                         f"{self._meta.columns[-1] if len(self._meta.columns) else ''}")
        counts_by_dtype = self._meta.dtypes.astype(str).value_counts().sort_index()
        lines.append("dtypes: " + ", ".join(f"{k}({v})" for k, v in counts_by_dtype.items()))
        if memory_usage:
            total = self.memory_usage(deep=True).sum().compute()
            lines.append(f"memory usage: {_pandas_memory_text(int(total))}")
        buf.write("\n".join(lines) + "\n")

    def itertuples(self, index: bool = True, name: str = "Pandas") -> Any:
        """Rows as namedtuples, computing one partition at a time."""
        for i in range(self.npartitions):
            yield from self.get_partition(i).compute().itertuples(index=index, name=name)

    def iterrows(self) -> Any:
        """``(index, row)`` pairs, computing one partition at a time."""
        for i in range(self.npartitions):
            yield from self.get_partition(i).compute().iterrows()


class SeriesMethods:
    """Methods only Series (and Index) have."""

    def sort_values(self, ascending: bool = True, npartitions: Any = None, na_position: str = "last",
                    **kwargs: Any) -> Any:
        """Sort the values across partitions (computes range boundaries now; see DataFrame.sort_values)."""
        from shoal.dataframe.sorting import sort_values

        return sort_values(self, None, ascending=ascending, npartitions=npartitions, na_position=na_position, **kwargs)

    def autocorr(self, lag: int = 1, split_every: Any = None) -> Any:
        """Correlation of the values with themselves ``lag`` rows later (rows cross partitions), lazy."""
        if not isinstance(lag, (int, np.integer)) or isinstance(lag, bool):
            raise TypeError(f"lag must be an integer, got {lag!r}")
        return self.corr(self.shift(lag), split_every=split_every)

    def squeeze(self) -> Any:
        """A Series stays a Series (its length is unknown until computed)."""
        return self

    def to_list(self) -> list:
        """Compute and return a Python list."""
        return self.compute().tolist()

    tolist = to_list

    def dot(self, other: Any, meta: Any = None) -> Any:
        """Inner product with a Series (a lazy Scalar) or a DataFrame (a Series per column); partitions aligned."""
        from shoal.dataframe.core import _Frame

        if not isinstance(other, (_Frame, pd.Series, pd.DataFrame)):
            raise TypeError(f"Series.dot takes a Series or DataFrame, not {type(other).__name__}")
        other = _as_collection(other)
        if other.ndim == 2:
            out = other.mul(self, axis=0).sum(skipna=False)
            if meta is not None:
                out = out.rename(pd.Series(meta).name) if getattr(meta, "name", None) is not None else out
            return out
        return (self * other).sum(skipna=False)

    def explode(self) -> Any:
        """One row per list element, per partition."""
        return _map(_explode, self, (), {}, token="explode")


def _shifted_divisions(frame: Any, periods: int, freq: Any) -> list | None:
    """Divisions moved by ``periods * freq`` when that is a fixed step for every value, else None."""
    if not frame.known_divisions or freq is None:
        return None
    index = frame._meta if isinstance(frame._meta, pd.Index) else frame._meta.index
    if isinstance(index, pd.PeriodIndex):
        return [d + periods for d in frame.divisions]
    try:
        off = pd.tseries.frequencies.to_offset(freq)
    except (TypeError, ValueError):
        return None
    fixed = isinstance(off, pd.offsets.Tick) or (isinstance(off, pd.offsets.Day)
                                                  and getattr(index, "tz", None) is None)
    if not fixed or not isinstance(index, (pd.DatetimeIndex, pd.TimedeltaIndex)):
        return None
    step = pd.Timedelta(days=off.n) if isinstance(off, pd.offsets.Day) else pd.Timedelta(off)
    return [d + periods * step for d in frame.divisions]


def len_scalar(frame: Any) -> Any:
    return frame._reduction(M.size, _sum_parts, meta=0, token="len")


def _index_bounds(frame: Any) -> str:
    if frame.known_divisions:
        return f"{frame.divisions[0]} to {frame.divisions[-1]}"
    return "index bounds unknown"


def _pandas_memory_text(n: int) -> str:
    """Memory as pandas' ``info()`` prints it (``'1.2+ KB'``, powers of 1024)."""
    for unit in ("bytes", "KB", "MB", "GB", "TB"):
        if n < 1024 or unit == "TB":
            return f"{n:.1f}+ {unit}" if unit != "bytes" else f"{n}+ bytes"
        n /= 1024  # type: ignore[assignment]
    return str(n)


def _frame_nsmallest_agg(parts: list, n: int, columns: Any) -> Any:
    return M.concat(parts).nsmallest(n, columns)


class _ILoc:
    """``df.iloc[:, cols]``: positional column selection only (row positions need the row counts)."""

    def __init__(self, frame: Any):
        self.frame = frame

    def __getitem__(self, key: Any) -> Any:
        if not (isinstance(key, tuple) and len(key) == 2 and key[0] == slice(None)):
            raise NotImplementedError(
                "iloc only selects columns, as in df.iloc[:, [0, 2]]: rows by position need every "
                "partition's length; use df.loc with labels, df.head(n), or df.partitions[i]"
            )
        cols = self.frame._meta.iloc[:, key[1]]
        if isinstance(cols, pd.Series):
            return self.frame[cols.name]
        if cols.columns.has_duplicates:
            return _map(_iloc_cols, self.frame, key[1], meta=cols, token="iloc")
        return self.frame[list(cols.columns)]


def _iloc_cols(df: Any, key: Any) -> Any:
    return df.iloc[:, key]
