"""``x[index]``: ints, slices (any step), None, Ellipsis, integer lists and boolean masks.

Each dimension's index is turned into a *plan*: the output blocks along that
dimension, each made of one or more ``(input block, local index)`` pieces.
Ints and slices give one piece per output block (a plain ``getitem`` on one
input block, usually a view); an integer list gives output blocks about the
size of the input's blocks, each gathering from the input blocks it touches.
The output grid is the product of the plans, one task per output block.

A boolean *Array* mask of the array's own shape (``x[x > 0]``) gives a 1-d
result whose block lengths are unknown until computed (``nan`` in
``chunks``), as in numpy the selection is flattened in C order per block.
"""
from __future__ import annotations

import itertools
import math
from numbers import Integral
from typing import Any

import numpy as np

from shoal.core.graph import LayeredGraph
from shoal.core.task import Ref, Task

from shoal.array.blocktypes import gather_sparse, is_sparse
from shoal.array.chunks import chunk_bounds
from shoal.array.core import Array
from shoal.utils import new_name

__all__ = ["getitem", "normalize_index"]


def _unsupported(index: Any, why: str) -> IndexError:
    return IndexError(
        f"unsupported index {index!r}: {why}. shoal arrays accept ints, slices, None, Ellipsis, "
        "one list/array of ints per index, boolean numpy masks, and a boolean shoal Array of "
        "the array's shape (x[x > 0])."
    )


def normalize_index(index: Any, shape: tuple) -> tuple:
    """Expand Ellipsis, convert lists to arrays, pad with full slices."""
    if not isinstance(index, tuple):
        index = (index,)
    out = []
    for i in index:
        if isinstance(i, list):
            i = np.asarray(i)
            if i.dtype == object:
                raise _unsupported(index, "nested lists of mixed types")
            if i.size == 0:
                i = i.astype(np.intp)
        out.append(i)
    n_ell = sum(1 for i in out if i is Ellipsis)
    if n_ell > 1:
        raise IndexError("an index can only have a single ellipsis ('...')")
    used = sum(0 if (i is None or i is Ellipsis) else
               (i.ndim if isinstance(i, (np.ndarray, Array)) and i.dtype == bool else 1) for i in out)
    if used > len(shape):
        raise IndexError(f"too many indices for array: array is {len(shape)}-dimensional, "
                         f"but {used} were indexed")
    if n_ell:
        k = out.index(Ellipsis)
        out[k:k + 1] = [slice(None)] * (len(shape) - used)
    else:
        out += [slice(None)] * (len(shape) - used)
    return tuple(out)


def _slice_plan(s: slice, c: tuple) -> tuple:
    """Output pieces for a slice: list of [(block, local slice)] and lengths."""
    if any(isinstance(b, float) and b != b for b in c):  # unknown lengths: only ':' gets here
        return [[(k, slice(None))] for k in range(len(c))], tuple(c)
    n = sum(c)
    start, stop, step = s.indices(n)
    sel = np.arange(start, stop, step)
    bounds = np.asarray(chunk_bounds(c))
    if sel.size == 0:
        return [[(0, slice(0, 0))]], (0,)
    blk = np.searchsorted(bounds, sel, side="right") - 1
    cut = np.flatnonzero(np.diff(blk)) + 1
    starts = np.concatenate([[0], cut])
    ends = np.concatenate([cut, [sel.size]])
    pieces, lengths = [], []
    for a, b in zip(starts, ends):
        blkid = int(blk[a])
        lo = int(bounds[blkid])
        first, last = int(sel[a]) - lo, int(sel[b - 1]) - lo
        end = last + (1 if step > 0 else -1)
        pieces.append([(blkid, slice(first, end if end >= 0 else None, step))])
        lengths.append(int(b - a))
    return pieces, tuple(lengths)


def _int_plan(i: int, c: tuple, dim: int) -> tuple:
    n = sum(c)
    if not -n <= i < n:
        raise IndexError(f"index {i} is out of bounds for axis {dim} with size {n}")
    i %= n
    bounds = chunk_bounds(c)
    b = int(np.searchsorted(bounds, i, side="right") - 1)
    return b, i - bounds[b]


