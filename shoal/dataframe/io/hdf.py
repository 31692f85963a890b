"""``read_hdf`` / ``to_hdf`` through pandas' PyTables store.

A key in ``format='table'`` is read in row ranges of ``chunksize`` rows
(one partition each); a ``format='fixed'`` key cannot be read in ranges and
is one partition.  The HDF5 library is not safe to call from two threads at
once, so every read and write in this process holds ``HDF_LOCK`` (with
``lock=False`` the caller takes that responsibility).  Writes to one file
run one after the other in partition order.
"""
from __future__ import annotations

import glob
import os
import threading
from fnmatch import fnmatch
from typing import Any, Callable

import pandas as pd

from shoal.core.graph import LayeredGraph
from shoal.core.task import Task
from shoal.core.tokenize import tokenize
from shoal.dataframe.core import new_collection

__all__ = ["read_hdf", "to_hdf", "HDF_LOCK"]

#: Serialises HDF5 calls within this process.
HDF_LOCK = threading.RLock()


class _NoLock:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: Any) -> None:
        return None


def _lock(use: bool) -> Any:
    return HDF_LOCK if use else _NoLock()


def _need_tables() -> None:
    try:
        import tables  # noqa: F401
    except ImportError as e:
        raise ImportError("read_hdf/to_hdf need PyTables: pip install tables (or shoal[io])") from e


def _read_hdf_part(path: str, key: str, start: int | None, stop: int | None, columns: Any, lock: bool,
                   mode: str) -> Any:
    with _lock(lock):
        return pd.read_hdf(path, key, start=start, stop=stop, columns=columns, mode=mode)


def _keys(path: str, key: str, lock: bool) -> list[str]:
    with _lock(lock), pd.HDFStore(path, mode="r") as store:
        keys = store.keys()
    want = key if key.startswith("/") else "/" + key
    found = [k for k in keys if fnmatch(k, want)]
    if not found:
        raise KeyError(f"read_hdf: no key matches {key!r} in {path!r}; it holds {keys}")
    return sorted(found)


def read_hdf(pattern: Any, key: str, start: int = 0, stop: int | None = None, columns: Any = None,
             chunksize: int = 1_000_000, sorted_index: bool = False, lock: bool = True, mode: str = "r") -> Any:
    """Lazily read pandas HDF5 stores (PyTables) into a partitioned DataFrame or Series.

    ``pattern``: a file, a glob or a list; ``key``: the key, which may be a
    glob (``'/data*'``).  Keys written with ``format='table'`` are split into
    ``chunksize`` rows per partition (``start``/``stop`` pick a row range);
    ``format='fixed'`` keys are one partition each.  ``columns=`` reads only
    those columns (table format).  ``sorted_index=True`` reads the first and
    last index value of every partition to set known divisions (the index
    must be sorted across files and keys).  A missing file raises
    FileNotFoundError, a missing key KeyError.
    """
    _need_tables()
    if isinstance(pattern, (str, os.PathLike)):
        pattern = os.fspath(pattern)
        paths = sorted(glob.glob(pattern)) if any(ch in pattern for ch in "*?[") else [pattern]
    else:
        paths = [os.fspath(p) for p in pattern]
    if not paths:
        raise FileNotFoundError(f"read_hdf: no files match {pattern!r}")
    for p in paths:
        if not os.path.exists(p):
            raise FileNotFoundError(f"read_hdf: file {p!r} does not exist")
    if chunksize <= 0:
        raise ValueError(f"read_hdf: chunksize must be positive, got {chunksize}")
    if stop is not None and stop < start:
        raise ValueError(f"read_hdf: stop ({stop}) is before start ({start})")
    pieces = []
    meta = None
    for p in paths:
        for k in _keys(p, key, lock):
            with _lock(lock), pd.HDFStore(p, mode="r") as store:
                storer = store.get_storer(k)
                is_table = bool(getattr(storer, "is_table", False))
                nrows = storer.nrows if is_table else None
                if meta is None:
                    if is_table:
                        meta = store.select(k, start=0, stop=0, columns=columns)
                    else:
                        meta = store.get(k).iloc[:0]
                        if columns is not None:
                            meta = meta[columns]
            if not is_table:
                if start or stop is not None:
                    raise ValueError(f"read_hdf: key {k!r} of {p!r} is in 'fixed' format, which cannot be read "
                                     f"from start= to stop=; write it with format='table'")
                pieces.append((p, k, None, None))
                continue
            end = nrows if stop is None else min(stop, nrows)
            for s in range(start, end, chunksize):
                pieces.append((p, k, s, min(s + chunksize, end)))
            if start >= end:
                pieces.append((p, k, start, start))
    cols = None if columns is None else list(columns)
    divisions = [None] * (len(pieces) + 1)
    if sorted_index and pieces:
        divisions = _divisions(pieces, lock)
    name = "read-hdf-" + tokenize(paths, [os.path.getmtime(p) for p in paths], pieces, cols, mode)
    layer = {(name, i): Task(_read_hdf_part, p, k, s, e, cols, lock, mode) for i, (p, k, s, e) in enumerate(pieces)}
    return new_collection(LayeredGraph({name: layer}), name, meta, divisions)


