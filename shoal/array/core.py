"""The ``Array`` collection and ``blockwise``, the one way blocks are mapped.

An ``Array`` is a grid of numpy blocks.  Its graph holds one task per block,
keyed ``(name, i, j, ...)`` by block coordinates, in a ``LayeredGraph`` layer
named ``name``; a new array adds one layer and shares its parents' layers by
reference, so a pipeline of n operations builds in O(n) layers and merging
the graphs of several arrays at ``compute`` time is a union of dicts.

``blockwise(func, out_ind, x, ind_x, y, ind_y, ...)`` is the general
block-mapping primitive (Einstein-style indices): elementwise arithmetic,
``map_blocks``, ``tensordot`` and the chunk step of reductions are all built
on it.  Block-level broadcasting follows numpy: an input with a single block
along an index is reused for every output block along it.

Arrays run on the threads scheduler by default (numpy releases the GIL).
"""
from __future__ import annotations

import itertools
import math
import operator
import uuid
import warnings
from numbers import Number
from typing import Any, Callable, Hashable, Sequence

import numpy as np

from shoal.base import compute as _compute
from shoal.base import persist as _persist
from shoal.base import visualize as _visualize
from shoal.core.graph import LayeredGraph
from shoal.core.task import Ref, Task
from shoal.core.tokenize import normalize_token, register, tokenize

from shoal.array.chunks import chunk_bounds, common_blockdim, normalize_chunks

__all__ = ["Array", "blockwise", "elemwise", "map_blocks", "asanyarray_like", "new_name", "concatenate_blocks"]


def new_name(prefix: str, *args: Any, **kwargs: Any) -> str:
    """``prefix-<token>``: deterministic from ``args`` when given, else unique."""
    if args or kwargs:
        return f"{prefix}-{tokenize(*args, **kwargs)}"
    return f"{prefix}-{uuid.uuid4().hex}"


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
    if len(flat) == 1:
        return np.asarray(flat[0][1])
    sizes: list = [dict() for _ in range(ndim)]
    for idx, blk in flat:
        blk = np.asarray(blk)
        for d in range(ndim):
            sizes[d][idx[d]] = blk.shape[d] if blk.ndim == ndim else 1
    bounds = [chunk_bounds([s[i] for i in range(len(s))]) for s in sizes]
    dtype = np.result_type(*[np.asarray(b).dtype for _, b in flat])
    out = np.empty(tuple(b[-1] for b in bounds), dtype=dtype)
    for idx, blk in flat:
        out[tuple(slice(bounds[d][i], bounds[d][i + 1]) for d, i in enumerate(idx))] = blk
    return out


def _finalize(results: Any, ndim: int) -> np.ndarray:
    return concatenate_blocks(results, ndim)


def _rebuild_array(graph: dict, name: str, chunks: tuple, dtype: np.dtype) -> "Array":
    return Array(LayeredGraph({name: dict(graph)}), name, chunks, dtype)


