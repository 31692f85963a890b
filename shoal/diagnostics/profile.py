"""Profilers for the local schedulers, and their plots.

``Profiler`` records, per task, when it started and ended and on which
worker; ``ResourceProfiler`` samples the CPU and memory of this process and
its children in a background thread (psutil); ``CacheProfiler`` records how
long each intermediate result is held and what it costs (``nbytes`` by
default).  All three are local-scheduler callbacks::

    with Profiler() as prof, ResourceProfiler(dt=0.25) as rprof:
        x.compute()
    visualize([prof, rprof], filename="profile.html")

Plots are a self-contained HTML page (inline SVG, no network) or, for a
``.png``/``.pdf``/``.svg`` filename, a matplotlib figure.
"""
from __future__ import annotations

import os
import threading
import time
from typing import Any, Callable, Hashable, NamedTuple, Sequence

from shoal.utils import key_split
from shoal.diagnostics import svg
from shoal.local.callbacks import Callback

__all__ = ["Profiler", "ResourceProfiler", "CacheProfiler", "TaskData", "ResourceData",
           "CacheData", "visualize"]


class TaskData(NamedTuple):
    key: Hashable
    task: Any
    start_time: float
    end_time: float
    worker_id: Any


class ResourceData(NamedTuple):
    time: float
    mem: float  # MB (resident set size)
    cpu: float  # percent of one core, summed over the process tree


class CacheData(NamedTuple):
    key: Hashable
    task: Any
    metric: float
    cache_time: float
    free_time: float


class Profiler(Callback):
    """Start, end and worker of every task, in ``.results`` (a list of ``TaskData``)."""

    def __init__(self) -> None:
        super().__init__()
        self.results: list[TaskData] = []
        self._starts: dict = {}
        self._graph: Any = None
        self.start_time: float | None = None
        self.end_time: float | None = None

    def __enter__(self) -> "Profiler":
        self.clear()
        return super().__enter__()

    def start(self, graph: Any) -> None:
        self._graph = graph
        if self.start_time is None:
            self.start_time = time.time()

    def pretask(self, key: Hashable, graph: Any, state: Any) -> None:
        self._starts[key] = time.time()

    def posttask(self, key: Hashable, result: Any, graph: Any, state: Any, worker_id: Any) -> None:
        end = time.time()
        start = self._starts.pop(key, end)
        self.results.append(TaskData(key, graph.get(key) if hasattr(graph, "get") else None,
                                     start, end, worker_id))

    def finish(self, graph: Any, state: Any, errored: bool) -> None:
        self.end_time = time.time()
        self._starts.clear()

    def clear(self) -> None:
        self.results = []
        self._starts = {}
        self.start_time = self.end_time = None

    def events(self) -> list[dict]:
        return [{"row": f"worker {r.worker_id}", "start": r.start_time, "stop": r.end_time,
                 "group": key_split(r.key), "key": str(r.key)} for r in self.results]

    def visualize(self, filename: str = "profile.html", **kwargs: Any) -> str:
        return visualize([self], filename=filename, **kwargs)


def _process_tree_sample(proc: Any, children: dict) -> tuple[float, float]:
    import psutil

    mem = 0.0
    cpu = 0.0
    procs = [proc]
    try:
        procs += proc.children(recursive=True)
    except psutil.Error:
        pass
    for p in procs:
        try:
            # keep Process objects so cpu_percent measures since the last sample
            p = children.setdefault(p.pid, p)
            with p.oneshot():
                mem += p.memory_info().rss
                cpu += p.cpu_percent()
        except psutil.Error:
            children.pop(p.pid, None)
    return mem / 1e6, cpu


