"""Dataframes on the tutorial's airline workload: shoal beside dask.dataframe, same files, same run.

Data: ``shoal.datasets.airline``, 4 years x 200,000 rows, bz2 (``--quick``:
x 20,000), written once to a temporary directory.  Both libraries use the
threads scheduler with 2 workers.

Workloads (seconds, median of ``--repeat`` runs after one warm-up run; Dask
and shoal runs alternate, so both see the same load on a shared machine):

* ``tutorial-4.2``: section 4.2 verbatim: ``read_csv(..., dtype=...)``,
  ``air.DepDelay.max().compute()`` then the UA/SFO
  ``groupby('Dest').DepDelay.mean().compute()`` (two computes, as written);
* ``groupby-agg``: ``groupby(['UniqueCarrier','Origin']).DepDelay.agg(['mean','max','count'])``;
* ``merge``: the flights merged with a 30-row airports table on ``Dest``,
  then one ``compute`` of the sum of a joined column and the count of
  ``DepDelay`` in the result.

shoal keeps recently inflated files in a bounded cache (256 MiB,
``dataframe.inflate-cache-bytes``), so the tutorial's second ``compute``
parses the files again but does not inflate them again.  Every timed shoal
run starts with that cache empty, and ``tutorial-4.2 (no cache)`` repeats
the tutorial with the cache turned off, to show what it contributes.

Results of the two libraries are checked equal.  ``ratio`` is Dask's time
/ shoal's time (how many times faster shoal is).  Peak memory is the
highest RSS of this process above its level before the run.

    python benchmarks/bench_dataframe.py [--quick] [--repeat 3]
"""
from __future__ import annotations

import argparse
import warnings
import os
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import _common  # noqa: E402

# the tutorial's dtype= plus the columns Dask's 10-row sample would guess as int64 (they hold NA
# further down, and Dask then stops with its dtype-mismatch error); both libraries get the same call
DTYPES = {"Distance": "float64", "CRSElapsedTime": "float64", "TailNum": "object", "CancellationCode": "object",
          "DepTime": "float64", "ArrTime": "float64", "ActualElapsedTime": "float64", "AirTime": "float64",
          "ArrDelay": "float64", "DepDelay": "float64", "TaxiIn": "float64", "TaxiOut": "float64"}


def measure_pair(dask_fn, shoal_fn, repeat: int):
    """Dask and shoal alternately (see ``_common.measure_pair``); the threads
    scheduler starts no child processes, so only this process's RSS counts."""
    return _common.measure_pair(dask_fn, shoal_fn, repeat, children=False)


def airports_table() -> pd.DataFrame:
    from shoal.datasets.airline import AIRPORTS

    codes = list(AIRPORTS)[:30]
    return pd.DataFrame({"Dest": codes, "lat": [AIRPORTS[c][0] for c in codes],
                         "lon": [AIRPORTS[c][1] for c in codes], "weight": [AIRPORTS[c][2] for c in codes]})


def workloads(lib, pattern: str, inflate_cache: bool = True):
    """The workloads for ``lib`` (shoal or dask), as zero-argument callables.

    Every shoal run starts with an empty inflated-file cache (so each run
    inflates every file at least once, like Dask); ``inflate_cache=False``
    turns the cache off altogether.
    """
    fresh = lambda: None  # noqa: E731
    if lib == "dask":
        import dask
        import dask.dataframe as ddf

        cfg = dict(scheduler="threads", num_workers=2)
        conf = dask.config.set
        lib_compute = dask.compute
    else:
        import shoal
        import shoal.dataframe as ddf

        from shoal.dataframe.io.csv import inflate_cache as cache

        cfg = {"scheduler": "threads", "num_workers": 2}
        if not inflate_cache:
            cfg["dataframe.inflate-cache-bytes"] = 0
        conf = lambda **kw: shoal.config.set(kw)  # noqa: E731
        lib_compute = shoal.compute
        fresh = cache.clear
    airports = airports_table()

    def read():
        return ddf.read_csv(pattern, compression="bz2", encoding="latin1", dtype=DTYPES)

    def tutorial():
        fresh()
        with conf(**cfg):
            air = read()
            mx = air.DepDelay.max().compute()
            sub = air[(air.UniqueCarrier == "UA") & (air.Origin == "SFO")]
            byDest = sub.groupby("Dest").DepDelay.mean()
            return mx, byDest.compute()

    def gb():
        fresh()
        with conf(**cfg):
            air = read()
            return air.groupby(["UniqueCarrier", "Origin"]).DepDelay.agg(["mean", "max", "count"]).compute()

    def merge():
        fresh()
        with conf(**cfg):
            air = read()
            m = air.merge(airports, on="Dest")
            return lib_compute(m.weight.sum(), m.DepDelay.count())

    return {"tutorial-4.2": tutorial, "groupby-agg": gb, "merge": merge}


