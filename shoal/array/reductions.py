"""Reductions as a tree: chunk -> partial -> combine (``split_every`` at a time) -> aggregate.

Every reduction is three small functions:

* ``chunk(block)`` -> a *partial*: a numpy array (or tuple of them) with
  length 1 along the reduced axes -- for ``mean`` the pair (sum, count);
* ``combine(list of partials)`` -> one partial (sums add, minima take the
  minimum, variances merge with Chan's formula);
* ``aggregate(partial)`` -> the final block (``sum / count``).

A block is turned into its partial as soon as it exists, so the graph for
``x.mean(axis=1)`` over a (60000, 60000) array in (5000, 5000) blocks holds
at most a few 200 MB blocks at a time, whatever the array's size: each
block's only dependent is its tiny partial, and each row of blocks is
combined in a tree of fan-in ``split_every``.  The memory bound then only
needs the scheduler to finish what it starts (its static order) and to
release inputs once their dependents ran.
"""
from __future__ import annotations

import builtins
import functools
import itertools
import math
from typing import Any, Callable

import numpy as np

from shoal.core.graph import LayeredGraph
from shoal.core.task import Ref, Task

from shoal.array.blocktypes import combine_partials
from shoal.array.chunks import chunk_bounds
from shoal.array.blockwise import asanyarray_like
from shoal.array.core import Array
from shoal.utils import new_name
from shoal.array.random import draw_reduce, is_draw_task

__all__ = [
    "reduction", "tree_reduction", "sum", "prod", "mean", "var", "std", "min", "max", "any", "all",
    "nansum", "nanprod", "nanmean", "nanvar", "nanstd", "nanmin", "nanmax",
    "argmin", "argmax", "nanargmin", "nanargmax", "count_nonzero", "ptp",
    "cumsum", "cumprod", "nancumsum", "nancumprod", "average", "moment",
]

#: Default fan-in of one combine step, over all reduced axes together.
SPLIT_EVERY = 16


def normalize_axis(axis: Any, ndim: int) -> tuple:
    if axis is None:
        return tuple(range(ndim))
    if isinstance(axis, (int, np.integer)):
        axis = (int(axis),)
    out = []
    for a in axis:
        if not -ndim <= a < ndim:
            raise np.exceptions.AxisError(f"axis {a} is out of bounds for an array of dimension {ndim}")
        out.append(a % ndim)
    if len(set(out)) != len(out):
        raise ValueError(f"duplicate value in axis={axis!r}")
    return tuple(sorted(out))


def _fanin(split_every: Any, axes: tuple, ndim: int) -> dict:
    if isinstance(split_every, dict):
        return {a: builtins.max(2, int(split_every.get(a, split_every.get(a - ndim, SPLIT_EVERY)))) for a in axes}
    n = SPLIT_EVERY if split_every is None else int(split_every)
    if n < 2:
        raise ValueError(f"split_every={split_every!r} must be at least 2")
    per = builtins.max(2, int(round(n ** (1.0 / builtins.max(len(axes), 1)))))
    return {a: per for a in axes}


def _chunk_task(chunk: Callable, block: Any, axes: tuple) -> Any:
    return chunk(block, axes)


def _combine_task(combine: Callable, parts: list, axes: tuple) -> Any:
    return combine(parts, axes) if len(parts) > 1 else parts[0]


def _final_task(combine: Callable, aggregate: Callable, parts: list, axes: tuple, keepdims: bool) -> Any:
    p = combine(parts, axes) if len(parts) > 1 else parts[0]
    return aggregate(p, axes, keepdims)


def _nested_combine_task(combine: Callable, parts: list, axes: tuple) -> Any:
    return combine(parts, axes)


def _nested_final_task(combine: Callable, aggregate: Callable, parts: list, axes: tuple, keepdims: bool) -> Any:
    return aggregate(parts, axes, keepdims)


