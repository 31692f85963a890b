"""Reductions over all partitions: per-partition pieces combined in a tree.

Each reduction is three pure functions: ``chunk`` (one partition -> a small
piece), ``combine`` (a list of pieces -> one piece, used when there are more
than ``split_every`` of them) and ``aggregate`` (pieces -> the answer).
Means carry ``(sum, count)``; variances carry ``(count, mean, M2)`` and
merge with Chan's parallel formula (no catastrophic cancellation).
"""
from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from shoal.dataframe import methods as M

__all__ = ["simple_reduction", "mean", "var", "quantile", "describe", "drop_duplicates",
           "value_counts", "unique", "nunique", "frame_nunique"]


def _chunk(x: Any, how: str, **kw: Any) -> Any:
    return getattr(x, how)(**kw)


def _agg(parts: list, how: str, **kw: Any) -> Any:
    how2 = "sum" if how == "count" else how
    if isinstance(parts[0], pd.Series):
        df = pd.concat(parts, axis=1)
        return getattr(df, how2)(axis=1, **kw)
    s = pd.Series(parts)
    out = getattr(s, how2)(**kw)
    return out


def simple_reduction(frame: Any, how: str, split_every: Any = None, skipna: bool = True,
                     numeric_only: bool = False) -> Any:
    ck: dict = {}
    ak: dict = {}
    if how in ("sum", "prod", "min", "max", "any", "all"):
        ck["skipna"] = skipna
        ak["skipna"] = skipna
    if numeric_only and frame.ndim == 2:
        ck["numeric_only"] = True
    meta_src = frame._meta_nonempty
    meta = getattr(meta_src, how)(**ck)
    if isinstance(meta, pd.Series):
        meta = meta.iloc[:0]
    return frame._reduction(_chunk, _agg, meta=meta, token=how, split_every=split_every,
                            chunk_kwargs=dict(how=how, **ck), aggregate_kwargs=dict(how=how, **ak))


# -- mean -------------------------------------------------------------------------
def _mean_chunk(x: Any, numeric_only: bool = False) -> tuple:
    if isinstance(x, pd.DataFrame):
        if numeric_only:
            x = x.select_dtypes("number")
        return (x.sum(), x.count())
    return (x.sum(), x.count())


def _mean_agg(parts: list) -> Any:
    s = parts[0][0]
    c = parts[0][1]
    for a, b in parts[1:]:
        s = s + a
        c = c + b
    if isinstance(s, pd.Series):
        return s / c
    return s / c if c else np.nan


def _mean_combine(parts: list) -> tuple:
    s, c = parts[0]
    for a, b in parts[1:]:
        s = s + a
        c = c + b
    return (s, c)


def mean(frame: Any, skipna: bool = True, numeric_only: bool = False, split_every: Any = None) -> Any:
    meta = frame._meta_nonempty.mean(numeric_only=numeric_only) if frame.ndim == 2 else frame._meta_nonempty.mean()
    if isinstance(meta, pd.Series):
        meta = meta.iloc[:0]
    ck = {"numeric_only": numeric_only} if frame.ndim == 2 else {}
    return frame._reduction(_mean_chunk, _mean_agg, combine=_mean_combine, meta=meta, token="mean",
                            split_every=split_every, chunk_kwargs=ck)


# -- var / std --------------------------------------------------------------------
def _var_chunk(x: Any, numeric_only: bool = False) -> tuple:
    if isinstance(x, pd.DataFrame):
        x = x.select_dtypes("number") if numeric_only else x
        x = x.astype("float64")
    else:
        x = x.astype("float64")
    n = x.count()
    m = x.mean()
    m2 = ((x - m) ** 2).sum()
    return (n, m, m2)


def _var_merge(a: tuple, b: tuple) -> tuple:
    na, ma, m2a = a
    nb, mb, m2b = b
    n = na + nb
    if isinstance(n, pd.Series):
        ma = ma.fillna(0)
        mb = mb.fillna(0)
        d = mb - ma
        with np.errstate(invalid="ignore", divide="ignore"):
            frac = (nb / n).fillna(0)
        m = ma + d * frac
        m2 = m2a + m2b + d ** 2 * na * frac
        return (n, m, m2)
    if na == 0:
        return b
    if nb == 0:
        return a
    d = mb - ma
    m = ma + d * nb / n
    m2 = m2a + m2b + d * d * na * nb / n
    return (n, m, m2)


