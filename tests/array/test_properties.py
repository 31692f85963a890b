"""Property tests: random arrays and chunkings through shoal.array and numpy must agree.

Each example draws a shape (0-3 dimensions, lengths 0-6), a chunking per
dimension (uneven blocks, zero-length blocks included), a dtype and values
(floats with NaN), runs one operation on both and requires numpy's answer --
same shape, dtype and values -- or an error where numpy errs too.

``SHOAL_DIFF_EXAMPLES`` sets the examples per test (default 40; ``make
difftest`` runs thousands).
"""
from __future__ import annotations

import os
import warnings

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

import shoal.array as da

EXAMPLES = int(os.environ.get("SHOAL_DIFF_EXAMPLES", "40"))
SETTINGS = settings(max_examples=EXAMPLES, deadline=None, derandomize=EXAMPLES <= 100,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
DTYPES = [np.int64, np.int32, np.float64, np.float32, np.bool_]


@st.composite
def chunking(draw: st.DrawFn, n: int) -> tuple:
    """Block lengths adding up to ``n``; zero-length blocks allowed."""
    if n == 0:
        return (0,)
    cuts = sorted(draw(st.lists(st.integers(0, n), max_size=4)))
    bounds = [0, *cuts, n]
    out = tuple(b - a for a, b in zip(bounds[:-1], bounds[1:]))
    if not draw(st.booleans()):
        out = tuple(c for c in out if c) or (n,)
    return out


@st.composite
def arrays(draw: st.DrawFn, min_ndim: int = 0, min_len: int = 0, dtypes: list = DTYPES) -> tuple:
    ndim = draw(st.integers(min_ndim, 3))
    shape = tuple(draw(st.integers(min_len, 6)) for _ in range(ndim))
    dtype = np.dtype(draw(st.sampled_from(dtypes)))
    size = int(np.prod(shape))
    if dtype.kind == "b":
        vals = draw(st.lists(st.booleans(), min_size=size, max_size=size))
    elif dtype.kind == "f":
        half = st.integers(-6, 6).map(lambda v: v / 2)   # exact: sums do not depend on order
        vals = draw(st.lists(st.one_of(half, half, half, st.just(np.nan)), min_size=size, max_size=size))
    else:
        vals = draw(st.lists(st.integers(-5, 5), min_size=size, max_size=size))
    x = np.array(vals, dtype=dtype).reshape(shape)
    chunks = tuple(draw(chunking(n)) for n in shape)
    return x, da.from_array(x, chunks=chunks)


def same(got, want) -> None:
    got = np.asarray(got)
    want = np.asarray(want)
    assert got.shape == want.shape, (got.shape, want.shape)
    assert got.dtype == want.dtype, (got.dtype, want.dtype)
    if want.dtype.kind in "fc":
        np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-6, equal_nan=True)
    else:
        np.testing.assert_array_equal(got, want)


