"""The scheduler's side of the coordination primitives and published datasets.

One ``CoordinationExtension`` per scheduler answers ``coord`` requests:
``{"op": "coord", "kind": ..., "action": ..., "name": ..., "timeout": ...}``.
Each kind keeps its state in its own small class: ``Leases`` (Lock,
Semaphore, MultiLock), ``QueueStates``, ``VariableStates``, ``EventStates``,
``Topics`` (Pub/Sub) and ``Datasets``.  A request that has to wait (an
acquire, a ``get``) is a coroutine on the scheduler's loop with its own
timeout; nothing blocks the loop.  The client side of each primitive is in
``shoal.distributed.coordination``.

Leases: a pool (one per name) grants at most ``max_leases`` leases at once.
An acquire names one or more pools and how many of them it needs (a Lock or
a Semaphore: one pool; a MultiLock: several, all or ``num_locks`` of them)
and gets them all at once or waits, first come first served, until they are
free or its timeout passes.

Futures stored in a value (a Variable, a Queue item, a dataset) are held by
a pseudo-client of the scheduler state machine while stored, and handed to
the reading client's references before the value leaves, so no result is
freed in between.  When a client disconnects its locks and leases are
released, its waiting requests dropped and its subscriptions ended; queued
items, variables and datasets outlive it.
"""
from __future__ import annotations

import asyncio
import collections
import itertools
import logging
from typing import Any

logger = logging.getLogger("shoal.distributed.scheduler")


class CoordinationExtension:
    """Routes ``coord`` requests to the state of each kind; see the module docstring."""

    def __init__(self, server: Any):
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


class _Pool:
    __slots__ = ("max_leases", "holders")

    def __init__(self, max_leases: int):
        self.max_leases = max_leases
        self.holders: dict = {}  # lease id -> client id


class Leases:
    def __init__(self, ext: Any):
        self.ext = ext
        self.pools: dict = {}
        self.granted: dict = {}   # lease id -> names it holds
        self.waiters: list = []   # [lease, cid, names, need, future], in arrival order

    async def handle(self, action: str, cid: str, msg: dict) -> Any:
        names = msg.get("names") or [msg["name"]]
        if action == "acquire":
            return await self._acquire(cid, msg["lease"], names, int(msg.get("need") or len(names)),
                                       int(msg.get("max_leases", 1)), msg.get("blocking", True), msg.get("timeout"))
        if action == "release":
            return self._release(msg["lease"], names)
        if action == "value":
            pool = self.pools.get(names[0])
            return len(pool.holders) if pool is not None else 0
        raise ValueError(f"unknown lease action {action!r}")

    async def _acquire(self, cid: str, lease: str, names: list, need: int, max_leases: int,
                       blocking: bool, timeout: float | None) -> bool:
        for n in names:
            pool = self.pools.get(n)
            if pool is None:
                self.pools[n] = _Pool(max_leases)
            elif pool.max_leases != max_leases:
                raise ValueError(f"{n!r} already exists with max_leases={pool.max_leases}, "
                                 f"not {max_leases}: use one value for one name")
        queued = any(set(e[2]) & set(names) for e in self.waiters)  # first come, first served
        if not queued and self._try(lease, cid, names, need):
            return True
        if not blocking or timeout == 0:
            self._tidy(names)
            return False
        fut = asyncio.get_running_loop().create_future()
        entry = [lease, cid, names, need, fut]
        self.waiters.append(entry)
        await asyncio.wait({fut}, timeout=timeout)
        if fut.done() and not fut.cancelled():
            return True
        if entry in self.waiters:
            self.waiters.remove(entry)
        fut.cancel()
        self._tidy(names)
        return False

    def _try(self, lease: str, cid: str, names: list, need: int) -> bool:
        free = [n for n in names if len(self.pools[n].holders) < self.pools[n].max_leases
                and lease not in self.pools[n].holders]
        if len(free) < need:
            return False
        take = free[:need]
        for n in take:
            self.pools[n].holders[lease] = cid
        self.granted[lease] = take
        return True

    def _grant(self) -> None:
        """Give freed leases to waiters in arrival order (a waiter that cannot be served yet
        does not block later ones that can)."""
        for entry in list(self.waiters):
            lease, cid, names, need, fut = entry
            if fut.done():
                self.waiters.remove(entry)
            elif self._try(lease, cid, names, need):
                self.waiters.remove(entry)
                fut.set_result(True)

    def _release(self, lease: str, names: list) -> bool:
        held = self.granted.pop(lease, None)
        if held is None:
            raise RuntimeError(f"released {names[0]!r} without holding it: acquire() first "
                               "(each acquire is released once)")
        for n in held:
            self.pools[n].holders.pop(lease, None)
        self._grant()
        self._tidy(held)
        return True

    def _tidy(self, names: list) -> None:
        waited = {n for e in self.waiters for n in e[2]}
        for n in names:
            pool = self.pools.get(n)
            if pool is not None and not pool.holders and n not in waited:
                del self.pools[n]

    def client_gone(self, cid: str) -> None:
        for entry in [e for e in self.waiters if e[1] == cid]:
            self.waiters.remove(entry)
            entry[4].cancel()
        gone = [lease for lease, names in self.granted.items()
                if any(self.pools[n].holders.get(lease) == cid for n in names)]
        touched: list = []
        for lease in gone:
            for n in self.granted.pop(lease):
                self.pools[n].holders.pop(lease, None)
                touched.append(n)
        if gone:
            self._grant()
        self._tidy(touched)


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


