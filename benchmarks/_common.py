"""Measuring helpers shared by the ``bench_<area>.py`` scripts.

Each script runs standalone as ``python benchmarks/bench_<area>.py``, so
Python puts this folder first on ``sys.path`` and the scripts import this
module as ``_common``.  The leading underscore keeps it out of
``run_all.py``'s ``bench_*.py`` glob.
"""
from __future__ import annotations

import contextlib
import json
import os
import statistics
import threading
import time
from typing import Any, Callable, ContextManager

import psutil

HERE = os.path.dirname(os.path.abspath(__file__))


class PeakRSS:
    """Highest RSS while the block runs, sampled every 5 ms in a thread.

    ``children=True`` adds the RSS of this process's children (process
    pools); ``sample_at_exit=True`` takes one more sample as the block ends.
    ``mb`` is the rise over the RSS at entry, in MB.
    """

    def __init__(self, children: bool = True, sample_at_exit: bool = False) -> None:
        self.proc = psutil.Process()
        self.children = children
        self.sample_at_exit = sample_at_exit
        self._stop = threading.Event()

    def _rss(self) -> int:
        total = self.proc.memory_info().rss
        if self.children:
            for c in self.proc.children(recursive=True):
                try:
                    total += c.memory_info().rss
                except psutil.Error:  # a child that exited meanwhile
                    pass
        return total

    def __enter__(self) -> "PeakRSS":
        self.base = self.peak = self._rss()
        self._t = threading.Thread(target=self._run, daemon=True)
        self._t.start()
        return self

    def _run(self) -> None:
        while not self._stop.wait(0.005):
            self.peak = max(self.peak, self._rss())

    def __exit__(self, *exc: Any) -> None:
        self._stop.set()
        self._t.join()
        if self.sample_at_exit:
            self.peak = max(self.peak, self._rss())

    @property
    def mb(self) -> float:
        return (self.peak - self.base) / 1e6


def timed(fn: Callable[[], Any], cfg: ContextManager | None = None,
          children: bool = True) -> tuple[float, float, Any]:
    """Run ``fn()`` once inside ``cfg`` (e.g. a config context):
    ``(seconds, peak MB, result)``."""
    with cfg if cfg is not None else contextlib.nullcontext(), PeakRSS(children=children) as peak:
        t0 = time.perf_counter()
        result = fn()
        dt = time.perf_counter() - t0
    return dt, peak.mb, result


def measure_pair(dask_fn: Callable[[], Any], shoal_fn: Callable[[], Any], repeat: int,
                 dask_cfg: Callable[[], ContextManager] | None = None,
                 shoal_cfg: Callable[[], ContextManager] | None = None,
                 children: bool = True) -> tuple:
    """Alternate Dask and shoal runs so both see the same (shared, noisy) machine.

    One warm-up run each first (it also starts process pools).  ``*_cfg``
    make a fresh context manager for every run.  Returns
    ``((dask median s, max peak MB, last result), (shoal median s, max peak MB, last result))``.
    """
    def once(fn, cfg):
        return timed(fn, cfg() if cfg is not None else None, children=children)

    once(dask_fn, dask_cfg)
    once(shoal_fn, shoal_cfg)
    d, s = [], []
    for _ in range(repeat):
        d.append(once(dask_fn, dask_cfg))
        s.append(once(shoal_fn, shoal_cfg))
    return tuple((statistics.median(r[0] for r in runs), max(r[1] for r in runs), runs[-1][2])
                 for runs in (d, s))


def write_results(area: str, payload: dict, indent: int = 1) -> str:
    """Write ``payload`` to ``benchmarks/results/<area>.json``; returns the path."""
    os.makedirs(os.path.join(HERE, "results"), exist_ok=True)
    out = os.path.join(HERE, "results", f"{area}.json")
    with open(out, "w") as f:
        json.dump(payload, f, indent=indent)
    return out
