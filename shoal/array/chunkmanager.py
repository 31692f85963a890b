"""shoal as an xarray chunk manager: xarray datasets backed by shoal Arrays.

xarray finds chunked-array libraries through the ``xarray.chunkmanagers``
entry point group; shoal registers :class:`ShoalManager` there under the name
``"shoal"`` (pyproject.toml).  Then

    ds = xr.open_dataset(path, chunks={}, chunked_array_type="shoal")
    ds.chunk({"time": 100}, chunked_array_type="shoal")

give variables whose data are shoal Arrays, and ``ds.mean("time").compute()``
runs on shoal's schedulers (the one ``shoal.config`` names, or a distributed
``Client`` set as default).  Each method below is the shoal call xarray's
operation maps to; xarray only reaches them for shoal Arrays.
"""
from __future__ import annotations

from typing import Any, Callable, Iterable, Sequence

import numpy as np

try:
    from xarray.namedarray.parallelcompat import ChunkManagerEntrypoint
except ImportError:  # pragma: no cover - without xarray nothing loads this module
    ChunkManagerEntrypoint = object  # type: ignore[misc,assignment]

__all__ = ["ShoalManager", "scan"]


def _block_last(block: np.ndarray, axis: int) -> np.ndarray:
    return np.take(block, [-1], axis=axis) if block.shape[axis] else block


def _apply_carry(block: np.ndarray, carry: np.ndarray, binop: Callable) -> np.ndarray:
    return binop(carry, block)


def scan(func: Callable, binop: Callable, ident: Any, x: Any, axis: int | None = None,
         dtype: Any = None, **kwargs: Any) -> Any:
    """A cumulative operation along ``axis`` (``func`` is e.g. ``np.cumsum``, ``binop`` ``np.add``).

    Each block is scanned on its own; the running total that enters block
    ``i`` (``ident`` for the first) is the scan of the blocks' last values,
    combined in one small task per position, and then applied to each block
    as ``binop(carry, block)``.  ``axis=None`` scans the flattened array.
    Unlike ``cumsum``/``cumprod`` (shoal.array.reductions), which continue
    numpy's own scan across blocks to match its rounding exactly, this takes
    any ``func``/``binop`` pair, such as the forward fill xarray builds from
    a "push" function, where the carry must come first.
    """
    import shoal.array as da

    if axis is None:
        x, axis = x.ravel(), 0
    axis %= x.ndim
    dtype = np.dtype(dtype) if dtype is not None else func(np.ones((1,) * x.ndim, x.dtype), axis=axis).dtype
    inner = x.map_blocks(func, axis=axis, dtype=dtype, **kwargs)
    if x.numblocks[axis] <= 1:
        return inner
    # the last value of every block along axis: one row per block
    lasts = inner.map_blocks(_block_last, axis, dtype=dtype,
                             chunks=tuple((1,) * len(c) if d == axis else c for d, c in enumerate(inner.chunks)))
    # what enters block i: ident, then the scan of the previous blocks' last values
    totals = func(lasts.rechunk({axis: -1}), axis=axis)
    shape = list(totals.shape)
    shape[axis] = 1
    first = da.full(shape, ident, dtype=dtype, chunks=tuple(1 if d == axis else c for d, c in enumerate(totals.chunks)))
    before = da.concatenate([first, totals[tuple(slice(None, -1) if d == axis else slice(None)
                                                    for d in range(x.ndim))]], axis=axis)
    before = before.rechunk({axis: 1})
    idx = tuple(range(x.ndim))
    return da.blockwise(_apply_carry, idx, inner, idx, before, idx, binop, None, dtype=dtype, align_arrays=False)


