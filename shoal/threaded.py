"""``import shoal.threaded``: ``get`` runs a graph on the threads scheduler."""
from shoal.local.engine import get_threads as get

__all__ = ["get"]
