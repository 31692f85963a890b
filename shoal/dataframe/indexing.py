"""``df.loc[...]``: label lookups that use divisions to skip partitions.

* ``loc[label]`` / ``loc[a:b]`` with known divisions touch only partitions
  whose range can hold those labels; with unknown divisions every
  partition is sliced;
* ``loc[boolean_series]`` filters; ``loc[rows, cols]`` adds a column selection.
"""
from __future__ import annotations

from typing import Any

import pandas as pd

from shoal.core.graph import LayeredGraph
from shoal.core.task import Ref, Task
from shoal.core.tokenize import tokenize
from shoal.dataframe import methods as M
from shoal.dataframe.core import new_collection

__all__ = ["LocIndexer"]


class LocIndexer:
    def __init__(self, frame: Any):
        self.frame = frame

    def __getitem__(self, key: Any) -> Any:
        from shoal.dataframe.frame import Series

        f = self.frame
        if isinstance(key, tuple) and len(key) == 2 and f.ndim == 2:
            rows, cols = key
            out = self[rows] if not (isinstance(rows, slice) and rows == slice(None)) else f
            return out[cols]
        if isinstance(key, Series):
            return f[key]
        if isinstance(key, slice):
            if key.step is not None:
                raise NotImplementedError("loc slices with a step are not supported")
            return self._slice(key.start, key.stop)
        if isinstance(key, (pd.Series, pd.Index)) and key.dtype != bool:
            key = key.tolist()
        if isinstance(key, list):
            return f.map_partitions(_loc_list, key, token="loc")
        return self._slice(key, key, label=True)

    def _slice(self, start: Any, stop: Any, label: bool = False) -> Any:
        f = self.frame
        if isinstance(f._meta.index, pd.DatetimeIndex):
            # '2000-01-02' means the whole day in pandas; compare as timestamps
            if isinstance(start, str):
                start = pd.Timestamp(start)
            if isinstance(stop, str):
                p = pd.Period(stop)
                stop = p.end_time if label or len(stop) <= 10 else pd.Timestamp(stop)
        name = f"loc-{tokenize(f, start, stop, label)}"
        if not f.known_divisions:
            func = M.loc_slice
            layer = {(name, i): Task(func, Ref((f._name, i)), start, stop) for i in range(f.npartitions)}
            graph = LayeredGraph.from_collections(name, layer, [f])
            return new_collection(graph, name, f._meta, f.divisions)
        divs = f.divisions
        n = f.npartitions
        # partitions whose [divs[i], divs[i+1]] range overlaps [start, stop]
        keep = []
        for i in range(n):
            lo, hi = divs[i], divs[i + 1]
            last = i == n - 1
            if start is not None and (hi < start or (hi == start and not last)):
                continue
            if stop is not None and lo > stop:
                continue
            keep.append(i)
        if not keep:
            keep = [0]
            layer = {(name, 0): Task(M.head, Ref((f._name, 0)), 0)}
            graph = LayeredGraph.from_collections(name, layer, [f])
            return new_collection(graph, name, f._meta, [divs[0], divs[0]])
        layer = {(name, j): Task(M.loc_slice, Ref((f._name, i)), start, stop) for j, i in enumerate(keep)}
        new_divs = [divs[i] for i in keep] + [divs[keep[-1] + 1]]
        if start is not None:
            new_divs[0] = max(new_divs[0], start)
        if stop is not None:
            new_divs[-1] = min(new_divs[-1], stop)
        graph = LayeredGraph.from_collections(name, layer, [f])
        return new_collection(graph, name, f._meta, new_divs)


def _loc_list(df: Any, labels: list) -> Any:
    return df[df.index.isin(labels)]
