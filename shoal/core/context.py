"""Which task is running on this thread, and under which run-wide seed.

Every executor (sync, threads, processes, distributed workers) calls
``set_task(key, seed)`` before a task and ``clear_task()`` after it, so code
inside a task can ask for its own key (``shoal.random.task_rng`` derives a
reproducible stream from it).  A thread-local keeps this O(1) and safe for
thread pools.
"""
from __future__ import annotations

import threading
from typing import Any, Hashable

_local = threading.local()


def set_task(key: Hashable, seed: Any = None) -> None:
    _local.key = key
    _local.seed = seed
    _local.rng = None  # a (re-)run task starts its random stream afresh


def clear_task() -> None:
    _local.key = None
    _local.seed = None
    _local.rng = None


def get_task_rng() -> Any:
    """The (key, seed, Generator) cached by ``shoal.random.task_rng``, or None."""
    return getattr(_local, "rng", None)


def set_task_rng(entry: Any) -> None:
    _local.rng = entry


def current_task_key() -> Hashable | None:
    """Key of the task running on this thread, or None outside a task."""
    return getattr(_local, "key", None)


def current_seed() -> Any:
    """Run-wide seed given to ``compute(..., seed=)`` for the current task."""
    return getattr(_local, "seed", None)
