"""Hash shuffle: move rows so that equal keys share a partition.

Every input partition is split into ``npartitions`` pieces by
``hash(key) % npartitions`` (pandas' ``hash_pandas_object``, stable across
processes); output partition ``j`` concatenates piece ``j`` of every input.
That is ``n_in * n_out`` small tasks (the split tasks return all pieces at
once, and a getter per piece keeps the graph explicit for the schedulers).
``partition_by_range`` does the same with sorted boundaries (set_index,
sort_values).

``method="disk"`` builds the same result through files instead
(``shoal.dataframe.disk_shuffle``), and ``method="p2p"`` through workers
exchanging shards directly, each keeping its share on its own disk
(``shoal.dataframe.p2p_shuffle``, distributed clusters only): ``n_in + n_out``
tasks and memory bounded by a partition, not by the data.  ``method=None``
reads config ``dataframe.shuffle.method``; its default ``"auto"`` picks
``"p2p"`` on a cluster and ``"disk"`` on the local schedulers when the data
(estimated from the first partition) is larger than
``dataframe.shuffle.memory_fraction`` of the memory the workers have (their
limits) or the local schedulers may use (``dataframe.shuffle.memory-limit``,
else what the machine has available).
"""
from __future__ import annotations

import contextlib
import os
from collections import OrderedDict
from typing import Iterator
from typing import Any

import numpy as np
import pandas as pd

from shoal.core.graph import LayeredGraph
from shoal.core.task import Ref, Task
from shoal.core.tokenize import tokenize
from shoal.dataframe import methods as M
from shoal.dataframe.core import new_collection

__all__ = ["shuffle", "partition_by_range", "hash_partitions", "shuffle_method"]

METHODS = ("tasks", "disk", "p2p")

INDEX = "__index__"


def hash_partitions(df: pd.DataFrame, on: Any, k: int) -> np.ndarray:
    """Output partition of every row: equal keys go to the same one, whatever partition they come from."""
    if on == INDEX:
        keys = df.index.to_frame(index=False)
    else:
        keys = df[on] if isinstance(on, list) else df[[on]]
    h = np.zeros(len(keys), dtype=np.uint64)
    with np.errstate(over="ignore"):
        for n in range(keys.shape[1]):
            h = h * np.uint64(0x100000001B3) + _column_hash(keys.iloc[:, n])
    return (h % np.uint64(k)).astype(np.int64)


def _column_hash(col: pd.Series) -> np.ndarray:
    """Hash of each value of ``col``, the same for equal values in any partition.

    Object columns need care: pandas' own hashing of an object column depends
    on what else the column holds (a ``datetime`` hashes as a date among dates
    but as text among strings), and None, NaN and NA hash apart.  Their values
    are hashed one by one in a canonical form: text as it is, numbers by
    value (``1``, ``1.0`` and ``True`` alike), dates and durations by their
    nanoseconds, every missing value as one.
    """
    if col.dtype != object:
        return pd.util.hash_pandas_object(col, index=False).to_numpy()
    vals = col.to_numpy(dtype=object, copy=True)
    if pd.api.types.infer_dtype(vals, skipna=True) in ("string", "empty"):
        vals[pd.isna(vals)] = None
    else:
        vals = np.array([_canonical(v) for v in vals], dtype=object)  # str or None: stays 1-D
    return pd.util.hash_array(vals, categorize=False)


def _canonical(v: Any) -> Any:
    import datetime

    if v is None or v is pd.NA or v is pd.NaT or (isinstance(v, (float, np.floating)) and v != v):
        return None
    if isinstance(v, str):
        return v
    if isinstance(v, (bool, np.bool_, int, np.integer)):
        return f"\x00n{int(v)}"
    if isinstance(v, (float, np.floating)):
        return f"\x00n{int(v)}" if float(v).is_integer() else f"\x00f{float(v)!r}"
    if isinstance(v, (datetime.datetime, np.datetime64)):
        return f"\x00t{pd.Timestamp(v).value}"
    if isinstance(v, (datetime.timedelta, np.timedelta64)):
        return f"\x00d{pd.Timedelta(v).value}"
    return f"\x00{type(v).__name__}{v}"


