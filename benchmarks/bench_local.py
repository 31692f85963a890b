"""Local schedulers: shoal beside Dask, same workloads, same process.

Workloads (tasks/s unless noted; only the compute call is timed, graph
construction is timed separately and reported):

* ``independent``: ``compute(*tasks)`` over N independent ``inc`` tasks;
* ``tree``: binary tree reduction (``add`` pairs) over N ``inc`` leaves;
  tasks/s counts every task of the graph (leaves and adds);
* ``shared-array`` (tutorial section 6.4): a 160 MB array wrapped in
  ``delayed``, 10 tasks take its mean on the process scheduler (seconds).

Each cell is the median of ``--repeat`` runs (after one warm-up run on
the process scheduler, which starts both libraries' pools).  Peak memory is the
highest RSS of this process plus its children seen by a 5 ms sampler.

    python benchmarks/bench_local.py [--quick] [--repeat 3]
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))

import numpy as np  # noqa: E402
from _common import PeakRSS, write_results  # noqa: E402


def inc(x):
    return x + 1


def add(a, b):
    return a + b


def mean_of(x, i):
    return float(x.mean()) + i


def build_independent(lib, n):
    return [lib.delayed(inc)(i) for i in range(n)]


def build_tree(lib, n):
    level = [lib.delayed(inc)(i) for i in range(n)]
    ntasks = n
    while len(level) > 1:
        nxt = []
        for i in range(0, len(level) - 1, 2):
            nxt.append(lib.delayed(add)(level[i], level[i + 1]))
        if len(level) % 2:
            nxt.append(level[-1])
        ntasks += len(level) // 2
        level = nxt
    return level, ntasks


def measure(lib, build, scheduler, repeat):
    """(median compute seconds, median build seconds, ntasks, peak MB, result)."""
    times, builds, peaks = [], [], []
    result = None
    warm = 1 if scheduler == "processes" else 0  # starts both libraries' pools
    for i in range(repeat + warm):
        t0 = time.perf_counter()
        args, ntasks = build()
        t1 = time.perf_counter()
        with PeakRSS(sample_at_exit=True) as peak:
            t2 = time.perf_counter()
            result = lib.compute(*args, scheduler=scheduler)
            t3 = time.perf_counter()
        del args
        if i >= warm:
            times.append(t3 - t2)
            builds.append(t1 - t0)
            peaks.append(peak.mb)
    return statistics.median(times), statistics.median(builds), ntasks, max(peaks), result


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true", help="small sizes")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--only", default="", help="comma-separated workload names")
    args = ap.parse_args()
    import dask

    import shoal

    n_ind, n_ind_p = (2000, 1000) if args.quick else (20000, 5000)
    n_tree, n_tree_p = (2000, 1000) if args.quick else (20000, 5000)
    arr_n = 2_000_000 if args.quick else 20_000_000  # 16 MB / 160 MB of float64

    workloads = []
    for sched, n in (("sync", n_ind), ("threads", n_ind), ("processes", n_ind_p)):
        workloads.append((f"independent-{n}-{sched}", sched, "tasks/s",
                          lambda lib, n=n: (build_independent(lib, n), n)))
    for sched, n in (("sync", n_tree), ("threads", n_tree), ("processes", n_tree_p)):
        workloads.append((f"tree-{n}-{sched}", sched, "tasks/s", lambda lib, n=n: build_tree(lib, n)))

    x = np.random.default_rng(0).random(arr_n)

    def build_shared(lib):
        xd = lib.delayed(x)
        return [lib.delayed(mean_of)(xd, i) for i in range(10)], 10

    workloads.append((f"shared-array-{x.nbytes // 1_000_000}MB-processes", "processes", "s", build_shared))

    only = set(filter(None, args.only.split(",")))
    rows = []
    print(f"{'workload':42} {'dask':>12} {'shoal':>12} {'unit':>8} {'ratio':>8} "
          f"{'build dask':>11} {'build shoal':>11} {'MB dask':>8} {'MB shoal':>8}")
    for name, sched, unit, build in workloads:
        if only and not any(o in name for o in only):
            continue
        res = {}
        for libname, lib in (("dask", dask), ("shoal", shoal)):
            secs, bsecs, ntasks, peak, result = measure(lib, lambda: build(lib), sched, args.repeat)
            res[libname] = (secs, bsecs, ntasks, peak, result)
        assert res["dask"][4] == res["shoal"][4], f"{name}: results differ"
        if unit == "s":
            dv, sv = res["dask"][0], res["shoal"][0]
            ratio = dv / sv  # how many times faster shoal is
        else:
            dv, sv = res["dask"][2] / res["dask"][0], res["shoal"][2] / res["shoal"][0]
            ratio = sv / dv
        row = {"workload": name, "dask": round(dv, 4), "shoal": round(sv, 4), "unit": unit,
               "ratio": round(ratio, 2), "build_s_dask": round(res["dask"][1], 4),
               "build_s_shoal": round(res["shoal"][1], 4),
               "peak_mb_dask": round(res["dask"][3], 1), "peak_mb_shoal": round(res["shoal"][3], 1),
               "runs": args.repeat}
        rows.append(row)
        print(f"{name:42} {dv:12.4g} {sv:12.4g} {unit:>8} {ratio:7.1f}x "
              f"{row['build_s_dask']:11.3f} {row['build_s_shoal']:11.3f} "
              f"{row['peak_mb_dask']:8.1f} {row['peak_mb_shoal']:8.1f}", flush=True)
    if not args.quick and not only:
        out = write_results("local", {"rows": rows,
                                      "ratio_means": "shoal speed / dask speed (higher is better)"})
        print(f"wrote {out}")


if __name__ == "__main__":
    main()
