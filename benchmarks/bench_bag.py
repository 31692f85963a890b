"""Bags on the tutorial's Wikipedia workload: shoal beside dask.bag, same files, same run.

Data: ``shoal.datasets.wikistats``, 4 gzipped files x 500,000 lines
(``--quick``: x 50,000), written once to a temporary directory.
Both libraries use the processes scheduler with 2 workers.

Workloads (seconds, median of ``--repeat`` runs after one warm-up run that
also starts both libraries' process pools; Dask and shoal runs alternate so
both see the same load on a shared machine):

* ``count``: ``wiki.count().compute()``;
* ``filter-count``: ``wiki.filter(find).count().compute()`` (section 4.3);
* ``one-pass``: ``db.compute(obama, obama.count(), wiki.count())`` (section 6.3).

``find`` is the tutorial's function, verbatim.  Results of the two
libraries are checked equal.  ``ratio`` is Dask's time / shoal's time (how
many times faster shoal is).  Peak memory is the highest RSS of this
process and its children above the level before the run.

    python benchmarks/bench_bag.py [--quick] [--repeat 3]
"""
from __future__ import annotations

import argparse
import os
import re
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))

from _common import measure_pair, write_results  # noqa: E402


def find(line, regex = "Obama", language = "en"):
    vals = line.split(' ')
    if len(vals) < 6:
        return(False)
    tmp = re.search(regex, vals[3])
    if tmp is None or (language != None and vals[2] != language):
        return(False)
    else:
        return(True)


def make_data(lines: int) -> str:
    from shoal.datasets import wikistats

    d = os.path.join(tempfile.gettempdir(), f"shoal-bench-wikistats-4x{lines}")
    stamp = os.path.join(d, "DONE")
    if not os.path.exists(stamp):
        t0 = time.perf_counter()
        wikistats(d, n_files=4, lines_per_file=lines, seed=2008)
        open(stamp, "w").close()
        print(f"wrote 4 x {lines:,} lines to {d} in {time.perf_counter() - t0:.1f} s")
    return d


def workloads(db, pattern):
    def count():
        return db.read_text(pattern).count().compute()

    def filter_count():
        return db.read_text(pattern).filter(find).count().compute()

    def one_pass():
        wiki = db.read_text(pattern)
        total_cnt = wiki.count()
        obama = wiki.filter(find)
        obama_cnt = obama.count()
        obama, obama_cnt, total_cnt = db.compute(obama, obama_cnt, total_cnt)
        return (sorted(obama), obama_cnt, total_cnt)

    return [("count", count), ("filter-count", filter_count), ("one-pass", one_pass)]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true", help="4 x 50,000 lines instead of 4 x 500,000")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--only", default="", help="comma-separated workload names")
    args = ap.parse_args()
    lines = 50_000 if args.quick else 500_000
    d = make_data(lines)
    pattern = os.path.join(d, "part-0000*gz")

    import dask
    import dask.bag as dask_bag

    import shoal
    import shoal.bag as shoal_bag

    only = set(filter(None, args.only.split(",")))
    rows = []
    print(f"{'workload':28} {'dask s':>9} {'shoal s':>9} {'ratio':>7} {'MB dask':>8} {'MB shoal':>8}")
    for (name, dfn), (_, sfn) in zip(workloads(dask_bag, pattern), workloads(shoal_bag, pattern)):
        if only and name not in only:
            continue
        (dt, dpeak, dres), (st, speak, sres) = measure_pair(
            dfn, sfn, args.repeat,
            dask_cfg=lambda: dask.config.set(scheduler="processes", num_workers=2),
            shoal_cfg=lambda: shoal.config.set(scheduler="processes", num_workers=2))
        assert dres == sres, f"{name}: dask and shoal disagree"
        label = f"{name} (4x{lines // 1000}k)"
        row = {"workload": label, "dask": round(dt, 3), "shoal": round(st, 3), "unit": "s",
               "ratio": round(dt / st, 2), "peak_mb_dask": round(dpeak, 1),
               "peak_mb_shoal": round(speak, 1), "runs": args.repeat,
               # the machine is shared: record how busy it was
               "loadavg_1min": round(os.getloadavg()[0], 2)}
        rows.append(row)
        print(f"{label:28} {dt:9.3f} {st:9.3f} {dt / st:6.1f}x {dpeak:8.1f} {speak:8.1f} "
              f"(load {row['loadavg_1min']})", flush=True)
    if not args.quick and not only:
        out = write_results("bag", {"rows": rows,
                                    "ratio_means": "dask seconds / shoal seconds (higher is better)",
                                    "data": "shoal.datasets.wikistats 4 files x 500,000 lines, gzip",
                                    "scheduler": "processes, 2 workers"})
        print(f"wrote {out}")


if __name__ == "__main__":
    main()
