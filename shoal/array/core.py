"""The ``Array`` collection and ``blockwise``, the one way blocks are mapped.

An ``Array`` is a grid of numpy blocks.  Its graph holds one task per block,
keyed ``(name, i, j, ...)`` by block coordinates, in a ``LayeredGraph`` layer
named ``name``; a new array adds one layer and shares its parents' layers by
reference, so a pipeline of n operations builds in O(n) layers and merging
the graphs of several arrays at ``compute`` time is a union of dicts.

Block-mapping operations (``blockwise``, ``elemwise``, ``map_blocks``) live
in ``shoal.array.blockwise``; the numpy-style methods and operators are
bound onto the class in ``shoal.array._methods``.

Arrays run on the threads scheduler by default (numpy releases the GIL).
"""
from __future__ import annotations

import itertools
import math
import operator
import warnings
from typing import Any, Callable, Hashable

import numpy as np

from shoal.base import Collection
from shoal.core.graph import LayeredGraph
from shoal.core.task import Ref
from shoal.core.tokenize import register
from shoal.utils import new_name

from shoal.array.chunks import chunk_bounds, normalize_chunks

__all__ = ["Array", "new_name", "concatenate_blocks"]




class PerformanceWarning(Warning):
    """An operation that works but moves or copies more data than it needs to (e.g. a rechunk)."""


def _isnan(x: Any) -> bool:
    return isinstance(x, float) and math.isnan(x)


def concatenate_blocks(nested: Any, ndim: int) -> np.ndarray:
    """Assemble a nested list (depth ``ndim``) of blocks into one array.

    Preallocates the result and copies each block once (a recursive
    ``np.concatenate`` would copy the data ``ndim`` times).
    """
    if ndim == 0:
        return nested
    flat: list = []
    stack = [((), nested)]
    while stack:
        idx, node = stack.pop()
        if len(idx) == ndim:
            flat.append((idx, node))
        else:
            for i, sub in enumerate(node):
                stack.append((idx + (i,), sub))
    from shoal.array.blocktypes import concatenate_sparse, is_sparse

    if any(is_sparse(b) for _, b in flat):
        return concatenate_sparse(flat, ndim)
    if len(flat) == 1:
        out = np.asanyarray(flat[0][1])
        # a view (of the array given to from_array, or a read-only broadcast of zeros)
        # must not reach the user: writing to the result would change the source
        return out if out.flags.writeable and out.base is None else out.copy()
    sizes: list = [dict() for _ in range(ndim)]
    for idx, blk in flat:
        blk = np.asarray(blk)
        for d in range(ndim):
            sizes[d][idx[d]] = blk.shape[d] if blk.ndim == ndim else 1
    bounds = [chunk_bounds([s[i] for i in range(len(s))]) for s in sizes]
    dtypes = {np.asarray(b).dtype for _, b in flat}
    # one dtype kept exactly (structured views keep their field offsets, as numpy's)
    dtype = dtypes.pop() if len(dtypes) == 1 else np.result_type(*dtypes)
    shape = tuple(b[-1] for b in bounds)
    # masked blocks (from a numpy masked array) keep their masks in the result
    masked = any(isinstance(b, np.ma.MaskedArray) for _, b in flat)
    out = np.ma.masked_all(shape, dtype=dtype) if masked else np.empty(shape, dtype=dtype)
    if masked:
        out.mask = np.ma.getmaskarray(out) & False
        # the blocks' fill value (numpy.ma.set_fill_value, masked_array(fill_value=)) carries over
        out.fill_value = next(b for _, b in flat if isinstance(b, np.ma.MaskedArray)).fill_value
    for idx, blk in flat:
        out[tuple(slice(bounds[d][i], bounds[d][i + 1]) for d, i in enumerate(idx))] = blk
    return out


def _finalize(results: Any, ndim: int) -> Any:
    if ndim == 0:
        # a 0-d result comes back as a numpy scalar (np.int64(45)), as numpy's reductions give
        return results[()] if isinstance(results, np.ndarray) and results.ndim == 0 else results
    return concatenate_blocks(results, ndim)


def _rebuild_array(graph: dict, name: str, chunks: tuple, dtype: np.dtype) -> "Array":
    return Array(LayeredGraph({name: dict(graph)}), name, chunks, dtype)


