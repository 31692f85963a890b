"""scipy.sparse blocks and shoal.array.ma, compared with scipy and numpy.ma."""
from __future__ import annotations

import pickle

import numpy as np
import pytest

import shoal.array as da
from tests.conftest import require_module

sp = require_module("scipy.sparse", "pip install scipy")


def _dense(seed: int = 0, shape: tuple = (40, 6)) -> np.ndarray:
    x = np.random.default_rng(seed).random(shape)
    x[x < 0.7] = 0
    return x


def _same_masked(got, want) -> None:
    assert isinstance(got, np.ma.MaskedArray)
    np.testing.assert_array_equal(np.ma.getmaskarray(got), np.ma.getmaskarray(want))
    np.testing.assert_allclose(np.ma.filled(got, 0), np.ma.filled(want, 0))


# -- scipy.sparse blocks ---------------------------------------------------------------

@pytest.mark.parametrize("cls", [sp.csr_matrix, sp.csr_array, sp.csc_matrix])
def test_from_array_keeps_sparse_blocks(cls):
    x = cls(_dense())
    d = da.from_array(x, chunks=(10, 3))
    blocks = [b.compute() for b in d.to_delayed().flatten()]
    assert all(type(b) is cls for b in blocks)
    out = d.compute()
    assert type(out) is cls
    assert (out != x).nnz == 0


@pytest.mark.parametrize("axis", [0, 1])
@pytest.mark.parametrize("cls", [sp.csr_matrix, sp.csr_array])
def test_concatenate_sparse_matches_scipy_stack(axis, cls):
    xs = [_dense(1), _dense(2)]
    ds = [da.from_array(x, chunks=(10, 3)).map_blocks(cls) for x in xs]
    got = da.concatenate(ds, axis=axis).compute()
    want = (sp.vstack if axis == 0 else sp.hstack)([cls(x) for x in xs])
    assert isinstance(got, sp.spmatrix if cls is sp.csr_matrix else sp.sparray)
    assert (got != want).nnz == 0


@pytest.mark.parametrize("index", [[5, 33, 2], slice(5, 30), np.arange(40) % 3 == 0, 7])
def test_sparse_indexing_matches_dense(index):
    x = _dense(3)
    d = da.from_array(x, chunks=(10, 3)).map_blocks(sp.csr_matrix)
    got = d[index, :].compute()
    assert sp.issparse(got)
    np.testing.assert_array_equal(np.asarray(got.toarray()).reshape(x[index, :].shape), x[index, :])


@pytest.mark.filterwarnings("ignore:Changing the sparsity structure")
def test_setitem_into_sparse_blocks():
    x = sp.csr_matrix(sp.eye(30))
    d = da.from_array(x, chunks=10)
    d[2:14, 3:5] = 7
    x = x.tolil()
    x[2:14, 3:5] = 7
    out = d.compute()
    assert sp.issparse(out)
    np.testing.assert_array_equal(out.toarray(), x.toarray())


def test_asarray_like_sparse_array():
    like = da.from_array(sp.csr_matrix([[1, 0], [0, 2]]))
    a = da.asarray(np.array([[1, 2, 0]]), dtype=np.float32, like=like)
    assert a.dtype == np.float32
    out = a.compute()
    assert isinstance(out, sp.csr_matrix) and out.dtype == np.float32
    np.testing.assert_array_equal(out.toarray(), [[1, 2, 0]])


# -- shoal.array.ma --------------------------------------------------------------------

X = np.arange(24.0).reshape(4, 6)


@pytest.mark.parametrize("name, args", [
    ("masked_equal", (5,)), ("masked_not_equal", (5,)), ("masked_greater", (13,)),
    ("masked_greater_equal", (13,)), ("masked_less", (4,)), ("masked_less_equal", (4,)),
    ("masked_inside", (3, 15)), ("masked_outside", (3, 15)), ("masked_values", (7.0,)),
])
def test_masked_builders_match_numpy_ma(name, args):
    got = getattr(da.ma, name)(da.from_array(X, chunks=(2, 4)), *args).compute()
    _same_masked(got, getattr(np.ma, name)(X, *args))


