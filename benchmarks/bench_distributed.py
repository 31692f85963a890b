"""Distributed schedulers: shoal beside dask.distributed, same workloads, same run.

Both run a LocalCluster of 2 worker processes x 1 thread on this machine.
Each library runs in its own child process (so imports, event loops and
memory do not mix); every cell is the median of ``--repeat`` runs after one
warm-up.

Workloads (tasks/s unless noted):

* ``independent``: ``compute(*tasks)`` over N tiny independent delayed tasks
  (graph building included, as a user would time it);
* ``tree``: binary tree reduction over N leaves; tasks/s counts every task;
* ``map``: ``client.map(inc, range(N))`` then ``gather``;
* ``shared-array`` (tutorial section 6.4): a 160 MB array wrapped in
  ``delayed``, 20 tasks take its mean (seconds, compute call only; the same
  array every run, so a library may reuse what it already sent);
* ``shared-array-fresh``: the same with a new array each run, as the
  tutorial's single run sees it (the 160 MB must reach a worker each time);
* ``scheduler-memory``: bytes of scheduler RSS per task after a client
  submits an N-task graph (N = 1,000,000; 100,000 with ``--quick``) to a
  scheduler started with the library's own command line, no workers, so
  nothing runs and everything stays held.  Also reported for shoal: the
  tracemalloc size of the pure scheduler state per task.

    python benchmarks/bench_distributed.py [--quick] [--repeat 3]
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, ROOT)

from _common import write_results  # noqa: E402


def inc(x):
    return x + 1


def add(a, b):
    return a + b


def calc(x, i):
    import numpy as np

    return float(np.mean(x)) + i


def _libs(lib):
    if lib == "dask":
        import dask
        from dask.distributed import Client, LocalCluster

        return dask, dask.delayed, Client, LocalCluster
    import shoal
    from shoal.distributed import Client, LocalCluster

    return shoal, shoal.delayed, Client, LocalCluster


def child(lib: str, n: int, repeat: int) -> dict:
    """Run the cluster workloads for one library; print JSON."""
    import numpy as np
    import resource

    mod, delayed, Client, LocalCluster = _libs(lib)
    kw = dict(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None)
    if lib == "dask":
        kw["dashboard_address"] = ":0"
    cluster = LocalCluster(**kw)
    client = Client(cluster)
    out = {}

    def timeit(fn, reps):
        times = []
        for r in range(reps + 1):
            t = fn(r)
            if r:  # first run is the warm-up
                times.append(t)
        return statistics.median(times)

    def independent(r):
        t = time.perf_counter()
        tasks = [delayed(inc)(i + r * n) for i in range(n)]
        res = mod.compute(*tasks)
        el = time.perf_counter() - t
        assert res[-1] == n - 1 + r * n + 1
        return el

    def tree(r):
        t = time.perf_counter()
        layer = [delayed(inc)(i + r) for i in range(n)]
        count = n
        while len(layer) > 1:
            nxt = [delayed(add)(layer[i], layer[i + 1]) for i in range(0, len(layer) - 1, 2)]
            count += len(nxt)
            if len(layer) % 2:
                nxt.append(layer[-1])
            layer = nxt
        res = layer[0].compute()
        el = time.perf_counter() - t
        assert res == sum(range(1 + r, n + 1 + r))
        out["tree_tasks"] = count
        return el

    def cmap(r):
        t = time.perf_counter()
        fs = client.map(inc, range(r * n, r * n + n))
        res = client.gather(fs)
        el = time.perf_counter() - t
        assert res[-1] == r * n + n
        del fs
        return el

    out["independent"] = n / timeit(independent, repeat)
    tt = timeit(tree, repeat)
    out["tree"] = out["tree_tasks"] / tt
    out["map"] = n / timeit(cmap, repeat)

    def means_of(arr, arr_d):
        """Section 6.4: 20 tasks take the mean of the delayed array ``arr_d``."""
        outs = [delayed(calc)(arr_d, i) for i in range(20)]
        t = time.perf_counter()
        res = mod.compute(*outs)
        el = time.perf_counter() - t
        assert abs(res[0] - float(arr.mean())) < 1e-9
        return el

    x = np.random.normal(size=20_000_000)  # 160 MB
    xd = delayed(x)
    out["shared-array"] = timeit(lambda r: means_of(x, xd), repeat)

    def shared_fresh(r):
        # as the tutorial runs it once: a new array each time, so nothing is already on a worker
        y = np.random.normal(size=20_000_000)
        return means_of(y, delayed(y))

    out["shared-array-fresh"] = timeit(shared_fresh, repeat)
    out["peak_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    client.close()
    cluster.close()
    return out


def memory_child(lib: str, n: int) -> dict:
    """Scheduler RSS per task with an N-task graph submitted (no workers)."""
    import psutil

    tmp = tempfile.mkdtemp()
    sf = os.path.join(tmp, "sched.json")
    if lib == "dask":
        cmd = [sys.executable, "-m", "distributed.cli.dask_scheduler", "--port", "0", "--host", "127.0.0.1",
               "--scheduler-file", sf, "--dashboard-address", ":0"]
    else:
        cmd = [sys.executable, "-m", "shoal", "scheduler", "--port", "0", "--host", "127.0.0.1",
               "--scheduler-file", sf, "--token-file", os.path.join(tmp, "tok"), "--dashboard-address", "none",
               "--log-level", "WARNING"]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        while not os.path.exists(sf):
            time.sleep(0.1)
        time.sleep(1.0)
        mod, delayed, Client, LocalCluster = _libs(lib)
        client = Client(scheduler_file=sf)
        ps = psutil.Process(proc.pid)
        client.submit(inc, 1)  # warm the scheduler's code paths
        time.sleep(0.5)
        base = ps.memory_info().rss
        t = time.perf_counter()
        fs = client.map(inc, range(n), pure=True)
        # wait until the scheduler has taken the whole graph in (RSS stops growing)
        last, stable = 0, 0
        while stable < 4:
            time.sleep(0.5)
            rss = ps.memory_info().rss
            stable = stable + 1 if abs(rss - last) < 1 << 20 else 0
            last = rss
        submit_s = time.perf_counter() - t
        per_task = (last - base) / n
        del fs
        client.close()
        return {"bytes_per_task": per_task, "submit_s": submit_s}
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()


def tracemalloc_state(n: int) -> float:
    """Bytes per task held by shoal's pure scheduler state (keys and specs included)."""
    import gc
    import tracemalloc

    from shoal.core.tokenize import tokenize
    from shoal.distributed.protocol.serialize import serialize
    from shoal.distributed.scheduler.state import SchedulerState

    gc.collect()
    tracemalloc.start()
    keys = [f"inc-{tokenize(i)}" for i in range(n)]
    specs = [serialize(((i,), {})) for i in range(n)]
    s = SchedulerState()
    s.add_client("c")
    s.update_graph("c", keys, specs, ["f" * 24] * n, [None] * n, keys, funcs={"f" * 24: b"F"})
    del specs, keys  # the state keeps what it needs
    gc.collect()
    cur, _ = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return cur / n