class Array:
    """A lazy n-dimensional array made of numpy blocks.

    Build one with ``from_array``, ``random.normal``, ``zeros``, ...; combine
    with numpy syntax; run with ``.compute()`` (a numpy array) or
    ``.persist()`` (an Array backed by computed blocks).
    """

    __slots__ = ("_graph", "name", "_chunks", "_dtype", "__weakref__")
    __shoal_scheduler__ = "threads"
    __array_priority__ = 11  # numpy defers binary operators to us

    def __init__(self, graph: Any, name: str, chunks: Any, dtype: Any = None, shape: Any = None):
        if not isinstance(graph, LayeredGraph):
            graph = LayeredGraph({name: graph}) if not isinstance(graph, LayeredGraph) else graph
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
    @property
    def dask(self) -> LayeredGraph:
        return self._graph

    graph = dask

    @property
    def chunks(self) -> tuple:
        return self._chunks

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
        return tuple(len(c) for c in self._chunks)

    @property
    def npartitions(self) -> int:
        return math.prod(self.numblocks)

    @property
    def chunksize(self) -> tuple:
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
            raise TypeError("len() of a 0-d array")
        n = self.shape[0]
        if _isnan(n):
            raise TypeError("this array's length is unknown (it came from a boolean mask); "
                            "call x.compute_chunk_sizes() first")
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
    def compute(self, **kwargs: Any) -> np.ndarray:
        """Run the graph and return a numpy array."""
        return _compute(self, **kwargs)[0]

    def persist(self, **kwargs: Any) -> "Array":
        """Compute the blocks and return an Array backed by them."""
        return _persist(self, **kwargs)[0]

    def visualize(self, filename: str | None = "mydask", format: str | None = None, **kwargs: Any) -> Any:
        return _visualize(self, filename=filename, format=format, **kwargs)

    def to_delayed(self, optimize_graph: bool = True) -> np.ndarray:
        """An object-dtype numpy array of ``Delayed``, one per block."""
        from shoal.delayed import Delayed

        graph = self._graph
        out = np.empty(self.numblocks, dtype=object)
        for idx in itertools.product(*map(range, self.numblocks)):
            out[idx] = Delayed((self.name, *idx), {}, (self,))
        return out

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        x = np.asarray(self.compute())
        if dtype is not None and x.dtype != dtype:
            x = x.astype(dtype)
        return x

    def __bool__(self) -> bool:
        if self.size != 1:
            raise ValueError(f"the truth value of an array with {self.size} elements is ambiguous; "
                             "use x.any() or x.all()")
        return bool(self.compute())

    def __int__(self) -> int:
        return int(self.compute())

    def __float__(self) -> float:
        return float(self.compute())

    def __complex__(self) -> complex:
        return complex(self.compute())

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
            impl = getattr(da, func.__name__, None) if mod.startswith("numpy") and "linalg" not in mod \
                and "fft" not in mod else None
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
    def astype(self, dtype: Any, **kwargs: Any) -> "Array":
        dtype = np.dtype(dtype)
        if dtype == self.dtype:
            return self
        return elemwise(_astype, self, dtype=dtype, _extra_args=(dtype,))

    def copy(self) -> "Array":
        return map_blocks(np.copy, self, dtype=self.dtype)

    def map_blocks(self, func: Callable, *args: Any, **kwargs: Any) -> "Array":
        return map_blocks(func, self, *args, **kwargs)

    def rechunk(self, chunks: Any = "auto", **kwargs: Any) -> "Array":
        from shoal.array.rechunk import rechunk

        return rechunk(self, chunks, **kwargs)

    def __getitem__(self, index: Any) -> "Array":
        from shoal.array.slicing import getitem

        return getitem(self, index)

    def __setitem__(self, key: Any, value: Any) -> None:
        from shoal.array.routines import where

        if isinstance(key, Array) and key.dtype == bool:
            new = where(key, value, self)
        elif isinstance(key, np.ndarray) and key.dtype == bool:
            from shoal.array.creation import from_array

            new = where(from_array(key, chunks=self.chunks), value, self)
        else:
            raise NotImplementedError(
                "shoal arrays support item assignment only with a boolean mask (x[x > 0] = 1); "
                "for other updates build a new array, e.g. with shoal.array.where")
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
        return elemwise(np.real, self)

    @property
    def imag(self) -> "Array":
        return elemwise(np.imag, self)

    def conj(self) -> "Array":
        return elemwise(np.conj, self)


def _materialize(obj: Any) -> Any:
    if isinstance(obj, Array):
        return obj.compute()
    if isinstance(obj, (list, tuple)):
        return type(obj)(_materialize(o) for o in obj)
    if isinstance(obj, dict):
        return {k: _materialize(v) for k, v in obj.items()}
    return obj


_HANDLED: dict = {}


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


# ---------------------------------------------------------------------------
# blockwise
# ---------------------------------------------------------------------------

def asanyarray_like(x: Any) -> Any:
    """numpy arrays and lists become single-block Arrays; others pass through."""
    if isinstance(x, Array):
        return x
    if isinstance(x, (np.ndarray, list)) and not np.isscalar(x):
        from shoal.array.creation import from_array

        a = np.asarray(x)
        return from_array(a, chunks=a.shape or ())
    return x


