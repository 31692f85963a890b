"""Numeric routines built from other lazy operations: diff, ediff1d, cov, corrcoef,
searchsorted, coarsen and histogramdd/histogram2d.

Each keeps numpy's signature and answer; what cannot match numpy lazily
raises (e.g. ``histogramdd`` needs explicit bin edges or a ``range``, since
the data's extent is not known without computing it).
"""
from __future__ import annotations

import functools
import itertools
from typing import Any, Callable

import numpy as np

from shoal.core.graph import LayeredGraph
from shoal.core.task import Ref, Task

from shoal.array.blockwise import as_array as _as
from shoal.array.chunks import chunk_bounds
from shoal.array.core import Array, new_name

__all__ = ["diff", "ediff1d", "cov", "corrcoef", "searchsorted", "coarsen", "histogramdd", "histogram2d"]


def _end_piece(a: Array, extra: Any, axis: int) -> Array:
    """``prepend``/``append`` as an array: a scalar becomes one slice along ``axis``."""
    from shoal.array.routines import broadcast_to

    e = _as(extra)
    if e.ndim == 0:
        shape = list(a.shape)
        shape[axis] = 1
        e = broadcast_to(e, tuple(shape))
    return e


def diff(a: Any, n: int = 1, axis: int = -1, prepend: Any = None, append: Any = None) -> Array:
    """numpy.diff: the n-th discrete difference along ``axis``."""
    from shoal.array.creation import concatenate

    a = _as(a)
    if n < 0:
        raise ValueError(f"order must be non-negative but got {n}")
    if n == 0:
        return a
    if a.ndim == 0:
        raise ValueError("diff requires input that is at least one dimensional")
    axis %= a.ndim
    seq = ([_end_piece(a, prepend, axis)] if prepend is not None else []) + [a] + \
        ([_end_piece(a, append, axis)] if append is not None else [])
    x = concatenate(seq, axis=axis) if len(seq) > 1 else a
    hi = tuple(slice(1, None) if d == axis else slice(None) for d in range(x.ndim))
    lo = tuple(slice(None, -1) if d == axis else slice(None) for d in range(x.ndim))
    for _ in range(n):
        x = (x[hi] != x[lo]) if x.dtype == bool else x[hi] - x[lo]
    return x


def ediff1d(ary: Any, to_end: Any = None, to_begin: Any = None) -> Array:
    """numpy.ediff1d: differences of the flattened array, with optional ends."""
    from shoal.array.creation import asarray, concatenate

    a = _as(ary).ravel()
    d = a[1:] - a[:-1]
    seq = []
    if to_begin is not None:
        seq.append(asarray(np.ravel(to_begin)).astype(d.dtype))
    seq.append(d)
    if to_end is not None:
        seq.append(asarray(np.ravel(to_end)).astype(d.dtype))
    return concatenate(seq) if len(seq) > 1 else d


def cov(m: Any, y: Any = None, rowvar: bool = True, bias: bool = False, ddof: Any = None,
        fweights: Any = None, aweights: Any = None, dtype: Any = None) -> Array:
    """numpy.cov: covariance of the variables (rows, or columns with ``rowvar=False``)."""
    from shoal.array.creation import concatenate
    from shoal.array.linalg import dot

    if fweights is not None or aweights is not None:
        raise NotImplementedError("cov with fweights/aweights is not supported; compute the weighted "
                                  "covariance with shoal.array.average, or numpy.cov(x.compute(), ...)")
    if ddof is not None and ddof != int(ddof):
        raise ValueError("ddof must be an integer")
    x = _as(m)
    if x.ndim > 2:
        raise ValueError("m has more than 2 dimensions")
    x = x[None, :] if x.ndim == 1 else x
    if not rowvar and x.shape[0] != 1:
        x = x.T
    if y is not None:
        yy = _as(y)
        if yy.ndim > 2:
            raise ValueError("y has more than 2 dimensions")
        yy = yy[None, :] if yy.ndim == 1 else yy
        if not rowvar and yy.shape[0] != 1:
            yy = yy.T
        x = concatenate([x, yy], axis=0)
    if dtype is None:
        dtype = np.result_type(x.dtype, np.float64)
    x = x.astype(dtype)
    if ddof is None:
        ddof = 0 if bias else 1
    n = x.shape[1]
    fact = n - ddof
    x = x - x.mean(axis=1, keepdims=True)
    c = dot(x, x.T.conj()) / fact
    return c.squeeze() if c.shape == (1, 1) else c