class ResourceProfiler(Callback):
    """CPU (%) and memory (MB) of this process and its children every ``dt`` seconds.

    Samples are taken by a background thread from the first computation
    started while it is active until the ``with`` block ends (or
    ``.close()``); ``.results`` is a list of ``ResourceData``.
    """

    def __init__(self, dt: float = 1.0) -> None:
        super().__init__()
        self.dt = dt
        self.results: list[ResourceData] = []
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._entered = False

    def _sample_loop(self) -> None:
        import psutil

        proc = psutil.Process(os.getpid())
        known: dict = {}
        _process_tree_sample(proc, known)  # primes cpu_percent
        while True:
            mem, cpu = _process_tree_sample(proc, known)
            with self._lock:
                self.results.append(ResourceData(time.time(), mem, cpu))
            if self._stop.wait(self.dt):
                break

    def _start_sampling(self) -> None:
        if self._thread is None:
            self._stop.clear()
            self._thread = threading.Thread(target=self._sample_loop, name="shoal-resource-profiler",
                                            daemon=True)
            self._thread.start()

    def _stop_sampling(self) -> None:
        if self._thread is not None:
            self._stop.set()
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> "ResourceProfiler":
        self.clear()
        self._entered = True
        self._start_sampling()
        return super().__enter__()

    def __exit__(self, *exc: Any) -> None:
        self._entered = False
        self._stop_sampling()
        return super().__exit__(*exc)

    def start(self, graph: Any) -> None:
        self._start_sampling()

    def finish(self, graph: Any, state: Any, errored: bool) -> None:
        if not self._entered:  # registered globally: sample per computation
            self._stop_sampling()

    def close(self) -> None:
        self._stop_sampling()

    def clear(self) -> None:
        with self._lock:
            self.results = []

    def visualize(self, filename: str = "profile.html", **kwargs: Any) -> str:
        return visualize([self], filename=filename, **kwargs)


def _default_metric(value: Any) -> float:
    n = getattr(value, "nbytes", None)
    if isinstance(n, (int, float)):
        return float(n)
    try:
        return float(value.memory_usage(deep=True).sum())  # pandas
    except Exception:
        import sys

        return float(sys.getsizeof(value))


class CacheProfiler(Callback):
    """How long each result stays held and what it costs.

    A result is held from its task's end until its last dependent has run
    (the local engine releases it then) or, for requested outputs, until the
    computation ends.  ``metric(value)`` gives the cost (default: bytes);
    ``metric_name`` labels the plot.  ``.results`` is a list of ``CacheData``.
    """

    def __init__(self, metric: Callable[[Any], float] | None = None,
                 metric_name: str | None = None) -> None:
        super().__init__()
        self._metric = metric or _default_metric
        self.metric_name = metric_name or (getattr(metric, "__name__", "metric") if metric else "bytes")
        self.results: list[CacheData] = []
        self._held: dict = {}
        self._waiting: dict = {}
        self._deps: dict = {}

    def __enter__(self) -> "CacheProfiler":
        self.clear()
        return super().__enter__()

    def start(self, graph: Any) -> None:
        from shoal.core.task import deps_of

        self._deps = {k: deps_of(v) for k, v in graph.items()}
        waiting: dict = {}
        for k, ds in self._deps.items():
            for d in ds:
                waiting[d] = waiting.get(d, 0) + 1
        self._waiting = waiting

    def posttask(self, key: Hashable, result: Any, graph: Any, state: Any, worker_id: Any) -> None:
        now = time.time()
        self._held[key] = (self._metric(result), now, graph.get(key) if hasattr(graph, "get") else None)
        for d in self._deps.get(key, ()):
            left = self._waiting.get(d, 0) - 1
            self._waiting[d] = left
            if left <= 0 and d in self._held:
                metric, t, task = self._held.pop(d)
                self.results.append(CacheData(d, task, metric, t, now))

    def finish(self, graph: Any, state: Any, errored: bool) -> None:
        now = time.time()
        for k, (metric, t, task) in self._held.items():
            self.results.append(CacheData(k, task, metric, t, now))
        self._held.clear()

    def clear(self) -> None:
        self.results = []
        self._held = {}

    def visualize(self, filename: str = "profile.html", **kwargs: Any) -> str:
        return visualize([self], filename=filename, **kwargs)


# ---------------------------------------------------------------- plotting

def _time_range(profilers: Sequence[Any]) -> tuple[float, float]:
    ts: list[float] = []
    for p in profilers:
        if isinstance(p, Profiler):
            ts += [r.start_time for r in p.results] + [r.end_time for r in p.results]
        elif isinstance(p, ResourceProfiler):
            ts += [r.time for r in p.results]
        elif isinstance(p, CacheProfiler):
            ts += [r.cache_time for r in p.results] + [r.free_time for r in p.results]
    if not ts:
        return 0.0, 1.0
    return min(ts), max(ts)


def _cache_series(p: CacheProfiler, t0: float) -> tuple[list[float], list[float]]:
    changes: list[tuple[float, float]] = []
    for r in p.results:
        changes.append((r.cache_time, r.metric))
        changes.append((r.free_time, -r.metric))
    changes.sort()
    ts, vs, total = [], [], 0.0
    for t, d in changes:
        total += d
        ts.append(t - t0)
        vs.append(max(total, 0.0))
    return ts, vs