def _concat_apply(func: Callable, concat_axes: tuple, args: tuple, kwargs: dict) -> Any:
    """Call ``func`` after concatenating nested block lists along contracted axes."""
    new = []
    for a, axes in zip(args, concat_axes):
        if axes:
            a = _concat_nested(a, axes)
        new.append(a)
    return func(*new, **kwargs)


def _concat_nested(nested: Any, axes: tuple) -> np.ndarray:
    if len(axes) == 1:
        return np.concatenate([np.asarray(b) for b in nested], axis=axes[0])
    return np.concatenate([_concat_nested(n, axes[1:]) for n in nested], axis=axes[0])


def _call_kw(func: Callable, args: tuple, kwargs: dict) -> Any:
    return func(*args, **kwargs)


def blockwise(func: Callable, out_ind: Sequence[Hashable], *args: Any, name: str | None = None,
              token: str | None = None, dtype: Any = None, adjust_chunks: dict | None = None,
              new_axes: dict | None = None, align_arrays: bool = True, concatenate: bool | None = None,
              meta: Any = None, **kwargs: Any) -> Array:
    """Apply ``func`` block by block with index notation.

    ``blockwise(np.add, 'ij', x, 'ij', y, 'ij')`` adds blocks pairwise;
    ``blockwise(f, 'ik', x, 'ij', y, 'jk', concatenate=True)`` gives ``f`` the
    row of ``x`` blocks and column of ``y`` blocks, joined along ``j``.  An
    argument whose index is ``None`` is passed to every call as it is.
    """
    if len(args) % 2:
        raise TypeError("blockwise takes (array, index) pairs after out_ind: "
                        "blockwise(func, 'ij', x, 'ij', y, 'j')")
    out_ind = tuple(out_ind)
    new_axes = dict(new_axes or {})
    pairs = []
    for a, ind in zip(args[::2], args[1::2]):
        if ind is not None:
            a = asanyarray_like(a)
            if not isinstance(a, Array):
                raise TypeError(f"blockwise got index {ind!r} for a non-array {type(a).__name__}; "
                                "pass None as the index of constant arguments")
            ind = tuple(ind)
            if len(ind) != a.ndim:
                raise ValueError(f"index {ind!r} has {len(ind)} letters but the array has {a.ndim} dimensions")
        pairs.append((a, ind))
    # line up chunks along each index
    dims: dict = {}
    for a, ind in pairs:
        if ind is not None:
            for c, i in zip(a.chunks, ind):
                dims.setdefault(i, []).append(c)
    common: dict = {}
    for i, cs in dims.items():
        if align_arrays:
            try:
                common[i] = common_blockdim(cs)
            except ValueError:
                shapes = [sum(c) for c in cs]
                raise ValueError(f"shapes do not line up along index {i!r}: lengths {shapes}. "
                                 "Arrays combined blockwise must have equal lengths (or length 1) "
                                 "along each shared dimension") from None
        else:
            common[i] = max(cs, key=len)
    if align_arrays:
        from shoal.array.rechunk import rechunk

        aligned = []
        for a, ind in pairs:
            if ind is not None:
                want = tuple(c if (len(c) == 1 and c[0] == 1 and len(common[i]) > 0 and sum(common[i]) != 1)
                             else common[i] for c, i in zip(a.chunks, ind))
                if want != a.chunks:
                    a = rechunk(a, want)
            aligned.append((a, ind))
        pairs = aligned
    numblocks = {i: len(c) for i, c in common.items()}
    for i, n in new_axes.items():
        c = (n,) if isinstance(n, (int, np.integer)) else tuple(n)
        common[i] = c
        numblocks[i] = len(c)
    for i in out_ind:
        if i not in common:
            raise ValueError(f"output index {i!r} appears in no input; give its length with new_axes={{{i!r}: n}}")
    chunks = [common[i] for i in out_ind]
    if adjust_chunks:
        for k, i in enumerate(out_ind):
            if i in adjust_chunks:
                adj = adjust_chunks[i]
                if callable(adj):
                    chunks[k] = tuple(adj(c) for c in chunks[k])
                elif isinstance(adj, (int, np.integer)):
                    chunks[k] = (int(adj),) * len(chunks[k])
                else:
                    adj = tuple(adj)
                    if len(adj) != len(chunks[k]):
                        raise ValueError(f"adjust_chunks for {i!r} has {len(adj)} entries for {len(chunks[k])} blocks")
                    chunks[k] = adj
    contracted = []
    for a, ind in pairs:
        if ind is not None:
            for i in ind:
                if i not in out_ind and i not in contracted:
                    contracted.append(i)
    if dtype is None:
        dtype = _infer_dtype(func, pairs, kwargs)
    if name is None:
        fname = token or _funcname(func)
        name = f"{fname}-{tokenize(func, out_ind, [(a.name if isinstance(a, Array) else a, ind) for a, ind in pairs], kwargs, dtype, adjust_chunks, new_axes, concatenate)}"
    # constant Delayed arguments become references
    parents = [a for a, ind in pairs if isinstance(a, Array)]
    pair_refs = []
    for a, ind in pairs:
        if ind is None and hasattr(type(a), "__shoal_graph__") and not isinstance(a, Array):
            parents.append(a)
            k = a.__shoal_keys__()
            a = Ref(k)
        pair_refs.append((a, ind))
    kw_refs = {}
    for k, v in kwargs.items():
        if hasattr(type(v), "__shoal_graph__") and not isinstance(v, Array):
            parents.append(v)
            v = Ref(v.__shoal_keys__())
        kw_refs[k] = v
    concat_axes = tuple(
        tuple(ind.index(i) for i in contracted if i in ind) if (ind is not None and concatenate) else ()
        for a, ind in pair_refs)
    use_concat = bool(concatenate) and any(concat_axes)
    layer: dict = {}
    ranges = [range(numblocks[i]) for i in out_ind]
    for coord in itertools.product(*ranges):
        idx = dict(zip(out_ind, coord))
        call_args = []
        for a, ind in pair_refs:
            if ind is None:
                call_args.append(a)
                continue
            nb = a.numblocks
            fixed = [None if i in contracted else (idx[i] if nb[d] > 1 else 0) for d, i in enumerate(ind)]
            if not any(i in contracted for i in ind):
                call_args.append(Ref((a.name, *fixed)))
            else:
                call_args.append(_nested_refs(a.name, ind, fixed, nb, contracted))
        if use_concat:
            layer[(name, *coord)] = Task(_concat_apply, func, concat_axes, tuple(call_args), kw_refs)
        elif kw_refs:
            layer[(name, *coord)] = Task(func, *call_args, **kw_refs)
        else:
            layer[(name, *coord)] = Task(func, *call_args)
    if not out_ind:
        layer = {(name,): layer[(name,)]}
    graph = LayeredGraph.from_collections(name, layer, parents)
    return Array(graph, name, tuple(chunks), dtype)


