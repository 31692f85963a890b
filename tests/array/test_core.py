"""Array basics: metadata, creation, elementwise ops, numpy protocols, errors.

Every result is checked against numpy on the computed value (sync scheduler
unless a test is about schedulers; see test_schedulers.py).
"""
from __future__ import annotations

import pickle

import numpy as np
import pytest

import shoal
import shoal.array as da
from shoal.core.graph import LayeredGraph
from shoal.core.task import Ref, Task


def c(x):
    return x.compute(scheduler="sync")


def test_public_api_is_explicit():
    assert "from_array" in da.__all__ and "random" in da.__all__
    for name in da.__all__:
        assert hasattr(da, name), name


def test_metadata_and_repr():
    x = da.ones((10, 7), chunks=(4, 3), dtype="i4")
    assert x.shape == (10, 7) and x.ndim == 2 and x.size == 70
    assert x.chunks == ((4, 4, 2), (3, 3, 1))
    assert x.numblocks == (3, 3) and x.npartitions == 9
    assert x.nbytes == 280 and x.dtype == np.dtype("i4") and x.itemsize == 4
    assert x.chunksize == (4, 3)
    r = repr(x)
    assert "shape=(10, 7)" in r and "int32" in r and "chunksize=(4, 3)" in r
    h = x._repr_html_()
    assert "<table>" in h and "280 B" in h and "9 blocks" in h
    assert len(x) == 10


def test_graph_is_layered_and_keys_are_tuples():
    x = da.ones((6, 6), chunks=3)
    y = (x + 1) * 2
    g = y.__shoal_graph__()
    assert isinstance(g, LayeredGraph)
    assert len(g.layers) == 3  # ones, add, multiply: one layer per operation
    assert (y.name, 1, 1) in g
    assert y.__shoal_keys__() == [[(y.name, 0, 0), (y.name, 0, 1)], [(y.name, 1, 0), (y.name, 1, 1)]]
    assert x.__shoal_scheduler__ == "threads"


def test_long_pipeline_builds_linearly():
    x = da.ones((4,), chunks=2)
    for _ in range(300):
        x = x + 1
    assert len(x.dask.layers) == 301
    np.testing.assert_array_equal(c(x), np.full(4, 301.0))


def test_from_array_puts_source_in_graph_once():
    a = np.arange(100.0).reshape(10, 10)
    x = da.from_array(a, chunks=(3, 4))
    g = dict(x.__shoal_graph__())
    literal = [k for k, v in g.items() if isinstance(v, np.ndarray) and v.shape == a.shape]
    assert len(literal) == 1
    src = g[literal[0]]
    tasks = [v for v in g.values() if isinstance(v, Task)]
    assert len(tasks) == x.npartitions
    for t in tasks:
        assert t.deps == frozenset(literal)
        assert not any(arg is src for arg in t.args)  # a Ref, not the array itself
    np.testing.assert_array_equal(c(x), a)


def test_from_array_is_a_snapshot_of_a_numpy_array(tmp_path):
    a = np.arange(60).reshape(6, 10)
    x = da.from_array(a, chunks=(2, 3))
    a[2:4] = -5  # changing the source afterwards does not change the Array
    np.testing.assert_array_equal(c(x), np.arange(60).reshape(6, 10))
    m = np.lib.format.open_memmap(str(tmp_path / "m.npy"), mode="w+", dtype="i8", shape=(6, 10))
    y = da.from_array(m, chunks=3)  # a memmap is read in place, not copied into memory
    m[:] = 7
    assert int(c(y.sum())) == 420


@pytest.mark.parametrize("chunks,expected", [
    ((4, 5), ((4, 4, 2), (5, 5))),
    (5, ((5, 5), (5, 5))),
    (-1, ((10,), (10,))),
    (((6, 4), (10,)), ((6, 4), (10,))),
    ((None, 3), ((10,), (3, 3, 3, 1))),
    ("auto", ((10,), (10,))),
    ({0: 2}, ((2,) * 5, (10,))),
])
def test_chunks_forms(chunks, expected):
    x = da.from_array(np.zeros((10, 10)), chunks=chunks)
    assert x.chunks == expected


