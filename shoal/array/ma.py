"""``shoal.array.ma``: masked arrays, one ``numpy.ma.MaskedArray`` per block.

Every function here maps the matching ``numpy.ma`` function over the blocks,
so masks live inside the blocks and travel with them; joining masked blocks
(``compute``, rechunk) keeps the masks, and numpy's reductions on masked
blocks skip masked elements.  ``count`` and ``average`` are tree reductions
that read the masks explicitly.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from shoal.array.blockwise import as_array, map_blocks
from shoal.array.core import Array

__all__ = [
    "masked_equal", "masked_greater", "masked_greater_equal", "masked_less", "masked_less_equal",
    "masked_not_equal", "masked_inside", "masked_outside", "masked_where", "masked_invalid",
    "masked_values", "masked_array", "getmaskarray", "getdata", "filled", "fix_invalid",
    "set_fill_value", "average", "empty_like", "ones_like", "zeros_like", "count",
]


def _scalar(value: Any, fname: str) -> Any:
    if isinstance(value, Array) or np.ndim(value) != 0:
        raise NotImplementedError(f"shoal.array.ma.{fname} takes a scalar value; for an array of "
                                  "values use shoal.array.ma.masked_where(x == values, x)")
    return value


def masked_equal(x: Any, value: Any) -> Array:
    """``x`` with elements equal to ``value`` masked (``numpy.ma.masked_equal``)."""
    return map_blocks(np.ma.masked_equal, as_array(x), _scalar(value, "masked_equal"))


def masked_not_equal(x: Any, value: Any) -> Array:
    """``x`` with elements not equal to ``value`` masked."""
    return map_blocks(np.ma.masked_not_equal, as_array(x), _scalar(value, "masked_not_equal"))


def masked_greater(x: Any, value: Any) -> Array:
    """``x`` with elements greater than ``value`` masked."""
    return map_blocks(np.ma.masked_greater, as_array(x), _scalar(value, "masked_greater"))


def masked_greater_equal(x: Any, value: Any) -> Array:
    """``x`` with elements greater than or equal to ``value`` masked."""
    return map_blocks(np.ma.masked_greater_equal, as_array(x), _scalar(value, "masked_greater_equal"))


def masked_less(x: Any, value: Any) -> Array:
    """``x`` with elements less than ``value`` masked."""
    return map_blocks(np.ma.masked_less, as_array(x), _scalar(value, "masked_less"))


def masked_less_equal(x: Any, value: Any) -> Array:
    """``x`` with elements less than or equal to ``value`` masked."""
    return map_blocks(np.ma.masked_less_equal, as_array(x), _scalar(value, "masked_less_equal"))


def masked_inside(x: Any, v1: Any, v2: Any) -> Array:
    """``x`` with elements in the closed interval between ``v1`` and ``v2`` masked."""
    return map_blocks(np.ma.masked_inside, as_array(x), _scalar(v1, "masked_inside"),
                      _scalar(v2, "masked_inside"))


def masked_outside(x: Any, v1: Any, v2: Any) -> Array:
    """``x`` with elements outside the closed interval between ``v1`` and ``v2`` masked."""
    return map_blocks(np.ma.masked_outside, as_array(x), _scalar(v1, "masked_outside"),
                      _scalar(v2, "masked_outside"))


def _masked_where(condition: np.ndarray, a: np.ndarray) -> np.ndarray:
    return np.ma.masked_where(condition, a)


def masked_where(condition: Any, a: Any) -> Array:
    """``a`` masked where ``condition`` is true; both must have the same shape, as in numpy."""
    cshape = getattr(condition, "shape", np.shape(condition))
    a = as_array(a)
    if tuple(cshape) != tuple(a.shape):
        raise IndexError(f"Inconsistent shape between the condition {tuple(cshape)} and the input "
                         f"{a.shape} (the condition must have the array's shape)")
    condition = as_array(condition)
    return map_blocks(_masked_where, condition, a, dtype=a.dtype)


def masked_invalid(a: Any) -> Array:
    """``a`` with NaN and infinite elements masked."""
    return map_blocks(np.ma.masked_invalid, as_array(a))


def _masked_values(x: np.ndarray, value: Any, rtol: float, atol: float, shrink: bool) -> np.ndarray:
    return np.ma.masked_values(x, value, rtol=rtol, atol=atol, shrink=shrink)


def masked_values(x: Any, value: Any, rtol: float = 1e-05, atol: float = 1e-08,
                  shrink: bool = True) -> Array:
    """``x`` with elements close to ``value`` masked (floats within ``rtol``/``atol``, else equal)."""
    return map_blocks(_masked_values, as_array(x), _scalar(value, "masked_values"), rtol, atol, shrink)


def _masked_array(data: np.ndarray, mask: Any = np.ma.nomask, **kwargs: Any) -> np.ndarray:
    return np.ma.masked_array(data, mask=mask, **kwargs)


def masked_array(data: Any, mask: Any = np.ma.nomask, fill_value: Any = None, **kwargs: Any) -> Array:
    """A masked Array from ``data`` and a ``mask`` of its shape (or one boolean for all).

    Other keywords (``dtype``, ``copy``, ``keep_mask``, ``hard_mask``) go to
    ``numpy.ma.masked_array`` for every block.
    """
    data = as_array(data)
    if fill_value is not None:
        kwargs["fill_value"] = fill_value
    dtype = np.dtype(kwargs["dtype"]) if kwargs.get("dtype") is not None else data.dtype
    if mask is np.ma.nomask:
        return map_blocks(_masked_array, data, dtype=dtype, **kwargs)
    if not isinstance(mask, Array) and np.size(mask) == 1:
        return map_blocks(_masked_array, data, dtype=dtype, mask=bool(np.asarray(mask).item()), **kwargs)
    mask = as_array(mask)
    if tuple(mask.shape) != tuple(data.shape):
        raise np.ma.MaskError(f"Mask and data not compatible: data shape is {data.shape}, mask shape "
                              f"is {tuple(mask.shape)}")
    return map_blocks(_masked_array, data, mask.astype(bool), dtype=dtype, **kwargs)


def getmaskarray(a: Any) -> Array:
    """The full boolean mask of ``a`` (all False where nothing is masked)."""
    return map_blocks(np.ma.getmaskarray, as_array(a), dtype=bool)


def getdata(a: Any) -> Array:
    """The data under ``a``'s mask, as plain numpy blocks."""
    a = as_array(a)
    return map_blocks(np.ma.getdata, a, dtype=a.dtype)


