"""Reductions over all partitions: per-partition pieces combined in a tree.

Every frame and series reduction enters through :func:`reduce`, which does
the pandas-facing work once for all of them:

* ``numeric_only``, ``skipna``, ``min_count`` and ``ddof`` are checked by
  running pandas itself on a two-row stand-in of the data (``meta``): the
  columns pandas keeps with ``numeric_only=True`` are the columns reduced
  (bool counts as numeric, as in pandas), and an operation pandas refuses
  (``mean`` of strings) raises the same error before anything runs;
* the result's type and dtype come from that same pandas call;
* empty partitions are left out before combining (so ``skipna=False`` sees
  only real data).

Then one of three families does the arithmetic: *simple* reductions
(``sum prod min max count any all``) reduce the per-partition answers again;
*moments* (``mean var std sem skew kurt``) carry ``(n, mean, M2, M3, M4)``
merged with the exact pairwise update formulas, so large offsets lose no
precision; *selections* (``idxmin idxmax``) carry ``(label, value)``.
"""
from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from shoal.dataframe import methods as M
from shoal.dataframe.utils import meta_nonempty

__all__ = ["reduce", "SIMPLE", "MOMENTS", "quantile", "median", "mode", "drop_duplicates",
           "value_counts", "unique", "nunique", "frame_nunique", "lazy_combine"]

SIMPLE = ("sum", "prod", "min", "max", "count", "any", "all")
MOMENTS = ("mean", "var", "std", "sem", "skew", "kurt")
SELECT = ("idxmin", "idxmax")

# pandas keywords each reduction takes
_TAKES = {
    "sum": ("skipna", "numeric_only", "min_count"), "prod": ("skipna", "numeric_only", "min_count"),
    "min": ("skipna", "numeric_only"), "max": ("skipna", "numeric_only"), "count": ("numeric_only",),
    "any": ("skipna",), "all": ("skipna",), "mean": ("skipna", "numeric_only"),
    "var": ("skipna", "numeric_only", "ddof"), "std": ("skipna", "numeric_only", "ddof"),
    "sem": ("skipna", "numeric_only", "ddof"), "skew": ("skipna", "numeric_only"),
    "kurt": ("skipna", "numeric_only"), "idxmin": ("skipna", "numeric_only"),
    "idxmax": ("skipna", "numeric_only"),
}


def _kwargs(how: str, is_frame: bool, **given: Any) -> dict:
    kw = {k: v for k, v in given.items() if k in _TAKES[how]}
    if not is_frame:
        kw.pop("numeric_only", None) if not kw.get("numeric_only") else None
    return kw


def reduce(frame: Any, how: str, *, axis: Any = 0, skipna: bool = True, numeric_only: bool = False,
           min_count: int = 0, ddof: int = 1, split_every: Any = None) -> Any:
    """``frame.<how>(...)`` for a shoal DataFrame or Series, lazily.

    ``how`` is one of ``SIMPLE``, ``MOMENTS``, ``idxmin`` or ``idxmax``.
    """
    is_frame = frame.ndim == 2
    kw = _kwargs(how, is_frame, skipna=skipna, numeric_only=numeric_only, min_count=min_count, ddof=ddof)
    if axis in (1, "columns"):
        if not is_frame:
            raise ValueError(f"No axis named {axis} for object type Series")
        return frame.map_partitions(M.call_method, how, axis=1, token=f"{how}-axis1", **kw)
    if axis not in (0, "index", None):
        raise ValueError(f"No axis named {axis!r}")
    # pandas on a stand-in: raises what pandas raises, names the kept columns
    meta_full = getattr(meta_nonempty(frame._meta), how)(**kw)
    if is_frame and numeric_only:
        keep = list(meta_full.index)
        if keep != list(frame._meta.columns):
            frame = frame[keep]
    if is_frame:
        meta = meta_full.iloc[:0]
    else:
        meta = meta_full
    chunk_kw = {"how": how, "kw": kw}
    if how in SIMPLE:
        out = frame._reduction(_simple_chunk, _simple_agg, combine=_simple_combine, meta=meta, token=how,
                               split_every=split_every, chunk_kwargs=chunk_kw,
                               aggregate_kwargs=chunk_kw)
    elif how in MOMENTS:
        from shoal.dataframe.moments import moments_reduction

        out = moments_reduction(frame, how, kw, meta, split_every)
    elif how in SELECT:
        out = frame._reduction(_select_chunk, _select_agg, combine=_select_combine, meta=meta, token=how,
                               split_every=split_every, chunk_kwargs=chunk_kw, aggregate_kwargs=chunk_kw)
    else:
        raise ValueError(f"unknown reduction {how!r}")
    if is_frame and isinstance(meta.dtype, pd.api.extensions.ExtensionDtype):
        # pandas answers in a nullable dtype when a nullable column takes part
        out = out.map_partitions(_cast_like, meta.dtype, meta=meta, token=f"{how}-astype")
    return out


