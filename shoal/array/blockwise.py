"""``blockwise``: the one way blocks are mapped, and ``elemwise``/``map_blocks`` on top.

``blockwise(func, out_ind, x, ind_x, y, ind_y, ...)`` is the general
block-mapping primitive (Einstein-style indices): elementwise arithmetic,
``map_blocks`` and ``tensordot`` are built on it.  Block-level broadcasting
follows numpy: an input with a single block along an index is reused for
every output block along it.  Inputs are first cut at common boundaries
along each shared index (``common_blockdim``), so arrays with different
chunks combine without the caller rechunking.
"""
from __future__ import annotations

import itertools
import warnings
from typing import Any, Callable, Hashable, Sequence

import numpy as np

from shoal.core.graph import LayeredGraph
from shoal.core.task import Ref, Task
from shoal.core.tokenize import normalize_token, tokenize
from shoal.utils import funcname

from shoal.array.chunks import chunk_bounds, common_blockdim
from shoal.array.core import Array, _isnan

__all__ = ["blockwise", "elemwise", "map_blocks", "asanyarray_like", "as_array"]

def asanyarray_like(x: Any) -> Any:
    """numpy arrays and lists become single-block Arrays; others pass through."""
    if isinstance(x, Array):
        return x
    if isinstance(x, (np.ndarray, list)) and not np.isscalar(x):
        from shoal.array.creation import from_array

        a = np.asarray(x)
        return from_array(a, chunks=a.shape or ())
    return x


def as_array(x: Any) -> Array:
    """``x`` as an Array: numpy arrays and lists in one block (see
    ``asanyarray_like``), anything else through ``shoal.array.asarray``."""
    x = asanyarray_like(x)
    if not isinstance(x, Array):
        from shoal.array.creation import asarray

        x = asarray(x)
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
        fname = token or funcname(func)
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
    # per argument, worked out once: which output coordinate feeds each of its dims
    specs = []
    for a, ind in pair_refs:
        if ind is None:
            specs.append((None, a))
            continue
        nb = a.numblocks
        if any(i in contracted for i in ind):
            specs.append(("nested", (a.name, ind, nb)))
        else:
            pos = tuple(out_ind.index(i) if nb[d] > 1 else None for d, i in enumerate(ind))
            specs.append(("ref", (a.name, pos)))
    for coord in itertools.product(*ranges):
        idx = None
        call_args = []
        for kind, spec in specs:
            if kind is None:
                call_args.append(spec)
            elif kind == "ref":
                aname, pos = spec
                call_args.append(Ref((aname, *[0 if p is None else coord[p] for p in pos])))
            else:
                aname, ind, nb = spec
                if idx is None:
                    idx = dict(zip(out_ind, coord))
                fixed = [None if i in contracted else (idx[i] if nb[d] > 1 else 0) for d, i in enumerate(ind)]
                call_args.append(_nested_refs(aname, ind, fixed, nb, contracted))
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


class _Partial:
    """``func(*blocks, *extra, **kwargs)``; picklable and tokenizable."""

    __slots__ = ("func", "extra", "kwargs")

    def __init__(self, func: Callable, extra: tuple, kwargs: dict):
        self.func, self.extra, self.kwargs = func, extra, kwargs

    def __call__(self, *blocks: Any, **more: Any) -> Any:
        return self.func(*blocks, *self.extra, **self.kwargs, **more)

    def __reduce__(self):
        return (_Partial, (self.func, self.extra, self.kwargs))

    @property
    def __name__(self) -> str:
        return funcname(self.func)

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
    return blockwise(f, tuple(range(ndim)), *pairs, dtype=dtype, name=name, token=funcname(op))


