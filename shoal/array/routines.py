"""Shape routines and small numpy look-alikes: transpose, reshape, squeeze, where, clip...

``reshape`` works block by block, without moving data between blocks, when
the chunk boundaries allow it: dimensions are matched into groups with
equal products (``(6, 4) -> (24,)``, ``(24,) -> (2, 3, 4)``), and within a
group every dimension after the first must be a single block (so each block
covers a contiguous C-order range) and the block boundaries must fall on
whole rows of the output.  Otherwise it raises an error naming the
``rechunk`` that makes it possible -- moving the data silently could
multiply memory use.
"""
from __future__ import annotations

import itertools
import math
from typing import Any, Sequence

import numpy as np

from shoal.core.graph import LayeredGraph
from shoal.core.task import Ref, Task

from shoal.array.blockwise import blockwise, elemwise, as_array as _as
from shoal.array.core import Array
from shoal.utils import new_name

__all__ = [
    "transpose", "swapaxes", "moveaxis", "rollaxis", "reshape", "ravel", "squeeze", "expand_dims",
    "where", "clip", "round", "around", "broadcast_to", "broadcast_arrays", "diagonal", "ufunc_outer",
    "isclose", "allclose", "atleast_1d", "atleast_2d", "flip", "fliplr", "flipud", "trace", "isnull",
    "notnull", "nan_to_num", "apply_along_axis", "take", "append", "hstack", "vstack", "dstack",
    "result_type", "shape", "ndim", "size", "count_nonzero_axis",
]


def transpose(a: Any, axes: Sequence[int] | None = None) -> Array:
    a = _as(a)
    if axes is None:
        axes = tuple(range(a.ndim))[::-1]
    axes = tuple(int(ax) % a.ndim for ax in axes) if a.ndim else ()
    if sorted(axes) != list(range(a.ndim)):
        raise ValueError(f"axes {axes} are not a permutation of the {a.ndim} dimensions")
    if axes == tuple(range(a.ndim)):
        return a
    name = new_name("transpose", a.name, axes)
    layer = {}
    for idx in itertools.product(*map(range, a.numblocks)):
        new = tuple(idx[ax] for ax in axes)
        layer[(name, *new)] = Task(np.transpose, Ref((a.name, *idx)), axes)
    chunks = tuple(a.chunks[ax] for ax in axes)
    return Array(LayeredGraph.from_collections(name, layer, [a]), name, chunks, a.dtype)


def swapaxes(a: Any, axis1: int, axis2: int) -> Array:
    a = _as(a)
    axes = list(range(a.ndim))
    axes[axis1], axes[axis2] = axes[axis2], axes[axis1]
    return transpose(a, axes)


def moveaxis(a: Any, source: Any, destination: Any) -> Array:
    a = _as(a)
    src = [s % a.ndim for s in np.atleast_1d(source)]
    dst = [d % a.ndim for d in np.atleast_1d(destination)]
    order = [n for n in range(a.ndim) if n not in src]
    for d, s in sorted(zip(dst, src)):
        order.insert(d, s)
    return transpose(a, order)


def rollaxis(a: Any, axis: int, start: int = 0) -> Array:
    a = _as(a)
    axis %= a.ndim
    start = start % (a.ndim + 1)
    if axis < start:
        start -= 1
    return moveaxis(a, axis, start)


def _groups(old: tuple, new: tuple) -> list:
    """Pair runs of dimensions with equal products: [(old dims), (new dims)] ..."""
    groups = []
    i = j = 0
    while i < len(old) or j < len(new):
        gi, gj = [i], [j]
        pi = old[i] if i < len(old) else 1
        pj = new[j] if j < len(new) else 1
        i += 1
        j += 1
        while pi != pj:
            if pi < pj:
                if i >= len(old):
                    break
                pi *= old[i]
                gi.append(i)
                i += 1
            else:
                if j >= len(new):
                    break
                pj *= new[j]
                gj.append(j)
                j += 1
        groups.append(([d for d in gi if d < len(old)], [d for d in gj if d < len(new)]))
    return groups


