"""``mean var std sem skew kurt`` of frames and series from mergeable central moments.

Each partition reports, per column, ``n`` (non-missing values), their mean,
the central sums ``M2 = sum((x - mean)**2)``, ``M3`` and ``M4`` (only as
many as the statistic needs) and the number of missing values.  Two such
summaries merge exactly with the pairwise update formulas for central
moments, so the answer does not depend on how rows fall into partitions and
data far from zero loses no precision (no ``sum(x**2) - sum(x)**2/n``).
The finishing formulas are pandas' own (bias-corrected ``skew`` and
``kurt``, ``ddof`` for ``var/std/sem``).
"""
from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

__all__ = ["moments_reduction", "moments_chunk", "moments_merge", "moments_finish"]

_ORDER = {"mean": 1, "var": 2, "std": 2, "sem": 2, "skew": 3, "kurt": 4}


def moments_chunk(x: Any, order: int) -> tuple:
    """``(n, mean, M2, M3, M4, n_missing)`` arrays, one entry per column."""
    if isinstance(x, pd.DataFrame):
        bad = [c for c, dt in x.dtypes.items() if dt.kind in "mM"]
        a = x.to_numpy(dtype="float64", na_value=np.nan) if x.shape[1] else np.empty((len(x), 0))
    else:
        bad = [x.name] if x.dtype.kind in "mM" else []
        a = x.to_numpy(dtype="float64", na_value=np.nan)[:, None]
    if bad:
        raise NotImplementedError(f"moments of datetime or timedelta columns {bad} are not supported; "
                                  "convert them first, e.g. s.astype('int64')")
    nan = np.isnan(a)
    n = (~nan).sum(axis=0).astype("float64")
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.where(n > 0, np.where(nan, 0.0, a).sum(axis=0) / np.where(n > 0, n, 1), 0.0)
    d = np.where(nan, 0.0, a - mean)
    out = [n, mean, None, None, None, nan.sum(axis=0)]
    if order >= 2:
        d2 = d * d
        out[2] = d2.sum(axis=0)
        if order >= 3:
            out[3] = (d2 * d).sum(axis=0)
        if order >= 4:
            out[4] = (d2 * d2).sum(axis=0)
    return tuple(out)


def moments_merge(a: tuple, b: tuple) -> tuple:
    """Summary of the union of two disjoint sets of rows."""
    na, ma, m2a, m3a, m4a, za = a
    nb, mb, m2b, m3b, m4b, zb = b
    n = na + nb
    with np.errstate(invalid="ignore", divide="ignore"):
        safe = np.where(n > 0, n, 1.0)
        delta = mb - ma
        fb = nb / safe
        mean = ma + delta * fb
        m2 = m3 = m4 = None
        if m2a is not None:
            m2 = m2a + m2b + delta * delta * na * fb
        if m3a is not None:
            m3 = (m3a + m3b + delta ** 3 * na * nb * (na - nb) / safe ** 2
                  + 3.0 * delta * (na * m2b - nb * m2a) / safe)
        if m4a is not None:
            m4 = (m4a + m4b + delta ** 4 * na * nb * (na * na - na * nb + nb * nb) / safe ** 3
                  + 6.0 * delta * delta * (na * na * m2b + nb * nb * m2a) / safe ** 2
                  + 4.0 * delta * (na * m3b - nb * m3a) / safe)
    return (n, mean, m2, m3, m4, za + zb)


def _zero_small(x: np.ndarray) -> np.ndarray:
    return np.where(np.abs(x) < 1e-14, 0.0, x)


def moments_finish(m: tuple, how: str, skipna: bool = True, ddof: int = 1) -> np.ndarray:
    """The statistic per column (float64 array)."""
    n, mean, m2, m3, m4, nmiss = m
    with np.errstate(invalid="ignore", divide="ignore"):
        if how == "mean":
            out = np.where(n > 0, mean, np.nan)
        elif how in ("var", "std", "sem"):
            out = np.where(n - ddof > 0, m2 / (n - ddof), np.nan)
            out = np.maximum(out, 0.0)
            if how == "std":
                out = np.sqrt(out)
            elif how == "sem":
                out = np.sqrt(out) / np.sqrt(n)
        elif how == "skew":
            m2z, m3z = _zero_small(m2), _zero_small(m3)
            out = (n * (n - 1) ** 0.5 / (n - 2)) * (m3z / m2z ** 1.5)
            out = np.where(m2z == 0, np.nan, out)  # constant data: undefined (pandas 3 gives NaN)
            out = np.where(n < 3, np.nan, out)
        elif how == "kurt":
            adj = 3 * (n - 1) ** 2 / ((n - 2) * (n - 3))
            numer = _zero_small(n * (n + 1) * (n - 1) * m4)
            denom = _zero_small((n - 2) * (n - 3) * m2 ** 2)
            out = np.where(denom == 0, np.nan, numer / np.where(denom == 0, 1.0, denom) - adj)
            out = np.where(n < 4, np.nan, out)
        else:
            raise ValueError(how)
    if not skipna:
        out = np.where(nmiss > 0, np.nan, out)
    return out


def _chunk(x: Any, order: int) -> tuple:
    return moments_chunk(x, order)