def agree(numpy_call, shoal_call) -> None:
    """Both give the same answer, or both raise."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        try:
            want = numpy_call()
        except (ValueError, TypeError, IndexError):
            with pytest.raises((ValueError, TypeError, IndexError, NotImplementedError)):
                np.asarray(shoal_call().compute(scheduler="sync"))
            return
        got = shoal_call().compute(scheduler="sync")
    same(got, want)


# -- elementwise ------------------------------------------------------------------------------

UNARY = [np.negative, np.absolute, np.isnan, np.square, np.sign, np.logical_not]
BINARY = [np.add, np.subtract, np.multiply, np.maximum, np.minimum, np.equal, np.less, np.logical_and]


@SETTINGS
@given(data=st.data())
def test_elementwise(data):
    x, d = data.draw(arrays(dtypes=[np.int64, np.float64, np.float32]))
    f = data.draw(st.sampled_from(UNARY))
    agree(lambda: f(x), lambda: f(d))
    g = data.draw(st.sampled_from(BINARY))
    # the other operand: same shape with its own chunks, or a broadcast row
    if x.ndim and data.draw(st.booleans()):
        y = x[(0,) * (x.ndim - 1)] if x.shape[:-1] and 0 not in x.shape else x
        other = da.from_array(y, chunks=data.draw(chunking(y.shape[-1])) if y.ndim == 1 else y.shape)
    else:
        y = x[::-1] if x.ndim else x
        other = da.from_array(y, chunks=tuple(data.draw(chunking(n)) for n in y.shape))
    agree(lambda: g(x, y), lambda: g(d, other))


# -- reductions along every axis ----------------------------------------------------------------

REDUCTIONS = ["sum", "prod", "mean", "var", "std", "min", "max", "any", "all", "nansum", "nanmin",
              "nanmax", "nanmean", "count_nonzero", "argmin", "argmax"]


@SETTINGS
@given(data=st.data())
def test_reductions_every_axis(data):
    x, d = data.draw(arrays())
    name = data.draw(st.sampled_from(REDUCTIONS))
    axes = [None] + list(range(x.ndim)) + ([(0, x.ndim - 1)] if x.ndim > 1 else [])
    axis = data.draw(st.sampled_from(axes))
    if name in ("argmin", "argmax"):
        if isinstance(axis, tuple):
            axis = None
        agree(lambda: getattr(np, name)(x, axis=axis), lambda: getattr(da, name)(d, axis=axis))
        return
    if name.startswith("nan") and x.dtype.kind == "b":
        return  # numpy's nan-functions on bool differ from their own non-nan forms; not a shoal question
    keepdims = data.draw(st.booleans()) if name != "count_nonzero" else False
    kw = {"keepdims": keepdims} if keepdims else {}
    agree(lambda: getattr(np, name)(x, axis=axis, **kw), lambda: getattr(da, name)(d, axis=axis, **kw))


# -- cumulative functions --------------------------------------------------------------------------

@SETTINGS
@given(data=st.data())
def test_cumulative(data):
    x, d = data.draw(arrays(dtypes=[np.int64, np.float64]))
    name = data.draw(st.sampled_from(["cumsum", "cumprod", "nancumsum", "nancumprod"]))
    axis = data.draw(st.sampled_from([None] + list(range(x.ndim))))
    method = data.draw(st.sampled_from(["sequential", "blelloch"]))
    if x.ndim == 0 and axis is None:
        return
    agree(lambda: getattr(np, name)(x, axis=axis), lambda: getattr(da, name)(d, axis=axis, method=method))


# -- indexing -------------------------------------------------------------------------------------

@st.composite
def basic_index(draw: st.DrawFn, shape: tuple) -> tuple:
    out = []
    for n in shape:
        kind = draw(st.sampled_from(["int", "slice", "slice", "full"])) if n else "slice"
        if kind == "int":
            out.append(draw(st.integers(-n, n - 1)))
        elif kind == "slice":
            start = draw(st.one_of(st.none(), st.integers(-n - 1, n + 1)))
            stop = draw(st.one_of(st.none(), st.integers(-n - 1, n + 1)))
            step = draw(st.sampled_from([None, 1, 2, -1, -2, 3]))
            out.append(slice(start, stop, step))
        else:
            out.append(slice(None))
        if draw(st.integers(0, 5)) == 0:
            out.append(None)
    return tuple(out)


@SETTINGS
@given(data=st.data())
def test_basic_and_list_indexing(data):
    x, d = data.draw(arrays(min_ndim=1))
    idx = data.draw(basic_index(x.shape))
    agree(lambda: x[idx], lambda: d[idx])
    axis = data.draw(st.integers(0, x.ndim - 1))
    n = x.shape[axis]
    if n:
        picks = data.draw(st.lists(st.integers(-n, n - 1), max_size=8))
        key = (slice(None),) * axis + (np.array(picks, dtype=np.intp),)
        agree(lambda: x[key], lambda: d[key])


@SETTINGS
@given(data=st.data())
def test_boolean_masks_along_any_axis(data):
    x, d = data.draw(arrays(min_ndim=1))
    axis = data.draw(st.integers(0, x.ndim - 1))
    m = np.array(data.draw(st.lists(st.booleans(), min_size=x.shape[axis], max_size=x.shape[axis])), dtype=bool)
    key = (slice(None),) * axis + (m,)
    agree(lambda: x[key], lambda: d[key])
    lazy = da.from_array(m, chunks=data.draw(chunking(len(m))))
    agree(lambda: x[key], lambda: d[(slice(None),) * axis + (lazy,)])
    # a mask of the full shape, numpy and lazy: C order whatever the chunks
    if x.dtype.kind == "b":
        full = x
    else:
        full = x > 0
    agree(lambda: x[full], lambda: d[full])
    agree(lambda: x[full], lambda: d[d > 0] if x.dtype.kind != "b" else d[d])