def split_by_hash(df: pd.DataFrame, on: Any, k: int) -> list:
    part = hash_partitions(df, on, k)
    return _split(df, part, k)


class Pieces(list):
    """The ``k`` pieces of one partition: consecutive slices of ``whole`` at ``bounds``.

    The disk shuffle encodes ``whole`` once and slices the encoded table,
    instead of converting every small piece on its own.
    """

    whole: Any = None
    bounds: Any = None


def _split(df: pd.DataFrame, part: np.ndarray, k: int) -> list:
    order = np.argsort(part, kind="stable")
    counts = np.bincount(part, minlength=k)
    bounds = np.concatenate([[0], np.cumsum(counts)])
    sdf = df.iloc[order]
    out = Pieces(sdf.iloc[bounds[j]:bounds[j + 1]] for j in range(k))
    out.whole, out.bounds = sdf, bounds
    return out


def split_by_range(df: pd.DataFrame, on: Any, boundaries: list, ascending: bool = True) -> list:
    k = len(boundaries) + 1
    return _split(df, range_partitions(df, on, boundaries, ascending, k), k)


def range_partitions(df: pd.DataFrame, on: Any, boundaries: list, ascending: bool, k: int) -> np.ndarray:
    """Output partition of each row for sorted ``boundaries`` (NaN/None last)."""
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
    return part


def getpiece(pieces: list, j: int) -> Any:
    return pieces[j]


def _shuffle_layers(frame: Any, split_func: Any, split_args: tuple, k: int, token: str,
                    method: str | None = None) -> tuple[str, dict]:
    """Tasks moving ``split_func(part, *split_args)[j]`` of every input into output ``j``.

    ``method`` as for ``shuffle``; the output keys are ``(name, j)`` either way.
    """
    chosen = shuffle_method(frame, method)
    if chosen == "disk":
        return _disk_layers(frame, split_func, split_args, k, token)
    if chosen == "p2p":
        from shoal.dataframe.p2p_shuffle import p2p_shuffle_layer

        name = f"{token}-p2p-{tokenize(frame, split_func, split_args, k, 'p2p')}"
        return name, p2p_shuffle_layer(frame, split_func, split_args, k, name)
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


def _disk_layers(frame: Any, split_func: Any, args: tuple, k: int, token: str) -> tuple[str, dict]:
    from shoal.dataframe.disk_shuffle import disk_shuffle_layer

    tok = tokenize(frame, split_func, args, k, "disk")
    name = f"{token}-disk-{tok}"
    return name, disk_shuffle_layer(frame, split_func, args, k, name, tok)


def shuffle(frame: Any, on: Any, npartitions: int | None = None, method: str | None = None) -> Any:
    """Rows with equal ``on`` (a column, list of columns, or ``'__index__'``) in one partition.

    ``method``: ``"tasks"`` (in memory), ``"disk"`` (through files, for data
    larger than memory) or None for config ``dataframe.shuffle.method``.
    """
    k = npartitions or frame.npartitions
    name, layer = _shuffle_layers(frame, split_by_hash, (on, k), k, "shuffle", method)
    graph = LayeredGraph.from_collections(name, layer, [frame])
    return new_collection(graph, name, frame._meta, [None] * (k + 1))


def partition_by_range(frame: Any, on: Any, boundaries: list, ascending: bool = True,
                       method: str | None = None) -> Any:
    """Rows moved to the partition of their ``on`` value between sorted ``boundaries``."""
    k = len(boundaries) + 1
    name, layer = _shuffle_layers(frame, split_by_range, (on, list(boundaries), ascending), k, "range-partition",
                                  method)
    graph = LayeredGraph.from_collections(name, layer, [frame])
    return new_collection(graph, name, frame._meta, [None] * (k + 1))


