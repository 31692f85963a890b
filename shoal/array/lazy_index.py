"""Indexing by lazy (shoal) arrays: ``x[x > 0]``, ``x[x[:, 0] > t]``, ``x[:, idx]``.

A boolean mask's selection is not known until it is computed, so the
indexed axis gets unknown block lengths (``nan`` in ``chunks``; call
``compute_chunk_sizes()`` to fill them in).  Results follow numpy exactly:

* a mask covering the leading ``k`` dimensions selects in C order.  Each
  block along the first dimension must then hold whole rows of dimensions
  ``1..k-1``, so those dimensions are made single blocks first (otherwise
  blocks would come out in block order, not C order);
* a 1-d mask or an integer array in one position of a tuple index acts
  along that dimension only; an integer array's block lengths are known
  (its own), and each output block gathers from every input block along
  the dimension, since the positions are not known in advance.

More than one lazy array in one index (numpy would broadcast them
together) raises ``NotImplementedError``.
"""
from __future__ import annotations

import itertools
import math
from numbers import Integral
from typing import Any

import numpy as np

from shoal.core.graph import LayeredGraph
from shoal.core.task import Ref, Task

from shoal.array.chunks import chunk_bounds
from shoal.array.core import Array, new_name

__all__ = ["lazy_getitem"]


def _is_int(i: Any) -> bool:
    return isinstance(i, (Integral, np.integer)) and not isinstance(i, bool)


def _expand(index: tuple, ndim: int) -> list:
    """Replace Ellipsis by full slices and pad the index to ``ndim`` dimensions."""
    out = list(index)
    used = 0
    for i in out:
        if i is None or i is Ellipsis:
            continue
        used += i.ndim if isinstance(i, Array) and i.dtype == bool else 1
    if sum(1 for i in out if i is Ellipsis) > 1:
        raise IndexError("an index can only have a single ellipsis ('...')")
    if used > ndim:
        raise IndexError(f"too many indices for array: array is {ndim}-dimensional, but {used} were indexed")
    if Ellipsis in [i for i in out if not isinstance(i, Array)]:
        k = next(n for n, i in enumerate(out) if i is Ellipsis)
        out[k:k + 1] = [slice(None)] * (ndim - used)
    else:
        out += [slice(None)] * (ndim - used)
    return out


def lazy_getitem(x: Array, index: Any) -> Array:
    """``x[index]`` where ``index`` holds one shoal Array (see the module docstring)."""
    if not isinstance(index, tuple):
        index = (index,)
    lazy = [n for n, i in enumerate(index) if isinstance(i, Array)]
    if len(lazy) > 1:
        raise NotImplementedError(
            "indexing with more than one shoal Array at once (numpy broadcasts them together) is "
            "not supported; use x.vindex[...] with computed indices, or index one axis at a time")
    full = _expand(index, x.ndim)
    k = next(n for n, i in enumerate(full) if isinstance(i, Array))
    arr = full[k]
    # the position of the lazy entry among x's dimensions, and in the result of the rest
    src_dim = sum(0 if i is None else 1 for i in full[:k])
    out_dim = sum(0 if _is_int(i) else 1 for i in full[:k])
    others = [i for n, i in enumerate(full) if n != k]
    if any(isinstance(i, (list, np.ndarray)) for i in others):
        raise NotImplementedError(
            "indexing with a shoal Array together with a list or numpy array (numpy broadcasts "
            "them together) is not supported; index one axis at a time, or use x.vindex[...]")
    if arr.dtype == bool and arr.ndim > 1:
        if k or any(not (isinstance(i, slice) and i == slice(None)) for i in others):
            raise NotImplementedError(
                "a multi-dimensional shoal boolean mask combined with other indices is not "
                "supported; index with the mask alone (x[mask]) and then slice the result")
        return _mask_leading(x, arr, 0)
    # everything except the lazy entry first, then the lazy entry along its dimension
    rest = tuple(slice(None) if n == k else i for n, i in enumerate(full))
    y = x[rest] if any(not (isinstance(i, slice) and i == slice(None)) for i in rest) else x
    if arr.ndim == 0 and arr.dtype.kind in "iu":
        # a lazy scalar index: take one element along the axis, then drop the axis
        picked = _take_axis(y, arr.reshape((1,)), out_dim)
        return picked[(slice(None),) * out_dim + (0,)]
    if arr.ndim != 1:
        raise NotImplementedError(
            f"indexing with a {arr.ndim}-d shoal integer array is not supported; "
            "use a 1-d index array, or compute it first (x[idx.compute()])")
    if arr.dtype == bool:
        out = _mask_axis(y, arr, out_dim)
    elif arr.dtype.kind in "iu":
        out = _take_axis(y, arr, out_dim)
    else:
        raise IndexError(f"arrays used as indices must be of integer or boolean type, not {arr.dtype}")
    # numpy: an int and an index array not next to each other send the array's axis to the front
    adv = [n for n, i in enumerate(full) if _is_int(i) or isinstance(i, Array)]
    if len(adv) > 1 and adv != list(range(adv[0], adv[0] + len(adv))) and out_dim:
        from shoal.array.routines import moveaxis

        out = moveaxis(out, out_dim, 0)
    return out


# -- a boolean mask over all (or the leading) dimensions ----------------------------------

def _mask_block(b: np.ndarray, m: np.ndarray) -> np.ndarray:
    return b[m]


