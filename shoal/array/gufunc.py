"""``apply_gufunc``: a function with a numpy gufunc signature, block by block.

``apply_gufunc(f, "(i),(i)->()", a, b)`` calls ``f`` once per block of the
*loop* dimensions (the leading ones, broadcast between inputs as numpy
does) with every *core* dimension (named in the signature) whole in the
block.  A core dimension split over several blocks is an error unless
``allow_rechunk=True``, which merges it into one block (possibly a lot of
memory, hence opt-in).  Output core dimensions that appear in no input need
``output_sizes``.  Each task calls ``f`` once; with several outputs the
tuple is split into one Array per output.
"""
from __future__ import annotations

import itertools
import re
from typing import Any, Callable, Sequence

import numpy as np

from shoal.core.graph import LayeredGraph
from shoal.core.task import Ref, Task

from shoal.array.core import Array, new_name

__all__ = ["apply_gufunc", "gufunc", "as_gufunc", "parse_signature"]

_DIMS = re.compile(r"\(([^()]*)\)")


def parse_signature(signature: str) -> tuple:
    """``"(i,j),(j)->(i)"`` -> ``([("i", "j"), ("j",)], [("i",)])``; one output gives a list of one."""
    sig = signature.replace(" ", "")
    if "->" not in sig:
        raise ValueError(f"signature {signature!r} needs '->' between inputs and outputs, e.g. '(i),(i)->()'")
    ins, outs = sig.split("->")

    def dims(part: str) -> list:
        groups = _DIMS.findall(part)
        if _DIMS.sub("", part).replace(",", ""):
            raise ValueError(f"signature {signature!r} is not of the form '(i,j),(j)->(i)'")
        return [tuple(d for d in g.split(",") if d) for g in groups]

    return dims(ins), dims(outs)


def _pick(t: Any, k: int) -> Any:
    return t[k]


class _Call:
    """Calls the function on the blocks and checks the number of outputs."""

    def __init__(self, func: Callable, nout: int, kwargs: dict):
        self.func, self.nout, self.kwargs = func, nout, kwargs

    def __call__(self, *blocks: Any) -> Any:
        out = self.func(*blocks, **self.kwargs)
        if self.nout > 1 and (not isinstance(out, tuple) or len(out) != self.nout):
            raise ValueError(f"the function returned {type(out).__name__}, but the signature has "
                             f"{self.nout} outputs (a tuple of that many was expected)")
        return out

    def __reduce__(self):
        return (_Call, (self.func, self.nout, self.kwargs))


def apply_gufunc(func: Callable, signature: str, *args: Any, axes: Any = None, axis: Any = None,
                 keepdims: bool = False, output_dtypes: Any = None, output_sizes: dict | None = None,
                 vectorize: bool | None = None, allow_rechunk: bool = False, meta: Any = None,
                 **kwargs: Any) -> Any:
    """Apply ``func`` with gufunc ``signature`` to shoal arrays (see the module docstring).

    ``axes`` (a list of tuples, one per input and output) or ``axis`` (one
    int, for signatures with one core dimension per operand) say where the
    core dimensions are when not last; ``keepdims`` keeps reduced core
    dimensions as length 1; ``vectorize`` wraps ``func`` in
    ``numpy.vectorize``; ``output_dtypes`` saves a trial call on a tiny input.

    >>> import numpy as np, shoal.array as da
    >>> x = da.ones((4, 3), chunks=(2, 3))
    >>> da.apply_gufunc(lambda a: a.sum(-1), "(i)->()", x).compute()
    array([3., 3., 3., 3.])
    """
    from shoal.array.creation import asarray
    from shoal.array.routines import moveaxis

    ins, outs = parse_signature(signature)
    nout = len(outs)
    if len(args) != len(ins):
        raise ValueError(f"signature {signature!r} takes {len(ins)} inputs, got {len(args)}")
    if vectorize:
        func = np.vectorize(func, signature=signature, otypes=None if output_dtypes is None else
                            [np.dtype(d) for d in (output_dtypes if isinstance(output_dtypes, (list, tuple))
                                                   else [output_dtypes])])
    arrays = [asarray(a) for a in args]
    # where the core dimensions are: move them last
    if axis is not None:
        if axes is not None:
            raise ValueError("give axes= or axis=, not both")
        if any(len(c) > 1 for c in ins + outs):
            raise ValueError("axis= needs at most one core dimension per operand; use axes=")
        axes = [(axis,) if c else () for c in ins] + ([(axis,) if c else () for c in outs] if not keepdims else [])
    in_axes = out_axes = None
    if axes is not None:
        axes = [tuple(a) if isinstance(a, (tuple, list)) else (a,) for a in axes]
        in_axes, out_axes = axes[:len(ins)], axes[len(ins):] or None
        for k, (a, core) in enumerate(zip(in_axes, ins)):
            if len(a) != len(core):
                raise ValueError(f"axes for input {k} name {len(a)} dimensions, the signature {len(core)}")
            nd = arrays[k].ndim
            src = [x % nd for x in a]
            arrays[k] = moveaxis(arrays[k], src, list(range(nd - len(core), nd)))
    sizes: dict = {}
    nloop = 0
    for k, (a, core) in enumerate(zip(arrays, ins)):
        if a.ndim < len(core):
            raise ValueError(f"input {k} has {a.ndim} dimensions, fewer than its core dimensions {core}")
        nloop = max(nloop, a.ndim - len(core))
        for d, name in enumerate(core):
            pos = a.ndim - len(core) + d
            n = a.shape[pos]
            if name in sizes and sizes[name] != n and 1 not in (n, sizes[name]):
                raise ValueError(f"core dimension {name!r} has lengths {sizes[name]} and {n}")
            sizes[name] = max(n, sizes.get(name, n)) if name in sizes else n
            if len(a.chunks[pos]) > 1:
                if not allow_rechunk:
                    raise ValueError(
                        f"core dimension {name!r} of input {k} is split into {len(a.chunks[pos])} blocks; "
                        "rechunk it into one block (x.rechunk({%d: -1})) or pass allow_rechunk=True" % pos)
                arrays[k] = a = a.rechunk({pos: -1})
    for name, n in (output_sizes or {}).items():
        sizes[name] = n
    for core in outs:
        for name in core:
            if name not in sizes:
                raise ValueError(f"output core dimension {name!r} appears in no input; give its "
                                 f"length in output_sizes={{{name!r}: n}}")
    # line up the loop dimensions (broadcast from the right, as numpy does)
    from shoal.array.blockwise import blockwise

    loop_ind = tuple(f"_loop{d}" for d in range(nloop))
    pairs: list = []
    for a, core in zip(arrays, ins):
        nl = a.ndim - len(core)
        pairs += [a, loop_ind[nloop - nl:] + tuple(f"_core_{c}" for c in core)]
    dtypes = _dtypes(func, arrays, ins, outs, sizes, output_dtypes, kwargs, nout)
    tmp = blockwise(_Call(func, nout, kwargs), loop_ind, *pairs, dtype=object if nout > 1 else dtypes[0],
                    concatenate=True, token="apply-gufunc")
    results = []
    for k, core in enumerate(outs):
        name = new_name("gufunc-out", tmp.name, k)
        layer: dict = {}
        tail = (0,) * len(core)
        for idx in itertools.product(*map(range, tmp.numblocks)):
            src = Ref((tmp.name, *idx)) if tmp.ndim else Ref((tmp.name,))
            node = Task(_pick, src, k) if nout > 1 else src
            key = (name, *idx, *tail)
            layer[key] = node
        if not tmp.ndim and not core:
            layer = {(name,): layer[(name,)]}
        chunks = tmp.chunks + tuple((sizes[c],) for c in core)
        out = Array(LayeredGraph.from_collections(name, layer, [tmp]), name, chunks, dtypes[k])
        if keepdims:
            for _ in range(max((len(c) for c in ins), default=0) - len(core)):
                out = out[..., None]
        if out_axes is not None:
            want = [x % out.ndim for x in out_axes[k]]
            nd = out.ndim
            out = moveaxis(out, list(range(nd - len(want), nd)), want)
        results.append(out)
    return tuple(results) if nout > 1 else results[0]


