"""Making arrays: from numpy-likes, from delayed values, from scratch, by joining.

``from_array(x)`` puts ``x`` in the graph ONCE, as a literal node of its
own, and every block is a ``getitem`` task referring to it.  In-process
schedulers hand each task a view; the process and distributed schedulers
ship ``x`` once per worker instead of once per task, so a large array used
by many tasks (docs/tutorial.md, section 6.4) is not copied per task.
"""
from __future__ import annotations

import itertools
import math
from typing import Any, Sequence

import numpy as np

from shoal.core.graph import LayeredGraph
from shoal.core.task import Ref, Task
from shoal.core.tokenize import tokenize

from shoal.array.blocktypes import as_block, convert_like
from shoal.array.chunks import chunk_bounds, normalize_chunks
from shoal.array.core import Array
from shoal.utils import new_name

__all__ = [
    "from_array", "asarray", "asanyarray", "from_delayed", "zeros", "ones", "full", "empty",
    "zeros_like", "ones_like", "full_like", "empty_like", "arange", "linspace", "eye",
    "concatenate", "stack", "block", "fromfunction", "indices", "diag", "tri",
]

#: Inputs smaller than this are named by content (equal inputs share keys);
#: bigger ones get a unique name so creating the array never hashes gigabytes.
TOKENIZE_BYTES = 1 << 20


def _getitem(x: Any, index: tuple) -> np.ndarray:
    return as_block(x[index])


def slices_from_chunks(chunks: tuple) -> list:
    """The tuple of slices of every block, in block order."""
    bounds = [chunk_bounds(c) for c in chunks]
    return [tuple(slice(b[i], b[i + 1]) for b, i in zip(bounds, idx))
            for idx in itertools.product(*[range(len(c)) for c in chunks])]


def _stored_chunks(x: Any) -> tuple | None:
    """The unit a store reads and writes (zarr shards, else zarr/HDF5 chunks), when ``x`` has one."""
    for attr in ("shards", "chunks"):
        c = getattr(x, attr, None)
        if isinstance(c, tuple) and c and all(isinstance(v, (int, np.integer)) for v in c):
            return c
    return None


def from_array(x: Any, chunks: Any = "auto", name: Any = None, lock: Any = False, asarray: Any = None,
               fancy: bool = True, getitem: Any = None, meta: Any = None, inline_array: bool = False) -> Array:
    """A chunked Array over any numpy-like ``x`` (numpy, memmap, h5py, zarr...).

    ``x`` is stored in the graph once; each block slices it when it runs.
    """
    if isinstance(x, Array):
        return x.rechunk(chunks) if chunks != "auto" else x
    if not hasattr(x, "shape") or not hasattr(x, "dtype"):
        x = np.asarray(x)
    elif type(x) is np.ndarray and x.flags.writeable:
        # the Array is a snapshot: changing the numpy array later must not change its results
        # (memmaps and read-only arrays are used in place)
        x = x.copy()
    shape = tuple(int(s) for s in x.shape)
    dtype = np.dtype(x.dtype)
    chunks = normalize_chunks(chunks, shape, dtype=dtype, previous_chunks=_stored_chunks(x))
    if name is None or name is True:
        nbytes = math.prod(shape) * dtype.itemsize
        if isinstance(x, np.ndarray) and nbytes < TOKENIZE_BYTES:
            name = f"array-{tokenize(x, chunks)}"
        else:
            name = new_name("array")
    elif name is False:
        name = new_name("array")
    orig = f"original-{name}"
    layer: dict = {}
    if lock:
        import threading

        lock = threading.Lock() if lock is True else lock
    getter = getitem or (_locked_getitem if lock else _getitem)
    if not shape:
        layer[(name,)] = Task(_scalar_get, Ref(orig))
    else:
        ranges = [range(len(c)) for c in chunks]
        slices = slices_from_chunks(chunks)
        for idx, sl in zip(itertools.product(*ranges), slices):
            if lock:
                layer[(name, *idx)] = Task(getter, Ref(orig), sl, lock)
            else:
                layer[(name, *idx)] = Task(getter, Ref(orig), sl)
    graph = LayeredGraph({orig: {orig: x}, name: layer})
    return Array(graph, name, chunks, dtype)


def _locked_getitem(x: Any, index: tuple, lock: Any) -> np.ndarray:
    with lock:
        return np.asarray(x[index])


def _scalar_get(x: Any) -> np.ndarray:
    return np.asarray(x[()])