def tree_reduction(x: Any, chunk: Callable, combine: Callable, aggregate: Callable, axis: Any = None,
                   keepdims: bool = False, dtype: Any = None, split_every: Any = None, name: str = "reduce",
                   chunk_with_info: bool = False, nested: bool = False) -> Array:
    """Tree reduction of ``x`` over ``axis`` (see the module docstring).

    With ``nested`` the partials reach ``combine``/``aggregate`` as a nested
    list, one level per reduced axis, in block order (for concatenation).

    ``chunk(block, axes)``, ``combine(partials, axes)`` and
    ``aggregate(partial, axes, keepdims)``; with ``chunk_with_info`` the
    chunk function is ``chunk(block, axes, offsets, shape)`` where
    ``offsets`` is the block's position in the array (for arg-reductions).
    """
    x = asanyarray_like(x)
    if not isinstance(x, Array):
        from shoal.array.creation import asarray

        x = asarray(x)
    axes = normalize_axis(axis, x.ndim)
    token = new_name(name, x.name, axes, keepdims, str(dtype), split_every, chunk, combine, aggregate)
    pname = "partial-" + token
    layer: dict = {}
    nb = list(x.numblocks)
    final_task = _nested_final_task if nested else _final_task
    combine_task = _nested_combine_task if nested else _combine_task
    if x.ndim == 0:
        first = (Task(chunk, Ref((x.name,)), (), (), ()) if chunk_with_info
                 else Task(_chunk_task, chunk, Ref((x.name,)), ()))
        layer = {(pname,): first,
                 (token,): Task(final_task, combine, aggregate, [Ref((pname,))], (), keepdims)}
        return Array(LayeredGraph.from_collections(token, layer, [x]), token, (), dtype)
    bounds = [chunk_bounds(c) for c in x.chunks]
    src = x.dask.layers.get(x.name, {})
    # only our own chunk functions: they never return views of the (reused) slab
    fusable = not chunk_with_info and type(getattr(chunk, "__self__", None)) in (_Simple, _Moment, _Extreme)
    for idx in itertools.product(*map(range, nb)):
        node = src.get((x.name, *idx))
        if fusable and is_draw_task(node):
            # a random block feeds straight into its partial: draw and reduce in one
            # task, slab by slab, so the block is never materialised
            layer[(pname, *idx)] = Task(draw_reduce, *node.args, chunk, combine, axes)
        elif chunk_with_info:
            offs = tuple(b[i] for b, i in zip(bounds, idx))
            layer[(pname, *idx)] = Task(chunk, Ref((x.name, *idx)), axes, offs, x.shape)
        else:
            layer[(pname, *idx)] = Task(_chunk_task, chunk, Ref((x.name, *idx)), axes)
    fan = _fanin(split_every, axes, x.ndim)
    cur = pname
    level = 0
    while True:
        # how many groups along each reduced axis after this step
        new_nb = [(math.ceil(n / fan[d]) if d in axes else n) for d, n in enumerate(nb)]
        final = builtins.all(new_nb[d] == 1 for d in axes)
        nxt = token if final else f"combine{level}-{token}"
        for out_idx in itertools.product(*map(range, new_nb)):
            groups = []
            for d, o in enumerate(out_idx):
                if d in axes:
                    groups.append(range(o * fan[d], builtins.min((o + 1) * fan[d], nb[d])))
                else:
                    groups.append((o,))
            parts = [Ref((cur, *g)) for g in itertools.product(*groups)]
            if nested:
                parts = _nest(parts, [len(g) for d, g in enumerate(groups) if d in axes])
            if final:
                key = tuple(o for d, o in enumerate(out_idx) if d not in axes or keepdims)
                layer[(token, *key)] = Task(final_task, combine, aggregate, parts, axes, keepdims)
            else:
                layer[(nxt, *out_idx)] = Task(combine_task, combine, parts, axes)
        if final:
            break
        nb = new_nb
        cur = nxt
        level += 1
    chunks = tuple(((1,) if keepdims else None) if d in axes else c for d, c in enumerate(x.chunks))
    chunks = tuple(c for c in chunks if c is not None)
    if not chunks and not keepdims:
        layer[(token,)] = layer.pop((token,))
    return Array(LayeredGraph.from_collections(token, layer, [x]), token, chunks, dtype)


def _nest(flat: list, shape: list) -> list:
    """A flat list in C order as nested lists of the given shape."""
    if len(shape) <= 1:
        return list(flat)
    step = len(flat) // shape[0]
    return [_nest(flat[i * step:(i + 1) * step], shape[1:]) for i in range(shape[0])]


def _concat_nested(nested: Any, axes: tuple) -> Any:
    if not axes:
        return nested
    if not isinstance(nested, list):
        return nested
    parts = [_concat_nested(n, axes[1:]) for n in nested]
    return parts[0] if len(parts) == 1 else np.concatenate(parts, axis=axes[0])


class _UserReduction:
    """Adapts Dask-style ``chunk``/``combine``/``aggregate`` (numpy-like, with
    ``axis=`` and ``keepdims=`` keywords) to the tree of ``tree_reduction``."""

    def __init__(self, chunk: Callable, combine: Callable, aggregate: Callable, concatenate: bool,
                 weighted: bool):
        self.chunk_f, self.combine_f, self.aggregate_f = chunk, combine, aggregate
        self.concatenate, self.weighted = concatenate, weighted

    def __reduce__(self):
        return (_UserReduction, (self.chunk_f, self.combine_f, self.aggregate_f, self.concatenate,
                                 self.weighted))

    def chunk(self, block: Any, axes: tuple) -> Any:
        if self.weighted:
            b, w = block
            return self.chunk_f(b, weights=w, axis=axes, keepdims=True)
        return self.chunk_f(block, axis=axes, keepdims=True)

    def _joined(self, parts: Any, axes: tuple) -> Any:
        if not isinstance(parts, list):
            parts = [parts]
            for _ in axes[1:]:
                parts = [parts]
        return _concat_nested(parts, axes) if self.concatenate else parts

    def combine(self, parts: Any, axes: tuple) -> Any:
        return self.combine_f(self._joined(parts, axes), axis=axes, keepdims=True)

    def final_aggregate(self, parts: Any, axes: tuple, keepdims: bool) -> Any:
        return self.aggregate_f(self._joined(parts, axes), axis=axes, keepdims=keepdims)


def _pair_blocks(b: np.ndarray, w: np.ndarray) -> tuple:
    return (b, w)


