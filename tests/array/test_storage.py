"""zarr and HDF5 round trips, on every local scheduler."""
from __future__ import annotations

import h5py
import numpy as np
import pytest
import zarr

import shoal
import shoal.array as da

SCHEDULERS = ["sync", "threads", "processes"]


@pytest.fixture
def x():
    rng = np.random.default_rng(7)
    return rng.normal(size=(12, 20))


@pytest.mark.parametrize("scheduler", SCHEDULERS)
def test_zarr_round_trip(tmp_path, x, scheduler):
    d = da.from_array(x, chunks=(5, 8))
    d.to_zarr(str(tmp_path / "a.zarr"), scheduler=scheduler)
    z = zarr.open(str(tmp_path / "a.zarr"), mode="r")
    assert z.chunks == (5, 8) and z.shape == x.shape
    back = da.from_zarr(str(tmp_path / "a.zarr"))
    assert back.chunks == ((5, 5, 2), (8, 8, 4))
    np.testing.assert_array_equal(back.compute(scheduler=scheduler), x)
    np.testing.assert_allclose((back * 2).sum(axis=0).compute(scheduler=scheduler), (x * 2).sum(axis=0))


def test_from_zarr_chunks_component_and_zarr_array(tmp_path, x):
    g = zarr.open_group(str(tmp_path / "g.zarr"), mode="w")
    g.create_array("temp", shape=x.shape, chunks=(4, 10), dtype=x.dtype)[:] = x
    a = da.from_zarr(str(tmp_path / "g.zarr"), component="temp", chunks=(6, 20))
    assert a.chunks == ((6, 6), (20,))
    np.testing.assert_array_equal(a.compute(), x)
    np.testing.assert_array_equal(da.from_zarr(g["temp"]).compute(), x)
    with pytest.raises(ValueError, match="component="):
        da.from_zarr(str(tmp_path / "g.zarr"))
    with pytest.raises(FileNotFoundError, match="no zarr store"):
        da.from_zarr(str(tmp_path / "missing.zarr"))


def test_to_zarr_rechunks_irregular_blocks_with_a_warning(tmp_path, x):
    d = da.from_array(x, chunks=((3, 5, 4), (20,)))
    with pytest.warns(UserWarning, match="regular chunks"):
        d.to_zarr(str(tmp_path / "irregular.zarr"))
    np.testing.assert_array_equal(da.from_zarr(str(tmp_path / "irregular.zarr")).compute(), x)


def test_to_zarr_region_and_alignment(tmp_path):
    z = zarr.create_array(str(tmp_path / "r.zarr"), shape=(8, 8), chunks=(4, 4), dtype="f8")
    z[:] = 0
    da.ones((4, 8), chunks=(4, 4)).to_zarr(z, region=(slice(4, 8), slice(0, 8)))
    out = np.asarray(zarr.open(str(tmp_path / "r.zarr"), mode="r")[:])
    assert out[:4].sum() == 0 and out[4:].sum() == 32
    # blocks of 2 rows would each write half of a zarr chunk of 4, and one write would be lost:
    # they are rechunked first, with a warning, and every value arrives
    values = np.arange(64.0).reshape(8, 8)
    with pytest.warns(da.PerformanceWarning, match="rechunking"):
        da.from_array(values, chunks=(2, 4)).to_zarr(z)
    np.testing.assert_array_equal(np.asarray(zarr.open(str(tmp_path / "r.zarr"), mode="r")[:]), values)
    # a region that starts inside a zarr chunk: the partial first chunk is one task's alone
    with pytest.warns(da.PerformanceWarning):
        da.full((7, 8), -1.0, chunks=(2, 8)).to_zarr(z, region=(slice(1, 8), slice(0, 8)))
    out = np.asarray(zarr.open(str(tmp_path / "r.zarr"), mode="r")[:])
    np.testing.assert_array_equal(out[0], values[0])
    assert (out[1:] == -1).all()
    with pytest.raises(ValueError, match="existing array"):
        da.ones((4, 8), chunks=4).to_zarr(str(tmp_path / "new.zarr"), region=(slice(0, 4),))