# -- choosing a method ---------------------------------------------------------

_estimates: "OrderedDict[str, int]" = OrderedDict()


def shuffle_method(frame: Any, method: str | None = None) -> str:
    """``"tasks"`` or ``"disk"``: the argument, else config ``dataframe.shuffle.method``, else by size."""
    from shoal import config

    if method is None:
        method = config.get("dataframe.shuffle.method", None)
    if method is None or method == "auto":
        return _auto_method(frame)
    _check_method(method)
    return method


@contextlib.contextmanager
def using_method(method: str | None) -> Iterator[None]:
    """Shuffles built inside use ``method`` (None: leave the config as it is)."""
    if method is None:
        yield
        return
    from shoal import config

    if method != "auto":
        _check_method(method)
    with config.set({"dataframe.shuffle.method": method}):
        yield


def _check_method(method: str) -> None:
    if method not in METHODS:
        raise ValueError(f"shuffle_method={method!r} is not one of 'tasks', 'disk', 'p2p' (or None for the config)")


def _auto_method(frame: Any) -> str:
    from shoal import config

    if frame.npartitions < 2:
        return "tasks"
    if _distributed_client() is not None:
        return _auto_distributed(frame)
    budget = _memory_budget()
    fraction = float(config.get("dataframe.shuffle.memory_fraction", 0.25))
    est = _estimate_nbytes(frame)
    if est is None:  # no cheap estimate: keep the in-memory shuffle
        return "tasks"
    return "disk" if est > fraction * budget else "tasks"


def _distributed_client() -> Any:
    """The Client that will run the graph, or None for the local schedulers."""
    from shoal import base, config

    return base._default_client if config.get("scheduler", None) is None else None


def _auto_distributed(frame: Any) -> str:
    """On a cluster: ``"p2p"`` when the data is large against the workers' memory, else ``"tasks"``."""
    from shoal import config

    try:
        workers = _distributed_client().scheduler_info().get("workers", {})
    except Exception:
        return "tasks"
    limits = [w.get("memory_limit") or 0 for w in workers.values()]
    if not workers or not all(limits):  # no limits: nothing to measure against
        return "tasks"
    est = _estimate_nbytes(frame)
    if est is None:
        return "tasks"
    fraction = float(config.get("dataframe.shuffle.memory_fraction", 0.25))
    return "p2p" if est > fraction * sum(limits) else "tasks"


def _memory_budget() -> int:
    """Memory the local schedulers may use: config ``dataframe.shuffle.memory-limit`` (bytes or
    ``"1GB"``), else the memory this machine has available."""
    from shoal import config

    limit = config.get("dataframe.shuffle.memory-limit", None)
    if limit is not None:  # the local schedulers' budget, set by the user
        from shoal.utils import parse_bytes

        return parse_bytes(limit, what="dataframe.shuffle.memory-limit", example="1GB")
    import psutil

    return int(psutil.virtual_memory().available)


def _estimate_nbytes(frame: Any) -> int | None:
    """Bytes of the whole frame, extrapolated from its first partition (computed once per frame).

    None when the first partition needs far more than its share of the graph
    (an earlier shuffle or reduction upstream): computing it would run most
    of the work twice.
    """
    from shoal.core.graph import cull

    name = frame._name
    if name in _estimates:
        return _estimates[name]
    graph = frame.dask
    try:
        needed, _ = cull(graph, [(name, 0)])
        if len(needed) > 2 * len(graph) / frame.npartitions + 8:
            return None
    except Exception:  # a graph that cannot be walked here: do not guess
        return None
    first = frame.partitions[0].compute()
    per = int(np.sum(first.memory_usage(deep=True))) if hasattr(first, "memory_usage") else 0
    est = per * frame.npartitions
    _estimates[name] = est
    while len(_estimates) > 128:
        _estimates.popitem(last=False)
    return est
