"""Synthetic airline on-time data in the real ASA Data Expo 2009 format.

``airline(path, years=..., rows_per_year=...)`` writes one CSV file per year
(``1987.csv.bz2``, ...) with the 29 columns of the real data set, in the real
order, with ``NA`` for missing values, the way the tutorial's files look.  The
values are drawn, vectorised, from numpy's ``default_rng(seed)``:

* carriers and airports are real codes, weighted by rough traffic shares;
  distances are great-circle miles between the airports' real coordinates;
* departure delays mix an on-time bulk with an exponential tail (and some
  early departures), arrival delays follow departure delays;
* about 2% of flights are cancelled (no times, a CancellationCode from 2003
  on), about 0.2% diverted (no arrival times);
* columns the real files only fill from some year on (TailNum, AirTime,
  TaxiIn/Out from 1995; the delay causes from 2003) are ``NA`` before that.

The output is deterministic for a given ``seed`` (each year gets its own
stream derived from the seed and the year).
"""
from __future__ import annotations

import bz2
import gzip
import io
import lzma
import os
from concurrent.futures import ThreadPoolExecutor
from typing import Iterable

import numpy as np
import pandas as pd

__all__ = ["airline", "COLUMNS", "AIRPORTS", "CARRIERS"]

COLUMNS = [
    "Year", "Month", "DayofMonth", "DayOfWeek", "DepTime", "CRSDepTime", "ArrTime",
    "CRSArrTime", "UniqueCarrier", "FlightNum", "TailNum", "ActualElapsedTime",
    "CRSElapsedTime", "AirTime", "ArrDelay", "DepDelay", "Origin", "Dest", "Distance",
    "TaxiIn", "TaxiOut", "Cancelled", "CancellationCode", "Diverted", "CarrierDelay",
    "WeatherDelay", "NASDelay", "SecurityDelay", "LateAircraftDelay",
]

# code: (latitude, longitude, traffic weight)
AIRPORTS = {
    "ATL": (33.64, -84.43, 9.0), "ORD": (41.98, -87.90, 9.0), "DFW": (32.90, -97.04, 7.5),
    "LAX": (33.94, -118.41, 6.5), "DEN": (39.86, -104.67, 5.5), "PHX": (33.43, -112.01, 4.5),
    "IAH": (29.98, -95.34, 4.5), "LAS": (36.08, -115.15, 4.0), "DTW": (42.21, -83.35, 4.0),
    "SFO": (37.62, -122.37, 4.0), "MSP": (44.88, -93.22, 3.5), "EWR": (40.69, -74.17, 3.5),
    "SLC": (40.79, -111.98, 3.0), "BOS": (42.36, -71.01, 3.0), "LGA": (40.78, -73.87, 3.0),
    "CLT": (35.21, -80.94, 3.0), "SEA": (47.45, -122.31, 3.0), "MCO": (28.43, -81.31, 3.0),
    "PHL": (39.87, -75.24, 2.5), "BWI": (39.18, -76.67, 2.5), "IAD": (38.94, -77.46, 2.0),
    "DCA": (38.85, -77.04, 2.0), "SAN": (32.73, -117.19, 2.0), "MIA": (25.79, -80.29, 2.0),
    "STL": (38.75, -90.37, 2.0), "PIT": (40.49, -80.23, 1.5), "CLE": (41.41, -81.85, 1.5),
    "TPA": (27.98, -82.53, 1.5), "MDW": (41.79, -87.75, 1.5), "JFK": (40.64, -73.78, 2.0),
    "OAK": (37.72, -122.22, 1.2), "SJC": (37.36, -121.93, 1.0), "SMF": (38.70, -121.59, 1.0),
    "PDX": (45.59, -122.60, 1.5), "RNO": (39.50, -119.77, 0.6), "BOI": (43.56, -116.22, 0.5),
    "BFL": (35.43, -119.06, 0.2), "ACV": (40.98, -124.11, 0.15), "ONT": (34.06, -117.60, 0.6),
    "BUR": (34.20, -118.36, 0.5), "SNA": (33.68, -117.87, 0.8), "HNL": (21.32, -157.92, 1.0),
    "ANC": (61.17, -149.99, 0.5), "MSY": (29.99, -90.26, 1.0), "CVG": (39.05, -84.66, 1.5),
    "MCI": (39.30, -94.71, 1.0), "IND": (39.72, -86.29, 0.8), "AUS": (30.19, -97.67, 0.8),
}

# carrier: (first year, last year, weight)
CARRIERS = {
    "AA": (1987, 2008, 9.0), "UA": (1987, 2008, 8.0), "DL": (1987, 2008, 9.0),
    "NW": (1987, 2008, 5.0), "US": (1987, 2008, 6.0), "CO": (1987, 2008, 4.0),
    "WN": (1987, 2008, 8.0), "TW": (1987, 2001, 3.0), "HP": (1987, 2007, 2.0),
    "AS": (1987, 2008, 2.0), "PS": (1987, 1987, 1.0), "EA": (1987, 1991, 2.0),
    "PI": (1987, 1989, 2.0), "PA": (1987, 1991, 1.0), "MQ": (1998, 2008, 4.0),
    "OO": (2003, 2008, 4.0), "XE": (2003, 2008, 3.0), "B6": (2003, 2008, 2.0),
    "EV": (2003, 2008, 2.5), "FL": (2003, 2008, 1.5), "F9": (2005, 2008, 1.0),
    "OH": (2003, 2008, 1.5), "YV": (2005, 2008, 1.5), "9E": (2007, 2008, 1.5),
}


