"""Counting and set routines: histogram, bincount, unique, isin, digitize, nonzero.

``histogram`` and ``bincount`` are tree reductions whose partials are the
per-block counts (same length for every block), so they run in bounded
memory like ``sum``.  ``unique`` reduces per-block uniques to one array
(the result's length is only known once computed).  ``nonzero`` and
``argwhere`` give arrays of unknown length (``nan`` in ``chunks``).
"""
from __future__ import annotations

import functools
import itertools
from typing import Any

import numpy as np

from shoal.core.graph import LayeredGraph
from shoal.core.task import Ref, Task

from shoal.array.blockwise import elemwise, as_array as _as
from shoal.array.chunks import chunk_bounds
from shoal.array.core import Array
from shoal.utils import new_name
from shoal.array.reductions import tree_reduction

__all__ = ["histogram", "bincount", "unique", "isin", "digitize", "nonzero", "argwhere", "flatnonzero"]


class _Hist:
    def __init__(self, bins: np.ndarray, weighted: bool):
        self.bins, self.weighted = bins, weighted

    def __reduce__(self):
        return (_Hist, (self.bins, self.weighted))

    def __shoal_tokenize__(self) -> Any:
        return ("hist", self.bins.tobytes(), self.weighted)

    def chunk(self, block: Any, axes: tuple) -> np.ndarray:
        if self.weighted:
            vals, w = block
            return np.histogram(vals, bins=self.bins, weights=w)[0]
        return np.histogram(block, bins=self.bins)[0]


def _add_all(parts: list, axes: tuple) -> np.ndarray:
    return functools.reduce(np.add, parts)


def _as_is(p: Any, axes: tuple, keepdims: bool) -> Any:
    return p


def _pair(a: np.ndarray, b: np.ndarray) -> tuple:
    return (a, b)


def histogram(a: Any, bins: Any = 10, range: Any = None, weights: Any = None, density: bool = False) -> tuple:
    """Counts per bin (lazy) and the bin edges (numpy), like ``numpy.histogram``.

    ``bins`` must be edges or an int with ``range=`` given: finding the
    data's range would need a pass over the data first.
    """
    a = _as(a)
    if np.ndim(bins) == 0:
        if range is None:
            raise ValueError("histogram with an int number of bins needs range=(lo, hi), e.g. "
                             "da.histogram(x, bins=10, range=(x.min().compute(), x.max().compute()))")
        edges = np.linspace(range[0], range[1], int(bins) + 1)
    else:
        edges = np.asarray(bins, dtype=float)
    weighted = weights is not None
    src = a if not weighted else elemwise(_pair, a, _as(weights), dtype=object)
    h = _Hist(edges, weighted)
    counts = _tree_1d(src, h.chunk, edges.size - 1, np.float64 if weighted else np.int64, "histogram")
    if density:
        counts = counts / (counts.sum() * np.diff(edges))
    return counts, edges


def _tree_1d(x: Array, chunk: Any, length: int, dtype: Any, name: str) -> Array:
    """A reduction over all axes whose partial is a 1-d array of ``length`` counts."""
    r = tree_reduction(x, chunk, _add_all, _as_is, axis=None, keepdims=False, dtype=dtype, name=name)
    _rekey(r)
    return Array(r.dask, r.name, ((length,),), dtype)


def _rekey(r: Array) -> None:
    """Give a reduction's single 0-d output key the 1-d key ``(name, 0)`` (its own new layer)."""
    layer = r.dask.layers[r.name]
    layer[(r.name, 0)] = layer.pop((r.name,))


class _Bincount:
    def __init__(self, minlength: int, weighted: bool):
        self.minlength, self.weighted = minlength, weighted

    def __reduce__(self):
        return (_Bincount, (self.minlength, self.weighted))

    def __shoal_tokenize__(self) -> Any:
        return ("bincount", self.minlength, self.weighted)

    def chunk(self, block: Any, axes: tuple) -> np.ndarray:
        if self.weighted:
            vals, w = block
            return np.bincount(vals, weights=w, minlength=self.minlength)
        return np.bincount(block, minlength=self.minlength)


def bincount(x: Any, weights: Any = None, minlength: int = 0) -> Array:
    """Counts of each non-negative int; ``minlength=`` must cover the largest value."""
    x = _as(x)
    if x.ndim != 1:
        raise ValueError("bincount needs a 1-d array")
    if minlength <= 0:
        raise ValueError("shoal's bincount needs minlength= at least max(x) + 1 so every block's "
                         "counts have one length, e.g. da.bincount(x, minlength=int(x.max().compute()) + 1)")
    weighted = weights is not None
    src = x if not weighted else elemwise(_pair, x, _as(weights), dtype=object)
    b = _Bincount(int(minlength), weighted)
    return _tree_1d(src, b.chunk, int(minlength), np.float64 if weighted else np.intp, "bincount")


def _unique_chunk(block: np.ndarray, axes: tuple) -> np.ndarray:
    return np.unique(block)


def _unique_combine(parts: list, axes: tuple) -> np.ndarray:
    return np.unique(np.concatenate(parts))


