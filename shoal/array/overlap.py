"""``map_overlap``: apply a function to blocks extended by their neighbours' edges.

For each block a task gathers the block and the ``depth`` nearest cells of
each neighbouring block (3**ndim blocks at most, edges only), pads the outer
edges of the array by the ``boundary`` rule, applies the function and trims
the extra cells away.  Boundary rules per axis: ``'reflect'`` (mirror,
edge included), ``'periodic'`` (wrap around), ``'nearest'`` (repeat the
edge), ``'none'`` (no padding: edge blocks see less) or a number (constant).
"""
from __future__ import annotations

import itertools
from typing import Any, Callable

import numpy as np

from shoal.core.graph import LayeredGraph
from shoal.core.task import Ref, Task

from shoal.array.blockwise import asanyarray_like
from shoal.array.core import Array
from shoal.utils import new_name

__all__ = ["map_overlap", "overlap", "trim_internal"]


def _norm(value: Any, ndim: int, default: Any) -> dict:
    if isinstance(value, dict):
        return {d: value.get(d, value.get(d - ndim, default)) for d in range(ndim)}
    if isinstance(value, (tuple, list)):
        if len(value) != ndim:
            raise ValueError(f"{value!r} must give one entry per dimension ({ndim})")
        return dict(enumerate(value))
    return {d: value for d in range(ndim)}


_PAD = {"reflect": "symmetric", "nearest": "edge"}


def _ghost(pieces: dict, depth: tuple, pads: tuple, boundary: tuple) -> np.ndarray:
    """Assemble a block with its neighbours' edges, then pad array edges."""
    ndim = len(depth)
    offsets = sorted({k for k in pieces})
    axes_vals = [sorted({o[d] for o in offsets}) for d in range(ndim)]

    def build(prefix: tuple, d: int) -> np.ndarray:
        if d == ndim:
            blk = np.asarray(pieces[prefix])
            sl = []
            for ax, o in enumerate(prefix):
                dep = depth[ax]
                sl.append(slice(-dep, None) if o < 0 else slice(None, dep) if o > 0 else slice(None))
            return blk[tuple(sl)]
        return np.concatenate([build(prefix + (o,), d + 1) for o in axes_vals[d]], axis=d) \
            if len(axes_vals[d]) > 1 else build(prefix + (axes_vals[d][0],), d + 1)

    out = build((), 0)
    for d, (lo, hi) in enumerate(pads):
        if lo or hi:
            widths = [(0, 0)] * ndim
            widths[d] = (lo, hi)
            b = boundary[d]
            if isinstance(b, str):
                out = np.pad(out, widths, mode=_PAD[b])
            else:
                out = np.pad(out, widths, mode="constant", constant_values=b)
    return out


def _trim(x: np.ndarray, trims: tuple) -> np.ndarray:
    return x[tuple(slice(lo, x.shape[d] - hi) for d, (lo, hi) in enumerate(trims))]


class _Apply:
    def __init__(self, func: Callable, trims: Any, kwargs: dict):
        self.func, self.trims, self.kwargs = func, trims, kwargs

    def __call__(self, block: np.ndarray, trims: tuple) -> np.ndarray:
        out = self.func(block, **self.kwargs)
        return _trim(out, trims) if self.trims else out

    def __reduce__(self):
        return (_Apply, (self.func, self.trims, self.kwargs))


def overlap(x: Array, depth: Any, boundary: Any = "reflect") -> Array:
    """Blocks extended by their neighbours' edges (chunks grow by the depth)."""
    return _overlap(x, depth, boundary, None, False, x.dtype)