def _cast_like(s: pd.Series, dtype: Any) -> pd.Series:
    try:
        return s.astype(dtype)
    except (TypeError, ValueError):
        return s


# -- simple reductions ------------------------------------------------------------------
def _simple_chunk(x: Any, how: str, kw: dict) -> tuple:
    # min_count applies to the whole column, so partitions count instead
    kw1 = {k: v for k, v in kw.items() if k != "min_count"}
    val = getattr(x, how)(**kw1)
    if how in ("sum", "prod") and isinstance(x, pd.DataFrame) and isinstance(val, pd.Series) \
            and val.dtype.kind == "f" and any(x[c].dtype.kind in "iu" for c in val.index if c in x):
        # a frame's answer is upcast to float: keep integer columns exact (and wrapping on
        # overflow, as pandas does per column) until the partitions are combined
        val = pd.Series({c: getattr(x[c], how)(skipna=kw.get("skipna", True)) for c in val.index}, dtype=object)
    cnt = x.count() if kw.get("min_count", 0) > 0 else None
    return (len(x), val, cnt)


def _rows(vals: list) -> Any:
    """Per-partition answers as something pandas can reduce again."""
    if isinstance(vals[0], pd.Series):
        return pd.DataFrame(vals).reset_index(drop=True)
    return pd.Series(vals)


def _three_valued(rows: Any) -> Any:
    """any/all answers holding NA (a nullable column with skipna=False) as the boolean dtype, so the
    partitions' answers combine with pandas' three-valued logic."""
    if isinstance(rows, pd.DataFrame):
        cols = {c: _three_valued(rows[c]) for c in rows.columns}
        return pd.DataFrame(cols, index=rows.index) if cols else rows
    if rows.dtype == object and any(v is pd.NA for v in rows):
        return rows.astype("boolean")
    return rows


def _simple_combine(parts: list, how: str, kw: dict) -> tuple:
    real = [p for p in parts if p[0] > 0] or parts[:1]
    how2 = "sum" if how == "count" else how
    kw2 = {k: v for k, v in kw.items() if k == "skipna"}
    rows = _rows([p[1] for p in real])
    if how in ("any", "all"):
        rows = _three_valued(rows)
    if isinstance(rows, pd.DataFrame) and rows.shape[1] and (rows.dtypes == object).any():
        # mixed-type answers (a frame's min of numbers and strings): column by column
        val = pd.Series({c: getattr(rows[c].infer_objects(), how2)(**kw2) for c in rows.columns}, dtype=object)
    else:
        val = getattr(rows, how2)(**kw2)
    cnt = None
    if real[0][2] is not None:
        cnt = real[0][2]
        for p in real[1:]:
            cnt = cnt + p[2]
    return (sum(p[0] for p in parts), val, cnt)


def _simple_agg(parts: list, how: str, kw: dict) -> Any:
    _, val, cnt = _simple_combine(parts, how, kw)
    if cnt is not None:
        mc = kw["min_count"]
        if isinstance(val, pd.Series):
            if (cnt < mc).any():
                val = val.where(cnt >= mc)
        elif cnt < mc:
            val = np.nan
    return val


# -- idxmin / idxmax ----------------------------------------------------------------------
def _select_chunk(x: Any, how: str, kw: dict) -> Any:
    """(row count, per-column (label, value) or None for no candidate)."""
    if isinstance(x, pd.DataFrame):
        return (len(x), {c: _select_one(x[c], how, kw) for c in x.columns})
    return (len(x), _select_one(x, how, kw))


