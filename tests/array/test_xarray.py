"""xarray on shoal: the ``xarray.chunkmanagers`` entry point, NetCDF and zarr round trips."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import xarray as xr
from xarray.namedarray.parallelcompat import list_chunkmanagers

import shoal
import shoal.array as da
from shoal.array.chunkmanager import ShoalManager, scan


@pytest.fixture(scope="module")
def dataset():
    time = pd.date_range("2000-01-01", periods=400, freq="D")
    rng = np.random.default_rng(3)
    return xr.Dataset(
        {"t": (("time", "x"), rng.normal(size=(400, 6))), "p": (("time",), rng.uniform(size=400))},
        coords={"time": time, "x": np.arange(6)},
    )


@pytest.fixture(scope="module")
def netcdf(dataset, tmp_path_factory):
    path = tmp_path_factory.mktemp("nc") / "data.nc"
    dataset.to_netcdf(path, engine="h5netcdf")
    return str(path)


def _is_shoal(obj) -> bool:
    return isinstance(obj.data, da.Array)


def test_registered_under_its_name():
    assert isinstance(list_chunkmanagers()["shoal"], ShoalManager)


@pytest.mark.parametrize("scheduler", ["sync", "threads", "processes"])
def test_open_dataset_mean(netcdf, dataset, scheduler):
    ds = xr.open_dataset(netcdf, engine="h5netcdf", chunks={"time": 64}, chunked_array_type="shoal")
    assert _is_shoal(ds.t) and ds.t.chunks[0][0] == 64
    m = ds.mean("time")
    assert _is_shoal(m.t)
    with shoal.config.set(scheduler=scheduler):
        out = m.compute()
    np.testing.assert_allclose(out.t.values, dataset.t.mean("time").values)
    np.testing.assert_allclose(out.p.values, dataset.p.mean("time").values)
    ds.close()


def test_open_dataset_default_chunks_follow_the_file(netcdf):
    ds = xr.open_dataset(netcdf, engine="h5netcdf", chunks={}, chunked_array_type="shoal")
    assert _is_shoal(ds.t)
    np.testing.assert_allclose(ds.t.sum().values, xr.open_dataset(netcdf, engine="h5netcdf").t.sum().values)
    ds.close()


def test_resample_groupby_rolling_cumsum(dataset):
    ds = dataset.chunk({"time": 50}, chunked_array_type="shoal")
    assert _is_shoal(ds.t)
    r = ds.t.resample(time="MS").mean()
    assert _is_shoal(r)
    np.testing.assert_allclose(r.values, dataset.t.resample(time="MS").mean().values)
    g = ds.t.groupby("time.month").mean()
    np.testing.assert_allclose(g.values, dataset.t.groupby("time.month").mean().values)
    ro = ds.t.rolling(time=7).mean()
    assert _is_shoal(ro)
    np.testing.assert_allclose(ro.values, dataset.t.rolling(time=7).mean().values, equal_nan=True)
    c = ds.t.cumsum("time")
    assert _is_shoal(c)
    np.testing.assert_allclose(c.values, dataset.t.cumsum("time").values)


def test_apply_ufunc_parallelized(dataset):
    ds = dataset.chunk({"time": 100}, chunked_array_type="shoal")
    out = xr.apply_ufunc(np.square, ds.t, dask="parallelized", output_dtypes=[float])
    assert _is_shoal(out)
    np.testing.assert_allclose(out.values, dataset.t.values ** 2)

    def demean(a):  # a core dimension: the whole time axis in one block
        return a - a.mean(axis=-1, keepdims=True)

    out = xr.apply_ufunc(demean, ds.t, input_core_dims=[["time"]], output_core_dims=[["time"]],
                         dask="parallelized", output_dtypes=[float],
                         dask_gufunc_kwargs={"allow_rechunk": True})
    expected = dataset.t - dataset.t.mean("time")
    np.testing.assert_allclose(out.transpose("time", "x").values, expected.values)


def test_zarr_round_trip(dataset, tmp_path):
    ds = dataset.chunk({"time": 100}, chunked_array_type="shoal")
    ds.to_zarr(tmp_path / "d.zarr", consolidated=False)
    back = xr.open_zarr(tmp_path / "d.zarr", chunked_array_type="shoal", consolidated=False)
    assert _is_shoal(back.t) and back.t.chunks[0][0] == 100
    xr.testing.assert_allclose(back.load(), dataset)


@pytest.mark.parametrize("chunks, axis", [((4, 3), 0), ((4, 3), 1), ((10, 10), 1), ((1, 1), 0)])
def test_scan_matches_numpy(chunks, axis):
    x = np.arange(70.0).reshape(7, 10) % 5 - 2
    d = da.from_array(x, chunks=chunks)
    np.testing.assert_allclose(scan(np.cumsum, np.add, 0, d, axis=axis).compute(), np.cumsum(x, axis=axis))
    np.testing.assert_allclose(scan(np.cumprod, np.multiply, 1, d, axis=axis).compute(), np.cumprod(x, axis=axis))


@pytest.mark.parametrize("window, axis", [(3, 1), (2, 0), ((2, 3), (0, 1)), (10, 1), (1, 0), (0, 1)])
def test_sliding_window_view_matches_numpy(window, axis):
    x = np.arange(60.0).reshape(6, 10)
    d = da.from_array(x, chunks=(4, 3))
    got = np.lib.stride_tricks.sliding_window_view(d, window, axis=axis)
    assert isinstance(got, da.Array)
    np.testing.assert_array_equal(got.compute(), np.lib.stride_tricks.sliding_window_view(x, window, axis=axis))
    with pytest.raises(ValueError):
        da.sliding_window_view(d, 11, axis=1)