def _overlap(x: Array, depth: Any, boundary: Any, func: Any, trim: bool, dtype: Any,
             kwargs: dict | None = None) -> Array:
    x = asanyarray_like(x)
    ndim = x.ndim
    depth = _norm(depth, ndim, 0)
    boundary = _norm(boundary, ndim, "reflect")
    for d in range(ndim):
        dep = depth[d]
        if not isinstance(dep, (int, np.integer)) or dep < 0:
            raise ValueError(f"depth for axis {d} must be a non-negative int, got {dep!r}")
        b = boundary[d]
        if b is None:
            boundary[d] = b = "none"
        if isinstance(b, str) and b not in ("reflect", "periodic", "nearest", "none"):
            raise ValueError(f"boundary {b!r} is not one of 'reflect', 'periodic', 'nearest', 'none' or a number")
        if dep and min(x.chunks[d]) < dep:
            raise ValueError(
                f"depth {dep} along axis {d} is larger than the smallest block ({min(x.chunks[d])}); "
                f"rechunk first so every block is at least as long as the depth, e.g. "
                f"x.rechunk({{{d}: {max(dep, max(x.chunks[d]))}}})")
    depth_t = tuple(int(depth[d]) for d in range(ndim))
    bound_t = tuple(boundary[d] for d in range(ndim))
    name = new_name("overlap" if func is None else getattr(func, "__name__", "map-overlap").strip("_<>"),
                    x.name, depth_t, bound_t, func, kwargs, trim)
    apply = _Apply(func, trim, kwargs or {}) if func is not None else None
    layer: dict = {}
    nb = x.numblocks
    new_chunks = [list(c) for c in x.chunks]
    for idx in itertools.product(*map(range, nb)):
        pieces = {}
        pads = []
        trims = []
        opts = []
        for d in range(ndim):
            o = [0]
            lo = hi = 0
            if depth_t[d]:
                periodic = bound_t[d] == "periodic"
                if idx[d] > 0 or (periodic and nb[d] > 1):
                    o.insert(0, -1)
                elif bound_t[d] != "none" and not periodic:
                    lo = depth_t[d]
                elif periodic:  # one block: wrap onto itself
                    o.insert(0, -1)
                if idx[d] < nb[d] - 1 or (periodic and nb[d] >= 1):
                    o.append(1)
                elif bound_t[d] != "none":
                    hi = depth_t[d]
            opts.append(o)
            pads.append((lo, hi))
            tl = depth_t[d] if (-1 in o or lo) else 0
            th = depth_t[d] if (1 in o or hi) else 0
            trims.append((tl, th))
            if func is None:
                new_chunks[d][idx[d]] = x.chunks[d][idx[d]] + tl + th
        for off in itertools.product(*opts):
            src = tuple((i + o) % nb[d] for d, (i, o) in enumerate(zip(idx, off)))
            pieces[off] = Ref((x.name, *src))
        ghost = Task(_ghost, pieces, depth_t, tuple(pads), bound_t)
        if func is None:
            layer[(name, *idx)] = ghost
        else:
            gk = ("ghost-" + name, *idx)
            layer[gk] = ghost
            layer[(name, *idx)] = Task(apply, Ref(gk), tuple(trims))
    chunks = tuple(tuple(c) for c in new_chunks) if func is None else x.chunks
    return Array(LayeredGraph.from_collections(name, layer, [x]), name, chunks, dtype)


def map_overlap(func: Callable, *args: Any, depth: Any = None, boundary: Any = None, trim: bool = True,
                align_arrays: bool = True, dtype: Any = None, meta: Any = None, **kwargs: Any) -> Array:
    """``func`` on each block extended by ``depth`` cells of its neighbours, trimmed back.

    ``map_overlap(func, x, depth=1, boundary='reflect')`` (or, as in older
    Dask, ``x.map_overlap(func, depth=1)``).  ``func`` must keep its
    input's shape.
    """
    if args and callable(args[0]) and not callable(func) and isinstance(func, Array):
        func, args = args[0], (func,) + args[1:]  # old order: map_overlap(x, func, ...)
    if len(args) != 1:
        raise NotImplementedError("map_overlap takes one array; combine arrays with stack first")
    x = asanyarray_like(args[0])
    if depth is None:
        raise TypeError("map_overlap needs depth=, e.g. map_overlap(func, x, depth=1, boundary='reflect')")
    if boundary is None:
        boundary = "none"
    if dtype is None:
        try:
            probe = func(np.ones((3,) * x.ndim, x.dtype), **kwargs)
            dtype = np.asarray(probe).dtype
        except Exception:
            dtype = x.dtype
    return _overlap(x, depth, boundary, func, trim, dtype, kwargs)


def trim_internal(x: Array, depth: Any, boundary: Any = None) -> Array:
    """Remove ``depth`` cells from every side of every block."""
    from shoal.array.blockwise import map_blocks

    depth = _norm(depth, x.ndim, 0)
    trims = tuple((depth[d], depth[d]) for d in range(x.ndim))
    chunks = tuple(tuple(c - 2 * depth[d] for c in x.chunks[d]) for d in range(x.ndim))
    return map_blocks(_trim, x, trims, chunks=chunks, dtype=x.dtype)
