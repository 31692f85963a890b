"""``shoal demo``: the tutorial's main workloads on generated data.

Parts (run in this order; pick some with ``--parts``):

* ``delayed``   section 3.1/5.x: p replicate means of n normals on the
                sync, threads and processes schedulers;
* ``array``     section 4.1: row means of a chunked normal array;
* ``dataframe`` section 4.2: max departure delay and the UA/SFO delay by
                destination on generated airline CSVs (bz2);
* ``bag``       sections 4.3/6.3: count Obama page views in generated
                gzipped wikistats logs, in one pass;
* ``distributed`` section 5.3/3.2: the same delayed work and a
                ``Client.map`` on a LocalCluster, with the dashboard up.

Each part prints its answer and its time; a results table closes the run.
"""
from __future__ import annotations

import argparse
import os
import tempfile
import time
from typing import Any, Callable

import numpy as np

SIZES = {
    "small": dict(n=200_000, p=8, array=(4000, 4000), chunks=(1000, 1000), years=2, rows=20_000,
                  files=2, lines=50_000),
    "medium": dict(n=2_000_000, p=8, array=(20000, 20000), chunks=(5000, 5000), years=4, rows=200_000,
                   files=4, lines=500_000),
}


def calc_mean(i: int, n: int) -> list:
    """The tutorial's calc_mean, with a per-task random stream."""
    from shoal.random import task_rng

    data = task_rng().normal(size=n)
    return [float(np.mean(data)), float(np.std(data))]


def find(line: str, regex: str = "Obama", language: str = "en") -> bool:
    import re

    vals = line.split(" ")
    if len(vals) < 6:
        return False
    tmp = re.search(regex, vals[3])
    if tmp is None or (language is not None and vals[2] != language):
        return False
    return True


class Demo:
    def __init__(self, size: str, workdir: str, progress: bool):
        self.s = SIZES[size]
        self.workdir = workdir
        self.progress = progress
        self.rows: list[tuple[str, str, float]] = []

    def timed(self, label: str, fn: Callable[[], Any]) -> Any:
        t0 = time.perf_counter()
        out = fn()
        dt = time.perf_counter() - t0
        self.rows.append((label, _short(out), dt))
        print(f"  {label:<48} {dt:7.2f} s   {_short(out)}", flush=True)
        return out

    def progress_bar(self):
        import contextlib

        if not self.progress:
            return contextlib.nullcontext()
        try:
            from shoal.diagnostics import ProgressBar
        except ImportError:
            return contextlib.nullcontext()
        return ProgressBar()

    # -- parts ---------------------------------------------------------------
    def part_delayed(self) -> None:
        import shoal

        n, p = self.s["n"], self.s["p"]
        print(f"delayed: {p} tasks of calc_mean(i, n={n:,})")
        tasks = [shoal.delayed(calc_mean)(i, n) for i in range(p)]
        outs = []
        for sched in ("sync", "threads", "processes"):
            with self.progress_bar():
                outs.append(self.timed(f"delayed calc_mean x{p}, {sched}",
                                       lambda: shoal.compute(*tasks, scheduler=sched, seed=1)))
        # the seed and the task keys fix every stream, whatever the scheduler
        print(f"    same numbers on every scheduler: {outs[0] == outs[1] == outs[2]}")

    def part_array(self) -> None:
        import shoal.array as da

        shape, chunks = self.s["array"], self.s["chunks"]
        print(f"array: mean(axis=1) of normal{shape}, chunks={chunks}")
        x = da.random.normal(0, 1, size=shape, chunks=chunks)
        with self.progress_bar():
            rs = self.timed(f"array row means {shape[0]}x{shape[1]}",
                            lambda: da.mean(x, axis=1).compute(scheduler="threads"))
        print(f"    first row means: {np.round(rs[:3], 4)}")

    def part_dataframe(self) -> None:
        import shoal.dataframe as ddf
        from shoal.datasets import airline

        path = os.path.join(self.workdir, "airline")
        years = list(range(1987, 1987 + self.s["years"]))
        self.timed("generate airline csv.bz2",
                   lambda: f"{len(airline(path, years=years, rows_per_year=self.s['rows'], seed=0))} files")
        air = ddf.read_csv(os.path.join(path, "*.csv.bz2"), compression="bz2", encoding="latin1",
                           dtype={"Distance": "float64", "CRSElapsedTime": "float64",
                                  "TailNum": "object", "CancellationCode": "object"})
        with self.progress_bar():
            self.timed("air.DepDelay.max()", lambda: air.DepDelay.max().compute(scheduler="threads"))
            sub = air[(air.UniqueCarrier == "UA") & (air.Origin == "SFO")]
            by_dest = self.timed("UA from SFO: mean DepDelay by Dest",
                                 lambda: sub.groupby("Dest").DepDelay.mean().compute(scheduler="threads"))
        print("    " + by_dest.head().to_string().replace("\n", "\n    "))

    def part_bag(self) -> None:
        import shoal
        import shoal.bag as db
        from shoal.datasets import wikistats

        path = os.path.join(self.workdir, "wikistats")
        self.timed("generate wikistats .gz",
                   lambda: f"{len(wikistats(path, n_files=self.s['files'], lines_per_file=self.s['lines'], seed=0))} files")
        wiki = db.read_text(os.path.join(path, "part-0000*gz"))
        with self.progress_bar():
            self.timed("wiki.count()", lambda: wiki.count().compute())
            obama = wiki.filter(find)
            out = self.timed("one pass: obama, obama.count(), wiki.count()",
                             lambda: shoal.compute(obama, obama.count(), wiki.count()))
        print(f"    {out[1]:,} Obama lines of {out[2]:,}; first: {out[0][:1]}")

    def part_distributed(self) -> None:
        import shoal
        from shoal.distributed import Client, LocalCluster, progress

        n, p = self.s["n"], self.s["p"]
        cluster = LocalCluster(n_workers=2, threads_per_worker=1)
        with cluster, Client(cluster) as c:
            print(f"distributed: LocalCluster with 2 workers, dashboard at {c.dashboard_link}")
            tasks = [shoal.delayed(calc_mean)(i, n) for i in range(p)]
            self.timed(f"delayed calc_mean x{p}, distributed", lambda: shoal.compute(*tasks, seed=1))
            def map_and_gather():
                futures = c.map(calc_mean, range(p), [n] * p, pure=False)
                if self.progress:
                    progress(futures)  # returns when they are done
                return c.gather(futures)

            self.timed(f"client.map(calc_mean) x{p} + gather", map_and_gather)