def test_auto_chunks_target_128mib():
    x = da.zeros((60000, 60000), chunks="auto")
    nbytes = np.prod(x.chunksize) * 8
    assert 64 * 2**20 <= nbytes <= 128 * 2**20
    assert x.chunksize[0] == x.chunksize[1]


@pytest.mark.parametrize("bad,msg", [
    ((3, 3, 3), "3 entries"),
    (((5, 4), (10,)), "add up to 9"),
    ((0, 5), "positive"),
    ("big", "'auto'"),
])
def test_bad_chunks_errors_teach(bad, msg):
    with pytest.raises(ValueError, match=msg) as e:
        da.from_array(np.zeros((10, 10)), chunks=bad)
    assert "chunks=(1000, 1000)" in str(e.value)


def test_creation_functions():
    np.testing.assert_array_equal(c(da.zeros((5, 3), chunks=2)), np.zeros((5, 3)))
    np.testing.assert_array_equal(c(da.ones(7, chunks=3, dtype=int)), np.ones(7, int))
    np.testing.assert_array_equal(c(da.full((3, 4), 2.5, chunks=2)), np.full((3, 4), 2.5))
    assert c(da.empty((3, 4), chunks=2)).shape == (3, 4)
    np.testing.assert_array_equal(c(da.arange(17, chunks=5)), np.arange(17))
    np.testing.assert_array_equal(c(da.arange(2, 30, 3, chunks=4)), np.arange(2, 30, 3))
    np.testing.assert_allclose(c(da.linspace(0, 1, 11, chunks=4)), np.linspace(0, 1, 11))
    np.testing.assert_allclose(c(da.linspace(0, 1, 10, endpoint=False, chunks=3)),
                               np.linspace(0, 1, 10, endpoint=False))
    np.testing.assert_array_equal(c(da.eye(7, chunks=3)), np.eye(7))
    np.testing.assert_array_equal(c(da.eye(5, chunks=2, M=7, k=1)), np.eye(5, 7, k=1))
    x = da.ones((4, 6), chunks=(2, 3))
    for like, ref in [(da.zeros_like, np.zeros_like), (da.ones_like, np.ones_like)]:
        y = like(x)
        assert y.chunks == x.chunks
        np.testing.assert_array_equal(c(y), ref(np.ones((4, 6))))
    np.testing.assert_array_equal(c(da.full_like(x, 3)), np.full((4, 6), 3.0))
    assert da.asarray(x) is x
    np.testing.assert_array_equal(c(da.asarray([[1, 2], [3, 4]])), np.array([[1, 2], [3, 4]]))
    np.testing.assert_array_equal(c(da.diag(da.arange(4, chunks=2))), np.diag(np.arange(4)))


def test_from_delayed_and_to_delayed():
    d = shoal.delayed(np.arange)(6)
    x = da.from_delayed(d, shape=(6,), dtype=int)
    np.testing.assert_array_equal(c(x * 2), np.arange(6) * 2)
    blocks = da.arange(10, chunks=4).to_delayed()
    assert blocks.shape == (3,)
    vals = shoal.compute(*blocks.tolist(), scheduler="sync")
    np.testing.assert_array_equal(np.concatenate(vals), np.arange(10))


def test_concatenate_stack_block():
    a = np.arange(12.0).reshape(3, 4)
    b = np.arange(8.0).reshape(2, 4)
    x, y = da.from_array(a, chunks=2), da.from_array(b, chunks=(1, 3))
    np.testing.assert_array_equal(c(da.concatenate([x, y])), np.concatenate([a, b]))
    np.testing.assert_array_equal(c(da.concatenate([x, x], axis=1)), np.concatenate([a, a], axis=1))
    np.testing.assert_array_equal(c(da.stack([x, x + 1], axis=1)), np.stack([a, a + 1], axis=1))
    np.testing.assert_array_equal(c(da.block([[x, x], [y, y]])), np.block([[a, a], [b, b]]))
    with pytest.raises(ValueError, match="differ along axis 1"):
        da.concatenate([x, da.ones((2, 5), chunks=2)])


