"""Scheduler state of Lock, Semaphore and MultiLock: pools of leases.

A pool (one per name) grants at most ``max_leases`` leases at once.  An
acquire names one or more pools and how many of them it needs (a Lock or a
Semaphore: one pool; a MultiLock: several, all or ``num_locks`` of them) and
gets them all at once or waits, first come first served, until they are
free or its timeout passes.  A lease belongs to the client that took it:
when that client disconnects (its process died, say) the lease is freed.
"""
from __future__ import annotations

import asyncio
from typing import Any


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
