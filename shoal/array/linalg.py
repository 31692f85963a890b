"""Products (``tensordot``, ``matmul``/``@``, ``dot``, ``outer``, ``einsum``) and ``da.linalg``.

``da.linalg`` is this module: tall-and-skinny ``qr``/``svd`` (TSQR: every
row block factored on its own, then the stacked R factors once more),
``lstsq`` through it, ``norm`` from reductions, and ``solve``/``inv``/
``cholesky`` on the whole (small) matrix in one task.

``tensordot`` is one ``blockwise`` call: output block (i, k) receives the
row of ``a`` blocks and the column of ``b`` blocks joined along the
contracted axis and multiplies them with numpy (BLAS).  Contracted axes are
first cut at the same boundaries in both operands.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from shoal.array.blockwise import blockwise, as_array as _as
from shoal.array.core import Array

__all__ = ["tensordot", "matmul", "dot", "outer", "inner", "vdot", "einsum", "tsqr", "qr", "svd", "solve",
           "inv", "cholesky", "lstsq", "norm"]


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


# -- decompositions (``da.linalg.qr``, ``svd``, ``norm``, ...) ------------------------

def _qr_block(a: np.ndarray) -> tuple:
    return np.linalg.qr(a)


def _stack_r(parts: list) -> tuple:
    return np.linalg.qr(np.vstack([p[1] for p in parts]))


def _q_block(part: tuple, top: tuple, lo: int, hi: int) -> np.ndarray:
    return part[0] @ top[0][lo:hi]


def _r_of(top: tuple) -> np.ndarray:
    return top[1]


def tsqr(a: Any) -> tuple:
    """QR of a tall-and-skinny array (one block of columns), in one reduction step.

    Each row block is factored on its own; the stacked R factors are
    factored once more, and each Q block is its local Q times its slice of
    that second Q.
    """
    from shoal.core.graph import LayeredGraph
    from shoal.core.task import Ref, Task

    from shoal.utils import new_name

    a = _as(a)
    if a.ndim != 2:
        raise ValueError(f"qr needs a 2-d array, got {a.ndim}-d")
    if a.numblocks[1] != 1:
        raise ValueError("qr needs a single block of columns (a tall-and-skinny array); rechunk "
                         f"first: x.rechunk({{1: -1}}) (now {a.numblocks[1]} column blocks)")
    n = a.shape[1]
    name = new_name("qr", a.name)
    layer: dict = {}
    parts, offsets = [], []
    lo = 0
    for i, m in enumerate(a.chunks[0]):
        layer[(name + "-local", i)] = Task(_qr_block, Ref((a.name, i, 0)))
        parts.append(Ref((name + "-local", i)))
        k = min(m, n)
        offsets.append((lo, lo + k))
        lo += k
    top = name + "-top"
    layer[top] = Task(_stack_r, parts)
    kq = min(lo, n)
    for i, (s, e) in enumerate(offsets):
        layer[(name + "-q", i, 0)] = Task(_q_block, Ref((name + "-local", i)), Ref(top), s, e)
    layer[(name + "-r", 0, 0)] = Task(_r_of, Ref(top))
    graph = LayeredGraph.from_collections(name, layer, [a])
    dtype = np.linalg.qr(np.ones((2, 2), a.dtype))[0].dtype
    q = Array(graph, name + "-q", (a.chunks[0], (kq,)), dtype)
    r = Array(graph, name + "-r", ((kq,), (n,)), dtype)
    return q, r


def qr(a: Any) -> tuple:
    return tsqr(a)


def _svd_small(r: np.ndarray) -> tuple:
    return np.linalg.svd(r, full_matrices=False)


def _pick(t: tuple, i: int) -> np.ndarray:
    return t[i]


def svd(a: Any) -> tuple:
    """Thin SVD of a tall-and-skinny array: ``u, s, v`` with ``a = u @ diag(s) @ v``."""
    from shoal.core.graph import LayeredGraph
    from shoal.core.task import Ref, Task

    from shoal.utils import new_name

    q, r = tsqr(a)
    name = new_name("svd", r.name)
    k, n = r.shape
    layer = {name: Task(_svd_small, Ref((r.name, 0, 0))),
             (name + "-ur", 0, 0): Task(_pick, Ref(name), 0),
             (name + "-s", 0): Task(_pick, Ref(name), 1),
             (name + "-v", 0, 0): Task(_pick, Ref(name), 2)}
    graph = LayeredGraph.from_collections(name, layer, [r])
    kk = min(k, n)
    ur = Array(graph, name + "-ur", ((k,), (kk,)), r.dtype)
    s = Array(graph, name + "-s", ((kk,),), np.ones(1, r.dtype).real.dtype)
    v = Array(graph, name + "-v", ((kk,), (n,)), r.dtype)
    return matmul(q, ur), s, v


def _whole(a: Array) -> Array:
    return a.rechunk(tuple(-1 for _ in range(a.ndim)))


def solve(a: Any, b: Any) -> Array:
    """``numpy.linalg.solve`` on the whole (square) matrix in one task."""
    a, b = _whole(_as(a)), _whole(_as(b))
    return blockwise(np.linalg.solve, tuple(f"b{d}" for d in range(b.ndim)), a, ("a0", "a1"),
                     b, tuple(f"b{d}" for d in range(b.ndim)), dtype=np.result_type(a.dtype, b.dtype, float),
                     concatenate=True, align_arrays=False)


def inv(a: Any) -> Array:
    from shoal.array.blockwise import map_blocks

    return map_blocks(np.linalg.inv, _whole(_as(a)), dtype=np.result_type(_as(a).dtype, float))


def cholesky(a: Any, lower: bool = False) -> Array:
    from shoal.array.blockwise import map_blocks

    c = map_blocks(np.linalg.cholesky, _whole(_as(a)), dtype=np.result_type(_as(a).dtype, float))
    return c if lower else c.T


def _solve_r(r: np.ndarray, qtb: np.ndarray) -> np.ndarray:
    n = r.shape[1]
    if r.shape[0] < n or np.linalg.matrix_rank(r) < n:
        raise np.linalg.LinAlgError(
            "lstsq: the matrix does not have full column rank, where numpy returns its "
            "minimum-norm solution; use numpy.linalg.lstsq(a.compute(), b.compute()) instead")
    return np.linalg.solve(r, qtb)


def _rank(r: np.ndarray) -> np.ndarray:
    return np.asarray(np.linalg.matrix_rank(r))


def _singular_values(r: np.ndarray) -> np.ndarray:
    return np.linalg.svd(r, compute_uv=False)


def lstsq(a: Any, b: Any, rcond: Any = None) -> tuple:
    """Least squares ``(x, residuals, rank, s)`` as ``numpy.linalg.lstsq`` gives them.

    ``a`` must be tall and skinny (one block of columns) with full column
    rank: ``x`` solves ``r x = q.T b`` from the QR of ``a``; ``residuals`` are
    the squared 2-norms of ``b - a x`` per column of ``b`` (shape ``(1,)`` for a
    1-d ``b``), ``rank`` the rank of ``a`` and ``s`` its singular values.  A
    rank-deficient ``a`` raises ``LinAlgError`` at compute time (numpy would
    return a minimum-norm solution instead).
    """
    from shoal.array import reductions as red
    from shoal.array.blockwise import map_blocks

    a, b = _as(a), _as(b)
    if a.ndim != 2 or b.ndim not in (1, 2):
        raise ValueError(f"lstsq needs a 2-d a and a 1-d or 2-d b, got {a.ndim}-d and {b.ndim}-d")
    q, r = tsqr(a)
    qtb = _whole(matmul(q.T, b))
    dtype = np.result_type(a.dtype, b.dtype, float)
    from shoal.core.graph import LayeredGraph
    from shoal.core.task import Ref, Task
    from shoal.utils import new_name

    name = new_name("lstsq", r.name, qtb.name)
    key = (name,) + (0,) * b.ndim
    layer = {key: Task(_solve_r, Ref((r.name, 0, 0)), Ref((qtb.name,) + (0,) * b.ndim))}
    x = Array(LayeredGraph.from_collections(name, layer, [r, qtb]), name,
              ((a.shape[1],),) + qtb.chunks[1:], dtype)
    diff = b - matmul(a, x)
    residuals = red.sum(abs(diff) ** 2, axis=0)
    if b.ndim == 1:
        residuals = residuals.reshape((1,))
    rank = map_blocks(_rank, r, dtype=np.int64, drop_axis=[0, 1], chunks=())
    rank = rank.reshape(())
    s = map_blocks(_singular_values, r, dtype=np.ones(1, r.dtype).real.dtype, drop_axis=[1],
                   chunks=((min(r.shape),),))
    return x, residuals, rank, s


def norm(x: Any, ord: Any = None, axis: Any = None, keepdims: bool = False) -> Array:
    """Vector and matrix norms built from reductions (no whole-array step)."""
    from shoal.array import reductions as red

    x = _as(x)
    if axis is None and ord is None:
        return red.sum(abs(x) ** 2 if x.dtype.kind == "c" else x * x, keepdims=keepdims) ** 0.5
    if axis is None:
        axis = tuple(range(x.ndim))
    if isinstance(axis, (int, np.integer)) or (isinstance(axis, tuple) and len(axis) == 1):
        ax = axis if isinstance(axis, (int, np.integer)) else axis[0]
        if ord is None or ord == 2:
            return red.sum(abs(x) ** 2, axis=ax, keepdims=keepdims) ** 0.5
        if ord == np.inf:
            return red.max(abs(x), axis=ax, keepdims=keepdims)
        if ord == -np.inf:
            return red.min(abs(x), axis=ax, keepdims=keepdims)
        if ord == 0:
            return red.sum(x != 0, axis=ax, keepdims=keepdims).astype(float)
        if ord == 1:
            return red.sum(abs(x), axis=ax, keepdims=keepdims)
        return red.sum(abs(x) ** ord, axis=ax, keepdims=keepdims) ** (1.0 / ord)
    r0, r1 = axis
    if ord in (None, "fro"):
        return red.sum(abs(x) ** 2, axis=axis, keepdims=keepdims) ** 0.5
    if ord == 1:
        return red.max(red.sum(abs(x), axis=r0, keepdims=True), axis=r1, keepdims=True) if keepdims else \
            red.max(red.sum(abs(x), axis=r0), axis=r1 - (1 if r1 > r0 else 0))
    if ord == np.inf:
        return red.max(red.sum(abs(x), axis=r1, keepdims=True), axis=r0, keepdims=True) if keepdims else \
            red.max(red.sum(abs(x), axis=r1), axis=r0 - (1 if r0 > r1 else 0))
    raise NotImplementedError(f"norm ord={ord!r} over two axes; supported: None, 'fro', 1, inf")


def _svd_of(b: np.ndarray) -> tuple:
    return np.linalg.svd(b, full_matrices=False)


def svd_compressed(a: Any, k: int, iterator: str = "power", n_power_iter: int = 0, seed: Any = None,
                   compute: bool = False, coerce_signs: bool = True, n_oversamples: int = 10) -> tuple:
    """Randomized truncated SVD: ``u, s, v`` with the ``k`` largest singular values.

    A random (n, k + n_oversamples) projection ``a @ omega`` is
    orthonormalised by a tall-and-skinny QR (after ``n_power_iter`` rounds of
    ``a @ a.T`` to sharpen the spectrum), the small matrix ``q.T @ a`` is
    decomposed in one task, and ``u = q @ u_small``.  Approximate, like any
    randomized SVD; exact when ``k + n_oversamples`` reaches the rank.
    ``coerce_signs`` makes each column of ``u`` have a positive largest entry.
    """
    from shoal.array import random as _random
    from shoal.core.graph import LayeredGraph
    from shoal.core.task import Ref, Task
    from shoal.utils import new_name

    a = _as(a)
    if a.ndim != 2:
        raise ValueError("svd_compressed needs a 2-d array")
    if iterator not in ("power", "QR"):
        raise ValueError("iterator must be 'power' or 'QR'")
    m, n = a.shape
    width = min(k + n_oversamples, m, n)
    rng = _random.default_rng(seed)
    omega = rng.standard_normal(size=(n, width), chunks=(a.chunks[1], (width,)))
    y = matmul(a, omega).rechunk({1: -1})
    for _ in range(n_power_iter):
        q, _r = tsqr(y)
        z, _r = tsqr(matmul(a.T, q).rechunk({1: -1}))
        y = matmul(a, z).rechunk({1: -1})
    q, _r = tsqr(y)
    b = _whole(matmul(q.T, a))
    name = new_name("svd-compressed", b.name)
    layer = {name: Task(_svd_of, Ref((b.name, 0, 0))),
             (name + "-u", 0, 0): Task(_pick, Ref(name), 0),
             (name + "-s", 0): Task(_pick, Ref(name), 1),
             (name + "-v", 0, 0): Task(_pick, Ref(name), 2)}
    graph = LayeredGraph.from_collections(name, layer, [b])
    kk = min(width, n)
    ub = Array(graph, name + "-u", ((width,), (kk,)), b.dtype)
    s = Array(graph, name + "-s", ((kk,),), np.ones(1, b.dtype).real.dtype)
    v = Array(graph, name + "-v", ((kk,), (n,)), b.dtype)
    u = matmul(q, ub)
    u, s, v = u[:, :k], s[:k], v[:k]
    if coerce_signs:
        from shoal.array.blockwise import map_blocks

        signs = map_blocks(_column_signs, u.rechunk({0: -1}), dtype=u.dtype, chunks=((1,), u.chunks[1]))
        u = u * signs
        v = v * signs.T
    if compute:
        from shoal.base import compute as _compute

        u, s, v = _compute(u, s, v)
    return u, s, v


def _column_signs(u: np.ndarray) -> np.ndarray:
    big = np.argmax(np.abs(u), axis=0)
    sg = np.sign(u[big, np.arange(u.shape[1])])
    sg[sg == 0] = 1
    return sg[None, :]