def _sections(profilers: Sequence[Any], width: int) -> list[tuple[str, str, str]]:
    t0, t1 = _time_range(profilers)
    out = []
    for p in profilers:
        if isinstance(p, Profiler):
            evs = p.events()
            for e in evs:
                e["start"] -= t0
                e["stop"] -= t0
            colors = svg.distinct_colors(e["group"] for e in evs)
            inner = svg.legend_html(colors, colors) + svg.task_stream_svg(
                evs, width=width, t0=0.0, t1=t1 - t0, title=f"{len(evs)} tasks", colors=colors)
            out.append(("profiler", "Task profile", inner))
        elif isinstance(p, ResourceProfiler):
            ts = [r.time - t0 for r in p.results]
            out.append(("resource-memory", "Memory", svg.line_chart_svg(
                [("memory", ts, [r.mem for r in p.results])], title="Memory (resident)", unit="MB",
                width=width, t0=0.0, t1=t1 - t0)))
            out.append(("resource-cpu", "CPU", svg.line_chart_svg(
                [("cpu", ts, [r.cpu for r in p.results])], title="CPU", unit="%",
                width=width, t0=0.0, t1=t1 - t0)))
        elif isinstance(p, CacheProfiler):
            ts, vs = _cache_series(p, t0)
            out.append(("cache", "Cache", svg.line_chart_svg(
                [(p.metric_name, ts, vs)], title=f"Held results ({p.metric_name})",
                width=width, t0=0.0, t1=t1 - t0, step=True)))
        else:
            raise TypeError(f"cannot plot {type(p).__name__}; expected Profiler, ResourceProfiler "
                            "or CacheProfiler objects, e.g. visualize([prof, rprof])")
    return out


def _png(profilers: Sequence[Any], filename: str) -> None:
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    t0, _ = _time_range(profilers)
    n = sum(2 if isinstance(p, ResourceProfiler) else 1 for p in profilers)
    fig, axes = plt.subplots(n, 1, figsize=(10, 2.6 * n), sharex=True, squeeze=False)
    i = 0
    for p in profilers:
        if isinstance(p, Profiler):
            ax = axes[i, 0]
            rows = sorted({str(r.worker_id) for r in p.results})
            idx = {r: j for j, r in enumerate(rows)}
            colors = svg.distinct_colors(key_split(r.key) for r in p.results)
            for r in p.results:
                ax.barh(idx[str(r.worker_id)], r.end_time - r.start_time, left=r.start_time - t0,
                        color=colors[key_split(r.key)], height=0.8)
            ax.set_yticks(range(len(rows)), [f"worker {r}" for r in rows])
            ax.set_title("Task profile")
            i += 1
        elif isinstance(p, ResourceProfiler):
            ts = [r.time - t0 for r in p.results]
            axes[i, 0].plot(ts, [r.mem for r in p.results])
            axes[i, 0].set_ylabel("MB")
            axes[i, 0].set_title("Memory")
            axes[i + 1, 0].plot(ts, [r.cpu for r in p.results])
            axes[i + 1, 0].set_ylabel("%")
            axes[i + 1, 0].set_title("CPU")
            i += 2
        elif isinstance(p, CacheProfiler):
            ts, vs = _cache_series(p, t0)
            axes[i, 0].step(ts, vs, where="post")
            axes[i, 0].set_title(f"Held results ({p.metric_name})")
            i += 1
    axes[-1, 0].set_xlabel("seconds")
    fig.tight_layout()
    fig.savefig(filename)
    plt.close(fig)


def visualize(profilers: Any, filename: str = "profile.html", *, width: int = 900,
              title: str = "shoal profile", show: bool = False) -> str:
    """Plot one profiler or a list of them on one time axis; returns the filename.

    ``.html`` (default) writes a self-contained page; ``.png``, ``.pdf`` or
    ``.svg`` write a matplotlib figure.
    """
    if not isinstance(profilers, (list, tuple)):
        profilers = [profilers]
    ext = os.path.splitext(filename)[1].lower()
    if ext in (".png", ".pdf", ".svg", ".jpg", ".jpeg"):
        _png(profilers, filename)
    else:
        page = svg.html_page(title, _sections(profilers, width))
        with open(filename, "w", encoding="utf-8") as f:
            f.write(page)
    if show:
        import webbrowser

        webbrowser.open("file://" + os.path.abspath(filename))
    return filename
