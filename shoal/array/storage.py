"""Arrays on disk: zarr stores and HDF5 files, read and written block by block.

``to_zarr``/``from_zarr`` use the ``zarr`` package (local directory stores,
or any store URL zarr understands).  Each block of the Array is written by its
own task straight into the store, so an array larger than memory streams to
disk, and every scheduler works: a zarr array pickles as its store's address
and opens it again in the worker.  Zarr stores data in *chunks*; two tasks that
write parts of one zarr chunk would each read, change and rewrite that chunk,
and one write would be lost.  So the Array's blocks must cover whole zarr
chunks (whole shards, for a sharded array): when they do not, ``to_zarr``
rechunks them so that they do and says so with a ``PerformanceWarning``
(rechunk yourself to choose the blocks).  A new store gets regular chunks
(a ``UserWarning`` when the Array's blocks are irregular and must be
rechunked).

``to_hdf5`` writes datasets of one HDF5 file (``h5py``).  HDF5 has no parallel
writers, so every block write opens the file, writes and closes it under an
exclusive ``flock`` on the file (HDF5's own locking, which refuses a second
opener instead of waiting, is switched off for these opens): writes from
threads, processes or workers of one host take turns, and the file is never
open in two writers at once.
``from_array(h5py_dataset)`` reads a dataset with the in-process schedulers
(h5py objects do not pickle); for process or distributed schedulers open the
file inside the tasks, e.g. ``from_array(H5Dataset(path, name))``.
"""
from __future__ import annotations

import fcntl
import os
import warnings
from typing import Any

import numpy as np

from shoal.array.chunks import chunk_bounds
from shoal.array.core import Array

__all__ = ["to_zarr", "from_zarr", "to_hdf5", "H5Dataset"]


def _zarr():
    try:
        import zarr
    except ImportError as e:  # pragma: no cover - zarr is a declared dependency of shoal[array]
        raise ImportError("to_zarr/from_zarr need the zarr package: pip install zarr") from e
    return zarr


def _compute_options(kwargs: dict) -> dict:
    """Take the keywords meant for ``compute`` (``scheduler=``...) out of the writer's keywords."""
    return {k: kwargs.pop(k) for k in ("scheduler", "get", "num_workers") if k in kwargs}


# -- zarr -------------------------------------------------------------------------


def from_zarr(url: Any, component: str | None = None, storage_options: dict | None = None,
              chunks: Any = None, name: str | None = None, inline_array: bool = False,
              **kwargs: Any) -> Array:
    """A lazy Array over a zarr array: a path or URL of a store, or a ``zarr.Array``.

    ``component`` names an array inside a zarr group.  Blocks follow the zarr
    chunks unless ``chunks=`` is given (then each block reads the zarr chunks it
    overlaps).  Nothing is read until the Array is computed.

    >>> x = from_zarr("data.zarr")            # doctest: +SKIP
    >>> x.mean(axis=0).compute()              # doctest: +SKIP
    """
    from shoal.array.creation import from_array

    zarr = _zarr()
    if isinstance(url, zarr.Array):
        z = url
    else:
        if not isinstance(url, (str, os.PathLike)) and not hasattr(url, "get"):
            raise TypeError(f"from_zarr: url={url!r} is not a path, URL, store or zarr.Array")
        path = os.fspath(url) if isinstance(url, os.PathLike) else url
        if isinstance(path, str) and "://" not in path and not os.path.exists(path):
            raise FileNotFoundError(f"from_zarr: no zarr store at {path!r}")
        opened = zarr.open(store=path, mode="r", path=component, storage_options=storage_options, **kwargs) \
            if storage_options else zarr.open(store=path, mode="r", path=component, **kwargs)
        if not isinstance(opened, zarr.Array):
            names = sorted(getattr(opened, "array_keys", lambda: [])())
            raise ValueError(f"from_zarr: {url!r} is a zarr group, not an array; pass component= "
                             f"naming one of its arrays {names}")
        z = opened
    return from_array(z, chunks=z.chunks if chunks is None else chunks, name=name,
                      inline_array=inline_array)


def _write_unit(z: Any) -> tuple:
    """The zarr region one write must cover whole: a shard when the array is sharded, else a chunk."""
    shards = getattr(z, "shards", None)
    return tuple(shards) if shards else tuple(z.chunks)