def _dtypes(func: Callable, arrays: list, ins: list, outs: list, sizes: dict, output_dtypes: Any,
            kwargs: dict, nout: int) -> list:
    if output_dtypes is not None:
        given = list(output_dtypes) if isinstance(output_dtypes, (list, tuple)) else [output_dtypes]
        if len(given) != nout:
            raise ValueError(f"output_dtypes has {len(given)} entries for {nout} outputs")
        return [np.dtype(d) for d in given]
    try:  # one trial call on a tiny input: loop dimensions of length 1
        probes = [np.ones((1,) * (a.ndim - len(core)) + tuple(int(sizes[c]) for c in core), dtype=a.dtype)
                  for a, core in zip(arrays, ins)]
        with np.errstate(all="ignore"):
            out = func(*probes, **kwargs)
        outs_ = out if nout > 1 else (out,)
        return [np.asarray(o).dtype for o in outs_]
    except Exception:
        return [np.result_type(*[a.dtype for a in arrays])] * nout


class gufunc:
    """Wraps ``pyfunc`` so calling it runs ``apply_gufunc`` with the stored signature and options."""

    def __init__(self, pyfunc: Callable, *, signature: str, vectorize: bool = False, axes: Any = None,
                 axis: Any = None, keepdims: bool = False, output_sizes: dict | None = None,
                 output_dtypes: Any = None, allow_rechunk: bool = False, meta: Any = None):
        self.pyfunc, self.signature, self.vectorize = pyfunc, signature, vectorize
        self.axes, self.axis, self.keepdims = axes, axis, keepdims
        self.output_sizes, self.output_dtypes, self.allow_rechunk = output_sizes, output_dtypes, allow_rechunk
        self.__doc__ = f"shoal gufunc with signature {signature!r} wrapping:\n\n{pyfunc.__doc__ or ''}"
        self.__name__ = getattr(pyfunc, "__name__", "gufunc")

    def __call__(self, *args: Any, allow_rechunk: bool | None = None, **kwargs: Any) -> Any:
        return apply_gufunc(self.pyfunc, self.signature, *args, vectorize=self.vectorize, axes=self.axes,
                            axis=self.axis, keepdims=self.keepdims, output_sizes=self.output_sizes,
                            output_dtypes=self.output_dtypes,
                            allow_rechunk=self.allow_rechunk if allow_rechunk is None else allow_rechunk,
                            **kwargs)


def as_gufunc(signature: str | None = None, **kwargs: Any) -> Callable:
    """Decorator: ``@as_gufunc("(i)->()")`` turns a numpy function into a :class:`gufunc`."""
    if signature is None:
        raise ValueError("as_gufunc needs a signature, e.g. @as_gufunc('(i)->()')")

    def wrap(pyfunc: Callable) -> gufunc:
        return gufunc(pyfunc, signature=signature, **kwargs)

    return wrap
