"""The scheduler's side of the coordination primitives and published datasets.

One ``CoordinationExtension`` per scheduler answers ``coord`` requests:
``{"op": "coord", "kind": ..., "action": ..., "name": ..., "timeout": ...}``.
Each kind keeps its state in its own small class (``leases.Leases`` for
Lock/Semaphore/MultiLock, ``queue.QueueStates``, ``variable.VariableStates``,
``event.EventStates``, ``pubsub.Topics``, ``datasets.Datasets``).  A request
that has to wait (an acquire, a ``get``) is a coroutine on the scheduler's
loop with its own timeout; nothing blocks the loop.

Futures stored in a value (a Variable, a Queue item, a dataset) are held by
a pseudo-client of the scheduler state machine while stored, and handed to
the reading client's references before the value leaves, so no result is
freed in between.  When a client disconnects its locks and leases are
released, its waiting requests dropped and its subscriptions ended.
"""
from __future__ import annotations

import asyncio
import itertools
import logging
from typing import Any

logger = logging.getLogger("shoal.distributed.coordination")


class CoordinationExtension:
    """Routes ``coord`` requests to the state of each kind; see the module docstring."""

    def __init__(self, server: Any):
        from shoal.distributed.coordination.datasets import Datasets
        from shoal.distributed.coordination.event import EventStates
        from shoal.distributed.coordination.leases import Leases
        from shoal.distributed.coordination.pubsub import Topics
        from shoal.distributed.coordination.queue import QueueStates
        from shoal.distributed.coordination.variable import VariableStates

        self.server = server
        self._seq = itertools.count()
        self.kinds = {"lease": Leases(self), "queue": QueueStates(self), "variable": VariableStates(self),
                      "event": EventStates(self), "pubsub": Topics(self), "dataset": Datasets(self)}
        self.handlers = {"coord": self.handle}

    # ---- requests ------------------------------------------------------
    def handle(self, comm: Any, msg: dict) -> None:
        cid = self.server._client(comm)
        asyncio.get_running_loop().create_task(self._answer(comm, cid, msg))

    async def _answer(self, comm: Any, cid: str, msg: dict) -> None:
        try:
            kind = self.kinds[msg["kind"]]
            result = (True, await kind.handle(msg["action"], cid, msg))
        except (asyncio.TimeoutError, TimeoutError) as e:
            result = (False, ("TimeoutError", str(e) or f"{msg.get('kind')} {msg.get('action')} timed out"))
        except Exception as e:
            result = (False, (type(e).__name__, str(e)))
        if msg.get("rid") is not None:
            self.server._reply(comm, msg, result)

    def client_gone(self, cid: str) -> None:
        for kind in self.kinds.values():
            kind.client_gone(cid)

    # ---- Futures inside stored values ------------------------------------
    def hold(self, keys: list) -> str | None:
        """Keep ``keys`` alive under a new pseudo-client; its id (None for no keys)."""
        if not keys:
            return None
        pid = f"coordination-hold-{next(self._seq)}"
        state = self.server.state
        self.server._route(state.update_graph(pid, [], [], [], [], wanted=list(keys)))
        return pid

    def give(self, cid: str, keys: list) -> None:
        """Count ``cid`` as wanting ``keys`` (it is about to hold Futures to them)."""
        if keys:
            self.server._route(self.server.state.update_graph(cid, [], [], [], [], wanted=list(keys)))

    def drop(self, pid: str | None) -> None:
        if pid is not None:
            self.server._route(self.server.state.remove_client(pid))


async def wait_until(cond: asyncio.Condition, predicate: Any, timeout: float | None, what: str) -> None:
    """Wait (holding ``cond``) until ``predicate()``; ``TimeoutError`` naming ``what`` after ``timeout``."""
    if predicate():
        return
    try:
        await asyncio.wait_for(cond.wait_for(predicate), timeout)
    except (asyncio.TimeoutError, TimeoutError):
        raise TimeoutError(f"{what} timed out after {timeout:g}s") from None
