"""Local schedulers: sync, threads and processes over one shared engine.

``get_sync`` runs a graph in the calling thread (``shoal.threaded.get`` and
``shoal.multiprocessing.get`` are the parallel ones).
"""
from shoal.local.engine import get_sync

__all__ = ["get_sync"]
