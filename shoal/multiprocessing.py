"""``import shoal.multiprocessing`` (the tutorial imports ``dask.multiprocessing``).

``get`` runs a graph on the processes scheduler; naming the scheduler in
``config.set(scheduler='processes')`` is the usual way to choose it.
"""
from shoal.local.processes import get_processes as get

__all__ = ["get"]
