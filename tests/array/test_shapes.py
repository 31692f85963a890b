"""rechunk, reshape, transpose and friends, products, map_overlap, store and npy stacks."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import shoal.array as da
from shoal.array.rechunk import _plan


def c(x):
    return x.compute(scheduler="sync")


@settings(max_examples=50, deadline=None)
@given(st.data())
def test_rechunk_roundtrip(data):
    ndim = data.draw(st.integers(1, 3))
    shape = tuple(data.draw(st.integers(1, 9)) for _ in range(ndim))
    old = tuple(data.draw(st.integers(1, s)) for s in shape)
    new = tuple(data.draw(st.integers(1, s)) for s in shape)
    a = np.arange(np.prod(shape)).reshape(shape)
    x = da.from_array(a, chunks=old).rechunk(new)
    assert x.chunks == da.normalize_chunks(new, shape)
    np.testing.assert_array_equal(c(x), a)


def test_rechunk_forms_and_intermediate():
    a = np.random.default_rng(0).random((40, 30))
    x = da.from_array(a, chunks=(40, 1))
    assert x.rechunk({0: 10}).chunks == ((10,) * 4, (1,) * 30)
    assert x.rechunk((None, -1)).chunks == ((40,), (30,))
    # rows to columns with tiny blocks: goes through an intermediate chunking
    y = da.from_array(np.arange(300 * 300).reshape(300, 300), chunks=(300, 1))
    z = y.rechunk((1, 300))
    assert len(z.dask.layers) == 4  # source, array, intermediate, final
    np.testing.assert_array_equal(c(z), np.arange(300 * 300).reshape(300, 300))
    assert _plan(y.chunks, z.chunks) == 90000


@pytest.mark.parametrize("shape,chunks,new", [
    ((6, 4), (2, 4), (24,)),
    ((24,), (12,), (2, 3, 4)),
    ((24,), (8,), (6, 4)),
    ((24,), (12,), (6, 4)),
    ((2, 3, 4), (1, 3, 4), (6, 4)),
    ((6, 4), (2, 4), (3, 2, 4)),
    ((1, 6), (1, 3), (6,)),
    ((6,), (3,), (1, 6, 1)),
    ((4, 6), (2, 6), (-1,)),
])
def test_reshape_blockwise(shape, chunks, new):
    a = np.arange(np.prod(shape)).reshape(shape)
    x = da.from_array(a, chunks=chunks)
    np.testing.assert_array_equal(c(x.reshape(new)), a.reshape(new))


def test_reshape_rechunks_merged_dimensions_itself():
    x = da.ones((6, 4), chunks=2)
    np.testing.assert_array_equal(c(x.reshape(24)), np.ones(24))
    a = np.arange(6).reshape(2, 3)
    np.testing.assert_array_equal(c(da.from_array(a, chunks=(1, 3)).reshape(3, 2)), a.reshape(3, 2))
    with pytest.raises(ValueError, match="cannot reshape array of size 24"):
        x.reshape(5, 5)
    np.testing.assert_array_equal(c(da.ravel(x)), np.ones(24))


def test_transpose_squeeze_expand_swap():
    a = np.arange(24).reshape(2, 3, 4)
    x = da.from_array(a, chunks=(1, 2, 3))
    np.testing.assert_array_equal(c(x.T), a.T)
    np.testing.assert_array_equal(c(x.transpose(1, 0, 2)), a.transpose(1, 0, 2))
    np.testing.assert_array_equal(c(da.moveaxis(x, 0, -1)), np.moveaxis(a, 0, -1))
    np.testing.assert_array_equal(c(da.swapaxes(x, 0, 2)), np.swapaxes(a, 0, 2))
    np.testing.assert_array_equal(c(da.expand_dims(x, 1)), np.expand_dims(a, 1))
    np.testing.assert_array_equal(c(da.squeeze(x[:1, :, :1])), np.squeeze(a[:1, :, :1]))
    with pytest.raises(ValueError, match="size not equal to one"):
        da.squeeze(x, axis=1)
    np.testing.assert_array_equal(c(da.flip(x, 1)), np.flip(a, 1))
    np.testing.assert_array_equal(c(da.broadcast_to(x[0], (5, 3, 4))), np.broadcast_to(a[0], (5, 3, 4)))
    m = da.from_array(np.arange(30).reshape(5, 6), chunks=(2, 4))
    np.testing.assert_array_equal(c(da.diagonal(m)), np.diagonal(np.arange(30).reshape(5, 6)))
    np.testing.assert_array_equal(c(da.diagonal(m, 2)), np.diagonal(np.arange(30).reshape(5, 6), 2))


def test_products():
    rng = np.random.default_rng(2)
    a, b, v = rng.random((7, 5)), rng.random((5, 6)), rng.random(5)
    x, y, w = da.from_array(a, chunks=(3, 2)), da.from_array(b, chunks=(3, 4)), da.from_array(v, chunks=2)
    np.testing.assert_allclose(c(x @ y), a @ b)
    np.testing.assert_allclose(c(da.dot(x, y)), a.dot(b))
    np.testing.assert_allclose(c(x.dot(w)), a.dot(v))
    np.testing.assert_allclose(c(da.matmul(w, y)), v @ b)
    np.testing.assert_allclose(c(da.tensordot(x, y, axes=1)), np.tensordot(a, b, axes=1))
    np.testing.assert_allclose(c(da.tensordot(x, x, axes=([0], [0]))), np.tensordot(a, a, axes=([0], [0])))
    np.testing.assert_allclose(c(da.outer(w, w)), np.outer(v, v))
    np.testing.assert_allclose(c(a @ y), a @ b)  # numpy on the left
    t, u = rng.random((3, 4, 5)), rng.random((3, 5, 2))
    np.testing.assert_allclose(c(da.from_array(t, chunks=2) @ da.from_array(u, chunks=2)), t @ u)
    with pytest.raises(ValueError, match="not aligned"):
        x @ x


@pytest.mark.parametrize("boundary,mode", [("reflect", "symmetric"), ("nearest", "edge"),
                                           ("periodic", "wrap"), (0, "constant")])
def test_map_overlap_against_padded_numpy(boundary, mode):
    a = np.random.default_rng(3).random((11, 9))
    x = da.from_array(a, chunks=(4, 3))

    def smooth(b):
        out = b.copy()
        out[1:-1, 1:-1] = (b[:-2, 1:-1] + b[2:, 1:-1] + b[1:-1, :-2] + b[1:-1, 2:] + b[1:-1, 1:-1]) / 5
        return out

    got = c(x.map_overlap(smooth, depth=1, boundary=boundary))
    padded = np.pad(a, 1, mode=mode)
    expect = smooth(padded)[1:-1, 1:-1]
    np.testing.assert_allclose(got, expect)


def test_map_overlap_none_boundary_and_errors():
    a = np.arange(20.0)
    x = da.from_array(a, chunks=5)
    got = c(da.map_overlap(lambda b: np.convolve(b, [1, 1, 1], mode="same"), x, depth=1, boundary="none"))
    np.testing.assert_allclose(got, np.convolve(a, [1, 1, 1], mode="same"))
    with pytest.raises(ValueError, match="rechunk first"):
        da.map_overlap(lambda b: b, x, depth=7)
    assert da.overlap(x, depth=2, boundary="reflect").chunks == ((9, 9, 9, 9),)
    g = da.overlap(x, depth=2, boundary="none")
    assert g.chunks == ((7, 9, 9, 7),)
    np.testing.assert_array_equal(c(g)[:7], a[:7])


def test_store_into_memmap_and_npy_stack(tmp_path):
    a = np.random.default_rng(4).random((30, 20))
    x = da.from_array(a, chunks=(7, 6)) * 2
    target = np.lib.format.open_memmap(str(tmp_path / "out.npy"), mode="w+", dtype="f8", shape=(30, 20))
    da.store(x, target, scheduler="threads")
    np.testing.assert_allclose(np.load(tmp_path / "out.npy"), a * 2)
    t = np.zeros((30, 20))
    d = x.store(t, compute=False)
    assert not t.any()
    assert d.compute(scheduler="sync").size == 0  # an Array of empty blocks; computing it writes
    np.testing.assert_allclose(t, a * 2)
    with pytest.raises(ValueError, match="does not match target shape"):
        da.store(x, np.zeros((3, 3)))
    da.to_npy_stack(str(tmp_path / "stack"), x, axis=0)
    y = da.from_npy_stack(str(tmp_path / "stack"))
    assert y.chunks[0] == x.chunks[0]
    np.testing.assert_allclose(c(y), a * 2)


def test_counting_routines():
    rng = np.random.default_rng(6)
    a = rng.integers(0, 7, size=(13, 11))
    x = da.from_array(a, chunks=(4, 5))
    counts, edges = da.histogram(x, bins=7, range=(0, 7))
    np.testing.assert_array_equal(c(counts), np.histogram(a, bins=7, range=(0, 7))[0])
    w = rng.random((13, 11))
    hw, _ = da.histogram(x, bins=[0, 2, 4, 7], weights=da.from_array(w, chunks=(4, 5)))
    np.testing.assert_allclose(c(hw), np.histogram(a, bins=[0, 2, 4, 7], weights=w)[0])
    with pytest.raises(ValueError, match="range="):
        da.histogram(x, bins=5)
    v = da.from_array(a.ravel(), chunks=20)
    np.testing.assert_array_equal(c(da.bincount(v, minlength=7)), np.bincount(a.ravel(), minlength=7))
    np.testing.assert_array_equal(c(da.unique(x)), np.unique(a))
    np.testing.assert_array_equal(c(da.isin(x, [1, 3])), np.isin(a, [1, 3]))
    np.testing.assert_array_equal(c(da.digitize(x, [2, 5])), np.digitize(a, [2, 5]))
    for got, exp in zip(da.nonzero(x > 4), np.nonzero(a > 4)):
        np.testing.assert_array_equal(c(got), exp)
    np.testing.assert_array_equal(c(da.argwhere(x > 4)), np.argwhere(a > 4))
    np.testing.assert_array_equal(c(da.where(x > 5)[1]), np.where(a > 5)[1])


def test_order_statistics():
    a = np.random.default_rng(8).random((9, 13))
    x = da.from_array(a, chunks=(4, 5))
    np.testing.assert_allclose(c(da.median(x, axis=0)), np.median(a, axis=0))
    np.testing.assert_allclose(c(da.median(x, axis=1, keepdims=True)), np.median(a, axis=1, keepdims=True))
    np.testing.assert_allclose(c(da.quantile(x, [0.1, 0.9], axis=1)), np.quantile(a, [0.1, 0.9], axis=1))
    np.testing.assert_allclose(c(da.percentile(x, 30, axis=0)), np.percentile(a, 30, axis=0))
    np.testing.assert_allclose(c(np.median(x, axis=0)), np.median(a, axis=0))  # numpy dispatch
    np.testing.assert_array_equal(c(da.topk(x, 3, axis=1)), -np.sort(-a, axis=1)[:, :3])
    np.testing.assert_array_equal(c(da.topk(x, -2, axis=0)), np.sort(a, axis=0)[:2])
    np.testing.assert_array_equal(c(da.argtopk(x, 3, axis=1)), np.argsort(-a, axis=1)[:, :3])
    with pytest.raises(NotImplementedError, match="give an axis"):
        da.median(x)
    np.testing.assert_allclose(c(da.median(x.ravel())), np.median(a))


@pytest.mark.parametrize("mode", ["constant", "edge", "reflect", "symmetric", "wrap"])
def test_pad(mode):
    a = np.arange(35.0).reshape(5, 7)
    x = da.from_array(a, chunks=(2, 3))
    np.testing.assert_array_equal(c(da.pad(x, ((1, 2), (3, 0)), mode=mode)), np.pad(a, ((1, 2), (3, 0)), mode=mode))


def test_roll_repeat_tile_tri_meshgrid():
    a = np.arange(35).reshape(5, 7)
    x = da.from_array(a, chunks=(2, 3))
    np.testing.assert_array_equal(c(da.roll(x, 2, axis=1)), np.roll(a, 2, axis=1))
    np.testing.assert_array_equal(c(da.roll(x, -3)), np.roll(a, -3))
    np.testing.assert_array_equal(c(da.repeat(x, 2, axis=0)), np.repeat(a, 2, axis=0))
    np.testing.assert_array_equal(c(da.tile(x, (2, 1))), np.tile(a, (2, 1)))
    np.testing.assert_array_equal(c(da.triu(x, 1)), np.triu(a, 1))
    np.testing.assert_array_equal(c(da.tril(x, -1)), np.tril(a, -1))
    u, v = np.arange(3), np.arange(4)
    for got, exp in zip(da.meshgrid(da.from_array(u, chunks=2), da.from_array(v, chunks=3)), np.meshgrid(u, v)):
        np.testing.assert_array_equal(c(got), exp)
    for got, exp in zip(da.meshgrid(u, v, indexing="ij"), np.meshgrid(u, v, indexing="ij")):
        np.testing.assert_array_equal(c(got), exp)


def test_store_into_numpy_refuses_process_schedulers():
    x = da.ones((4, 4), chunks=2)
    target = np.zeros((4, 4))
    with pytest.raises(ValueError, match="its own copy"):
        da.store(x, target, scheduler="processes")
    import shoal

    with shoal.config.set(scheduler="processes"):
        da.store(x, target)  # a configured default gives way to threads for numpy targets
    np.testing.assert_array_equal(target, np.ones((4, 4)))


def test_linalg():
    rng = np.random.default_rng(0)
    a = rng.random((50, 4))
    x = da.from_array(a, chunks=(12, 4))
    q, r = da.linalg.qr(x)
    Q, R = c(q), c(r)
    np.testing.assert_allclose(Q @ R, a, atol=1e-12)
    np.testing.assert_allclose(Q.T @ Q, np.eye(4), atol=1e-12)
    u, s, v = da.linalg.svd(x)
    np.testing.assert_allclose((c(u) * c(s)) @ c(v), a, atol=1e-12)
    np.testing.assert_allclose(c(s), np.linalg.svd(a, compute_uv=False))
    y = rng.random(50)
    for got, want in zip(da.linalg.lstsq(x, da.from_array(y, chunks=12)), np.linalg.lstsq(a, y, rcond=None)):
        np.testing.assert_allclose(c(got), want)
    m = rng.random((6, 6)) + 6 * np.eye(6)
    dm = da.from_array(m, chunks=3)
    np.testing.assert_allclose(c(da.linalg.solve(dm, np.arange(6.0))), np.linalg.solve(m, np.arange(6.0)))
    np.testing.assert_allclose(c(da.linalg.inv(dm)), np.linalg.inv(m))
    np.testing.assert_allclose(c(da.linalg.cholesky(dm @ dm.T, lower=True)), np.linalg.cholesky(m @ m.T))
    for ord_, axis in [(None, None), (1, 0), (np.inf, 1), (3, 0), ("fro", (0, 1)), (1, (0, 1)), (np.inf, (0, 1))]:
        np.testing.assert_allclose(c(da.linalg.norm(x, ord=ord_, axis=axis)), np.linalg.norm(a, ord=ord_, axis=axis))
    assert isinstance(np.linalg.norm(x, axis=0), da.Array)  # numpy.linalg dispatches too
    with pytest.raises(ValueError, match="single block of columns"):
        da.linalg.qr(da.from_array(a, chunks=2))


def test_fft():
    a = np.random.default_rng(1).random((8, 12))
    x = da.from_array(a, chunks=(3, 5))
    np.testing.assert_allclose(c(da.fft.fft(x)), np.fft.fft(a))
    np.testing.assert_allclose(c(da.fft.rfft(x, axis=0)), np.fft.rfft(a, axis=0))
    np.testing.assert_allclose(c(da.fft.irfft(da.fft.rfft(x), n=12)), a, atol=1e-12)
    np.testing.assert_allclose(c(da.fft.fft2(x)), np.fft.fft2(a))
    np.testing.assert_allclose(c(da.fft.fftn(x, s=(4, 6), axes=(0, 1))), np.fft.fftn(a, s=(4, 6), axes=(0, 1)))
    np.testing.assert_allclose(c(np.fft.ifft(x)), np.fft.ifft(a))  # numpy.fft dispatches
    np.testing.assert_allclose(c(da.fft.fftshift(x)), np.fft.fftshift(a))
    np.testing.assert_allclose(c(da.fft.fftfreq(10, 0.1)), np.fft.fftfreq(10, 0.1))


@settings(max_examples=150, deadline=None)
@given(st.data())
def test_reshape_property(data):
    """Either the reshape works block by block, or its error's rechunk hint makes it work."""
    import re

    dims = data.draw(st.lists(st.sampled_from([1, 2, 3, 4, 6]), min_size=1, max_size=4))
    total = int(np.prod(dims))
    shape = tuple(dims)
    new = tuple(data.draw(st.permutations(dims))) if data.draw(st.booleans()) else (total,)
    chunks = tuple(data.draw(st.integers(1, s)) for s in shape)
    a = np.arange(total).reshape(shape)
    x = da.from_array(a, chunks=chunks)
    try:
        got = x.reshape(new)
    except ValueError as e:
        hint = re.search(r"x\.rechunk\((\{.*?\})\)", str(e))
        assert hint, str(e)
        got = x.rechunk(eval(hint.group(1))).reshape(new)
    np.testing.assert_array_equal(c(got), a.reshape(new))
