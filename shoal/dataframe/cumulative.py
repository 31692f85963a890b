"""Operations whose rows depend on earlier (or later) partitions.

``cumsum``/``cumprod``/``cummax``/``cummin``, ``ffill``/``bfill``, ``shift``
and ``diff`` run on each partition, then fix its start with a *carry*
from its neighbours.  The carries form a chain of small tasks (one per
partition): carry ``i`` summarises partitions ``0..i`` (the running total
for cumulative operations, the last non-null values for ``ffill``, the
last ``n`` rows for ``shift``), so partition ``i+1`` needs only carry
``i`` and its own rows, whatever the partition lengths.  Operations that
look forward (``bfill``, negative ``shift``) chain from the last partition
back.
"""
from __future__ import annotations

from typing import Any, Callable

import numpy as np
import pandas as pd

from shoal.core.graph import LayeredGraph
from shoal.core.task import Ref, Task
from shoal.core.tokenize import tokenize
from shoal.dataframe.core import new_collection
from shoal.dataframe.utils import emulate

__all__ = ["cumulative", "fill_across", "shift_across"]


# -- cumulative reductions ---------------------------------------------------------
def _last_row(x: Any) -> Any:
    """The last row as a one-row object (None when empty)."""
    return x.iloc[-1:] if len(x) else None


def _combine(chunk: Any, carry: Any, how: str, skipna: bool) -> Any:
    """``chunk`` (already cumulated) continued from ``carry`` (a one-row object)."""
    if carry is None or len(chunk) == 0:
        return chunk
    if isinstance(chunk, pd.DataFrame):
        out = chunk.copy(deep=False)
        for j in range(chunk.shape[1]):
            out.isetitem(j, _combine_series(chunk.iloc[:, j], carry.iloc[0, j], how, skipna))
        return out
    return _combine_series(chunk, carry.iloc[0], how, skipna)


def _combine_series(s: pd.Series, c: Any, how: str, skipna: bool) -> pd.Series:
    """One column continued from the scalar running value ``c``."""
    na = pd.isna(c)
    if na:
        # nothing before (skipna), or a null that poisons the rest (skipna=False)
        return s if skipna else pd.Series(pd.NA if s.dtype.kind not in "fcmM" and s.dtype != object
                                          else np.nan, index=s.index, name=s.name).astype(s.dtype, errors="ignore")
    valid = s.notna()
    if how == "cumsum":
        new = s + c
    elif how == "cumprod":
        new = s * c
    elif how == "cummax":
        new = s.where(~(s < c).fillna(False).astype(bool), c)
    else:
        new = s.where(~(s > c).fillna(False).astype(bool), c)
    out = new.where(valid, s)
    if out.dtype != s.dtype:
        try:
            out = out.astype(s.dtype)
        except (TypeError, ValueError):
            pass
    return out


def _cum_chunk(part: Any, how: str, skipna: bool) -> Any:
    return getattr(part, how)(skipna=skipna)


def _cum_carry(prev: Any, chunk: Any, how: str, skipna: bool) -> Any:
    """Running total through this partition: its last cumulated row continued from ``prev``."""
    if len(chunk) == 0:
        return prev
    last = chunk.ffill().iloc[-1:] if skipna else chunk.iloc[-1:]
    out = _combine(last, prev, how, skipna)
    if skipna and prev is not None:
        # a column all null here keeps the running value from before
        out = pd.concat([prev, out]).ffill().iloc[-1:]
    return out


def cumulative(frame: Any, how: str, skipna: bool = True) -> Any:
    """``frame.<how>(skipna)`` across partitions (``how`` one of cumsum, cumprod, cummax, cummin)."""
    tok = tokenize(frame, how, skipna)
    cname, kname, name = f"{how}-chunk-{tok}", f"{how}-carry-{tok}", f"{how}-{tok}"
    layer: dict = {}
    for i in range(frame.npartitions):
        layer[(cname, i)] = Task(_cum_chunk, Ref((frame._name, i)), how, skipna)
        prev = Ref((kname, i - 1)) if i else None
        layer[(kname, i)] = Task(_cum_carry, prev, Ref((cname, i)), how, skipna)
        layer[(name, i)] = Task(_combine, Ref((cname, i)), prev, how, skipna)
    meta = emulate(_cum_chunk, frame._meta, how, skipna)
    graph = LayeredGraph.from_collections(name, layer, [frame])
    return new_collection(graph, name, meta, frame.divisions)


