"""``secede`` and ``rejoin``: a task that waits on other tasks gives its thread back meanwhile.

>>> def parent():
...     client = get_client()
...     futures = client.map(inc, range(10))
...     secede()                 # this thread no longer counts against the worker's threads
...     total = sum(client.gather(futures))
...     rejoin()                 # count it again
...     return total

Without ``secede`` a worker whose every thread runs such a task would wait
forever for tasks that have no thread to run on.
"""
from __future__ import annotations

import threading

_state = threading.local()


def secede() -> None:
    """Inside a task: stop counting this thread against the worker's thread count."""
    from shoal.distributed.worker.server import get_worker

    w = get_worker()
    if getattr(_state, "seceded", False):
        return
    w.secede()
    _state.seceded = True


def rejoin() -> None:
    """Inside a task that seceded: count this thread against the thread count again."""
    if not getattr(_state, "seceded", False):
        return
    from shoal.distributed.worker.server import get_worker

    _state.seceded = False
    get_worker().rejoin()