class ShoalManager(ChunkManagerEntrypoint):  # type: ignore[misc]
    """xarray's interface to shoal Arrays (``chunked_array_type="shoal"``)."""

    available = True

    def __init__(self) -> None:
        from shoal.array.core import Array

        self.array_cls = Array

    def is_chunked_array(self, data: Any) -> bool:
        return isinstance(data, self.array_cls)

    def chunks(self, data: Any) -> tuple:
        return data.chunks

    def normalize_chunks(self, chunks: Any, shape: tuple | None = None, limit: int | None = None,
                         dtype: Any = None, previous_chunks: Any = None) -> tuple:
        from shoal.array.chunks import normalize_chunks

        return normalize_chunks(chunks, shape, dtype=dtype if dtype is not None else float, limit=limit,
                                previous_chunks=previous_chunks)

    def from_array(self, data: Any, chunks: Any, **kwargs: Any) -> Any:
        from shoal.array.creation import from_array

        if isinstance(chunks, tuple) and "auto" in chunks and any(s == 0 for s in data.shape):
            chunks = data.shape
        # xarray's lazy backend arrays are numpy-like: meta and friends are not needed
        kwargs = {k: v for k, v in kwargs.items() if k in ("name", "lock", "inline_array", "asarray", "getitem")}
        return from_array(data, chunks, **kwargs)

    def rechunk(self, data: Any, chunks: Any, **kwargs: Any) -> Any:
        return data.rechunk(chunks, **kwargs)

    def compute(self, *data: Any, **kwargs: Any) -> tuple:
        from shoal.base import compute

        return compute(*data, **kwargs)

    def persist(self, *data: Any, **kwargs: Any) -> tuple:
        from shoal.base import persist

        return persist(*data, **kwargs)

    @property
    def array_api(self) -> Any:
        import shoal.array

        return shoal.array

    def reduction(self, arr: Any, func: Callable, combine_func: Callable | None = None,
                  aggregate_func: Callable | None = None, axis: int | Sequence[int] | None = None,
                  dtype: Any = None, keepdims: bool = False) -> Any:
        from shoal.array.reductions import reduction

        return reduction(arr, func, aggregate_func, axis=axis, keepdims=keepdims, dtype=dtype,
                         combine=combine_func)

    def scan(self, func: Callable, binop: Callable, ident: Any, arr: Any, axis: int | None = None,
             dtype: Any = None, **kwargs: Any) -> Any:
        return scan(func, binop, ident, arr, axis=axis, dtype=dtype, **kwargs)

    def apply_gufunc(self, func: Callable, signature: str, *args: Any, **kwargs: Any) -> Any:
        import shoal.array as da

        gufunc = getattr(da, "apply_gufunc", None)
        if gufunc is None:
            raise NotImplementedError("xarray.apply_ufunc(dask='parallelized') needs shoal.array.apply_gufunc, "
                                      "which this version of shoal lacks; use xarray.map_blocks instead")
        return gufunc(func, signature, *args, **kwargs)

    def map_blocks(self, func: Callable, *args: Any, dtype: Any = None, chunks: Any = None,
                   drop_axis: Any = None, new_axis: Any = None, **kwargs: Any) -> Any:
        from shoal.array.blockwise import map_blocks

        return map_blocks(func, *args, dtype=dtype, chunks=chunks,
                          drop_axis=() if drop_axis is None else drop_axis, new_axis=new_axis, **kwargs)

    def blockwise(self, func: Callable, out_ind: Iterable, *args: Any, name: str | None = None,
                  token: Any = None, dtype: Any = None, adjust_chunks: dict | None = None,
                  new_axes: dict | None = None, align_arrays: bool = True, concatenate: bool | None = None,
                  meta: Any = None, **kwargs: Any) -> Any:
        from shoal.array.blockwise import blockwise

        return blockwise(func, tuple(out_ind), *args, name=name, token=token, dtype=dtype,
                         adjust_chunks=adjust_chunks, new_axes=new_axes, align_arrays=align_arrays,
                         concatenate=concatenate, **kwargs)

    def unify_chunks(self, *args: Any, **kwargs: Any) -> tuple:
        import shoal.array as da

        unify = getattr(da, "unify_chunks", None)
        if unify is not None:
            return unify(*args, **kwargs)
        # arrays and index strings alternate; line every named axis up on one chunking
        from shoal.array.chunks import common_blockdim

        pairs = list(zip(args[::2], args[1::2]))
        by_axis: dict = {}
        for a, ind in pairs:
            if ind is not None and hasattr(a, "chunks"):
                for i, c in zip(ind, a.chunks):
                    by_axis.setdefault(i, []).append(c)
        common = {i: common_blockdim(cs) for i, cs in by_axis.items()}
        out = []
        for a, ind in pairs:
            if ind is not None and hasattr(a, "chunks"):
                a = a.rechunk(tuple(common[i] for i in ind))
            out.append(a)
        return common, out

    def store(self, sources: Any, targets: Any, **kwargs: Any) -> Any:
        from shoal.array.io import store

        return store(sources, targets, **kwargs)

    def shuffle(self, x: Any, indexer: list, axis: int, chunks: Any) -> Any:
        import shoal.array as da

        order = np.concatenate([np.asarray(i, dtype=np.intp) for i in indexer]) if indexer else np.array([], np.intp)
        out = da.take(x, order, axis=axis)
        sizes = tuple(len(i) for i in indexer)
        return out.rechunk({axis: sizes}) if sizes and all(sizes) else out

    def get_auto_chunk_size(self) -> int:
        from shoal import config
        from shoal.utils import parse_bytes

        return parse_bytes(config.get("array.chunk-size", "128MiB"))