def _list_plan(idx: np.ndarray, c: tuple, dim: int) -> tuple:
    """Pieces for an integer array: output blocks about the input's block length."""
    n = sum(c)
    idx = idx.astype(np.intp, copy=False)
    if idx.size and (idx.max() >= n or idx.min() < -n):
        bad = idx[(idx >= n) | (idx < -n)][0]
        raise IndexError(f"index {bad} is out of bounds for axis {dim} with size {n}")
    idx = np.where(idx < 0, idx + n, idx)
    bounds = np.asarray(chunk_bounds(c))
    per = max(max(c) if c else 1, 1)
    if idx.size == 0:
        return [[(0, np.empty(0, np.intp), None)]], (0,)
    blk = np.searchsorted(bounds, idx, side="right") - 1
    pieces, lengths = [], []
    for lo in range(0, idx.size, per):
        part, pb = idx[lo:lo + per], blk[lo:lo + per]
        entries = []
        order = np.argsort(pb, kind="stable")
        ub, first = np.unique(pb[order], return_index=True)
        ends = list(first[1:]) + [len(order)]
        for b, a, e in zip(ub, first, ends):
            pos = order[a:e]
            entries.append((int(b), part[pos] - bounds[b], pos))
        if len(entries) == 1:
            entries = [(entries[0][0], entries[0][1][np.argsort(entries[0][2])], None)]
        pieces.append(entries)
        lengths.append(int(part.size))
    return pieces, tuple(lengths)


def _gather(blocks: list, locals_: list, positions: list, axis: int, size: int) -> np.ndarray:
    """Take ``locals_[k]`` from ``blocks[k]`` along ``axis``, placing them at ``positions[k]``."""
    if any(is_sparse(b) for b in blocks):
        parts = [_getitem(b, loc) for b, loc in zip(blocks, locals_)]
        return gather_sparse(parts, positions, axis)
    first = _getitem(np.asarray(blocks[0]), locals_[0])
    shape = list(first.shape)
    shape[axis] = size
    out = np.empty(shape, dtype=first.dtype)
    for k, (b, loc, pos) in enumerate(zip(blocks, locals_, positions)):
        part = first if k == 0 else _getitem(np.asarray(b), loc)
        sel = [slice(None)] * len(shape)
        sel[axis] = pos
        out[tuple(sel)] = part
    return out


def _getitem(x: np.ndarray, index: tuple) -> np.ndarray:
    """``x[index]`` where at most one entry is an integer array.

    The array is applied after the basic part with ``np.take`` so that, unlike
    numpy's mixed int-and-array rule, its axis stays where it was written.
    """
    k = next((k for k, i in enumerate(index) if isinstance(i, np.ndarray)), None)
    if k is None:
        return x[index]
    basic = list(index)
    arr = basic[k]
    basic[k] = slice(None)
    axis = sum(1 for i in index[:k] if not isinstance(i, (int, np.integer)))
    sub = x[tuple(basic)]
    if is_sparse(sub):  # scipy.sparse has no np.take; one array index keeps its axis there too
        return sub[(slice(None),) * axis + (arr,)]
    return np.take(sub, arr, axis=axis)


class _Field:
    def __init__(self, field: Any):
        self.field = field

    def __call__(self, b: np.ndarray) -> np.ndarray:
        return b[self.field]

    def __reduce__(self):
        return (_Field, (self.field,))

    def __shoal_tokenize__(self) -> Any:
        return ("field", self.field)


def _fields(x: Array, index: Any) -> Array:
    """``x['a']`` / ``x[['b', 'a']]`` on a structured dtype, block by block."""
    from shoal.array.blockwise import map_blocks

    field = list(index) if isinstance(index, list) else index
    if x.dtype.names is None:
        raise IndexError(f"field index {index!r} needs a structured dtype, not {x.dtype}")
    sub = x.dtype[field]
    if sub.shape:  # a subarray field adds trailing dimensions
        out = map_blocks(_Field(field), x, dtype=sub.base,
                         new_axis=list(range(x.ndim, x.ndim + len(sub.shape))),
                         chunks=x.chunks + tuple((n,) for n in sub.shape))
        return out
    return map_blocks(_Field(field), x, dtype=sub)


