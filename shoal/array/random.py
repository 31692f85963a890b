"""Random arrays with one independent stream per block.

``default_rng(seed)`` returns a :class:`Generator`.  Every array it draws
gets its own branch of the seed's ``numpy.random.SeedSequence`` tree:
block number ``k`` (C order over the block grid) of the ``n``-th array drawn
uses ``SeedSequence(entropy, spawn_key=(n, k))``.  So the numbers depend
only on the seed, the call order and the chunking -- never on the scheduler,
the number of workers or the order blocks run in -- and streams of
different blocks are statistically independent (SeedSequence's guarantee).

Blocks are drawn with numpy's ``Generator`` straight into a preallocated
float64 block (``standard_normal(out=...)``, then scaled in place), or, when
a reduction consumes the block, slab by slab in cache (``draw_reduce``).
The bit generator is ``SFC64`` by default (256-bit state, so SeedSequence
spawning gives independent streams as for PCG64; on the machines measured
its normals cost ~9 ns against PCG64's ~11 and the legacy MT19937
``RandomState`` Dask uses at ~15); ``bit_generator=`` or the config key
``array.random.bit-generator`` picks another, and the name travels with
every task.  The module-level functions (``normal``, ``random``, ``uniform``
...; the tutorial's ``da.random.normal(0, 1, size=..., chunks=...)``) draw
from a fresh-entropy Generator per call; ``RandomState(seed)`` is the same
machinery under the legacy method names.
"""
from __future__ import annotations

import itertools
from typing import Any

import numpy as np

from shoal.core.graph import LayeredGraph
from shoal.core.task import Ref, Task
from shoal.core.tokenize import tokenize

from shoal.array.chunks import chunk_bounds, normalize_chunks
from shoal.array.core import Array

__all__ = [
    "Generator", "default_rng", "RandomState", "normal", "standard_normal", "random", "random_sample",
    "uniform", "integers", "randint", "exponential", "standard_exponential", "poisson", "binomial",
    "choice", "beta", "gamma", "standard_gamma", "chisquare", "lognormal", "logistic", "laplace",
    "gumbel", "geometric", "negative_binomial", "rand", "randn", "seed", "triangular", "weibull",
    "pareto", "rayleigh", "f", "standard_t", "standard_cauchy", "vonmises", "wald", "zipf",
    "hypergeometric", "logseries", "noncentral_chisquare", "noncentral_f", "power",
    "multinomial", "random_integers", "permutation",
]


#: Bit generators a Generator may use; the name travels in every task, so a
#: graph draws the same numbers on any worker whatever its configuration.
BIT_GENERATORS = {"SFC64": np.random.SFC64, "PCG64": np.random.PCG64, "PCG64DXSM": np.random.PCG64DXSM,
                  "Philox": np.random.Philox}


def _bit_generator_name(name: Any = None) -> str:
    if name is None:
        from shoal import config

        name = config.get("array.random.bit-generator", "SFC64")
    if isinstance(name, type) and issubclass(name, np.random.BitGenerator):
        name = name.__name__
    if name not in BIT_GENERATORS:
        raise ValueError(f"bit_generator={name!r} is not one of {sorted(BIT_GENERATORS)}; "
                         "e.g. default_rng(seed, bit_generator='PCG64')")
    return name


def _rng(stream: tuple) -> np.random.Generator:
    """``stream`` is ``(bit generator name, entropy, spawn_key)``."""
    bitgen, entropy, spawn_key = stream
    return np.random.Generator(BIT_GENERATORS[bitgen](np.random.SeedSequence(entropy, spawn_key=spawn_key)))


def _block_args(args: tuple, shape: tuple, sl: tuple) -> tuple:
    """Slice array-valued parameters (broadcast to the full shape) to one block."""
    out = []
    for a in args:
        if isinstance(a, np.ndarray) and a.ndim:
            out.append(np.broadcast_to(a, shape)[sl])
        else:
            out.append(a)
    return tuple(out)


