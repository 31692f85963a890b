"""Scheduler names and the ``get`` function each one stands for.

A scheduler is any callable ``get(graph, keys, **kwargs) -> list`` where
``graph`` is a plain dict of nodes (see ``shoal.core.task``), ``keys`` a flat
list of keys, and the result the list of their values in the same order.
Keyword arguments every ``get`` accepts: ``dependencies`` (the
``{key: deps}`` dict, if the caller already has it), ``num_workers``,
``seed`` (run-wide random seed) and ``callbacks``; unknown keywords are
ignored so a user's ``compute(..., foo=1)`` reaches a scheduler that knows it.
"""
from __future__ import annotations

from typing import Callable

ALIASES = {
    "sync": "sync",
    "synchronous": "sync",
    "single-threaded": "sync",
    "threads": "threads",
    "threading": "threads",
    "processes": "processes",
    "multiprocessing": "processes",
    "distributed": "distributed",
}


def validate_scheduler_name(name: str) -> str:
    """Canonical name for ``name``; ValueError listing valid names otherwise."""
    if not isinstance(name, str):
        return name  # a get function, Client or Executor; checked when used
    canon = ALIASES.get(name.lower())
    if canon is None:
        valid = ", ".join(repr(n) for n in ALIASES)
        raise ValueError(f"unknown scheduler {name!r}; expected one of {valid}")
    return canon


def get_function(name: str) -> Callable:
    """The ``get`` function for a canonical local scheduler name."""
    if name == "sync":
        from shoal.local.engine import get_sync

        return get_sync
    if name == "threads":
        from shoal.local.engine import get_threads

        return get_threads
    if name == "processes":
        from shoal.local.engine import get_processes

        return get_processes
    raise ValueError(f"no local scheduler named {name!r}")
