"""Chunk arithmetic: normalising ``chunks=`` arguments and lining chunks up.

An array's chunking is a tuple (one per dimension) of tuples of block
lengths, e.g. ``((5000, 5000, 2000), (4000,))``.  Users may write it many
ways -- a block shape ``(5000, 4000)``, one int for every dimension, ``-1``
or ``None`` for "whole dimension", ``'auto'`` for "about
``array.chunk-size`` bytes per block" (128 MiB by default), or explicit
tuples -- and :func:`normalize_chunks` turns any of them into the canonical
form or says exactly what was wrong.
"""
from __future__ import annotations

import math
from itertools import accumulate
from typing import Any, Sequence

import numpy as np

from shoal import config

__all__ = [
    "normalize_chunks",
    "blockdims_from_blockshape",
    "auto_chunks",
    "chunk_bounds",
    "common_blockdim",
    "AUTO_BYTES",
]

#: Target block size for ``chunks='auto'``: big enough that per-task
#: overhead is negligible, small enough that a few blocks per worker fit in
#: memory.
AUTO_BYTES = 128 * 2**20


def _auto_bytes() -> int:
    from shoal.utils import parse_bytes

    return parse_bytes(config.get("array.chunk-size", AUTO_BYTES), "array.chunk-size")


def blockdims_from_blockshape(shape: Sequence[int], blockshape: Sequence[int]) -> tuple:
    """``((bs, bs, ..., rest), ...)`` for each dimension."""
    out = []
    for n, b in zip(shape, blockshape):
        if n == 0:
            out.append((0,))
            continue
        b = max(int(b), 1)
        full, rest = divmod(int(n), b)
        out.append((b,) * full + ((rest,) if rest else ()))
    return tuple(out)


def auto_chunks(shape: Sequence[int], dtype: Any, limit: int | None = None,
                fixed: Sequence[int | None] | None = None, previous: Sequence[int] | None = None) -> tuple:
    """Block shape with about ``limit`` bytes per block, as square as possible.

    ``fixed[i]`` (when not None) pins dimension ``i``'s block length.
    ``previous`` (the chunks of the store the data comes from: zarr chunks or
    shards, HDF5 chunks) makes every block a whole number of stored chunks:
    the stored chunk shape is scaled up evenly until a block holds ``limit``
    bytes, so no stored chunk is read by two tasks.
    """
    limit = limit or _auto_bytes()
    itemsize = max(np.dtype(dtype).itemsize, 1)
    ndim = len(shape)
    fixed = list(fixed) if fixed is not None else [None] * ndim
    blocks = [0] * ndim
    budget = limit / itemsize
    free = []
    for i, n in enumerate(shape):
        if fixed[i] is not None:
            blocks[i] = max(1, min(int(fixed[i]), max(int(n), 1)))
            budget /= blocks[i]
        else:
            free.append(i)
    if previous is not None and free:
        return _scaled_previous(shape, blocks, free, previous, budget)
    # spread the remaining budget evenly, giving small dimensions all they need
    remaining = sorted(free, key=lambda i: shape[i])
    while remaining:
        side = budget ** (1.0 / len(remaining))
        i = remaining[0]
        n = max(int(shape[i]), 1)
        if n <= side:
            blocks[i] = n
            budget /= n
            remaining.pop(0)
            continue
        for i in remaining:
            # the largest block within budget; the last block takes the remainder
            # (Dask's choice, so chunks="auto" gives the same grid in both)
            blocks[i] = min(max(1, int(side)), max(int(shape[i]), 1))
        break
    return tuple(blocks)


def _scaled_previous(shape: Sequence[int], blocks: list, free: list, previous: Sequence[int],
                     budget: float) -> tuple:
    """``auto_chunks`` when the data sits in stored chunks of ``previous``: blocks are multiples of them."""
    prev = {i: max(1, min(int(previous[i]), max(int(shape[i]), 1))) for i in free}
    remaining = sorted(free, key=lambda i: shape[i] / prev[i])
    while remaining:
        factor = (budget / math.prod(prev[i] for i in remaining)) ** (1.0 / len(remaining))
        i = remaining[0]
        n = max(int(shape[i]), 1)
        if n <= factor * prev[i]:
            blocks[i] = n
            budget /= n
            remaining.pop(0)
            continue
        for i in remaining:
            blocks[i] = min(max(1, int(factor)) * prev[i], max(int(shape[i]), 1))
        break
    return tuple(blocks)


def _bad(chunks: Any, shape: Any, why: str) -> ValueError:
    return ValueError(
        f"chunks={chunks!r} does not fit an array of shape {shape}: {why}. "
        "Write chunks as a block shape (chunks=(1000, 1000)), one int for all dimensions "
        "(chunks=1000), -1 for a whole dimension, 'auto', or explicit block lengths per "
        "dimension (chunks=((600, 400), (1000,)))."
    )


