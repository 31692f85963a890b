"""What serving the dashboard costs the scheduler, on the tiny-task workload.

    python benchmarks/bench_dashboard.py [--quick] [--runs 5] [--tasks 4000]

Workload: ``compute(*tasks)`` over N independent tiny delayed tasks on a
LocalCluster (2 workers x 1 thread), three ways in the same process:

* ``off``: ``dashboard_address=None``;
* ``on``: dashboard served, no page open;
* ``watched``: dashboard served and its live feed (``/api/events``, what a
  browser page consumes, several updates a second) read for the whole run.

Runs of the three are interleaved (so drift in the shared machine's load
hits them alike) and the median tasks/s is reported.  The target is
``watched / off >= 0.95``.  Dask runs beside with its dashboard off and on
(no page: its page needs a browser driving websockets), for the shoal/Dask
ratio the other benchmarks report.  Results go to
``benchmarks/results/dashboard.json``.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import threading
import time
import urllib.request


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
        self._resp = urllib.request.urlopen(self.url, timeout=30)
        for line in self._resp:
            if self._stop:
                break
            if line.startswith(b"data: "):
                self.messages += 1
                self.bytes += len(line)

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


def shoal_runs(n: int, runs: int) -> dict:
    import shoal
    from shoal.distributed import Client, LocalCluster

    setups = {}
    for mode in ("off", "on", "watched"):
        cluster = LocalCluster(n_workers=2, threads_per_worker=1,
                               dashboard_address=None if mode == "off" else ":0")
        client = Client(cluster, set_as_default=False)
        setups[mode] = (cluster, client)
    feed = FeedReader(_feed_url(setups["watched"][1].dashboard_link))
    times: dict = {m: [] for m in setups}
    try:
        for mode, (_, client) in setups.items():  # warm-up
            shoal.compute(*[shoal.delayed(inc)(i) for i in range(200)], scheduler=client)
        for r in range(runs):
            order = list(setups) if r % 2 == 0 else list(reversed(list(setups)))
            for mode in order:
                client = setups[mode][1]
                tasks = [shoal.delayed(inc)(i + r * n) for i in range(n)]
                t0 = time.perf_counter()
                out = shoal.compute(*tasks, scheduler=client)
                times[mode].append(time.perf_counter() - t0)
                assert out[-1] == n - 1 + r * n + 1
        msgs = feed.messages
    finally:
        feed.close()
        for cluster, client in setups.values():
            client.close()
            cluster.close()
    res = {m: n / statistics.median(ts) for m, ts in times.items()}
    res["feed_messages"] = msgs
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
    a = p.parse_args()
    n = a.tasks or (2000 if a.quick else 5000)
    runs = a.runs or (3 if a.quick else 5)
    s = shoal_runs(n, runs)
    d = {} if a.no_dask else dask_runs(max(n // 5, 500), max(runs // 2, 2))
    rows = [
        {"workload": f"tiny tasks x{n}, dashboard off", "shoal": round(s["off"], 1),
         "dask": round(d["off"], 1) if d else None, "unit": "tasks/s"},
        {"workload": f"tiny tasks x{n}, dashboard on", "shoal": round(s["on"], 1),
         "dask": round(d["on"], 1) if d else None, "unit": "tasks/s"},
        {"workload": f"tiny tasks x{n}, dashboard on + live feed read", "shoal": round(s["watched"], 1),
         "dask": None, "unit": "tasks/s"},
    ]
    for r in rows:
        r["ratio"] = round(r["shoal"] / r["dask"], 2) if r["dask"] else None
        r["peak_mb_shoal"] = r["peak_mb_dask"] = None
    overhead = {"on/off": round(s["on"] / s["off"], 3), "watched/off": round(s["watched"] / s["off"], 3),
                "feed_messages": s["feed_messages"]}
    print(f"{'workload':52s} {'dask':>10s} {'shoal':>10s} {'ratio':>7s}")
    for r in rows:
        print(f"{r['workload']:52s} {r['dask'] or '-':>10} {r['shoal']:>10} {r['ratio'] or '-':>7}")
    print(f"shoal dashboard throughput ratios: on/off {overhead['on/off']}, "
          f"watched/off {overhead['watched/off']} (target >= 0.95); "
          f"{overhead['feed_messages']} feed updates read")
    os.makedirs(os.path.join(os.path.dirname(__file__), "results"), exist_ok=True)
    with open(os.path.join(os.path.dirname(__file__), "results", "dashboard.json"), "w") as f:
        json.dump({"rows": rows, "overhead": overhead}, f, indent=1)


if __name__ == "__main__":
    main()