def _divisions(pieces: list, lock: bool) -> list:
    firsts, last = [], None
    for p, k, s, e in pieces:
        idx = _read_hdf_part(p, k, s, e, None, lock, "r").index
        if len(idx) == 0:
            raise ValueError(f"read_hdf(sorted_index=True): an empty row range of {p!r} {k!r} has no divisions")
        firsts.append(idx[0])
        last = idx[-1]
    divs = firsts + [last]
    if any(a > b for a, b in zip(divs[:-1], divs[1:])):
        raise ValueError("read_hdf(sorted_index=True): the index is not sorted across the files and keys")
    return divs


def _write_hdf(df: Any, target: tuple, kwargs: dict, lock: bool, after: Any = None) -> str:
    # ``after``: the previous write, so writes run in partition order, one partition in memory at a time
    path, key, mode, append = target
    with _lock(lock):
        df.to_hdf(path, key=key, mode=mode, append=append, **kwargs)
    return path


def _files_written(paths: list) -> list:
    return list(dict.fromkeys(paths))


def to_hdf(df: Any, path: Any, key: str, mode: str = "a", append: bool = False, scheduler: Any = None,
           name_function: Callable | None = None, compute: bool = True, lock: bool = True,
           dask_kwargs: dict | None = None, **kwargs: Any) -> Any:
    """Write partitions to HDF5 (PyTables, ``format='table'`` by default).

    A ``*`` in ``path`` writes one file per partition, a ``*`` in ``key``
    one key per partition (``name_function(i)`` names it, default ``i``);
    otherwise every partition is appended, in order, to the one key.
    ``mode='w'`` starts the file(s) afresh, ``'a'`` adds to them;
    ``append=True`` appends to an existing table key.  Writes run one after
    the other.  Returns the file names written (or the lazy write with
    ``compute=False``).
    """
    from shoal import base
    from shoal.delayed import delayed

    _need_tables()
    path = os.fspath(path)
    if "*" in path and "*" in key:
        raise ValueError("to_hdf: put the '*' in the path or in the key, not in both")
    kwargs.setdefault("format", "table")
    if kwargs["format"] in ("f", "fixed") and "*" not in path and "*" not in key:
        n = df.npartitions
        if n > 1:
            raise ValueError("to_hdf: format='fixed' cannot append partitions to one key; use format='table' or "
                             "a '*' in the path or key")
    name_function = name_function or str
    n = df.npartitions
    names = [str(name_function(i)) for i in range(n)]
    targets = []
    for i in range(n):
        p = path.replace("*", names[i])
        k = key.replace("*", names[i])
        if "*" in path:
            targets.append((p, k, mode, append))
        elif "*" in key:
            targets.append((p, k, mode if i == 0 else "a", append))
        else:
            targets.append((p, k, mode if i == 0 else "a", append or i > 0))
    writes = []
    prev = None
    for part, target in zip(df.to_delayed(), targets):
        prev = delayed(_write_hdf, pure=False)(part, target, kwargs, lock, prev)
        writes.append(prev)
    out = delayed(_files_written, pure=False)(writes)
    if not compute:
        return out
    kw = dict(dask_kwargs or {})
    if scheduler is not None:
        kw.setdefault("scheduler", scheduler)
    return base.compute(out, **kw)[0]
