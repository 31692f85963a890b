"""What serving the dashboard costs the scheduler, on the tiny-task workload.

    python benchmarks/bench_dashboard.py [--quick] [--runs 5] [--tasks 4000]

Workload: ``compute(*tasks)`` over N independent tiny delayed tasks on a
LocalCluster (2 workers x 1 thread), three ways in the same process:

* ``off``: ``dashboard_address=None``;
* ``on``: dashboard served, no page open;
* ``watched``: dashboard served and its live feed (``/api/events``, what a
  browser page consumes, several updates a second) read for the whole run.

Each mode runs in a fresh process (a process's schedulers share one IO
loop, so modes must not share a process); rounds of the three are
interleaved (so drift in the shared machine's load hits them alike) and the
median tasks/s over all runs is reported.  The target is
``watched / off >= 0.95``.  Dask runs beside with its dashboard off and on
(no page: its page needs a browser driving websockets), for the shoal/Dask
ratio the other benchmarks report.  Results go to
``benchmarks/results/dashboard.json``.
"""
from __future__ import annotations

import argparse
import json
import statistics
import threading
import time
import urllib.request

from _common import write_results


def inc(x):
    return x + 1


class FeedReader:
    """Reads the dashboard's SSE feed in a thread, as an open page would."""

    def __init__(self, url: str):
        self.url = url
        self.messages = 0
        self.bytes = 0
        self._stop = False
        self._resp = None
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        try:
            self._resp = urllib.request.urlopen(self.url, timeout=30)
            for line in self._resp:
                if self._stop:
                    break
                if line.startswith(b"data: "):
                    self.messages += 1
                    self.bytes += len(line)
        except Exception:  # closed under our feet at the end
            pass

    def close(self) -> None:
        self._stop = True
        try:
            self._resp.close()
        except Exception:
            pass
        self.thread.join(timeout=5)


def _feed_url(link: str) -> str:
    base, _, query = link.partition("?")
    return base.rsplit("/", 1)[0] + "/api/events" + (("?" + query) if query else "")


def shoal_child(mode: str, n: int, runs: int) -> list:
    """Timed runs of one mode in this (fresh) process; returns seconds per run."""
    import shoal
    from shoal.distributed import Client, LocalCluster

    cluster = LocalCluster(n_workers=2, threads_per_worker=1,
                           dashboard_address=None if mode == "off" else ":0")
    client = Client(cluster, set_as_default=False)
    feed = FeedReader(_feed_url(client.dashboard_link)) if mode == "watched" else None
    times = []
    busy = busy_cpu = 0.0
    try:
        shoal.compute(*[shoal.delayed(inc)(i) for i in range(500)], scheduler=client)  # warm-up
        for r in range(runs):
            tasks = [shoal.delayed(inc)(i + r * n) for i in range(n)]
            t0 = time.perf_counter()
            out = shoal.compute(*tasks, scheduler=client)
            times.append(time.perf_counter() - t0)
            assert out[-1] == n + r * n
        dash = getattr(cluster.scheduler, "dashboard", None)
        busy = dash.busy_s if dash is not None else 0.0
        busy_cpu = dash.busy_cpu_s if dash is not None else 0.0
    finally:
        msgs = feed.messages if feed else 0
        if feed:
            feed.close()
        client.close()
        cluster.close()
    return [times, msgs, busy, busy_cpu]


def shoal_runs(n: int, runs: int, rounds: int) -> dict:
    """Each mode in its own process (a process has one IO loop shared by its
    schedulers), rounds interleaved so the shared machine's drift hits all alike."""
    import subprocess
    import sys

    times: dict = {"off": [], "on": [], "watched": []}
    msgs = 0
    busy = busy_cpu = 0.0
    wall = 0.0
    for r in range(rounds):
        order = list(times) if r % 2 == 0 else list(reversed(list(times)))
        for mode in order:
            out = subprocess.run([sys.executable, __file__, "--child", mode, "--tasks", str(n),
                                  "--runs", str(runs)], capture_output=True, text=True, timeout=600)
            if out.returncode != 0:
                raise RuntimeError(f"benchmark child {mode} failed:\n{out.stderr[-3000:]}")
            ts, m, b, bc = json.loads(out.stdout.strip().splitlines()[-1])
            times[mode] += ts
            msgs += m
            if mode == "watched":
                busy += b
                busy_cpu += bc
                wall += sum(ts)
    res = {m: n / statistics.median(ts) for m, ts in times.items()}
    res["feed_messages"] = msgs
    # direct measure, immune to the machine's noise: share of the timed runs'
    # wall time the scheduler's loop spent building and encoding updates
    res["loop_share"] = busy / wall if wall else 0.0
    res["loop_cpu_share"] = busy_cpu / wall if wall else 0.0
    return res