def getitem(x: Array, index: Any) -> Array:
    """``x[index]`` as a new Array (see the module docstring)."""
    if isinstance(index, str) or (isinstance(index, list) and index and all(isinstance(i, str) for i in index)):
        return _fields(x, index)
    for i in (index if isinstance(index, tuple) else (index,)):
        if isinstance(i, (float, np.floating)):
            raise IndexError(f"only integers, slices, None, Ellipsis and integer or boolean arrays are "
                             f"valid indices, not the float {i!r}")
        if isinstance(i, slice) and any(isinstance(v, (float, np.floating)) for v in (i.start, i.stop, i.step)):
            raise IndexError(f"slice indices must be integers or None, not {i!r}")
        if isinstance(i, list) and any(isinstance(v, (float, np.floating)) for v in i):
            raise IndexError(f"arrays used as indices must be of integer or boolean type, not {i!r}")
    if isinstance(index, Array) or (isinstance(index, tuple) and any(isinstance(i, Array) for i in index)):
        from shoal.array.lazy_index import lazy_getitem

        return lazy_getitem(x, index)
    idx = normalize_index(index, x.shape)
    dim = 0
    for i in idx:
        if i is None:
            continue
        n = x.shape[dim] if dim < x.ndim else 0
        if isinstance(n, float) and n != n and not (isinstance(i, slice) and i == slice(None)):
            raise ValueError(f"axis {dim} has unknown block lengths (nan, e.g. after a boolean mask), "
                             "so this index cannot be placed; call x.compute_chunk_sizes() first")
        dim += i.ndim if isinstance(i, np.ndarray) and i.dtype == bool else 1
    # full-shape boolean numpy mask: same as a boolean Array mask
    if len(idx) >= 1 and isinstance(idx[0], np.ndarray) and idx[0].dtype == bool and idx[0].ndim > 1:
        m = idx[0]
        if m.shape != x.shape[:m.ndim]:
            raise IndexError(f"boolean index of shape {m.shape} does not match the array's "
                             f"leading dimensions {x.shape[:m.ndim]}")
        from shoal.array.creation import from_array
        from shoal.array.lazy_index import lazy_getitem

        return lazy_getitem(x, (from_array(m, chunks=x.chunks[:m.ndim]),) + idx[1:])
    n_arr = sum(1 for i in idx if isinstance(i, np.ndarray) and i.ndim >= 1)
    if n_arr > 1 and all(i is not None for i in idx):
        return _pointwise(x, idx)
    plans = []  # per output dim: (pieces, lengths, source dim or None, fancy)
    fixed = {}  # source dim -> (block, local int) for int indices
    dim = 0
    n_fancy = 0
    for i in idx:
        if i is None:
            plans.append(([[(None, None)]], (1,), None, False))
            continue
        if isinstance(i, np.ndarray) and i.dtype == bool:
            if i.ndim != 1:
                raise _unsupported(index, "boolean masks must be 1-d per axis or have the array's full shape")
            if i.shape[0] != x.shape[dim]:
                raise IndexError(f"boolean index of length {i.shape[0]} does not match axis {dim} "
                                 f"of length {x.shape[dim]}")
            i = np.flatnonzero(i)
        if isinstance(i, (Integral, np.integer)) and not isinstance(i, bool):
            fixed[dim] = _int_plan(int(i), x.chunks[dim], dim)
            dim += 1
        elif isinstance(i, slice):
            pieces, lengths = _slice_plan(i, x.chunks[dim])
            plans.append((pieces, lengths, dim, False))
            dim += 1
        elif isinstance(i, np.ndarray) and i.dtype.kind in "iu":
            if i.ndim != 1:
                raise _unsupported(index, "integer index arrays must be 1-d")
            n_fancy += 1
            if n_fancy > 1:
                raise _unsupported(index, "more than one integer list in one index (numpy would "
                                   "broadcast them together); apply them one at a time, "
                                   "x[[1, 2]][:, [3, 4]]")
            pieces, lengths = _list_plan(i, x.chunks[dim], dim)
            plans.append((pieces, lengths, dim, True))
            dim += 1
        else:
            raise _unsupported(index, f"{type(i).__name__} entries are not indices")
    if all(p[2] is not None and not p[3] and len(p[0]) == x.numblocks[p[2]]
           and all(e[0][1] == slice(0, x.chunks[p[2]][k], 1) for k, e in enumerate(p[0])) for p in plans) \
            and not fixed and len(plans) == x.ndim:
        return x  # x[:], x[...]: nothing to do
    name = new_name("getitem", x.name, _hashable(idx))
    layer: dict = {}
    out_ndim = len(plans)
    for out_idx in itertools.product(*[range(len(p[0])) for p in plans]):
        # source block coordinates and local index per source dim
        src_block = [None] * x.ndim
        local: list = [None] * x.ndim
        for d, (b, loc) in fixed.items():
            src_block[d], local[d] = b, loc
        fancy = None
        new_axes = []
        for o, (pieces, lengths, sd, is_fancy) in zip(out_idx, plans):
            piece = pieces[o]
            if sd is None:
                new_axes.append(True)
                continue
            new_axes.append(False)
            if is_fancy and len(piece) > 1:
                fancy = (sd, piece, lengths[o])
            else:
                src_block[sd], local[sd] = piece[0][0], piece[0][1]
        # position of each output dim's index inside the local index tuple
        full = []
        sd_seen = 0
        for i in idx:
            if i is None:
                full.append(None)
            else:
                full.append(("src", sd_seen))
                sd_seen += 1
        if fancy is None:
            loc = tuple(None if f is None else local[f[1]] for f in full)
            key = (x.name, *[b if b is not None else 0 for b in src_block])
            layer[(name, *out_idx)] = Task(_getitem, Ref(key), loc)
        else:
            fd, piece, size = fancy
            blocks, locs, poss = [], [], []
            for b, lidx, pos in piece:
                sb = list(src_block)
                sb[fd] = b
                blocks.append(Ref((x.name, *sb)))
                ll = list(local)
                ll[fd] = lidx
                locs.append(tuple(None if f is None else ll[f[1]] for f in full))
                poss.append(pos)
            # the fancy axis's position in the output
            out_axis = [k for k, p in enumerate(plans) if p[2] == fd][0]
            layer[(name, *out_idx)] = Task(_gather, blocks, locs, poss, out_axis, size)
    chunks = tuple(p[1] for p in plans)
    if out_ndim == 0:
        layer = {(name,): layer[(name,)]}
    out = Array(LayeredGraph.from_collections(name, layer, [x]), name, chunks, x.dtype)
    # numpy's rule: ints count as advanced indices next to an integer list; when
    # they are not adjacent to it the list's axis moves to the front
    adv = [k for k, i in enumerate(idx) if isinstance(i, (Integral, np.integer)) and not isinstance(i, bool)
           or (isinstance(i, np.ndarray) and i.ndim == 1)]
    if n_fancy and len(adv) > 1 and adv != list(range(adv[0], adv[0] + len(adv))):
        k = [n for n, p in enumerate(plans) if p[3]][0]
        if k:
            from shoal.array.routines import transpose

            out = transpose(out, [k] + [n for n in range(out_ndim) if n != k])
    return out


