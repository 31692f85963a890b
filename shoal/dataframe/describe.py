"""``describe()``: one lazy reduction that summarises every column at once.

Each partition reports, per column: for numbers, their central moments,
min, max and a quantile sketch; for datetimes, the same on nanoseconds (the
mean from an exact integer sum); for everything else (strings, categories,
bools), its value counts.  The final step builds pandas' table, with rows
and dtypes taken from ``pandas.describe`` run on a stand-in of the data, so
the layout is pandas' own.  Percentiles are approximate like
``quantile`` (exact while each partition holds at most 1001 values).
"""
from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from shoal.dataframe.moments import moments_chunk, moments_finish, moments_merge
from shoal.dataframe.reductions import _q_chunk, _vc_combine, _weighted_quantile, from_i8, to_i8
from shoal.dataframe.utils import meta_nonempty

__all__ = ["describe"]


def _kind(dtype: Any) -> str:
    if pd.api.types.is_bool_dtype(dtype):
        return "cat"
    if dtype.kind in "M":
        return "time"
    if pd.api.types.is_numeric_dtype(dtype) and not isinstance(dtype, pd.CategoricalDtype):
        return "num"
    return "cat"


def _chunk(x: Any, kinds: dict) -> dict:
    df = x if isinstance(x, pd.DataFrame) else x.to_frame()
    out = {}
    for i, kind in kinds.items():
        s = df.iloc[:, i]
        if kind == "cat":
            out[i] = ("cat", s.value_counts(dropna=True, sort=False))
            continue
        if kind == "time":
            v = to_i8(s)
            num = pd.Series(v.astype("float64"))
            extra = (int(v.astype(object).sum()) if len(v) else 0, int(v.min()) if len(v) else None,
                     int(v.max()) if len(v) else None)
        else:
            num = s
            extra = (None, s.min() if s.notna().any() else None, s.max() if s.notna().any() else None)
        out[i] = (kind, moments_chunk(num, 2), _q_chunk(num), extra)
    return out


def _merge_extra(a: tuple, b: tuple) -> tuple:
    s = None if a[0] is None else a[0] + b[0]
    lo = [v for v in (a[1], b[1]) if v is not None]
    hi = [v for v in (a[2], b[2]) if v is not None]
    return (s, min(lo) if lo else None, max(hi) if hi else None)


def _combine(parts: list, **kw: Any) -> dict:
    out = {}
    for i, first in parts[0].items():
        if first[0] == "cat":
            out[i] = ("cat", _vc_combine([p[i][1] for p in parts]))
            continue
        m, sketch, extra = first[1], [first[2]], first[3]
        for p in parts[1:]:
            m = moments_merge(m, p[i][1])
            sketch.append(p[i][2])
            extra = _merge_extra(extra, p[i][3])
        out[i] = (first[0], m, _flatten(sketch), extra)
    return out


def _flatten(sketches: list) -> Any:
    flat = []
    for s in sketches:
        flat.extend(s if isinstance(s, list) else [s])
    return flat


def _column(piece: tuple, pcts: list, labels: list, dtype: Any) -> pd.Series:
    if piece[0] == "cat":
        counts = piece[1]
        counts = counts[counts > 0].sort_values(ascending=False, kind="stable")
        n = int(counts.sum())
        if len(counts):
            return pd.Series([n, len(counts), counts.index[0], int(counts.iloc[0])],
                             index=["count", "unique", "top", "freq"], dtype=object)
        return pd.Series([n, 0, np.nan, np.nan], index=["count", "unique", "top", "freq"], dtype=object)
    kind, m, sketch, extra = piece
    sketch = sketch if isinstance(sketch, list) else [sketch]
    n = m[0][0]
    qs = _weighted_quantile(sketch, np.asarray(pcts))
    if kind == "time":
        def ts(v: Any) -> Any:
            if v is None:
                return pd.NaT
            return from_i8([v], dtype)[0]

        mean = ts(extra[0] / n) if n else pd.NaT
        vals = [int(n), mean, ts(extra[1])] + [ts(q) for q in qs] + [ts(extra[2])]
        return pd.Series(vals, index=["count", "mean", "min"] + labels + ["max"], dtype=object)
    mean = moments_finish(m, "mean")[0]
    std = moments_finish(m, "std")[0]
    lo = np.nan if extra[1] is None else float(extra[1])
    hi = np.nan if extra[2] is None else float(extra[2])
    vals = [n, mean, std, lo] + list(qs) + [hi]
    return pd.Series(vals, index=["count", "mean", "std", "min"] + labels + ["max"], dtype="float64")


def _agg(parts: list, kinds: dict, pcts: list, labels: list, meta: Any, time_dtypes: dict) -> Any:
    merged = _combine(parts)
    frame = isinstance(meta, pd.DataFrame)
    cols = list(meta.columns) if frame else [meta.name]
    dtypes = list(meta.dtypes) if frame else [meta.dtype]
    series = []
    for j, i in enumerate(kinds):
        s = _column(merged[i], pcts, labels, time_dtypes.get(i))
        series.append(s)
    out = pd.concat(series, axis=1) if series else pd.DataFrame(index=meta.index)
    out = out.reindex(meta.index)
    out.columns = pd.Index(cols) if frame else [0]
    for j, c in enumerate(out.columns):
        try:
            out[c] = out[c].astype(dtypes[j])
        except (TypeError, ValueError):
            pass
    if frame:
        out.columns = meta.columns
        return out
    return out.iloc[:, 0].rename(meta.name)


class _Agg:
    def __init__(self, kinds: dict, pcts: list, labels: list, meta: Any, time_dtypes: dict):
        self.kinds, self.pcts, self.labels, self.meta = kinds, pcts, labels, meta
        self.time_dtypes = time_dtypes

    def __call__(self, parts: list) -> Any:
        return _agg(parts, self.kinds, self.pcts, self.labels, self.meta, self.time_dtypes)

    def __shoal_tokenize__(self) -> Any:
        return ("describe-agg", repr(self.kinds), repr(self.pcts), repr(self.meta.dtypes if self.meta.ndim == 2
                                                                     else self.meta.dtype), repr(self.meta.index))


def describe(frame: Any, percentiles: Any = None, include: Any = None, exclude: Any = None) -> Any:
    """Lazy summary statistics in pandas' layout (percentiles approximate, see ``quantile``)."""
    kw = {"percentiles": percentiles}
    if frame.ndim == 2:
        kw.update(include=include, exclude=exclude)
    meta_full = meta_nonempty(frame._meta).describe(**kw)
    if frame.ndim == 2:
        cols = list(meta_full.columns)
        if cols != list(frame._meta.columns):
            frame = frame[cols]
        dts = list(frame._meta.dtypes)
    else:
        dts = [frame._meta.dtype]
    kinds = {i: _kind(dt) for i, dt in enumerate(dts)}
    time_dtypes = {i: dt for i, dt in enumerate(dts) if kinds[i] == "time"}
    labels = [str(x) for x in meta_full.index if str(x).endswith("%")]
    pcts = sorted(set([0.25, 0.5, 0.75] if percentiles is None else list(percentiles)) | {0.5})
    if len(pcts) != len(labels):
        pcts = sorted(set(pcts))
    meta = meta_full.iloc[:0] if frame.ndim == 1 else meta_full.iloc[:0]
    meta_for_agg = meta_full
    red = frame._reduction(_chunk, _Agg(kinds, pcts, labels, meta_for_agg, time_dtypes), combine=_combine, meta=meta,
                           token="describe", chunk_kwargs={"kinds": kinds}, split_every=8)
    return red