def reduction(x: Any, chunk: Callable, aggregate: Callable, axis: Any = None, keepdims: bool = False,
              dtype: Any = None, split_every: Any = None, combine: Callable | None = None,
              name: str | None = None, out: Any = None, concatenate: bool = True,
              output_size: int = 1, meta: Any = None, weights: Any = None) -> Array:
    """A general tree reduction with Dask's signature.

    ``chunk(block, axis=axes, keepdims=True)`` turns every block into a partial
    result; partials are joined ``split_every`` at a time (concatenated along
    the reduced axes when ``concatenate``, else passed as nested lists) and
    reduced with ``combine(joined, axis=axes, keepdims=True)`` (``aggregate``
    when ``combine`` is None), and the last step is
    ``aggregate(joined, axis=axes, keepdims=keepdims)``.  ``weights`` (an array
    broadcastable to ``x``) reach ``chunk`` as ``weights=`` block by block.

    >>> import numpy as np, shoal.array as da
    >>> x = da.arange(10, chunks=3)
    >>> int(da.reduction(x, np.sum, np.sum, dtype=x.dtype).compute())
    45
    """
    if out is not None:
        raise NotImplementedError("reduction(out=...) is not supported; assign the result instead")
    x = asanyarray_like(x)
    if not isinstance(x, Array):
        from shoal.array.creation import asarray

        x = asarray(x)
    if combine is None:
        combine = aggregate
    if dtype is None:
        dtype = getattr(meta, "dtype", None)
    if dtype is None:
        try:
            probe = np.ones((1,) * x.ndim, dtype=x.dtype)
            axes = normalize_axis(axis, x.ndim)
            dtype = np.asarray(aggregate(chunk(probe, axis=axes, keepdims=True), axis=axes,
                                         keepdims=keepdims)).dtype
        except Exception:
            dtype = x.dtype
    weighted = weights is not None
    if weighted:
        from shoal.array.blockwise import blockwise
        from shoal.array.routines import broadcast_to

        w = asanyarray_like(weights)
        if not isinstance(w, Array):
            from shoal.array.creation import asarray

            w = asarray(w)
        w = broadcast_to(w, x.shape).rechunk(x.chunks)
        ind = tuple(range(x.ndim))
        x = blockwise(_pair_blocks, ind, x, ind, w, ind, dtype=x.dtype)
    r = _UserReduction(chunk, combine, aggregate, concatenate, weighted)
    return tree_reduction(x, r.chunk, r.combine, r.final_aggregate, axis=axis, keepdims=keepdims,
                          dtype=dtype, split_every=split_every, name=name or "reduction", nested=True)


# -- simple reductions: partial is a keepdims array, combine a binary ufunc ---------

def _squeeze(p: Any, axes: tuple, keepdims: bool) -> Any:
    return p if keepdims else np.squeeze(p, axis=axes)


class _Simple:
    """chunk = ``func(block, axis, keepdims=True)``, combine = ``op`` over the list."""

    def __init__(self, func: Callable, op: Callable, dtype: Any = None):
        self.func, self.op, self.dtype = func, op, dtype

    def chunk(self, block: np.ndarray, axes: tuple) -> np.ndarray:
        if self.dtype is not None:
            return self.func(block, axis=axes, keepdims=True, dtype=self.dtype)
        return self.func(block, axis=axes, keepdims=True)

    def combine(self, parts: list, axes: tuple) -> np.ndarray:
        return combine_partials(self.op, parts)

    def __reduce__(self):
        return (_Simple, (self.func, self.op, self.dtype))

    def __shoal_tokenize__(self) -> Any:
        return ("simple", self.func.__name__, self.op.__name__, str(self.dtype))


def _simple(func: Callable, op: Callable, x: Any, axis: Any, keepdims: bool, dtype: Any,
            split_every: Any, name: str, out_dtype: Any = None) -> Array:
    x = asanyarray_like(x)
    s = _Simple(func, op, dtype)
    if out_dtype is None:
        probe = np.ones((1,) * builtins.max(getattr(x, "ndim", 0), 1), dtype=getattr(x, "dtype", float))
        kw = {"dtype": dtype} if dtype is not None else {}
        r = func(probe, **kw)
        out_dtype = getattr(r, "dtype", None) or (probe.dtype if probe.dtype == object else np.asarray(r).dtype)
    return tree_reduction(x, s.chunk, s.combine, _squeeze, axis=axis, keepdims=keepdims, dtype=out_dtype,
                     split_every=split_every, name=name)


def sum(a: Any, axis: Any = None, dtype: Any = None, keepdims: bool = False, split_every: Any = None, out: Any = None) -> Array:
    return _handle_out(out, _simple(np.sum, np.add, a, axis, keepdims, dtype, split_every, "sum"))


def prod(a: Any, axis: Any = None, dtype: Any = None, keepdims: bool = False, split_every: Any = None, out: Any = None) -> Array:
    return _handle_out(out, _simple(np.prod, np.multiply, a, axis, keepdims, dtype, split_every, "prod"))


def nansum(a: Any, axis: Any = None, dtype: Any = None, keepdims: bool = False, split_every: Any = None, out: Any = None) -> Array:
    return _handle_out(out, _simple(np.nansum, np.add, a, axis, keepdims, dtype, split_every, "nansum"))