class _Uniq:
    """Partials ``(values, first flat index, counts)``, merged by ``np.unique`` of the values."""

    def chunk(self, block: np.ndarray, axes: tuple, offsets: tuple, shape: tuple) -> tuple:
        vals, idx, counts = np.unique(block, return_index=True, return_counts=True)
        return vals, idx + offsets[0], counts

    def combine(self, parts: list, axes: tuple) -> tuple:
        vals = np.concatenate([p[0] for p in parts])
        idx = np.concatenate([p[1] for p in parts])
        counts = np.concatenate([p[2] for p in parts])
        u, inv = np.unique(vals, return_inverse=True)
        first = np.full(len(u), np.iinfo(np.intp).max, dtype=np.intp)
        np.minimum.at(first, inv.ravel(), idx)
        total = np.bincount(inv.ravel(), weights=counts, minlength=len(u)).astype(np.intp)
        return u, first, total

    def aggregate(self, p: tuple, axes: tuple, keepdims: bool) -> tuple:
        return p

    def __reduce__(self):
        return (_Uniq, ())


def _pick(t: tuple, i: int) -> np.ndarray:
    return t[i]


def _inverse(block: np.ndarray, uniq: np.ndarray) -> np.ndarray:
    # positions in the sorted uniques; NaN sorts last in both
    return np.searchsorted(uniq, block).astype(np.intp)


def unique(ar: Any, return_index: bool = False, return_inverse: bool = False,
           return_counts: bool = False) -> Any:
    """numpy.unique over all elements: sorted unique values (length known once computed).

    ``return_index`` (first flat position), ``return_inverse`` (per element,
    shaped like ``ar`` as numpy gives it) and ``return_counts`` as in numpy.
    """
    ar = _as(ar)
    if not (return_index or return_inverse or return_counts):
        r = tree_reduction(ar, _unique_chunk, _unique_combine, _as_is, axis=None, dtype=ar.dtype, name="unique")
        _rekey(r)
        return Array(r.dask, r.name, ((np.nan,),), ar.dtype)
    flat = ar.ravel()
    u = _Uniq()
    r = tree_reduction(flat, u.chunk, u.combine, u.aggregate, axis=None, dtype=object, name="unique-info",
                       chunk_with_info=True)
    from shoal.core.graph import LayeredGraph
    from shoal.core.task import Ref, Task

    outs = []
    for k, dt in ((0, ar.dtype), (1, np.intp), (2, np.intp)):
        name = f"{r.name}-part{k}"
        layer = {(name, 0): Task(_pick, Ref((r.name,)), k)}
        outs.append(Array(LayeredGraph.from_collections(name, layer, [r]), name, ((np.nan,),), dt))
    result = [outs[0]]
    if return_index:
        result.append(outs[1])
    if return_inverse:
        import itertools

        uniq = outs[0]
        name = f"{r.name}-inverse"
        layer = {}
        for idx in itertools.product(*map(range, ar.numblocks)):
            layer[(name, *idx)] = Task(_inverse, Ref((ar.name, *idx)), Ref((uniq.name, 0)))
        if ar.ndim == 0:
            layer = {(name,): Task(_inverse, Ref((ar.name,)), Ref((uniq.name, 0)))}
        inv = Array(LayeredGraph.from_collections(name, layer, [ar, uniq]), name, ar.chunks, np.intp)
        result.append(inv)
    if return_counts:
        result.append(outs[2])
    return tuple(result)


def _isin(element: np.ndarray, test: np.ndarray, invert: bool) -> np.ndarray:
    return np.isin(element, test, invert=invert)


def isin(element: Any, test_elements: Any, assume_unique: bool = False, invert: bool = False) -> Array:
    """Elementwise membership in ``test_elements`` (a numpy array or a computed shoal one)."""
    if isinstance(test_elements, Array):
        test_elements = test_elements.compute()
    return elemwise(_isin, element, _extra_args=(np.asarray(test_elements), invert), dtype=bool)


def digitize(a: Any, bins: Any, right: bool = False) -> Array:
    return elemwise(np.digitize, a, _extra_args=(np.asarray(bins), right), dtype=np.intp)


def _nonzero_block(block: np.ndarray, offsets: tuple) -> np.ndarray:
    idx = np.argwhere(block)
    return idx + np.asarray(offsets, dtype=idx.dtype) if idx.size else idx.reshape(0, block.ndim)


def argwhere(a: Any) -> Array:
    """``(n, ndim)`` indices of the non-zero elements, in C order."""
    a = _as(a)
    if any(len(c) > 1 for c in a.chunks[1:]):
        # whole rows per block: the blocks' order is then the global C order
        a = a.rechunk({d: -1 for d in range(1, a.ndim)})
    name = new_name("argwhere", a.name)
    layer = {}
    bounds = [chunk_bounds(c) for c in a.chunks]
    for k, idx in enumerate(itertools.product(*map(range, a.numblocks))):
        offs = tuple(b[i] for b, i in zip(bounds, idx))
        layer[(name, k, 0)] = Task(_nonzero_block, Ref((a.name, *idx)), offs)
    out = Array(LayeredGraph.from_collections(name, layer, [a]), name,
                ((np.nan,) * a.npartitions, (a.ndim,)), np.intp)
    return out


def nonzero(a: Any) -> tuple:
    """Indices of non-zero elements, one array per dimension (unknown lengths)."""
    w = argwhere(a)
    return tuple(w.map_blocks(_column, d, dtype=np.intp, drop_axis=1) for d in range(_as(a).ndim))


def _column(block: np.ndarray, d: int) -> np.ndarray:
    return block[:, d]


def flatnonzero(a: Any) -> Array:
    from shoal.array.routines import ravel

    return nonzero(ravel(_as(a)))[0]