def _select_one(s: pd.Series, how: str, kw: dict) -> Any:
    if len(s) == 0:
        return None
    na = s.isna()
    if na.any() and not kw.get("skipna", True):
        return ("nan", None, None)
    if na.all():
        return None
    pos = getattr(s.reset_index(drop=True), how)()
    return ("ok", s.index[pos], s.iloc[pos])


def _pick(cands: list, how: str) -> Any:
    best = None
    for c in cands:
        if c is None:
            continue
        if c[0] == "nan":
            return c
        if best is None:
            best = c
        elif (how == "idxmin" and c[2] < best[2]) or (how == "idxmax" and c[2] > best[2]):
            best = c
    return best


def _select_combine(parts: list, how: str, kw: dict) -> tuple:
    n = sum(p[0] for p in parts)
    if isinstance(parts[0][1], dict):
        return (n, {c: _pick([p[1][c] for p in parts], how) for c in parts[0][1]})
    return (n, _pick([p[1] for p in parts], how))


def _select_final(c: Any, how: str, n: int) -> Any:
    if c is None:
        if n == 0:
            raise ValueError(f"attempt to get {how.replace('idx', 'arg')} of an empty sequence")
        raise ValueError("Encountered all NA values")
    if c[0] == "nan":
        raise ValueError("Encountered an NA value with skipna=False")
    return c[1]


def _select_agg(parts: list, how: str, kw: dict) -> Any:
    n, val = _select_combine(parts, how, kw)
    if isinstance(val, dict):
        return pd.Series({c: _select_final(v, how, n) for c, v in val.items()}, dtype=None if val else object)
    return _select_final(val, how, n)


# -- combining finished lazy results --------------------------------------------------------
def lazy_combine(func: Any, colls: list, meta: Any, token: str, **kwargs: Any) -> Any:
    """One task ``func(*results, **kwargs)`` over single-piece collections (Scalars and one-partition frames)."""
    from shoal.core.graph import LayeredGraph
    from shoal.core.task import Ref, Task
    from shoal.core.tokenize import tokenize
    from shoal.dataframe.core import Scalar, new_collection

    name = f"{token}-{tokenize(func, colls, kwargs)}"
    refs = []
    for c in colls:
        if isinstance(c, Scalar):
            refs.append(Ref(c._key))
        else:
            if c.npartitions != 1:
                raise ValueError("lazy_combine needs one-partition collections")
            refs.append(Ref((c._name, 0)))
    layer = {(name, 0): Task(func, *refs, **kwargs)}
    graph = LayeredGraph.from_collections(name, layer, colls)
    return new_collection(graph, name, meta, [None, None])


# -- approximate quantiles -----------------------------------------------------------------
_GRID = np.linspace(0, 1, 1001)


def time_unit(dtype: Any) -> str:
    """'ns', 'us', ... of a datetime64/timedelta64 dtype (tz-aware included)."""
    unit = getattr(dtype, "unit", None)
    return unit if unit else np.datetime_data(dtype)[0]


def to_i8(s: pd.Series) -> np.ndarray:
    """Integer ticks of the non-missing values of a datetime/timedelta Series."""
    return np.asarray(s.dropna().array.asi8 if hasattr(s.array, "asi8") else s.dropna().to_numpy().view("i8"))


def from_i8(values: Any, dtype: Any) -> Any:
    """Ticks (float or int, NaN for missing) back to values of ``dtype`` (an Index)."""
    v = np.asarray(values, dtype="float64")
    ints = np.where(np.isnan(v), np.iinfo("i8").min, np.round(np.where(np.isnan(v), 0, v))).astype("i8")
    unit = time_unit(dtype)
    if dtype.kind == "m":
        return pd.TimedeltaIndex(ints.view(f"m8[{unit}]"))
    out = pd.DatetimeIndex(ints.view(f"M8[{unit}]"))
    tz = getattr(dtype, "tz", None)
    return out.tz_localize("UTC").tz_convert(tz) if tz is not None else out


def _as_numbers(s: pd.Series) -> tuple[np.ndarray, Any]:
    """float values of ``s`` without missing ones, and the dtype to give results back in."""
    if s.dtype.kind in "mM":
        return to_i8(s).astype("float64"), s.dtype
    return s.dropna().to_numpy(dtype="float64"), None


