"""Hash shuffle: move rows so that equal keys share a partition.

Every input partition is split into ``npartitions`` pieces by
``hash(key) % npartitions`` (pandas' ``hash_pandas_object``, stable across
processes); output partition ``j`` concatenates piece ``j`` of every input.
That is ``n_in * n_out`` small tasks (the split tasks return all pieces at
once, and a getter per piece keeps the graph explicit for the schedulers).
``partition_by_range`` does the same with sorted boundaries (set_index,
sort_values).
"""
from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from shoal.core.graph import LayeredGraph
from shoal.core.task import Ref, Task
from shoal.core.tokenize import tokenize
from shoal.dataframe import methods as M
from shoal.dataframe.core import new_collection

__all__ = ["shuffle", "partition_by_range", "hash_partitions"]

INDEX = "__index__"


def hash_partitions(df: pd.DataFrame, on: Any, k: int) -> np.ndarray:
    if on == INDEX:
        keys = df.index.to_frame(index=False)
    else:
        keys = df[on] if isinstance(on, list) else df[[on]]
    h = pd.util.hash_pandas_object(keys, index=False).to_numpy()
    return (h % np.uint64(k)).astype(np.int64)


def split_by_hash(df: pd.DataFrame, on: Any, k: int) -> list:
    part = hash_partitions(df, on, k)
    return _split(df, part, k)


def _split(df: pd.DataFrame, part: np.ndarray, k: int) -> list:
    order = np.argsort(part, kind="stable")
    counts = np.bincount(part, minlength=k)
    bounds = np.concatenate([[0], np.cumsum(counts)])
    sdf = df.iloc[order]
    return [sdf.iloc[bounds[j]:bounds[j + 1]] for j in range(k)]


def split_by_range(df: pd.DataFrame, on: Any, boundaries: list, ascending: bool = True) -> list:
    if on == INDEX:
        values = df.index.to_numpy()
    else:
        values = df[on].to_numpy()
    k = len(boundaries) + 1
    part = np.searchsorted(np.asarray(boundaries), values, side="right").astype(np.int64)
    if not ascending:
        part = k - 1 - part
    # NaN/None sort last
    mask = pd.isna(values)
    if mask.any():
        part[mask] = k - 1
    return _split(df, part, k)


def getpiece(pieces: list, j: int) -> Any:
    return pieces[j]


def _shuffle_layers(frame: Any, split_func: Any, split_args: tuple, k: int, token: str) -> tuple[str, dict]:
    tok = tokenize(frame, split_func, split_args, k)
    sname = f"{token}-split-{tok}"
    gname = f"{token}-piece-{tok}"
    name = f"{token}-{tok}"
    layer: dict = {}
    for i in range(frame.npartitions):
        layer[(sname, i)] = Task(split_func, Ref((frame._name, i)), *split_args)
        for j in range(k):
            layer[(gname, i, j)] = Task(getpiece, Ref((sname, i)), j)
    for j in range(k):
        layer[(name, j)] = Task(M.concat, [Ref((gname, i, j)) for i in range(frame.npartitions)])
    return name, layer


def shuffle(frame: Any, on: Any, npartitions: int | None = None) -> Any:
    """Rows with equal ``on`` (a column, list of columns, or ``'__index__'``) in one partition."""
    k = npartitions or frame.npartitions
    name, layer = _shuffle_layers(frame, split_by_hash, (on, k), k, "shuffle")
    graph = LayeredGraph.from_collections(name, layer, [frame])
    return new_collection(graph, name, frame._meta, [None] * (k + 1))


def partition_by_range(frame: Any, on: Any, boundaries: list, ascending: bool = True) -> Any:
    k = len(boundaries) + 1
    name, layer = _shuffle_layers(frame, split_by_range, (on, list(boundaries), ascending), k, "range-partition")
    graph = LayeredGraph.from_collections(name, layer, [frame])
    return new_collection(graph, name, frame._meta, [None] * (k + 1))
