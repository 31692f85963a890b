"""Results that must equal NumPy's exactly: mask order, lazy indices, lstsq, quantiles, scalars."""
import numpy as np
import pytest

import shoal.array as da


def c(x):
    return x.compute(scheduler="sync")


@pytest.mark.parametrize("chunks", [(2, 2), (1, 3), (2, 1), (1, 1)])
def test_boolean_mask_is_c_order_whatever_the_chunks(chunks):
    x = np.arange(6).reshape(2, 3)
    d = da.from_array(x, chunks=chunks)
    np.testing.assert_array_equal(c(d[d > 0]), x[x > 0])
    np.testing.assert_array_equal(c(d[x > 0]), x[x > 0])


def test_boolean_mask_3d_and_leading_dims():
    rng = np.random.default_rng(0)
    x = rng.random((7, 8, 5))
    d = da.from_array(x, chunks=(3, 3, 2))
    np.testing.assert_array_equal(c(d[d > 0.5]), x[x > 0.5])
    np.testing.assert_array_equal(c(d[d[:, :, 0] > 0.3]), x[x[:, :, 0] > 0.3])
    np.testing.assert_array_equal(c(d[x[:, :, 0] > 0.3]), x[x[:, :, 0] > 0.3])


def test_lazy_1d_mask_and_integer_array_per_axis():
    rng = np.random.default_rng(1)
    x = rng.random((7, 8, 5))
    d = da.from_array(x, chunks=(3, 3, 2))
    r = d[d[:, 0, 0] > 0.5]
    assert np.isnan(r.shape[0]) and r.chunks[1:] == d.chunks[1:]
    np.testing.assert_array_equal(c(r), x[x[:, 0, 0] > 0.5])
    r.compute_chunk_sizes()
    assert r.shape == x[x[:, 0, 0] > 0.5].shape
    np.testing.assert_array_equal(c(d[:, d[0, :, 0] > 0.5]), x[:, x[0, :, 0] > 0.5])
    idx = np.array([3, 1, -1, 4, 0])
    i = da.from_array(idx, chunks=2)
    np.testing.assert_array_equal(c(d[:, i]), x[:, idx])
    np.testing.assert_array_equal(c(d[..., i]), x[..., idx])
    # an int and the array not side by side: numpy moves the array's axis first
    assert d[2, :, i].shape == x[2, :, idx].shape
    np.testing.assert_array_equal(c(d[2, :, i]), x[2, :, idx])
    with pytest.raises(IndexError, match="out of bounds"):
        c(d[da.from_array(np.array([9]), chunks=1)])


def test_lstsq_returns_numpy_four_results():
    rng = np.random.default_rng(2)
    a = rng.random((20, 4))
    for b in (rng.random(20), rng.random((20, 3))):
        got = da.linalg.lstsq(da.from_array(a, chunks=(5, 4)), da.from_array(b, chunks=5))
        want = np.linalg.lstsq(a, b, rcond=None)
        assert len(got) == 4
        for g, w in zip(got, want):
            assert g.shape == np.shape(w)
            np.testing.assert_allclose(c(g), w)


def test_lstsq_rank_deficient_raises():
    a = np.ones((8, 2))
    with pytest.raises(np.linalg.LinAlgError, match="full column rank"):
        c(da.linalg.lstsq(da.from_array(a, chunks=4), da.ones(8, chunks=4))[0])