def _q_chunk(x: Any) -> Any:
    if isinstance(x, pd.DataFrame):
        return {c: _q_chunk(x[c]) for c in x.columns}
    v, _ = _as_numbers(x)
    if len(v) == 0:
        return (np.array([]), 0)
    if len(v) <= len(_GRID):
        return (np.sort(v), len(v))
    return (np.quantile(v, _GRID), len(v))


def _weighted_quantile(pieces: list, qs: np.ndarray) -> np.ndarray:
    pieces = [p for p in pieces if p[1] > 0]
    if not pieces:
        return np.full(len(qs), np.nan)
    if len(pieces) == 1:
        vals, n = pieces[0]
        if n == len(vals):
            return np.quantile(vals, qs)
    exact = all(n == len(v) for v, n in pieces)
    vals = np.concatenate([p[0] for p in pieces]).astype("float64")
    if exact:  # every value is here: the exact answer
        return np.quantile(vals, qs)
    w = np.concatenate([np.full(len(p[0]), p[1] / len(p[0])) for p in pieces])
    order = np.argsort(vals, kind="stable")
    vals, w = vals[order], w[order]
    cw = np.cumsum(w) - w / 2
    cw = cw / w.sum()
    return np.interp(qs, cw, vals)


def _back(values: np.ndarray, dtype: Any) -> Any:
    if dtype is None:
        return values
    return from_i8(values, dtype)


def _q_agg(parts: list, q: Any, name: Any, is_frame: bool, dtypes: dict) -> Any:
    qs = np.atleast_1d(np.asarray(q, dtype=float))
    scalar_q = np.ndim(q) == 0
    if is_frame:
        cols = list(parts[0])
        data = {c: _back(_weighted_quantile([p[c] for p in parts], qs), dtypes.get(c)) for c in cols}
        out = pd.DataFrame(data, index=qs, columns=pd.Index(cols))
        return out.iloc[0].rename(qs[0]) if scalar_q else out
    res = _back(_weighted_quantile(parts, qs), dtypes.get(None))
    if scalar_q:
        return res[0]
    return pd.Series(res, index=qs, name=name)


class _QAgg:
    def __init__(self, q: Any, name: Any, is_frame: bool, dtypes: dict):
        self.q, self.name, self.is_frame, self.dtypes = q, name, is_frame, dtypes

    def __call__(self, parts: list) -> Any:
        return _q_agg(parts, self.q, self.name, self.is_frame, self.dtypes)

    def __shoal_tokenize__(self) -> Any:
        return ("q-agg", repr(self.q), repr(self.name), self.is_frame, repr(self.dtypes))


def quantile(frame: Any, q: Any = 0.5, numeric_only: bool = False, method: str = "default") -> Any:
    """Approximate quantiles (exact when every partition has at most 1001 values)."""
    is_frame = frame.ndim == 2
    src = meta_nonempty(frame._meta)
    meta = src.quantile(q, numeric_only=numeric_only) if is_frame else src.quantile(q)
    if is_frame:
        cols = list(meta.index) if np.ndim(q) == 0 else list(meta.columns)
        if cols != list(frame._meta.columns):
            frame = frame[cols]
        dtypes = {c: frame._meta[c].dtype for c in cols if frame._meta[c].dtype.kind in "mM"}
    else:
        dtypes = {None: frame._meta.dtype} if frame._meta.dtype.kind in "mM" else {}
    if isinstance(meta, (pd.Series, pd.DataFrame)):
        meta = meta.iloc[:0]
    return frame._reduction(_q_chunk, _QAgg(q, frame._meta.name if not is_frame else None, is_frame, dtypes),
                            combine=_list_flatten, meta=meta, token="quantile", split_every=10**9)


def _list_flatten(parts: list) -> list:
    return parts


