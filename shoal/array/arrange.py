"""Rearranging routines built from slicing and joining: roll, repeat, tile, pad, triu/tril, meshgrid."""
from __future__ import annotations

from typing import Any

import numpy as np

from shoal.array.blockwise import map_blocks, as_array as _as
from shoal.array.core import Array

__all__ = ["roll", "repeat", "tile", "pad", "triu", "tril", "meshgrid"]


def roll(x: Any, shift: Any, axis: Any = None) -> Array:
    from shoal.array.creation import concatenate
    from shoal.array.routines import ravel, reshape

    x = _as(x)
    if axis is None:
        if x.ndim == 1:
            return roll(x, shift, 0)
        flat = roll(ravel(x), shift, 0)
        # blocks of whole rows so the reshape back is block by block
        row = int(np.prod(x.shape[1:]))
        return reshape(flat.rechunk(max(1, x.chunksize[0]) * max(row, 1)), x.shape)
    shifts = np.atleast_1d(shift)
    axes = np.atleast_1d(axis)
    if len(shifts) == 1:
        shifts = np.repeat(shifts, len(axes))
    for s, ax in zip(shifts, axes):
        ax = int(ax) % x.ndim
        n = x.shape[ax]
        s = int(s) % n if n else 0
        if s:
            lo = [slice(None)] * x.ndim
            hi = [slice(None)] * x.ndim
            lo[ax], hi[ax] = slice(n - s, None), slice(None, n - s)
            x = concatenate([x[tuple(lo)], x[tuple(hi)]], axis=ax)
    return x


class _Repeat:
    def __init__(self, repeats: int, axis: int):
        self.repeats, self.axis = repeats, axis

    def __call__(self, b: np.ndarray) -> np.ndarray:
        return np.repeat(b, self.repeats, axis=self.axis)

    def __reduce__(self):
        return (_Repeat, (self.repeats, self.axis))

    def __shoal_tokenize__(self) -> Any:
        return ("repeat", self.repeats, self.axis)


def repeat(a: Any, repeats: int, axis: Any = None) -> Array:
    from shoal.array.routines import ravel

    a = _as(a)
    if axis is None:
        a, axis = ravel(a), 0
    if not isinstance(repeats, (int, np.integer)):
        raise NotImplementedError("repeat takes one int repeats for the whole axis")
    axis %= a.ndim
    chunks = tuple(tuple(c * int(repeats) for c in ch) if d == axis else ch for d, ch in enumerate(a.chunks))
    return map_blocks(_Repeat(int(repeats), axis), a, chunks=chunks, dtype=a.dtype)


def tile(A: Any, reps: Any) -> Array:
    from shoal.array.creation import concatenate

    A = _as(A)
    reps = tuple(np.atleast_1d(reps).tolist())
    if any(r < 0 for r in reps):
        raise ValueError(f"tile: negative repetitions {reps}")
    while A.ndim < len(reps):
        A = A[None]
    reps = (1,) * (A.ndim - len(reps)) + reps
    for ax, r in enumerate(reps):
        if r == 0:
            idx = [slice(None)] * A.ndim
            idx[ax] = slice(0, 0)
            A = A[tuple(idx)]
        elif r > 1:
            A = concatenate([A] * int(r), axis=ax)
    return A


def pad(array: Any, pad_width: Any, mode: str = "constant", **kwargs: Any) -> Array:
    """numpy.pad (see ``shoal.array.pad``)."""
    from shoal.array.pad import pad as _pad

    return _pad(array, pad_width, mode, **kwargs)


class _Tri:
    def __init__(self, k: int, upper: bool):
        self.k, self.upper = k, upper

    def __call__(self, b: np.ndarray, block_info: Any = None) -> np.ndarray:
        (r0, _), (c0, _) = block_info[0]["array-location"][-2:]
        rows = np.arange(b.shape[-2])[:, None] + r0
        cols = np.arange(b.shape[-1])[None, :] + c0
        keep = (cols - rows >= self.k) if self.upper else (cols - rows <= self.k)
        return np.where(keep, b, np.zeros((), b.dtype))

    def __reduce__(self):
        return (_Tri, (self.k, self.upper))


def triu(m: Any, k: int = 0) -> Array:
    m = _as(m)
    return map_blocks(_Tri(k, True), m, dtype=m.dtype, block_info=True)


def tril(m: Any, k: int = 0) -> Array:
    m = _as(m)
    return map_blocks(_Tri(k, False), m, dtype=m.dtype, block_info=True)


def meshgrid(*xi: Any, indexing: str = "xy", sparse: bool = False) -> tuple:
    from shoal.array.routines import broadcast_to

    arrs = [_as(x).ravel() for x in xi]
    if indexing not in ("xy", "ij"):
        raise ValueError("indexing must be 'xy' or 'ij'")
    if indexing == "xy" and len(arrs) >= 2:
        arrs[0], arrs[1] = arrs[1], arrs[0]
    shape = tuple(a.shape[0] for a in arrs)
    chunks = tuple(a.chunks[0] for a in arrs)
    out = []
    for i, a in enumerate(arrs):
        idx = tuple(slice(None) if j == i else None for j in range(len(arrs)))
        g = a[idx]
        out.append(g if sparse else broadcast_to(g, shape, chunks=chunks))
    if indexing == "xy" and len(arrs) >= 2:
        out[0], out[1] = out[1], out[0]
    return tuple(out)