def asarray(a: Any, dtype: Any = None, order: Any = None, like: Any = None, chunks: Any = "auto", **kw: Any) -> Array:
    """``a`` as an Array (Arrays pass through; lists, scalars, numpy-likes are wrapped)."""
    if isinstance(like, Array):
        return _blocks_like(asarray(a, dtype=dtype, chunks=chunks), like)
    if isinstance(a, Array):
        return a if dtype is None else a.astype(dtype)
    if isinstance(a, (list, tuple)) and any(isinstance(i, Array) for i in a):
        return stack([asarray(i) for i in a])
    if not hasattr(a, "shape") or not hasattr(a, "dtype"):
        a = np.asarray(a, dtype=dtype)
    elif dtype is not None and np.dtype(dtype) != a.dtype:
        a = np.asarray(a).astype(dtype)
    return from_array(a, chunks=chunks)


asanyarray = asarray


def _blocks_like(x: Array, like: Array) -> Array:
    """``x`` with blocks of the type ``like``'s blocks have (sparse, masked or numpy).

    The type is read from ``like``'s first block when the graph runs, so
    nothing is computed here.
    """
    name = new_name("asarray-like", x.name, like.name)
    proto = (like.name, *([0] * like.ndim))
    layer = {(name, *i): Task(convert_like, Ref((x.name, *i)), Ref(proto))
             for i in itertools.product(*[range(n) for n in x.numblocks])}
    return Array(LayeredGraph.from_collections(name, layer, [x, like]), name, x.chunks, x.dtype)


def from_delayed(value: Any, shape: Sequence[int], dtype: Any = float, meta: Any = None, name: str | None = None) -> Array:
    """A single-block Array whose block is the result of a ``Delayed``."""
    from shoal.delayed import Delayed, delayed

    if not isinstance(value, Delayed):
        value = delayed(value)
    if meta is not None and dtype is float:
        dtype = np.asarray(meta).dtype
    shape = tuple(shape)
    name = name or new_name("from-value", value.key, shape, str(dtype))
    key = (name, *([0] * len(shape)))
    layer = {key: Task(_check_block, Ref(value.key), shape)}
    return Array(LayeredGraph.from_collections(name, layer, [value]), name,
                 tuple((s,) for s in shape), dtype)


def _check_block(x: Any, shape: tuple) -> np.ndarray:
    x = np.asarray(x)
    if not any(isinstance(s, float) for s in shape) and x.shape != shape:
        raise ValueError(f"from_delayed was told shape {shape} but the value has shape {x.shape}")
    return x


# -- filled arrays -------------------------------------------------------------

def _fill(shape: tuple, value: Any, dtype: np.dtype) -> np.ndarray:
    # a read-only broadcast view of one scalar: a 200 MB block of ones costs
    # 8 bytes, and ``ones(...) + 1`` holds only its result
    return np.broadcast_to(np.asarray(value, dtype=dtype), shape)


def _filled(kind: str, shape: Any, value: Any, dtype: Any, chunks: Any, name: str | None) -> Array:
    if isinstance(shape, (int, np.integer)):
        shape = (int(shape),)
    shape = tuple(int(s) for s in shape)
    dtype = np.dtype(dtype if dtype is not None else (np.asarray(value).dtype if kind == "full" else float))
    chunks = normalize_chunks(chunks, shape, dtype=dtype)
    name = name or new_name(kind, shape, chunks, str(dtype), value)
    layer: dict = {}
    blockshapes = itertools.product(*chunks)
    for idx, bs in zip(itertools.product(*[range(len(c)) for c in chunks]), blockshapes):
        layer[(name, *idx)] = Task(_fill, bs, value, dtype)
    if not shape:
        layer = {(name,): Task(_fill, (), value, dtype)}
    return Array(LayeredGraph({name: layer}), name, chunks, dtype)


def zeros(shape: Any, dtype: Any = float, chunks: Any = "auto", name: str | None = None, **kw: Any) -> Array:
    return _filled("zeros", shape, 0, dtype, chunks, name)


def ones(shape: Any, dtype: Any = float, chunks: Any = "auto", name: str | None = None, **kw: Any) -> Array:
    return _filled("ones", shape, 1, dtype, chunks, name)


def empty(shape: Any, dtype: Any = float, chunks: Any = "auto", name: str | None = None, **kw: Any) -> Array:
    return _filled("empty", shape, 0, dtype, chunks, name)


