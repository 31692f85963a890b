"""Changing partition boundaries without a shuffle.

* fewer partitions: neighbours are concatenated (order and divisions kept);
* more partitions: with known numeric or datetime divisions, new split
  points are interpolated between the old ones (divisions stay known);
  otherwise each partition is cut into equal row counts (divisions unknown);
* ``partition_size``: the partition sizes are measured now, then
  partitions are merged or cut to about that many bytes;
* ``freq``: divisions on a regular datetime grid;
* new known ``divisions``: every output partition is assembled from the
  slices of the input partitions that overlap its index range.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from shoal.core.graph import LayeredGraph
from shoal.core.task import Ref, Task
from shoal.core.tokenize import tokenize
from shoal.dataframe import methods as M
from shoal.dataframe.core import new_collection
from shoal.utils import parse_bytes

__all__ = ["repartition", "repartition_npartitions", "repartition_divisions"]


def repartition(frame: Any, npartitions: int | None = None, divisions: Any = None, partition_size: Any = None,
                freq: Any = None, force: bool = False) -> Any:
    """``frame`` on new partitions (see the module docstring for the choices)."""
    given = [k for k, v in (("npartitions", npartitions), ("divisions", divisions),
                            ("partition_size", partition_size), ("freq", freq)) if v is not None]
    if len(given) > 1:
        raise ValueError(f"repartition takes only one of npartitions=, divisions=, partition_size=, freq=; got {given}")
    if freq is not None:
        return repartition_freq(frame, freq)
    if partition_size is not None:
        return repartition_size(frame, partition_size)
    if divisions is not None:
        if isinstance(divisions, int) and not isinstance(divisions, bool):
            return repartition_npartitions(frame, divisions)
        if not frame.known_divisions:
            raise ValueError("repartition(divisions=...) needs known divisions; use set_index first, "
                             "or repartition(npartitions=n)")
        divisions = list(divisions)
        if len(divisions) < 2:
            raise ValueError(f"repartition: divisions needs at least two values (one partition), got {divisions}")
        if any(divisions[i] >= divisions[i + 1] for i in range(len(divisions) - 2)) or divisions[-2] > divisions[-1]:
            raise ValueError(f"repartition: divisions must be increasing (only the last two may be equal), "
                             f"got {divisions}")
        old = frame.divisions
        if divisions[0] > old[0] or divisions[-1] < old[-1]:
            raise ValueError(f"new divisions {divisions[0]!r}..{divisions[-1]!r} must cover the old range "
                             f"{old[0]!r}..{old[-1]!r}")
        if not force and (divisions[0] != old[0] or divisions[-1] != old[-1]):
            raise ValueError(f"new divisions {divisions[0]!r}..{divisions[-1]!r} must start and end where the old "
                             f"ones do ({old[0]!r}..{old[-1]!r}); pass force=True to widen them")
        return repartition_divisions(frame, divisions)
    if npartitions is None:
        raise TypeError("repartition needs npartitions= or divisions=, e.g. df.repartition(npartitions=4)")
    return repartition_npartitions(frame, int(npartitions))


def _interpolated_divisions(divs: list, n: int) -> list | None:
    """``n + 1`` increasing split points between known numeric/datetime ``divs`` (None if not possible)."""
    import pandas as pd

    d0 = divs[0]
    is_time = isinstance(d0, (pd.Timestamp, np.datetime64))
    if not is_time and not isinstance(d0, (int, float, np.integer, np.floating)) or isinstance(d0, bool):
        return None
    try:
        vals = np.array([pd.Timestamp(d).value for d in divs] if is_time else divs, dtype=float)
    except (TypeError, ValueError):
        return None
    x_old = np.linspace(0, 1, len(vals))
    new = np.interp(np.linspace(0, 1, n + 1), x_old, vals)
    if is_time or isinstance(d0, (int, np.integer)):
        new = np.round(new)
        new[0], new[-1] = vals[0], vals[-1]
        if len(np.unique(new)) != len(new):
            return None
        if is_time:
            tz = getattr(d0, "tz", None)
            return [pd.Timestamp(int(v), tz="UTC").tz_convert(tz) if tz else pd.Timestamp(int(v)) for v in new]
        return [int(v) for v in new]
    if len(np.unique(new)) != len(new):
        return None
    out = [float(v) for v in new]
    out[0], out[-1] = divs[0], divs[-1]
    return out


def repartition_size(frame: Any, partition_size: Any) -> Any:
    """Merge or cut partitions to about ``partition_size`` bytes each (sizes are measured now)."""
    from shoal.base import compute
    size = parse_bytes(partition_size, "partition_size")
    sizes = compute(frame.memory_usage_per_partition(deep=True))[0]
    n = max(1, int(np.ceil(float(np.sum(sizes)) / max(size, 1))))
    return repartition_npartitions(frame, n)


def repartition_freq(frame: Any, freq: Any) -> Any:
    """Divisions on the datetime grid ``freq`` (needs a datetime index with known divisions)."""
    import pandas as pd

    if not isinstance(frame._meta.index, pd.DatetimeIndex):
        raise TypeError("repartition(freq=...) works only on timeseries (a DatetimeIndex); "
                        "set_index on a datetime column first")
    if not frame.known_divisions:
        raise ValueError("repartition(freq=...) needs known divisions; set_index on the datetime column first")
    start, end = frame.divisions[0], frame.divisions[-1]
    try:
        first = start.ceil(freq)
    except ValueError:  # calendar offsets ('MS', 'W') have no ceil: the grid starts on their own anchors
        first = start
    grid = [g for g in pd.date_range(start=first, end=end, freq=freq) if g > start]
    return repartition_divisions(frame, [start] + grid + [end])


def repartition_npartitions(frame: Any, n: int) -> Any:
    n_in = frame.npartitions
    if n > n_in and frame.known_divisions:
        divs = _interpolated_divisions(list(frame.divisions), n)
        if divs is not None:
            return repartition_divisions(frame, divs)
    name = f"repartition-{tokenize(frame, n)}"
    layer: dict = {}
    if n <= n_in:
        bounds = np.linspace(0, n_in, n + 1).round().astype(int)
        for j in range(n):
            layer[(name, j)] = Task(M.concat, [Ref((frame._name, i)) for i in range(bounds[j], bounds[j + 1])])
        divs = [frame.divisions[b] for b in bounds] if frame.known_divisions else [None] * (n + 1)
    else:
        per = [n // n_in + (1 if i < n % n_in else 0) for i in range(n_in)]
        j = 0
        for i, k in enumerate(per):
            for s in range(k):
                layer[(name, j)] = Task(M.iloc_split, Ref((frame._name, i)), k, s)
                j += 1
        divs = [None] * (n + 1)
    graph = LayeredGraph.from_collections(name, layer, [frame])
    return new_collection(graph, name, frame._meta, divs)


def repartition_divisions(frame: Any, divisions: list) -> Any:
    """Rebuild ``frame`` on new known ``divisions`` (must cover the old range)."""
    old = list(frame.divisions)
    if divisions[0] > old[0] or divisions[-1] < old[-1]:
        raise ValueError(f"new divisions {divisions[0]!r}..{divisions[-1]!r} must cover the old range "
                         f"{old[0]!r}..{old[-1]!r}")
    name = f"repartition-div-{tokenize(frame, divisions)}"
    layer: dict = {}
    nout = len(divisions) - 1
    for j in range(nout):
        lo, hi = divisions[j], divisions[j + 1]
        last_out = j == nout - 1
        pieces = []
        for i in range(frame.npartitions):
            a, b = old[i], old[i + 1]
            last_in = i == frame.npartitions - 1
            # input i covers [a, b) (or [a, b] when last); output j covers [lo, hi) (or [lo, hi])
            if b < lo or a > hi or (a == hi and not last_out):
                continue
            if b == lo and not last_in:
                continue
            pieces.append(Task(M.boundary_slice, Ref((frame._name, i)), lo, hi, last_out))
        if not pieces:
            layer[(name, j)] = Task(M.head, Ref((frame._name, 0)), 0)
            continue
        keys = []
        for p_i, t in enumerate(pieces):
            k = (name + "-piece", j, p_i)
            layer[k] = t
            keys.append(Ref(k))
        layer[(name, j)] = Task(M.concat, keys)
    graph = LayeredGraph.from_collections(name, layer, [frame])
    return new_collection(graph, name, frame._meta, divisions)