def _clip_corr(c: np.ndarray) -> np.ndarray:
    if np.iscomplexobj(c):
        np.clip(c.real, -1, 1, out=c.real)
        np.clip(c.imag, -1, 1, out=c.imag)
    else:
        np.clip(c, -1, 1, out=c)
    return c


def corrcoef(x: Any, y: Any = None, rowvar: bool = True, dtype: Any = None) -> Array:
    """numpy.corrcoef: Pearson correlation coefficients."""
    from shoal.array.blockwise import map_blocks
    from shoal.array.creation import diag

    c = cov(x, y, rowvar, dtype=dtype)
    if c.ndim == 0:
        return c / c
    d = diag(c)
    sd = d ** 0.5
    c = c / sd[:, None] / sd[None, :]
    return map_blocks(_clip_corr, c, dtype=c.dtype)


def _searchsorted(blocks: list, v: np.ndarray, side: str) -> np.ndarray:
    # the global position is the sum of the per-block positions (each block is sorted)
    out = np.zeros(np.shape(v), dtype=np.intp)
    for b in blocks:
        out += np.searchsorted(b, v, side=side)
    return out


def searchsorted(a: Any, v: Any, side: str = "left", sorter: Any = None) -> Array:
    """numpy.searchsorted for a sorted 1-d ``a``: where ``v``'s values would be inserted."""
    if sorter is not None:
        raise NotImplementedError("searchsorted(sorter=...) is not supported; sort first (a[sorter])")
    if side not in ("left", "right"):
        raise ValueError(f"side={side!r} must be 'left' or 'right'")
    a, v = _as(a), _as(v)
    if a.ndim != 1:
        raise ValueError("searchsorted: a must be 1-dimensional")
    name = new_name("searchsorted", a.name, v.name, side)
    blocks = [Ref((a.name, i)) for i in range(a.numblocks[0])]
    layer: dict = {}
    if v.ndim == 0:
        layer[(name,)] = Task(_searchsorted, blocks, Ref((v.name,)), side)
    else:
        for idx in itertools.product(*map(range, v.numblocks)):
            layer[(name, *idx)] = Task(_searchsorted, blocks, Ref((v.name, *idx)), side)
    return Array(LayeredGraph.from_collections(name, layer, [a, v]), name, v.chunks, np.intp)