def dask_runs(n: int, runs: int) -> dict:
    import dask
    from distributed import Client, LocalCluster

    res = {}
    for mode in ("off", "on"):
        cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                               dashboard_address=None if mode == "off" else ":0")
        client = Client(cluster)
        try:
            dask.compute(*[dask.delayed(inc)(i) for i in range(200)])
            ts = []
            for r in range(runs):
                tasks = [dask.delayed(inc)(i + r * n) for i in range(n)]
                t0 = time.perf_counter()
                dask.compute(*tasks)
                ts.append(time.perf_counter() - t0)
            res[mode] = n / statistics.median(ts)
        finally:
            client.close()
            cluster.close()
    return res


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--quick", action="store_true")
    p.add_argument("--runs", type=int, default=None)
    p.add_argument("--tasks", type=int, default=None)
    p.add_argument("--no-dask", action="store_true")
    p.add_argument("--rounds", type=int, default=None)
    p.add_argument("--child", default=None, help=argparse.SUPPRESS)
    a = p.parse_args()
    n = a.tasks or (5000 if a.quick else 20000)
    runs = a.runs or (3 if a.quick else 3)
    if a.child:
        print(json.dumps(shoal_child(a.child, n, runs)))
        return
    s = shoal_runs(n, runs, a.rounds or (2 if a.quick else 3))
    nd = max(n // 10, 500)  # Dask runs ~100x slower here: fewer tasks, same rate measure
    d = {} if a.no_dask else dask_runs(nd, 2)
    size = f"shoal x{n}" + ("" if a.no_dask else f", Dask x{nd}")
    rows = [
        {"workload": f"tiny tasks ({size}), dashboard off", "shoal": round(s["off"], 1),
         "dask": round(d["off"], 1) if d else None, "unit": "tasks/s"},
        {"workload": f"tiny tasks ({size}), dashboard on", "shoal": round(s["on"], 1),
         "dask": round(d["on"], 1) if d else None, "unit": "tasks/s"},
        {"workload": f"tiny tasks (shoal x{n}), dashboard on + live feed read", "shoal": round(s["watched"], 1),
         "dask": None, "unit": "tasks/s"},
    ]
    for r in rows:
        r["ratio"] = round(r["shoal"] / r["dask"], 2) if r["dask"] else None
        r["peak_mb_shoal"] = r["peak_mb_dask"] = None
    overhead = {"on/off": round(s["on"] / s["off"], 3), "watched/off": round(s["watched"] / s["off"], 3),
                "feed_messages": s["feed_messages"], "loop_share_watched": round(s["loop_share"], 4),
                "loop_cpu_share_watched": round(s["loop_cpu_share"], 4)}
    print(f"{'workload':64s} {'dask':>10s} {'shoal':>10s} {'ratio':>7s}")
    for r in rows:
        print(f"{r['workload']:64s} {r['dask'] or '-':>10} {r['shoal']:>10} {r['ratio'] or '-':>7}")
    print(f"shoal dashboard throughput ratios: on/off {overhead['on/off']}, "
          f"watched/off {overhead['watched/off']} (target >= 0.95); "
          f"{overhead['feed_messages']} feed updates read; feed work on the scheduler loop: "
          f"{100 * overhead['loop_share_watched']:.2f}% of the watched runs' wall time "
          f"({100 * overhead['loop_cpu_share_watched']:.2f}% in CPU time)")
    write_results("dashboard", {"rows": rows, "overhead": overhead})


if __name__ == "__main__":
    main()
