"""Binds the numpy-style methods (``x.sum()``, ``x.reshape()``, ...) onto ``Array``.

Kept apart from ``core`` so the Array class does not import every module
that implements its methods.
"""
from __future__ import annotations

from typing import Any, Callable

from shoal.array import linalg, reductions, routines
from shoal.array.overlap import map_overlap as _map_overlap_func
import numpy as np

from shoal.array.blockwise import elemwise
from shoal.array.core import Array

_REDUCTIONS = ["sum", "prod", "mean", "var", "std", "min", "max", "any", "all", "argmin", "argmax",
               "nansum", "nanprod", "nanmean", "nanvar", "nanstd", "nanmin", "nanmax", "cumsum",
               "cumprod", "ptp", "moment"]


def _bind(func: Any) -> Any:
    def method(self: Array, *args: Any, **kwargs: Any) -> Any:
        return func(self, *args, **kwargs)

    method.__name__ = func.__name__
    method.__doc__ = func.__doc__
    return method


for _n in _REDUCTIONS:
    setattr(Array, _n, _bind(getattr(reductions, _n)))

for _n in ["squeeze", "ravel", "swapaxes", "clip", "round", "trace"]:
    setattr(Array, _n, _bind(getattr(routines, _n)))

Array.flatten = _bind(routines.ravel)
Array.dot = _bind(linalg.dot)
Array.__round__ = lambda self, ndigits=0: routines.round(self, ndigits)


def _transpose(self: Array, *axes: Any) -> Array:
    if len(axes) == 1 and (axes[0] is None or isinstance(axes[0], (tuple, list))):
        axes = axes[0]
    return routines.transpose(self, axes or None)


def _reshape(self: Array, *shape: Any, **kw: Any) -> Array:
    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        shape = shape[0]
    return routines.reshape(self, shape, **kw)


def _map_overlap(self: Array, func: Any, depth: Any, boundary: Any = None, trim: bool = True, **kw: Any) -> Array:
    """Apply ``func`` to blocks extended by ``depth`` neighbouring cells (see ``shoal.array.map_overlap``)."""
    return _map_overlap_func(func, self, depth=depth, boundary=boundary, trim=trim, **kw)


def _store(self: Array, target: Any, **kw: Any) -> Any:
    """Write the blocks into ``target`` (anything with numpy-style ``__setitem__``); see ``shoal.array.store``."""
    from shoal.array.io import store

    return store(self, target, **kw)


def _to_npy_stack(self: Array, dirname: str, axis: int = 0) -> None:
    """Write one ``.npy`` file per block along ``axis`` into ``dirname`` (read back with from_npy_stack)."""
    from shoal.array.io import to_npy_stack

    to_npy_stack(dirname, self, axis)


def _compute_chunk_sizes(self: Array) -> Array:
    """Fill in unknown (nan) block lengths by computing the blocks' shapes."""
    import numpy as np

    from shoal.array.blockwise import map_blocks
    from shoal.base import compute

    shapes = map_blocks(lambda b: np.array(b.shape, dtype=np.int64)[(None,) * (b.ndim - 1)],
                        self, dtype=np.int64, chunks=tuple((1,) * n if d < self.ndim - 1 else (self.ndim,) * n
                                                          for d, n in enumerate(self.numblocks)))
    import itertools

    blocks = compute(*[shapes.blocks[idx] for idx in itertools.product(*map(range, self.numblocks))])
    chunks = [[None] * n for n in self.numblocks]
    for idx, s in zip(itertools.product(*map(range, self.numblocks)), blocks):
        s = np.asarray(s).ravel()
        for d, i in enumerate(idx):
            chunks[d][i] = int(s[d])
    self._chunks = tuple(tuple(c) for c in chunks)
    return self


def _vindex(self: Array) -> Any:
    """Point-wise indexing: ``x.vindex[[0, 2], [1, 3]]`` is ``[x[0, 1], x[2, 3]]``."""
    from shoal.array.slicing import VIndex

    return VIndex(self)


def _topk(self: Array, k: int, axis: int = -1, split_every: Any = None) -> Array:
    """The ``k`` largest values along ``axis``, largest first (``k < 0``: the smallest)."""
    from shoal.array.order_stats import topk

    return topk(self, k, axis)


def _argtopk(self: Array, k: int, axis: int = -1, split_every: Any = None) -> Array:
    """Indices of the ``k`` largest values along ``axis`` (``k < 0``: the smallest)."""
    from shoal.array.order_stats import argtopk

    return argtopk(self, k, axis)


def _nonzero(self: Array) -> tuple:
    from shoal.array.counting import nonzero

    return nonzero(self)


def _repeat(self: Array, repeats: int, axis: Any = None) -> Array:
    from shoal.array.arrange import repeat

    return repeat(self, repeats, axis)