def nanprod(a: Any, axis: Any = None, dtype: Any = None, keepdims: bool = False, split_every: Any = None, out: Any = None) -> Array:
    return _handle_out(out, _simple(np.nanprod, np.multiply, a, axis, keepdims, dtype, split_every, "nanprod"))


def _check_empty(a: Any, axis: Any, what: str) -> None:
    a = asanyarray_like(a)
    axes = normalize_axis(axis, a.ndim)
    if builtins.any(a.shape[d] == 0 for d in axes):
        raise ValueError(f"zero-size array to reduction operation {what} which has no identity")


class _Extreme:
    """min/max (and the nan- forms): a block empty along the reduced axes (as left
    by a boolean mask) gives no partial, and no partial at all is numpy's error."""

    def __init__(self, func: Callable, op: Callable, opname: str):
        self.func, self.op, self.opname = func, op, opname

    def __reduce__(self):
        return (_Extreme, (self.func, self.op, self.opname))

    def __shoal_tokenize__(self) -> Any:
        return ("extreme", self.func.__name__, self.opname)

    def chunk(self, x: np.ndarray, axes: tuple) -> Any:
        if builtins.any(x.shape[d] == 0 for d in axes):
            return None  # nothing along the reduced axes here: no partial
        return self.func(x, axis=axes, keepdims=True)

    def combine(self, parts: list, axes: tuple) -> Any:
        parts = [p for p in parts if p is not None]
        return combine_partials(self.op, parts) if parts else None

    def aggregate(self, p: Any, axes: tuple, keepdims: bool) -> Any:
        if p is None:
            raise ValueError(f"zero-size array to reduction operation {self.opname} which has no identity")
        return p if keepdims else np.squeeze(p, axis=axes)


def _extreme(func: Callable, op: Callable, opname: str, a: Any, axis: Any, keepdims: bool,
             split_every: Any, name: str) -> Array:
    _check_empty(a, axis, opname)
    a = asanyarray_like(a)
    r = _Extreme(func, op, opname)
    return tree_reduction(a, r.chunk, r.combine, r.aggregate, axis=axis, keepdims=keepdims, dtype=a.dtype,
                          split_every=split_every, name=name)


def min(a: Any, axis: Any = None, keepdims: bool = False, split_every: Any = None, out: Any = None) -> Array:
    """The minimum along the given axes (numpy.min); NaN propagates."""
    return _handle_out(out, _extreme(np.min, np.minimum, "minimum", a, axis, keepdims, split_every, "min"))


def max(a: Any, axis: Any = None, keepdims: bool = False, split_every: Any = None, out: Any = None) -> Array:
    """The maximum along the given axes (numpy.max); NaN propagates."""
    return _handle_out(out, _extreme(np.max, np.maximum, "maximum", a, axis, keepdims, split_every, "max"))


def nanmin(a: Any, axis: Any = None, keepdims: bool = False, split_every: Any = None, out: Any = None) -> Array:
    """The minimum ignoring NaN (numpy.nanmin); an all-NaN slice gives NaN."""
    return _handle_out(out, _extreme(_nanmin_chunk, np.fmin, "fmin", a, axis, keepdims, split_every, "nanmin"))


def nanmax(a: Any, axis: Any = None, keepdims: bool = False, split_every: Any = None, out: Any = None) -> Array:
    """The maximum ignoring NaN (numpy.nanmax); an all-NaN slice gives NaN."""
    return _handle_out(out, _extreme(_nanmax_chunk, np.fmax, "fmax", a, axis, keepdims, split_every, "nanmax"))


def _nanmin_chunk(x: np.ndarray, axis: Any = None, keepdims: bool = True) -> np.ndarray:
    # fmin.reduce: all-nan slices give nan without numpy's RuntimeWarning
    return np.fmin.reduce(x, axis=axis, keepdims=keepdims)


def _nanmax_chunk(x: np.ndarray, axis: Any = None, keepdims: bool = True) -> np.ndarray:
    return np.fmax.reduce(x, axis=axis, keepdims=keepdims)


def any(a: Any, axis: Any = None, keepdims: bool = False, split_every: Any = None, out: Any = None) -> Array:
    return _handle_out(out, _simple(np.any, np.logical_or, a, axis, keepdims, None, split_every, "any", out_dtype=bool))


def all(a: Any, axis: Any = None, keepdims: bool = False, split_every: Any = None, out: Any = None) -> Array:
    return _handle_out(out, _simple(np.all, np.logical_and, a, axis, keepdims, None, split_every, "all", out_dtype=bool))


def count_nonzero(a: Any, axis: Any = None, keepdims: bool = False, split_every: Any = None) -> Array:
    return _simple(_count_nonzero_chunk, np.add, a, axis, keepdims, None, split_every, "count-nonzero",
                   out_dtype=np.intp)


def _count_nonzero_chunk(x: np.ndarray, axis: Any = None, keepdims: bool = True) -> np.ndarray:
    return np.sum(x != 0, axis=axis, keepdims=keepdims, dtype=np.intp)


def ptp(a: Any, axis: Any = None, keepdims: bool = False, split_every: Any = None) -> Array:
    return max(a, axis, keepdims, split_every) - min(a, axis, keepdims, split_every)


# -- mean, var, std: partials of (count, sum) or (count, mean, M2) --------------------