def _nested_refs(aname: str, ind: tuple, fixed: list, nb: tuple, contracted: list) -> list:
    """Nested lists of refs over the contracted indices, in their order in ``ind``."""
    cdims = [d for d, i in enumerate(ind) if i in contracted]

    def build(level: int, cur: list) -> Any:
        if level == len(cdims):
            return Ref((aname, *cur))
        d = cdims[level]
        out = []
        for b in range(nb[d]):
            nxt = list(cur)
            nxt[d] = b
            out.append(build(level + 1, nxt))
        return out

    return build(0, list(fixed))


def _funcname(func: Any) -> str:
    name = getattr(func, "__name__", None) or type(func).__name__
    return "lambda" if name == "<lambda>" else name.replace("_", "-").strip("-") or "func"


def _infer_dtype(func: Callable, pairs: list, kwargs: dict) -> np.dtype:
    """Result dtype of ``func`` on tiny stand-in blocks (float64 if it fails)."""
    fake = []
    for a, ind in pairs:
        if ind is None:
            fake.append(a if not hasattr(type(a), "__shoal_graph__") else 1)
        else:
            fake.append(np.ones((1,) * a.ndim, dtype=a.dtype))
    try:
        with np.errstate(all="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            r = func(*fake, **{k: v for k, v in kwargs.items() if not hasattr(type(v), "__shoal_graph__")})
        return np.asarray(r).dtype
    except Exception:
        return np.dtype(float)


# ---------------------------------------------------------------------------
# elementwise and map_blocks
# ---------------------------------------------------------------------------

def _extra_call(func: Callable, nargs: int, extra: tuple, kwargs: dict) -> Callable:
    return _Partial(func, extra, kwargs)


class _Partial:
    """``func(*blocks, *extra, **kwargs)``; picklable and tokenizable."""

    __slots__ = ("func", "extra", "kwargs")

    def __init__(self, func: Callable, extra: tuple, kwargs: dict):
        self.func, self.extra, self.kwargs = func, extra, kwargs

    def __call__(self, *blocks: Any) -> Any:
        return self.func(*blocks, *self.extra, **self.kwargs)

    def __reduce__(self):
        return (_Partial, (self.func, self.extra, self.kwargs))

    @property
    def __name__(self) -> str:
        return _funcname(self.func)

    def __shoal_tokenize__(self) -> Any:
        return ("partial", normalize_token(self.func), normalize_token(self.extra), normalize_token(self.kwargs))


def elemwise(op: Callable, *args: Any, dtype: Any = None, name: str | None = None,
             _extra_args: tuple = (), where: Any = True, **kwargs: Any) -> Array:
    """Apply ``op`` elementwise with numpy broadcasting over Arrays, numpy arrays and scalars."""
    if where is not True:
        from shoal.array.routines import where as _where

        return _where(where, elemwise(op, *args, dtype=dtype, **kwargs), args[0])
    args = [asanyarray_like(a) for a in args]
    arrays = [a for a in args if isinstance(a, Array)]
    shapes = [a.shape for a in arrays]
    try:
        out_shape = np.broadcast_shapes(*[tuple(0 if _isnan(s) else s for s in sh) for sh in shapes])
    except ValueError:
        raise ValueError(
            f"operands could not be broadcast together with shapes {' '.join(map(str, shapes))}; "
            "each dimension must match or be 1 (numpy's broadcasting rules)") from None
    ndim = len(out_shape)
    pairs: list = []
    for a in args:
        if isinstance(a, Array):
            pairs += [a, tuple(range(ndim - a.ndim, ndim))]
        else:
            pairs += [a, None]
    f = op if not (_extra_args or kwargs) else _Partial(op, _extra_args, kwargs)
    if dtype is None:
        fake = [np.ones((1,) * a.ndim, a.dtype) if isinstance(a, Array) else a for a in args]
        try:
            with np.errstate(all="ignore"), warnings.catch_warnings():
                warnings.simplefilter("ignore")
                dtype = np.asarray(f(*fake)).dtype
        except Exception:
            dtype = np.result_type(*[a.dtype if isinstance(a, Array) else a for a in args])
    return blockwise(f, tuple(range(ndim)), *pairs, dtype=dtype, name=name, token=_funcname(op))


def map_blocks(func: Callable, *args: Any, name: str | None = None, token: str | None = None,
               dtype: Any = None, chunks: Any = None, drop_axis: Any = (), new_axis: Any = None,
               meta: Any = None, block_info: bool = False, **kwargs: Any) -> Array:
    """Apply ``func`` to every block (blocks of several arrays are lined up and broadcast).

    ``chunks=`` gives the output's chunks (or block shape) when ``func``
    changes block shapes; ``drop_axis``/``new_axis`` when it removes or adds
    dimensions.  If ``func`` accepts ``block_info`` or ``block_id`` keywords,
    it receives the block's location.
    """
    import inspect

    arrays = [asanyarray_like(a) for a in args]
    arrs = [a for a in arrays if isinstance(a, Array)]
    if not arrs:
        raise TypeError("map_blocks needs at least one shoal Array argument")
    ndim = max(a.ndim for a in arrs)
    if isinstance(drop_axis, int):
        drop_axis = (drop_axis,)
    drop_axis = tuple(d % ndim for d in drop_axis) if ndim else ()
    if isinstance(new_axis, int):
        new_axis = (new_axis,)
    new_axis = tuple(new_axis or ())
    pairs: list = []
    for a in arrays:
        if isinstance(a, Array):
            pairs += [a, tuple(range(ndim - a.ndim, ndim))]
        else:
            pairs += [a, None]
    out_ind = [i for i in range(ndim) if i not in drop_axis]
    nout = len(out_ind) + len(new_axis)
    new_axes = {}
    if new_axis:
        new_axis = tuple(n % nout for n in new_axis)
        for k, n in enumerate(sorted(new_axis)):
            letter = f"new{k}"
            out_ind.insert(n, letter)
            new_axes[letter] = 1
    try:
        params = inspect.signature(func).parameters
    except (TypeError, ValueError):
        params = {}
    wants_id = "block_id" in params
    wants_info = "block_info" in params or block_info
    if dtype is None and meta is not None:
        dtype = np.asarray(meta).dtype
    if dtype is None:
        try:
            fake = [np.ones((1,) * a.ndim, a.dtype) if isinstance(a, Array) else a for a in arrays]
            extra = {}
            if wants_id:
                extra["block_id"] = (0,) * ndim
            if wants_info:
                extra["block_info"] = None
            with np.errstate(all="ignore"), warnings.catch_warnings():
                warnings.simplefilter("ignore")
                dtype = np.asarray(func(*fake, **kwargs, **extra)).dtype
        except Exception:
            dtype = arrs[0].dtype
    if name is None:
        name = f"{token or _funcname(func)}-{tokenize(func, [a.name if isinstance(a, Array) else a for a in arrays], kwargs, dtype, chunks, drop_axis, new_axis)}"
    out = blockwise(func if not kwargs else _Partial(func, (), kwargs), out_ind, *pairs, name=name,
                    dtype=dtype, new_axes=new_axes, concatenate=True)
    if wants_id or wants_info:
        layer = out._graph.layers[name]
        for key, task in list(layer.items()):
            coord = key[1:]
            kw = dict(task.kwargs)
            if wants_id:
                kw["block_id"] = coord
            if wants_info:
                kw["block_info"] = _block_info(arrs, out, coord, out_ind, ndim)
            layer[key] = Task(_call_kw, task.func, task.args, kw) if task.func is not _concat_apply else \
                Task(_concat_apply, *task.args[:3], {**task.args[3], **kw})
    if chunks is not None:
        if isinstance(chunks, tuple) and chunks and not isinstance(chunks[0], tuple) and len(chunks) == out.ndim:
            # a block shape: every block of this shape, counts as in the output grid
            c = tuple((int(s),) * n for s, n in zip(chunks, out.numblocks))
        else:
            c = tuple(tuple(x) if isinstance(x, (tuple, list)) else (int(x),) * n
                      for x, n in zip(chunks, out.numblocks))
            if len(chunks) != out.ndim:
                raise ValueError(f"chunks={chunks!r} has {len(chunks)} dimensions but the output has {out.ndim}")
        out = Array(out._graph, out.name, c, out.dtype)
    return out


def _block_info(arrs: list, out: Array, coord: tuple, out_ind: list, ndim: int) -> dict:
    info: dict = {}
    for n, a in enumerate(arrs):
        loc = [coord[out_ind.index(d)] if d in out_ind else 0 for d in range(ndim - a.ndim, ndim)]
        loc = [l if nb > 1 else 0 for l, nb in zip(loc, a.numblocks)]
        bounds = [chunk_bounds(c) for c in a.chunks]
        info[n] = {"shape": a.shape, "num-chunks": a.numblocks, "chunk-location": tuple(loc),
                   "array-location": [(b[i], b[i + 1]) for b, i in zip(bounds, loc)]}
    bounds = [chunk_bounds(c) for c in out.chunks]
    info[None] = {"shape": out.shape, "num-chunks": out.numblocks, "chunk-location": coord,
                  "array-location": [(b[i], b[i + 1]) for b, i in zip(bounds, coord)],
                  "dtype": out.dtype}
    return info


# ---------------------------------------------------------------------------
# operators (defined in one loop: each is elemwise with a numpy ufunc)
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
