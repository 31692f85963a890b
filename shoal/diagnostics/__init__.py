"""Seeing the work: task-graph pictures, progress bars and profilers.

Local schedulers: ``ProgressBar``, ``Profiler``, ``ResourceProfiler`` and
``CacheProfiler`` are callbacks (``with ProgressBar(): x.compute()`` or
``.register()``); ``visualize([prof, rprof], filename="profile.html")``
plots profiles on one time axis.  The distributed runtime's ``progress``
and ``performance_report`` are re-exported by ``shoal.distributed``.
"""
from __future__ import annotations

from shoal.diagnostics.graphviz import draw, to_graphviz
from shoal.diagnostics.profile import (CacheData, CacheProfiler, Profiler, ResourceData,
                                       ResourceProfiler, TaskData, visualize)
from shoal.diagnostics.progress import ProgressBar, progress

__all__ = [
    "ProgressBar",
    "progress",
    "Profiler",
    "ResourceProfiler",
    "CacheProfiler",
    "TaskData",
    "ResourceData",
    "CacheData",
    "visualize",
    "draw",
    "to_graphviz",
]
