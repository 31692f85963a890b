"""``resample`` on a datetime index with known divisions.

No bin may straddle two partitions, so the frame is first repartitioned
at bin edges (each old division moves back to the start of its bin);
then each partition resamples on its own, with the bin origin fixed for
all of them (pandas' default ``origin='start_day'`` is the midnight of the
first row, found once), and is filled out with the empty bins of its range
so the result has every bin pandas gives.  Bins closed and labelled on the
left (pandas' default for fixed and start-anchored frequencies) are
supported; others raise NotImplementedError.
"""
from __future__ import annotations

from typing import Any

import pandas as pd

from shoal.dataframe.core import new_collection

__all__ = ["Resampler"]

_AGGS = ("sum", "mean", "count", "size", "min", "max", "first", "last", "median", "var", "std", "nunique", "prod")


def _origin(rule: Any, origin: Any) -> dict:
    """``origin=`` only for fixed-length frequencies (calendar ones anchor themselves)."""
    return {"origin": origin} if isinstance(pd.tseries.frequencies.to_offset(rule), pd.offsets.Tick) else {}


def _bin_start(t: pd.Timestamp, rule: Any, origin: Any) -> pd.Timestamp:
    """The left edge of the bin holding ``t``."""
    s = pd.Series([0], index=pd.DatetimeIndex([t]))
    return s.resample(rule, closed="left", label="left", **_origin(rule, origin)).sum().index[0]


def _resample_part(df: Any, rule: Any, origin: Any, how: str, labels: pd.DatetimeIndex, args: tuple,
                   kwargs: dict, meta: Any, empty_bin: Any) -> Any:
    r = df.resample(rule, closed="left", label="left", **_origin(rule, origin))
    out = getattr(r, how)(*args, **kwargs) if how != "agg" else r.agg(*args, **kwargs)
    missing = labels.difference(out.index)
    if len(missing):
        # bins of this range with no rows here: what pandas gives an empty bin (0 for sums, NaN for means...)
        filler = empty_bin.iloc[[0] * len(missing)]
        filler.index = missing
        out = pd.concat([out, filler]) if len(out) else filler
        out = out.sort_index()
    out = out[out.index.isin(labels)]
    out.index.name = meta.index.name
    out.index.freq = None
    if len(out):
        # like pandas, a column keeps its integer type unless this piece has empty bins
        return out
    if isinstance(meta, pd.DataFrame):
        for c in meta.columns:
            if c in out.columns and out[c].dtype != meta[c].dtype:
                try:
                    out[c] = out[c].astype(meta[c].dtype)
                except (TypeError, ValueError):
                    pass
    elif out.dtype != meta.dtype:
        try:
            out = out.astype(meta.dtype)
        except (TypeError, ValueError):
            pass
    return out