def same(a, b) -> bool:
    if isinstance(a, tuple):
        return all(same(x, y) for x, y in zip(a, b))
    if isinstance(a, (pd.Series, pd.DataFrame)):
        a = a.sort_index()
        b = b.sort_index()
        try:
            if isinstance(a, pd.Series):
                pd.testing.assert_series_equal(a, b, check_dtype=False, check_names=False, check_index_type=False)
            else:
                pd.testing.assert_frame_equal(a, b, check_dtype=False, check_index_type=False)
            return True
        except AssertionError:
            return False
    return bool(np.isclose(a, b))


def main() -> None:
    # Dask warns on every bz2 read that it cannot split compressed files; that is expected here
    warnings.filterwarnings("ignore", message=".*compression does not support breaking apart files.*")
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="20,000 rows per file instead of 200,000")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--data", default=None, help="reuse/generate the files in this directory")
    args = ap.parse_args()
    rows = 20_000 if args.quick else 200_000
    from shoal.datasets import airline

    tmp = None
    if args.data:
        d = args.data
    else:
        tmp = tempfile.TemporaryDirectory(prefix="shoal-bench-df-")
        d = tmp.name
    years = [1987, 1988, 1989, 1990]
    if not all(os.path.exists(os.path.join(d, f"{y}.csv.bz2")) for y in years):
        t0 = time.perf_counter()
        airline(d, years=years, rows_per_year=rows, compression="bz2", seed=0)
        print(f"generated 4 x {rows:,} rows in {time.perf_counter() - t0:.1f} s")
    pattern = os.path.join(d, "*.csv.bz2")
    mb = sum(os.path.getsize(os.path.join(d, f"{y}.csv.bz2")) for y in years) / 1e6
    print(f"data: {pattern} ({mb:.1f} MB compressed)")

    dask_w = workloads("dask", pattern)
    shoal_w = workloads("shoal", pattern)
    # the tutorial once more with shoal's inflated-file cache off, to show what it contributes
    dask_w["tutorial-4.2 (no cache)"] = dask_w["tutorial-4.2"]
    shoal_w["tutorial-4.2 (no cache)"] = workloads("shoal", pattern, inflate_cache=False)["tutorial-4.2"]
    rows_out = []
    print(f"{'workload':<24} {'dask (s)':>9} {'shoal (s)':>10} {'ratio':>7} {'same':>5}")
    for name in dask_w:
        (dt, dpeak, dres), (st, speak, sres) = measure_pair(dask_w[name], shoal_w[name], args.repeat)
        ok = same(sres, dres)
        rows_out.append({"workload": name, "dask": round(dt, 3), "shoal": round(st, 3), "unit": "s",
                         "ratio": round(dt / st, 2), "peak_mb_shoal": round(speak, 1),
                         "peak_mb_dask": round(dpeak, 1), "same_answer": ok})
        print(f"{name:<24} {dt:>9.2f} {st:>10.2f} {dt / st:>6.2f}x {str(ok):>5}", flush=True)
    out = _common.write_results("dataframe", {"rows": rows_out, "rows_per_file": rows, "files": 4,
                                              "repeat": args.repeat, "scheduler": "threads",
                                              "num_workers": 2}, indent=2)
    print(f"wrote {out}")
    if tmp is not None:
        tmp.cleanup()
    if not all(r["same_answer"] for r in rows_out):
        sys.exit("shoal and Dask disagree on at least one workload")


if __name__ == "__main__":
    main()