def test_to_zarr_sharded_target_is_written_in_whole_shards(tmp_path):
    z = zarr.create_array(str(tmp_path / "s.zarr"), shape=(100,), chunks=(1,), shards=(4,), dtype="i8")
    src = da.arange(100, chunks=10)
    with pytest.warns(da.PerformanceWarning):
        out = src.to_zarr(z, compute=False)
    assert all(c % 4 == 0 for c in out.chunks[0][:-1])
    out.compute()
    np.testing.assert_array_equal(np.asarray(z[:]), np.arange(100))


def test_store_return_values(x):
    a = da.from_array(x, chunks=5)
    target = np.zeros_like(x)
    lazy = da.store(a, target, compute=False)
    assert isinstance(lazy, da.Array) and not target.any()
    assert lazy.compute().size == 0 and np.array_equal(target, x)
    target = np.zeros_like(x)
    back = da.store(a, target, compute=False, return_stored=True)
    assert not target.any()
    np.testing.assert_array_equal(back.compute(), x)
    target = np.zeros_like(x)
    back = da.store([a], [target], return_stored=True)
    assert np.array_equal(target, x) and np.array_equal(back[0].compute(), x)
    with pytest.raises(ValueError, match="shoal Arrays"):
        da.store(x, target)
    with pytest.raises(TypeError, match="this process"):
        da.store(a, np.zeros_like(x), compute=False).compute(scheduler="processes")


def test_to_zarr_compute_false_writes_on_compute(tmp_path, x):
    w = da.from_array(x, chunks=6).to_zarr(str(tmp_path / "lazy.zarr"), compute=False)
    assert float(np.asarray(zarr.open(str(tmp_path / "lazy.zarr"), mode="r")[:]).sum()) == 0.0
    w.compute()
    np.testing.assert_array_equal(np.asarray(zarr.open(str(tmp_path / "lazy.zarr"), mode="r")[:]), x)


@pytest.mark.parametrize("scheduler", SCHEDULERS)
def test_hdf5_round_trip(tmp_path, x, scheduler):
    d = da.from_array(x, chunks=(5, 8))
    path = str(tmp_path / "f.h5")
    w = da.to_hdf5(path, {"/x": d, "/grp/y": d + 1}, compute=False)
    shoal.compute(*w, scheduler=scheduler)
    with h5py.File(path, "r") as f:
        np.testing.assert_array_equal(f["/x"][:], x)
        np.testing.assert_array_equal(f["/grp/y"][:], x + 1)
        assert f["/x"].chunks == (5, 8)
    back = da.from_array(da.H5Dataset(path, "/grp/y"), chunks=(6, 20))
    np.testing.assert_allclose(back.sum().compute(scheduler=scheduler), (x + 1).sum())


def test_hdf5_method_options_and_h5py_dataset_source(tmp_path, x):
    path = str(tmp_path / "g.h5")
    da.from_array(x, chunks=4).to_hdf5(path, "/x", compression="gzip")
    with h5py.File(path, "r") as f:
        assert f["/x"].compression == "gzip"
        np.testing.assert_array_equal(da.from_array(f["/x"], chunks=5).compute(scheduler="threads"), x)
    with pytest.raises(KeyError, match="no dataset"):
        da.H5Dataset(path, "/nope")
    with pytest.raises(TypeError, match="not a shoal Array"):
        da.to_hdf5(path, "/y", x)


def test_store_into_any_setitem_target_with_lock(x):
    class Target:
        def __init__(self):
            self.shape, self.dtype, self.data = x.shape, x.dtype, np.zeros_like(x)

        def __setitem__(self, region, value):
            self.data[region] = value

    t = Target()
    da.store(da.from_array(x, chunks=5), t, lock=True, scheduler="threads")
    np.testing.assert_array_equal(t.data, x)