def _count(x: np.ndarray, axes: tuple, nan: bool) -> Any:
    if isinstance(x, np.ma.MaskedArray):  # masked elements are not counted (numpy.ma's rule)
        keep = ~np.ma.getmaskarray(x)
        if nan:
            keep &= ~np.isnan(np.ma.getdata(x))
        return np.sum(keep, axis=axes, keepdims=True, dtype=np.int64)
    if nan:
        return np.sum(~np.isnan(x), axis=axes, keepdims=True, dtype=np.int64)
    return math.prod(x.shape[d] for d in axes)


class _Moment:
    def __init__(self, nan: bool, dtype: Any, ddof: int = 0, order: int = 1, sqrt: bool = False):
        self.nan, self.dtype, self.ddof, self.order, self.sqrt = nan, dtype, ddof, order, sqrt

    def __reduce__(self):
        return (_Moment, (self.nan, self.dtype, self.ddof, self.order, self.sqrt))

    def __shoal_tokenize__(self) -> Any:
        return ("moment", self.nan, str(self.dtype), self.ddof, self.order, self.sqrt)

    def chunk(self, x: np.ndarray, axes: tuple) -> tuple:
        n = _count(x, axes, self.nan)
        s = (np.nansum if self.nan else np.sum)(x, axis=axes, keepdims=True, dtype=self.dtype)
        if isinstance(x, np.ma.MaskedArray):
            # a slice masked throughout this block adds nothing; the result stays masked
            # so that a slice masked everywhere comes out masked, as numpy.ma gives
            s = np.ma.masked_array(np.ma.filled(s, 0))
        if self.order == 1:
            return (n, s)
        with np.errstate(invalid="ignore", divide="ignore"):
            m = s / n
            m = np.where(np.asarray(n) == 0, 0, m)  # empty or all-nan: no contribution
            d = (np.where(np.isnan(x), m, x) if self.nan else x) - m
            m2 = np.sum(d * np.conj(d) if np.iscomplexobj(d) else d * d, axis=axes, keepdims=True)
        m2 = m2.real if np.iscomplexobj(m2) else m2
        if isinstance(x, np.ma.MaskedArray):
            m = np.ma.masked_array(np.ma.filled(m, 0))
        return (n, m, m2)

    def combine(self, parts: list, axes: tuple) -> tuple:
        if self.order == 1:
            n = functools.reduce(np.add, [p[0] for p in parts])
            s = functools.reduce(np.add, [p[1] for p in parts])
            return (n, s)
        ns = [p[0] for p in parts]
        n = functools.reduce(np.add, ns)
        with np.errstate(invalid="ignore", divide="ignore"):
            # an empty block (count 0) contributes nothing, not 0 * nan
            mean = functools.reduce(np.add, [np.where(np.asarray(ni) == 0, 0, ni * p[1])
                                             for ni, p in zip(ns, parts)]) / n
            m2 = functools.reduce(np.add, [
                np.where(np.asarray(ni) == 0, 0, p[2] + ni * _abs2(p[1] - mean))
                for ni, p in zip(ns, parts)])
        if builtins.any(isinstance(p[1], np.ma.MaskedArray) for p in parts):
            mean = np.ma.masked_array(np.ma.getdata(mean))  # the partials came from masked blocks
        return (n, mean, m2)

    def aggregate(self, p: tuple, axes: tuple, keepdims: bool) -> np.ndarray:
        with np.errstate(invalid="ignore", divide="ignore"):
            if self.order == 1:
                out = np.divide(p[1], p[0])
            else:
                out = p[2] / np.maximum(np.asarray(p[0]) - self.ddof, 0)
                if self.sqrt:
                    out = np.sqrt(out)
                if isinstance(p[1], np.ma.MaskedArray):  # numpy.ma masks too few unmasked values
                    out = np.ma.masked_where(np.asarray(p[0]) - self.ddof <= 0, np.ma.getdata(out))
        if self.dtype is not None:
            out = out.astype(self.dtype, copy=False)
        return out if keepdims else np.squeeze(out, axis=axes)


def _abs2(d: Any) -> Any:
    return (d * np.conj(d)).real if np.iscomplexobj(d) else d * d


def _moment(a: Any, axis: Any, dtype: Any, keepdims: bool, split_every: Any, nan: bool, ddof: int,
            order: int, sqrt: bool, name: str) -> Array:
    a = asanyarray_like(a)
    if dtype is not None:
        out_dtype = acc = np.dtype(dtype)
    else:
        out_dtype = np.mean(np.ones(1, dtype=a.dtype)).dtype
        if order == 2 and out_dtype.kind == "c":
            out_dtype = np.ones(1, out_dtype).real.dtype
        # integers accumulate in float64 (numpy's rule for mean/var)
        acc = np.dtype(np.float64) if a.dtype.kind in "biu" else None
    part = _Moment(nan, acc, ddof, order, sqrt)
    final = _Moment(nan, out_dtype, ddof, order, sqrt)
    return tree_reduction(a, part.chunk, part.combine, final.aggregate, axis=axis, keepdims=keepdims,
                     dtype=out_dtype, split_every=split_every, name=name)


