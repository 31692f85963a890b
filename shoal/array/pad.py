"""``pad``: numpy's padding, every mode, widths of any size, one axis at a time.

As numpy does, axes are padded in order, each from the array already padded
along the earlier axes.  For the modes that copy data (``edge``,
``reflect``, ``symmetric``, ``wrap``) numpy's own pad of ``arange(n)`` gives,
for every output position along the axis, the input position it copies;
the axis is then one integer-list index -- correct for widths larger than
the axis or a block, and lazy.  ``constant``, ``linear_ramp`` and the
statistic modes (``maximum``, ``minimum``, ``mean``, ``median`` with
``stat_length``) build the two pads from lazy reductions of the edges.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from shoal.array.blockwise import as_array as _as
from shoal.array.core import Array

__all__ = ["pad"]

_COPY_MODES = ("edge", "reflect", "symmetric", "wrap")
_STAT_MODES = ("maximum", "minimum", "mean", "median")


def _pairs(value: Any, ndim: int, name: str) -> np.ndarray:
    try:
        return np.broadcast_to(np.asarray(value, dtype=object), (ndim, 2))
    except ValueError:
        raise ValueError(f"{name}={value!r} does not broadcast to ({ndim}, 2)") from None


def _take(x: Array, ax: int, s: Any) -> Array:
    return x[tuple(s if d == ax else slice(None) for d in range(x.ndim))]


def pad(array: Any, pad_width: Any, mode: str = "constant", **kwargs: Any) -> Array:
    """numpy.pad for shoal arrays: every string mode, pad widths of any size.

    ``mode`` is one of constant (``constant_values``), edge, linear_ramp
    (``end_values``), maximum, mean, median, minimum (``stat_length``),
    reflect, symmetric (``reflect_type='even'``), wrap, or empty.
    """
    from shoal.array.creation import concatenate, full

    x = _as(array)
    if callable(mode):
        raise NotImplementedError("pad with a function as mode is not supported; pad the whole axis "
                                  "with numpy inside map_blocks after rechunking that axis to one block")
    if kwargs.get("reflect_type", "even") != "even":
        raise NotImplementedError("pad(reflect_type='odd') is not supported; use the default 'even'")
    known = ("constant", "empty", "linear_ramp") + _COPY_MODES + _STAT_MODES
    if mode not in known:
        raise ValueError(f"mode {mode!r} is not supported; use one of {', '.join(known)}")
    if x.ndim == 0:
        return x
    widths = np.broadcast_to(np.asarray(pad_width, dtype=np.int64), (x.ndim, 2))
    if (widths < 0).any():
        raise ValueError("pad widths must be non-negative")
    cvals = _pairs(kwargs.get("constant_values", 0), x.ndim, "constant_values")
    evals = _pairs(kwargs.get("end_values", 0), x.ndim, "end_values")
    stat = _pairs(kwargs.get("stat_length", None), x.ndim, "stat_length")
    for ax in range(x.ndim):
        before, after = int(widths[ax][0]), int(widths[ax][1])
        if not before and not after:
            continue
        n = int(x.shape[ax])
        if mode in _COPY_MODES:
            if n == 0:
                raise ValueError(f"can't extend empty axis {ax} using modes other than 'constant' or 'empty'")
            src = np.pad(np.arange(n), (before, after), mode=mode)
            x = _take(x, ax, src)
            continue
        parts = []
        for side, w in ((0, before), (1, after)):
            if not w:
                parts.append(None)
                continue
            shape = tuple(w if d == ax else s for d, s in enumerate(x.shape))
            # the pad's blocks no longer than the array's along the axis
            step = max(max(x.chunks[ax]) if x.chunks[ax] else w, 1)
            chunks = tuple(tuple(min(step, w - i) for i in range(0, w, step)) if d == ax else c
                           for d, c in enumerate(x.chunks))
            if mode in ("constant", "empty"):
                v = cvals[ax][side] if mode == "constant" else 0
                parts.append(full(shape, v, dtype=x.dtype, chunks=chunks))
            elif mode == "linear_ramp":
                parts.append(_ramp(x, ax, side, w, evals[ax][side]))
            else:
                parts.append(_stat_pad(x, ax, side, w, mode, stat[ax][side]))
        pieces = [p for p in (parts[0], x, parts[1]) if p is not None]
        x = concatenate(pieces, axis=ax)
    return x


def _edge(x: Array, ax: int, side: int) -> Array:
    n = int(x.shape[ax])
    return _take(x, ax, slice(0, 1) if side == 0 else slice(n - 1, n))


def _ramp(x: Array, ax: int, side: int, w: int, end: Any) -> Array:
    from shoal.array.creation import arange

    if int(x.shape[ax]) == 0:
        raise ValueError(f"can't extend empty axis {ax} using modes other than 'constant' or 'empty'")
    edge = _edge(x, ax, side).astype(np.float64)
    # numpy's ramp: linspace(end, edge, w, endpoint=False) before, reversed after
    t = arange(w, chunks=-1, dtype=np.float64) / w
    t = t[tuple(slice(None) if d == ax else None for d in range(x.ndim))]
    ramp = float(end) + (edge - float(end)) * t
    if side == 1:
        ramp = _take(ramp, ax, slice(None, None, -1))
    if x.dtype.kind in "iu":
        from shoal.array.ufunc import floor

        ramp = floor(ramp)  # numpy's integer linspace rounds towards -inf
    return ramp.astype(x.dtype)


def _stat_pad(x: Array, ax: int, side: int, w: int, mode: str, length: Any) -> Array:
    from shoal.array import order_stats, reductions
    from shoal.array.routines import broadcast_to

    n = int(x.shape[ax])
    k = n if length is None else min(int(length), n)
    if k <= 0 or n == 0:
        raise ValueError(f"stat_length of 0 or an empty axis {ax} gives no value to pad with")
    region = _take(x, ax, slice(0, k) if side == 0 else slice(n - k, n))
    if mode == "median":
        v = order_stats.median(region, axis=ax, keepdims=True)
    else:
        func = {"maximum": reductions.max, "minimum": reductions.min, "mean": reductions.mean}[mode]
        v = func(region, axis=ax, keepdims=True)
    if x.dtype.kind in "iu" and mode in ("mean", "median"):
        from shoal.array.routines import round as _round

        v = _round(v)  # numpy rounds the statistic before casting back
    v = v.astype(x.dtype)
    shape = tuple(w if d == ax else s for d, s in enumerate(x.shape))
    return broadcast_to(v, shape)
