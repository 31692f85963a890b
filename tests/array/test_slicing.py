"""Indexing against numpy: ints, slices, None, Ellipsis, lists, boolean masks."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import shoal.array as da


def c(x):
    return x.compute(scheduler="sync")


A = np.arange(7 * 9 * 4).reshape(7, 9, 4)
X = da.from_array(A, chunks=(3, 4, 3))


@pytest.mark.parametrize("index", [
    0, -1, (1, 2), (1, 2, 3), slice(None), slice(1, 6), slice(None, None, 2), slice(None, None, -1),
    slice(6, 0, -3), (slice(2, 5), slice(None, None, -2)), (Ellipsis, 1), (None, 2), (slice(None), None, 3),
    (Ellipsis, None), [0, 3, 6], ([6, 0, 0, 2],), (slice(None), [8, 1, 4, 4, 0]), (2, [1, 5], slice(1, 3)),
    (np.array([True, False, True, True, False, False, True]),), (slice(None), slice(None), [3, -1]),
    slice(100, 200), (slice(None), slice(5, 5)), (1, slice(None), [0, 2]),
])
def test_indexing_matches_numpy(index):
    expect = A[index]
    r = X[index]
    assert r.shape == expect.shape
    np.testing.assert_array_equal(c(r), expect)


@settings(max_examples=60, deadline=None)
@given(st.data())
def test_random_slices(data):
    shape = tuple(data.draw(st.integers(1, 9)) for _ in range(2))
    chunks = tuple(data.draw(st.integers(1, s)) for s in shape)
    a = np.arange(np.prod(shape)).reshape(shape)
    x = da.from_array(a, chunks=chunks)
    idx = []
    for s in shape:
        kind = data.draw(st.sampled_from(["int", "slice", "list"]))
        if kind == "int":
            idx.append(data.draw(st.integers(-s, s - 1)))
        elif kind == "slice":
            step = data.draw(st.sampled_from([None, 1, 2, 3, -1, -2]))
            idx.append(slice(data.draw(st.one_of(st.none(), st.integers(-s - 2, s + 2))),
                             data.draw(st.one_of(st.none(), st.integers(-s - 2, s + 2))), step))
        else:
            idx.append(None)
    lists = [i for i, v in enumerate(idx) if v is None]
    for n, i in enumerate(lists):
        if n == 0:
            idx[i] = data.draw(st.lists(st.integers(-shape[i], shape[i] - 1), min_size=0, max_size=12))
        else:
            idx[i] = slice(None)
    idx = tuple(idx)
    np.testing.assert_array_equal(c(x[idx]), a[idx])


def test_boolean_array_mask_unknown_chunks():
    a = np.random.default_rng(0).normal(size=(6, 7))
    x = da.from_array(a, chunks=3)
    r = x[x > 0]
    assert np.isnan(r.shape[0])
    got = c(r)
    np.testing.assert_array_equal(np.sort(got), np.sort(a[a > 0]))
    r.compute_chunk_sizes()
    assert r.shape[0] == (a > 0).sum()
    np.testing.assert_array_equal(c(x[a > 0]), c(r))
    np.testing.assert_allclose(c(r.sum()), a[a > 0].sum())


def test_blocks_accessor():
    assert X.blocks[1, 2].shape == (3, 1, 4)
    np.testing.assert_array_equal(c(X.blocks[1, 2]), A[3:6, 8:9, :])
    np.testing.assert_array_equal(c(X.blocks[:, -1]), A[:, 8:9])


def test_indexing_errors_teach():
    with pytest.raises(IndexError, match="out of bounds"):
        X[7]
    with pytest.raises(IndexError, match="too many indices"):
        X[1, 2, 3, 4]
    np.testing.assert_array_equal(c(X[[0, 1], [0, 1]]), A[[0, 1], [0, 1]])  # broadcast pointwise
    with pytest.raises(IndexError, match="structured dtype"):
        X["a"]
    with pytest.raises(NotImplementedError, match="more than one shoal Array"):
        X[da.arange(3, chunks=2), da.arange(3, chunks=2)]
    with pytest.raises(IndexError, match="single ellipsis"):
        X[..., ...]


def test_vindex_pointwise():
    np.testing.assert_array_equal(c(X.vindex[[0, 6, 3], [8, 0, 4]]), A[[0, 6, 3], [8, 0, 4]])
    np.testing.assert_array_equal(c(X.vindex[[[0, 1], [6, 5]], [[1, 2], [3, 8]], 2]),
                                  A[[[0, 1], [6, 5]], [[1, 2], [3, 8]], 2])
    np.testing.assert_array_equal(c(X.vindex[[1, -1], 3]), A[[1, -1], 3])
    with pytest.raises(IndexError, match="do not broadcast"):
        X.vindex[[0, 1], [0, 1, 2]]


def test_einsum():
    a = np.random.default_rng(0).random((5, 6))
    b = np.random.default_rng(1).random((6, 4))
    x, y = da.from_array(a, chunks=2), da.from_array(b, chunks=3)
    np.testing.assert_allclose(c(da.einsum("ij,jk->ik", x, y)), np.einsum("ij,jk->ik", a, b))
    np.testing.assert_allclose(c(da.einsum("ij,ij->i", x, x)), np.einsum("ij,ij->i", a, a))
    np.testing.assert_allclose(c(da.einsum("ij", x)), np.einsum("ij", a))
    np.testing.assert_allclose(c(np.einsum("ij->j", x)), a.sum(axis=0))
