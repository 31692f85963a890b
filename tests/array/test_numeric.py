"""diff, ediff1d, cov, corrcoef, searchsorted, coarsen, histogramdd/2d against numpy."""
import numpy as np
import pytest

import shoal.array as da

rng = np.random.default_rng(0)
X = rng.random((7, 9))
D = da.from_array(X, chunks=(3, 4))


def c(x):
    return x.compute(scheduler="sync")


@pytest.mark.parametrize("kw", [{}, {"n": 2}, {"axis": 0}, {"prepend": 0, "append": [[1]] * 7},
                                {"n": 3, "axis": 0, "prepend": X[:1]}])
def test_diff(kw):
    np.testing.assert_allclose(c(da.diff(D, **kw)), np.diff(X, **kw))


def test_ediff1d_cov_corrcoef():
    np.testing.assert_allclose(c(da.ediff1d(D, to_begin=[5], to_end=7)), np.ediff1d(X, to_begin=[5], to_end=7))
    for kw in ({}, {"rowvar": False}, {"bias": True}, {"ddof": 3}):
        np.testing.assert_allclose(c(da.cov(D, **kw)), np.cov(X, **kw))
    np.testing.assert_allclose(c(da.cov(D[0], D[1])), np.cov(X[0], X[1]))
    np.testing.assert_allclose(c(da.cov(D[0])), np.cov(X[0]))
    np.testing.assert_allclose(c(da.corrcoef(D, rowvar=False)), np.corrcoef(X, rowvar=False))


@pytest.mark.parametrize("side", ["left", "right"])
def test_searchsorted(side):
    a = np.sort(rng.integers(0, 10, 20))  # ties across block boundaries
    v = rng.integers(-1, 11, (3, 4))
    got = da.searchsorted(da.from_array(a, chunks=6), da.from_array(v, chunks=2), side=side)
    np.testing.assert_array_equal(c(got), np.searchsorted(a, v, side=side))


def test_coarsen():
    x = rng.random((8, 12))
    d = da.from_array(x, chunks=(3, 5))     # blocks are realigned to whole windows
    np.testing.assert_allclose(c(da.coarsen(np.sum, d, {0: 2, 1: 4})), x.reshape(4, 2, 3, 4).sum(axis=(1, 3)))
    y = rng.random(9)
    np.testing.assert_allclose(c(da.coarsen(np.mean, da.from_array(y, chunks=4), {0: 2}, trim_excess=True)),
                               y[:8].reshape(4, 2).mean(axis=1))
    with pytest.raises(ValueError, match="trim_excess"):
        da.coarsen(np.sum, da.from_array(y, chunks=4), {0: 2})


def test_histogramdd_and_2d():
    s = rng.random((50, 3))
    w = rng.random(50)
    h, edges = da.histogramdd(da.from_array(s, chunks=(7, 2)), bins=[3, 4, 5], range=[(0, 1)] * 3,
                              weights=da.from_array(w, chunks=9))
    want, want_edges = np.histogramdd(s, bins=[3, 4, 5], range=[(0, 1)] * 3, weights=w)
    np.testing.assert_allclose(c(h), want)
    for e, we in zip(edges, want_edges):
        np.testing.assert_allclose(e, we)
    h, ex, ey = da.histogram2d(da.from_array(s[:, 0], chunks=7), da.from_array(s[:, 1], chunks=7), bins=4,
                               range=[(0, 1), (0, 1)], density=True)
    np.testing.assert_allclose(c(h), np.histogram2d(s[:, 0], s[:, 1], bins=4, range=[(0, 1), (0, 1)],
                                                    density=True)[0])
    with pytest.raises(ValueError, match="range"):
        da.histogramdd(da.from_array(s, chunks=7), bins=3)


PAD_MODES = [("constant", {"constant_values": ((1, 2), (3, 4))}), ("edge", {}), ("reflect", {}),
             ("symmetric", {}), ("wrap", {}), ("linear_ramp", {"end_values": ((5, -3), (2, 9))}),
             ("maximum", {}), ("minimum", {"stat_length": 2}), ("mean", {"stat_length": ((2, 3), (1, 4))}),
             ("median", {})]


@pytest.mark.parametrize("dtype", [float, int])
@pytest.mark.parametrize("mode,kw", PAD_MODES)
def test_pad_every_mode_and_wide_pads(mode, kw, dtype):
    x = (rng.random((5, 7)) * 100).astype(dtype)
    d = da.from_array(x, chunks=(2, 3))
    for width in (2, ((1, 12), (9, 0))):   # wider than a block and than the axis
        got = c(da.pad(d, width, mode=mode, **kw))
        want = np.pad(x, width, mode=mode, **kw)
        assert got.dtype == want.dtype
        np.testing.assert_allclose(got, want)


def test_svd_compressed_low_rank_is_exact():
    a = rng.random((60, 8)) @ rng.random((8, 20))   # rank 8 <= k + oversamples
    u, s, v = da.linalg.svd_compressed(da.from_array(a, chunks=(15, 7)), 5, seed=1, n_power_iter=2)
    want_u, want_s, want_v = np.linalg.svd(a, full_matrices=False)
    assert (u.shape, s.shape, v.shape) == ((60, 5), (5,), (5, 20))
    np.testing.assert_allclose(c(s), want_s[:5])
    np.testing.assert_allclose((c(u) * c(s)) @ c(v), (want_u[:, :5] * want_s[:5]) @ want_v[:5], atol=1e-8)
