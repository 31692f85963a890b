"""The generated airline files: real schema, NA handling, realism, determinism."""
from __future__ import annotations

import bz2
import os
from pathlib import Path

import pandas as pd

from shoal.datasets import airline, timeseries
from shoal.datasets.airline import COLUMNS


def test_schema_and_files(tmp_path):
    paths = airline(str(tmp_path), years=[1990, 2005], rows_per_year=3000, seed=1)
    assert [os.path.basename(p) for p in paths] == ["1990.csv.bz2", "2005.csv.bz2"]
    with bz2.open(paths[0], "rt", encoding="latin1") as f:
        header = f.readline().strip().split(",")
        line = f.readline()
    assert header == COLUMNS and len(COLUMNS) == 29
    assert ",NA," in line  # 1990: TailNum, AirTime, taxi times are NA
    old = pd.read_csv(paths[0])
    new = pd.read_csv(paths[1])
    assert len(old) == 3000 and len(new) == 3000
    assert old.TailNum.isna().all() and old.CarrierDelay.isna().all()
    assert new.TailNum.notna().mean() > 0.9
    assert (old.Year == 1990).all() and old.Month.between(1, 12).all()
    assert old.DayofMonth.between(1, 31).all() and old.DayOfWeek.between(1, 7).all()
    # weekday agrees with the date
    dates = pd.to_datetime(dict(year=old.Year, month=old.Month, day=old.DayofMonth))
    assert (dates.dt.day_of_week + 1 == old.DayOfWeek).all()
    assert "SFO" in set(old.Origin) and "UA" in set(old.UniqueCarrier)
    assert (old.Origin != old.Dest).all()
    # cancelled flights have no departure; about 2% cancelled
    canc = old.Cancelled == 1
    assert 0.005 < canc.mean() < 0.05
    assert old.DepTime[canc].isna().all() and old.DepDelay[~canc].notna().all()
    assert new.CancellationCode[new.Cancelled == 1].isin(list("ABCD")).all()
    assert 5 < old.DepDelay.mean() < 20 and old.DepDelay.max() > 120
    assert old.Distance.between(30, 6000).all()


def test_deterministic(tmp_path):
    a = airline(str(tmp_path / "a"), years=[1999], rows_per_year=500, seed=3, compression=None)
    b = airline(str(tmp_path / "b"), years=[1999], rows_per_year=500, seed=3, compression=None)
    c = airline(str(tmp_path / "c"), years=[1999], rows_per_year=500, seed=4, compression=None)
    read = lambda p: Path(p).read_bytes()  # noqa: E731
    assert read(a[0]) == read(b[0]) != read(c[0])


def test_timeseries_lazy():
    ts = timeseries("2000-01-01", "2000-01-04", freq="1h", partition_freq="1D", seed=2)
    assert ts.npartitions == 3 and ts.known_divisions
    df = ts.compute(scheduler="sync")
    assert len(df) == 72 and list(df.columns) == ["id", "name", "x", "y"]
    assert df.index.is_monotonic_increasing and df.x.between(-1, 1).all()
    again = timeseries("2000-01-01", "2000-01-04", freq="1h", partition_freq="1D", seed=2).compute(scheduler="sync")
    pd.testing.assert_frame_equal(df, again)
    assert ts.loc["2000-01-02":"2000-01-02 05:00"].compute(scheduler="sync").shape[0] == 6