def test_elementwise_and_broadcasting():
    a = np.random.default_rng(0).random((6, 5))
    b = np.arange(5.0)
    x = da.from_array(a, chunks=(4, 2))
    y = da.from_array(b, chunks=3)
    np.testing.assert_allclose(c(x + y), a + b)
    np.testing.assert_allclose(c(x * 2 - 1 / (y + 1)), a * 2 - 1 / (b + 1))
    np.testing.assert_allclose(c(2 ** x), 2 ** a)
    np.testing.assert_allclose(c(x[:, :1] + x), a[:, :1] + a)
    np.testing.assert_array_equal(c(x > 0.5), a > 0.5)
    np.testing.assert_array_equal(c((x > 0.2) & (x < 0.8)), (a > 0.2) & (a < 0.8))
    np.testing.assert_allclose(c(-abs(x - 0.5)), -abs(a - 0.5))
    np.testing.assert_allclose(c(x + b), a + b)  # numpy operand
    np.testing.assert_allclose(c(b + x), b + a)  # numpy on the left defers to us
    assert isinstance(b + x, da.Array)


def test_mismatched_shapes_error():
    x = da.ones((4, 5), chunks=2)
    with pytest.raises(ValueError, match="could not be broadcast.*\\(4, 5\\) \\(3,\\)"):
        x + da.ones(3, chunks=2)


def test_ufuncs_and_numpy_protocols():
    a = np.linspace(0.1, 2, 20).reshape(4, 5)
    x = da.from_array(a, chunks=2)
    for f in [np.sin, np.exp, np.log, np.sqrt, np.isnan]:
        r = f(x)
        assert isinstance(r, da.Array)
        np.testing.assert_allclose(c(r), f(a))
    np.testing.assert_allclose(c(da.maximum(x, 1.0)), np.maximum(a, 1.0))
    np.testing.assert_allclose(c(np.arctan2(x, x.T.T)), np.arctan2(a, a))
    frac, whole = np.modf(x * 3)
    np.testing.assert_allclose(c(frac), np.modf(a * 3)[0])
    np.testing.assert_allclose(c(whole), np.modf(a * 3)[1])
    assert da.sin(1.0) == np.sin(1.0)
    # __array_function__: numpy functions dispatch to shoal
    r = np.sum(x, axis=0)
    assert isinstance(r, da.Array)
    np.testing.assert_allclose(c(r), a.sum(axis=0))
    assert isinstance(np.concatenate([x, x]), da.Array)
    assert isinstance(np.mean(x), da.Array)
    np.testing.assert_allclose(np.add.reduce(x, axis=1).compute(), a.sum(axis=1))
    # __array__
    np.testing.assert_allclose(np.asarray(x), a)
    # unimplemented numpy function: computed, with a warning that says what to do
    with pytest.warns(FutureWarning, match="map_blocks"):
        r = np.sort(x, axis=0)
    np.testing.assert_allclose(r, np.sort(a, axis=0))
    assert float(da.from_array(np.array(2.5))) == 2.5


def test_map_blocks_and_blockwise():
    a = np.arange(24.0).reshape(4, 6)
    x = da.from_array(a, chunks=(2, 3))
    np.testing.assert_allclose(c(x.map_blocks(lambda b: b * 2)), a * 2)
    np.testing.assert_allclose(c(da.map_blocks(np.add, x, 1)), a + 1)

    def where_am_i(b, block_id=None):
        return np.full(b.shape, block_id[0] * 10 + block_id[1])

    ids = c(da.map_blocks(where_am_i, x, dtype=int))
    assert ids[0, 0] == 0 and ids[3, 5] == 11 and ids[2, 0] == 10

    def info(b, block_info=None):
        lo = block_info[0]["array-location"]
        return np.full(b.shape, lo[0][0] + lo[1][0])

    np.testing.assert_array_equal(c(da.map_blocks(info, x))[2:, 3:], np.full((2, 3), 5))
    s = da.map_blocks(lambda b: b.sum(axis=1), x, drop_axis=1, dtype=float)
    assert s.ndim == 1
    e = da.map_blocks(lambda b: b[:, None, :], x, new_axis=1)
    assert e.shape == (4, 1, 6)
    np.testing.assert_array_equal(c(e), a[:, None, :])
    shrunk = da.map_blocks(lambda b: b[:1], x, chunks=(1, 3))
    assert shrunk.shape == (2, 6)
    np.testing.assert_array_equal(c(shrunk), a[[0, 2]])
    # blockwise with a contraction, concatenated
    m = da.from_array(np.arange(6.0), chunks=2)
    z = da.blockwise(lambda A, v: A @ v, "i", x, "ij", m, "j", concatenate=True, dtype=float)
    np.testing.assert_allclose(c(z), a @ np.arange(6.0))
    # blockwise outer product
    o = da.blockwise(np.multiply.outer, "ij", m, "i", m, "j", dtype=float)
    np.testing.assert_allclose(c(o), np.outer(np.arange(6.0), np.arange(6.0)))
    with pytest.raises(ValueError, match="new_axes"):
        da.blockwise(np.sum, "ik", x, "ij")