class _V:
    __slots__ = ("value", "cond", "users")

    def __init__(self) -> None:
        self.value: tuple | None = None   # (data, keys, hold id)
        self.cond = asyncio.Condition()
        self.users = 0


class VariableStates:
    def __init__(self, ext: Any):
        self.ext = ext
        self.vars: dict = {}

    async def handle(self, action: str, cid: str, msg: dict) -> Any:
        name = msg["name"]
        v = self.vars.get(name)
        if v is None:
            v = self.vars[name] = _V()
        v.users += 1
        try:
            async with v.cond:
                if action == "set":
                    old, v.value = v.value, (msg["data"], msg["keys"], self.ext.hold(msg["keys"]))
                    if old is not None:
                        self.ext.drop(old[2])
                    v.cond.notify_all()
                    return None
                if action == "get":
                    await wait_until(v.cond, lambda: v.value is not None, msg.get("timeout"),
                                     f"get of variable {name!r}")
                    data, keys, _ = v.value
                    self.ext.give(cid, keys)
                    return data, keys
                if action == "delete":
                    if v.value is not None:
                        self.ext.drop(v.value[2])
                        v.value = None
                    return None
            raise ValueError(f"unknown variable action {action!r}")
        finally:
            v.users -= 1
            if v.value is None and not v.users and self.vars.get(name) is v:
                del self.vars[name]

    def client_gone(self, cid: str) -> None:
        pass


class EventStates:
    """Scheduler side; an unset event nobody waits on is forgotten."""

    def __init__(self, ext: Any):
        self.events: dict = {}
        self.waiting: dict = {}

    async def handle(self, action: str, cid: str, msg: dict) -> Any:
        name = msg["name"]
        ev = self.events.get(name)
        if ev is None:
            ev = self.events[name] = asyncio.Event()
        try:
            if action == "set":
                ev.set()
            elif action == "clear":
                ev.clear()
            elif action == "is_set":
                return ev.is_set()
            elif action == "wait":
                self.waiting[name] = self.waiting.get(name, 0) + 1
                try:
                    await asyncio.wait_for(ev.wait(), msg.get("timeout"))
                except (asyncio.TimeoutError, TimeoutError):
                    return False
                finally:
                    self.waiting[name] -= 1
                    if not self.waiting[name]:
                        del self.waiting[name]
                return True
            else:
                raise ValueError(f"unknown event action {action!r}")
            return None
        finally:
            if not ev.is_set() and name not in self.waiting and self.events.get(name) is ev:
                del self.events[name]

    def client_gone(self, cid: str) -> None:
        pass


class _Subscriber:
    __slots__ = ("cid", "items", "cond")

    def __init__(self, cid: str):
        self.cid = cid
        self.items: collections.deque = collections.deque()
        self.cond = asyncio.Condition()


class Topics:
    def __init__(self, ext: Any):
        self.topics: dict = {}     # name -> {sid: _Subscriber}

    async def handle(self, action: str, cid: str, msg: dict) -> Any:
        name = msg["name"]
        subs = self.topics.get(name, {})
        if action == "subscribe":
            self.topics.setdefault(name, {})[msg["sid"]] = _Subscriber(cid)
            return None
        if action == "unsubscribe":
            subs.pop(msg["sid"], None)
            if not subs:
                self.topics.pop(name, None)
            return None
        if action == "put":
            for s in subs.values():
                async with s.cond:
                    s.items.append(msg["data"])
                    s.cond.notify_all()
            return None
        if action == "get":
            s = subs.get(msg["sid"])
            if s is None:
                raise RuntimeError(f"subscription to {name!r} has ended")
            async with s.cond:
                await wait_until(s.cond, lambda: bool(s.items), msg.get("timeout"), f"get from topic {name!r}")
                return s.items.popleft()
        raise ValueError(f"unknown pubsub action {action!r}")

    def client_gone(self, cid: str) -> None:
        for name in list(self.topics):
            subs = self.topics[name]
            for sid in [sid for sid, s in subs.items() if s.cid == cid]:
                del subs[sid]
            if not subs:
                del self.topics[name]


class Datasets:
    def __init__(self, ext: Any):
        self.ext = ext
        self.items: dict = {}   # name -> (data, keys, hold id)

    async def handle(self, action: str, cid: str, msg: dict) -> Any:
        if action == "list":
            return sorted(self.items, key=str)
        name = msg["name"]
        if action == "publish":
            if name in self.items and not msg.get("override"):
                raise KeyError(f"a dataset named {name!r} is already published: "
                               "unpublish_dataset() it first, or pass override=True")
            old = self.items.get(name)
            self.items[name] = (msg["data"], msg["keys"], self.ext.hold(msg["keys"]))
            if old is not None:
                self.ext.drop(old[2])
            return None
        if action == "get":
            item = self.items.get(name)
            if item is None:
                raise KeyError(f"no dataset named {name!r}; published: {sorted(self.items, key=str)}")
            self.ext.give(cid, item[1])
            return item[0], item[1]
        if action == "unpublish":
            item = self.items.pop(name, None)
            if item is None:
                raise KeyError(f"no dataset named {name!r}")
            self.ext.drop(item[2])
            return None
        raise ValueError(f"unknown dataset action {action!r}")

    def client_gone(self, cid: str) -> None:
        pass  # published data outlives its publisher
