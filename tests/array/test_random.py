"""Per-block random streams: reproducible by seed and chunking, independent per block."""
from __future__ import annotations

import numpy as np
import pytest

import shoal.array as da


def c(x, **kw):
    return x.compute(scheduler=kw.pop("scheduler", "sync"), **kw)


def test_seeded_generator_is_reproducible_and_advances():
    a = c(da.random.default_rng(42).normal(0, 1, size=(50, 40), chunks=(20, 15)))
    b = c(da.random.default_rng(42).normal(0, 1, size=(50, 40), chunks=(20, 15)))
    np.testing.assert_array_equal(a, b)
    rng = da.random.default_rng(42)
    first, second = c(rng.random(10, chunks=5)), c(rng.random(10, chunks=5))
    assert not np.array_equal(first, second)  # like numpy: each draw moves on
    assert not np.array_equal(a, c(da.random.default_rng(43).normal(size=(50, 40), chunks=(20, 15))))


@pytest.mark.parametrize("name, kind", [(None, np.random.SFC64), ("PCG64", np.random.PCG64),
                                        (np.random.Philox, np.random.Philox)])
def test_block_streams_follow_seedsequence_spawning(name, kind):
    x = da.random.default_rng(7, bit_generator=name).standard_normal(size=(6, 4), chunks=(3, 2))
    got = c(x)
    ss = np.random.SeedSequence(7)
    for k, (i, j) in enumerate([(0, 0), (0, 1), (1, 0), (1, 1)]):  # blocks in C order
        child = np.random.SeedSequence(ss.entropy, spawn_key=(0, k))
        expect = np.random.Generator(kind(child)).standard_normal((3, 2))
        np.testing.assert_array_equal(got[i * 3:(i + 1) * 3, j * 2:(j + 1) * 2], expect)


def test_bit_generator_from_config_travels_with_the_graph_and_bad_names_teach():
    import shoal

    with shoal.config.set({"array.random.bit-generator": "PCG64"}):
        x = da.random.default_rng(3).random(8, chunks=4)
        assert "PCG64" in repr(da.random.default_rng(3))
    # computed outside the config block: the graph already names its bit generator
    expect = np.random.Generator(np.random.PCG64(np.random.SeedSequence(3, spawn_key=(0, 0)))).random(4)
    np.testing.assert_array_equal(c(x)[:4], expect)
    # a numpy Generator passed as the seed keeps its kind
    assert "Philox" in repr(da.random.default_rng(np.random.Generator(np.random.Philox(1))))
    with pytest.raises(ValueError, match="bit_generator='MT1' is not one of .*default_rng\\(seed, bit_generator='PCG64'\\)"):
        da.random.default_rng(1, bit_generator="MT1")


def test_blocks_are_not_copies_of_each_other():
    x = c(da.random.default_rng(1).random((4, 1000), chunks=(1, 1000)))
    for i in range(3):
        assert abs(np.corrcoef(x[i], x[i + 1])[0, 1]) < 0.15


def test_unseeded_calls_differ():
    assert not np.array_equal(c(da.random.normal(size=20, chunks=5)), c(da.random.normal(size=20, chunks=5)))


def test_tutorial_spelling_and_distribution():
    x = da.random.normal(10, 2, size=(400, 300), chunks=(100, 100))
    assert x.shape == (400, 300) and x.chunks == ((100,) * 4, (100,) * 3) and x.dtype == np.float64
    v = c(x)
    assert abs(v.mean() - 10) < 0.05 and abs(v.std() - 2) < 0.05


@pytest.mark.parametrize("method,args,check", [
    ("random", (), lambda v: (v >= 0).all() and (v < 1).all()),
    ("uniform", (-2, 3), lambda v: (v >= -2).all() and (v < 3).all() and abs(v.mean() - 0.5) < 0.1),
    ("integers", (0, 5), lambda v: set(np.unique(v)) == {0, 1, 2, 3, 4} and v.dtype == np.int64),
    ("exponential", (2.0,), lambda v: (v >= 0).all() and abs(v.mean() - 2) < 0.15),
    ("poisson", (3.0,), lambda v: abs(v.mean() - 3) < 0.15),
    ("binomial", (10, 0.5), lambda v: v.max() <= 10 and abs(v.mean() - 5) < 0.15),
    ("choice", ([3, 5, 7],), lambda v: set(np.unique(v)) == {3, 5, 7}),
    ("standard_normal", (), lambda v: abs(v.std() - 1) < 0.05),
    ("gamma", (2.0,), lambda v: abs(v.mean() - 2) < 0.15),
    ("beta", (2.0, 2.0), lambda v: abs(v.mean() - 0.5) < 0.05),
])
def test_generator_methods(method, args, check):
    x = getattr(da.random.default_rng(5), method)(*args, size=(60, 50), chunks=(25, 20))
    assert x.shape == (60, 50)
    v = c(x)
    assert v.dtype == x.dtype
    assert check(v)


def test_randomstate_compat():
    rs = da.random.RandomState(1234)
    a = c(rs.normal(0, 1, size=(30, 30), chunks=10))
    b = c(da.random.RandomState(1234).normal(0, 1, size=(30, 30), chunks=10))
    np.testing.assert_array_equal(a, b)
    assert c(rs.randint(0, 3, size=10, chunks=5)).max() < 3
    assert c(rs.random_sample(10, chunks=4)).shape == (10,)
    assert c(da.random.randn(5, 6)).shape == (5, 6)


def test_choice_without_replacement_and_permutation():
    rng = da.random.default_rng(3)
    v = c(rng.choice(10, size=10, replace=False))
    assert sorted(v) == list(range(10))
    p = c(rng.permutation(12))
    assert sorted(p) == list(range(12))
    with pytest.raises(ValueError, match="without replacement"):
        rng.choice(3, size=5, replace=False)


def test_array_parameters_broadcast():
    loc = np.arange(4.0) * 100
    v = c(da.random.default_rng(0).normal(loc, 0.01, size=(10, 4), chunks=(5, 2)))
    np.testing.assert_allclose(v.mean(axis=0), loc, atol=0.05)


def test_same_numbers_on_every_scheduler():
    x = da.random.default_rng(11).normal(size=(40, 30), chunks=(10, 10))
    ref = c(x)
    np.testing.assert_array_equal(c(x, scheduler="threads", num_workers=2), ref)
    np.testing.assert_array_equal(c(x, scheduler="threads", num_workers=1), ref)
    np.testing.assert_array_equal(c(x, scheduler="processes", num_workers=2), ref)


@pytest.mark.parametrize("axis", [0, 1, None])
@pytest.mark.parametrize("name", ["mean", "sum", "var", "max", "nansum"])
def test_reduction_of_random_draws_blocks_in_slabs(axis, name):
    """A reduction over a random array draws each block slab by slab (never whole), same numbers."""
    from shoal.array.random import draw_reduce

    x = da.random.default_rng(5).normal(2, 3, size=(1500, 600), chunks=(700, 500))
    r = getattr(x, name)(axis=axis)
    fused = [v for v in dict(r.dask).values() if getattr(v, "func", None) is draw_reduce]
    assert len(fused) == x.npartitions
    a = c(x)
    np.testing.assert_allclose(c(r, scheduler="threads"), getattr(np, name)(a, axis=axis), rtol=1e-10)
