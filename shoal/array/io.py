"""Writing arrays out: ``store`` into array-likes, ``to_npy_stack``/``from_npy_stack``.

``store`` writes each block into its region of the target as soon as the
block exists, so an array larger than memory streams into a numpy memmap,
h5py dataset or zarr array block by block.  The target is one graph node
(shared by reference, like ``from_array``'s source).
"""
from __future__ import annotations

import itertools
import os
import pickle
import threading
import uuid
import weakref
from typing import Any

import numpy as np

from shoal.base import compute as _compute
from shoal.core.graph import LayeredGraph
from shoal.core.task import Ref, Task

from shoal.array.chunks import chunk_bounds
from shoal.array.core import Array
from shoal.utils import new_name

__all__ = ["store", "to_npy_stack", "from_npy_stack", "ProcessLock"]


class _Locked:
    """``with _Locked(lock):`` for any object with ``acquire``/``release`` (or none)."""

    __slots__ = ("lock",)

    def __init__(self, lock: Any):
        self.lock = lock

    def __enter__(self) -> None:
        if self.lock is not None:
            self.lock.acquire()

    def __exit__(self, *exc: Any) -> None:
        if self.lock is not None:
            self.lock.release()


class ProcessLock:
    """A lock that travels: pickled by name, it is one ``threading.Lock`` per process.

    Threads of one process that hold copies of the same ``ProcessLock`` (sent
    with different tasks) exclude each other; processes do not share it, which
    is enough for targets that each process opens or holds on its own.
    """

    _locks: "weakref.WeakValueDictionary[str, Any]" = weakref.WeakValueDictionary()
    _guard = threading.Lock()

    def __init__(self, token: str | None = None):
        self.token = token or uuid.uuid4().hex
        with ProcessLock._guard:
            lock = ProcessLock._locks.get(self.token)
            if lock is None:
                lock = _Lock()
                ProcessLock._locks[self.token] = lock
        self.lock = lock

    def acquire(self, blocking: bool = True, timeout: float = -1) -> bool:
        return self.lock.acquire(blocking, timeout)

    def release(self) -> None:
        self.lock.release()

    def __enter__(self) -> "ProcessLock":
        self.acquire()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.release()

    def __reduce__(self):
        return ProcessLock, (self.token,)


class _Lock:
    """``threading.Lock`` that a WeakValueDictionary can hold."""

    __slots__ = ("_lock", "__weakref__")

    def __init__(self) -> None:
        self._lock = threading.Lock()

    def acquire(self, blocking: bool = True, timeout: float = -1) -> bool:
        return self._lock.acquire(blocking, timeout)

    def release(self) -> None:
        self._lock.release()


class _InProcess:
    """A target that lives in this process (a numpy array or memmap): refuses to travel.

    A worker process would write into its own unpickled copy and the writes
    would be lost without an error, so pickling raises instead.
    """

    __slots__ = ("target",)

    def __init__(self, target: Any):
        self.target = target

    def __setitem__(self, region: tuple, value: Any) -> None:
        self.target[region] = value

    def __getitem__(self, region: tuple) -> Any:
        return self.target[region]

    def __reduce__(self):
        raise TypeError("store into a numpy array or memmap must run in this process: each worker process "
                        "would write into its own copy. Use scheduler='threads' (or 'sync'), or a target "
                        "that other processes can open (zarr, da.H5Dataset)")


def _store_block(block: np.ndarray, target: Any, region: tuple, lock: Any, out: str) -> Any:
    """Write one block; return what the stored Array's block is (see ``store``)."""
    with _Locked(lock):
        target[region] = block
        if out == "load":
            return np.asarray(target[region])
    if out == "source":
        return block
    return np.empty((0,) * np.ndim(block), dtype=getattr(block, "dtype", None))


def _load_block(target: Any, region: tuple, lock: Any) -> np.ndarray:
    with _Locked(lock):
        return np.asarray(target[region])


