"""``performance_report``: a self-contained HTML record of a distributed run.

    with performance_report(filename="report.html"):
        x.compute()

While the block runs, a background thread asks the scheduler for its
dashboard snapshot every ``interval`` seconds and keeps (a) every new
task-stream event (deduplicated by sequence number, so a long run is not
limited by the scheduler's bounded buffer as long as it is polled faster
than it wraps) and (b) each worker's memory (managed, unmanaged, spilled)
and CPU.  On exit ``build_report`` writes one HTML file with inline SVG and
CSS: no script, no network needed to open it.  Sections: summary, task
stream, per-group timings, worker memory, worker CPU.
"""
from __future__ import annotations

import html
import os
import threading
import time
from typing import Any, Callable

from shoal.diagnostics import svg

__all__ = ["performance_report", "build_report", "ReportRecorder"]


def _snapshot_getter(client: Any) -> Callable[[], dict]:
    """A function returning the scheduler's normalised dashboard snapshot.

    In-process schedulers (``LocalCluster``) are read on their own event loop,
    every event kept; a remote one is asked over the client's connection
    every 50 ms (its snapshot carries the last 200 task events, so beyond
    ~4,000 tasks/s some are missing from the report's stream).
    """
    from shoal.distributed.dashboard.snapshot import read_snapshot

    cluster = getattr(client, "cluster", None)
    server = getattr(cluster, "scheduler", None)
    runner = getattr(cluster, "_loop", None)
    if server is not None and hasattr(server, "state") and hasattr(runner, "run"):
        from shoal.distributed.dashboard.snapshot import EventLog, server_events

        log = EventLog(maxlen=1 << 30)  # the recorder keeps what it needs
        primed: list = []

        async def read() -> tuple[dict, list]:
            # on the scheduler's loop: only the cheap parts (counts, new raw events)
            events = server_events(server)
            raw = log.take_new(events) if events is not None else []
            raw += log.take_worker_events(server.snapshot().get("workers", {}))
            if not primed:  # events from before the block are not part of the report
                primed.append(True)
                raw = []
            return read_snapshot(server, with_stream=False), raw

        def get() -> dict:
            snap, raw = runner.run(read(), 10)
            for w in snap["workers"]:
                log.nthreads[str(w["address"])] = w["nthreads"]
            snap["stream"] = log.add(raw)  # numbered and placed here, off the loop
            log.buffer.clear()
            return snap

        return get
    fn = getattr(client, "scheduler_info", None)
    if callable(fn):
        def get_remote() -> dict:
            return read_snapshot(_Raw(fn()))

        # a remote snapshot carries the last 200 task events: poll often enough
        get_remote.max_interval = 0.05  # type: ignore[attr-defined]
        return get_remote
    raise RuntimeError(
        "performance_report needs a shoal Client; start one with `client = Client(LocalCluster())`"
    )


class _Raw:
    """A received snapshot dict, readable by ``read_snapshot``."""

    def __init__(self, raw: dict):
        self._raw = raw

    def snapshot(self) -> dict:
        return self._raw


