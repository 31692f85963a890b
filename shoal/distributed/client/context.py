"""Which Client to use: open clients, the default one, the one inside a task.

``current_client`` is the most recently opened Client still open;
``get_client`` inside a task returns a Client of the worker's own (one per
scheduler per process); ``worker_client`` is that Client with the task's
thread seceded.  ``Client()`` with no address starts the cluster class the
deployment layer registered (``register_local_cluster``).
"""
from __future__ import annotations

import atexit
import threading
import time
from contextlib import contextmanager
from typing import Any

from shoal.base import get_default_client

_open_clients: list = []
_open_lock = threading.Lock()


# ``Client()`` without an address starts a local cluster.  The deployment layer,
# which stands above this module, registers the class to start when it is
# imported (``shoal.distributed`` imports it before any Client can exist).
_local_cluster_class: Any = None


def register_local_cluster(cls: Any) -> None:
    """Make ``cls(**kwargs)`` the cluster that ``Client(**kwargs)`` starts when given no address."""
    global _local_cluster_class
    _local_cluster_class = cls


def current_client() -> "Any":
    """The most recently opened Client that is still open (for ``scheduler='distributed'``)."""
    with _open_lock:
        return _open_clients[-1] if _open_clients else None


_worker_clients: dict = {}


def get_client() -> Any:
    """The Client to use here: inside a task, one bound to the worker's scheduler."""
    try:
        from shoal.distributed.worker.server import get_worker

        w = get_worker()
    except (ImportError, ValueError):
        w = None
    if w is not None:
        from shoal.distributed.client.core import Client

        c = _worker_clients.get(w.scheduler_address)
        if c is None or c.status != "running":
            c = Client(w.scheduler_address, security=w.security, set_as_default=False)
            _worker_clients[w.scheduler_address] = c
        return c
    c = get_default_client() or current_client()
    if c is None:
        raise ValueError("no Client is open: start one with `client = Client()`")
    return c


class get_task_stream:
    """Record the tasks run while the block runs: ``ts.data`` lists their events.

    >>> with get_task_stream() as ts:
    ...     client.gather(client.map(inc, range(10)))
    >>> len(ts.data)
    10
    """

    def __init__(self, client: Any = None, plot: bool = False, **kwargs: Any):
        self.client = client
        self.data: list = []
        self._start = 0.0

    def __enter__(self) -> "get_task_stream":
        self.client = self.client or get_client()
        self._start = time.time()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.data.extend(self.client.get_task_stream(start=self._start))


@contextmanager
def worker_client():
    """Inside a task: a Client for submitting more tasks, with this task's thread seceded.

    >>> def fib(n):
    ...     with worker_client() as c:
    ...         return sum(c.gather([c.submit(fib, n - 1), c.submit(fib, n - 2)]))
    """
    from shoal.distributed.worker.server import get_worker

    w = get_worker()
    w.secede()
    try:
        yield get_client()
    finally:
        w.rejoin()


def _close_all() -> None:
    with _open_lock:
        clients = list(_open_clients)
    for c in reversed(clients):
        try:
            c.close(timeout=2)
        except Exception:
            pass


atexit.register(_close_all)
