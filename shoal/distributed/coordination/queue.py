"""``Queue``: a first-in first-out queue shared by every client and task of a cluster.

>>> q = Queue("jobs")
>>> q.put(1); q.put(client.submit(inc, 1))     # data or Futures
>>> q.get(), q.get().result()

Items live on the scheduler (``QueueStates``), pickled by the client that put
them; Futures inside an item are held there until a ``get`` hands them to
the reader's client.
"""
from __future__ import annotations

import asyncio
import collections
from typing import Any

from shoal.distributed.coordination import portable
from shoal.distributed.coordination.base import Primitive, to_timeout
from shoal.distributed.coordination.extension import wait_until


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


class _Q:
    __slots__ = ("items", "cond", "users")

    def __init__(self) -> None:
        self.items: collections.deque = collections.deque()   # (data, keys, hold id)
        self.cond = asyncio.Condition()
        self.users = 0


class QueueStates:
    """Scheduler side: one deque per name; an empty queue nobody waits on is forgotten."""

    def __init__(self, ext: Any):
        self.ext = ext
        self.queues: dict = {}

    async def handle(self, action: str, cid: str, msg: dict) -> Any:
        name = msg["name"]
        q = self.queues.get(name)
        if q is None:
            q = self.queues[name] = _Q()
        q.users += 1
        try:
            return await self._do(q, action, cid, msg)
        finally:
            q.users -= 1
            if not q.items and not q.users and self.queues.get(name) is q:
                del self.queues[name]

    async def _do(self, q: _Q, action: str, cid: str, msg: dict) -> Any:
        maxsize = int(msg.get("maxsize") or 0)
        timeout = msg.get("timeout")
        async with q.cond:
            if action == "qsize":
                return len(q.items)
            if action == "put":
                if maxsize:
                    await wait_until(q.cond, lambda: len(q.items) < maxsize, timeout, f"put on full queue {msg['name']!r}")
                q.items.append((msg["data"], msg["keys"], self.ext.hold(msg["keys"])))
                q.cond.notify_all()
                return None
            if action == "get":
                batch = msg.get("batch", False)
                if batch is True:
                    n = len(q.items)
                else:
                    n = 1 if batch is False else int(batch)
                    await wait_until(q.cond, lambda: len(q.items) >= n, timeout, f"get from queue {msg['name']!r}")
                out = []
                for _ in range(n):
                    data, keys, pid = q.items.popleft()
                    self.ext.give(cid, keys)
                    self.ext.drop(pid)
                    out.append((data, keys))
                q.cond.notify_all()
                return out
        raise ValueError(f"unknown queue action {action!r}")

    def client_gone(self, cid: str) -> None:
        pass  # items outlive the client that put them, as in a queue of messages