def mean(a: Any, axis: Any = None, dtype: Any = None, keepdims: bool = False, split_every: Any = None, out: Any = None) -> Array:
    return _handle_out(out, _moment(a, axis, dtype, keepdims, split_every, False, 0, 1, False, "mean"))


def nanmean(a: Any, axis: Any = None, dtype: Any = None, keepdims: bool = False, split_every: Any = None, out: Any = None) -> Array:
    return _handle_out(out, _moment(a, axis, dtype, keepdims, split_every, True, 0, 1, False, "nanmean"))


def var(a: Any, axis: Any = None, dtype: Any = None, keepdims: bool = False, ddof: int = 0, split_every: Any = None, out: Any = None) -> Array:
    return _handle_out(out, _moment(a, axis, dtype, keepdims, split_every, False, ddof, 2, False, "var"))


def nanvar(a: Any, axis: Any = None, dtype: Any = None, keepdims: bool = False, ddof: int = 0, split_every: Any = None, out: Any = None) -> Array:
    return _handle_out(out, _moment(a, axis, dtype, keepdims, split_every, True, ddof, 2, False, "nanvar"))


def std(a: Any, axis: Any = None, dtype: Any = None, keepdims: bool = False, ddof: int = 0, split_every: Any = None, out: Any = None) -> Array:
    return _handle_out(out, _moment(a, axis, dtype, keepdims, split_every, False, ddof, 2, True, "std"))


def nanstd(a: Any, axis: Any = None, dtype: Any = None, keepdims: bool = False, ddof: int = 0, split_every: Any = None, out: Any = None) -> Array:
    return _handle_out(out, _moment(a, axis, dtype, keepdims, split_every, True, ddof, 2, True, "nanstd"))


def moment(a: Any, order: int, axis: Any = None, dtype: Any = None, keepdims: bool = False, ddof: int = 0,
           split_every: Any = None, out: Any = None) -> Array:
    """The ``order``-th central moment: ``sum((a - mean) ** order) / (n - ddof)`` along ``axis``.

    Two passes (the mean first), so large offsets do not cancel precision.
    """
    a = asanyarray_like(a)
    if not isinstance(order, (int, np.integer)) or order < 0:
        raise ValueError(f"order={order!r} must be a non-negative integer")
    axes = normalize_axis(axis, a.ndim)
    n = math.prod(a.shape[d] for d in axes)
    m = mean(a, axis=axis, keepdims=True, dtype=dtype, split_every=split_every)
    res = sum((a - m) ** order, axis=axis, keepdims=keepdims, dtype=dtype, split_every=split_every) / (n - ddof)
    return _handle_out(out, res)


def average(a: Any, axis: Any = None, weights: Any = None, returned: bool = False, keepdims: bool = False) -> Any:
    a = asanyarray_like(a)
    if weights is None:
        avg = mean(a, axis=axis, keepdims=keepdims)
        scl = a.size / avg.size if avg.size else 0
        return (avg, scl) if returned else avg
    w = asanyarray_like(weights)
    if w.shape != a.shape:
        if axis is None or w.ndim != 1:
            raise ValueError("weights must have the array's shape, or be 1-d along the given axis")
        idx = tuple(slice(None) if d == axis % a.ndim else None for d in range(a.ndim))
        w = w[idx]
    scl = sum(w * (a * 0 + 1), axis=axis, keepdims=keepdims)
    avg = sum(a * w, axis=axis, keepdims=keepdims) / scl
    return (avg, scl) if returned else avg


# -- argmin / argmax -------------------------------------------------------------------