def test_where_clip_round_astype():
    a = np.random.default_rng(1).normal(size=(7, 8))
    x = da.from_array(a, chunks=3)
    np.testing.assert_allclose(c(da.where(x > 0, x, 0)), np.where(a > 0, a, 0))
    np.testing.assert_allclose(c(x.clip(-0.5, 0.5)), a.clip(-0.5, 0.5))
    np.testing.assert_allclose(c(da.round(x, 2)), np.round(a, 2))
    assert x.astype("f4").dtype == np.float32
    np.testing.assert_array_equal(c(x.astype(int)), a.astype(int))
    y = x.copy()
    y[y < 0] = 0
    np.testing.assert_allclose(c(y), np.where(a < 0, 0, a))
    np.testing.assert_allclose(c(x), a)  # the original is unchanged


def test_persist_and_pickle():
    x = da.arange(10, chunks=3) * 2
    p = x.persist(scheduler="sync")
    assert p.chunks == x.chunks
    assert all(not isinstance(v, Task) for v in dict(p.dask).values())
    np.testing.assert_array_equal(c(p), np.arange(10) * 2)
    y = pickle.loads(pickle.dumps(x))
    np.testing.assert_array_equal(c(y), np.arange(10) * 2)


def test_truth_value_and_iteration():
    x = da.arange(3, chunks=2)
    with pytest.raises(ValueError, match="ambiguous"):
        bool(x)
    assert [int(v) for v in x] == [0, 1, 2]


def test_compute_several_shares_work():
    x = da.random.default_rng(1).random((20, 20), chunks=5)
    s, m = shoal.compute(x.sum(), x.mean(), scheduler="sync")
    np.testing.assert_allclose(s / 400, m)


def test_visualize_writes_a_picture(tmp_path):
    from tests.conftest import require

    require("dot")
    x = da.ones((4, 4), chunks=2).sum(axis=0)
    out = tmp_path / "graph.svg"
    x.visualize(filename=str(out))
    text = out.read_text()
    assert "<svg" in text and "(1, 1)" in text and text.count("_fill<") == 4  # one node per block


from hypothesis import given, settings, strategies as st  # noqa: E402


@settings(max_examples=40, deadline=None)
@given(st.data())
def test_broadcasting_with_different_chunks(data):
    ndim = data.draw(st.integers(1, 3))
    shape = tuple(data.draw(st.integers(1, 6)) for _ in range(ndim))
    # the second operand drops leading dims and has some length-1 dims
    k = data.draw(st.integers(0, ndim))
    shape2 = tuple(1 if data.draw(st.booleans()) else s for s in shape[k:])
    ch1 = tuple(data.draw(st.integers(1, s)) for s in shape)
    ch2 = tuple(data.draw(st.integers(1, s)) for s in shape2)
    a = np.random.default_rng(0).random(shape)
    b = np.random.default_rng(1).random(shape2)
    x, y = da.from_array(a, chunks=ch1), da.from_array(b, chunks=ch2)
    op = data.draw(st.sampled_from([np.add, np.multiply, np.maximum, np.greater]))
    np.testing.assert_array_equal(c(op(x, y)), op(a, b))
    np.testing.assert_array_equal(c(op(y, x)), op(b, a))


def test_filled_blocks_are_cheap_but_results_writable():
    blk = dict(da.ones((1000, 1000), chunks=500).dask)
    from shoal.core.task import run_node

    v = run_node(next(iter(blk.values())), {})
    assert v.shape == (500, 500) and v.strides == (0, 0)  # a view of one scalar
    out = c(da.ones(5, chunks=5))
    out[0] = 7  # the computed result is an ordinary writable array
    assert out.tolist() == [7, 1, 1, 1, 1]