def reshape(x: Any, shape: Any, merge_chunks: bool = True, limit: Any = None, _retry: bool = False) -> Array:
    """Reshape block by block (see the module docstring for when that is possible)."""
    x = _as(x)
    if isinstance(shape, (int, np.integer)):
        shape = (int(shape),)
    shape = list(int(s) for s in shape)
    if shape.count(-1) > 1:
        raise ValueError("can only specify one unknown dimension (-1)")
    if -1 in shape:
        known = math.prod(s for s in shape if s != -1)
        if known == 0 or x.size % known:
            raise ValueError(f"cannot reshape array of size {x.size} into shape {tuple(shape)}")
        shape[shape.index(-1)] = x.size // known
    shape = tuple(shape)
    if math.prod(shape) != x.size:
        raise ValueError(f"cannot reshape array of size {x.size} into shape {shape}")
    if shape == x.shape:
        return x
    if any(0 in c and len(c) > 1 for c in x.chunks):
        # zero-length blocks carry nothing: drop them so blocks line up with rows
        x = x.rechunk(tuple(tuple(b for b in c if b) or (0,) for c in x.chunks))
    if math.prod(shape) == 0:
        # no elements: nothing to move, just the new shape
        from shoal.array.creation import zeros

        return zeros(shape, dtype=x.dtype, chunks=tuple(max(s, 1) for s in shape))
    if x.npartitions == 1:
        name = new_name("reshape", x.name, shape)
        layer = {(name, *([0] * len(shape))): Task(np.reshape, Ref((x.name, *([0] * x.ndim))), shape)}
        if not shape:
            layer = {(name,): Task(np.reshape, Ref((x.name, *([0] * x.ndim))), shape)}
        return Array(LayeredGraph.from_collections(name, layer, [x]), name, tuple((s,) for s in shape), x.dtype)
    # work on the dimensions longer than 1; length-1 dimensions are one block anyway
    old_big = [d for d, s in enumerate(x.shape) if s != 1]
    new_big = [d for d, s in enumerate(shape) if s != 1]
    oshape = tuple(x.shape[d] for d in old_big)
    nshape = tuple(shape[d] for d in new_big)
    new_chunks: dict = {d: (1,) for d in range(len(shape)) if shape[d] == 1}
    group_map = []  # (old dim leading, new dim leading, old dims, new dims)
    need: dict = {}
    for gi, gj in _groups(oshape, nshape):
        od = [old_big[k] for k in gi]
        nd = [new_big[k] for k in gj]
        if not od or not nd:
            continue
        lead = x.chunks[od[0]]
        ok = all(len(x.chunks[d]) == 1 for d in od[1:])
        r_in = math.prod(x.shape[d] for d in od[1:])
        r_out = math.prod(shape[d] for d in nd[1:])
        if ok:
            flat = [c * r_in for c in lead]
            ok = all(f % r_out == 0 for f in flat)
        if not ok:
            for d in od[1:]:
                if len(x.chunks[d]) > 1:
                    need[d] = -1
            # leading blocks must hold whole output rows: a multiple of this many input rows
            step = r_out // math.gcd(max(r_in, 1), r_out)
            if any(ch * r_in % r_out for ch in lead):
                need[od[0]] = step * -(-max(lead) // step)
            continue
        new_chunks[nd[0]] = tuple(f // r_out for f in flat)
        for d in nd[1:]:
            new_chunks[d] = (shape[d],)
        group_map.append((od, nd))
    if need and not _retry:
        # merge the inner dimensions of each group into single blocks, as Dask does
        return reshape(x.rechunk(need), shape, merge_chunks=merge_chunks, limit=limit, _retry=True)
    if need:
        hint = ", ".join(f"{d}: {v}" for d, v in sorted(need.items()))
        raise ValueError(
            f"cannot reshape {x.shape} with chunks {x.chunksize} into {shape} block by block: "
            "the blocks do not cover whole rows of the new shape. Rechunk first so that the "
            f"merged dimensions are single blocks, e.g. x.rechunk({{{hint}}}).reshape({shape})")
    chunks = tuple(new_chunks[d] for d in range(len(shape)))
    name = new_name("reshape", x.name, shape)
    layer = {}
    for idx in itertools.product(*map(range, x.numblocks)):
        new_idx = [0] * len(shape)
        for od, nd in group_map:
            new_idx[nd[0]] = idx[od[0]]
        bshape = tuple(chunks[d][new_idx[d]] for d in range(len(shape)))
        layer[(name, *new_idx)] = Task(np.reshape, Ref((x.name, *idx)), bshape)
    return Array(LayeredGraph.from_collections(name, layer, [x]), name, chunks, x.dtype)


def ravel(x: Any) -> Array:
    """1-d view in C order; trailing dimensions are merged into single blocks first."""
    x = _as(x)
    if x.ndim == 0:
        return reshape(x, (1,))
    if x.ndim == 1:
        return x
    if any(len(c) > 1 for c in x.chunks[1:]):
        # whole trailing rows per block, about as many elements per block as before
        per = math.prod(x.chunksize)
        rows = max(1, per // max(math.prod(x.shape[1:]), 1))
        x = x.rechunk({0: rows, **{d: -1 for d in range(1, x.ndim)}})
    return reshape(x, (-1,))


def squeeze(a: Any, axis: Any = None) -> Array:
    a = _as(a)
    if axis is None:
        axis = tuple(d for d, s in enumerate(a.shape) if s == 1)
    elif isinstance(axis, (int, np.integer)):
        axis = (int(axis),)
    axis = tuple(d % a.ndim for d in axis)
    for d in axis:
        if a.shape[d] != 1:
            raise ValueError(f"cannot select an axis to squeeze out which has size not equal to one "
                             f"(axis {d} has length {a.shape[d]})")
    if not axis:
        return a
    name = new_name("squeeze", a.name, axis)
    layer = {}
    for idx in itertools.product(*map(range, a.numblocks)):
        new = tuple(i for d, i in enumerate(idx) if d not in axis)
        layer[(name, *new)] = Task(np.squeeze, Ref((a.name, *idx)), axis)
    chunks = tuple(c for d, c in enumerate(a.chunks) if d not in axis)
    return Array(LayeredGraph.from_collections(name, layer, [a]), name, chunks, a.dtype)


def expand_dims(a: Any, axis: Any) -> Array:
    a = _as(a)
    if isinstance(axis, (int, np.integer)):
        axis = (int(axis),)
    nd = a.ndim + len(axis)
    axis = sorted(d % nd for d in axis)
    idx: list = []
    for d in range(nd):
        if d in axis:
            idx.append(None)
        else:
            idx.append(slice(None))
    return a[tuple(idx)]


def where(condition: Any, x: Any = None, y: Any = None) -> Any:
    if x is None and y is None:
        from shoal.array.counting import nonzero

        return nonzero(condition)
    if x is None or y is None:
        raise ValueError("where takes either 1 argument (condition) or 3 (condition, x, y)")
    return elemwise(np.where, condition, x, y)


def clip(a: Any, a_min: Any = None, a_max: Any = None, **kw: Any) -> Array:
    a_min = kw.pop("min", a_min)
    a_max = kw.pop("max", a_max)
    if a_min is None and a_max is None:
        raise ValueError("clip needs a_min or a_max (or both)")
    return elemwise(_clip, a, a_min, a_max)


def _clip(a: np.ndarray, lo: Any, hi: Any) -> np.ndarray:
    return np.clip(a, lo, hi)


def round(a: Any, decimals: int = 0) -> Array:
    return elemwise(np.round, a, _extra_args=(decimals,))


around = round


def broadcast_to(x: Any, shape: Sequence[int], chunks: Any = None) -> Array:
    x = _as(x)
    shape = tuple(int(s) for s in shape)
    try:
        np.broadcast_shapes(x.shape, shape)
        if np.broadcast_shapes(x.shape, shape) != shape:
            raise ValueError
    except ValueError:
        raise ValueError(f"cannot broadcast an array of shape {x.shape} to {shape}") from None
    from shoal.array.chunks import normalize_chunks

    nd = len(shape) - x.ndim
    if chunks is None:
        if shape == x.shape:
            return x
        chunks = tuple((s,) for s in shape[:nd]) + tuple(
            c if x.shape[d] == shape[nd + d] else (shape[nd + d],) for d, c in enumerate(x.chunks))
    chunks = normalize_chunks(chunks, shape, dtype=x.dtype)
    for d in range(x.ndim):
        if x.shape[d] == shape[nd + d] and chunks[nd + d] != x.chunks[d] and not (x.shape[d] == 1):
            raise ValueError(f"broadcast_to keeps the chunks of the dimensions it does not broadcast: "
                             f"axis {nd + d} has chunks {x.chunks[d]}, not {chunks[nd + d]}; rechunk first")
    name = new_name("broadcast-to", x.name, shape, chunks)
    layer = {}
    for idx in itertools.product(*[range(len(c)) for c in chunks]):
        src = tuple(0 if x.shape[d] == 1 else idx[nd + d] for d in range(x.ndim))
        bshape = tuple(c[i] for c, i in zip(chunks, idx))
        layer[(name, *idx)] = Task(np.broadcast_to, Ref((x.name, *src)), bshape)
    return Array(LayeredGraph.from_collections(name, layer, [x]), name, chunks, x.dtype)


def broadcast_arrays(*args: Any) -> tuple:
    arrs = [_as(a) for a in args]
    shape = np.broadcast_shapes(*[a.shape for a in arrs])
    return tuple(broadcast_to(a, shape) for a in arrs)


def diagonal(a: Any, offset: int = 0, axis1: int = 0, axis2: int = 1) -> Array:
    a = _as(a)
    if a.ndim != 2 or (axis1, axis2) != (0, 1):
        return _as(np.diagonal(a.compute(), offset, axis1, axis2))
    n, m = a.shape
    rows = np.arange(max(0, -offset), min(n, m - offset))
    cols = rows + offset
    if rows.size == 0:
        from shoal.array.creation import from_array

        return from_array(np.empty(0, a.dtype))
    # gather elementwise along the diagonal: row-blocks then pick the matching column
    sub = a[rows]  # (k, m)
    return _diag_pick(sub, cols)


def _take_cols(block: np.ndarray, cols: np.ndarray, lo: int, hi: int) -> np.ndarray:
    out = np.zeros(block.shape[0], dtype=block.dtype)
    mask = (cols >= lo) & (cols < hi)
    out[mask] = block[np.flatnonzero(mask), cols[mask] - lo]
    return out


def _sum_list(parts: list) -> np.ndarray:
    out = parts[0].copy()
    for p in parts[1:]:
        out += p
    return out


def _diag_pick(sub: Array, cols: np.ndarray) -> Array:
    from shoal.array.chunks import chunk_bounds

    rb = chunk_bounds(sub.chunks[0])
    cb = chunk_bounds(sub.chunks[1])
    name = new_name("diagonal", sub.name, cols.tobytes())
    layer = {}
    for i in range(sub.numblocks[0]):
        c = cols[rb[i]:rb[i + 1]]
        parts = []
        for j in range(sub.numblocks[1]):
            if ((c >= cb[j]) & (c < cb[j + 1])).any():
                pk = (name + "-part", i, j)
                layer[pk] = Task(_take_cols, Ref((sub.name, i, j)), c, cb[j], cb[j + 1])
                parts.append(Ref(pk))
        layer[(name, i)] = Task(_sum_list, parts)
    return Array(LayeredGraph.from_collections(name, layer, [sub]), name, (sub.chunks[0],), sub.dtype)


def trace(a: Any, offset: int = 0, axis1: int = 0, axis2: int = 1, dtype: Any = None) -> Array:
    """Sum along diagonals (numpy.trace): the diagonal of ``axis1``/``axis2`` summed last."""
    from shoal.array.reductions import sum as _sum

    return _sum(diagonal(a, offset, axis1, axis2), axis=-1, dtype=dtype)


class _Outer:
    def __init__(self, ufunc: Any):
        self.ufunc = ufunc

    def __call__(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        return self.ufunc.outer(a, b)

    def __reduce__(self):
        return (_Outer, (self.ufunc,))

    def __shoal_tokenize__(self) -> Any:
        return ("outer", self.ufunc.__name__)


def ufunc_outer(ufunc: Any, a: Any, b: Any, **kw: Any) -> Array:
    a, b = _as(a), _as(b)
    ia = tuple(f"a{d}" for d in range(a.ndim))
    ib = tuple(f"b{d}" for d in range(b.ndim))
    return blockwise(_Outer(ufunc), ia + ib, a, ia, b, ib)


def isclose(a: Any, b: Any, rtol: float = 1e-05, atol: float = 1e-08, equal_nan: bool = False) -> Array:
    return elemwise(np.isclose, a, b, rtol=rtol, atol=atol, equal_nan=equal_nan)


def allclose(a: Any, b: Any, rtol: float = 1e-05, atol: float = 1e-08, equal_nan: bool = False) -> Array:
    from shoal.array.reductions import all as _all

    return _all(isclose(a, b, rtol, atol, equal_nan))


def atleast_1d(*arys: Any) -> Any:
    out = [_as(a) if _as(a).ndim >= 1 else _as(a)[None] for a in arys]
    return out[0] if len(out) == 1 else out


def atleast_2d(*arys: Any) -> Any:
    out = []
    for a in arys:
        a = _as(a)
        while a.ndim < 2:
            a = a[None]
        out.append(a)
    return out[0] if len(out) == 1 else out


def flip(m: Any, axis: Any = None) -> Array:
    m = _as(m)
    axes = range(m.ndim) if axis is None else [a % m.ndim for a in np.atleast_1d(axis)]
    idx = tuple(slice(None, None, -1) if d in axes else slice(None) for d in range(m.ndim))
    return m[idx]


def fliplr(m: Any) -> Array:
    return flip(m, 1)


def flipud(m: Any) -> Array:
    return flip(m, 0)


def isnull(x: Any) -> Array:
    """True where ``x`` is missing (NaN, NaT or None), as ``pandas.isnull`` does, element-wise."""
    return elemwise(np.isnan, x)


def notnull(x: Any) -> Array:
    """The negation of :func:`isnull`: True where ``x`` holds a value."""
    return ~isnull(x)


def nan_to_num(x: Any, copy: bool = True, nan: float = 0.0, posinf: Any = None, neginf: Any = None) -> Array:
    return elemwise(np.nan_to_num, x, nan=nan, posinf=posinf, neginf=neginf)


class _AlongAxis:
    def __init__(self, func: Any, axis: int, args: tuple, kwargs: dict):
        self.func, self.axis, self.args, self.kwargs = func, axis, args, kwargs

    def __call__(self, block: np.ndarray) -> np.ndarray:
        return np.apply_along_axis(self.func, self.axis, block, *self.args, **self.kwargs)

    def __reduce__(self):
        return (_AlongAxis, (self.func, self.axis, self.args, self.kwargs))


def apply_along_axis(func1d: Any, axis: int, arr: Any, *args: Any, dtype: Any = None, shape: Any = None, **kwargs: Any) -> Array:
    from shoal.array.blockwise import map_blocks

    arr = _as(arr)
    axis %= arr.ndim
    arr = arr.rechunk({axis: -1})
    test = np.apply_along_axis(func1d, 0, np.ones((arr.shape[axis],), arr.dtype), *args, **kwargs)
    out_chunks = tuple(c if d != axis else () for d, c in enumerate(arr.chunks))
    chunks = out_chunks[:axis] + tuple((s,) for s in test.shape) + out_chunks[axis + 1:]
    res = map_blocks(_AlongAxis(func1d, axis, args, kwargs), arr, dtype=dtype or test.dtype,
                     drop_axis=axis, new_axis=list(range(axis, axis + test.ndim)) if test.ndim else None)
    return Array(res.graph, res.name, chunks, res.dtype)


def take(a: Any, indices: Any, axis: int = 0) -> Array:
    a = _as(a)
    idx = [slice(None)] * a.ndim
    idx[axis] = np.asarray(indices)
    return a[tuple(idx)]


def append(arr: Any, values: Any, axis: Any = None) -> Array:
    from shoal.array.creation import concatenate

    arr = _as(arr)
    values = _as(values)
    if axis is None:
        return concatenate([ravel(arr), ravel(values)], axis=0)
    return concatenate([arr, values], axis=axis)


def hstack(tup: Sequence[Any]) -> Array:
    from shoal.array.creation import concatenate

    arrs = atleast_1d(*tup) if len(tup) > 1 else [atleast_1d(*tup)]
    return concatenate(arrs, axis=0 if arrs[0].ndim == 1 else 1)


def vstack(tup: Sequence[Any]) -> Array:
    from shoal.array.creation import concatenate

    arrs = atleast_2d(*tup) if len(tup) > 1 else [atleast_2d(*tup)]
    return concatenate(arrs, axis=0)


def dstack(tup: Sequence[Any]) -> Array:
    from shoal.array.creation import concatenate

    arrs = []
    for a in tup:
        a = _as(a)
        if a.ndim == 1:
            a = a[None, :, None]
        elif a.ndim == 2:
            a = a[:, :, None]
        arrs.append(a)
    return concatenate(arrs, axis=2)


def result_type(*arrays_and_dtypes: Any) -> np.dtype:
    return np.result_type(*[a.dtype if isinstance(a, Array) else a for a in arrays_and_dtypes])


def shape(a: Any) -> tuple:
    return _as(a).shape


def ndim(a: Any) -> int:
    return _as(a).ndim


def size(a: Any) -> int:
    return _as(a).size


def count_nonzero_axis(a: Any, axis: Any = None) -> Array:  # kept for API symmetry
    from shoal.array.reductions import count_nonzero

    return count_nonzero(a, axis=axis)