def run_child(args: list) -> dict:
    r = subprocess.run([sys.executable, os.path.abspath(__file__), *args], capture_output=True, text=True,
                       timeout=3600)
    if r.returncode != 0:
        raise RuntimeError(f"benchmark child {args} failed:\n{r.stderr[-3000:]}")
    return json.loads(r.stdout.strip().splitlines()[-1])


def main(argv=None) -> int:
    p = argparse.ArgumentParser()
    p.add_argument("--quick", action="store_true")
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--child", nargs=3, default=None)
    p.add_argument("--memory-child", nargs=2, default=None)
    p.add_argument("--skip-memory", action="store_true")
    a = p.parse_args(argv)
    if a.child:
        print(json.dumps(child(a.child[0], int(a.child[1]), int(a.child[2]))))
        return 0
    if a.memory_child:
        print(json.dumps(memory_child(a.memory_child[0], int(a.memory_child[1]))))
        return 0
    n = 1000 if a.quick else 5000
    reps = 1 if a.quick else a.repeat
    res = {lib: run_child(["--child", lib, str(n), str(reps)]) for lib in ("dask", "shoal")}
    rows = []
    for w, unit in [("independent", "tasks/s"), ("tree", "tasks/s"), ("map", "tasks/s"),
                    ("shared-array", "s"), ("shared-array-fresh", "s")]:
        d, s = res["dask"][w], res["shoal"][w]
        ratio = s / d if unit == "tasks/s" else d / s  # >1: shoal better
        name = {"independent": f"compute(*tasks), {n} tiny delayed tasks",
                "tree": f"tree reduction over {n} leaves", "map": f"client.map(inc, range({n})) + gather",
                "shared-array": "section 6.4: 160 MB delayed array, 20 mean tasks",
                "shared-array-fresh": "section 6.4, a new 160 MB array each run"}[w]
        rows.append({"workload": name, "dask": round(d, 3), "shoal": round(s, 3), "unit": unit,
                     "ratio": round(ratio, 2), "peak_mb_shoal": round(res["shoal"]["peak_mb"], 1),
                     "peak_mb_dask": round(res["dask"]["peak_mb"], 1)})
    if not a.skip_memory:
        mn = 100_000 if a.quick else 1_000_000
        md = run_child(["--memory-child", "dask", str(mn)])
        ms = run_child(["--memory-child", "shoal", str(mn)])
        rows.append({"workload": f"scheduler RSS per task, {mn:,}-task graph submitted",
                     "dask": round(md["bytes_per_task"]), "shoal": round(ms["bytes_per_task"]), "unit": "bytes",
                     "ratio": round(md["bytes_per_task"] / max(ms["bytes_per_task"], 1), 2),
                     "peak_mb_shoal": None, "peak_mb_dask": None})
        tm = tracemalloc_state(mn)
        rows.append({"workload": f"shoal scheduler state per task (tracemalloc), {mn:,} tasks",
                     "dask": None, "shoal": round(tm), "unit": "bytes", "ratio": None,
                     "peak_mb_shoal": None, "peak_mb_dask": None})
    print(f"{'workload':<58} {'dask':>12} {'shoal':>12} {'unit':>8} {'ratio':>7}")
    for r in rows:
        d = "-" if r["dask"] is None else r["dask"]
        ra = "-" if r["ratio"] is None else f"{r['ratio']}x"
        print(f"{r['workload']:<58} {d:>12} {r['shoal']:>12} {r['unit']:>8} {ra:>7}")
    write_results("distributed", {"rows": rows, "quick": a.quick, "repeat": reps})
    return 0


if __name__ == "__main__":
    sys.exit(main())
