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
from shoal.array.reductions import normalize_axis, tree_reduction

__all__ = ["median", "nanmedian", "quantile", "nanquantile", "percentile", "nanpercentile", "topk", "argtopk"]


class _Quantile:
    def __init__(self, func: Any, q: Any, axis: tuple, keepdims: bool, kwargs: dict | None = None):
        self.func, self.q, self.axis, self.keepdims = func, q, axis, keepdims
        self.kwargs = dict(kwargs or {})

    def __call__(self, block: np.ndarray, weights: Any = None) -> np.ndarray:
        kw = dict(self.kwargs)
        if weights is not None:
            kw["weights"] = weights
        if self.q is None:
            return self.func(block, axis=self.axis, keepdims=self.keepdims, **kw)
        return np.asarray(self.func(block, self.q, axis=self.axis, keepdims=self.keepdims, **kw))

    def __reduce__(self):
        return (_Quantile, (self.func, self.q, self.axis, self.keepdims, self.kwargs))

    def __shoal_tokenize__(self) -> Any:
        return ("quantile", self.func.__name__, np.asarray(self.q).tolist() if self.q is not None else None,
                self.axis, self.keepdims, sorted(self.kwargs.items()))


def _probe_dtype(func: Any, dtype: np.dtype, q: Any, kwargs: dict, weighted: bool) -> np.dtype:
    """The dtype numpy gives ``func`` on an array of ``dtype`` (numpy's own promotion rules)."""
    sample = np.ones(2, dtype=dtype)
    kw = dict(kwargs)
    if weighted:
        kw["weights"] = np.ones(2)
    with np.errstate(all="ignore"):
        out = func(sample, axis=0, **kw) if q is None else func(sample, q, axis=0, **kw)
    return np.asarray(out).dtype


def _along(func: Any, a: Any, q: Any, axis: Any, keepdims: bool, weights: Any = None, **kwargs: Any) -> Array:
    """``func`` (numpy's median/quantile/percentile) with the reduced axes made whole blocks.

    Exact: each task holds whole stripes along the reduced axes.  Over all
    axes of a multi-block array the array is flattened into one block.
    """
    a = _as(a)
    if kwargs.pop("out", None) is not None:
        raise NotImplementedError(f"{func.__name__}(out=...) is not supported; assign the result instead")
    kwargs.pop("overwrite_input", None)  # blocks are private copies here anyway
    interpolation = kwargs.pop("interpolation", None)
    if interpolation is not None:
        kwargs["method"] = interpolation
    if isinstance(q, Array):
        q = q.compute()
    w = None
    if weights is not None:
        w = _as(weights)
        if w.shape != a.shape:
            if w.ndim != 1 or axis is None or np.ndim(axis) != 0:
                raise ValueError("weights must have the array's shape, or be 1-d along a single given axis")
            ax = normalize_axis(axis, a.ndim)[0]
            if w.shape[0] != a.shape[ax]:
                raise ValueError(f"weights of length {w.shape[0]} do not match axis {ax} of length {a.shape[ax]}")
            from shoal.array.routines import broadcast_to

            w = broadcast_to(w[tuple(slice(None) if d == ax else None for d in range(a.ndim))], a.shape)
    if axis is None:
        if a.ndim > 1:
            raise NotImplementedError(
                f"{func.__name__} over all axes of a {a.ndim}-d array would gather it into one block; "
                f"give an axis ({func.__name__}(x, ..., axis=0)) or flatten explicitly "
                f"({func.__name__}(x.ravel(), ...))")
        axes = tuple(range(a.ndim))
    else:
        axes = normalize_axis(axis, a.ndim)
    a = a.rechunk({d: -1 for d in axes})
    nq = np.ndim(q) if q is not None else 0
    out_ind = [d for d in range(a.ndim) if d not in axes or keepdims]
    drop = [d for d in axes if not keepdims]
    dtype = _probe_dtype(func, a.dtype, q, kwargs, w is not None)
    qf = _Quantile(func, q, axes, keepdims, kwargs)
    args = [a] if w is None else [a, w.rechunk(a.chunks)]
    kept = len(out_ind)
    res = map_blocks(qf, *args, drop_axis=drop, new_axis=list(range(nq)) if nq else None, dtype=dtype)
    chunks = [((1,) if d in axes else a.chunks[d]) for d in out_ind]
    if nq:
        chunks = [(n,) for n in np.shape(q)] + chunks
    assert len(chunks) == nq + kept
    return Array(res.dask, res.name, tuple(chunks), dtype)


