"""Local schedulers: sync, threads and processes over one shared engine.

``get_sync`` runs a graph in the calling thread (``shoal.threaded.get`` and
``shoal.multiprocessing.get`` are the parallel ones).  It is imported on
first use, so importing a module of this package loads no engine.
"""
from __future__ import annotations

from typing import Any

__all__ = ["get_sync"]


def __getattr__(name: str) -> Any:
    if name == "get_sync":
        from shoal.local.engine import get_sync

        return get_sync
    raise AttributeError(f"module 'shoal.local' has no attribute {name!r}")