class Array(Collection):
    """A lazy n-dimensional array made of numpy blocks.

    Build one with ``from_array``, ``random.normal``, ``zeros``, ...; combine
    with numpy syntax; run with ``.compute()`` (a numpy array) or
    ``.persist()`` (an Array backed by computed blocks).
    """

    __slots__ = ("_graph", "name", "_chunks", "_dtype", "__weakref__")
    __shoal_scheduler__ = "threads"
    __array_priority__ = 11  # numpy defers binary operators to us

    def __init__(self, graph: Any, name: str, chunks: Any, dtype: Any = None, shape: Any = None):
        if not isinstance(graph, LayeredGraph):  # a plain dict of this array's own nodes
            graph = LayeredGraph({name: graph})
        self._graph = graph
        self.name = name
        self._chunks = normalize_chunks(chunks, shape) if shape is not None else normalize_chunks(chunks)
        self._dtype = np.dtype(dtype if dtype is not None else float)

    # -- collection protocol --------------------------------------------------
    def __shoal_graph__(self) -> LayeredGraph:
        return self._graph

    def __shoal_keys__(self) -> Any:
        return self._keys()

    def _keys(self) -> Any:
        if self.ndim == 0:
            return (self.name,)
        name = self.name

        def build(prefix: tuple, d: int) -> list:
            if d == self.ndim - 1:
                return [(name, *prefix, i) for i in range(self.numblocks[d])]
            return [build(prefix + (i,), d + 1) for i in range(self.numblocks[d])]

        return build((), 0)

    def __shoal_postcompute__(self):
        return _finalize, (self.ndim,)

    def __shoal_postpersist__(self):
        return _rebuild_array, (self.name, self.chunks, self.dtype)

    def __shoal_tokenize__(self) -> Hashable:
        return ("Array", self.name, self.chunks, str(self.dtype))

    # -- metadata ---------------------------------------------------------------
    # (dask and graph, the task graph, come from Collection)
    @property
    def chunks(self) -> tuple:
        """Block lengths per dimension, e.g. ``((5000, 5000, 2000), (4000,))``; ``nan`` where unknown."""
        return self._chunks

    @chunks.setter
    def chunks(self, value: Any) -> None:
        raise TypeError(f"an Array's chunks cannot be set in place; make a new array with "
                        f"x = x.rechunk({value!r})")

    @property
    def dtype(self) -> np.dtype:
        return self._dtype

    @property
    def shape(self) -> tuple:
        return tuple(sum(c) if not any(_isnan(b) for b in c) else math.nan for c in self._chunks)

    @property
    def ndim(self) -> int:
        return len(self._chunks)

    @property
    def numblocks(self) -> tuple:
        """Number of blocks along each dimension."""
        return tuple(len(c) for c in self._chunks)

    @property
    def npartitions(self) -> int:
        """Total number of blocks (the product of ``numblocks``)."""
        return math.prod(self.numblocks)

    @property
    def chunksize(self) -> tuple:
        """The largest block length along each dimension."""
        return tuple(max(c) if c else 0 for c in self._chunks)

    @property
    def size(self) -> Any:
        return math.prod(self.shape)

    @property
    def itemsize(self) -> int:
        return self.dtype.itemsize

    @property
    def nbytes(self) -> Any:
        return self.size * self.itemsize

    def __len__(self) -> int:
        if not self.ndim:
            raise TypeError("len() of unsized object (a 0-d array)")
        n = self.shape[0]
        if _isnan(n):
            raise ValueError("cannot take len() on object with unknown chunk size (it came from a "
                             "boolean mask); call x.compute_chunk_sizes() first")
        return int(n)

    def __iter__(self):
        for i in range(len(self)):
            yield self[i]

    def __repr__(self) -> str:
        chunksize = self.chunksize
        return (f"shoal.array<{self.name.split('-')[0]}, shape={self.shape}, dtype={self.dtype}, "
                f"chunksize={chunksize}, chunktype=numpy.ndarray>")

    def _repr_html_(self) -> str:
        from shoal.array.display import array_html

        return array_html(self)

    def __reduce__(self):
        return (Array, (self._graph, self.name, self.chunks, self.dtype))

    # -- running ---------------------------------------------------------------
    # compute (a numpy array), persist and visualize come from Collection

    def to_delayed(self, optimize_graph: bool = True) -> np.ndarray:
        """An object-dtype numpy array of ``Delayed``, one per block."""
        from shoal.delayed import Delayed

        out = np.empty(self.numblocks, dtype=object)
        for idx in itertools.product(*map(range, self.numblocks)):
            out[idx] = Delayed((self.name, *idx), {}, (self,))
        return out

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        if copy is False:
            warnings.warn("Can't acquire a memory view of a shoal array: it is computed into a new "
                          "numpy array (np.asarray(x, copy=False) cannot be honoured)",
                          FutureWarning, stacklevel=2)
        x = np.asarray(self.compute())
        if dtype is not None and x.dtype != dtype:
            x = x.astype(dtype)
        elif self.npartitions == 1:
            # a single-block result may be the very buffer held in the graph: numpy's
            # caller may write to what it gets, so it gets its own copy
            x = x.copy()
        return x

    def __bool__(self) -> bool:
        if self.size != 1:
            raise ValueError(f"the truth value of an array with {self.size} elements is ambiguous; "
                             "use x.any() or x.all()")
        return bool(self.compute())

    def _scalar(self, kind: type) -> Any:
        if self.size != 1:
            raise TypeError(f"only arrays of one element can be converted to Python scalars "
                            f"({kind.__name__}); this one has {self.size}")
        return kind(np.asarray(self.compute()).reshape(()))

    def __int__(self) -> int:
        return self._scalar(int)

    def __float__(self) -> float:
        return self._scalar(float)

    def __complex__(self) -> complex:
        return self._scalar(complex)

    def __index__(self) -> int:
        return operator.index(self.compute())

    # -- numpy protocols ----------------------------------------------------------
    def __array_ufunc__(self, ufunc: np.ufunc, method: str, *inputs: Any, **kwargs: Any) -> Any:
        out = kwargs.pop("out", None)
        if out is not None:
            return NotImplemented
        if method == "__call__" and ufunc is np.matmul:
            from shoal.array.linalg import matmul

            return matmul(*inputs)
        if method == "__call__" and ufunc.signature is not None:
            return NotImplemented  # generalized ufuncs need whole cores, not blocks
        if method == "__call__":
            if ufunc.nout == 1:
                from shoal.array.blockwise import elemwise

                return elemwise(ufunc, *inputs, **kwargs)
            from shoal.array.ufunc import multi_output

            return multi_output(ufunc, *inputs, **kwargs)
        if method == "reduce":
            from shoal.array import reductions

            red = {np.add: reductions.sum, np.multiply: reductions.prod, np.minimum: reductions.min,
                   np.maximum: reductions.max, np.logical_and: reductions.all,
                   np.logical_or: reductions.any}.get(ufunc)
            if red is not None:
                return red(inputs[0], **kwargs)
        if method == "outer" and ufunc.nin == 2:
            from shoal.array.routines import ufunc_outer

            return ufunc_outer(ufunc, *inputs, **kwargs)
        return NotImplemented

    def __array_function__(self, func: Callable, types: tuple, args: tuple, kwargs: dict) -> Any:
        import shoal.array as da

        impl = _HANDLED.get(func)
        if impl is None:
            mod = getattr(func, "__module__", "") or ""
            if "linalg" in mod:
                impl = getattr(da.linalg, func.__name__, None)
            elif "fft" in mod:
                impl = getattr(da.fft, func.__name__, None)
            elif mod.startswith("numpy"):
                impl = getattr(da, func.__name__, None)
        if impl is None or impl is func:
            warnings.warn(
                f"numpy.{func.__name__} is not implemented by shoal.array, so the array is computed "
                "and numpy runs it in memory; use shoal.array.map_blocks to apply it per block lazily.",
                FutureWarning, stacklevel=2)
            conv = _materialize(args)
            kw = _materialize(kwargs)
            return func(*conv, **kw)
        return impl(*args, **kwargs)

    # -- conversions --------------------------------------------------------------
    def astype(self, dtype: Any, order: str = "K", casting: str = "unsafe", subok: bool = True,
               copy: bool = True) -> "Array":
        """The array cast to ``dtype`` block by block (numpy's ``astype``; ``casting`` is checked now)."""
        dtype = np.dtype(dtype)
        if dtype == self.dtype:
            return self
        if not np.can_cast(self.dtype, dtype, casting=casting):
            raise TypeError(f"cannot cast array data from {self.dtype} to {dtype} according to the "
                            f"rule {casting!r}")
        from shoal.array.blockwise import elemwise

        return elemwise(_astype, self, dtype=dtype, _extra_args=(dtype,))

    def copy(self) -> "Array":
        from shoal.array.blockwise import map_blocks

        return map_blocks(np.copy, self, dtype=self.dtype)

    def map_blocks(self, func: Callable, *args: Any, **kwargs: Any) -> "Array":
        """``shoal.array.map_blocks(func, self, *args, **kwargs)``: apply ``func`` to every block."""
        from shoal.array.blockwise import map_blocks

        return map_blocks(func, self, *args, **kwargs)

    def rechunk(self, chunks: Any = "auto", **kwargs: Any) -> "Array":
        """The same values in blocks of another shape (see ``shoal.array.rechunk``).

        ``chunks`` takes every form ``from_array`` does: a block shape
        ``(1000, 1000)``, ``{axis: length}`` for some axes, ``-1`` for a whole
        axis, ``'auto'``, or explicit block lengths ``((600, 400), (1000,))``.
        """
        from shoal.array.rechunk import rechunk

        return rechunk(self, chunks, **kwargs)

    def __getitem__(self, index: Any) -> "Array":
        from shoal.array.slicing import getitem

        return getitem(self, index)

    def __setitem__(self, key: Any, value: Any) -> None:
        """``x[key] = value``, lazily: ``x`` takes a new graph where only touched blocks change.

        Keys: ints, slices, Ellipsis, one 1-d integer or boolean index array,
        or a boolean shoal Array of ``x``'s shape with a scalar value
        (``x[x > 0] = 0``).  See ``shoal.array.setitem``.
        """
        from shoal.array.setitem import setitem

        new = setitem(self, key, value)
        self._graph, self.name, self._chunks, self._dtype = new._graph, new.name, new._chunks, new._dtype

    @property
    def blocks(self) -> "_BlockView":
        """``x.blocks[i, j]``: the array made of block (i, j) (slices allowed)."""
        return _BlockView(self)

    partitions = blocks

    @property
    def T(self) -> "Array":
        return self.transpose()

    @property
    def real(self) -> "Array":
        return np.real(self)

    @property
    def imag(self) -> "Array":
        return np.imag(self)

    def conj(self) -> "Array":
        return np.conj(self)