class _Arg:
    def __init__(self, kind: str, nan: bool):
        self.kind, self.nan = kind, nan

    def __reduce__(self):
        return (_Arg, (self.kind, self.nan))

    def __shoal_tokenize__(self) -> Any:
        return ("arg", self.kind, self.nan)

    def _prep(self, x: np.ndarray) -> np.ndarray:
        if self.nan and x.dtype.kind in "fc":
            fill = np.inf if self.kind == "min" else -np.inf
            return np.where(np.isnan(x), fill, x)
        return x

    def chunk(self, x: np.ndarray, axes: tuple, offsets: tuple, shape: tuple) -> Any:
        if builtins.any(x.shape[d] == 0 for d in axes):
            return None  # an empty block along the reduced axes: no candidate
        part = self._chunk(x, axes, offsets, shape)
        if self.nan and x.dtype.kind in "fc":
            allnan = np.all(np.isnan(x), axis=axes if axes else None, keepdims=True)
            return part + (allnan.reshape(part[0].shape),)
        return part

    def _chunk(self, x: np.ndarray, axes: tuple, offsets: tuple, shape: tuple) -> tuple:
        xv = self._prep(x)
        if x.ndim == 0:
            return (xv, np.asarray(0))
        f = np.argmin if self.kind == "min" else np.argmax
        if len(axes) == 1:
            ax = axes[0]
            loc = f(xv, axis=ax, keepdims=True)
            val = np.take_along_axis(xv, loc, axis=ax)
            return (val, loc + offsets[ax])
        loc = f(xv)
        val = np.asarray(xv.flat[loc]).reshape((1,) * x.ndim)
        idx = np.unravel_index(loc, x.shape)
        glob = np.ravel_multi_index(tuple(i + o for i, o in zip(idx, offsets)), shape)
        return (val, np.asarray(glob).reshape((1,) * x.ndim))

    def combine(self, parts: list, axes: tuple) -> Any:
        parts = [p for p in parts if p is not None]
        if not parts:
            return None
        if len(parts[0]) == 3:
            return self._combine_nan(parts)
        val, idx = parts[0]
        val, idx = val.copy(), idx.copy()
        for v, i in parts[1:]:
            better = (v < val) if self.kind == "min" else (v > val)
            same = v == val
            if v.dtype.kind in "fc" and not self.nan:
                # numpy's rule: the first nan wins
                vn, valn = np.isnan(v), np.isnan(val)
                better = (better & ~valn) | (vn & ~valn)
                same = same | (vn & valn)
            # ties go to the smaller flat index, whatever order blocks are combined in
            better |= same & (i < idx)
            val = np.where(better, v, val)
            idx = np.where(better, i, idx)
        return (val, idx)

    def _combine_nan(self, parts: list) -> tuple:
        val, idx, alln = (np.array(a, copy=True) for a in parts[0])
        for v, i, vn in parts[1:]:
            better = ((v < val) if self.kind == "min" else (v > val)) | (alln & ~vn)
            same = (v == val) & (alln == vn)
            better = (better | (same & (i < idx))) & ~(vn & ~alln)
            val = np.where(better, v, val)
            idx = np.where(better, i, idx)
            alln = alln & vn
        return (val, idx, alln)

    def aggregate(self, p: Any, axes: tuple, keepdims: bool) -> np.ndarray:
        if p is None:
            raise ValueError(f"attempt to get arg{self.kind} of an empty sequence")
        if len(p) == 3 and np.any(p[2]):
            raise ValueError("All-NaN slice encountered")
        idx = np.asarray(p[1]).astype(np.intp)
        if idx.ndim == 0:
            return idx
        return idx if keepdims else np.squeeze(idx, axis=axes)


def _arg(kind: str, nan: bool, a: Any, axis: Any, keepdims: bool, split_every: Any) -> Array:
    a = asanyarray_like(a)
    if axis is not None and not isinstance(axis, (int, np.integer)):
        raise TypeError(f"arg{kind} takes one axis (an int) or None, got axis={axis!r}")
    _check_empty(a, axis, f"arg{kind}")
    if builtins.any(isinstance(n, float) and n != n for n in a.shape):
        raise ValueError(f"arg{kind} needs the positions of the blocks, but the array has unknown "
                         "chunksize (nan block lengths, e.g. after a boolean mask): Arrays chunk sizes "
                         "are unknown; call x.compute_chunk_sizes() first")
    r = _Arg(kind, nan)
    return tree_reduction(a, r.chunk, r.combine, r.aggregate, axis=axis, keepdims=keepdims, dtype=np.intp,
                     split_every=split_every, name=f"arg{kind}", chunk_with_info=True)


def argmin(a: Any, axis: Any = None, keepdims: bool = False, split_every: Any = None, out: Any = None) -> Array:
    return _handle_out(out, _arg("min", False, a, axis, keepdims, split_every))


def argmax(a: Any, axis: Any = None, keepdims: bool = False, split_every: Any = None, out: Any = None) -> Array:
    return _handle_out(out, _arg("max", False, a, axis, keepdims, split_every))


def nanargmin(a: Any, axis: Any = None, keepdims: bool = False, split_every: Any = None) -> Array:
    return _arg("min", True, a, axis, keepdims, split_every)


def nanargmax(a: Any, axis: Any = None, keepdims: bool = False, split_every: Any = None) -> Array:
    return _arg("max", True, a, axis, keepdims, split_every)


# -- cumulative: scan each block, then carry the running total block to block -------

def _last(x: np.ndarray, axis: int) -> np.ndarray:
    return np.take(x, [-1], axis=axis) if x.shape[axis] else None


def _carry(op: Callable, prev: Any, last_block: Any) -> Any:
    if last_block is None:
        return prev
    return last_block if prev is None else op(prev, last_block)


def _apply_carry(op: Callable, block: np.ndarray, carry: Any) -> np.ndarray:
    return block if carry is None else op(block, carry)


def _scan_from(func: Callable, block: np.ndarray, prev_last: Any, axis: int, dtype: Any) -> np.ndarray:
    """``func`` (cumsum, ...) over ``block`` continuing from the previous block's last values."""
    if prev_last is None:  # the blocks before were all empty
        return func(block, axis=axis, dtype=dtype)
    joined = np.concatenate([np.asarray(prev_last, dtype=dtype), np.asarray(block, dtype=dtype)], axis=axis)
    return np.delete(func(joined, axis=axis, dtype=dtype), 0, axis=axis)


def _last_or_prev(x: np.ndarray, prev: Any, axis: int) -> Any:
    return np.take(x, [-1], axis=axis) if x.shape[axis] else prev


def _combine_carries(op: Callable, *parts: Any) -> Any:
    out = None
    for p in parts:
        out = _carry(op, out, p)
    return out


