"""``Queue``: a first-in first-out queue shared by every client and task of a cluster.

>>> q = Queue("jobs")
>>> q.put(1); q.put(client.submit(inc, 1))     # data or Futures
>>> q.get(), q.get().result()

Items live on the scheduler (``QueueStates``), pickled by the client that put
them; Futures inside an item are held there until a ``get`` hands them to
the reader's client.
"""
from __future__ import annotations

from typing import Any

from shoal.distributed import portable
from shoal.distributed.coordination.base import Primitive, to_timeout


class Queue(Primitive):
    kind = "queue"

    def __init__(self, name: str | None = None, client: Any = None, maxsize: int = 0):
        super().__init__(name, client)
        self.maxsize = int(maxsize)

    def put(self, value: Any, timeout: Any = None) -> None:
        """Append ``value``; with ``maxsize`` reached, wait up to ``timeout`` seconds for room."""
        data, keys = portable.dumps(value)
        self._call("put", to_timeout(timeout), data=data, keys=keys, maxsize=self.maxsize)

    def get(self, timeout: Any = None, batch: Any = False) -> Any:
        """The oldest item, waiting up to ``timeout`` seconds (``TimeoutError`` then).

        ``batch=True``: every item there now (a list, maybe empty, no waiting);
        ``batch=n``: a list of ``n`` items, waiting for them.
        """
        if batch is not False and batch is not True and int(batch) < 0:
            raise ValueError(f"batch={batch!r}: give True, False or a count >= 0")
        items = self._call("get", to_timeout(timeout), batch=batch, maxsize=self.maxsize)
        values = [portable.loads(data, keys, self.client) for data, keys in items]
        return values if batch is not False else values[0]

    def qsize(self) -> int:
        return int(self._call("qsize", maxsize=self.maxsize))

    def __reduce__(self):
        return (_rebuild, (self.name, self.maxsize))


def _rebuild(name: str, maxsize: int) -> Queue:
    return Queue(name, maxsize=maxsize)