def median(frame: Any, numeric_only: bool = False, approximate: bool = False) -> Any:
    """Exact median when there is one partition; ``median_approximate`` otherwise."""
    if frame.npartitions > 1 and not approximate:
        raise NotImplementedError(
            "an exact median over several partitions is not supported (it needs all the data in one place); "
            "use median_approximate(), or repartition(npartitions=1) first for the exact value")
    if frame.npartitions == 1:
        kw = {"numeric_only": numeric_only} if frame.ndim == 2 else {}
        meta = getattr(meta_nonempty(frame._meta), "median")(**kw)
        if isinstance(meta, pd.Series):
            meta = meta.iloc[:0]
        return frame._reduction(M.call_method, _first, meta=meta, token="median",
                                chunk_kwargs=dict(_method="median", **kw))
    # pandas takes the median of bools as numbers (0.5 for [False, True]); its quantile refuses
    # bools, so they go in as floats
    if frame.ndim == 1 and frame._meta.dtype == bool:
        frame = frame.astype("f8")
    elif frame.ndim == 2 and (frame._meta.dtypes == bool).any():
        frame = frame.astype({c: "f8" for c, t in frame._meta.dtypes.items() if t == bool})
    out = quantile(frame, 0.5, numeric_only=numeric_only)
    return out.rename(None) if frame.ndim == 2 else out  # a median has no quantile for a name


def _first(parts: list) -> Any:
    return parts[0]


# -- distinct values -------------------------------------------------------------------
def _dd_chunk(x: Any, subset: Any = None, keep: str = "first") -> Any:
    if isinstance(x, pd.DataFrame):
        return x.drop_duplicates(subset=subset, keep=keep)
    return x.drop_duplicates(keep=keep)


def _dd_agg(parts: list, subset: Any = None, keep: str = "first") -> Any:
    return _dd_chunk(M.concat(parts), subset=subset, keep=keep)


def drop_duplicates(frame: Any, subset: Any = None, keep: str = "first", split_every: Any = None) -> Any:
    """Distinct rows, gathered into one partition (tree of ``split_every``)."""
    if keep not in ("first", "last"):
        raise NotImplementedError("drop_duplicates(keep=False) is not supported; use keep='first' or 'last'")
    ck = {"subset": subset, "keep": keep} if frame.ndim == 2 else {"keep": keep}
    return frame._reduction(_dd_chunk, _dd_agg, meta=frame._meta, token="drop-duplicates",
                            split_every=split_every, chunk_kwargs=ck, aggregate_kwargs=ck)


def _vc_chunk(x: Any, dropna: bool = True) -> Any:
    return x.value_counts(dropna=dropna, sort=False)


_NAN = object()  # one dict key for every float NaN label (pandas counts them together)


def _vc_combine(parts: list, dropna: bool = True) -> Any:
    first = parts[0]
    if not dropna and first.index.nlevels == 1 and first.index.dtype == object:
        # concat and groupby would turn a missing label None into NaN (and the labels into
        # strings); counting over the object labels keeps what pandas shows
        totals: dict = {}
        labels: dict = {}
        for p in parts:
            for label, n in zip(p.index.to_numpy(dtype=object), p.to_numpy()):
                key = _NAN if isinstance(label, float) and label != label else label
                labels.setdefault(key, label)
                totals[key] = totals.get(key, 0) + n
        index = pd.Index(list(labels.values()), dtype=object, name=first.index.name)
        return pd.Series(list(totals.values()), index=index, name=first.name, dtype="f8").astype(first.dtype)
    s = pd.concat(parts) if len(parts) > 1 else first
    return s.groupby(level=list(range(s.index.nlevels)), dropna=dropna, sort=False, observed=True).sum()


def _vc_agg(parts: list, dropna: bool = True, sort: bool = True, ascending: bool = False,
            normalize: bool = False, name: Any = None) -> Any:
    s = _vc_combine(parts, dropna=dropna)
    s.name = "count"
    if normalize:
        s = s / s.sum()
        s.name = "proportion"
    if sort:
        s = s.sort_values(ascending=ascending, kind="stable")
    return s


def value_counts(s: Any, sort: bool = True, ascending: bool = False, dropna: bool = True,
                 normalize: bool = False, split_every: Any = None) -> Any:
    """Counts of distinct values (``normalize``: proportions), most common first when ``sort``."""
    meta = s._meta.value_counts(normalize=normalize, dropna=dropna)
    return s._reduction(_vc_chunk, _vc_agg, combine=_vc_combine_wrap(dropna), meta=meta, token="value-counts",
                        split_every=split_every, chunk_kwargs={"dropna": dropna},
                        aggregate_kwargs={"dropna": dropna, "sort": sort, "ascending": ascending,
                                          "normalize": normalize})