def test_reduction_has_dask_signature():
    x = np.arange(56.0).reshape(7, 8)
    d = da.from_array(x, chunks=3)
    r = da.reduction(d, np.sum, np.sum, axis=1, dtype=float, split_every=2)
    np.testing.assert_allclose(c(r), x.sum(axis=1))
    r = da.reduction(d, np.max, np.max, axis=(0, 1), keepdims=True, split_every=2, dtype=float)
    assert r.shape == (1, 1) and c(r)[0, 0] == x.max()

    def chunk(b, weights=None, axis=None, keepdims=None):
        return np.sum(b * weights, axis=axis, keepdims=keepdims)

    r = da.reduction(d, chunk, np.sum, axis=0, weights=np.arange(8.0), dtype=float)
    np.testing.assert_allclose(c(r), (x * np.arange(8.0)).sum(axis=0))

    def count_chunk(b, axis=None, keepdims=None):
        return np.full((1,) * b.ndim, b.size)

    def count_combine(parts, axis=None, keepdims=None):  # a nested list without concatenation
        flat = parts
        while isinstance(flat, list) and flat and isinstance(flat[0], list):
            flat = [p for sub in flat for p in sub]
        return np.sum(np.concatenate([np.ravel(p) for p in flat])).reshape((1,) * 2 if keepdims else ())

    r = da.reduction(d, count_chunk, count_combine, combine=count_combine, concatenate=False,
                     split_every=2, dtype=int)
    assert c(r) == 56


def test_weighted_and_nd_quantiles():
    rng = np.random.default_rng(3)
    x = rng.random((6, 7)).astype(np.float32)
    w = rng.random((6, 7))
    d = da.from_array(x, chunks=(2, 3))
    for q in (0.3, [0.1, 0.5], [[0.1, 0.2], [0.7, 0.9]]):
        for axis in (0, 1, (0, 1)):
            for keepdims in (False, True):
                got = da.quantile(d, q, axis=axis, keepdims=keepdims)
                want = np.quantile(x, q, axis=axis, keepdims=keepdims)
                res = c(got)
                assert got.shape == res.shape == np.shape(want)
                assert res.dtype == np.asarray(want).dtype
                np.testing.assert_allclose(res, want, rtol=1e-6)
        for f in (da.quantile, da.nanquantile):
            npf = getattr(np, f.__name__)
            np.testing.assert_allclose(c(f(d, q, axis=1, method="inverted_cdf", weights=w)),
                                       npf(x, q, axis=1, method="inverted_cdf", weights=w))
            np.testing.assert_allclose(c(f(d.ravel(), q, method="inverted_cdf", weights=w.ravel())),
                                       npf(x, q, method="inverted_cdf", weights=w))
        np.testing.assert_allclose(c(da.quantile(d, q, axis=1, method="inverted_cdf", weights=w[0])),
                                   np.quantile(x, q, axis=1, method="inverted_cdf", weights=w[0]))


def test_scalar_results_are_numpy_scalars():
    x = da.arange(10, chunks=3)
    for got, want in [(x.sum(), np.int64(45)), (x.mean(), np.float64(4.5)), (da.argmax(x), np.int64(9)),
                      (x[3], np.int64(3))]:
        res = c(got)
        assert type(res) is type(want) and res == want


def test_meshgrid_tuple_unequal_chunks():
    a = da.from_array(np.arange(7), chunks=(3, 4))
    b = da.from_array(np.arange(5.0), chunks=2)
    z = da.arange(3, chunks=1)
    for indexing in ("xy", "ij"):
        for sparse in (False, True):
            got = da.meshgrid(a, b, z, indexing=indexing, sparse=sparse)
            want = np.meshgrid(np.arange(7), np.arange(5.0), np.arange(3), indexing=indexing, sparse=sparse)
            assert isinstance(got, tuple)
            for g, w in zip(got, want):
                np.testing.assert_array_equal(c(g), w)


def test_flat_chunk_tuple_for_1d():
    assert da.from_array(np.arange(7), chunks=(3, 4)).chunks == ((3, 4),)
    assert da.ones(7, chunks=(3, 4)).chunks == ((3, 4),)