def _short(x: Any) -> str:
    if hasattr(x, "shape") and hasattr(x, "dtype") and getattr(x, "ndim", 0) >= 1:
        return f"{type(x).__name__} shape={x.shape}"  # arrays, Series: not their values
    s = " ".join(repr(x).split())
    return s if len(s) <= 40 else s[:37] + "..."


PARTS = ["delayed", "array", "dataframe", "bag", "distributed"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="shoal demo",
        description="Run the tutorial's workloads on generated data and print a results table.",
        epilog="sizes: " + "; ".join(
            f"{k}: n={v['n']:,} p={v['p']} array={v['array']} chunks={v['chunks']} "
            f"airline={v['years']}x{v['rows']:,} rows wikistats={v['files']}x{v['lines']:,} lines"
            for k, v in SIZES.items()),
    )
    parser.add_argument("--parts", default=",".join(PARTS),
                        help=f"comma-separated parts to run (default: all of {','.join(PARTS)})")
    parser.add_argument("--size", choices=sorted(SIZES), default="medium", help="problem size (default medium)")
    parser.add_argument("--no-progress", action="store_true", help="no progress bars")
    parser.add_argument("--workdir", default=None, help="where generated data goes (default: a temp dir)")
    args = parser.parse_args(argv)
    parts = [p.strip() for p in args.parts.split(",") if p.strip()]
    bad = [p for p in parts if p not in PARTS]
    if bad:
        parser.error(f"unknown part(s) {bad}; choose from {PARTS}")
    with tempfile.TemporaryDirectory(prefix="shoal-demo-") as tmp:
        demo = Demo(args.size, args.workdir or tmp, not args.no_progress)
        t0 = time.perf_counter()
        for part in parts:
            getattr(demo, f"part_{part}")()
        total = time.perf_counter() - t0
    print("\nresults")
    print(f"  {'workload':<48} {'seconds':>8}   answer")
    for label, answer, dt in demo.rows:
        print(f"  {label:<48} {dt:8.2f}   {answer}")
    print(f"  {'total':<48} {total:8.2f}")
    return 0