def _combine(parts: list, **kw: Any) -> tuple:
    acc = parts[0]
    for p in parts[1:]:
        acc = moments_merge(acc, p)
    return acc


def _agg(parts: list, how: str, skipna: bool, ddof: int, columns: Any) -> Any:
    vals = moments_finish(_combine(parts), how, skipna=skipna, ddof=ddof)
    if columns is None:
        return np.float64(vals[0])
    return pd.Series(vals, index=columns, dtype="float64")


def moments_reduction(frame: Any, how: str, kw: dict, meta: Any, split_every: Any) -> Any:
    """The lazy reduction (``frame`` already holds only the columns to reduce)."""
    columns = frame._meta.columns if frame.ndim == 2 else None
    return frame._reduction(_chunk, _agg, combine=_combine, meta=meta, token=how, split_every=split_every,
                            chunk_kwargs={"order": _ORDER[how]},
                            aggregate_kwargs={"how": how, "skipna": kw.get("skipna", True),
                                              "ddof": kw.get("ddof", 1), "columns": columns})


# -- covariance and correlation -------------------------------------------------------------
def comoments_chunk(x: Any) -> tuple:
    """Pairwise-complete ``(n, mean_i, mean_j, C, Q_i, Q_j)`` matrices for the columns of ``x``.

    Entry ``[i, j]`` covers the rows where columns ``i`` and ``j`` are both
    present: their count, the two means over those rows, the co-moment
    ``sum((xi - mi)(xj - mj))`` and each column's own ``M2`` over those rows.
    Values are shifted by the column mean first, so large offsets cancel.
    """
    a = x.to_numpy(dtype="float64", na_value=np.nan)
    present = ~np.isnan(a)
    with np.errstate(invalid="ignore", divide="ignore"):
        shift = np.where(present.any(axis=0), np.nanmean(np.where(present, a, np.nan), axis=0), 0.0) \
            if len(a) else np.zeros(a.shape[1])
    z = np.where(present, a - shift, 0.0)
    m = present.astype("float64")
    n = m.T @ m
    s_i = z.T @ m  # [i, j]: sum of column i over rows where j is present (and i, since z is 0 elsewhere)
    s_j = s_i.T
    with np.errstate(invalid="ignore", divide="ignore"):
        mi = np.where(n > 0, s_i / np.where(n > 0, n, 1), 0.0)
        mj = mi.T
        c = z.T @ z - n * mi * mj
        q2 = (z * z).T @ m
        qi = q2 - n * mi * mi
        qj = qi.T
    return (n, mi + shift[:, None], mj + shift[None, :], c, qi, qj)


def comoments_merge(a: tuple, b: tuple) -> tuple:
    na, mia, mja, ca, qia, qja = a
    nb, mib, mjb, cb, qib, qjb = b
    n = na + nb
    with np.errstate(invalid="ignore", divide="ignore"):
        safe = np.where(n > 0, n, 1.0)
        di, dj = mib - mia, mjb - mja
        w = na * nb / safe
        return (n, mia + di * nb / safe, mja + dj * nb / safe, ca + cb + di * dj * w,
                qia + qib + di * di * w, qja + qjb + dj * dj * w)


def _co_combine(parts: list, **kw: Any) -> tuple:
    acc = parts[0]
    for p in parts[1:]:
        acc = comoments_merge(acc, p)
    return acc


def _co_agg(parts: list, corr: bool, min_periods: int, ddof: int, columns: Any, scalar: bool) -> Any:
    n, _, _, c, qi, qj = _co_combine(parts)
    with np.errstate(invalid="ignore", divide="ignore"):
        if corr:
            out = c / np.sqrt(qi * qj)
            out = np.clip(out, -1.0, 1.0)
        else:
            out = c / (n - ddof)
            out = np.where(n - ddof > 0, out, np.nan)
    out = np.where(n >= max(min_periods, 1 if corr else 1), out, np.nan)
    if corr:
        out = np.where(n < 2, np.nan, out)
    if scalar:
        return np.float64(out[0, 1])
    return pd.DataFrame(out, index=columns, columns=columns)


def cov_corr(frame: Any, corr: bool = False, min_periods: int | None = None, ddof: int = 1,
             numeric_only: bool = False, split_every: Any = None, scalar: bool = False) -> Any:
    """Lazy ``DataFrame.cov``/``corr`` (Pearson), from merged pairwise co-moments."""
    from shoal.dataframe.utils import meta_nonempty

    if scalar:
        meta = np.float64(0)
    else:
        kw = {"numeric_only": numeric_only}
        meta = (meta_nonempty(frame._meta).corr if corr else meta_nonempty(frame._meta).cov)(**kw)
        cols = list(meta.columns)
        if cols != list(frame._meta.columns):
            frame = frame[cols]
        meta = meta.iloc[:0]
        bad = [c for c, dt in frame._meta.dtypes.items() if dt.kind in "mM"]
        if bad:
            raise NotImplementedError(f"cov/corr of datetime columns {bad} is not supported")
    columns = frame._meta.columns if not scalar else None
    return frame._reduction(comoments_chunk, _co_agg, combine=_co_combine, meta=meta,
                            token="corr" if corr else "cov", split_every=split_every,
                            aggregate_kwargs={"corr": corr, "min_periods": min_periods or 1, "ddof": ddof,
                                              "columns": columns, "scalar": scalar})