def test_several_index_arrays_broadcast_like_numpy():
    x = np.random.default_rng(4).random((4, 5, 6, 3))
    d = da.from_array(x, chunks=2)
    for key in [([0, 1], [1, 2]), (slice(None), [0, 2], [1, 3]), ([0, 1], slice(1, 4), [1, 2]),
                (1, [0, 2], [1, 3]), (slice(None), [[0], [2]], [1, 3], slice(None, None, -1)),
                ([True, False, True, False], [1, 4])]:
        np.testing.assert_array_equal(c(d[key]), x[key])


def test_vindex_forms():
    x = np.arange(56).reshape(7, 8)
    d = da.from_array(x, chunks=(3, 4))
    np.testing.assert_array_equal(c(d.vindex[[1, 2, 5, 5], [3, 1, -2, 1]]), x[[1, 2, 5, 5], [3, 1, -2, 1]])
    np.testing.assert_array_equal(c(d.vindex[[[0, 1], [6, 0]], [[0, 1], [0, 7]]]),
                                  x[[[0, 1], [6, 0]], [[0, 1], [0, 7]]])
    np.testing.assert_array_equal(c(d.vindex[[0, 1], ::-1]), x[[0, 1], ::-1])
    np.testing.assert_array_equal(c(d.vindex[:, [1, 3]]), x[:, [1, 3]].T)   # index dims come first
    assert d.vindex[:] is d
    for bad in (lambda: d.vindex[None], lambda: d.vindex[[1, 2], [1, 2, 3]], lambda: d.vindex[[True] * 7],
                lambda: d.vindex[1:], lambda: d.vindex[[0], [8]]):
        with pytest.raises(IndexError):
            bad()
    small = da.from_array(np.array([0.2, 0.4, 0.6]), chunks=-1)
    idx = np.array([[0, 2], [1, 1]])
    np.testing.assert_array_equal(c(small.vindex[da.from_array(idx, chunks=1)]), np.array([0.2, 0.4, 0.6])[idx])


def test_like_functions_on_unknown_chunks():
    x = da.arange(10, chunks=3)
    y = x[x > 4]
    for f, v in ((da.zeros_like, 0), (da.ones_like, 1), (lambda a: da.full_like(a, 7, dtype=float), 7.0)):
        r = f(y)
        assert np.isnan(r.shape[0])
        np.testing.assert_array_equal(c(r), np.full(5, v))


def test_map_blocks_block_info_no_arrays_and_enforce_ndim():
    x = da.arange(50, chunks=10)

    def add3(a, b, c, block_info=None):
        assert block_info[0]["shape"] == block_info[2]["shape"] == (50,)   # keyed by argument position
        assert block_info[None]["chunk-shape"] == (10,)
        return a + b + c

    np.testing.assert_array_equal(c(da.map_blocks(add3, x, 100, x + 1, dtype=x.dtype)), np.arange(50) * 2 + 101)

    def ramp(dtype, block_info=None):
        (lo, hi), = block_info[None]["array-location"]
        return np.arange(lo, hi, dtype=dtype)

    r = da.map_blocks(ramp, np.float32, chunks=((5, 3),), dtype=np.float32)
    np.testing.assert_array_equal(c(r), np.arange(8, dtype=np.float32))

    def ids(block, block_id=None, k=0):
        return np.ones_like(block) * sum(block_id) + k

    np.testing.assert_array_equal(c(da.from_array(np.arange(6), chunks=2).map_blocks(ids, k=1)), [1, 1, 2, 2, 3, 3])
    bad = da.ones(3, chunks=1).map_blocks(lambda b: np.array(5), chunks=((1, 1, 1),), enforce_ndim=True)
    with pytest.raises(ValueError, match="Dimension mismatch"):
        c(bad)


def test_masked_blocks_keep_their_masks():
    m = np.ma.masked_array([1, 2, 3, 4], mask=[0, 1, 0, 0])
    d = da.from_array(m, chunks=2)
    got = c(d + 1)
    assert isinstance(got, np.ma.MaskedArray)
    np.testing.assert_array_equal(np.ma.getmaskarray(got), [False, True, False, False])
    d[0] = 9
    assert c(d)[0] == 9 and np.ma.getmaskarray(c(d))[1]