def full(shape: Any, fill_value: Any, dtype: Any = None, chunks: Any = "auto", name: str | None = None, **kw: Any) -> Array:
    if np.ndim(fill_value) != 0:
        raise ValueError(f"full() needs a scalar fill_value, got an array of shape {np.shape(fill_value)}")
    return _filled("full", shape, fill_value, dtype, chunks, name)


def _like(a: Any, dtype: Any, chunks: Any, shape: Any) -> tuple:
    shape = a.shape if shape is None else shape
    dtype = a.dtype if dtype is None else dtype
    if chunks is None:
        chunks = a.chunks if isinstance(a, Array) and tuple(shape) == a.shape else "auto"
    return shape, dtype, chunks


def _fill_block_like(block: np.ndarray, value: Any, fill_dtype: np.dtype) -> np.ndarray:
    return np.full(np.shape(block), value, dtype=fill_dtype)


def _filled_like(a: Any, value: Any, dtype: Any, chunks: Any, shape: Any) -> Array | None:
    """Blocks shaped like ``a``'s when its lengths are unknown (nan): known only block by block."""
    if isinstance(a, Array) and chunks is None and shape is None and \
            any(isinstance(s, float) and s != s for s in a.shape):
        from shoal.array.blockwise import map_blocks

        dt = np.dtype(a.dtype if dtype is None else dtype)
        return map_blocks(_fill_block_like, a, value=value, fill_dtype=dt, dtype=dt)
    return None


def zeros_like(a: Any, dtype: Any = None, chunks: Any = None, shape: Any = None, **kw: Any) -> Array:
    """Zeros with ``a``'s shape, chunks and dtype (each may be overridden)."""
    lazy = _filled_like(a, 0, dtype, chunks, shape)
    return lazy if lazy is not None else zeros(*_like(a, dtype, chunks, shape))


def ones_like(a: Any, dtype: Any = None, chunks: Any = None, shape: Any = None, **kw: Any) -> Array:
    """Ones with ``a``'s shape, chunks and dtype (each may be overridden)."""
    lazy = _filled_like(a, 1, dtype, chunks, shape)
    return lazy if lazy is not None else ones(*_like(a, dtype, chunks, shape))


def empty_like(a: Any, dtype: Any = None, chunks: Any = None, shape: Any = None, **kw: Any) -> Array:
    """An uninitialised array with ``a``'s shape, chunks and dtype (shoal fills it with zeros)."""
    lazy = _filled_like(a, 0, dtype, chunks, shape)
    return lazy if lazy is not None else empty(*_like(a, dtype, chunks, shape))


def full_like(a: Any, fill_value: Any, dtype: Any = None, chunks: Any = None, shape: Any = None, **kw: Any) -> Array:
    """``fill_value`` everywhere, with ``a``'s shape, chunks and dtype (each may be overridden)."""
    lazy = _filled_like(a, fill_value, dtype, chunks, shape)
    if lazy is not None:
        return lazy
    s, d, c = _like(a, dtype, chunks, shape)
    return full(s, fill_value, dtype=d, chunks=c)


# -- ranges --------------------------------------------------------------------

def _arange_block(start: Any, stop: Any, step: Any, n: int, dtype: np.dtype) -> np.ndarray:
    return np.arange(start, stop, step, dtype=dtype)[:n]


def arange(*args: Any, chunks: Any = "auto", dtype: Any = None, name: str | None = None, **kw: Any) -> Array:
    """``arange([start,] stop[, step], chunks=...)`` like numpy's."""
    if "start" in kw or "stop" in kw or "step" in kw:
        args = (kw.pop("start", 0), kw.pop("stop"), kw.pop("step", 1))
    if len(args) == 1:
        start, stop, step = 0, args[0], 1
    elif len(args) == 2:
        start, stop, step = args[0], args[1], 1
    elif len(args) == 3:
        start, stop, step = args
    else:
        raise TypeError(f"arange takes 1 to 3 positional arguments (start, stop, step), got {len(args)}")
    if step == 0:
        raise ValueError("arange step must not be zero")
    n = max(int(math.ceil((stop - start) / step)), 0)
    dtype = np.dtype(dtype) if dtype is not None else np.arange(start, stop, step)[:0].dtype
    chunks = normalize_chunks(chunks, (n,), dtype=dtype)
    name = name or new_name("arange", start, stop, step, chunks, str(dtype))
    layer = {}
    b = chunk_bounds(chunks[0])
    for i, c in enumerate(chunks[0]):
        lo = start + b[i] * step
        layer[(name, i)] = Task(_arange_block, lo, lo + c * step, step, c, dtype)
    return Array(LayeredGraph({name: layer}), name, chunks, dtype)