def _materialize(obj: Any) -> Any:
    if isinstance(obj, Array):
        return obj.compute()
    if isinstance(obj, (list, tuple)):
        return type(obj)(_materialize(o) for o in obj)
    if isinstance(obj, dict):
        return {k: _materialize(v) for k, v in obj.items()}
    return obj


def _np_size(a: Any, axis: Any = None) -> Any:
    return a.size if axis is None else a.shape[axis]


#: numpy functions answered from metadata alone (never computing the array)
_HANDLED: dict = {np.ndim: lambda a: a.ndim, np.shape: lambda a: a.shape, np.size: _np_size}


def _astype(x: np.ndarray, dtype: np.dtype) -> np.ndarray:
    return x.astype(dtype, copy=False)


@register(Array)
def _norm_array(x: Array) -> Any:
    return ("shoal.Array", x.name)


class _BlockView:
    def __init__(self, x: Array):
        self.x = x

    def __getitem__(self, index: Any) -> Array:
        x = self.x
        if not isinstance(index, tuple):
            index = (index,)
        index = index + (slice(None),) * (x.ndim - len(index))
        if len(index) != x.ndim:
            raise IndexError(f"x.blocks takes at most {x.ndim} indices, got {len(index)}")
        picks = []
        for i, n in zip(index, x.numblocks):
            if isinstance(i, (int, np.integer)):
                if not -n <= i < n:
                    raise IndexError(f"block index {i} out of range for {n} blocks")
                picks.append([int(i) % n])
            elif isinstance(i, slice):
                picks.append(list(range(n))[i])
            else:
                picks.append([int(j) % n for j in np.asarray(i).ravel()])
        name = new_name("blocks", x.name, index)
        layer = {}
        for new in itertools.product(*[range(len(p)) for p in picks]):
            old = tuple(p[j] for p, j in zip(picks, new))
            layer[(name, *new)] = Ref((x.name, *old))
        chunks = tuple(tuple(c[j] for j in p) for c, p in zip(x.chunks, picks))
        return Array(LayeredGraph.from_collections(name, layer, [x]), name, chunks, x.dtype)