def _aligned(chunks: tuple, unit: int, offset: int) -> tuple | None:
    """Chunks along one axis whose inner boundaries fall on multiples of ``unit`` (counted from
    ``-offset``), as close to the given ones as that allows; None when they already do."""
    bounds = chunk_bounds(chunks)
    if all((offset + b) % unit == 0 for b in bounds[1:-1]):
        return None
    n = bounds[-1]
    size = max(unit, (max(chunks) // unit) * unit)
    first = (unit - offset % unit) % unit or size
    out = [min(first, n)]
    while sum(out) < n:
        out.append(min(size, n - sum(out)))
    return tuple(out)


def _align_to_zarr(arr: Array, z: Any, offsets: tuple) -> Array:
    """``arr`` rechunked, with a PerformanceWarning, so that no two blocks write into one zarr unit."""
    from shoal.array.core import PerformanceWarning

    unit = _write_unit(z)
    new = [_aligned(c, u, off) for c, u, off in zip(arr.chunks, unit, offsets)]
    if all(c is None for c in new):
        ends = [off + sum(c) for off, c in zip(offsets, arr.chunks)]
        if any(off % u or (end % u and end != n) for off, end, u, n in zip(offsets, ends, unit, z.shape)):
            warnings.warn(f"to_zarr: the region {tuple(slice(o, e) for o, e in zip(offsets, ends))} covers zarr "
                          f"chunks of {unit} only in part; zarr reads and rewrites each such chunk whole",
                          PerformanceWarning, stacklevel=3)
        return arr
    target = tuple(c if n is None else n for c, n in zip(arr.chunks, new))
    kind = "shards" if getattr(z, "shards", None) else "chunks"
    warnings.warn(
        f"to_zarr: the array's blocks {arr.chunks} would split zarr {kind} of {unit} between tasks, "
        f"and one write would be lost; rechunking to {target} first. Rechunk yourself to choose the blocks.",
        PerformanceWarning, stacklevel=3)
    return arr.rechunk(target)


def to_zarr(arr: Array, url: Any, component: str | None = None, storage_options: dict | None = None,
            overwrite: bool = False, region: tuple | None = None, compute: bool = True,
            return_stored: bool = False, **kwargs: Any) -> Any:
    """Write ``arr`` into a zarr array, one task per block.

    ``url`` is a path or URL of a store (created with the array's shape, dtype
    and block shape as zarr chunks) or an existing ``zarr.Array`` (written
    into; ``region=`` picks a part of it).  Blocks that would share a zarr
    chunk (or shard) between tasks are rechunked first, with a
    ``PerformanceWarning``; irregular blocks of a new store with a
    ``UserWarning``.
    Extra keywords go to ``zarr.create_array`` (e.g. ``compressors=``), except
    ``scheduler=``, which chooses where the writes run.
    ``compute=False`` returns an Array whose computation writes (see
    ``store``); ``return_stored=True`` an Array that reads the store.

    >>> x.to_zarr("out.zarr")                        # doctest: +SKIP
    >>> from_zarr("out.zarr").sum().compute()        # doctest: +SKIP
    """
    from shoal.array.io import store

    zarr = _zarr()
    run = _compute_options(kwargs)
    if not isinstance(arr, Array):
        raise TypeError(f"to_zarr expects a shoal Array, got {type(arr).__name__}; wrap it with from_array(x)")
    if any(np.isnan(s) for c in arr.chunks for s in c):
        raise ValueError("to_zarr: the array has unknown chunk sizes; call x.compute_chunk_sizes() first")
    if isinstance(url, zarr.Array):
        z = url
        if region is None and tuple(z.shape) != arr.shape:
            raise ValueError(f"to_zarr: array shape {arr.shape} does not match the zarr array's {tuple(z.shape)}; "
                             f"pass region= to write into part of it")
    else:
        if region is not None:
            raise ValueError("to_zarr: region= writes into an existing array; pass the zarr.Array "
                             "(zarr.open(url, mode='r+')) as url")
        if any(len(set(c[:-1])) > 1 or (len(c) > 1 and c[-1] > c[0]) for c in arr.chunks):
            regular = tuple(max(c) if c else 0 for c in arr.chunks)
            warnings.warn(f"to_zarr: zarr needs regular chunks (all blocks equal but a smaller last one); "
                          f"the array has {arr.chunks}, so it is rechunked to {regular} first",
                          UserWarning, stacklevel=2)
            arr = arr.rechunk(regular)
        path = os.fspath(url) if isinstance(url, os.PathLike) else url
        zchunks = tuple(max(1, c[0]) if c else 1 for c in arr.chunks)
        opts = {"storage_options": storage_options} if storage_options else {}
        z = zarr.create_array(store=path, name=component, shape=arr.shape, chunks=zchunks, dtype=arr.dtype,
                              overwrite=overwrite, **opts, **kwargs)
    offsets = tuple((r.start or 0) if isinstance(r, slice) else int(r) for r in region) if region else (0,) * arr.ndim
    offsets = offsets + (0,) * (arr.ndim - len(offsets))
    arr = _align_to_zarr(arr, z, offsets)
    # whole zarr chunks per task: no lock is needed, and none would help across processes
    return store(arr, z, lock=False, regions=tuple(region) if region else None, compute=compute,
                 return_stored=return_stored, **run)


# -- HDF5 -----------------------------------------------------------------------------


class _FileLock:
    """An exclusive ``flock`` on a file, shared by threads and processes of one host."""

    def __init__(self, path: str):
        self.path = path

    def __enter__(self) -> "_FileLock":
        self.fd = os.open(self.path, os.O_RDONLY)
        fcntl.flock(self.fd, fcntl.LOCK_EX)
        return self

    def __exit__(self, *exc: Any) -> None:
        try:
            fcntl.flock(self.fd, fcntl.LOCK_UN)
        finally:
            os.close(self.fd)


class H5Dataset:
    """A picklable handle on one HDF5 dataset: opens the file for each read or write.

    ``shape`` and ``dtype`` are read once; ``x[region]`` reads and
    ``x[region] = block`` writes under the file's lock.  Usable as a
    ``from_array`` source and a ``store`` target on every scheduler.
    """

    def __init__(self, filename: str, dataset: str):
        import h5py

        self.filename = os.path.abspath(filename)
        self.dataset = dataset
        with _FileLock(self.filename), h5py.File(self.filename, "r", locking=False) as f:
            if dataset not in f:
                raise KeyError(f"{filename!r} has no dataset {dataset!r}; it has {sorted(f)}")
            d = f[dataset]
            self.shape, self.dtype = tuple(d.shape), d.dtype
            self.chunks = d.chunks
        self.ndim = len(self.shape)

    def __getitem__(self, region: Any) -> np.ndarray:
        import h5py

        with _FileLock(self.filename), h5py.File(self.filename, "r", locking=False) as f:
            return f[self.dataset][region]

    def __setitem__(self, region: Any, value: Any) -> None:
        import h5py

        with _FileLock(self.filename), h5py.File(self.filename, "r+", locking=False) as f:
            f[self.dataset][region] = value

    def __repr__(self) -> str:
        return f"H5Dataset({self.filename!r}, {self.dataset!r}, shape={self.shape}, dtype={self.dtype})"


def to_hdf5(filename: str, *args: Any, chunks: Any = True, compute: bool = True, **kwargs: Any) -> Any:
    """Write Arrays into datasets of one HDF5 file.

    ``to_hdf5('out.h5', '/x', x)`` or ``to_hdf5('out.h5', {'/x': x, '/y': y})``.
    Datasets are created (replaced if present) with the arrays' shapes and
    dtypes; ``chunks=True`` uses each array's block shape as HDF5 chunks, and
    other keywords (``compression='gzip'``...) go to ``create_dataset``.  Blocks
    are written one at a time under a lock on the file, on any scheduler of
    this host.  ``compute=False`` returns a Delayed that writes when computed.
    """
    import h5py

    from shoal.array.io import store

    run = _compute_options(kwargs)
    if len(args) == 1 and isinstance(args[0], dict):
        data = dict(args[0])
    elif len(args) == 2 and isinstance(args[0], str):
        data = {args[0]: args[1]}
    else:
        raise TypeError("to_hdf5 takes (filename, '/name', array) or (filename, {'/name': array, ...})")
    for path, x in data.items():
        if not isinstance(x, Array):
            raise TypeError(f"to_hdf5: {path!r} is a {type(x).__name__}, not a shoal Array")
        if any(np.isnan(s) for c in x.chunks for s in c):
            raise ValueError(f"to_hdf5: {path!r} has unknown chunk sizes; call x.compute_chunk_sizes() first")
    filename = os.path.abspath(filename)
    with h5py.File(filename, "a") as f:
        for path, x in data.items():
            if path in f:
                del f[path]
            h5chunks = tuple(max(1, int(c[0])) for c in x.chunks) if chunks is True and x.ndim else \
                (None if chunks is True else chunks)
            f.create_dataset(path, shape=x.shape, dtype=x.dtype, chunks=h5chunks, **kwargs)
    targets = [H5Dataset(filename, path) for path in data]
    return store(list(data.values()), targets, lock=False, compute=compute, **run)



def _array_to_zarr(self: Array, url: Any, *args: Any, **kwargs: Any) -> Any:
    return to_zarr(self, url, *args, **kwargs)


def _array_to_hdf5(self: Array, filename: str, datapath: str, **kwargs: Any) -> Any:
    return to_hdf5(filename, datapath, self, **kwargs)


_array_to_zarr.__doc__ = to_zarr.__doc__
_array_to_hdf5.__doc__ = "``x.to_hdf5('out.h5', '/x')``: " + (to_hdf5.__doc__ or "")
Array.to_zarr = _array_to_zarr
Array.to_hdf5 = _array_to_hdf5
