"""shoal.array beside dask.array, same invocation, threads scheduler with 2 workers.

Every run of every workload happens in a fresh subprocess so its peak RSS
(``ru_maxrss``, the kernel's high-water mark, which includes the
interpreter and imports) belongs to that run alone; the time is measured
inside the child around ``compute`` only.  Each workload runs both
libraries alternately ``repeats`` times; the table shows medians.
``ratio`` is Dask's time / shoal's time (higher is better).

Workloads (``--quick`` shrinks them):

* ``random.normal(0, 1, size=(n, n), chunks=(5000, 5000)).mean(axis=1)``
  at n = 20000 and 60000 (28.8 GB, never held);
* ``from_array`` of a 200 MB numpy array, ``(x + x.T).sum(axis=0)``;
* rechunk of a (20000, 20000) random array from (20000, 500) to
  (500, 20000) blocks, then ``.sum()``.

Writes ``benchmarks/results/array.json``.  Run: ``python benchmarks/bench_array.py [--quick]``.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import textwrap

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)

from _common import write_results  # noqa: E402

CHILD = textwrap.dedent("""
    import json, resource, sys, time
    import numpy as np
    lib, workload, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
    if lib == "dask":
        import dask
        import dask.array as da
        kw = dict(scheduler="threads", num_workers=2)
    else:
        import shoal as dask
        import shoal.array as da
        kw = dict(scheduler="threads", num_workers=2)
    if workload == "random-mean":
        c = min(5000, n // 4)
        x = da.random.normal(0, 1, size=(n, n), chunks=(c, c))
        t = time.perf_counter()
        r = x.mean(axis=1).compute(**kw)
        elapsed = time.perf_counter() - t
        check = float(np.abs(r).max())
    elif workload == "from-array":
        a = np.random.default_rng(0).random((n, n))
        t = time.perf_counter()
        x = da.from_array(a, chunks=(n // 5, n // 5))
        r = (x + x.T).sum(axis=0).compute(**kw)
        elapsed = time.perf_counter() - t
        check = float(r.sum())
    elif workload == "rechunk":
        x = da.random.normal(0, 1, size=(n, n), chunks=(n, max(n // 40, 1)))
        y = x.rechunk((max(n // 40, 1), n))
        t = time.perf_counter()
        r = y.sum().compute(**kw)
        elapsed = time.perf_counter() - t
        check = float(r)
    print(json.dumps({"seconds": elapsed, "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                      "check": check}))
""")


def run_once(lib: str, workload: str, n: int) -> dict:
    env = dict(os.environ, PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""),
               OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1", MKL_NUM_THREADS="1")
    proc = subprocess.run([sys.executable, "-c", CHILD, lib, workload, str(n)], capture_output=True,
                          text=True, env=env, timeout=1800)
    if proc.returncode != 0:
        raise RuntimeError(f"{lib} {workload} failed:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="small sizes (a minute or so)")
    ap.add_argument("--repeats", type=int, default=None)
    ap.add_argument("--only", default=None, help="comma-separated workload labels to run")
    args = ap.parse_args()
    if args.quick:
        plan = [("random.normal 4000^2 mean(axis=1)", "random-mean", 4000, 3),
                ("from_array 32 MB (x + x.T).sum(axis=0)", "from-array", 2000, 3),
                ("rechunk 4000^2 cols->rows .sum()", "rechunk", 4000, 3)]
    else:
        plan = [("random.normal 20000^2 mean(axis=1)", "random-mean", 20000, 3),
                ("random.normal 60000^2 mean(axis=1)", "random-mean", 60000, 1),
                ("from_array 200 MB (x + x.T).sum(axis=0)", "from-array", 5000, 5),
                ("rechunk 20000^2 (20000,500)->(500,20000) .sum()", "rechunk", 20000, 2)]
    if args.only:
        wanted = set(args.only.split(","))
        plan = [p for p in plan if p[1] in wanted or p[0] in wanted]
    rows = []
    print(f"{'workload':50} {'dask s':>8} {'shoal s':>8} {'ratio':>6} {'MB dask':>8} {'MB shoal':>8}")
    for label, workload, n, repeats in plan:
        repeats = args.repeats or repeats
        res: dict = {"dask": [], "shoal": []}
        for _ in range(repeats):
            for lib in ("dask", "shoal"):  # alternate so both see the same machine load
                res[lib].append(run_once(lib, workload, n))
        dt = statistics.median(r["seconds"] for r in res["dask"])
        st = statistics.median(r["seconds"] for r in res["shoal"])
        dm = max(r["peak_mb"] for r in res["dask"])
        sm = max(r["peak_mb"] for r in res["shoal"])
        row = {"workload": label, "dask": round(dt, 3), "shoal": round(st, 3), "unit": "s",
               "ratio": round(dt / st, 2), "peak_mb_dask": round(dm, 1), "peak_mb_shoal": round(sm, 1),
               "runs": repeats, "n": n}
        rows.append(row)
        print(f"{label:50} {dt:8.2f} {st:8.2f} {dt / st:5.2f}x {dm:8.0f} {sm:8.0f}", flush=True)
    out = write_results("array", {"rows": rows, "quick": args.quick,
                                  "ratio_means": "dask seconds / shoal seconds (higher is better)",
                                  "scheduler": "threads, 2 workers",
                                  "peak": "ru_maxrss of a fresh process per run"})
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
