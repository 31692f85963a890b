"""apply_gufunc / gufunc / as_gufunc against numpy on the whole array."""
import numpy as np
import pytest

import shoal.array as da

rng = np.random.default_rng(7)
X = rng.random((4, 5, 3))
D = da.from_array(X, chunks=(2, 2, 3))


def c(x):
    return x.compute(scheduler="sync")


def test_reduce_core_dim_and_broadcast_loop_dims():
    r = da.apply_gufunc(lambda a: a.sum(-1), "(i)->()", D)
    assert r.chunks == ((2, 2), (2, 2, 1))
    np.testing.assert_allclose(c(r), X.sum(-1))
    y = rng.random((5, 3))
    r = da.apply_gufunc(lambda a, b: (a * b).sum(-1), "(i),(i)->()", D, da.from_array(y, chunks=(2, 3)))
    np.testing.assert_allclose(c(r), (X * y).sum(-1))


def test_several_outputs_new_core_dims_vectorize_and_axes():
    m, s = da.apply_gufunc(lambda a: (a.mean(-1), a.std(-1)), "(i)->(),()", D)
    np.testing.assert_allclose(c(m), X.mean(-1))
    np.testing.assert_allclose(c(s), X.std(-1))
    r = da.apply_gufunc(lambda a: a[..., :, None] * a[..., None, :], "(i)->(i,j)", D, output_sizes={"j": 3})
    np.testing.assert_allclose(c(r), X[..., :, None] * X[..., None, :])
    np.testing.assert_allclose(c(da.apply_gufunc(np.mean, "(i)->()", D, vectorize=True)), X.mean(-1))
    np.testing.assert_allclose(c(da.apply_gufunc(lambda a: a.sum(-1), "(i)->()", D, axis=0, allow_rechunk=True)),
                               X.sum(0))
    assert da.apply_gufunc(lambda a: a.sum(-1), "(i)->()", D, keepdims=True).shape == (4, 5, 1)

    @da.as_gufunc("(i)->()", output_dtypes=float)
    def biggest(a):
        return a.max(-1)

    np.testing.assert_allclose(c(biggest(D)), X.max(-1))


def test_split_core_dim_needs_allow_rechunk():
    with pytest.raises(ValueError, match="allow_rechunk"):
        da.apply_gufunc(lambda a: a.sum(-1), "(i)->()", D, axis=0)
    with pytest.raises(ValueError, match="output_sizes"):
        da.apply_gufunc(lambda a: a, "(i)->(k)", D)
