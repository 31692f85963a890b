"""Products: ``tensordot`` (the general one), ``matmul``/``@``, ``dot``, ``outer``, ``inner``.

``tensordot`` is one ``blockwise`` call: output block (i, k) receives the
row of ``a`` blocks and the column of ``b`` blocks joined along the
contracted axis and multiplies them with numpy (BLAS).  Contracted axes are
first cut at the same boundaries in both operands.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from shoal.array.blockwise import asanyarray_like, blockwise
from shoal.array.core import Array

__all__ = ["tensordot", "matmul", "dot", "outer", "inner", "vdot", "einsum"]


def _as(x: Any) -> Array:
    from shoal.array.creation import asarray

    x = asanyarray_like(x)
    return x if isinstance(x, Array) else asarray(x)


class _TensorDot:
    def __init__(self, axes: tuple):
        self.axes = axes

    def __call__(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        return np.tensordot(a, b, axes=self.axes)

    def __reduce__(self):
        return (_TensorDot, (self.axes,))

    def __shoal_tokenize__(self) -> Any:
        return ("tensordot", self.axes)


def tensordot(a: Any, b: Any, axes: Any = 2) -> Array:
    a, b = _as(a), _as(b)
    if isinstance(axes, (int, np.integer)):
        ax_a = tuple(range(a.ndim - int(axes), a.ndim))
        ax_b = tuple(range(int(axes)))
    else:
        ax_a, ax_b = axes
        ax_a = tuple(np.atleast_1d(ax_a) % a.ndim) if a.ndim else ()
        ax_b = tuple(np.atleast_1d(ax_b) % b.ndim) if b.ndim else ()
    ax_a = tuple(int(i) for i in ax_a)
    ax_b = tuple(int(i) for i in ax_b)
    if len(ax_a) != len(ax_b):
        raise ValueError(f"tensordot axes {ax_a} and {ax_b} must have the same length")
    for i, j in zip(ax_a, ax_b):
        if a.shape[i] != b.shape[j]:
            raise ValueError(f"shape mismatch for sum: a's axis {i} has length {a.shape[i]} but b's "
                             f"axis {j} has length {b.shape[j]}")
    ia = [f"a{d}" for d in range(a.ndim)]
    ib = [f"b{d}" for d in range(b.ndim)]
    for n, (i, j) in enumerate(zip(ax_a, ax_b)):
        ia[i] = ib[j] = f"c{n}"
    out = [i for i in ia if not i.startswith("c")] + [i for i in ib if not i.startswith("c")]
    dtype = np.result_type(a.dtype, b.dtype)
    return blockwise(_TensorDot((ax_a, ax_b)), out, a, ia, b, ib, dtype=dtype, concatenate=True,
                     token="tensordot")


def _matmul_block(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.matmul(a, b)


def matmul(a: Any, b: Any) -> Array:
    a, b = _as(a), _as(b)
    if a.ndim == 0 or b.ndim == 0:
        raise ValueError("matmul: input operands must be at least 1-d; use * for scalars")
    if a.ndim == 1 and b.ndim == 1:
        return tensordot(a, b, axes=1)
    if a.ndim == 1:
        return matmul(a[None, :], b)[..., 0, :]
    if b.ndim == 1:
        return matmul(a, b[:, None])[..., 0]
    if a.shape[-1] != b.shape[-2]:
        raise ValueError(f"matmul: shapes {a.shape} and {b.shape} are not aligned: {a.shape[-1]} "
                         f"(last axis of a) != {b.shape[-2]} (second-to-last axis of b)")
    if a.ndim == 2 and b.ndim == 2:
        return tensordot(a, b, axes=((1,), (0,)))
    nd = max(a.ndim, b.ndim)
    batch = [f"n{d}" for d in range(nd - 2)]
    ia = tuple(batch[nd - a.ndim:]) + ("i", "k")
    ib = tuple(batch[nd - b.ndim:]) + ("k", "j")
    return blockwise(_matmul_block, tuple(batch) + ("i", "j"), a, ia, b, ib,
                     dtype=np.result_type(a.dtype, b.dtype), concatenate=True, token="matmul")


def dot(a: Any, b: Any) -> Array:
    a, b = _as(a), _as(b)
    if a.ndim == 0 or b.ndim == 0:
        return a * b
    if b.ndim == 1:
        return tensordot(a, b, axes=((a.ndim - 1,), (0,)))
    return tensordot(a, b, axes=((a.ndim - 1,), (b.ndim - 2,)))


def inner(a: Any, b: Any) -> Array:
    a, b = _as(a), _as(b)
    return tensordot(a, b, axes=((a.ndim - 1,), (b.ndim - 1,)))


def vdot(a: Any, b: Any) -> Array:
    from shoal.array.routines import ravel

    return dot(ravel(_as(a)).conj(), ravel(_as(b)))


def outer(a: Any, b: Any) -> Array:
    from shoal.array.routines import ravel

    a, b = ravel(_as(a)), ravel(_as(b))
    return blockwise(np.outer, "ij", a, "i", b, "j", dtype=np.result_type(a.dtype, b.dtype))


class _Einsum:
    def __init__(self, subscripts: str):
        self.subscripts = subscripts

    def __call__(self, *blocks: np.ndarray) -> np.ndarray:
        return np.einsum(self.subscripts, *blocks)

    def __reduce__(self):
        return (_Einsum, (self.subscripts,))

    def __shoal_tokenize__(self) -> Any:
        return ("einsum", self.subscripts)


def einsum(subscripts: str, *operands: Any, dtype: Any = None, **kwargs: Any) -> Array:
    """``numpy.einsum`` block by block: contracted letters are joined, the rest map to blocks.

    Explicit (``'ij,jk->ik'``) and implicit (``'ij,jk'``) forms; an index
    repeated inside one operand (a diagonal, ``'ii'``) and ``...`` are not
    supported.
    """
    ops = [_as(o) for o in operands]
    spec = subscripts.replace(" ", "")
    if "..." in spec:
        raise NotImplementedError("einsum with '...' is not supported; write every index letter")
    if "->" in spec:
        ins, out = spec.split("->")
    else:
        ins = spec
        letters = ins.replace(",", "")
        out = "".join(sorted(ch for ch in set(letters) if letters.count(ch) == 1))
    in_list = ins.split(",")
    if len(in_list) != len(ops):
        raise ValueError(f"einsum subscripts name {len(in_list)} operands but {len(ops)} were given")
    for s, o in zip(in_list, ops):
        if len(s) != o.ndim:
            raise ValueError(f"einsum operand with subscripts {s!r} has {o.ndim} dimensions")
        if len(set(s)) != len(s):
            raise NotImplementedError(f"einsum with a repeated index inside one operand ({s!r})")
    pairs: list = []
    for s, o in zip(in_list, ops):
        pairs += [o, tuple(s)]
    dtype = dtype or np.result_type(*[o.dtype for o in ops])
    return blockwise(_Einsum(f"{','.join(in_list)}->{out}"), tuple(out), *pairs, dtype=dtype,
                     concatenate=True, token="einsum")