def _filled(a: np.ndarray, fill_value: Any) -> np.ndarray:
    return np.ma.filled(a, fill_value=fill_value)


def filled(a: Any, fill_value: Any = None) -> Array:
    """``a`` with masked elements replaced by ``fill_value`` (each block's own fill value when None)."""
    a = as_array(a)
    return map_blocks(_filled, a, fill_value, dtype=a.dtype)


def _fix_invalid(a: np.ndarray, fill_value: Any) -> np.ndarray:
    return np.ma.fix_invalid(a, fill_value=fill_value)


def fix_invalid(a: Any, fill_value: Any = None) -> Array:
    """``a`` with NaN/inf masked and their data replaced by ``fill_value``."""
    a = as_array(a)
    return map_blocks(_fix_invalid, a, fill_value, dtype=a.dtype)


def _set_fill_value(a: np.ndarray, fill_value: Any) -> np.ndarray:
    out = np.ma.masked_array(a, copy=True)
    out.set_fill_value(fill_value)
    return out


def set_fill_value(a: Array, fill_value: Any) -> None:
    """Set the fill value of every block of ``a`` in place (``a`` takes a new graph).

    An unsuitable ``fill_value`` for ``a``'s dtype raises here, as numpy does.
    """
    if not isinstance(a, Array):
        raise TypeError("shoal.array.ma.set_fill_value changes a shoal Array in place; for numpy "
                        "arrays use numpy.ma.set_fill_value")
    probe = np.ma.masked_array(np.zeros((), dtype=a.dtype))
    probe.set_fill_value(fill_value)  # raises TypeError/ValueError for a value the dtype cannot hold
    new = map_blocks(_set_fill_value, a, fill_value, dtype=a.dtype)
    a._graph, a.name, a._chunks, a._dtype = new._graph, new.name, new._chunks, new._dtype


