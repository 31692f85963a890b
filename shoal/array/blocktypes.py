"""What kind of object a block is, and how blocks of that kind are copied and joined.

Blocks are numpy arrays by default, but any array-like with ``shape``,
``dtype`` and ``__getitem__`` may be a block: numpy masked arrays and
scipy.sparse matrices/arrays are recognised here.  scipy is imported only
when a block already is a scipy object, so it stays an optional dependency.
"""
from __future__ import annotations

import functools
from typing import Any

import numpy as np

__all__ = ["is_sparse", "as_block", "copy_block", "concatenate_sparse", "block_type", "gather_sparse", "convert_like", "combine_partials"]


def is_sparse(x: Any) -> bool:
    """Whether ``x`` is a scipy.sparse matrix or array (checked without importing scipy)."""
    return type(x).__module__.startswith("scipy.sparse") and hasattr(x, "tocoo")


def as_block(x: Any) -> Any:
    """``x`` as a block: numpy arrays (masked too) and sparse blocks as they are, else ``np.asarray``."""
    if isinstance(x, np.ndarray) or is_sparse(x):
        return x
    return np.asarray(x)


def block_type(x: Any) -> type:
    """The class blocks taken from ``x`` have (``np.ndarray`` unless ``x`` is sparse or masked)."""
    if is_sparse(x) or isinstance(x, np.ma.MaskedArray):
        return type(x)
    return np.ndarray


def copy_block(block: Any, dtype: np.dtype) -> Any:
    """A writable copy of ``block`` with ``dtype``, of the same block type."""
    if is_sparse(block):
        return block.astype(dtype, copy=True)
    return np.array(block, dtype=dtype, copy=True, subok=True)


def concatenate_sparse(flat: list, ndim: int) -> Any:
    """Join ``(index, block)`` pairs holding at least one scipy.sparse block into one sparse result.

    The result has the format and container (``spmatrix`` or ``sparray``)
    of the first sparse block; dense blocks in between are converted.
    """
    import scipy.sparse as sp

    first = next(b for _, b in flat if is_sparse(b))
    if len(flat) == 1:
        return first
    if ndim == 1:
        # 1-d sparse arrays (scipy >= 1.15) are joined as one 1 x n row; sparse matrices,
        # which are always 2-d, stay a 1 x n matrix as scipy gives for m[i, :]
        row = [((0, i), b.reshape((1, -1)) if is_sparse(b) else np.asarray(b).reshape((1, -1)))
               for (i,), b in flat]
        out = concatenate_sparse(row, 2)
        return out.reshape((-1,)) if isinstance(first, sp.sparray) else out
    if ndim != 2:
        raise NotImplementedError(f"joining scipy.sparse blocks into a {ndim}-d result: scipy.sparse "
                                  "holds 2-d data only; use map_blocks(lambda b: b.toarray()) first")
    rows = 1 + max(i[0] for i, _ in flat)
    cols = 1 + max(i[1] for i, _ in flat)
    grid: list = [[None] * cols for _ in range(rows)]
    for (i, j), b in flat:
        grid[i][j] = b if is_sparse(b) else type(first)(np.atleast_2d(np.asarray(b)))
    out = sp.bmat(grid)
    out = out.asformat(first.format)
    if isinstance(first, sp.spmatrix) != isinstance(out, sp.spmatrix):
        out = type(first)(out)
    return out


def gather_sparse(parts: list, positions: list, axis: int) -> Any:
    """Join sparse ``parts`` along ``axis`` so that ``parts[k]`` lands at ``positions[k]``."""
    ndim = parts[0].ndim
    flat = [((0,) * axis + (k,) + (0,) * (ndim - axis - 1), p) for k, p in enumerate(parts)]
    joined = concatenate_sparse(flat, ndim)
    pos = np.concatenate([np.arange(p.shape[axis]) if q is None else np.asarray(q)
                          for p, q in zip(parts, positions)])
    if np.array_equal(pos, np.arange(pos.size)):
        return joined
    order = np.argsort(pos, kind="stable")
    return joined[(slice(None),) * axis + (order,)]


def convert_like(block: Any, proto: Any) -> Any:
    """``block`` converted to the block type of ``proto`` (sparse, masked or numpy)."""
    if is_sparse(proto):
        return block if type(block) is type(proto) else type(proto)(block)
    if isinstance(proto, np.ma.MaskedArray):
        return np.ma.asarray(block)
    return as_block(block)


def combine_partials(op: Any, parts: list) -> Any:
    """Fold reduction partials with the binary ufunc ``op``.

    Masked partials fold with ``numpy.ma``'s reduce, which skips masked
    entries (a slice is masked only when masked in every partial); plain
    ``op`` would mask a slice masked in any one block.
    """
    if len(parts) > 1 and any(isinstance(p, np.ma.MaskedArray) for p in parts):
        ma_op = getattr(np.ma, getattr(op, "__name__", ""), None)
        if isinstance(ma_op, (np.ma.core._MaskedBinaryOperation, np.ma.core._extrema_operation)):
            shape = np.broadcast_shapes(*[np.shape(p) for p in parts])
            stacked = np.ma.stack([np.ma.masked_array(np.broadcast_to(np.ma.getdata(p), shape),
                                                      mask=np.broadcast_to(np.ma.getmaskarray(p), shape))
                                   for p in parts])
            return ma_op.reduce(stacked, axis=0)
    return functools.reduce(op, parts)
