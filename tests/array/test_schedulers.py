"""A core subset of array operations on every scheduler, and the tutorial's section 4.1."""
from __future__ import annotations

import numpy as np
import pytest

import shoal
import shoal.array as da

LOCAL = ["sync", "threads", "processes"]

A = np.random.default_rng(0).normal(size=(60, 45))


def _ops(x):
    return [
        x + 1, x.sum(axis=0), x.mean(axis=1), x.std(), x[5:50:3, ::-2], x.T @ x,
        x.rechunk((45, 7)), da.cumsum(x, axis=1), x.argmax(axis=0),
        da.map_overlap(lambda b: b * 2, x, depth=1, boundary="reflect"),
        (x[x > 0]).sum(),
    ]


def _expected(a):
    return [
        a + 1, a.sum(axis=0), a.mean(axis=1), a.std(), a[5:50:3, ::-2], a.T @ a, a,
        np.cumsum(a, axis=1), a.argmax(axis=0), a * 2, a[a > 0].sum(),
    ]


@pytest.mark.parametrize("scheduler", LOCAL)
def test_core_operations(scheduler):
    x = da.from_array(A, chunks=(20, 15))
    got = shoal.compute(*_ops(x), scheduler=scheduler, num_workers=2)
    for g, e in zip(got, _expected(A)):
        np.testing.assert_allclose(g, e, rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("scheduler", LOCAL)
def test_random_reduction_reproducible(scheduler):
    x = da.random.default_rng(3).normal(0, 1, size=(300, 200), chunks=(100, 50))
    ref = x.compute(scheduler="sync")
    np.testing.assert_allclose(x.mean(axis=1).compute(scheduler=scheduler, num_workers=2), ref.mean(axis=1))


def test_distributed_core(distributed_client):
    x = da.from_array(A, chunks=(20, 15))
    got = shoal.compute(x.sum(axis=0), x[::2].mean(axis=1), scheduler="distributed")
    np.testing.assert_allclose(got[0], A.sum(axis=0))
    np.testing.assert_allclose(got[1], A[::2].mean(axis=1))
    r = da.random.default_rng(9).normal(size=(100, 80), chunks=(50, 40))
    np.testing.assert_array_equal(r.compute(scheduler="distributed"), r.compute(scheduler="sync"))
    p = r.persist(scheduler="distributed")
    assert isinstance(p, da.Array) and p.chunks == r.chunks
    np.testing.assert_allclose(p.mean(axis=1).compute(scheduler="distributed"),
                               r.compute(scheduler="sync").mean(axis=1))


def test_tutorial_section_4_1_reduced():
    """The tutorial's code at 1/100 of its size: same calls, checked against numpy."""
    import shoal as dask

    with dask.config.set(scheduler="threads", num_workers=4):
        x = da.random.normal(0, 1, size=(4000, 4000), chunks=(1000, 1000))
        mycalc = da.mean(x, axis=1)
        rs = mycalc.compute()
        assert rs.shape == (4000,)
        full = x.compute()
        np.testing.assert_allclose(rs, full.mean(axis=1))
        assert abs(rs).max() < 0.25

        x = da.random.normal(0, 1, size=(4000, 4000), chunks=(250, 4000))
        rs2 = da.mean(x, axis=1).compute()
        assert rs2.shape == (4000,)

        xn = np.random.normal(0, 1, size=(2000, 2000))
        dx = da.from_array(xn, chunks=(250, 2000))
        np.testing.assert_allclose(da.mean(dx, axis=1).compute(), xn.mean(axis=1))
        # the tutorial also calls da.mean on the numpy array itself
        np.testing.assert_allclose(da.mean(xn, axis=1).compute(), xn.mean(axis=1))
        rechunked = dx.rechunk((1000, 1000))
        np.testing.assert_allclose(rechunked.sum(axis=0).compute(), xn.sum(axis=0))