def _like(func_name: str):
    func = getattr(np.ma, func_name)

    def like(a: Any, **kwargs: Any) -> Array:
        a = as_array(a)
        dtype = np.dtype(kwargs["dtype"]) if kwargs.get("dtype") is not None else a.dtype
        return map_blocks(func, a, dtype=dtype, **kwargs)

    like.__name__ = like.__qualname__ = func_name
    like.__doc__ = (f"``numpy.ma.{func_name}`` of every block: the same shape and chunks, "
                    "masks kept.")
    return like


empty_like = _like("empty_like")
ones_like = _like("ones_like")
zeros_like = _like("zeros_like")


def _count_chunk(x: np.ndarray, axis: Any = None, keepdims: bool = True, **_: Any) -> np.ndarray:
    return np.asarray(np.ma.count(x, axis=axis, keepdims=keepdims), dtype=np.intp)


def _count_agg(x: np.ndarray, axis: Any = None, keepdims: bool = False, **_: Any) -> Any:
    return np.sum(x, axis=axis, keepdims=keepdims, dtype=np.intp)


def count(a: Any, axis: Any = None, keepdims: bool = False, split_every: Any = None) -> Array:
    """The number of unmasked elements of ``a`` along ``axis`` (all of them when None)."""
    from shoal.array.reductions import reduction

    return reduction(as_array(a), _count_chunk, _count_agg, axis=axis, keepdims=keepdims,
                     dtype=np.intp, split_every=split_every)


def _weighted(data: np.ndarray, w: np.ndarray) -> np.ndarray:
    keep = ~np.ma.getmaskarray(data)
    return np.where(keep, np.ma.getdata(data) * w, 0)


def _kept_weight(data: np.ndarray, w: np.ndarray) -> np.ndarray:
    return np.where(~np.ma.getmaskarray(data), w, 0)


def _ratio(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    if np.ndim(num) == 0:  # a whole-array average: a plain value, or masked without weight
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.ma.masked if np.asarray(den) == 0 else np.true_divide(num, den)
    with np.errstate(divide="ignore", invalid="ignore"):
        # numpy.ma's division: masked where the weights add up to zero or the result is not finite
        return np.ma.masked_array(np.ma.true_divide(num, den))


def average(a: Any, axis: Any = None, weights: Any = None, returned: bool = False,
            keepdims: bool = False) -> Any:
    """The weighted mean of the unmasked elements (``numpy.ma.average``).

    The result is masked where every element along ``axis`` is masked (or
    their weights add up to zero); with ``returned=True`` the sum of the
    weights of unmasked elements comes too.
    """
    from shoal.array.reductions import sum as _sum
    from shoal.array.routines import broadcast_to

    a = as_array(a)
    if weights is None:
        w = map_blocks(np.ones_like, getdata(a), dtype=float)
    else:
        w = as_array(weights)
        if tuple(w.shape) != tuple(a.shape):
            if axis is None or w.ndim != 1 or not isinstance(axis, (int, np.integer)):
                raise TypeError("weights differ in shape from the array: give 1-d weights together "
                                "with an integer axis, or weights of the array's shape")
            if w.shape[0] != a.shape[axis]:
                raise ValueError("length of 1-d weights is not the length of the array along axis")
            ax = axis % a.ndim
            w = w[tuple(slice(None) if d == ax else None for d in range(a.ndim))]
            w = broadcast_to(w, a.shape).rechunk(a.chunks)
        else:
            w = w.rechunk(a.chunks)
    wdtype = np.result_type(a.dtype, w.dtype, 1.0)
    num = _sum(map_blocks(_weighted, a, w, dtype=wdtype), axis=axis, keepdims=keepdims)
    den = _sum(map_blocks(_kept_weight, a, w, dtype=w.dtype), axis=axis, keepdims=keepdims)
    avg = map_blocks(_ratio, num, den, dtype=wdtype)
    if returned:
        return avg, den
    return avg