def _done(*args: Any) -> None:
    return None


def _regions_of(src: Array, reg: Any) -> list:
    """The target region of every block of ``src``, in block order, offset by ``reg``."""
    offsets = [0] * src.ndim
    if reg is not None:
        reg = reg if isinstance(reg, tuple) else (reg,)
        offsets = [(r.start or 0) if isinstance(r, slice) else 0 for r in reg] + [0] * (src.ndim - len(reg))
    bounds = [chunk_bounds(c) for c in src.chunks]
    return [(idx, tuple(slice(offsets[d] + b[i], offsets[d] + b[i + 1])
                        for d, (b, i) in enumerate(zip(bounds, idx))))
            for idx in itertools.product(*map(range, src.numblocks))]


def store(sources: Any, targets: Any, lock: Any = True, regions: Any = None, compute: bool = True,
          return_stored: bool = False, load_stored: bool | None = None, **kwargs: Any) -> Any:
    """Write ``sources`` (an Array or a list of Arrays) into ``targets`` (objects with ``__setitem__``).

    Each block is written by its own task into its region of the target, as
    soon as it exists.  ``lock=True`` (the default) makes the writes take
    turns under one lock, since a target need not be thread safe (a
    ``ProcessLock``: one lock per process, so the graph can travel); pass ``lock=False`` for targets that are, or any object with
    ``acquire``/``release`` to share a lock.  ``regions=`` (a tuple of slices,
    or one per source) writes into part of each target.

    What comes back:

    * ``compute=True``: the writes run now; ``None``, or with
      ``return_stored=True`` Arrays that read the targets back.
    * ``compute=False``: Arrays (one per source; a single one for a single
      source) whose computation does the writes.  Their blocks are empty,
      unless ``return_stored=True``: then each block is read back from the
      target right after it is written (``load_stored=False``: the source
      block itself).

    A numpy target (memmaps included) lives in this process, so its writes
    run on the threads scheduler unless told otherwise; a process or cluster
    scheduler raises rather than write into copies.
    """
    single = isinstance(sources, Array)
    if single:
        sources, targets = [sources], [targets]
        if regions is not None:
            regions = [regions]
    elif isinstance(sources, np.ndarray) or not isinstance(sources, (list, tuple)):
        raise ValueError(f"store: sources must be shoal Arrays (or a list of them), got {type(sources).__name__}; "
                         "wrap numpy data with from_array first")
    sources = list(sources)
    targets = list(targets) if isinstance(targets, (list, tuple)) else [targets]
    bad = [type(s).__name__ for s in sources if not isinstance(s, Array)]
    if bad:
        raise ValueError(f"store: sources must be shoal Arrays, got {', '.join(bad)}; "
                         "wrap numpy data with from_array first")
    if len(sources) != len(targets):
        raise ValueError(f"store got {len(sources)} sources but {len(targets)} targets")
    if regions is None or isinstance(regions, (tuple, slice)):
        regions = [regions] * len(sources)
    if len(regions) != len(sources):
        raise ValueError(f"store got {len(regions)} regions for {len(sources)} sources")
    if lock is True:
        lock = ProcessLock()
    elif lock is False:
        lock = None
    if load_stored is None:
        load_stored = return_stored and not compute
    out = "empty" if not return_stored or compute else ("load" if load_stored else "source")
    in_process = any(isinstance(t, np.ndarray) for t in targets)
    name = new_name("store")
    stored = []
    for n, (src, tgt, reg) in enumerate(zip(sources, targets, regions)):
        if any(np.isnan(c) for cs in src.chunks for c in cs):
            raise ValueError("store: the array has unknown chunk sizes; call x.compute_chunk_sizes() first")
        tshape = getattr(tgt, "shape", None)
        if reg is None and tshape is not None and tuple(tshape) != src.shape:
            raise ValueError(f"store: source shape {src.shape} does not match target shape {tuple(tshape)}; "
                             "pass regions= to write into part of the target")
        if isinstance(tgt, np.ndarray):
            tgt = _InProcess(tgt)
        tkey = f"target-{n}-{name}"
        bname = f"{name}-{n}"
        layer: dict = {tkey: tgt}
        for idx, region in _regions_of(src, reg):
            layer[(bname, *idx)] = Task(_store_block, Ref((src.name, *idx)), Ref(tkey), region, lock, out)
        chunks = src.chunks if out != "empty" else tuple((0,) * len(c) for c in src.chunks)
        stored.append(Array(LayeredGraph.from_collections(bname, layer, [src]), bname, chunks, src.dtype))
    if not compute:
        return stored[0] if single else stored
    if in_process:
        sched = kwargs.get("scheduler")
        if sched is None:
            kwargs["scheduler"] = "threads"
        elif isinstance(sched, str) and sched in ("processes", "multiprocessing", "distributed"):
            raise ValueError(
                f"store into a numpy array or memmap cannot run on scheduler={sched!r}: each "
                "worker process would write into its own copy. Use scheduler='threads', or a "
                "target that other processes can open (zarr, da.H5Dataset)")
    _compute(*stored, **kwargs)
    if not return_stored:
        return None
    loaded = []
    for n, (src, tgt, reg) in enumerate(zip(sources, targets, regions)):
        lname = new_name("load-stored")
        tkey = f"target-{lname}"
        layer = {tkey: _InProcess(tgt) if isinstance(tgt, np.ndarray) else tgt}
        for idx, region in _regions_of(src, reg):
            layer[(lname, *idx)] = Task(_load_block, Ref(tkey), region, lock)
        loaded.append(Array(LayeredGraph.from_collections(lname, layer, []), lname, src.chunks, src.dtype))
    return loaded[0] if single else loaded