def test_masked_where_invalid_fix_invalid_and_filled():
    x = X.copy()
    x[1, 2], x[3, 0] = np.nan, np.inf
    d = da.from_array(x, chunks=(3, 4))
    _same_masked(da.ma.masked_where(d > 10, d).compute(), np.ma.masked_where(x > 10, x))
    _same_masked(da.ma.masked_invalid(d).compute(), np.ma.masked_invalid(x))
    _same_masked(da.ma.fix_invalid(d, fill_value=-1).compute(), np.ma.fix_invalid(x, fill_value=-1))
    m = da.ma.masked_greater(d, 10)
    np.testing.assert_array_equal(da.ma.filled(m, -5).compute(), np.ma.filled(np.ma.masked_greater(x, 10), -5))
    np.testing.assert_array_equal(da.ma.getmaskarray(m).compute(), x > 10)
    np.testing.assert_array_equal(da.ma.getdata(m).compute(), x)
    with pytest.raises(IndexError):
        da.ma.masked_where(np.ones(3, bool), d)


def test_masked_array_with_mask_and_fill_value():
    mask = X % 5 == 0
    got = da.ma.masked_array(da.from_array(X, chunks=2), mask=mask, fill_value=-9).compute()
    want = np.ma.masked_array(X, mask=mask, fill_value=-9)
    _same_masked(got, want)
    assert got.fill_value == -9
    with pytest.raises(np.ma.MaskError):
        da.ma.masked_array(da.from_array(X, chunks=2), mask=np.ones(3, bool))


def test_set_fill_value_in_place_and_rejects_bad_value():
    d = da.ma.masked_equal(da.from_array(X, chunks=2), 3)
    da.ma.set_fill_value(d, 42)
    assert np.ma.filled(d.compute())[0, 3] == 42
    with pytest.raises(TypeError):
        da.ma.set_fill_value(d, "not a number")


@pytest.mark.parametrize("chunks", [2, (1, 6), 4])
@pytest.mark.parametrize("axis", [None, 0, 1])
@pytest.mark.parametrize("op", ["sum", "mean", "max", "min", "var", "std", "prod"])
def test_reductions_of_masked_blocks_match_numpy_ma(chunks, axis, op):
    xm = np.ma.masked_greater(X, 14)
    xm[0, 0] = np.ma.masked  # a column masked in one block only, and rows masked throughout
    got = getattr(da.from_array(xm, chunks=chunks), op)(axis=axis).compute()
    want = getattr(xm, op)(axis=axis)
    if axis is None:
        np.testing.assert_allclose(got, want)
    else:
        _same_masked(got, want)


@pytest.mark.parametrize("axis", [None, 0, 1])
def test_count_and_average(axis):
    xm = np.ma.masked_greater(X, 14)
    d = da.ma.masked_greater(da.from_array(X, chunks=(3, 4)), 14)
    np.testing.assert_array_equal(da.ma.count(d, axis=axis).compute(), np.ma.count(xm, axis=axis))
    got, wsum = da.ma.average(d, axis=axis, returned=True)
    want, wwant = np.ma.average(xm, axis=axis, returned=True)
    if axis is None:
        np.testing.assert_allclose(got.compute(), want)
    else:
        _same_masked(got.compute(), want)
    np.testing.assert_allclose(np.ma.filled(wsum.compute(), 0), np.ma.filled(wwant, 0))
    w = np.arange(1.0, 7.0)
    _same_masked(da.ma.average(d, axis=1, weights=w).compute(), np.ma.average(xm, axis=1, weights=w))


def test_like_functions_keep_masks():
    xm = np.ma.masked_less(X, 6)
    d = da.ma.masked_less(da.from_array(X, chunks=2), 6)
    for name in ["ones_like", "zeros_like"]:
        _same_masked(getattr(da.ma, name)(d).compute(), getattr(np.ma, name)(xm))
    e = da.ma.empty_like(d).compute()
    np.testing.assert_array_equal(np.ma.getmaskarray(e), np.ma.getmaskarray(xm))


def test_assigning_masked_and_pickling():
    x = np.ma.arange(60).reshape((6, 10))
    d = da.from_array(x.data, chunks=(2, 3))
    x[1, 1:7:2] = np.ma.masked
    d[1, 1:7:2] = np.ma.masked
    _same_masked(d.compute(), x)
    m = da.ma.masked_equal(da.arange(20, chunks=5), 0)
    _same_masked(pickle.loads(pickle.dumps(m)).compute(), np.ma.masked_equal(np.arange(20), 0))