def _draw(method: str, stream: tuple, shape: tuple, args: tuple, kwargs: dict) -> np.ndarray:
    g = _rng(stream)
    if method == "normal" and all(np.ndim(a) == 0 for a in args) and not kwargs.get("dtype"):
        loc, scale = (list(args) + [0.0, 1.0][len(args):])[:2]
        loc = kwargs.get("loc", loc)
        scale = kwargs.get("scale", scale)
        out = np.empty(shape, dtype=np.float64)
        g.standard_normal(out=out)  # straight into the block: no temporary
        if scale != 1:
            out *= scale
        if loc != 0:
            out += loc
        return out
    if method == "standard_normal":
        out = np.empty(shape, dtype=kwargs.get("dtype", np.float64))
        g.standard_normal(out=out, dtype=out.dtype)
        return out
    if method == "random":
        out = np.empty(shape, dtype=kwargs.get("dtype", np.float64))
        g.random(out=out, dtype=out.dtype)
        return out
    if method in _TRAILING:
        return getattr(g, method[1:])(*args, size=shape[:-1], **kwargs)
    if method == "_choice":
        a, p = kwargs["pool"], kwargs["p"]
        idx = g.choice(len(a) if np.ndim(a) else int(a), size=shape, replace=True, p=p)
        return np.asarray(a)[idx] if np.ndim(a) else idx
    return getattr(g, method)(*args, size=shape, **kwargs)


#: Distributions whose draws add one trailing dimension (numpy's size=... then (k,)).
_TRAILING = ("_multinomial", "_multivariate_hypergeometric")

#: Bytes per slab when a block is drawn and reduced in one task (fits in cache).
SLAB_BYTES = 1 << 20
_SLAB_METHODS = ("normal", "standard_normal", "random")


def _concat_partials(parts: list) -> Any:
    """Join slab partials along axis 0 (the slabs' axis, which is not reduced)."""
    first = parts[0]
    if isinstance(first, tuple):
        return tuple(_concat_partials([p[i] for p in parts]) for i in range(len(first)))
    if isinstance(first, np.ndarray) and first.ndim:
        return np.concatenate(parts, axis=0)
    return first  # a count that does not depend on the slab (same for all)


