"""Changing partition boundaries without a shuffle.

* fewer partitions: neighbours are concatenated (order and divisions kept);
* more partitions: each partition is cut into equal row counts (divisions
  become unknown unless they were known, in which case the cut points are
  taken from the data when it runs, so they stay unknown too);
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

__all__ = ["repartition", "repartition_npartitions", "repartition_divisions"]


def repartition(frame: Any, npartitions: int | None = None, divisions: Any = None) -> Any:
    if divisions is not None:
        if not frame.known_divisions:
            raise ValueError("repartition(divisions=...) needs known divisions; use set_index first, "
                             "or repartition(npartitions=n)")
        return repartition_divisions(frame, list(divisions))
    if npartitions is None:
        raise TypeError("repartition needs npartitions= or divisions=, e.g. df.repartition(npartitions=4)")
    return repartition_npartitions(frame, int(npartitions))


def repartition_npartitions(frame: Any, n: int) -> Any:
    n_in = frame.npartitions
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