def median(a: Any, axis: Any = None, keepdims: bool = False, out: Any = None, overwrite_input: bool = False) -> Array:
    """numpy.median along the given axes (exact: the axes become whole blocks)."""
    return _along(np.median, a, None, axis, keepdims, out=out)


def nanmedian(a: Any, axis: Any = None, keepdims: bool = False, out: Any = None, overwrite_input: bool = False) -> Array:
    """numpy.nanmedian along the given axes (exact: the axes become whole blocks)."""
    return _along(np.nanmedian, a, None, axis, keepdims, out=out)


def quantile(a: Any, q: Any, axis: Any = None, out: Any = None, overwrite_input: bool = False,
             method: str = "linear", keepdims: bool = False, *, weights: Any = None,
             interpolation: Any = None) -> Array:
    """numpy.quantile along the given axes, any ``method`` and ``weights``, n-d ``q``.

    Exact: the reduced axes become whole blocks (a reduction over all axes
    of a multi-block array gathers it into one block).
    """
    return _along(np.quantile, a, q, axis, keepdims, weights, method=method, out=out,
                  interpolation=interpolation)


def nanquantile(a: Any, q: Any, axis: Any = None, out: Any = None, overwrite_input: bool = False,
                method: str = "linear", keepdims: bool = False, *, weights: Any = None,
                interpolation: Any = None) -> Array:
    """numpy.nanquantile along the given axes (see ``quantile``)."""
    return _along(np.nanquantile, a, q, axis, keepdims, weights, method=method, out=out,
                  interpolation=interpolation)


def percentile(a: Any, q: Any, axis: Any = None, out: Any = None, overwrite_input: bool = False,
               method: str = "linear", keepdims: bool = False, *, weights: Any = None,
               interpolation: Any = None, internal_method: Any = None) -> Array:
    """numpy.percentile along the given axes (see ``quantile``; ``q`` in percent).

    Unlike Dask's approximate merge of per-chunk percentiles, the result is
    exact: the reduced axes are gathered into whole blocks, so a percentile
    over all of a large 1-d array needs that array to fit in one task's memory.
    """
    return _along(np.percentile, a, q, axis, keepdims, weights, method=method, out=out,
                  interpolation=interpolation)


def nanpercentile(a: Any, q: Any, axis: Any = None, out: Any = None, overwrite_input: bool = False,
                  method: str = "linear", keepdims: bool = False, *, weights: Any = None,
                  interpolation: Any = None) -> Array:
    """numpy.nanpercentile along the given axes (see ``percentile``)."""
    return _along(np.nanpercentile, a, q, axis, keepdims, weights, method=method, out=out,
                  interpolation=interpolation)


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
    r = tree_reduction(a, t.chunk, t.combine, t.aggregate, axis=axis, keepdims=True,
                  dtype=np.intp if arg else a.dtype, name="argtopk" if arg else "topk", chunk_with_info=True)
    chunks = tuple((abs(k),) if d == axis else c for d, c in enumerate(r.chunks))
    return Array(r.dask, r.name, chunks, r.dtype)


def topk(a: Any, k: int, axis: int = -1, split_every: Any = None) -> Array:
    """The k largest values along ``axis``, largest first (k < 0: the smallest, smallest first)."""
    return _topk(a, k, axis, False)


def argtopk(a: Any, k: int, axis: int = -1, split_every: Any = None) -> Array:
    """Indices of the k largest values along ``axis`` (k < 0: the smallest)."""
    return _topk(a, k, axis, True)