class _Coarsen:
    def __init__(self, reduction: Callable, factors: dict, trim: bool, kwargs: dict):
        self.reduction, self.factors, self.trim, self.kwargs = reduction, factors, trim, kwargs

    def __call__(self, b: np.ndarray) -> np.ndarray:
        if self.trim:
            b = b[tuple(slice(0, s - s % self.factors.get(d, 1)) for d, s in enumerate(b.shape))]
        shape = []
        for d, s in enumerate(b.shape):
            f = self.factors.get(d, 1)
            shape += [s // f, f]
        return self.reduction(b.reshape(shape), axis=tuple(range(1, 2 * b.ndim, 2)), **self.kwargs)

    def __reduce__(self):
        return (_Coarsen, (self.reduction, self.factors, self.trim, self.kwargs))


def coarsen(reduction: Callable, x: Any, axes: dict, trim_excess: bool = False, **kwargs: Any) -> Array:
    """Reduce non-overlapping windows: ``coarsen(np.sum, x, {0: 2, 1: 4})`` sums 2x4 tiles.

    Each block must hold whole windows (block lengths divisible by the
    factor); with ``trim_excess`` a leftover at the end of the array is
    dropped, otherwise the array's length must be divisible too.
    """
    from shoal.array.blockwise import map_blocks

    x = _as(x)
    axes = {d % x.ndim: int(f) for d, f in axes.items()}
    if trim_excess:
        x = x[tuple(slice(0, x.shape[d] - x.shape[d] % axes.get(d, 1)) for d in range(x.ndim))]
    for d, f in axes.items():
        if x.shape[d] % f:
            raise ValueError(f"coarsen: axis {d} of length {x.shape[d]} is not divisible by {f}; "
                             "pass trim_excess=True to drop the remainder")
        if any(c % f for c in x.chunks[d]):
            # whole windows per block: round block lengths to multiples of the factor
            bounds = chunk_bounds(x.chunks[d])[1:-1]
            cuts = sorted({round(b / f) * f for b in bounds} - {0, x.shape[d]})
            new = tuple(b - a for a, b in zip([0] + cuts, cuts + [x.shape[d]]))
            x = x.rechunk({d: new})
    chunks = tuple(tuple(c // axes.get(d, 1) for c in x.chunks[d]) for d in range(x.ndim))
    probe = reduction(np.ones((1, 1), dtype=x.dtype), axis=(1,), **kwargs)
    return map_blocks(_Coarsen(reduction, axes, False, kwargs), x, chunks=chunks,
                      dtype=np.asarray(probe).dtype)


class _HistDD:
    def __init__(self, edges: list, density: bool, weighted: bool):
        self.edges, self.weighted = edges, weighted

    def __reduce__(self):
        return (_HistDD, (self.edges, False, self.weighted))

    def chunk(self, block: Any, axes: tuple) -> np.ndarray:
        if self.weighted:
            sample, w = block
            return np.histogramdd(sample, bins=self.edges, weights=w)[0][None]
        return np.histogramdd(block, bins=self.edges)[0][None]


def _add_all(parts: list, axes: tuple) -> np.ndarray:
    return functools.reduce(np.add, parts)


def _first(p: np.ndarray, axes: tuple, keepdims: bool) -> np.ndarray:
    return p[0]


def _pair(a: np.ndarray, b: np.ndarray) -> tuple:
    return (a, b)


def histogramdd(sample: Any, bins: Any = 10, range: Any = None, density: bool = False,
                weights: Any = None, normed: Any = None) -> tuple:
    """numpy.histogramdd: ``(counts, edges)``; counts is a shoal Array, edges numpy arrays.

    ``sample`` is an (N, D) array or a sequence of D 1-d arrays.  Bin edges
    must be known without reading the data: give edges, or bin counts with a
    ``range`` per dimension.
    """
    from shoal.array.creation import stack
    from shoal.array.reductions import tree_reduction

    if isinstance(sample, (list, tuple)):
        sample = stack([_as(s) for s in sample], axis=1)
    sample = _as(sample)
    if sample.ndim != 2:
        raise ValueError("histogramdd: sample must be (N, D) or a sequence of D 1-d arrays")
    ndim = sample.shape[1]
    if isinstance(bins, (int, np.integer)):
        bins = [int(bins)] * ndim
    if len(bins) != ndim:
        raise ValueError(f"histogramdd: {len(bins)} bin specifications for {ndim} dimensions")
    edges = []
    for d, b in enumerate(bins):
        if np.ndim(b) == 0:
            if range is None or range[d] is None:
                raise ValueError("histogramdd needs bin edges, or bin counts together with range=, "
                                 "since the data's extent is not known lazily")
            lo, hi = range[d]
            edges.append(np.linspace(lo, hi, int(b) + 1))
        else:
            edges.append(np.asarray(b.compute() if isinstance(b, Array) else b, dtype=float))
    x = sample.rechunk({1: -1})
    weighted = weights is not None
    if weighted:
        from shoal.array.blockwise import blockwise

        w = _as(weights).rechunk((x.chunks[0],))
        x = blockwise(_pair, "ij", x, "ij", w, "i", dtype=x.dtype)
    h = _HistDD(edges, density, weighted)
    counts = tree_reduction(x, h.chunk, _add_all, _first, axis=(0, 1), keepdims=False,
                            dtype=np.float64, name="histogramdd")
    name = new_name("histogramdd-grid", counts.name)
    layer = {(name,) + (0,) * ndim: Ref((counts.name,))}
    out = Array(LayeredGraph.from_collections(name, layer, [counts]), name,
                tuple((len(e) - 1,) for e in edges), np.float64)
    if density:
        widths = functools.reduce(np.multiply.outer, [np.diff(e) for e in edges])
        out = out / out.sum() / widths
    return out, edges


def histogram2d(x: Any, y: Any, bins: Any = 10, range: Any = None, density: bool = False,
                weights: Any = None) -> tuple:
    """numpy.histogram2d: ``(counts, xedges, yedges)``; see :func:`histogramdd`."""
    if isinstance(bins, (list, tuple)) and len(bins) != 2:
        bins = [bins, bins]
    elif isinstance(bins, np.ndarray) and bins.ndim == 1:
        bins = [bins, bins]
    counts, edges = histogramdd([x, y], bins=bins, range=range, density=density, weights=weights)
    return counts, edges[0], edges[1]