def _cumulative(func: Callable, op: Callable, x: Any, axis: Any, dtype: Any, name: str,
                method: str = "sequential", out: Any = None) -> Array:
    """Scan each block, then add (or multiply) in the running total of the blocks before it.

    ``method="sequential"`` carries the total block to block (n steps along
    the axis); ``"blelloch"`` builds the carries from a tree of block totals
    (about log2 n steps deep, more tasks), which reassociates the operation,
    so float results may differ from numpy's by rounding.
    """
    if method not in ("sequential", "blelloch"):
        raise ValueError(f"method={method!r}: use 'sequential' or 'blelloch'")
    x = asanyarray_like(x)
    if axis is None:
        from shoal.array.routines import ravel

        x = ravel(x)
        axis = 0
    axis = normalize_axis(axis, x.ndim)[0]
    out_dtype = func(np.ones((1,), x.dtype), dtype=dtype).dtype
    tok = new_name(name, x.name, axis, str(dtype), method)
    scan, lastk, carryk, rng = f"scan-{tok}", f"last-{tok}", f"carry-{tok}", f"range-{tok}"
    layer: dict = {}
    n = x.numblocks[axis]
    for idx in itertools.product(*map(range, x.numblocks)):
        if method == "blelloch" or idx[axis] == 0:
            layer[(scan, *idx)] = Task(func, Ref((x.name, *idx)), axis=axis, dtype=out_dtype)
        if method == "blelloch":
            layer[(lastk, *idx)] = Task(_last, Ref((scan, *idx)), axis)
    others = [range(m) if d != axis else [None] for d, m in enumerate(x.numblocks)]
    for oidx in itertools.product(*others):
        def at(k: int) -> tuple:
            i = list(oidx)
            i[axis] = k
            return tuple(i)

        if method == "sequential":
            # numpy's own order: each block's scan starts from the previous result's last
            # value, so 0 * inf and rounding come out exactly as numpy's
            for k in range(n):
                if k == 0:
                    layer[(tok, *at(0))] = Ref((scan, *at(0)))
                else:
                    layer[(tok, *at(k))] = Task(_scan_from, func, Ref((x.name, *at(k))),
                                                Ref((lastk + "-seq", *at(k - 1))), axis, out_dtype)
                prev = Ref((lastk + "-seq", *at(k - 1))) if k else None
                layer[(lastk + "-seq", *at(k))] = Task(_last_or_prev, Ref((tok, *at(k))), prev, axis)
            continue
        else:
            # aligned power-of-two ranges of block totals: range (lo, size) covers blocks lo..lo+size-1
            size = 1
            while size < n:
                for lo in range(0, n - size, 2 * size):
                    left = (rng, lo, size, *at(0)) if size > 1 else (lastk, *at(lo))
                    right = (rng, lo + size, size, *at(0)) if size > 1 else (lastk, *at(lo + size))
                    if lo + 2 * size <= n:
                        layer[(rng, lo, 2 * size, *at(0))] = Task(_combine_carries, op, Ref(left), Ref(right))
                size *= 2
            for k in range(1, n):
                parts, lo = [], 0
                bit = 1 << (k.bit_length() - 1)
                while bit:
                    if k & bit:
                        parts.append(Ref((rng, lo, bit, *at(0))) if bit > 1 else Ref((lastk, *at(lo))))
                        lo += bit
                    bit >>= 1
                layer[(carryk, *at(k))] = Task(_combine_carries, op, *parts)
        for k in range(n):
            if k == 0:
                layer[(tok, *at(k))] = Ref((scan, *at(k)))
            else:
                layer[(tok, *at(k))] = Task(_apply_carry, op, Ref((scan, *at(k))), Ref((carryk, *at(k))))
    return _handle_out(out, Array(LayeredGraph.from_collections(tok, layer, [x]), tok, x.chunks, out_dtype))


def _handle_out(out: Any, result: Array) -> Array:
    """``out=``: an Array takes the result's graph, chunks and dtype (as Dask does)."""
    if out is None:
        return result
    if isinstance(out, tuple) and len(out) == 1:
        out = out[0]
    if not isinstance(out, Array):
        raise NotImplementedError(f"out= must be a shoal Array, not {type(out).__name__}; "
                                  "assign the result instead (y = x.sum(axis=0))")
    if out.shape != result.shape:
        raise ValueError(f"out= has shape {out.shape}, the result has shape {result.shape}")
    out._graph, out.name, out._chunks, out._dtype = result._graph, result.name, result._chunks, result._dtype
    return out


def cumsum(x: Any, axis: Any = None, dtype: Any = None, out: Any = None, method: str = "sequential") -> Array:
    return _cumulative(np.cumsum, np.add, x, axis, dtype, "cumsum", method, out)


def cumprod(x: Any, axis: Any = None, dtype: Any = None, out: Any = None, method: str = "sequential") -> Array:
    return _cumulative(np.cumprod, np.multiply, x, axis, dtype, "cumprod", method, out)


def nancumsum(x: Any, axis: Any = None, dtype: Any = None, out: Any = None, method: str = "sequential") -> Array:
    return _cumulative(np.nancumsum, np.add, x, axis, dtype, "nancumsum", method, out)


def nancumprod(x: Any, axis: Any = None, dtype: Any = None, out: Any = None, method: str = "sequential") -> Array:
    return _cumulative(np.nancumprod, np.multiply, x, axis, dtype, "nancumprod", method, out)