def _var_combine(parts: list) -> tuple:
    acc = parts[0]
    for p in parts[1:]:
        acc = _var_merge(acc, p)
    return acc


def _var_agg(parts: list, ddof: int = 1, sqrt: bool = False) -> Any:
    n, m, m2 = _var_combine(parts)
    with np.errstate(invalid="ignore", divide="ignore"):
        if isinstance(n, pd.Series):
            v = m2 / (n - ddof).where(n - ddof > 0)
        else:
            v = m2 / (n - ddof) if n - ddof > 0 else np.nan
    return np.sqrt(v) if sqrt else v


def var(frame: Any, ddof: int = 1, numeric_only: bool = False, split_every: Any = None, sqrt: bool = False) -> Any:
    src = frame._meta_nonempty
    meta = (src.std if sqrt else src.var)(**({"numeric_only": numeric_only} if frame.ndim == 2 else {}))
    if isinstance(meta, pd.Series):
        meta = meta.iloc[:0]
    ck = {"numeric_only": numeric_only} if frame.ndim == 2 else {}
    return frame._reduction(_var_chunk, _var_agg_wrap(ddof, sqrt), combine=_var_combine, meta=meta,
                         token="std" if sqrt else "var", split_every=split_every, chunk_kwargs=ck)


class _var_agg_wrap:
    """``_var_agg`` with ddof/sqrt bound (combine takes no keywords)."""

    def __init__(self, ddof: int, sqrt: bool):
        self.ddof = ddof
        self.sqrt = sqrt

    def __call__(self, parts: list) -> Any:
        return _var_agg(parts, self.ddof, self.sqrt)

    def __shoal_tokenize__(self) -> Any:
        return ("var-agg", self.ddof, self.sqrt)


# -- approximate quantiles -----------------------------------------------------------
_GRID = np.linspace(0, 1, 1001)


def _q_chunk(x: Any, numeric_only: bool = False) -> Any:
    if isinstance(x, pd.DataFrame):
        x = x.select_dtypes("number") if numeric_only else x
        return {c: _q_chunk(x[c]) for c in x.columns}
    v = x.dropna().to_numpy()
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
    vals = np.concatenate([p[0] for p in pieces]).astype("float64")
    w = np.concatenate([np.full(len(p[0]), p[1] / len(p[0])) for p in pieces])
    order = np.argsort(vals, kind="stable")
    vals, w = vals[order], w[order]
    cw = np.cumsum(w) - w / 2
    cw = cw / w.sum()
    return np.interp(qs, cw, vals)


def _q_agg(parts: list, q: Any, name: Any, is_frame: bool) -> Any:
    qs = np.atleast_1d(np.asarray(q, dtype=float))
    scalar_q = np.ndim(q) == 0
    if is_frame:
        cols = list(parts[0])
        data = {c: _weighted_quantile([p[c] for p in parts], qs) for c in cols}
        out = pd.DataFrame(data, index=qs)
        return out.iloc[0].rename(qs[0]) if scalar_q else out
    res = _weighted_quantile(parts, qs)
    if scalar_q:
        return res[0]
    return pd.Series(res, index=qs, name=name)


class _QAgg:
    def __init__(self, q: Any, name: Any, is_frame: bool):
        self.q, self.name, self.is_frame = q, name, is_frame

    def __call__(self, parts: list) -> Any:
        return _q_agg(parts, self.q, self.name, self.is_frame)

    def __shoal_tokenize__(self) -> Any:
        return ("q-agg", repr(self.q), repr(self.name), self.is_frame)


def quantile(frame: Any, q: Any = 0.5, numeric_only: bool = False) -> Any:
    is_frame = frame.ndim == 2
    src = frame._meta_nonempty
    if is_frame:
        src = src.select_dtypes("number") if numeric_only else src
    meta = src.quantile(q)
    if isinstance(meta, (pd.Series, pd.DataFrame)):
        meta = meta.iloc[:0]
    else:
        meta = np.float64(0)
    ck = {"numeric_only": numeric_only} if is_frame else {}
    return frame._reduction(_q_chunk, _QAgg(q, frame._meta.name if not is_frame else None, is_frame),
                            combine=_list_flatten, meta=meta, token="quantile", split_every=10**9,
                            chunk_kwargs=ck)


