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
from typing import Any

import numpy as np

from shoal.base import compute as _compute
from shoal.core.graph import LayeredGraph
from shoal.core.task import Ref, Task

from shoal.array.chunks import chunk_bounds
from shoal.array.core import Array
from shoal.utils import new_name

__all__ = ["store", "to_npy_stack", "from_npy_stack"]


def _store_block(block: np.ndarray, target: Any, region: tuple, lock: Any) -> None:
    if lock is not None:
        with lock:
            target[region] = block
    else:
        target[region] = block
    return None


def _done(*args: Any) -> None:
    return None


def _load_target(target: Any, region: tuple) -> np.ndarray:
    return np.asarray(target[region])


def store(sources: Any, targets: Any, lock: Any = True, regions: Any = None, compute: bool = True,
          return_stored: bool = False, **kwargs: Any) -> Any:
    """Write ``sources`` (Array or list of Arrays) into ``targets`` (same-shaped array-likes).

    ``compute=False`` returns a ``Delayed`` that does the writes when
    computed; ``return_stored=True`` returns Arrays that read the targets.
    """
    from shoal.delayed import Delayed

    single = isinstance(sources, Array)
    if single:
        sources, targets = [sources], [targets]
        if regions is not None:
            regions = [regions]
    sources, targets = list(sources), list(targets)
    if len(sources) != len(targets):
        raise ValueError(f"store got {len(sources)} sources but {len(targets)} targets")
    if lock is True:
        lock = threading.Lock()
    elif lock is False:
        lock = None
    regions = regions or [None] * len(sources)
    name = new_name("store")
    layer: dict = {}
    writes = []
    for n, (src, tgt, reg) in enumerate(zip(sources, targets, regions)):
        tshape = tuple(tgt.shape)
        if reg is None and tshape != src.shape:
            raise ValueError(f"store: source shape {src.shape} does not match target shape {tshape}; "
                             "pass regions= to write into part of the target")
        tkey = f"target-{n}-{name}"
        layer[tkey] = tgt
        offsets = [0] * src.ndim
        if reg is not None:
            reg = reg if isinstance(reg, tuple) else (reg,)
            offsets = [r.start or 0 if isinstance(r, slice) else 0 for r in reg] + [0] * (src.ndim - len(reg))
        bounds = [chunk_bounds(c) for c in src.chunks]
        for idx in itertools.product(*map(range, src.numblocks)):
            region = tuple(slice(offsets[d] + b[i], offsets[d] + b[i + 1]) for d, (b, i) in enumerate(zip(bounds, idx)))
            key = (f"{name}-{n}", *idx)
            layer[key] = Task(_store_block, Ref((src.name, *idx)), Ref(tkey), region, lock)
            writes.append(Ref(key))
    layer[name] = Task(_done, *writes)
    done = Delayed(name, layer, tuple(sources))
    if compute:
        if any(isinstance(t, np.ndarray) for t in targets):
            # a numpy target (memmaps included) lives in this process: a worker process
            # would write into its own unpickled copy and the writes would be lost
            sched = kwargs.get("scheduler")
            if sched is None:
                kwargs["scheduler"] = "threads"
            elif isinstance(sched, str) and sched in ("processes", "multiprocessing", "distributed"):
                raise ValueError(
                    f"store into a numpy array or memmap cannot run on scheduler={sched!r}: each "
                    "worker process would write into its own copy. Use scheduler='threads', or a "
                    "target that other processes can open (h5py, zarr)")
        _compute(done, **kwargs)
        if return_stored:
            from shoal.array.creation import from_array

            out = [from_array(t, chunks=s.chunks) for s, t in zip(sources, targets)]
            return out[0] if single else out
        return None
    if return_stored:
        raise NotImplementedError("store(..., compute=False, return_stored=True) is not supported; "
                                  "compute the returned Delayed, then use from_array(target)")
    return done


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