class Resampler:
    """``df.resample(rule)``: aggregate each time bin (``sum``, ``mean``, ``count``, ``agg`` ...)."""

    def __init__(self, obj: Any, rule: Any, closed: Any = None, label: Any = None, origin: Any = "start_day",
                 **kwargs: Any):
        if not isinstance(obj._meta.index, pd.DatetimeIndex):
            raise TypeError("resample needs a DatetimeIndex; set_index on a datetime column first")
        if not obj.known_divisions:
            raise ValueError("resample needs known divisions; set_index on the datetime column (or "
                             "from_pandas with sort=True) first")
        if kwargs:
            raise NotImplementedError(f"resample does not support {sorted(kwargs)}; compute first or use "
                                      "map_partitions")
        probe = obj._meta_nonempty.resample(rule, closed=closed, label=label)
        if (closed or probe.closed) != "left" or (label or probe.label) != "left":
            raise NotImplementedError(
                f"resample({rule!r}) with bins closed or labelled on the right is not supported; "
                "use a start-anchored frequency (e.g. 'MS' instead of 'ME'), or compute first"
            )
        if origin not in ("start_day", "epoch") and not isinstance(origin, (pd.Timestamp, str)):
            raise NotImplementedError(f"resample(origin={origin!r}) is not supported")
        if origin in ("start", "end", "end_day"):
            raise NotImplementedError(f"resample(origin={origin!r}) is not supported; use 'start_day', "
                                      "'epoch' or a timestamp")
        self.obj = obj
        self.rule = rule
        self.origin = origin

    def _aggregate(self, how: str, *args: Any, **kwargs: Any) -> Any:
        from shoal.base import compute
        from shoal.dataframe.repartition import repartition_divisions

        obj = self.obj
        origin = self.origin
        lo_all, hi_all = compute(obj.index.min(), obj.index.max())
        if pd.isna(lo_all):
            raise ValueError("resample of an empty collection: there are no bins to make")
        if origin == "start_day":
            origin = pd.Timestamp(lo_all).normalize()
        elif isinstance(origin, str) and origin != "epoch":
            origin = pd.Timestamp(origin)
        edges = sorted({_bin_start(pd.Timestamp(d), self.rule, origin) for d in obj.divisions[1:-1]})
        first_bin = _bin_start(pd.Timestamp(lo_all), self.rule, origin)
        last_bin = _bin_start(pd.Timestamp(hi_all), self.rule, origin)
        edges = [e for e in edges if first_bin < e <= last_bin]
        start = min(obj.divisions[0], first_bin)
        stop = max(obj.divisions[-1], hi_all)
        parted = repartition_divisions(obj, [start] + edges + [stop])
        sample = obj._meta_nonempty.resample(self.rule, closed="left", label="left", **_origin(self.rule, origin))
        meta_full = getattr(sample, how)(*args, **kwargs) if how != "agg" else sample.agg(*args, **kwargs)
        meta = meta_full.iloc[:0]
        # the value of an empty bin: resample two made-up rows two bins apart and read the bin between them
        step = pd.tseries.frequencies.to_offset(self.rule)
        two = obj._meta_nonempty.iloc[[0, 0]]
        two.index = pd.DatetimeIndex([first_bin, first_bin + 2 * step], name=obj._meta.index.name)
        r2 = two.resample(self.rule, closed="left", label="left", **_origin(self.rule, first_bin))
        empty_bin = (getattr(r2, how)(*args, **kwargs) if how != "agg" else r2.agg(*args, **kwargs)).iloc[1:2]
        bins = [first_bin] + edges + [last_bin]
        all_labels = pd.date_range(first_bin, last_bin, freq=pd.tseries.frequencies.to_offset(self.rule))
        if len(all_labels) == 0 or all_labels[-1] != last_bin:
            # irregular bins (should not happen for left-closed rules): refuse rather than guess
            raise NotImplementedError(f"resample({self.rule!r}): bins are not regular; compute first")
        pieces = []
        for i in range(parted.npartitions):
            lo = bins[i]
            hi = bins[i + 1]
            last = i == parted.npartitions - 1
            labels = all_labels[(all_labels >= lo) & ((all_labels <= hi) if last else (all_labels < hi))]
            pieces.append(labels)
        out = _map_with_labels(parted, pieces, self.rule, origin, how, args, kwargs, meta, empty_bin)
        divs = [first_bin] + edges + [last_bin]
        return new_collection(out.dask, out._name, meta, divs)

    def agg(self, func: Any, *args: Any, **kwargs: Any) -> Any:
        """Aggregate each bin with ``func`` (names, a list or a dict, as pandas' ``Resampler.agg``)."""
        return self._aggregate("agg", func, *args, **kwargs)

    aggregate = agg


def _make(how: str) -> Any:
    def method(self: Resampler, *args: Any, **kwargs: Any) -> Any:
        return self._aggregate(how, *args, **kwargs)

    method.__name__ = how
    method.__doc__ = f"``{how}`` of each time bin (empty bins included, as pandas gives them)."
    return method


for _how in _AGGS:
    setattr(Resampler, _how, _make(_how))


def _map_with_labels(frame: Any, labels: list, rule: Any, origin: Any, how: str, args: tuple, kwargs: dict,
                     meta: Any, empty_bin: Any) -> Any:
    from shoal.core.graph import LayeredGraph
    from shoal.core.task import Ref, Task
    from shoal.core.tokenize import tokenize

    name = f"resample-{how}-{tokenize(frame, rule, origin, how, args, kwargs)}"
    layer = {(name, i): Task(_resample_part, Ref((frame._name, i)), rule, origin, how, labels[i], args, kwargs, meta,
                                 empty_bin)
             for i in range(frame.npartitions)}
    graph = LayeredGraph.from_collections(name, layer, [frame])
    return new_collection(graph, name, meta, [None] * (frame.npartitions + 1))