def _save(block: np.ndarray, path: str) -> None:
    np.save(path, np.asarray(block))


def to_npy_stack(dirname: str, x: Array, axis: int = 0) -> None:
    """Write one ``.npy`` file per block along ``axis`` plus an ``info`` file."""
    axis %= x.ndim
    if any(len(c) > 1 for d, c in enumerate(x.chunks) if d != axis):
        x = x.rechunk({d: -1 for d in range(x.ndim) if d != axis})
    os.makedirs(dirname, exist_ok=True)
    with open(os.path.join(dirname, "info"), "wb") as f:
        pickle.dump({"chunks": x.chunks, "dtype": x.dtype, "axis": axis}, f)
    name = new_name("to-npy-stack", x.name, dirname)
    layer: dict = {}
    keys = []
    for i in range(x.numblocks[axis]):
        idx = [0] * x.ndim
        idx[axis] = i
        key = (name, i)
        layer[key] = Task(_save, Ref((x.name, *idx)), os.path.join(dirname, f"{i}.npy"))
        keys.append(Ref(key))
    layer[name] = Task(_done, *keys)
    from shoal.delayed import Delayed

    _compute(Delayed(name, layer, (x,)))


def from_npy_stack(dirname: str, mmap_mode: str | None = "r") -> Array:
    """Read a directory written by ``to_npy_stack`` (memory-mapped by default)."""
    info_path = os.path.join(dirname, "info")
    if not os.path.exists(info_path):
        raise FileNotFoundError(f"{dirname!r} has no 'info' file; write it with to_npy_stack(dirname, x)")
    with open(info_path, "rb") as f:
        info = pickle.load(f)
    chunks, dtype, axis = info["chunks"], info["dtype"], info["axis"]
    name = new_name("from-npy-stack", os.path.abspath(dirname), chunks)
    layer = {}
    for i in range(len(chunks[axis])):
        idx = [0] * len(chunks)
        idx[axis] = i
        layer[(name, *idx)] = Task(np.load, os.path.join(dirname, f"{i}.npy"), mmap_mode=mmap_mode)
    return Array(LayeredGraph({name: layer}), name, chunks, dtype)