class ReportRecorder:
    """Collects events and worker samples from ``get_snapshot`` every ``interval`` s."""

    def __init__(self, get_snapshot: Callable[[], dict], interval: float = 0.25):
        self.get_snapshot = get_snapshot
        self.interval = interval
        self.events: dict[tuple, dict] = {}
        self.samples: list[tuple[float, list[dict]]] = []
        self.groups: dict = {}
        self.start_time = time.time()
        self.stop_time: float | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.errors = 0

    def poll(self) -> None:
        try:
            snap = self.get_snapshot()
        except Exception:
            self.errors += 1
            return
        for e in snap["stream"]:
            if e["stop"] >= self.start_time:  # events from before the block are not ours
                self.events[(e["worker"], e["key"], e["start"], e["stop"])] = e
        self.samples.append((snap["time"], snap["workers"]))
        self.groups = snap["groups"]

    def _loop(self) -> None:
        while not self._stop.wait(self.interval):
            self.poll()

    def start(self) -> None:
        self.start_time = time.time()
        self.poll()
        self._thread = threading.Thread(target=self._loop, name="shoal-performance-report",
                                        daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
        # let the last events reach the scheduler: task reports at once, transfers
        # and spills with the workers' next heartbeat
        from shoal import config

        time.sleep(float(config.get("distributed.worker.heartbeat-interval", 0.5)) + 0.1)
        self.poll()
        self.stop_time = time.time()


def build_report(events: list[dict], samples: list[tuple[float, list[dict]]], t0: float, t1: float,
                 *, title: str = "shoal performance report", code: str | None = None) -> str:
    """The report's HTML from task-stream events and worker samples (pure)."""
    events = sorted(events, key=lambda e: e["start"])
    names: dict[str, str] = {}
    for _, ws in samples:
        for w in ws:
            names[str(w["address"])] = str(w["name"])
    stream = [{"row": f'{names.get(e["worker"], e["worker"])} #{e["thread"]}',
               "start": e["start"] - t0, "stop": e["stop"] - t0, "group": e["group"],
               "key": e["key"], "kind": e.get("kind", "compute")} for e in events]
    compute = [e for e in events if e.get("kind", "compute") == "compute"]
    errors = [e for e in events if e.get("kind") == "error"]
    transfers = [e for e in events if e.get("kind") == "transfer"]
    spills = [e for e in events if e.get("kind") == "spill"]
    wall = max(t1 - t0, 1e-9)
    busy = sum(e["stop"] - e["start"] for e in compute)
    nthreads = 0
    if samples:
        nthreads = max(sum(int(w.get("nthreads", 1)) for w in ws) for _, ws in samples)
    summary = svg.table_html(
        ["", ""],
        [["duration", f"{wall:.3f} s"], ["tasks computed", len(compute)],
         ["task groups", len({e["group"] for e in compute})],
         ["errors", len(errors)], ["transfers", len(transfers)], ["spills", len(spills)],
         ["workers", max((len(ws) for _, ws in samples), default=0)], ["threads", nthreads],
         ["compute time (sum over tasks)", f"{busy:.3f} s"],
         ["thread utilisation", f"{100 * busy / (wall * nthreads):.1f} %" if nthreads else "-"]],
        cls="summary")
    if code:
        summary += f"<pre>{html.escape(code)}</pre>"

    per: dict[str, list[float]] = {}
    for e in compute:
        per.setdefault(e["group"], []).append(e["stop"] - e["start"])
    rows = []
    for g, ds in sorted(per.items(), key=lambda kv: -sum(kv[1])):
        tot = sum(ds)
        rows.append([g, len(ds), f"{tot:.4f}", f"{1000 * tot / len(ds):.3f}",
                     f"{1000 * max(ds):.3f}", f"{100 * tot / busy:.1f} %" if busy else "-"])
    colors = svg.distinct_colors(e["group"] for e in compute)
    groups = (svg.legend_html(per, colors) +
              svg.table_html(["group", "tasks", "total s", "mean ms", "max ms", "share"], rows,
                             cls="group-timings"))

    mem_series, spill_series, cpu_series = [], [], []
    addrs = sorted({str(w["address"]) for _, ws in samples for w in ws})
    for a in addrs:
        ts, mem, spilled, cpu = [], [], [], []
        for t, ws in samples:
            for w in ws:
                if str(w["address"]) == a and (w.get("memory_rss") or w["memory_managed"] or w["cpu"]):
                    ts.append(t - t0)
                    mem.append((w["memory_managed"] + w["memory_unmanaged"]) / 1e6)
                    spilled.append(w["memory_spilled"] / 1e6)
                    cpu.append(w["cpu"])
        label = names.get(a, a)
        mem_series.append((f"{label}", ts, mem))
        spill_series.append((f"{label} spilled", ts, spilled))
        cpu_series.append((label, ts, cpu))
    memory = svg.line_chart_svg(mem_series, title="Worker memory (managed + unmanaged)", unit="MB",
                                t0=0.0, t1=wall)
    if any(v for _, _, vs in spill_series for v in vs):
        memory += svg.line_chart_svg(spill_series, title="Spilled to disk", unit="MB", t0=0.0, t1=wall)
    last = samples[-1][1] if samples else []
    memory += svg.table_html(
        ["worker", "managed MB", "unmanaged MB", "spilled MB", "limit MB"],
        [[w["name"], f'{w["memory_managed"] / 1e6:.1f}', f'{w["memory_unmanaged"] / 1e6:.1f}',
          f'{w["memory_spilled"] / 1e6:.1f}',
          f'{w["memory_limit"] / 1e6:.0f}' if w["memory_limit"] else "-"] for w in last],
        cls="worker-memory")
    cpu_svg = svg.line_chart_svg(cpu_series, title="Worker CPU", unit="%", t0=0.0, t1=wall)

    sections = [
        ("summary", "Summary", summary),
        ("task-stream", "Task stream", svg.legend_html(colors, colors, (e["kind"] for e in stream)) +
         svg.task_stream_svg(stream, t0=0.0, t1=wall, title=f"{len(stream)} events", colors=colors)),
        ("group-timings", "Per-group timings", groups),
        ("worker-memory", "Worker memory", memory),
        ("worker-cpu", "Worker CPU", cpu_svg),
    ]
    meta = html.escape(f"recorded {time.strftime('%Y-%m-%d %H:%M:%S', time.localtime(t0))}, "
                       f"{wall:.2f} s")
    return svg.html_page(title, sections, meta=meta)


class performance_report:
    """Record the task stream, per-group timings and worker memory of a block to HTML.

    >>> with performance_report(filename="report.html"):
    ...     total = x.sum().compute()

    ``client`` defaults to the active Client; ``interval`` is the sampling
    period in seconds.  The file opens in any browser with no network.
    """

    def __init__(self, filename: str = "dask-report.html", *, client: Any = None,
                 interval: float = 0.25, title: str = "shoal performance report",
                 code: str | None = None):
        self.filename = os.fspath(filename)
        self.client = client
        self.interval = interval
        self.title = title
        self.code = code
        self.recorder: ReportRecorder | None = None

    def __enter__(self) -> "performance_report":
        client = self.client
        if client is None:
            from shoal.base import get_default_client

            client = get_default_client()
        if client is None:
            raise RuntimeError(
                "performance_report needs a distributed Client: create one first, e.g. "
                "`client = Client(LocalCluster())`, then `with performance_report(filename=...):`"
            )
        getter = _snapshot_getter(client)
        interval = min(self.interval, getattr(getter, "max_interval", self.interval))
        self.recorder = ReportRecorder(getter, interval)
        self.recorder.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        rec = self.recorder
        assert rec is not None
        rec.stop()
        page = build_report(list(rec.events.values()), rec.samples, rec.start_time,
                            rec.stop_time or time.time(), title=self.title, code=self.code)
        with open(self.filename, "w", encoding="utf-8") as f:
            f.write(page)

    async def __aenter__(self) -> "performance_report":
        return self.__enter__()

    async def __aexit__(self, *exc: Any) -> None:
        self.__exit__(*exc)