def _carriers_for(year: int) -> tuple[np.ndarray, np.ndarray]:
    codes = [c for c, (a, b, _) in CARRIERS.items() if a <= year <= b]
    if not codes:  # outside the real range: everyone flies
        codes = list(CARRIERS)
    w = np.array([CARRIERS[c][2] for c in codes])
    return np.array(codes, dtype=object), w / w.sum()


def _hhmm(minutes: np.ndarray) -> np.ndarray:
    m = np.mod(minutes, 1440).astype(np.int64)
    return (m // 60) * 100 + m % 60


def _nullable(values: np.ndarray, missing: np.ndarray) -> pd.array:
    """Integers with ``missing`` positions written as ``NA``."""
    return pd.arrays.IntegerArray(np.where(missing, 0, values).astype(np.int64), missing.copy())


def _year_frame(year: int, n: int, rng: np.random.Generator) -> pd.DataFrame:
    codes = np.array(list(AIRPORTS), dtype=object)
    lat = np.radians([AIRPORTS[c][0] for c in codes])
    lon = np.radians([AIRPORTS[c][1] for c in codes])
    w = np.array([AIRPORTS[c][2] for c in codes])
    w = w / w.sum()

    # dates: uniform over the year
    start = np.datetime64(f"{year}-01-01")
    ndays = int((np.datetime64(f"{year + 1}-01-01") - start).astype(int))
    day = rng.integers(0, ndays, n)
    dates = pd.DatetimeIndex(start + day.astype("timedelta64[D]"))
    month = dates.month.to_numpy()
    dom = dates.day.to_numpy()
    dow = dates.day_of_week.to_numpy() + 1  # 1 = Monday, as in the real files

    carriers, cw = _carriers_for(year)
    ci = rng.choice(len(carriers), n, p=cw)
    carrier = carriers[ci]
    o = rng.choice(len(codes), n, p=w)
    d = rng.choice(len(codes), n, p=w)
    same = o == d
    d[same] = (d[same] + 1 + rng.integers(0, len(codes) - 1, same.sum())) % len(codes)

    # great-circle distance in miles
    dlat = lat[d] - lat[o]
    dlon = lon[d] - lon[o]
    a = np.sin(dlat / 2) ** 2 + np.cos(lat[o]) * np.cos(lat[d]) * np.sin(dlon / 2) ** 2
    dist = np.round(3958.8 * 2 * np.arcsin(np.sqrt(a))).astype(np.int64)
    dist = np.maximum(dist, 30)

    crs_dep_min = (rng.integers(6 * 60, 22 * 60, n) // 5) * 5
    crs_elapsed = (dist / 8.0 + 25 + rng.normal(0, 5, n)).round().astype(np.int64)
    crs_elapsed = np.maximum(crs_elapsed, 20)

    # delays: mostly around zero, a heavy right tail, some early departures
    late = rng.random(n) < 0.35
    dep_delay = np.where(late, rng.exponential(30.0, n), rng.normal(-1.0, 4.0, n)).round().astype(np.int64)
    dep_delay = np.maximum(dep_delay, -30)
    taxi_out = np.maximum(rng.gamma(3.0, 5.0, n).round().astype(np.int64), 1)
    taxi_in = np.maximum(rng.gamma(2.0, 3.0, n).round().astype(np.int64), 1)
    air_time = np.maximum((dist / 8.3 + rng.normal(0, 6, n)).round().astype(np.int64), 10)
    actual_elapsed = air_time + taxi_in + taxi_out
    arr_delay = dep_delay + (actual_elapsed - crs_elapsed)

    dep_min = crs_dep_min + dep_delay
    crs_arr_min = crs_dep_min + crs_elapsed
    arr_min = dep_min + actual_elapsed

    cancelled = rng.random(n) < 0.02
    diverted = (~cancelled) & (rng.random(n) < 0.002)
    no_dep = cancelled
    no_arr = cancelled | diverted
    none = np.zeros(n, dtype=bool)
    every = np.ones(n, dtype=bool)

    pre95 = year < 1995
    pre03 = year < 2003
    flight = rng.integers(1, 3000, n)
    tail_num = rng.integers(100, 999, n).astype(str).astype(object)
    suffix = np.array([c[0] + "A" for c in carriers], dtype=object)[ci]
    tail = np.where(cancelled & (rng.random(n) < 0.5), "0", "N" + tail_num + suffix)

    cc = np.array(["A", "B", "C", "D"], dtype=object)[rng.choice(4, n, p=[0.45, 0.35, 0.19, 0.01])]
    cancellation_code = np.where(cancelled & (not pre03), cc, None)

    # delay causes: split ArrDelay >= 15 among five causes
    causes_missing = (arr_delay < 15) | no_arr if not pre03 else every
    parts = rng.dirichlet([2.0, 0.3, 1.5, 0.05, 2.0], n)
    cause = np.floor(parts * np.maximum(arr_delay, 0)[:, None]).astype(np.int64)
    cause[:, 4] += np.maximum(arr_delay, 0) - cause.sum(axis=1)

    cols = {
        "Year": np.full(n, year, dtype=np.int64),
        "Month": month.astype(np.int64),
        "DayofMonth": dom.astype(np.int64),
        "DayOfWeek": dow.astype(np.int64),
        "DepTime": _nullable(_hhmm(dep_min), no_dep),
        "CRSDepTime": _hhmm(crs_dep_min),
        "ArrTime": _nullable(_hhmm(arr_min), no_arr),
        "CRSArrTime": _hhmm(crs_arr_min),
        "UniqueCarrier": carrier,
        "FlightNum": flight,
        "TailNum": pd.array(np.where(pre95, None, tail), dtype=object),
        "ActualElapsedTime": _nullable(actual_elapsed, no_arr),
        "CRSElapsedTime": crs_elapsed,
        "AirTime": _nullable(air_time, no_arr | pre95),
        "ArrDelay": _nullable(arr_delay, no_arr),
        "DepDelay": _nullable(dep_delay, no_dep),
        "Origin": codes[o],
        "Dest": codes[d],
        "Distance": dist,
        "TaxiIn": _nullable(taxi_in, no_arr | pre95),
        "TaxiOut": _nullable(taxi_out, no_dep | pre95),
        "Cancelled": cancelled.astype(np.int64),
        "CancellationCode": cancellation_code,
        "Diverted": diverted.astype(np.int64),
    }
    for i, name in enumerate(["CarrierDelay", "WeatherDelay", "NASDelay", "SecurityDelay", "LateAircraftDelay"]):
        cols[name] = _nullable(cause[:, i], causes_missing | none)
    df = pd.DataFrame(cols, columns=COLUMNS)
    # real files are ordered by date within a year
    order = np.argsort(day, kind="stable")
    return df.iloc[order].reset_index(drop=True)


def _to_csv_bytes(df: pd.DataFrame) -> bytes:
    """The frame as CSV with ``NA`` for missing values and no quoting (as the real files).

    pyarrow's writer is ~10x faster than ``DataFrame.to_csv``; every column
    is cast to text first so missing values can be written as ``NA``.
    """
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.csv as pcsv

    table = pa.Table.from_pandas(df, preserve_index=False)
    cols = [pc.fill_null(pc.cast(c, pa.string()), "NA") for c in table.columns]
    buf = io.BytesIO()
    buf.write((",".join(df.columns) + "\n").encode("latin1"))
    pcsv.write_csv(pa.table(cols, names=table.column_names), buf,
                   pcsv.WriteOptions(quoting_style="none", include_header=False))
    return buf.getvalue()


_OPENERS = {
    "bz2": (".bz2", lambda p: bz2.open(p, "wb", compresslevel=9)),
    "gzip": (".gz", lambda p: gzip.open(p, "wb", compresslevel=6)),
    "xz": (".xz", lambda p: lzma.open(p, "wb")),
    None: ("", lambda p: open(p, "wb")),
}


def airline(path: str, years: Iterable[int] | int = range(1987, 1991), rows_per_year: int = 100_000,
            compression: str | None = "bz2", seed: int = 0) -> list[str]:
    """Write one airline on-time CSV per year into directory ``path``.

    >>> files = shoal.datasets.airline("data/airline", years=range(1987, 1991),
    ...                                rows_per_year=200_000)
    >>> air = ddf.read_csv("data/airline/*.csv.bz2", encoding="latin1")

    ``compression`` is ``'bz2'`` (the tutorial's files), ``'gzip'``, ``'xz'``
    or ``None``.  Files are named ``<year>.csv[.bz2]``.  Returns the paths
    written, in year order.  Same ``seed``, same bytes.
    """
    if compression not in _OPENERS:
        raise ValueError(f"compression={compression!r} is not supported; use 'bz2', 'gzip', 'xz' or None")
    if isinstance(years, int):
        years = [years]
    os.makedirs(path, exist_ok=True)
    ext, opener = _OPENERS[compression]

    def one(year: int) -> str:
        rng = np.random.default_rng([seed, int(year)])
        df = _year_frame(int(year), int(rows_per_year), rng)
        text = _to_csv_bytes(df)
        fname = os.path.join(path, f"{year}.csv{ext}")
        with opener(fname) as f:  # the compressors release the GIL: years compress in parallel
            f.write(text)
        return fname

    years = [int(y) for y in years]
    with ThreadPoolExecutor(max_workers=min(len(years), os.cpu_count() or 1) or 1) as ex:
        return list(ex.map(one, years))