def _list_flatten(parts: list) -> list:
    return parts


def describe(frame: Any, percentiles: Any = None) -> Any:
    """count, mean, std, min, percentiles (approximate), max of numeric columns."""
    from shoal.base import compute

    percentiles = [0.25, 0.5, 0.75] if percentiles is None else list(percentiles)
    if frame.ndim == 2:
        num = frame.select_dtypes("number")
    else:
        num = frame
    parts = compute(num.count(), num.mean(), num.std(), num.min(), num.quantile(percentiles), num.max())
    count, mean_, std, mn, qs, mx = parts
    if frame.ndim == 2:
        rows = [count, mean_, std, mn] + [qs.loc[p] for p in percentiles] + [mx]
        names = ["count", "mean", "std", "min"] + [f"{int(p * 100) if p * 100 == int(p * 100) else p * 100}%" for p in percentiles] + ["max"]
        out = pd.DataFrame([r.astype("float64") for r in rows], index=names)
        return out
    vals = [count, mean_, std, mn] + list(qs.values) + [mx]
    names = ["count", "mean", "std", "min"] + [f"{int(p * 100) if p * 100 == int(p * 100) else p * 100}%" for p in percentiles] + ["max"]
    return pd.Series(np.asarray(vals, dtype="float64"), index=names, name=frame._meta.name)


# -- distinct values -------------------------------------------------------------------
def _dd_chunk(x: Any, subset: Any = None, keep: str = "first") -> Any:
    if isinstance(x, pd.DataFrame):
        return x.drop_duplicates(subset=subset, keep=keep)
    return x.drop_duplicates(keep=keep)


def _dd_agg(parts: list, subset: Any = None, keep: str = "first") -> Any:
    return _dd_chunk(M.concat(parts), subset=subset, keep=keep)


def drop_duplicates(frame: Any, subset: Any = None, keep: str = "first", split_every: Any = None) -> Any:
    if keep not in ("first", "last"):
        raise NotImplementedError("drop_duplicates(keep=False) is not supported; use keep='first' or 'last'")
    ck = {"subset": subset, "keep": keep} if frame.ndim == 2 else {"keep": keep}
    return frame._reduction(_dd_chunk, _dd_agg, meta=frame._meta, token="drop-duplicates",
                            split_every=split_every, chunk_kwargs=ck, aggregate_kwargs=ck)


def _vc_chunk(x: Any, dropna: bool = True) -> Any:
    return x.value_counts(dropna=dropna, sort=False)


def _vc_combine(parts: list, dropna: bool = True) -> Any:
    s = pd.concat(parts)
    return s.groupby(level=0, dropna=dropna, sort=False).sum()


def _vc_agg(parts: list, dropna: bool = True, sort: bool = True, ascending: bool = False,
            normalize: bool = False) -> Any:
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
    meta = s._meta.value_counts(normalize=normalize)
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


def _unique_chunk(x: Any) -> Any:
    return pd.Series(x.unique(), name=x.name, dtype=x.dtype)


def _unique_agg(parts: list) -> Any:
    return _unique_chunk(pd.concat(parts, ignore_index=True))


def unique(s: Any, split_every: Any = None) -> Any:
    meta = pd.Series([], name=s._meta.name, dtype=s._meta.dtype)
    return s._reduction(_unique_chunk, _unique_agg, meta=meta, token="unique", split_every=split_every)


def _nunique_agg(parts: list, dropna: bool = True) -> int:
    return pd.concat(parts, ignore_index=True).nunique(dropna=dropna)


def nunique(s: Any, dropna: bool = True, split_every: Any = None) -> Any:
    return s._reduction(_unique_chunk, _NUniqueAgg(dropna), combine=_unique_agg, meta=np.int64(0), token="nunique",
                     split_every=split_every)


class _NUniqueAgg:
    def __init__(self, dropna: bool):
        self.dropna = dropna

    def __call__(self, parts: list) -> int:
        return _nunique_agg(parts, self.dropna)

    def __shoal_tokenize__(self) -> Any:
        return ("nunique-agg", self.dropna)


def frame_nunique(df: Any, dropna: bool = True) -> Any:
    from shoal.base import compute

    cols = list(df.columns)
    vals = compute(*[df[c].nunique(dropna=dropna) for c in cols])
    return pd.Series(list(vals), index=df._meta.columns, dtype="int64")