def _mask_leading(x: Array, mask: Array, start: int) -> Array:
    """``x[(slice(None),) * start + (mask,)]`` for a mask of ``k`` dimensions."""
    k = mask.ndim
    dims = range(start, start + k)
    if tuple(x.shape[d] for d in dims) != mask.shape and not any(_nan(s) for s in mask.shape + x.shape):
        raise IndexError(f"boolean mask of shape {mask.shape} does not match the array's "
                         f"dimensions of shape {tuple(x.shape[d] for d in dims)}")
    if start:
        raise NotImplementedError(
            "a multi-dimensional shoal boolean mask after other indices is not supported; "
            "move the masked axes to the front first (shoal.array.moveaxis)")
    # C order: every block along dim 0 holds whole rows of the other masked dims
    whole = {d: -1 for d in range(1, k) if x.numblocks[d] > 1}
    if whole:
        x = x.rechunk(whole)
    target = x.chunks[:k]
    if mask.chunks != target:
        mask = mask.rechunk(target)
    from shoal.array.blockwise import blockwise

    xi = tuple(range(x.ndim))
    res = blockwise(_mask_block, xi, x, xi, mask, tuple(range(k)), dtype=x.dtype,
                    name=new_name("mask", x.name, mask.name))
    # masked dims 1..k-1 are single blocks now: drop them from the grid
    name = res.name + "-flat"
    layer = {}
    for idx in itertools.product(*map(range, res.numblocks)):
        layer[(name, idx[0], *idx[k:])] = Ref((res.name, *idx))
    chunks = ((np.nan,) * x.numblocks[0], *x.chunks[k:])
    return Array(LayeredGraph.from_collections(name, layer, [res]), name, chunks, x.dtype)


def _nan(v: Any) -> bool:
    return isinstance(v, float) and math.isnan(v)


# -- a 1-d boolean mask along one dimension ------------------------------------------------

class _AxisMask:
    def __init__(self, axis: int):
        self.axis = axis

    def __call__(self, b: np.ndarray, m: np.ndarray) -> np.ndarray:
        return np.compress(m, b, axis=self.axis)

    def __reduce__(self):
        return (_AxisMask, (self.axis,))

    def __shoal_tokenize__(self) -> Any:
        return ("axis-mask", self.axis)


def _mask_axis(x: Array, mask: Array, axis: int) -> Array:
    if not _nan(x.shape[axis]) and not _nan(mask.shape[0]) and mask.shape[0] != x.shape[axis]:
        raise IndexError(f"boolean index of length {mask.shape[0]} does not match axis {axis} "
                         f"of length {x.shape[axis]}")
    if mask.chunks[0] != x.chunks[axis]:
        mask = mask.rechunk((x.chunks[axis],))
    from shoal.array.blockwise import blockwise

    xi = tuple(range(x.ndim))
    res = blockwise(_AxisMask(axis), xi, x, xi, mask, (axis,), dtype=x.dtype,
                    name=new_name("mask-axis", x.name, mask.name, axis))
    chunks = tuple((np.nan,) * len(c) if d == axis else c for d, c in enumerate(x.chunks))
    return Array(res.dask, res.name, chunks, x.dtype)


# -- a 1-d integer array along one dimension ---------------------------------------------

def _take_blocks(idx: np.ndarray, bounds: list, axis: int, *blocks: np.ndarray) -> np.ndarray:
    """Pick ``idx`` (global positions along ``axis``) out of the blocks of that axis."""
    n = bounds[-1]
    idx = np.asarray(idx).astype(np.intp, copy=False)
    if idx.size and (idx.max() >= n or idx.min() < -n):
        bad = idx[(idx >= n) | (idx < -n)][0]
        raise IndexError(f"index {bad} is out of bounds for axis {axis} with size {n}")
    idx = np.where(idx < 0, idx + n, idx)
    which = np.searchsorted(np.asarray(bounds), idx, side="right") - 1
    first = np.asarray(blocks[0])
    shape = list(first.shape)
    shape[axis] = idx.size
    out = np.empty(shape, dtype=np.result_type(*[np.asarray(b).dtype for b in blocks]))
    for j in np.unique(which):
        pos = np.flatnonzero(which == j)
        sel = [slice(None)] * len(shape)
        sel[axis] = pos
        out[tuple(sel)] = np.take(np.asarray(blocks[j]), idx[pos] - bounds[j], axis=axis)
    return out


def _take_axis(x: Array, idx: Array, axis: int) -> Array:
    if any(_nan(c) for c in x.chunks[axis]):
        raise ValueError("cannot index an axis of unknown length with an integer array; "
                         "call x.compute_chunk_sizes() first")
    bounds = chunk_bounds(x.chunks[axis])
    name = new_name("take-lazy", x.name, idx.name, axis)
    layer: dict = {}
    other = [range(n) if d != axis else [None] for d, n in enumerate(x.numblocks)]
    for j in range(idx.numblocks[0]):
        for oidx in itertools.product(*other):
            blocks = []
            for b in range(x.numblocks[axis]):
                src = list(oidx)
                src[axis] = b
                blocks.append(Ref((x.name, *src)))
            out = list(oidx)
            out[axis] = j
            layer[(name, *out)] = Task(_take_blocks, Ref((idx.name, j)), bounds, axis, *blocks)
    chunks = tuple(idx.chunks[0] if d == axis else c for d, c in enumerate(x.chunks))
    return Array(LayeredGraph.from_collections(name, layer, [x, idx]), name, chunks, x.dtype)
