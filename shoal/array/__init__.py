"""``shoal.array``: chunked n-dimensional arrays of numpy blocks (``import shoal.array as da``).

Modules: ``core`` (the Array collection, blockwise, map_blocks),
``chunks`` (chunk normalisation), ``creation``, ``reductions`` (tree
reductions), ``slicing``, ``rechunk``, ``routines`` (shape routines),
``linalg`` (products), ``overlap`` (map_overlap), ``random`` (per-block
SFC64/PCG64 streams), ``io`` (store, npy stacks), ``ufunc`` (numpy ufuncs).
"""
from __future__ import annotations

from shoal.array import fft, linalg, random  # noqa: F401  (da.random.normal, da.linalg.qr, da.fft.fft)
from shoal.array import ma  # noqa: F401  (da.ma.masked_equal, da.ma.filled)
from shoal.array.chunks import normalize_chunks
from shoal.array.arrange import meshgrid, repeat, roll, tile, tril, triu
from shoal.array.pad import pad
from shoal.array.blockwise import blockwise, elemwise, map_blocks
from shoal.array.core import Array, PerformanceWarning
from shoal.base import compute, persist
from shoal.array.counting import (argwhere, bincount, digitize, flatnonzero, histogram, isin,
                                  nonzero, unique)
from shoal.array.creation import (arange, asanyarray, asarray, block, concatenate, diag, empty,
                                  empty_like, eye, from_array, from_delayed, fromfunction, full,
                                  full_like, indices, linspace, ones, ones_like, stack, tri, zeros,
                                  zeros_like)
from shoal.array.io import from_npy_stack, store, to_npy_stack
from shoal.array.gufunc import apply_gufunc, as_gufunc, gufunc
from shoal.array.numeric import (coarsen, corrcoef, cov, diff, ediff1d, histogram2d, histogramdd,
                                 searchsorted)
from shoal.array.storage import H5Dataset, from_zarr, to_hdf5, to_zarr
from shoal.array.windows import sliding_window_view
from shoal.array.linalg import dot, einsum, inner, matmul, outer, tensordot, vdot
from shoal.array.order_stats import (argtopk, median, nanmedian, nanpercentile, nanquantile,
                                     percentile, quantile, topk)
from shoal.array.overlap import map_overlap, overlap, trim_internal
from shoal.array.rechunk import rechunk
from shoal.array.reductions import (all, any, argmax, argmin, average, count_nonzero, cumprod, moment,
                                    cumsum, max, mean, min, nanargmax, nanargmin, nancumprod,
                                    nancumsum, nanmax, nanmean, nanmin, nanprod, nanstd, nansum,
                                    nanvar, prod, ptp, reduction, std, sum, var)
from shoal.array.routines import (allclose, append, apply_along_axis, around, atleast_1d,
                                  atleast_2d, broadcast_arrays, broadcast_to, clip, diagonal,
                                  dstack, flip, fliplr, flipud, hstack, isclose, isnull,
                                  moveaxis, nan_to_num, notnull, ravel, reshape, result_type,
                                  rollaxis, round, squeeze, swapaxes, take, trace, transpose,
                                  vstack, where)
from shoal.array.routines import expand_dims
from shoal.array.ufunc import *  # noqa: F401,F403  (sin, exp, maximum, ...)
from shoal.array.ufunc import __all__ as _ufunc_all
from shoal.array import _methods  # noqa: F401  (binds x.sum(), x.reshape(), ...)
from shoal.array.aliases import CONSTANTS as _CONSTANTS, DTYPES as _DTYPES, array, unsupported as _unsupported

globals().update(_CONSTANTS)
globals().update(_DTYPES)


def __getattr__(name: str):
    """A numpy name shoal lacks: NotImplementedError (and AttributeError) saying what to do."""
    import numpy as _np

    if not name.startswith("_") and hasattr(_np, name):
        raise _unsupported(name)
    raise AttributeError(f"module 'shoal.array' has no attribute {name!r}")

__all__ = [
    "Array", "blockwise", "elemwise", "map_blocks", "apply_gufunc", "as_gufunc", "gufunc",
    "coarsen", "corrcoef", "cov", "diff", "ediff1d", "histogram2d", "histogramdd", "searchsorted", "map_overlap", "overlap", "trim_internal",
    "normalize_chunks", "random", "linalg", "fft", "ma",
    "array", "from_array", "asarray", "asanyarray", "from_delayed", "from_npy_stack", "to_npy_stack", "store",
    "from_zarr", "to_zarr", "to_hdf5", "H5Dataset", "sliding_window_view", "PerformanceWarning",
    "compute", "persist",
    "zeros", "ones", "full", "empty", "zeros_like", "ones_like", "full_like", "empty_like",
    "arange", "linspace", "eye", "diag", "tri", "fromfunction", "indices",
    "concatenate", "stack", "block", "hstack", "vstack", "dstack", "append",
    "rechunk", "reduction",
    "sum", "prod", "mean", "var", "std", "min", "max", "any", "all", "argmin", "argmax",
    "nansum", "nanprod", "nanmean", "nanvar", "nanstd", "nanmin", "nanmax", "nanargmin",
    "nanargmax", "count_nonzero", "ptp", "moment", "average", "cumsum", "cumprod", "nancumsum", "nancumprod",
    "transpose", "swapaxes", "moveaxis", "rollaxis", "reshape", "ravel", "squeeze", "expand_dims",
    "where", "clip", "round", "around", "broadcast_to", "broadcast_arrays", "diagonal", "trace",
    "isclose", "allclose", "atleast_1d", "atleast_2d", "flip", "fliplr", "flipud", "isnull",
    "notnull", "nan_to_num", "apply_along_axis", "take", "result_type",
    "dot", "matmul", "tensordot", "outer", "inner", "vdot", "einsum",
    "roll", "repeat", "tile", "pad", "triu", "tril", "meshgrid",
    "median", "nanmedian", "quantile", "nanquantile", "percentile", "nanpercentile", "topk", "argtopk",
    "histogram", "bincount", "unique", "isin", "digitize", "nonzero", "argwhere", "flatnonzero",
    *_ufunc_all,
]

from shoal.array.docs import fill_docstrings as _fill_docstrings

_fill_docstrings(__import__("shoal.array", fromlist=["_"]))