def _linspace_block(start: float, step: float, lo: int, n: int, dtype: np.dtype, last: Any) -> np.ndarray:
    out = (start + step * np.arange(lo, lo + n)).astype(dtype)
    if last is not None and n:
        out[-1] = last
    return out


def linspace(start: float, stop: float, num: int = 50, endpoint: bool = True, retstep: bool = False,
             chunks: Any = "auto", dtype: Any = None, name: str | None = None) -> Any:
    num = int(num)
    div = (num - 1) if endpoint else num
    step = (stop - start) / div if div > 0 else 0.0
    dtype = np.dtype(dtype or float)
    chunks = normalize_chunks(chunks, (num,), dtype=dtype)
    name = name or new_name("linspace", start, stop, num, endpoint, chunks, str(dtype))
    b = chunk_bounds(chunks[0])
    layer = {}
    for i, c in enumerate(chunks[0]):
        last = stop if (endpoint and i == len(chunks[0]) - 1 and num > 1) else None
        layer[(name, i)] = Task(_linspace_block, start, step, b[i], c, dtype, last)
    out = Array(LayeredGraph({name: layer}), name, chunks, dtype)
    return (out, step) if retstep else out


def _eye_block(shape: tuple, k: int, dtype: np.dtype) -> np.ndarray:
    return np.eye(shape[0], shape[1], k=k, dtype=dtype)


def eye(N: int, chunks: Any = "auto", M: int | None = None, k: int = 0, dtype: Any = float) -> Array:
    M = N if M is None else M
    dtype = np.dtype(dtype)
    chunks = normalize_chunks(chunks, (N, M), dtype=dtype)
    name = new_name("eye", N, M, k, chunks, str(dtype))
    rb, cb = chunk_bounds(chunks[0]), chunk_bounds(chunks[1])
    layer = {}
    for i, r in enumerate(chunks[0]):
        for j, c in enumerate(chunks[1]):
            layer[(name, i, j)] = Task(_eye_block, (r, c), k - (cb[j] - rb[i]), dtype)
    return Array(LayeredGraph({name: layer}), name, chunks, dtype)


def tri(N: int, M: int | None = None, k: int = 0, dtype: Any = float, chunks: Any = "auto") -> Array:
    M = N if M is None else M
    rows = arange(N, chunks=normalize_chunks(chunks, (N, M))[0])
    cols = arange(M, chunks=normalize_chunks(chunks, (N, M))[1])
    return (rows[:, None] + k >= cols[None, :]).astype(dtype)


class _FromFunction:
    def __init__(self, function: Any, kwargs: dict):
        self.function, self.kwargs = function, kwargs

    def __call__(self, *grids: np.ndarray) -> np.ndarray:
        return self.function(*grids, **self.kwargs)

    def __reduce__(self):
        return (_FromFunction, (self.function, self.kwargs))


def fromfunction(function: Any, shape: Sequence[int], chunks: Any = "auto", dtype: Any = float,
                 **kwargs: Any) -> Array:
    """numpy.fromfunction: ``function`` called block by block on the index grids of ``shape``.

    ``dtype`` is the dtype of the index grids (numpy's meaning); ``None``
    gives integer grids.
    """
    grids = indices(shape, chunks=chunks, dtype=int if dtype is None else dtype)
    from shoal.array.blockwise import map_blocks

    comps = [grids[i] for i in range(len(shape))]
    return map_blocks(_FromFunction(function, kwargs), *comps, dtype=None)


def indices(dimensions: Sequence[int], dtype: Any = int, chunks: Any = "auto") -> Array:
    """numpy.indices: one grid per dimension, stacked along a new first axis."""
    dimensions = tuple(dimensions)
    if not dimensions:
        return from_array(np.indices((), dtype=dtype), chunks=-1)
    chunks = normalize_chunks(chunks, dimensions, dtype=dtype)
    grids = []
    for d, n in enumerate(dimensions):
        r = arange(n, chunks=(chunks[d],), dtype=dtype)
        idx = tuple(slice(None) if e == d else None for e in range(len(dimensions)))
        from shoal.array.routines import broadcast_to

        grids.append(broadcast_to(r[idx], dimensions, chunks=chunks))
    return stack(grids)


