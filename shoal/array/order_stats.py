"""Order statistics: median, quantile, percentile (exact, along an axis) and topk.

``median(x, axis)`` makes the reduced axis a single block and applies
numpy per block, so it is exact and each task holds one stripe of the
array; over all axes it would need the whole array in one block, so an
axis is required (as in Dask).  ``topk`` is a tree reduction whose partials
are each block's k largest values.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from shoal.array.blockwise import map_blocks, as_array as _as
from shoal.array.core import Array
from shoal.array.reductions import normalize_axis, reduction

__all__ = ["median", "nanmedian", "quantile", "nanquantile", "percentile", "nanpercentile", "topk", "argtopk"]


class _Quantile:
    def __init__(self, func: Any, q: Any, axis: tuple, keepdims: bool):
        self.func, self.q, self.axis, self.keepdims = func, q, axis, keepdims

    def __call__(self, block: np.ndarray) -> np.ndarray:
        if self.q is None:
            return self.func(block, axis=self.axis, keepdims=self.keepdims)
        return self.func(block, self.q, axis=self.axis, keepdims=self.keepdims)

    def __reduce__(self):
        return (_Quantile, (self.func, self.q, self.axis, self.keepdims))

    def __shoal_tokenize__(self) -> Any:
        return ("quantile", self.func.__name__, np.asarray(self.q).tolist() if self.q is not None else None,
                self.axis, self.keepdims)


def _along(func: Any, a: Any, q: Any, axis: Any, keepdims: bool) -> Array:
    a = _as(a)
    if axis is None:
        if a.ndim > 1 or a.npartitions > 1:
            raise NotImplementedError(
                f"{func.__name__} over all axes needs the whole array in one block; give an axis "
                f"({func.__name__}(x, axis=0)) or compute it in numpy on x.compute()")
    axes = normalize_axis(axis, a.ndim)
    a = a.rechunk({d: -1 for d in axes})
    nq = np.ndim(q) if q is not None else 0
    out_ind = [d for d in range(a.ndim) if d not in axes or keepdims]
    drop = [d for d in axes if not keepdims]
    res = map_blocks(_Quantile(func, q, axes, keepdims), a, drop_axis=drop,
                     new_axis=[0] if nq else None, dtype=np.float64 if a.dtype.kind in "biu" else a.dtype)
    chunks = [((1,) if d in axes else a.chunks[d]) for d in out_ind]
    if nq:
        chunks = [(len(np.atleast_1d(q)),)] + chunks
    return Array(res.dask, res.name, tuple(chunks), res.dtype)


def median(a: Any, axis: Any = None, keepdims: bool = False, out: Any = None) -> Array:
    return _along(np.median, a, None, axis, keepdims)


def nanmedian(a: Any, axis: Any = None, keepdims: bool = False, out: Any = None) -> Array:
    return _along(np.nanmedian, a, None, axis, keepdims)


def quantile(a: Any, q: Any, axis: Any = None, keepdims: bool = False, **kw: Any) -> Array:
    return _along(np.quantile, a, q, axis, keepdims)


def nanquantile(a: Any, q: Any, axis: Any = None, keepdims: bool = False, **kw: Any) -> Array:
    return _along(np.nanquantile, a, q, axis, keepdims)


def percentile(a: Any, q: Any, axis: Any = None, keepdims: bool = False, **kw: Any) -> Array:
    return _along(np.percentile, a, q, axis, keepdims)


def nanpercentile(a: Any, q: Any, axis: Any = None, keepdims: bool = False, **kw: Any) -> Array:
    return _along(np.nanpercentile, a, q, axis, keepdims)


class _TopK:
    """Partials: the block's |k| largest (k > 0) or smallest (k < 0) along the axis, sorted."""

    def __init__(self, k: int, arg: bool):
        self.k, self.arg = k, arg

    def __reduce__(self):
        return (_TopK, (self.k, self.arg))

    def __shoal_tokenize__(self) -> Any:
        return ("topk", self.k, self.arg)

    def _select(self, vals: np.ndarray, idx: np.ndarray, ax: int) -> tuple:
        k = self.k
        n = vals.shape[ax]
        order = np.argsort(vals, axis=ax, kind="stable")
        take = order[..., -k:][..., ::-1] if k > 0 else order[..., :-k]
        take = take[..., : min(abs(k), n)]
        return np.take_along_axis(vals, take, ax), np.take_along_axis(idx, take, ax)

    def chunk(self, block: np.ndarray, axes: tuple, offsets: tuple, shape: tuple) -> tuple:
        ax = axes[0]
        b = np.moveaxis(block, ax, -1)
        idx = np.broadcast_to(np.arange(b.shape[-1]) + offsets[ax], b.shape)
        return self._select(b, idx, b.ndim - 1)

    def combine(self, parts: list, axes: tuple) -> tuple:
        vals = np.concatenate([p[0] for p in parts], axis=-1)
        idx = np.concatenate([p[1] for p in parts], axis=-1)
        return self._select(vals, idx, vals.ndim - 1)

    def aggregate(self, p: tuple, axes: tuple, keepdims: bool) -> np.ndarray:
        return np.moveaxis(p[1] if self.arg else p[0], -1, axes[0])


def _topk(a: Any, k: int, axis: int, arg: bool) -> Array:
    a = _as(a)
    axis = normalize_axis(axis, a.ndim)[0]
    k = int(k)
    if k == 0 or abs(k) > a.shape[axis]:
        raise ValueError(f"k={k} must be non-zero and at most the axis length {a.shape[axis]}")
    t = _TopK(k, arg)
    r = reduction(a, t.chunk, t.combine, t.aggregate, axis=axis, keepdims=True,
                  dtype=np.intp if arg else a.dtype, name="argtopk" if arg else "topk", chunk_with_info=True)
    chunks = tuple((abs(k),) if d == axis else c for d, c in enumerate(r.chunks))
    return Array(r.dask, r.name, chunks, r.dtype)


def topk(a: Any, k: int, axis: int = -1, split_every: Any = None) -> Array:
    """The k largest values along ``axis``, largest first (k < 0: the smallest, smallest first)."""
    return _topk(a, k, axis, False)


def argtopk(a: Any, k: int, axis: int = -1, split_every: Any = None) -> Array:
    """Indices of the k largest values along ``axis`` (k < 0: the smallest)."""
    return _topk(a, k, axis, True)
