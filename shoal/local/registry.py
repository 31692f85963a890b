"""Scheduler names and the ``get`` function each one stands for.

A scheduler is any callable ``get(graph, keys, **kwargs)`` where ``graph``
is a dict of nodes (see ``shoal.core.task``; hand-written graphs may use
the classic tuple spec, see ``shoal.core.spec``).  Keyword arguments every
``get`` accepts: ``dependencies`` (the ``{key: deps}`` dict, if the caller
already has it, in which case ``keys`` is a flat list and so is the result),
``num_workers``, ``seed`` (run-wide random seed), ``callbacks`` and
``cache``; unknown keywords are ignored so a user's ``compute(..., foo=1)``
reaches a scheduler that knows it.

Each name maps to ``"module:function"`` and is imported on first use, so
naming a scheduler never loads the others.
"""
from __future__ import annotations

import importlib
from typing import Callable

from shoal.core.schedulers import ALIASES, validate_scheduler_name

__all__ = ["ALIASES", "validate_scheduler_name", "get_function", "LOCAL_SCHEDULERS"]

LOCAL_SCHEDULERS = {
    "sync": "shoal.local.engine:get_sync",
    "threads": "shoal.local.engine:get_threads",
    "processes": "shoal.local.processes:get_processes",
}


def get_function(name: str) -> Callable:
    """The ``get`` function for a canonical local scheduler name."""
    where = LOCAL_SCHEDULERS.get(name)
    if where is None:
        raise ValueError(f"no local scheduler named {name!r}; local ones are {sorted(LOCAL_SCHEDULERS)}")
    module, func = where.split(":")
    return getattr(importlib.import_module(module), func)
