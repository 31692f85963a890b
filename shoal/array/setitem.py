"""``x[key] = value``: a new graph in which only the blocks the key touches change.

Two forms, as in numpy:

* a boolean shoal Array of ``x``'s shape (``x[x > 0] = 0``) with a scalar
  value becomes ``where(mask, value, x)``, lazily;
* any other key -- ints, slices (any step), ``Ellipsis``, and at most one
  1-d integer or boolean array (a list, numpy array or shoal Array) -- is
  turned into the global positions it selects along every dimension.  The
  value is broadcast to the selection's shape by numpy's assignment rule
  (extra leading length-1 dimensions allowed); every block the selection
  meets gets one task that copies the block and writes its part of the
  value, every other block is passed through untouched.

A shoal Array inside such a key is computed when the assignment is made,
since it decides which blocks change.  Several index arrays at once (numpy
broadcasts them together), 0-d boolean keys and ``None`` raise
``NotImplementedError``.
"""
from __future__ import annotations

import itertools
import math
from numbers import Integral
from typing import Any

import numpy as np

from shoal.core.graph import LayeredGraph
from shoal.core.task import Ref, Task

from shoal.array.blocktypes import copy_block
from shoal.array.chunks import chunk_bounds
from shoal.array.core import Array, new_name

__all__ = ["setitem"]


def _is_int(i: Any) -> bool:
    return isinstance(i, (Integral, np.integer)) and not isinstance(i, (bool, np.bool_))


def _unknown(x: Array) -> bool:
    return any(isinstance(s, float) and math.isnan(s) for s in x.shape)


def _check_scalar_fits(value: Any, dtype: np.dtype) -> None:
    """numpy's error for NaN or infinity written into an integer array, raised now."""
    if dtype.kind in "iub" and np.ndim(value) == 0 and not isinstance(value, Array):
        v = np.asarray(value)
        if v.dtype.kind == "f" and not np.isfinite(v):
            raise ValueError(f"cannot convert float {'NaN' if np.isnan(v) else 'infinity'} to integer")


def setitem(x: Array, key: Any, value: Any) -> Array:
    """The array ``x`` would be after ``x[key] = value`` (see the module docstring)."""
    from shoal.array.routines import where

    if isinstance(value, Array) and _unknown(value):
        raise ValueError("Arrays chunk sizes are unknown for the value assigned; call "
                         "value.compute_chunk_sizes() first")
    _check_scalar_fits(value, x.dtype)
    entries = key if isinstance(key, tuple) else (key,)
    # a boolean mask of x's own shape
    if len(entries) == 1 and isinstance(entries[0], (Array, np.ndarray)) and entries[0].dtype == bool \
            and entries[0].ndim == x.ndim and x.ndim >= 1 and (entries[0].ndim > 1 or isinstance(entries[0], Array)):
        mask = entries[0]
        if _unknown(x) or _unknown(mask):
            if x.ndim != mask.ndim:
                raise IndexError("boolean mask and array of unknown lengths differ in dimensions")
        elif tuple(mask.shape) != tuple(x.shape):
            raise IndexError(f"boolean index of shape {tuple(mask.shape)} does not match the array's "
                             f"shape {x.shape}")
        if np.ndim(value) != 0:
            raise ValueError("assignment through a boolean mask takes a scalar value (x[x > 0] = 1); "
                             "for element-wise values use shoal.array.where(mask, values, x)")
        if isinstance(mask, np.ndarray):
            from shoal.array.creation import from_array

            mask = from_array(mask, chunks=x.chunks)
        return where(mask, value, x).astype(x.dtype)
    if _unknown(x):
        raise ValueError("Arrays chunk sizes are unknown: item assignment needs the block lengths; "
                         "call x.compute_chunk_sizes() first")
    positions, target = _positions(x, entries)
    value = _value_for(value, target, x.dtype)
    return _assign(x, positions, target, value)