# -- ffill / bfill ------------------------------------------------------------------
def _fill_part(part: Any, carry: Any, method: str) -> Any:
    out = getattr(part, method)()
    if carry is None or len(out) == 0:
        return out
    c = carry.iloc[0]
    if isinstance(out, pd.DataFrame):
        return out.fillna(c.to_dict()) if c.notna().any() else out
    return out if pd.isna(c) else out.fillna(c)


def _fill_carry(carry: Any, part: Any, method: str) -> Any:
    """The last (ffill) or first (bfill) non-null values seen so far, as one row."""
    filled = _fill_part(part, carry, method)
    if len(filled) == 0:
        return carry
    return filled.iloc[-1:] if method == "ffill" else filled.iloc[:1]


def fill_across(frame: Any, method: str) -> Any:
    """``ffill()``/``bfill()`` where the fill value may come from another partition."""
    tok = tokenize(frame, method)
    kname, name = f"{method}-carry-{tok}", f"{method}-{tok}"
    n = frame.npartitions
    order = range(n) if method == "ffill" else range(n - 1, -1, -1)
    step = -1 if method == "ffill" else 1
    layer: dict = {}
    for i in order:
        j = i + step
        prev = Ref((kname, j)) if 0 <= j < n else None
        layer[(kname, i)] = Task(_fill_carry, prev, Ref((frame._name, i)), method)
        layer[(name, i)] = Task(_fill_part, Ref((frame._name, i)), prev, method)
    graph = LayeredGraph.from_collections(name, layer, [frame])
    return new_collection(graph, name, frame._meta, frame.divisions)


# -- shift / diff -------------------------------------------------------------------
def _edge_rows(carry: Any, part: Any, n: int, forward: bool) -> Any:
    """The ``n`` rows next to the following partition: last rows of (carry + part), or first of (part + carry)."""
    pieces = [p for p in ((carry, part) if forward else (part, carry)) if p is not None and len(p)]
    if not pieces:
        return part.iloc[:0]
    both = pd.concat(pieces) if len(pieces) > 1 else pieces[0]
    return both.iloc[-n:] if forward else both.iloc[:n]


def _shift_part(part: Any, carry: Any, func: Callable, periods: int, kwargs: dict) -> Any:
    if carry is None or len(carry) == 0:
        return func(part, periods, **kwargs)
    if periods > 0:
        both = pd.concat([carry, part])
        return func(both, periods, **kwargs).iloc[len(carry):]
    both = pd.concat([part, carry])
    return func(both, periods, **kwargs).iloc[:len(part)]


def shift_across(frame: Any, func: Callable, periods: int, token: str, **kwargs: Any) -> Any:
    """``func(partition, periods, **kwargs)`` (shift or diff) with rows borrowed across partitions."""
    periods = int(periods)
    meta = emulate(func, frame._meta, periods, **kwargs)
    tok = tokenize(frame, func, periods, kwargs)
    kname, name = f"{token}-edge-{tok}", f"{token}-{tok}"
    n = frame.npartitions
    forward = periods >= 0
    order = range(n) if forward else range(n - 1, -1, -1)
    step = -1 if forward else 1
    layer: dict = {}
    for i in order:
        j = i + step
        prev = Ref((kname, j)) if 0 <= j < n and periods else None
        layer[(kname, i)] = Task(_edge_rows, prev, Ref((frame._name, i)), abs(periods), forward)
        layer[(name, i)] = Task(_shift_part, Ref((frame._name, i)), prev, func, periods, kwargs)
    graph = LayeredGraph.from_collections(name, layer, [frame])
    return new_collection(graph, name, meta, frame.divisions)


def shift_rows(df: Any, periods: int, **kwargs: Any) -> Any:
    return df.shift(periods, **kwargs)


def ffill_rows(df: Any, periods: int) -> Any:
    return df.ffill(limit=periods)


def bfill_rows(df: Any, periods: int) -> Any:
    return df.bfill(limit=-periods)


def diff_rows(df: Any, periods: int, **kwargs: Any) -> Any:
    return df.diff(periods, **kwargs)