def draw_reduce(method: str, stream: tuple, shape: tuple, args: tuple, kwargs: dict,
                chunk: Any, combine: Any, axes: tuple) -> Any:
    """A block's reduction partial, drawing the block slab by slab in cache.

    Gives the same numbers as drawing the whole block (the stream is consumed
    in the same C order), without ever holding the block: a 200 MB block
    costs a 1 MB buffer, no page faults and no trip through main memory.
    """
    row = int(np.prod(shape[1:], dtype=np.int64)) * 8 if len(shape) > 1 else 8
    rows = max(1, SLAB_BYTES // max(row, 1))
    if method not in _SLAB_METHODS or not shape or shape[0] <= rows or \
            any(isinstance(a, np.ndarray) and a.ndim for a in args) or kwargs.get("dtype") not in (None, np.float64):
        return chunk(_draw(method, stream, shape, args, kwargs), axes)
    g = _rng(stream)
    loc, scale = 0.0, 1.0
    if method == "normal":
        loc, scale = (list(args) + [0.0, 1.0][len(args):])[:2]
    buf = np.empty((rows,) + tuple(shape[1:]), dtype=np.float64)
    parts = []
    for lo in range(0, shape[0], rows):
        n = min(rows, shape[0] - lo)
        view = buf[:n]
        if method == "random":
            g.random(out=view)
        else:
            g.standard_normal(out=view)
            if scale != 1:
                view *= scale
            if loc != 0:
                view += loc
        parts.append(chunk(view, axes))
    if 0 in axes:
        return combine(parts, axes) if len(parts) > 1 else parts[0]
    return _concat_partials(parts)


def is_draw_task(node: Any) -> bool:
    return type(node) is Task and node.func is _draw


class Generator:
    """Drop-in for ``numpy.random.Generator`` that returns chunked arrays.

    ``Generator(seed)``: ``seed`` is an int, a sequence of ints, a
    ``numpy.random.SeedSequence``, or None for fresh OS entropy.
    ``bit_generator``: ``'SFC64'`` (the default, from the config key
    ``array.random.bit-generator``: the fastest of numpy's), ``'PCG64'``
    (numpy's own default), ``'PCG64DXSM'`` or ``'Philox'``; a numpy
    Generator or BitGenerator passed as ``seed`` keeps its kind.
    """

    def __init__(self, seed: Any = None, bit_generator: Any = None):
        if isinstance(seed, type) and issubclass(seed, np.random.BitGenerator):
            # Generator(np.random.PCG64): the kind of stream, fresh entropy
            seed, bit_generator = None, seed if bit_generator is None else bit_generator
        if bit_generator is None and isinstance(seed, np.random.Generator):
            bit_generator = type(seed.bit_generator)
        if bit_generator is None and isinstance(seed, np.random.BitGenerator):
            bit_generator = type(seed)
        if bit_generator is None and isinstance(seed, Generator):
            bit_generator = seed._bitgen
        self._bitgen = _bit_generator_name(bit_generator)
        if isinstance(seed, Generator):
            seed = seed._seq
        if isinstance(seed, np.random.Generator):
            seed = seed.bit_generator.seed_seq
        if isinstance(seed, np.random.BitGenerator):
            seed = seed.seed_seq
        if isinstance(seed, np.random.SeedSequence):
            self._seq = seed
        else:
            self._seq = np.random.SeedSequence(seed)
        self._calls = 0

    def __repr__(self) -> str:
        return f"shoal.array.random.Generator({self._bitgen}, entropy={self._seq.entropy})"

    def _wrap(self, method: str, /, *args: Any, size: Any = None, chunks: Any = "auto", dtype: Any = None,
              trailing: int | None = None, **kwargs: Any) -> Array:
        lazy = [a for a in args if isinstance(a, Array)]
        if size is None:
            shapes = [tuple(a.shape) if isinstance(a, Array) else np.shape(a) for a in args
                      if (a.ndim if isinstance(a, Array) else np.ndim(a))]
            size = np.broadcast_shapes(*shapes) if shapes else ()
        if isinstance(size, (int, np.integer)):
            size = (int(size),)
        size = tuple(int(s) for s in size)
        args = tuple(np.asarray(a) if isinstance(a, (list, tuple)) else a for a in args)
        for a in args:
            if (isinstance(a, np.ndarray) or isinstance(a, Array)) and a.ndim:
                try:
                    if np.broadcast_shapes(tuple(a.shape), size) != size:
                        raise ValueError
                except ValueError:
                    raise ValueError(f"parameter of shape {tuple(a.shape)} does not broadcast to size={size}") from None
        if dtype is not None:
            kwargs["dtype"] = dtype
        probe_args = tuple(np.ones(1, a.dtype) if isinstance(a, Array) else
                           (a.ravel()[:1] if isinstance(a, np.ndarray) and a.ndim else a) for a in args)
        if method == "_choice":
            a = kwargs["pool"]
            out_dtype = np.asarray(a).dtype if np.ndim(a) else np.dtype(np.int64)
        elif method in _TRAILING:
            out_dtype = getattr(np.random.default_rng(0), method[1:])(*probe_args, size=1, **kwargs).dtype
        else:
            out_dtype = getattr(np.random.default_rng(0), method)(*probe_args, size=1, **kwargs).dtype
        if trailing is not None and isinstance(chunks, (tuple, list)) and len(chunks) == len(size) + 1:
            chunks = tuple(chunks)[:-1]
        chunks = normalize_chunks(chunks, size, dtype=out_dtype)
        # shoal Array parameters: lined up with the output's blocks
        if lazy:
            from shoal.array.routines import broadcast_to

            args = tuple(broadcast_to(a, size).rechunk(chunks) if isinstance(a, Array) else a for a in args)
        call = self._calls
        self._calls += 1
        entropy = self._seq.entropy
        base = tuple(self._seq.spawn_key)
        name = f"{method.strip('_')}-{tokenize(method, self._bitgen, entropy, base, call, size, chunks, args, kwargs)}"
        layer: dict = {}
        bounds = [chunk_bounds(c) for c in chunks]
        has_arrays = any(isinstance(a, np.ndarray) and a.ndim for a in args)
        tail = (trailing,) if trailing is not None else ()
        for k, idx in enumerate(itertools.product(*[range(len(c)) for c in chunks])):
            shape = tuple(c[i] for c, i in zip(chunks, idx))
            bargs = args
            if has_arrays:
                sl = tuple(slice(b[i], b[i + 1]) for b, i in zip(bounds, idx))
                bargs = _block_args(args, size, sl)
            if lazy:
                bargs = tuple(Ref((a.name, *idx)) if isinstance(a, Array) else a for a in bargs)
            layer[(name, *idx, *((0,) if tail else ()))] = Task(
                _draw, method, (self._bitgen, entropy, base + (call, k)), shape + tail, bargs, kwargs)
        if not size:
            bargs = tuple(Ref((a.name,)) if isinstance(a, Array) else a for a in args)
            key = (name, 0) if tail else (name,)
            layer = {key: Task(_draw, method, (self._bitgen, entropy, base + (call, 0)), tail, bargs, kwargs)}
        graph = LayeredGraph.from_collections(name, layer, [a for a in args if isinstance(a, Array)]) if lazy \
            else LayeredGraph({name: layer})
        return Array(graph, name, chunks + (((trailing,),) if tail else ()), out_dtype)

    # -- distributions (numpy's Generator names and argument order) --------------
    def normal(self, loc: Any = 0.0, scale: Any = 1.0, size: Any = None, chunks: Any = "auto", **kw: Any) -> Array:
        return self._wrap("normal", loc, scale, size=size, chunks=chunks, **kw)

    def standard_normal(self, size: Any = None, dtype: Any = np.float64, chunks: Any = "auto", **kw: Any) -> Array:
        return self._wrap("standard_normal", size=size, chunks=chunks, dtype=dtype, **kw)

    def random(self, size: Any = None, dtype: Any = np.float64, chunks: Any = "auto", **kw: Any) -> Array:
        return self._wrap("random", size=size, chunks=chunks, dtype=dtype, **kw)

    def uniform(self, low: Any = 0.0, high: Any = 1.0, size: Any = None, chunks: Any = "auto", **kw: Any) -> Array:
        return self._wrap("uniform", low, high, size=size, chunks=chunks, **kw)

    def integers(self, low: Any, high: Any = None, size: Any = None, dtype: Any = np.int64,
                 endpoint: bool = False, chunks: Any = "auto", **kw: Any) -> Array:
        return self._wrap("integers", low, high, size=size, chunks=chunks, dtype=dtype, endpoint=endpoint, **kw)

    def choice(self, a: Any, size: Any = None, replace: bool = True, p: Any = None, chunks: Any = "auto",
               axis: int = 0, shuffle: bool = True, **kw: Any) -> Array:
        """Samples from ``a`` (an int n means ``arange(n)``), like numpy's ``choice``.

        With replacement every block draws on its own; without replacement
        the sample is one global draw, so the output must be a single block
        (``chunks=-1``).
        """
        if axis != 0:
            raise ValueError("choice: axis must be 0 (a is 1-d)")
        if isinstance(a, Array):
            a = a.compute()
        if isinstance(p, Array):
            p = p.compute()
        if np.ndim(a) == 0:
            n = int(a)
            if n < 0:
                raise ValueError("choice: a must be a non-negative integer or a non-empty 1-d array")
        else:
            a = np.asarray(a)
            if a.ndim != 1:
                raise ValueError(f"choice: a must be 1-dimensional, got {a.ndim} dimensions")
            n = len(a)
        if n == 0 and (size is None or int(np.prod(size)) > 0):
            raise ValueError("choice: a must be non-empty")
        if p is not None:
            p = np.asarray(p, dtype=float)
            if p.ndim != 1:
                raise ValueError("choice: p must be 1-dimensional")
            if p.shape != (n,):
                raise ValueError(f"choice: p has shape {p.shape}, expected ({n},)")
            if np.any(p < 0) or not np.isclose(p.sum(), 1.0):
                raise ValueError("choice: probabilities p must be non-negative and sum to 1")
        if not replace:
            shape = (int(size),) if isinstance(size, (int, np.integer)) else tuple(size or ())
            total = int(np.prod(shape)) if shape else 1
            if total > n:
                raise ValueError(f"cannot take {total} samples from {n} without replacement")
            grid = normalize_chunks(chunks, shape, dtype=np.float64)
            if any(len(c) > 1 for c in grid):
                raise NotImplementedError(
                    "choice(replace=False) draws one global sample, so the output is one block; "
                    "pass chunks=-1 (and rechunk the result if needed)")
            return self._wrap("choice", size=size, chunks=-1, a=a, replace=False, p=p)
        # keywords, not positional parameters: these are never broadcast to the blocks
        return self._wrap("_choice", size=size, chunks=chunks, pool=a, p=p)

    def multinomial(self, n: Any, pvals: Any, size: Any = None, chunks: Any = "auto", **kw: Any) -> Array:
        """Multinomial counts: shape ``size + (len(pvals),)``, the last axis one block."""
        pvals = np.asarray(pvals, dtype=float)
        if pvals.ndim != 1:
            raise NotImplementedError("multinomial with n-d pvals is not supported; pass a 1-d pvals")
        return self._wrap("_multinomial", n, size=size, chunks=chunks, trailing=len(pvals), pvals=pvals, **kw)

    def multivariate_hypergeometric(self, colors: Any, nsample: int, size: Any = None, method: str = "marginals",
                                    chunks: Any = "auto", **kw: Any) -> Array:
        """numpy's ``multivariate_hypergeometric``: shape ``size + (len(colors),)``."""
        colors = np.asarray(colors)
        return self._wrap("_multivariate_hypergeometric", size=size, chunks=chunks, trailing=len(colors),
                          colors=colors, nsample=int(nsample), **{"method": method}, **kw)

    def exponential(self, scale: Any = 1.0, size: Any = None, chunks: Any = "auto", **kw: Any) -> Array:
        return self._wrap("exponential", scale, size=size, chunks=chunks, **kw)

    def standard_exponential(self, size: Any = None, chunks: Any = "auto", **kw: Any) -> Array:
        return self._wrap("standard_exponential", size=size, chunks=chunks, **kw)

    def poisson(self, lam: Any = 1.0, size: Any = None, chunks: Any = "auto", **kw: Any) -> Array:
        return self._wrap("poisson", lam, size=size, chunks=chunks, **kw)

    def binomial(self, n: Any, p: Any, size: Any = None, chunks: Any = "auto", **kw: Any) -> Array:
        return self._wrap("binomial", n, p, size=size, chunks=chunks, **kw)

    def beta(self, a: Any, b: Any, size: Any = None, chunks: Any = "auto", **kw: Any) -> Array:
        return self._wrap("beta", a, b, size=size, chunks=chunks, **kw)

    def gamma(self, shape: Any, scale: Any = 1.0, size: Any = None, chunks: Any = "auto", **kw: Any) -> Array:
        return self._wrap("gamma", shape, scale, size=size, chunks=chunks, **kw)

    def standard_gamma(self, shape: Any, size: Any = None, chunks: Any = "auto", **kw: Any) -> Array:
        return self._wrap("standard_gamma", shape, size=size, chunks=chunks, **kw)

    def chisquare(self, df: Any, size: Any = None, chunks: Any = "auto", **kw: Any) -> Array:
        return self._wrap("chisquare", df, size=size, chunks=chunks, **kw)

    def lognormal(self, mean: Any = 0.0, sigma: Any = 1.0, size: Any = None, chunks: Any = "auto", **kw: Any) -> Array:
        return self._wrap("lognormal", mean, sigma, size=size, chunks=chunks, **kw)

    def logistic(self, loc: Any = 0.0, scale: Any = 1.0, size: Any = None, chunks: Any = "auto", **kw: Any) -> Array:
        return self._wrap("logistic", loc, scale, size=size, chunks=chunks, **kw)

    def laplace(self, loc: Any = 0.0, scale: Any = 1.0, size: Any = None, chunks: Any = "auto", **kw: Any) -> Array:
        return self._wrap("laplace", loc, scale, size=size, chunks=chunks, **kw)

    def gumbel(self, loc: Any = 0.0, scale: Any = 1.0, size: Any = None, chunks: Any = "auto", **kw: Any) -> Array:
        return self._wrap("gumbel", loc, scale, size=size, chunks=chunks, **kw)

    def geometric(self, p: Any, size: Any = None, chunks: Any = "auto", **kw: Any) -> Array:
        return self._wrap("geometric", p, size=size, chunks=chunks, **kw)

    def negative_binomial(self, n: Any, p: Any, size: Any = None, chunks: Any = "auto", **kw: Any) -> Array:
        return self._wrap("negative_binomial", n, p, size=size, chunks=chunks, **kw)

    def triangular(self, left: Any, mode: Any, right: Any, size: Any = None, chunks: Any = "auto", **kw: Any) -> Array:
        return self._wrap("triangular", left, mode, right, size=size, chunks=chunks, **kw)

    def weibull(self, a: Any, size: Any = None, chunks: Any = "auto", **kw: Any) -> Array:
        return self._wrap("weibull", a, size=size, chunks=chunks, **kw)

    def pareto(self, a: Any, size: Any = None, chunks: Any = "auto", **kw: Any) -> Array:
        return self._wrap("pareto", a, size=size, chunks=chunks, **kw)

    def power(self, a: Any, size: Any = None, chunks: Any = "auto", **kw: Any) -> Array:
        return self._wrap("power", a, size=size, chunks=chunks, **kw)

    def rayleigh(self, scale: Any = 1.0, size: Any = None, chunks: Any = "auto", **kw: Any) -> Array:
        return self._wrap("rayleigh", scale, size=size, chunks=chunks, **kw)

    def f(self, dfnum: Any, dfden: Any, size: Any = None, chunks: Any = "auto", **kw: Any) -> Array:
        return self._wrap("f", dfnum, dfden, size=size, chunks=chunks, **kw)

    def standard_t(self, df: Any, size: Any = None, chunks: Any = "auto", **kw: Any) -> Array:
        return self._wrap("standard_t", df, size=size, chunks=chunks, **kw)

    def standard_cauchy(self, size: Any = None, chunks: Any = "auto", **kw: Any) -> Array:
        return self._wrap("standard_cauchy", size=size, chunks=chunks, **kw)

    def vonmises(self, mu: Any, kappa: Any, size: Any = None, chunks: Any = "auto", **kw: Any) -> Array:
        return self._wrap("vonmises", mu, kappa, size=size, chunks=chunks, **kw)

    def wald(self, mean: Any, scale: Any, size: Any = None, chunks: Any = "auto", **kw: Any) -> Array:
        return self._wrap("wald", mean, scale, size=size, chunks=chunks, **kw)

    def zipf(self, a: Any, size: Any = None, chunks: Any = "auto", **kw: Any) -> Array:
        return self._wrap("zipf", a, size=size, chunks=chunks, **kw)

    def hypergeometric(self, ngood: Any, nbad: Any, nsample: Any, size: Any = None, chunks: Any = "auto", **kw: Any) -> Array:
        return self._wrap("hypergeometric", ngood, nbad, nsample, size=size, chunks=chunks, **kw)

    def logseries(self, p: Any, size: Any = None, chunks: Any = "auto", **kw: Any) -> Array:
        return self._wrap("logseries", p, size=size, chunks=chunks, **kw)

    def noncentral_chisquare(self, df: Any, nonc: Any, size: Any = None, chunks: Any = "auto", **kw: Any) -> Array:
        return self._wrap("noncentral_chisquare", df, nonc, size=size, chunks=chunks, **kw)

    def noncentral_f(self, dfnum: Any, dfden: Any, nonc: Any, size: Any = None, chunks: Any = "auto", **kw: Any) -> Array:
        return self._wrap("noncentral_f", dfnum, dfden, nonc, size=size, chunks=chunks, **kw)

    def permutation(self, x: Any) -> Array:
        """``x`` (or ``arange(x)``) with its first axis in random order.

        The permutation is global, so it is drawn here (n integers, tiny next
        to the data) and applied lazily as a gather.
        """
        from shoal.array.creation import arange, asarray

        if isinstance(x, (int, np.integer)):
            x = arange(int(x))
        x = asarray(x)
        call = self._calls
        self._calls += 1
        perm = _rng((self._bitgen, self._seq.entropy, tuple(self._seq.spawn_key) + (call,))).permutation(int(x.shape[0]))
        return x[perm]


class RandomState(Generator):
    """Compatibility spelling: legacy method names on the same per-block streams."""

    def seed(self, seed: Any = None) -> None:
        self.__init__(seed, self._bitgen)

    def random_sample(self, size: Any = None, chunks: Any = "auto", **kw: Any) -> Array:
        return self.random(size=size, chunks=chunks, **kw)

    def rand(self, *shape: int, chunks: Any = "auto") -> Array:
        return self.random(size=shape, chunks=chunks)

    def randn(self, *shape: int, chunks: Any = "auto") -> Array:
        return self.standard_normal(size=shape, chunks=chunks)

    def randint(self, low: Any, high: Any = None, size: Any = None, dtype: Any = int, chunks: Any = "auto", **kw: Any) -> Array:
        return self.integers(low, high, size=size, dtype=dtype, chunks=chunks, **kw)

    def random_integers(self, low: Any, high: Any = None, size: Any = None, chunks: Any = "auto") -> Array:
        """Integers in ``[low, high]`` (deprecated in numpy: use ``randint(low, high + 1)``)."""
        import warnings

        warnings.warn("random_integers is deprecated (as in numpy); use randint(low, high + 1)",
                      DeprecationWarning, stacklevel=2)
        if high is None:
            low, high = 1, low
        return self.integers(low, high, size=size, endpoint=True, chunks=chunks)

    def tomaxint(self, size: Any = None, chunks: Any = "auto") -> Array:
        return self.integers(0, np.iinfo(np.int64).max, size=size, chunks=chunks)


def default_rng(seed: Any = None, bit_generator: Any = None) -> Generator:
    """A Generator (an independent stream per block) seeded by ``seed``; see :class:`Generator`."""
    return Generator(seed, bit_generator)


# -- module-level functions: a fresh-entropy Generator per call ----------------------

#: Set by ``seed(n)``: module-level draws then come from this one seeded state
#: (deterministic in call order); None draws fresh entropy per call.
_GLOBAL: list = [None]


def _module_level(method: str):
    def func(*args: Any, **kwargs: Any) -> Array:
        state = _GLOBAL[0] if _GLOBAL[0] is not None else RandomState(None)
        return getattr(state, method)(*args, **kwargs)

    func.__name__ = method
    func.__qualname__ = method
    func.__doc__ = (f"``{method}(...)`` like numpy's, returning a shoal Array; every call draws "
                    f"fresh entropy and every block its own stream.")
    return func


normal = _module_level("normal")
standard_normal = _module_level("standard_normal")
random = _module_level("random")
random_sample = _module_level("random_sample")
uniform = _module_level("uniform")
integers = _module_level("integers")
randint = _module_level("randint")
exponential = _module_level("exponential")
standard_exponential = _module_level("standard_exponential")
poisson = _module_level("poisson")
binomial = _module_level("binomial")
choice = _module_level("choice")
beta = _module_level("beta")
gamma = _module_level("gamma")
standard_gamma = _module_level("standard_gamma")
chisquare = _module_level("chisquare")
lognormal = _module_level("lognormal")
logistic = _module_level("logistic")
laplace = _module_level("laplace")
gumbel = _module_level("gumbel")
geometric = _module_level("geometric")
negative_binomial = _module_level("negative_binomial")
rand = _module_level("rand")
randn = _module_level("randn")
triangular = _module_level("triangular")
weibull = _module_level("weibull")
pareto = _module_level("pareto")
power = _module_level("power")
rayleigh = _module_level("rayleigh")
f = _module_level("f")
standard_t = _module_level("standard_t")
standard_cauchy = _module_level("standard_cauchy")
vonmises = _module_level("vonmises")
wald = _module_level("wald")
zipf = _module_level("zipf")
hypergeometric = _module_level("hypergeometric")
logseries = _module_level("logseries")
noncentral_chisquare = _module_level("noncentral_chisquare")
noncentral_f = _module_level("noncentral_f")
multinomial = _module_level("multinomial")
random_integers = _module_level("random_integers")
permutation = _module_level("permutation")


def seed(seed: Any = None) -> None:
    """Seed the module-level functions (``normal``, ``random``, ...).

    After ``seed(n)`` they draw from one ``RandomState(n)``, so the same
    sequence of calls gives the same arrays (each block still has its own
    stream); ``seed(None)`` goes back to fresh entropy per call.  A local
    ``default_rng(n)`` is the better habit: it does not depend on other code's
    calls.
    """
    _GLOBAL[0] = None if seed is None else RandomState(seed)