def test_numpy_conversion_never_hands_out_a_graph_buffer():
    x = da.asarray(np.arange(10), chunks=10)
    n = np.asarray(x)
    n[0] = 42
    assert c(x[0]) == 0


def test_cumprod_sequential_follows_numpy_order():
    a = np.arange(10 * 11 * 12, dtype=float).reshape(10, 11, 12)   # block products overflow, numpy's stay 0
    d = da.from_array(a, chunks=(4, 5, 6))
    for f in (da.cumsum, da.cumprod, da.nancumprod):
        for axis in (None, 0, 2):
            np.testing.assert_array_equal(c(f(d, axis=axis)), getattr(np, f.__name__)(a, axis=axis))


def test_lazy_scalar_index_and_arg_reduction_of_unknown_lengths():
    x = np.arange(30).reshape(5, 6)
    d = da.from_array(x, chunks=2)
    i = da.from_array(np.int64(3))
    np.testing.assert_array_equal(c(d[i]), x[3])
    np.testing.assert_array_equal(c(d[:, i]), x[:, 3])
    y = da.arange(10, chunks=5)
    with pytest.raises(ValueError, match="compute_chunk_sizes"):
        da.argmax(y[y > 1])


def test_fields_float_indices_scalars_and_immutable_chunks():
    x = np.array([(1, 1.0), (2, 2.0)], dtype=[("a", "i4"), ("b", "f4")])
    y = da.from_array(x, chunks=1)
    np.testing.assert_array_equal(c(y["a"]), x["a"])
    assert c(y[["b", "a"]]).tolist() == x[["b", "a"]].tolist()
    d = da.ones(5, chunks=3)
    for key in (1.5, slice(0, 1.5), [1, 1.5]):
        with pytest.raises(IndexError):
            d[key]
    with pytest.raises(TypeError, match="rechunk"):
        d.chunks = 2
    assert int(da.from_array(np.array([7]), chunks=1)) == 7
    with pytest.raises(TypeError):
        int(da.arange(2, chunks=1))
    with pytest.raises(NotImplementedError, match="object"):
        da.from_array(np.array(["a", "abc"], dtype=object))


def test_map_blocks_uninferable_dtype_and_compute_copies_views():
    def boom(b):
        raise RuntimeError("no")

    with pytest.raises(ValueError, match="dtype"):
        da.ones(4, chunks=2).map_blocks(boom)
    src = np.arange(10)
    x = da.from_array(src, chunks=10)
    out = x.compute()
    out[0] = 42
    assert src[0] == 0 and c(x[0]) == 0


def test_block_rules_and_slicing_unknown_lengths():
    for bad, err in (([(1, 2), (3, 4)], TypeError), ([[1], []], ValueError), ([1, [2]], ValueError)):
        with pytest.raises(err):
            da.block(bad)
    x = np.arange(100).reshape(10, 10)
    d = da.from_array(x, chunks=4)
    y = d[d[:, 0] > 35]
    with pytest.raises(ValueError, match="compute_chunk_sizes"):
        y[:3]
    np.testing.assert_array_equal(c(y[:, 2]), x[x[:, 0] > 35][:, 2])
    y.compute_chunk_sizes()
    np.testing.assert_array_equal(c(y[:3]), x[x[:, 0] > 35][:3])


def test_unique_with_index_inverse_counts():
    x = np.array([[3, 1, 2, 3], [1, 5, np.nan, np.nan]])
    d = da.from_array(x, chunks=(1, 3))
    got = da.unique(d, return_index=True, return_inverse=True, return_counts=True)
    want = np.unique(x, return_index=True, return_inverse=True, return_counts=True)
    for g, w in zip(got, want):
        np.testing.assert_array_equal(c(g), w)
    np.testing.assert_array_equal(c(da.unique(d)), np.unique(x))
