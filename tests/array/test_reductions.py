"""Reductions and cumulative functions against numpy, over random shapes, chunks and axes."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import shoal.array as da


def c(x):
    return x.compute(scheduler="sync")


@st.composite
def array_chunks_axis(draw, max_ndim=3):
    ndim = draw(st.integers(1, max_ndim))
    shape = tuple(draw(st.integers(1, 7)) for _ in range(ndim))
    chunks = tuple(draw(st.integers(1, s)) for s in shape)
    axis = draw(st.one_of(st.none(), st.integers(-ndim, ndim - 1),
                          st.sets(st.integers(0, ndim - 1), min_size=1).map(tuple)))
    seed = draw(st.integers(0, 2**16))
    return shape, chunks, axis, seed


REDUCTIONS = ["sum", "prod", "mean", "var", "std", "min", "max", "any", "all"]


@settings(max_examples=40, deadline=None)
@given(array_chunks_axis(), st.sampled_from(REDUCTIONS), st.booleans(), st.sampled_from([None, 2, 3]))
def test_reductions_match_numpy(params, name, keepdims, split_every):
    shape, chunks, axis, seed = params
    a = np.random.default_rng(seed).normal(size=shape)
    if name in ("any", "all"):
        a = a > 0.3
    x = da.from_array(a, chunks=chunks)
    r = getattr(da, name)(x, axis=axis, keepdims=keepdims, split_every=split_every)
    expect = getattr(np, name)(a, axis=axis, keepdims=keepdims)
    got = c(r)
    assert r.shape == np.shape(expect)
    assert got.shape == np.shape(expect)
    np.testing.assert_allclose(got, expect, rtol=1e-10, atol=1e-12)


@settings(max_examples=25, deadline=None)
@given(array_chunks_axis(max_ndim=2), st.sampled_from(["nansum", "nanmean", "nanmin", "nanmax",
                                                       "nanvar", "nanstd", "nanprod"]))
def test_nan_reductions_match_numpy(params, name):
    shape, chunks, axis, seed = params
    rng = np.random.default_rng(seed)
    a = rng.normal(size=shape)
    a[rng.random(shape) < 0.3] = np.nan
    x = da.from_array(a, chunks=chunks)
    with np.errstate(all="ignore"), _quiet():
        expect = getattr(np, name)(a, axis=axis)
        got = c(getattr(da, name)(x, axis=axis))
    np.testing.assert_allclose(got, expect, rtol=1e-10, atol=1e-12)


class _quiet:
    def __enter__(self):
        import warnings

        self.w = warnings.catch_warnings()
        self.w.__enter__()
        warnings.simplefilter("ignore")

    def __exit__(self, *a):
        self.w.__exit__(*a)


@settings(max_examples=30, deadline=None)
@given(array_chunks_axis(max_ndim=3), st.sampled_from(["argmin", "argmax", "nanargmin", "nanargmax"]))
def test_arg_reductions(params, name):
    shape, chunks, axis, seed = params
    if isinstance(axis, tuple):
        axis = axis[0]
    a = np.random.default_rng(seed).integers(0, 5, size=shape).astype(float)  # ties on purpose
    x = da.from_array(a, chunks=chunks)
    np.testing.assert_array_equal(c(getattr(da, name)(x, axis=axis)), getattr(np, name)(a, axis=axis))


@settings(max_examples=30, deadline=None)
@given(array_chunks_axis(max_ndim=3), st.sampled_from(["cumsum", "cumprod", "nancumsum"]))
def test_cumulative(params, name):
    shape, chunks, axis, seed = params
    if isinstance(axis, tuple):
        axis = axis[0]
    a = np.random.default_rng(seed).uniform(0.5, 1.5, size=shape)
    x = da.from_array(a, chunks=chunks)
    np.testing.assert_allclose(c(getattr(da, name)(x, axis=axis)), getattr(np, name)(a, axis=axis))


def test_dtype_argument_and_integer_means():
    a = np.arange(20, dtype="i2").reshape(4, 5)
    x = da.from_array(a, chunks=2)
    assert x.sum().dtype == a.sum().dtype
    assert da.sum(x, dtype="f4").dtype == np.float32
    assert x.mean().dtype == np.float64
    np.testing.assert_allclose(c(x.mean(axis=0)), a.mean(axis=0))
    np.testing.assert_allclose(c(x.var(ddof=1)), a.var(ddof=1))
    np.testing.assert_array_equal(c(da.count_nonzero(x, axis=1)), np.count_nonzero(a, axis=1))
    np.testing.assert_array_equal(c(x.ptp(axis=0)), np.ptp(a, axis=0))
    np.testing.assert_allclose(c(da.average(x, axis=0, weights=np.arange(4.0) + 1)),
                               np.average(a, axis=0, weights=np.arange(4.0) + 1))


def test_reduction_graph_is_a_tree():
    x = da.ones((64, 64), chunks=4)  # 16 x 16 blocks
    r = x.sum(axis=1, split_every=4)
    g = dict(r.dask)
    from shoal.core.task import Task

    fan_in = [len(v.deps) for k, v in g.items() if isinstance(v, Task) and k[0] != x.name]
    assert max(fan_in) <= 4
    np.testing.assert_array_equal(c(r), np.full(64, 64.0))


def test_reduction_errors():
    x = da.ones((3, 4), chunks=2)
    with pytest.raises(np.exceptions.AxisError):
        x.sum(axis=2)
    with pytest.raises(TypeError, match="one axis"):
        x.argmin(axis=(0, 1))
    with pytest.raises(ValueError, match="zero-size"):
        da.ones((0, 3), chunks=2).max(axis=0)
