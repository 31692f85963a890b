"""Rolling windows across partition edges, and ``map_overlap``.

A window at the start of partition ``i`` needs rows from the end of
partition ``i-1`` (and, when that partition is short, from earlier ones).
Each partition gets a *tail* task: the last rows of (previous tail +
this partition) that a window reaching back from the next partition can
need (``window - 1`` rows for a row-count window, rows within the window's
time span for a time window).  Tails chain, so any partition length works.
Partition ``i`` then computes on (tail of ``i-1`` + partition ``i``) and
drops the borrowed rows.  ``center=True`` or ``after > 0`` also borrow the
head of the next partition.
"""
from __future__ import annotations

from typing import Any, Callable

import pandas as pd

from shoal.core.graph import LayeredGraph
from shoal.core.task import Ref, Task
from shoal.core.tokenize import tokenize
from shoal.utils import funcname
from shoal.dataframe import core
from shoal.dataframe.utils import emulate

__all__ = ["Rolling", "map_overlap"]


def _tail_rows(prev: Any, part: Any, before: Any) -> Any:
    both = part if prev is None or len(prev) == 0 else pd.concat([prev, part])
    if isinstance(before, int):
        return both.iloc[max(0, len(both) - before):] if before > 0 else both.iloc[:0]
    if len(both) == 0:
        return both
    cutoff = both.index[-1] - pd.Timedelta(before)
    return both[both.index > cutoff]


def _head_rows(part: Any, after: Any) -> Any:
    if isinstance(after, int):
        return part.iloc[:after]
    if len(part) == 0:
        return part
    return part[part.index < part.index[0] + pd.Timedelta(after)]


def _overlap_apply(prev: Any, part: Any, nxt: Any, func: Callable, args: tuple, kwargs: dict) -> Any:
    pieces = [p for p in (prev, part, nxt) if p is not None and len(p)]
    if not pieces:
        return func(part, *args, **kwargs)
    both = pd.concat(pieces) if len(pieces) > 1 else pieces[0]
    out = func(both, *args, **kwargs)
    start = 0 if prev is None else len(prev)
    stop = start + len(part)
    return out.iloc[start:stop]


def map_overlap(func: Callable, frame: Any, before: Any, after: Any, *args: Any, meta: Any = core.no_default,
                **kwargs: Any) -> Any:
    """``func`` on each partition extended by ``before`` rows (or a time span) of
    its predecessors and ``after`` of its successor; the borrowed rows are
    dropped from the result."""
    if isinstance(before, str):
        before = pd.Timedelta(before)
    if isinstance(after, str):
        after = pd.Timedelta(after)
    if not isinstance(before, int) and not isinstance(frame._meta.index, pd.DatetimeIndex):
        raise TypeError("a time-based window needs a DatetimeIndex; set_index on a datetime column first")
    tok = tokenize(frame, func, before, after, args, kwargs)
    tname = f"overlap-tail-{tok}"
    hname = f"overlap-head-{tok}"
    name = f"overlap-{funcname(func)}-{tok}"
    n = frame.npartitions
    layer: dict = {}
    for i in range(n):
        prev = Ref((tname, i - 1)) if i > 0 else None
        layer[(tname, i)] = Task(_tail_rows, prev, Ref((frame._name, i)), before)
        if after:
            layer[(hname, i)] = Task(_head_rows, Ref((frame._name, i)), after)
    for i in range(n):
        prev = Ref((tname, i - 1)) if i > 0 else None
        nxt = Ref((hname, i + 1)) if (after and i < n - 1) else None
        layer[(name, i)] = Task(_overlap_apply, prev, Ref((frame._name, i)), nxt, func, args, kwargs)
    if meta is core.no_default:
        meta = emulate(func, frame._meta, *args, **kwargs)
    graph = LayeredGraph.from_collections(name, layer, [frame])
    return core.new_collection(graph, name, meta, frame.divisions)


def _rolling_call(df: Any, window: Any, rkw: dict, method: str, margs: tuple, mkw: dict) -> Any:
    return getattr(df.rolling(window, **rkw), method)(*margs, **mkw)


class Rolling:
    """``df.rolling(window)``: row-count or time windows across partitions."""

    def __init__(self, frame: Any, window: Any, min_periods: int | None = None, center: bool = False, **kwargs: Any):
        if kwargs.get("axis") not in (None, 0):
            raise NotImplementedError("rolling(axis=1) is not supported")
        self.frame = frame
        self.window = window
        self.rkw = dict(min_periods=min_periods, center=center, **kwargs)
        self.center = center

    def _call(self, method: str, *args: Any, **kwargs: Any) -> Any:
        w = self.window
        if isinstance(w, int):
            before = w - 1 if not self.center else w // 2 + 1
            after = 0 if not self.center else w // 2 + 1
        else:
            if self.center:
                raise NotImplementedError("center=True with a time window is not supported")
            before, after = pd.Timedelta(w), 0
        meta = emulate(_rolling_call, self.frame._meta, w, self.rkw, method, args, kwargs)
        return map_overlap(_rolling_call, self.frame, before, after, w, self.rkw, method, args, kwargs, meta=meta)

    def sum(self):
        return self._call("sum")

    def mean(self):
        return self._call("mean")

    def min(self):
        return self._call("min")

    def max(self):
        return self._call("max")

    def count(self):
        return self._call("count")

    def std(self, ddof: int = 1):
        return self._call("std", ddof=ddof)

    def var(self, ddof: int = 1):
        return self._call("var", ddof=ddof)

    def median(self):
        return self._call("median")

    def apply(self, func: Callable, raw: bool = False, args: tuple = (), kwargs: dict | None = None):
        return self._call("apply", func, raw=raw, args=args, kwargs=kwargs or {})

    def agg(self, func: Any):
        return self._call("agg", func)