def _pointwise(x: Array, idx: tuple) -> Array:
    """Several index arrays: numpy broadcasts them together (as ``vindex``), and puts the
    broadcast dimensions where the first one stood when they are all adjacent, else first."""
    key = tuple(np.flatnonzero(i) if isinstance(i, np.ndarray) and i.dtype == bool else i for i in idx)
    out = vindex(x, key)
    adv = [k for k, i in enumerate(key) if not isinstance(i, slice)]
    nb = np.broadcast_shapes(*[np.shape(key[k]) for k in adv])
    if adv == list(range(adv[0], adv[0] + len(adv))) and adv[0] > 0 and len(nb):
        from shoal.array.routines import moveaxis

        nd = len(nb)
        out = moveaxis(out, list(range(nd)), list(range(adv[0], adv[0] + nd)))
    return out


def _hashable(idx: tuple) -> tuple:
    out = []
    for i in idx:
        if isinstance(i, np.ndarray):
            out.append(("arr", i.dtype.str, i.shape, i.tobytes()))
        elif isinstance(i, slice):
            out.append(("slice", i.start, i.stop, i.step))
        else:
            out.append(i)
    return tuple(out)


def _vgather(blocks: list, locals_: list, positions: list, size: int) -> np.ndarray:
    first = np.asarray(blocks[0])[locals_[0]]
    out = np.empty((size,) + first.shape[1:], dtype=first.dtype)
    for k, (b, loc, pos) in enumerate(zip(blocks, locals_, positions)):
        out[pos] = first if k == 0 else np.asarray(b)[loc]
    return out


def _vindex_lazy_block(block: np.ndarray, idx: np.ndarray) -> np.ndarray:
    n = block.shape[0]
    idx = np.asarray(idx)
    if idx.size and (idx.max() >= n or idx.min() < -n):
        raise IndexError(f"vindex: index out of bounds for axis 0 with size {n}")
    return block[idx]


