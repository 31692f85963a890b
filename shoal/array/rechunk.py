"""``rechunk``: change an array's block boundaries.

Each output block is one task that copies, into a fresh array of its own
shape, the pieces of the input blocks it overlaps.  No task ever holds more
than one output block plus the input blocks it reads, so memory per task is
bounded by the larger of the two block sizes.

When input and output are cut along different axes (rows to columns), every
output block reads from many input blocks and the graph grows as
``in_blocks x out_blocks``.  Past a limit the rechunk goes through an
intermediate chunking whose block lengths are, per axis, the geometric mean
of the old and new ones: two stages of ``sqrt``-sized fan-in instead of one
huge one, with intermediate blocks no larger than the old or new ones.
"""
from __future__ import annotations

import itertools
import math
from typing import Any

import numpy as np

from shoal.core.graph import LayeredGraph
from shoal.core.task import Ref, Task

from shoal.array.chunks import chunk_bounds, normalize_chunks
from shoal.array.core import Array
from shoal.utils import new_name

__all__ = ["rechunk", "intersect_chunks"]

#: Above this many block-to-block pieces (and 8x the block count) a rechunk
#: goes through an intermediate chunking to keep the graph small.
PIECES_LIMIT = 20_000


def intersect_chunks(old: tuple, new: tuple) -> list:
    """Per new block along one axis: ``[(old block, slice in old block), ...]``."""
    ob = chunk_bounds(old)
    nb = chunk_bounds(new)
    out = []
    j = 0
    for k in range(len(new)):
        lo, hi = nb[k], nb[k + 1]
        pieces = []
        while j < len(old) and ob[j + 1] <= lo and old[j] != 0:
            j += 1
        i = j
        while i < len(old) and ob[i] < hi:
            a, b = max(lo, ob[i]), min(hi, ob[i + 1])
            if b > a:
                pieces.append((i, slice(a - ob[i], b - ob[i])))
            i += 1
        if not pieces:  # zero-length block
            pieces.append((min(j, len(old) - 1), slice(0, 0)))
        out.append(pieces)
    return out


def _assemble(blocks: list, src: list, dst: list, shape: tuple, dtype: np.dtype) -> np.ndarray:
    out = np.empty(shape, dtype=dtype)
    for b, s, d in zip(blocks, src, dst):
        out[d] = b[s]
    return out


def _slice_block(b: np.ndarray, s: tuple) -> np.ndarray:
    return b[s]


def _plan(old: tuple, new: tuple) -> int:
    per_axis = [intersect_chunks(o, n) for o, n in zip(old, new)]
    return math.prod(sum(len(p) for p in ax) for ax in per_axis)


def _intermediate(old: tuple, new: tuple) -> tuple:
    chunks = []
    for o, n in zip(old, new):
        size = sum(o)
        mo = max(sum(o) / max(len(o), 1), 1)
        mn = max(sum(n) / max(len(n), 1), 1)
        b = max(int(round(math.sqrt(mo * mn))), 1)
        chunks.append(normalize_chunks((b,), (size,))[0] if size else (0,))
    return tuple(chunks)


def rechunk(x: Array, chunks: Any = "auto", threshold: Any = None, block_size_limit: Any = None,
            balance: bool = False, method: Any = None) -> Array:
    """The same array with new block boundaries (any form ``normalize_chunks`` accepts)."""
    if isinstance(chunks, dict):
        chunks = tuple(chunks.get(d, chunks.get(d - x.ndim, x.chunks[d])) for d in range(x.ndim))
    if isinstance(chunks, tuple) and len(chunks) == x.ndim:
        # per-dimension: None/-1 keep or span, 'auto' resolved below
        chunks = tuple(x.chunks[d] if c is None else c for d, c in enumerate(chunks))
    if any(isinstance(s, float) and math.isnan(s) for s in x.shape):
        raise ValueError("cannot rechunk an array whose block lengths are unknown; "
                         "call x.compute_chunk_sizes() first")
    new = normalize_chunks(chunks, x.shape, dtype=x.dtype, limit=block_size_limit)
    if new == x.chunks:
        return x
    if len(new) != x.ndim:
        raise ValueError(f"rechunk to {len(new)} dimensions given for a {x.ndim}-d array")
    nblocks = max(math.prod(x.numblocks), math.prod(len(c) for c in new))
    if _plan(x.chunks, new) > max(PIECES_LIMIT, 8 * nblocks):
        mid = _intermediate(x.chunks, new)
        if mid != x.chunks and mid != new and _plan(x.chunks, mid) < _plan(x.chunks, new):
            return _rechunk_direct(_rechunk_direct(x, mid), new)
    return _rechunk_direct(x, new)


def _rechunk_direct(x: Array, new: tuple) -> Array:
    name = new_name("rechunk", x.name, new)
    per_axis = [intersect_chunks(o, n) for o, n in zip(x.chunks, new)]
    layer: dict = {}
    for out_idx in itertools.product(*[range(len(c)) for c in new]):
        choices = [per_axis[d][k] for d, k in enumerate(out_idx)]
        shape = tuple(new[d][k] for d, k in enumerate(out_idx))
        if all(len(c) == 1 for c in choices):
            src_idx = tuple(c[0][0] for c in choices)
            sl = tuple(c[0][1] for c in choices)
            full = all(s.start == 0 and s.stop == x.chunks[d][src_idx[d]] for d, s in enumerate(sl))
            layer[(name, *out_idx)] = Ref((x.name, *src_idx)) if full else \
                Task(_slice_block, Ref((x.name, *src_idx)), sl)
            continue
        blocks, src, dst = [], [], []
        for combo in itertools.product(*choices):
            blocks.append(Ref((x.name, *[c[0] for c in combo])))
            src.append(tuple(c[1] for c in combo))
            # destination offsets: cumulative lengths of earlier pieces along each axis
            d_sl = []
            for d, c in enumerate(combo):
                pos = 0
                for piece in choices[d]:
                    if piece is c:
                        break
                    pos += piece[1].stop - piece[1].start
                d_sl.append(slice(pos, pos + c[1].stop - c[1].start))
            dst.append(tuple(d_sl))
        layer[(name, *out_idx)] = Task(_assemble, blocks, src, dst, shape, x.dtype)
    return Array(LayeredGraph.from_collections(name, layer, [x]), name, new, x.dtype)
