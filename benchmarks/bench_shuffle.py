"""Shuffles larger than memory: shoal's disk shuffle beside Dask's, same data, same run.

Each case runs in a fresh child process (``--one``), so its peak RSS covers
that process and every process it starts (cluster scheduler, nanny and
workers), sampled every 5 ms; the number reported is the peak of the whole
tree, not the rise over a baseline.

Cases (``--cases`` picks some; Dask uses its P2P shuffle on a cluster and
its disk shuffle on the threads scheduler; shoal its peer-to-peer shuffle
on a cluster (``--shoal-cluster-method disk`` for its disk shuffle there)
and, on the threads scheduler, the method "auto" picks against a 1 GB budget
(config ``dataframe.shuffle.memory-limit``: the disk shuffle for these sizes)):

* ``ts60-cluster``: ``timeseries(60 days, freq="250ms")`` (20.7M rows),
  ``set_index("x")``, rows counted, LocalCluster 2 workers x 1 GB;
* ``ts240-cluster``: the same over 240 days (83M rows);
* ``merge-cluster``: two 10M-row frames merged on a shared key (10M
  distinct values), rows counted, 2 workers x 1 GB;
* ``sort-cluster``: ``sort_values`` of 20M rows on a float column, rows
  counted, 2 workers x 1 GB;
* ``ts60-threads`` / ``ts240-threads``: the threads scheduler (2 threads).

Rows are counted with ``map_partitions(len)`` after the shuffle (Dask's
optimizer answers a plain ``len`` of ``set_index`` without shuffling).  Row
counts of the two libraries are checked equal.  ``ratio`` is Dask's time
/ shoal's time.

    python benchmarks/bench_shuffle.py [--quick] [--repeat 1] [--cases ts60-cluster,ts60-threads]
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))

CASES = ["ts60-cluster", "ts60-threads", "ts240-cluster", "merge-cluster", "sort-cluster", "ts240-threads"]
QUICK_SCALE = 0.05  # --quick: 5% of the rows


def _timeseries(lib: str, days: float):
    end = str(__import__("pandas").Timestamp("2000-01-01") + __import__("pandas").Timedelta(days=days))
    if lib == "dask":
        import dask.datasets

        return dask.datasets.timeseries(start="2000-01-01", end=end, freq="250ms", seed=0)
    import shoal.datasets

    return shoal.datasets.timeseries(start="2000-01-01", end=end, freq="250ms", seed=0)


def _frame(lib: str, rows: int, nparts: int, seed: int, key_name: str = "key"):
    """A lazy frame of ``rows`` rows: an int key (``rows`` distinct values), two floats."""
    import numpy as np
    import pandas as pd

    per = rows // nparts

    def part(i: int) -> pd.DataFrame:
        rng = np.random.default_rng(seed * 100_003 + i)
        return pd.DataFrame({key_name: rng.integers(0, rows, per), f"a{seed}": rng.random(per),
                             f"b{seed}": rng.random(per)})

    meta = part(0).iloc[:0]
    if lib == "dask":
        import dask
        import dask.dataframe as dd

        return dd.from_delayed([dask.delayed(part)(i) for i in range(nparts)], meta=meta, verify_meta=False)
    import shoal
    import shoal.dataframe as sd

    return sd.from_delayed([shoal.delayed(part)(i) for i in range(nparts)], meta=meta, verify_meta=False)


def _count(df) -> int:
    """Rows counted per partition after the shuffle.

    Not ``len(df)``: Dask's optimizer answers ``len`` of a ``set_index``
    from its input and would skip the shuffle being measured.
    """
    return int(df.map_partitions(len).compute().sum())


def _workload(lib: str, case: str, scale: float):
    days = (60 if case.startswith("ts60") else 240) * scale
    kw = {}
    if lib == "shoal" and case.endswith("-cluster"):  # p2p (or --shoal-cluster-method)
        kw = {"shuffle_method": os.environ.get("SHOAL_BENCH_CLUSTER_METHOD", "p2p")}
    if case.startswith("ts"):
        df = _timeseries(lib, days)
        return lambda: _count(df.set_index("x", **kw))
    if case.startswith("merge"):
        n = int(10_000_000 * scale)
        left, right = _frame(lib, n, 40, 1), _frame(lib, n, 40, 2)
        return lambda: _count(left.merge(right, on="key", **kw))
    if case.startswith("sort"):
        df = _frame(lib, int(20_000_000 * scale), 80, 3)
        return lambda: _count(df.sort_values("a3", **kw))
    raise ValueError(case)


def run_one(lib: str, case: str, scale: float) -> dict:
    """Run one case here (a child process); returns seconds and row count."""
    import contextlib

    stack = contextlib.ExitStack()
    if case.endswith("-cluster"):
        if lib == "dask":
            import dask
            from distributed import Client, LocalCluster

            stack.enter_context(dask.config.set({"dataframe.shuffle.method": "p2p"}))
            cluster = stack.enter_context(LocalCluster(n_workers=2, threads_per_worker=1, memory_limit="1GB",
                                                       dashboard_address=None))
        else:
            from shoal.distributed import Client, LocalCluster

            cluster = stack.enter_context(LocalCluster(n_workers=2, threads_per_worker=1, memory_limit="1GB",
                                                       dashboard_address=None))
        stack.enter_context(Client(cluster))
    else:
        if lib == "dask":
            import dask

            stack.enter_context(dask.config.set({"scheduler": "threads", "num_workers": 2,
                                                 "dataframe.shuffle.method": "disk"}))
        else:
            import shoal

            # a 1 GB budget: "auto" weighs the data against it (and picks the disk shuffle)
            stack.enter_context(shoal.config.set({"scheduler": "threads", "num_workers": 2,
                                                  "dataframe.shuffle.memory-limit": "1GB"}))
    with stack:
        fn = _workload(lib, case, scale)
        t0 = time.perf_counter()
        n = fn()
        dt = time.perf_counter() - t0
    return {"seconds": dt, "rows": int(n)}


def _tree_rss(proc) -> int:
    import psutil

    total = 0
    for p in [proc] + proc.children(recursive=True):
        try:
            total += p.memory_info().rss
        except psutil.Error:
            pass
    return total


def measure(lib: str, case: str, scale: float, timeout: float) -> dict:
    """One run in a fresh child process: seconds, rows, peak RSS of its process tree."""
    import psutil

    cmd = [sys.executable, os.path.abspath(__file__), "--one", lib, case, str(scale)]
    child = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    proc = psutil.Process(child.pid)
    peak = 0
    deadline = time.monotonic() + timeout
    while child.poll() is None:
        try:
            peak = max(peak, _tree_rss(proc))
        except psutil.Error:
            pass
        if time.monotonic() > deadline:
            for p in proc.children(recursive=True):
                with __import__("contextlib").suppress(psutil.Error):
                    p.kill()
            child.kill()
            child.wait()
            return {"error": f"timed out after {timeout:.0f} s", "peak_mb": peak / 1e6}
        time.sleep(0.005)
    out, err = child.communicate()
    if child.returncode != 0 or not out.strip():
        return {"error": (err.strip().splitlines() or ["no output"])[-1][:300], "peak_mb": peak / 1e6}
    res = json.loads(out.strip().splitlines()[-1])
    res["peak_mb"] = peak / 1e6
    return res


def main() -> None:
    import _common

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help=f"{QUICK_SCALE:.0%} of the rows")
    ap.add_argument("--repeat", type=int, default=1)
    ap.add_argument("--cases", default=",".join(CASES))
    ap.add_argument("--timeout", type=float, default=900)
    ap.add_argument("--libs", default="dask,shoal", help="which libraries to run (default both)")
    ap.add_argument("--shoal-cluster-method", default="p2p", choices=["p2p", "disk", "tasks"],
                    help="shoal's shuffle on the cluster cases (default p2p)")
    ap.add_argument("--one", nargs=3, help=argparse.SUPPRESS)
    args = ap.parse_args()
    os.environ["SHOAL_BENCH_CLUSTER_METHOD"] = args.shoal_cluster_method
    if args.one:
        lib, case, scale = args.one
        print(json.dumps(run_one(lib, case, float(scale))))
        return
    scale = QUICK_SCALE if args.quick else 1.0
    rows = []
    for case in args.cases.split(","):
        runs: dict = {"dask": [], "shoal": []}
        for _ in range(args.repeat):
            for lib in args.libs.split(","):  # alternate, so both see the same machine
                r = measure(lib, case, scale, args.timeout)
                runs[lib].append(r)
                print(f"{case:15s} {lib:6s} {r}", flush=True)
        row = {"workload": case, "unit": "s"}
        for lib in ("dask", "shoal"):
            ok = [r for r in runs[lib] if "error" not in r]
            row[lib] = statistics.median(r["seconds"] for r in ok) if ok else None
            row[f"peak_mb_{lib}"] = max(r["peak_mb"] for r in runs[lib]) if runs[lib] else None
            row[f"rows_{lib}"] = ok[-1]["rows"] if ok else None
            if not ok and runs[lib]:
                row[f"error_{lib}"] = runs[lib][-1].get("error")
        if row["rows_dask"] is not None and row["rows_shoal"] is not None and row["rows_dask"] != row["rows_shoal"]:
            row["mismatch"] = True
        rows.append(row)
    # rows of cases not run this time stay as they were (cases can be run separately)
    path = os.path.join(HERE, "results", "shuffle.json")
    if os.path.exists(path):
        with open(path) as f:
            old = json.load(f)
        if old.get("scale") == scale:
            libs = args.libs.split(",")
            previous = {r["workload"]: r for r in old.get("rows", [])}
            for r in rows:  # a library not run this time keeps its earlier figures
                for key, value in previous.get(r["workload"], {}).items():
                    if not any(key == lib or key.endswith("_" + lib) for lib in libs) and r.get(key) is None:
                        r[key] = value
                if r.get("rows_dask") is not None and r.get("rows_shoal") is not None:
                    r["mismatch"] = r["rows_dask"] != r["rows_shoal"]
            done = {r["workload"] for r in rows}
            rows = [r for r in old.get("rows", []) if r["workload"] not in done] + rows
            rows.sort(key=lambda r: CASES.index(r["workload"]) if r["workload"] in CASES else len(CASES))
    out = _common.write_results("shuffle", {"rows": rows, "scale": scale, "repeat": args.repeat})
    print("wrote", out)


if __name__ == "__main__":
    main()