def vindex(x: Array, key: Any) -> Array:
    """Point-wise indexing: ``x.vindex[[0, 2], [1, 3]]`` picks x[0, 1] and x[2, 3].

    The index arrays (ints count as 0-d arrays) broadcast together, numpy's
    rule for several index arrays, and their dimensions come first in the
    result; dimensions indexed by a slice follow, in order (the slices are
    applied first).  With no index array at all only whole-axis slices are
    accepted (``x.vindex[:]`` is ``x``).  A shoal Array index is accepted for
    a 1-d array held in one block.
    """
    if not isinstance(key, tuple):
        key = (key,)
    if any(k is None for k in key):
        raise IndexError("vindex does not support None (np.newaxis) entries; index, then add axes")
    if any(isinstance(k, Array) for k in key):
        if len(key) == 1 and x.ndim == 1 and x.numblocks == (1,) and key[0].dtype.kind in "iu":
            from shoal.array.blockwise import map_blocks

            k = key[0]
            ind = tuple(range(k.ndim))
            from shoal.array.blockwise import blockwise

            return blockwise(_vindex_lazy_block, ind, x, (k.ndim,), k, ind, dtype=x.dtype,
                             concatenate=True, token="vindex-lazy")
        raise IndexError("vindex does not support indexing with shoal Arrays except a 1-d array held "
                         "in one block; compute the index first (x.vindex[idx.compute()])")
    if len(key) > x.ndim:
        raise IndexError(f"vindex got {len(key)} indices for a {x.ndim}-d array")
    key = key + (slice(None),) * (x.ndim - len(key))
    arr_dims = [d for d, k in enumerate(key) if not isinstance(k, slice)]
    if not arr_dims:
        for d, k in enumerate(key):
            if k.indices(int(x.shape[d])) != (0, int(x.shape[d]), 1):
                raise IndexError("vindex needs at least one index array; a slice alone must cover the "
                                 "whole axis (use x[...] for other slices)")
        return x
    # slices first, then the index arrays on the leading dimensions
    sliced = tuple(slice(None) if d in arr_dims else k for d, k in enumerate(key))
    if any(k != slice(None) for k in sliced):
        x = x[sliced]
    order = arr_dims + [d for d in range(x.ndim) if d not in arr_dims]
    if order != list(range(x.ndim)):
        from shoal.array.routines import transpose

        x = transpose(x, order)
    key = tuple(key[d] for d in arr_dims)
    arrays = []
    for d, k in enumerate(key):
        k = np.asarray(k)
        if k.size == 0 and k.dtype.kind == "f":
            k = k.astype(np.intp)
        if k.dtype == bool or k.dtype.kind not in "iu":
            raise IndexError(f"vindex takes integer arrays (or ints) only, not {k.dtype} indices")
        n = x.shape[d]
        if k.size and (k.max() >= n or k.min() < -n):
            raise IndexError(f"vindex: index out of bounds for axis {d} with size {n}")
        arrays.append(np.where(k < 0, k + n, k))
    try:
        bcast = np.broadcast_arrays(*arrays)
    except ValueError:
        raise IndexError(f"vindex arrays of shapes {[a.shape for a in arrays]} do not broadcast together") from None
    bshape = bcast[0].shape
    pts = [b.ravel() for b in bcast]
    nd = len(key)
    npts = pts[0].size
    bounds = [np.asarray(chunk_bounds(x.chunks[d])) for d in range(nd)]
    blk = [np.searchsorted(bounds[d], pts[d], side="right") - 1 for d in range(nd)]
    # points per output block: about as many as one input block holds along the indexed axes
    per = max(int(np.prod([max(max(x.chunks[d]) if x.chunks[d] else 1, 1) for d in range(nd)])), 1)
    trailing = x.chunks[nd:]
    name = new_name("vindex", x.name, [p.tobytes() for p in pts])
    layer: dict = {}
    sizes = []
    for piece, lo in enumerate(range(0, max(npts, 1), per)):
        hi = min(lo + per, npts)
        sizes.append(hi - lo)
        groups: dict = {}
        for j in range(lo, hi):
            groups.setdefault(tuple(int(b[j]) for b in blk), []).append(j)
        if not groups:  # no points: one empty piece from block 0
            groups[(0,) * nd] = []
        for tidx in itertools.product(*[range(len(c)) for c in trailing]):
            blocks, locs, poss = [], [], []
            for bidx, js in groups.items():
                js = np.asarray(js, dtype=np.intp)
                blocks.append(Ref((x.name, *bidx, *tidx)))
                locs.append(tuple(pts[d][js] - bounds[d][bidx[d]] for d in range(nd)))
                poss.append(js - lo)
            layer[(name, piece, *tidx)] = Task(_vgather, blocks, locs, poss, hi - lo)
    out = Array(LayeredGraph.from_collections(name, layer, [x]), name, (tuple(sizes), *trailing), x.dtype)
    if bshape != (npts,):
        from shoal.array.routines import reshape

        out = reshape(out.rechunk({0: -1}), bshape + tuple(x.shape[nd:]))
    return out


class VIndex:
    def __init__(self, x: Array):
        self.x = x

    def __getitem__(self, key: Any) -> Array:
        return vindex(self.x, key)