def map_blocks(func: Callable, *args: Any, name: str | None = None, token: str | None = None,
               dtype: Any = None, chunks: Any = None, drop_axis: Any = (), new_axis: Any = None,
               meta: Any = None, block_info: bool = False, enforce_ndim: bool = False,
               **kwargs: Any) -> Array:
    """Apply ``func`` to every block (blocks of several arrays are lined up and broadcast).

    ``chunks=`` gives the output's chunks (or block shape) when ``func``
    changes block shapes; ``drop_axis``/``new_axis`` when it removes or adds
    dimensions.  If ``func`` accepts ``block_info`` or ``block_id`` keywords,
    it receives the block's location.
    """
    import inspect

    arrays = [asanyarray_like(a) for a in args]
    arrs = [a for a in arrays if isinstance(a, Array)]
    if enforce_ndim:
        nd_out = None
        if chunks is not None and isinstance(chunks, tuple):
            nd_out = len(chunks)
        func = _EnforceNdim(func, nd_out)
    if not arrs:
        return _map_blocks_no_arrays(func, arrays, name, token, dtype, chunks, kwargs)
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
                probe = func.func if isinstance(func, _EnforceNdim) else func
                dtype = np.asarray(probe(*fake, **kwargs, **extra)).dtype
        except Exception as e:
            if wants_id or wants_info:  # the stand-in call cannot know a real block's place
                dtype = arrs[0].dtype
            else:
                raise ValueError(
                    f"map_blocks could not infer the output dtype: calling {funcname(func)} on a tiny "
                    f"stand-in block raised {type(e).__name__}: {e}. Give the dtype, "
                    "e.g. x.map_blocks(func, dtype=x.dtype)") from e
    if name is None:
        name = f"{token or funcname(func)}-{tokenize(func, [a.name if isinstance(a, Array) else a for a in arrays], kwargs, dtype, chunks, drop_axis, new_axis)}"
    out = blockwise(func if not kwargs else _Partial(func, (), kwargs), out_ind, *pairs, name=name,
                    dtype=dtype, new_axes=new_axes, concatenate=True)
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
    if isinstance(func, _EnforceNdim) and func.ndim is None:
        func.ndim = out.ndim
    if wants_id or wants_info:
        layer = out._graph.layers[name]
        for key, task in list(layer.items()):
            coord = key[1:]
            kw = dict(task.kwargs)
            if wants_id:
                kw["block_id"] = coord
            if wants_info:
                kw["block_info"] = _block_info(arrays, out, coord, out_ind, ndim)
            layer[key] = Task(_call_kw, task.func, task.args, kw) if task.func is not _concat_apply else \
                Task(_concat_apply, *task.args[:3], {**task.args[3], **kw})
    return out


class _EnforceNdim:
    """Checks that ``func`` returns blocks of the declared number of dimensions."""

    def __init__(self, func: Callable, ndim: int | None):
        self.func, self.ndim = func, ndim

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        out = self.func(*args, **kwargs)
        if self.ndim is not None and np.ndim(out) != self.ndim:
            raise ValueError(f"Dimension mismatch: the function returned a {np.ndim(out)}-d block, "
                             f"the array declares {self.ndim} dimensions")
        return out

    def __reduce__(self):
        return (_EnforceNdim, (self.func, self.ndim))

    @property
    def __signature__(self) -> Any:
        import inspect

        return inspect.signature(self.func)


def _map_blocks_no_arrays(func: Callable, args: list, name: Any, token: Any, dtype: Any, chunks: Any,
                          kwargs: dict) -> Array:
    """``map_blocks`` with no Array argument: ``chunks=`` lays out the blocks, each one call."""
    import inspect

    if chunks is None:
        raise TypeError("map_blocks without a shoal Array argument needs chunks= to lay out the output")
    chunks = tuple(tuple(c) if isinstance(c, (tuple, list)) else (int(c),) for c in chunks)
    try:
        params = inspect.signature(func).parameters
    except (TypeError, ValueError):
        params = {}
    name = name or f"{token or funcname(func)}-{tokenize(func, args, kwargs, chunks)}"
    dtype = np.dtype(dtype if dtype is not None else float)
    layer: dict = {}
    out = Array(LayeredGraph({name: {}}), name, chunks, dtype)
    for coord in itertools.product(*map(range, out.numblocks)):
        kw = dict(kwargs)
        if "block_id" in params:
            kw["block_id"] = coord
        if "block_info" in params:
            kw["block_info"] = _block_info(args, out, coord, [], 0)
        layer[(name, *coord)] = Task(_call_kw, func, tuple(args), kw)
    return Array(LayeredGraph({name: layer}), name, chunks, dtype)


def _block_info(args: list, out: Array, coord: tuple, out_ind: list, ndim: int) -> dict:
    """Where block ``coord`` sits, per Array argument (keyed by its position) and for the output."""
    info: dict = {}
    for n, a in enumerate(args):
        if not isinstance(a, Array):
            continue
        dims = range(ndim - a.ndim, ndim)
        # a dropped dimension reaches the function concatenated: one block spanning it
        chunks = [c if d in out_ind else (sum(c),) for d, c in zip(dims, a.chunks)]
        loc = [coord[out_ind.index(d)] if d in out_ind else 0 for d in dims]
        loc = [l if len(c) > 1 else 0 for l, c in zip(loc, chunks)]
        bounds = [chunk_bounds(c) for c in chunks]
        info[n] = {"shape": a.shape, "num-chunks": tuple(len(c) for c in chunks), "chunk-location": tuple(loc),
                   "array-location": [(b[i], b[i + 1]) for b, i in zip(bounds, loc)]}
    bounds = [chunk_bounds(c) for c in out.chunks]
    info[None] = {"shape": out.shape, "num-chunks": out.numblocks, "chunk-location": coord,
                  "array-location": [(b[i], b[i + 1]) for b, i in zip(bounds, coord)],
                  "chunk-shape": tuple(c[i] for c, i in zip(out.chunks, coord)),
                  "dtype": out.dtype}
    return info