def _positions(x: Array, entries: tuple) -> tuple:
    """Per dimension of ``x``: an int, or a 1-d array of global positions; and the target shape."""
    n_ell = sum(1 for e in entries if e is Ellipsis)
    if n_ell > 1:
        raise IndexError("an index can only have a single ellipsis ('...')")
    if any(e is None for e in entries):
        raise NotImplementedError("item assignment with None (np.newaxis) in the key is not supported; "
                                  "leave it out (it adds no elements)")
    used = len(entries) - n_ell
    if used > x.ndim:
        raise IndexError(f"too many indices for array: array is {x.ndim}-dimensional, but {used} were indexed")
    full = []
    for e in entries:
        if e is Ellipsis:
            full += [slice(None)] * (x.ndim - used)
        else:
            full.append(e)
    full += [slice(None)] * (x.ndim - len(full))
    positions: list = []
    n_arrays = 0
    for d, (e, n) in enumerate(zip(full, x.shape)):
        n = int(n)
        if isinstance(e, Array):
            if e.ndim == 0:
                raise NotImplementedError("item assignment with a 0-d shoal Array in the key is not "
                                          "supported; use a Python int or bool")
            e = e.compute()
        if isinstance(e, (bool, np.bool_)) or (isinstance(e, np.ndarray) and e.ndim == 0 and e.dtype == bool):
            raise NotImplementedError("item assignment with a scalar boolean key is not supported; "
                                      "use x[...] = value")
        if _is_int(e) or (isinstance(e, np.ndarray) and e.ndim == 0 and e.dtype.kind in "iu"):
            i = int(e)
            if not -n <= i < n:
                raise IndexError(f"index {i} is out of bounds for axis {d} with size {n}")
            positions.append(i % n)
            continue
        if isinstance(e, slice):
            positions.append(np.arange(*e.indices(n)))
            continue
        if isinstance(e, (list, tuple, range, np.ndarray)):
            a = np.asarray(e)
            if a.ndim != 1:
                raise IndexError(f"item assignment takes 1-d index arrays per dimension, got {a.ndim}-d "
                                 f"along axis {d}")
            n_arrays += 1
            if n_arrays > 1:
                raise NotImplementedError(
                    "item assignment with more than one index array (numpy broadcasts them together) "
                    "is not supported; assign one axis at a time, or use shoal.array.where")
            if a.dtype == bool:
                if a.shape[0] != n:
                    raise IndexError(f"boolean index of length {a.shape[0]} does not match axis {d} "
                                     f"of length {n}")
                a = np.flatnonzero(a)
            elif a.size == 0:
                a = a.astype(np.intp)
            elif a.dtype.kind not in "iu":
                raise IndexError(f"arrays used as indices must be of integer or boolean type, not {a.dtype}")
            if a.size and (a.max() >= n or a.min() < -n):
                bad = a[(a >= n) | (a < -n)][0]
                raise IndexError(f"index {bad} is out of bounds for axis {d} with size {n}")
            positions.append(np.where(a < 0, a + n, a).astype(np.intp))
            continue
        raise IndexError(f"unsupported index {e!r} for item assignment: use ints, slices, Ellipsis "
                         "or one 1-d integer/boolean array")
    target = tuple(len(p) for p in positions if not isinstance(p, int))
    return positions, target