def diag(v: Any, k: int = 0) -> Array:
    """numpy.diag: the diagonal of a 2-d array, or a 2-d array with ``v`` on its diagonal."""
    if not isinstance(v, (Array, np.ndarray)) and not hasattr(v, "__array__"):
        raise TypeError(f"diag: v must be a shoal or numpy array, not {type(v).__name__}")
    v = asarray(v)
    if v.ndim == 1:
        if k == 0 and v.numblocks[0] > 0:
            name = new_name("diag", v.name)
            layer = {}
            for i in range(v.numblocks[0]):
                for j in range(v.numblocks[0]):
                    if i == j:
                        layer[(name, i, j)] = Task(np.diag, Ref((v.name, i)))
                    else:
                        layer[(name, i, j)] = Task(np.zeros, (v.chunks[0][i], v.chunks[0][j]), v.dtype)
            return Array(LayeredGraph.from_collections(name, layer, [v]), name, (v.chunks[0], v.chunks[0]), v.dtype)
        return from_array(np.diag(v.compute(), k))
    if v.ndim == 2:
        from shoal.array.routines import diagonal

        return diagonal(v, k)
    raise ValueError(f"diag needs a 1-d or 2-d array, got {v.ndim}-d")


# -- joining ---------------------------------------------------------------------

def concatenate(seq: Sequence[Any], axis: int = 0, allow_unknown_chunksizes: bool = False) -> Array:
    """Join arrays along an existing axis; other dimensions must match."""
    seq = [asarray(a) for a in seq]
    if not seq:
        raise ValueError("concatenate needs at least one array")
    ndim = seq[0].ndim
    if ndim == 0:
        raise ValueError("zero-dimensional arrays cannot be concatenated; use stack")
    if not -ndim <= axis < ndim:
        raise ValueError(f"axis {axis} is out of bounds for {ndim}-d arrays")
    axis %= ndim
    for a in seq:
        if a.ndim != ndim:
            raise ValueError(f"all arrays must have the same number of dimensions to concatenate, "
                             f"got shapes {[s.shape for s in seq]}")
        for d in range(ndim):
            if d == axis:
                continue
            if _has_nan(a.shape[d]) or _has_nan(seq[0].shape[d]):
                if not allow_unknown_chunksizes:
                    raise ValueError(f"shapes {[s.shape for s in seq]} have unknown (nan) lengths along axis "
                                     f"{d}, so they cannot be checked to line up; call "
                                     "x.compute_chunk_sizes() first, or pass allow_unknown_chunksizes=True "
                                     "if you know they match")
                if a.chunks[d] != seq[0].chunks[d]:
                    raise ValueError(f"unknown chunks {[s.chunks[d] for s in seq]} along axis {d} differ")
            elif a.shape[d] != seq[0].shape[d]:
                raise ValueError(f"shapes {[s.shape for s in seq]} differ along axis {d}; only axis "
                                 f"{axis} (the concatenation axis) may differ")
    dtype = np.result_type(*[a.dtype for a in seq])
    # arrays of length 0 along the axis add nothing (but still count for the dtype)
    kept = [a for a in seq if not (a.shape[axis] == 0)] or seq[:1]
    if len(kept) == 1 and kept[0].dtype == dtype:
        return kept[0]
    seq = kept
    # line up chunks along the other axes
    from shoal.array.chunks import common_blockdim
    from shoal.array.rechunk import rechunk

    others = {d: (seq[0].chunks[d] if _has_nan(seq[0].shape[d]) else common_blockdim([a.chunks[d] for a in seq]))
              for d in range(ndim) if d != axis}
    aligned = []
    for a in seq:
        want = tuple(a.chunks[d] if d == axis else others[d] for d in range(ndim))
        aligned.append(a if want == a.chunks else rechunk(a, want))
    seq = aligned
    name = new_name("concatenate", [a.name for a in seq], axis)
    layer: dict = {}
    offset = 0
    for a in seq:
        for idx in itertools.product(*[range(n) for n in a.numblocks]):
            new = list(idx)
            new[axis] += offset
            src = Ref((a.name, *idx))
            layer[(name, *new)] = Task(_astype, src, dtype) if a.dtype != dtype else src
        offset += a.numblocks[axis]
    chunks = tuple(sum((a.chunks[axis] for a in seq), ()) if d == axis else others[d] for d in range(ndim))
    return Array(LayeredGraph.from_collections(name, layer, seq), name, chunks, dtype)


def _astype(x: np.ndarray, dtype: np.dtype) -> np.ndarray:
    return np.asarray(x).astype(dtype, copy=False)


