"""shoal: parallel computing for Python, from one core to a cluster.

``import shoal as dask`` runs code written for the tutorial's API.
"""
from __future__ import annotations

__version__ = "0.1.0"

from shoal import config
from shoal.base import (annotate, compute, get, is_dask_collection, is_lazy, is_shoal_collection, optimize,
                        persist, visualize)
from shoal.core.tokenize import tokenize
from shoal.delayed import Delayed, delayed

__all__ = [
    "__version__",
    "config",
    "compute",
    "get",
    "persist",
    "visualize",
    "delayed",
    "Delayed",
    "tokenize",
    "is_lazy",
    "is_shoal_collection",
    "is_dask_collection",
    "optimize",
    "annotate",
]

_SUBMODULES = {"array", "bag", "dataframe", "datasets", "diagnostics", "distributed", "local",
               "multiprocessing", "random", "threaded", "utils"}


def __getattr__(name: str):
    # ``shoal.threaded.get`` and friends work after a plain ``import shoal``
    if name in _SUBMODULES:
        import importlib

        return importlib.import_module(f"shoal.{name}")
    raise AttributeError(f"module 'shoal' has no attribute {name!r}")
