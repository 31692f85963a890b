"""``sliding_window_view``: every window of an array, lazily, as numpy returns them.

For one axis with window ``w``, the windows that *start* in block ``i`` need
that block and the first ``w - 1`` elements after it.  Each output block is
one slice of the input that covers exactly that much, made a single block
along the axis, on which numpy's ``sliding_window_view`` runs.  The output's
blocks along the axis follow the input's (fewer at the end, where no window
fits), and each window dimension is appended as one block.  Several axes are
done one after the other, which appends the window dimensions in the order of
``axis``, as numpy does.  ``np.lib.stride_tricks.sliding_window_view`` on a
shoal Array lands here (xarray's ``rolling`` uses it).
"""
from __future__ import annotations

from typing import Any

import numpy as np

from shoal.array.chunks import chunk_bounds
from shoal.array.core import Array

__all__ = ["sliding_window_view"]


def _window_block(block: np.ndarray, window: int, axis: int) -> np.ndarray:
    return np.lib.stride_tricks.sliding_window_view(block, window, axis=axis)


def _one_axis(x: Array, window: int, axis: int) -> Array:
    from shoal.array.creation import concatenate, empty

    n = x.shape[axis]
    if window > n:
        raise ValueError(f"sliding_window_view: window {window} is longer than axis {axis} ({n} elements)")
    if window == 0:  # n + 1 empty windows: nothing to read
        chunks = tuple((n + 1,) if d == axis else c for d, c in enumerate(x.chunks)) + ((0,),)
        return empty(tuple(map(sum, chunks)), dtype=x.dtype, chunks=chunks)
    starts = n - window + 1
    bounds = chunk_bounds(x.chunks[axis])
    pieces = []
    for i in range(len(x.chunks[axis])):
        lo, hi = bounds[i], min(bounds[i + 1], starts)
        if lo >= hi:
            break
        index = tuple(slice(lo, hi + window - 1) if d == axis else slice(None) for d in range(x.ndim))
        part = x[index].rechunk({axis: -1})
        chunks = tuple((hi - lo,) if d == axis else c for d, c in enumerate(part.chunks)) + ((window,),)
        pieces.append(part.map_blocks(_window_block, window, axis, dtype=x.dtype, chunks=chunks,
                                      new_axis=[x.ndim]))
    return pieces[0] if len(pieces) == 1 else concatenate(pieces, axis=axis)


def sliding_window_view(x: Any, window_shape: Any, axis: Any = None, *, subok: bool = False,
                        writeable: bool = False) -> Array:
    """All windows of ``window_shape`` over ``axis`` (numpy's ``sliding_window_view``), lazily.

    The result has ``x``'s dimensions, shortened by ``window - 1`` along each
    windowed axis, followed by one dimension per window.  Read-only views, as
    in numpy: ``writeable=True`` is refused.
    """
    from shoal.array.creation import asanyarray

    if writeable:
        raise NotImplementedError("sliding_window_view(writeable=True): shoal blocks are not writeable views; "
                                  "compute the windows and copy them instead")
    x = asanyarray(x)
    windows = tuple(np.atleast_1d(window_shape).tolist())
    if axis is None:
        if len(windows) != x.ndim:
            raise ValueError(f"sliding_window_view: window_shape {window_shape!r} needs one entry per axis "
                             f"({x.ndim}) when axis is not given")
        axes = tuple(range(x.ndim))
    else:
        axes = tuple(np.atleast_1d(axis).tolist())
        if len(axes) != len(windows):
            raise ValueError(f"sliding_window_view: {len(windows)} window sizes for {len(axes)} axes")
    if any(w < 0 for w in windows):
        raise ValueError("sliding_window_view: window sizes must be at least 0")
    ndim = x.ndim
    for w, a in zip(windows, axes):
        if not -ndim <= a < ndim:
            raise np.exceptions.AxisError(a, ndim)
        x = _one_axis(x, int(w), a % ndim)
    return x