def _has_nan(n: Any) -> bool:
    return isinstance(n, float) and n != n


def stack(seq: Sequence[Any], axis: int = 0, allow_unknown_chunksizes: bool = False) -> Array:
    """Join same-shape arrays along a new axis."""
    seq = [asarray(a) for a in seq]
    if not seq:
        raise ValueError("stack needs at least one array")
    if any(_has_nan(n) for a in seq for n in a.shape):
        if not allow_unknown_chunksizes:
            raise ValueError(f"stack: shapes {[a.shape for a in seq]} have unknown (nan) lengths, so they "
                             "cannot be checked to match; call x.compute_chunk_sizes() first, or pass "
                             "allow_unknown_chunksizes=True if you know they match")
        if len({a.chunks for a in seq}) > 1:
            raise ValueError(f"stack: unknown chunks {[a.chunks for a in seq]} differ")
    shapes = {tuple(str(n) for n in a.shape) for a in seq}
    if len(shapes) > 1:
        raise ValueError(f"stack needs arrays of one shape, got {[a.shape for a in seq]}")
    ndim = seq[0].ndim + 1
    if not -ndim <= axis < ndim:
        raise ValueError(f"axis {axis} is out of bounds for stacking {ndim - 1}-d arrays")
    axis %= ndim
    from shoal.array.chunks import common_blockdim
    from shoal.array.rechunk import rechunk

    common = tuple(seq[0].chunks[d] if _has_nan(seq[0].shape[d]) else common_blockdim([a.chunks[d] for a in seq])
                   for d in range(ndim - 1))
    seq = [a if a.chunks == common else rechunk(a, common) for a in seq]
    dtype = np.result_type(*[a.dtype for a in seq])
    name = new_name("stack", [a.name for a in seq], axis)
    layer: dict = {}
    for n, a in enumerate(seq):
        for idx in itertools.product(*[range(k) for k in a.numblocks]):
            new = list(idx)
            new.insert(axis, n)
            layer[(name, *new)] = Task(_expand, Ref((a.name, *idx)), axis, dtype)
    chunks = list(common)
    chunks.insert(axis, (1,) * len(seq))
    return Array(LayeredGraph.from_collections(name, layer, seq), name, tuple(chunks), dtype)


def _expand(x: np.ndarray, axis: int, dtype: np.dtype) -> np.ndarray:
    return np.expand_dims(np.asarray(x), axis).astype(dtype, copy=False)


def _check_block_nesting(arrays: Any) -> None:
    """numpy.block's rules: lists only, none empty, every leaf at the same depth."""
    depths: set = set()
    empty: list = []

    def walk(x: Any, level: int, where: str) -> None:
        if isinstance(x, tuple):
            raise TypeError(f"block: {where} is a tuple; only lists may be used to arrange blocks")
        if isinstance(x, list):
            if not x:
                empty.append(where)
                depths.add(level + 1)  # an empty list stands where its items would be
            for i, item in enumerate(x):
                walk(item, level + 1, f"{where}[{i}]")
        else:
            depths.add(level)

    walk(arrays, 0, "arrays")
    if len(depths) > 1:
        raise ValueError(f"block: list depths are mismatched ({sorted(depths)}); every block must "
                         "sit at the same nesting depth")
    if empty:
        raise ValueError(f"block: list {empty[0]} cannot be empty")


def block(arrays: Any, allow_unknown_chunksizes: bool = False) -> Array:
    """Assemble an array from nested lists of blocks (like ``numpy.block``)."""
    def depth(x: Any) -> int:
        return 1 + depth(x[0]) if isinstance(x, list) else 0

    if isinstance(arrays, tuple):
        raise TypeError("block: arrays is a tuple; only lists may be used to arrange blocks "
                        "(numpy's rule)")
    if not isinstance(arrays, list):
        return asarray(arrays)
    _check_block_nesting(arrays)
    d = depth(arrays)
    items = []

    def leaves(x: Any) -> None:
        if isinstance(x, list):
            for i in x:
                leaves(i)
        else:
            items.append(asarray(x))

    leaves(arrays)
    ndim = max(d, max(a.ndim for a in items))

    def build(x: Any, level: int) -> Array:
        if not isinstance(x, list):
            a = asarray(x)
            while a.ndim < ndim:
                from shoal.array.routines import expand_dims

                a = expand_dims(a, 0)
            return a
        parts = [build(i, level + 1) for i in x]
        return concatenate(parts, axis=ndim - d + level)

    return build(arrays, 0)