Array.vindex = property(_vindex)
Array.topk = _topk
Array.argtopk = _argtopk
Array.nonzero = _nonzero
Array.repeat = _repeat
Array.transpose = _transpose
Array.reshape = _reshape
Array.map_overlap = _map_overlap
Array.store = _store
Array.to_npy_stack = _to_npy_stack
Array.compute_chunk_sizes = _compute_chunk_sizes


# ---------------------------------------------------------------------------
# operators (defined in loops: each is elemwise with a numpy ufunc)
# ---------------------------------------------------------------------------

def _binop(ufunc: Callable, reflected: bool = False) -> Callable:
    if reflected:
        def method(self: Array, other: Any) -> Any:
            if _defer(other):
                return NotImplemented
            return elemwise(ufunc, other, self)
    else:
        def method(self: Array, other: Any) -> Any:
            if _defer(other):
                return NotImplemented
            return elemwise(ufunc, self, other)
    return method


def _defer(other: Any) -> bool:
    """Let other lazy collections (e.g. a dataframe) handle mixed operators."""
    return hasattr(type(other), "__shoal_graph__") and not isinstance(other, Array) \
        and type(other).__name__ != "Delayed"


_BINOPS = {
    "add": np.add, "sub": np.subtract, "mul": np.multiply, "truediv": np.true_divide,
    "floordiv": np.floor_divide, "mod": np.mod, "pow": np.power, "matmul": None,
    "and": np.bitwise_and, "or": np.bitwise_or, "xor": np.bitwise_xor,
    "lshift": np.left_shift, "rshift": np.right_shift, "divmod": None,
}
for _n, _u in _BINOPS.items():
    if _u is None:
        continue
    setattr(Array, f"__{_n}__", _binop(_u))
    setattr(Array, f"__r{_n}__", _binop(_u, reflected=True))
for _n, _u in {"eq": np.equal, "ne": np.not_equal, "lt": np.less, "le": np.less_equal,
               "gt": np.greater, "ge": np.greater_equal}.items():
    setattr(Array, f"__{_n}__", _binop(_u))
Array.__hash__ = object.__hash__  # __eq__ is elementwise, identity hashing stays
for _n, _u in {"neg": np.negative, "pos": np.positive, "abs": np.absolute, "invert": np.invert}.items():
    setattr(Array, f"__{_n}__", (lambda u: lambda self: elemwise(u, self))(_u))


def _matmul(self: Array, other: Any) -> Array:
    from shoal.array.linalg import matmul

    return matmul(self, other)


def _rmatmul(self: Array, other: Any) -> Array:
    from shoal.array.linalg import matmul

    return matmul(other, self)


Array.__matmul__ = _matmul
Array.__rmatmul__ = _rmatmul


# ---------------------------------------------------------------------------
# views, conversion to a dataframe, and a clear error for other ndarray names
# ---------------------------------------------------------------------------

class _View:
    def __init__(self, dtype: Any):
        self.dtype = dtype

    def __call__(self, b: Any) -> Any:
        return np.ascontiguousarray(b).view(self.dtype)

    def __reduce__(self):
        return (_View, (self.dtype,))

    def __shoal_tokenize__(self) -> Any:
        return ("view", str(self.dtype))


def _view(self: Array, dtype: Any = None, order: str = "C") -> Array:
    """The same bytes read as another dtype (``ndarray.view``), block by block.

    With a different item size the last axis is rescaled, so each of its
    blocks must hold a whole number of new items.
    """
    if dtype is None:
        return self
    dtype = np.dtype(dtype)
    if order != "C":
        raise NotImplementedError("view(order='F') is not supported; transpose, view, transpose back")
    old, new = self.dtype.itemsize, dtype.itemsize
    if old == new:
        return elemwise(_View(dtype), self, dtype=dtype)
    if self.ndim == 0:
        raise ValueError("changing the item size of a 0-d array's view is not possible")
    from shoal.array.blockwise import map_blocks

    last = self.chunks[-1]
    if any((c * old) % new for c in last):
        raise ValueError(f"view as {dtype}: the blocks of the last axis {last} do not hold whole "
                         f"{new}-byte items; rechunk the last axis first")
    chunks = self.chunks[:-1] + (tuple(c * old // new for c in last),)
    return map_blocks(_View(dtype), self, dtype=dtype, chunks=chunks)


def _to_dask_dataframe(self: Array, columns: Any = None, index: Any = None, meta: Any = None) -> Any:
    """A shoal dataframe (2-d array) or series (1-d) with these blocks as partitions."""
    from shoal.dataframe.convert_array import from_dask_array

    return from_dask_array(self, columns=columns, index=index, meta=meta)


_NDARRAY_NAMES = frozenset(n for n in dir(np.ndarray) if not n.startswith("_"))


def _array_getattr(self: Array, name: str) -> Any:
    from shoal.array.aliases import unsupported

    if name in _NDARRAY_NAMES:
        raise unsupported(name, where="shoal.array.Array")
    raise AttributeError(f"'Array' object has no attribute {name!r}")


Array.view = _view
Array.to_dask_dataframe = _to_dask_dataframe
Array.__getattr__ = _array_getattr
