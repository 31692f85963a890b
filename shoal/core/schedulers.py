"""Scheduler names users may write, and what each one stands for.

This table sits on the ground floor so that ``shoal.config`` can check a
name in ``config.set(scheduler=...)`` without importing any scheduler;
``shoal.local.registry`` maps the canonical names to ``get`` functions.
"""
from __future__ import annotations

from typing import Any

__all__ = ["ALIASES", "validate_scheduler_name"]

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


def validate_scheduler_name(name: Any) -> Any:
    """Canonical name for ``name``; ValueError listing the valid names otherwise.

    Anything that is not a string (a ``get`` function, a Client, an
    Executor) is returned as it is and checked where it is used.
    """
    if not isinstance(name, str):
        return name
    canon = ALIASES.get(name.lower())
    if canon is None:
        valid = ", ".join(repr(n) for n in ALIASES)
        raise ValueError(f"unknown scheduler {name!r}; expected one of {valid}")
    return canon