def normalize_chunks(chunks: Any, shape: Sequence[int] | None = None, dtype: Any = float,
                     limit: int | None = None, previous_chunks: Any = None) -> tuple:
    """Canonical ``tuple[tuple[int, ...], ...]`` for any accepted ``chunks=``."""
    if isinstance(chunks, tuple) and chunks and all(isinstance(c, tuple) for c in chunks) \
            and shape is not None and len(chunks) == len(shape) \
            and all(sum(c) == s or (isinstance(s, float) and math.isnan(s)) for c, s in zip(chunks, shape)):
        return tuple(tuple(int(b) if not _isnan(b) else b for b in c) for c in chunks)
    if shape is None:
        if isinstance(chunks, (tuple, list)) and all(isinstance(c, (tuple, list)) for c in chunks):
            return tuple(tuple(b if _isnan(b) else int(b) for b in c) for c in chunks)
        raise ValueError(f"chunks={chunks!r} needs the array's shape to be interpreted")
    shape = tuple(shape)
    ndim = len(shape)
    if ndim == 0:
        return ()
    if isinstance(chunks, np.ndarray):
        chunks = tuple(chunks.tolist())
    if isinstance(chunks, list):
        chunks = tuple(chunks)
    if chunks is None or (isinstance(chunks, str) and chunks == "auto"):
        chunks = ("auto",) * ndim
    elif isinstance(chunks, (int, np.integer)) and not isinstance(chunks, bool):
        chunks = (int(chunks),) * ndim
    elif isinstance(chunks, str):
        raise _bad(chunks, shape, "the only string accepted is 'auto'")
    elif isinstance(chunks, dict):
        chunks = tuple(chunks.get(i, chunks.get(i - ndim, -1)) for i in range(ndim))
    if not isinstance(chunks, tuple):
        raise _bad(chunks, shape, f"a {type(chunks).__name__} is not a chunk specification")
    if ndim == 1 and len(chunks) > 1 and all(isinstance(c, (int, np.integer, float)) and not isinstance(c, bool)
                                            for c in chunks):
        # a flat tuple for a 1-d array lists its block lengths: chunks=(3, 4) for 7 elements
        chunks = (chunks,)
    if len(chunks) != ndim:
        raise _bad(chunks, shape, f"it has {len(chunks)} entries but the array has {ndim} dimensions")
    # -1 / None: whole dimension; 'auto' entries: filled in together
    spec = []
    for c, n in zip(chunks, shape):
        if c is None or (isinstance(c, (int, np.integer)) and not isinstance(c, bool) and c == -1):
            spec.append(int(n) if not _isnan(n) else n)
        else:
            spec.append(c)
    if any(isinstance(c, str) for c in spec) and np.dtype(dtype).hasobject:
        raise NotImplementedError("chunks='auto' cannot size blocks of object dtype (the bytes per "
                                  "element are unknown); give explicit chunks, e.g. chunks=1000")
    if any(isinstance(c, str) for c in spec):
        for c in spec:
            if isinstance(c, str) and c != "auto":
                raise _bad(chunks, shape, f"unknown string {c!r}")
        fixed = [None if isinstance(c, str) else (c if isinstance(c, (int, np.integer)) else max(c)) for c in spec]
        prev = None
        if previous_chunks is not None:
            prev = [max(c) if isinstance(c, (tuple, list)) else c for c in previous_chunks]
            prev = prev if len(prev) == ndim and all(isinstance(c, (int, np.integer)) and c > 0 for c in prev) \
                else None
        auto = auto_chunks(shape, dtype, limit, fixed, prev)
        spec = [auto[i] if isinstance(c, str) else c for i, c in enumerate(spec)]
    out = []
    for i, (c, n) in enumerate(zip(spec, shape)):
        if isinstance(c, (tuple, list)):
            c = tuple(int(b) if not _isnan(b) else b for b in c)
            if any((not _isnan(b)) and b < 0 for b in c):
                raise _bad(chunks, shape, f"dimension {i} has a negative block length")
            if not _isnan(n) and not any(_isnan(b) for b in c) and sum(c) != n:
                raise _bad(chunks, shape, f"dimension {i}'s blocks {c} add up to {sum(c)}, not {n}")
            out.append(c)
        elif isinstance(c, (int, np.integer, float)) and not isinstance(c, bool):
            if _isnan(n):
                out.append((n,))
                continue
            c = int(c)
            if c <= 0 and n > 0:
                raise _bad(chunks, shape, f"dimension {i} has block length {c}; block lengths must be positive")
            out.append(blockdims_from_blockshape((n,), (c,))[0] if n else (0,))
        else:
            raise _bad(chunks, shape, f"entry {c!r} for dimension {i} is not understood")
    return tuple(out)


def _isnan(x: Any) -> bool:
    return isinstance(x, float) and math.isnan(x)


def chunk_bounds(c: Sequence[int]) -> list:
    """``[0, c0, c0+c1, ..., n]``: block boundaries along one dimension."""
    return [0, *accumulate(c)]


def common_blockdim(blockdims: Sequence[tuple]) -> tuple:
    """The coarsest chunking along one dimension that refines every given chunking.

    Chunkings of a single block of length 1 (broadcast) are ignored.
    """
    real = [c for c in blockdims if not (len(c) == 1 and c[0] == 1)] or list(blockdims)
    real = list(dict.fromkeys(real))
    if len(real) == 1:
        return real[0]
    totals = {sum(c) for c in real}
    if len(totals) != 1:
        raise ValueError(f"cannot line up chunks {real}: the dimension lengths differ ({sorted(totals)})")
    cuts = sorted(set().union(*(set(chunk_bounds(c)) for c in real)))
    return tuple(b - a for a, b in zip(cuts[:-1], cuts[1:]))