def _value_for(value: Any, target: tuple, dtype: np.dtype) -> Any:
    """The value broadcast to ``target`` (numpy's assignment rule), numpy or shoal."""
    if isinstance(value, Array):
        v = value
        while v.ndim > len(target) and v.shape[0] == 1:
            v = v[0]
        try:
            shape = np.broadcast_shapes(tuple(v.shape), target)
        except ValueError:
            shape = None
        if shape != target:
            raise ValueError(f"could not broadcast a value of shape {value.shape} into the selection's "
                             f"shape {target}")
        from shoal.array.routines import broadcast_to

        return broadcast_to(v, target)
    if isinstance(value, np.ma.MaskedArray):  # np.ma.masked too: the mask travels with the value
        v = np.ma.asarray(value)
        while v.ndim > len(target) and v.shape[0] == 1:
            v = v[0]
        try:
            # the data is cast as numpy's assignment casts it (np.ma.masked's data is a float 0)
            data = np.asarray(v.data).astype(dtype) if dtype != object else np.asarray(v.data)
            return np.ma.masked_array(np.broadcast_to(data, target),
                                      mask=np.broadcast_to(np.ma.getmaskarray(v), target))
        except ValueError:
            raise ValueError(f"could not broadcast a value of shape {np.shape(value)} into the "
                             f"selection's shape {target}") from None
    v = np.asarray(value)
    while v.ndim > len(target) and v.shape[0] == 1:
        v = v[0]
    try:
        return np.broadcast_to(v, target)
    except ValueError:
        raise ValueError(f"could not broadcast a value of shape {np.shape(value)} into the selection's "
                         f"shape {target}") from None


def _set_block(block: np.ndarray, index: tuple, piece: Any, dtype: np.dtype) -> np.ndarray:
    out = copy_block(block, dtype)  # blocks may be shared or read-only views
    if isinstance(piece, np.ma.MaskedArray) and not isinstance(out, np.ma.MaskedArray):
        out = np.ma.masked_array(out)  # assigning masked values masks those elements, as numpy.ma does
    out[index] = piece
    return out


def _assign(x: Array, positions: list, target: tuple, value: Any) -> Array:
    name = new_name("setitem", x.name)
    layer: dict = {}
    deps = [x]
    bounds = [chunk_bounds(c) for c in x.chunks]
    lazy = isinstance(value, Array)
    if x.ndim == 0:
        layer[(name,)] = Task(_set_block, Ref((x.name,)), (),
                              Ref((value.name,)) if lazy else np.array(value), x.dtype)
        if lazy:
            deps.append(value)
        return Array(LayeredGraph.from_collections(name, layer, deps), name, x.chunks, x.dtype)
    # per dimension and block: which selection entries fall in the block
    per_dim = []
    for d, p in enumerate(positions):
        nb = len(x.chunks[d])
        if isinstance(p, int):
            b = int(np.searchsorted(bounds[d], p, side="right") - 1)
            per_dim.append({b: (p - bounds[d][b], None)})
            continue
        blk = np.searchsorted(bounds[d], p, side="right") - 1 if p.size else np.empty(0, np.intp)
        hits = {}
        for b in np.unique(blk):
            ks = np.flatnonzero(blk == b)
            hits[int(b)] = (p[ks] - bounds[d][b], ks)
        per_dim.append(hits)
        del nb
    for idx in itertools.product(*map(range, x.numblocks)):
        picks = [per_dim[d].get(b) for d, b in enumerate(idx)]
        if any(pk is None for pk in picks):
            layer[(name, *idx)] = Ref((x.name, *idx))
            continue
        # an open mesh: every index is advanced, so numpy keeps the order of the dims
        arrays = [pk for pk in picks if pk[1] is not None]
        m = len(arrays)
        local, j = [], 0
        for pk in picks:
            if pk[1] is None:
                local.append(pk[0])
            else:
                local.append(pk[0].reshape((1,) * j + (-1,) + (1,) * (m - j - 1)))
                j += 1
        ks = [pk[1] for pk in arrays]
        if lazy:
            piece = value
            for axis, k in enumerate(ks):
                piece = piece[(slice(None),) * axis + (k,)]
            piece = piece.rechunk(tuple(-1 for _ in range(piece.ndim)))
            deps.append(piece)
            ref: Any = Ref((piece.name,) + (0,) * piece.ndim) if piece.ndim else Ref((piece.name,))
        else:
            ref = value[np.ix_(*ks)] if ks else value
        layer[(name, *idx)] = Task(_set_block, Ref((x.name, *idx)), tuple(local), ref, x.dtype)
    return Array(LayeredGraph.from_collections(name, layer, deps), name, x.chunks, x.dtype)