class _vc_combine_wrap:
    def __init__(self, dropna: bool):
        self.dropna = dropna

    def __call__(self, parts: list, **kw: Any) -> Any:
        return _vc_combine(parts, dropna=self.dropna)

    def __shoal_tokenize__(self) -> Any:
        return ("vc-combine", self.dropna)


def _mode_agg(parts: list, dropna: bool = True, name: Any = None, dtype: Any = None) -> Any:
    counts = _vc_combine(parts, dropna=dropna)
    if len(counts) == 0:
        return pd.Series([], dtype=dtype, name=name)
    top = counts[counts == counts.max()].index
    vals = pd.Series(top.to_numpy(), dtype=dtype, name=name)
    return vals.sort_values(kind="stable").reset_index(drop=True)


class _ModeAgg:
    def __init__(self, dropna: bool, name: Any, dtype: Any):
        self.dropna, self.name, self.dtype = dropna, name, dtype

    def __call__(self, parts: list, **kw: Any) -> Any:
        return _mode_agg(parts, self.dropna, self.name, self.dtype)

    def __shoal_tokenize__(self) -> Any:
        return ("mode-agg", self.dropna, repr(self.name), str(self.dtype))


def mode(s: Any, dropna: bool = True, split_every: Any = None) -> Any:
    """The most frequent value(s) of a Series, sorted (as ``pandas.Series.mode``)."""
    if s.ndim == 2:
        raise NotImplementedError("DataFrame.mode is not supported; use df[col].mode() per column")
    meta = s._meta.mode(dropna=dropna)
    return s._reduction(_vc_chunk, _ModeAgg(dropna, s._meta.name, s._meta.dtype), combine=_vc_combine_wrap(dropna),
                        meta=meta, token="mode", split_every=split_every, chunk_kwargs={"dropna": dropna})


def _unique_chunk(x: Any) -> Any:
    return pd.Series(x.unique(), name=x.name, dtype=x.dtype)


def _unique_agg(parts: list) -> Any:
    return _unique_chunk(pd.concat(parts, ignore_index=True))


def unique(s: Any, split_every: Any = None) -> Any:
    """Distinct values in order of first appearance (as a Series)."""
    meta = pd.Series([], name=s._meta.name, dtype=s._meta.dtype)
    return s._reduction(_unique_chunk, _unique_agg, meta=meta, token="unique", split_every=split_every)


def _nunique_agg(parts: list, dropna: bool = True) -> int:
    return pd.concat(parts, ignore_index=True).nunique(dropna=dropna)


def nunique(s: Any, dropna: bool = True, split_every: Any = None) -> Any:
    """Number of distinct values (lazy)."""
    return s._reduction(_unique_chunk, _NUniqueAgg(dropna), combine=_unique_agg, meta=np.int64(0), token="nunique",
                        split_every=split_every)


class _NUniqueAgg:
    def __init__(self, dropna: bool):
        self.dropna = dropna

    def __call__(self, parts: list) -> int:
        return _nunique_agg(parts, self.dropna)

    def __shoal_tokenize__(self) -> Any:
        return ("nunique-agg", self.dropna)


def _frame_unique_chunk(df: pd.DataFrame) -> dict:
    return {i: _unique_chunk(df.iloc[:, i]) for i in range(df.shape[1])}


def _frame_unique_combine(parts: list) -> dict:
    return {i: _unique_agg([p[i] for p in parts]) for i in parts[0]}


def _frame_nunique_agg(parts: list, columns: Any, dropna: bool) -> pd.Series:
    merged = _frame_unique_combine(parts)
    return pd.Series([merged[i].nunique(dropna=dropna) for i in range(len(columns))], index=columns, dtype="int64")


def frame_nunique(df: Any, dropna: bool = True, split_every: Any = None) -> Any:
    """Distinct values per column (lazy Series)."""
    meta = pd.Series([], index=df._meta.columns[:0], dtype="int64")
    return df._reduction(_frame_unique_chunk, _frame_nunique_agg, combine=_frame_unique_combine_kw, meta=meta,
                         token="nunique", split_every=split_every,
                         aggregate_kwargs={"columns": df._meta.columns, "dropna": dropna})


def _frame_unique_combine_kw(parts: list, **kw: Any) -> dict:
    return _frame_unique_combine(parts)
