"""Moving data between a Client and workers directly (gather, scatter, uploads).

``Transfers`` owns the Client's connections to workers.  ``fetch`` asks the
scheduler who holds the keys (one round trip, through the ``ask``
coroutine it is given), then fetches from every holder at once over
authenticated connections, kept open for reuse (one per worker, shared by
concurrent fetches); values never pass through the scheduler.
"""
from __future__ import annotations

import asyncio
from typing import Any, Callable

from shoal.distributed.comm.tcp import Comm, connect
from shoal.distributed.protocol.serialize import deserialize


class Transfers:
    """Worker connections and data paths of one Client."""

    def __init__(self, security: Any, ask: Callable, rid: Any):
        self.security = security
        self._ask = ask          # async (msg) -> the scheduler's answer
        self._rid = rid          # the Client's request counter (ids unique per connection)
        self.peers: dict = {}
        self.connecting: dict = {}   # address -> task connecting to that worker

    async def fetch(self, keys: list, timeout: float | None = None) -> dict:
        """Values of ``keys`` from the workers holding them, within ``timeout`` seconds
        (None: as long as it takes; a value lost with its worker is recomputed meanwhile).

        Raises ``TimeoutError`` past the timeout, the holder's
        ``SerializationError`` at once for a value that cannot be pickled, and
        any other error from reading a value (one that cannot be unpickled here).
        """
        result: dict = {}
        if timeout is None:
            await self._fetch_into(keys, result)
            return result
        try:
            await asyncio.wait_for(self._fetch_into(keys, result), timeout)
        except (asyncio.TimeoutError, TimeoutError):
            left = [k for k in keys if k not in result]
            if not left:
                return result
            raise TimeoutError(f"could not fetch {len(left)} of {len(keys)} results (e.g. {left[0]!r}) "
                               f"from the workers within {timeout:g}s") from None
        return result

    async def _fetch_into(self, keys: list, result: dict) -> None:
        left = list(keys)
        while left:
            who = await self._ask({"op": "who-has", "keys": left})
            by_worker: dict = {}
            for k in left:
                holders = who.get(k)
                if holders:
                    by_worker.setdefault(holders[0], []).append(k)
            replies = await asyncio.gather(*[self._get_from(w, ks) for w, ks in by_worker.items()],
                                           return_exceptions=True)
            errors: dict = {}
            for r in replies:
                if isinstance(r, tuple):
                    result.update(r[0])
                    errors.update(r[1])
                elif not isinstance(r, (OSError, asyncio.TimeoutError, TimeoutError, asyncio.CancelledError)):
                    raise r  # not a lost worker (OSError covers connection errors): retrying won't help
            for k in left:
                if k in errors:  # the value exists but cannot leave its worker: fetching again won't help
                    raise deserialize(errors[k])
            left = [k for k in left if k not in result]
            if left:
                await asyncio.sleep(0.05)  # lost with a worker: being recomputed

    async def peer(self, address: str) -> Comm:
        """One connection per worker: concurrent fetches wait for the same connect."""
        comm = self.peers.get(address)
        if comm is not None and not comm.closed:
            return comm
        pending = self.connecting.get(address)
        if pending is None:
            pending = self.connecting[address] = asyncio.get_running_loop().create_task(
                self._connect_peer(address))
        return await asyncio.shield(pending)

    async def _connect_peer(self, address: str) -> Comm:
        try:
            comm = await connect(address, self.security, name="client->worker", timeout=5.0)
            comm.info["waiting"] = {}
            comm.start(self._peer_message)
            self.peers[address] = comm
            return comm
        finally:
            self.connecting.pop(address, None)

    @staticmethod
    def _peer_message(comm: Comm, msgs: list) -> None:
        for msg in msgs:
            f = comm.info["waiting"].pop(msg.get("rid"), None)
            if f is not None and not f.done():
                f.set_result(msg)

    async def ask_worker(self, address: str, msg: dict) -> dict | None:
        """Send ``msg`` to one worker and wait for its answer (None if the worker went away)."""
        comm = await self.peer(address)
        rid = next(self._rid)
        fut = asyncio.get_running_loop().create_future()
        comm.info["waiting"][rid] = fut
        comm.send({**msg, "rid": rid})
        try:
            done, _ = await asyncio.wait([fut, comm.closed_future], return_when=asyncio.FIRST_COMPLETED)
        finally:
            comm.info["waiting"].pop(rid, None)  # also when cancelled by a timeout
        if fut not in done:
            self.peers.pop(address, None)
            return None
        return fut.result()

    async def _get_from(self, address: str, keys: list) -> tuple:
        """``({key: value}, {key: serialised error})`` from one worker."""
        msg = await self.ask_worker(address, {"op": "get-data", "keys": keys})
        if msg is None:
            raise ConnectionError(f"worker {address} went away")
        return {k: deserialize(v) for k, v in msg["data"].items()}, msg.get("errors") or {}

    async def put(self, plan: dict) -> None:
        """Store values on workers: ``{address: {key: serialised value}}``."""
        async def one(addr: str, d: dict) -> None:
            comm = await self.peer(addr)
            rid = next(self._rid)
            fut = asyncio.get_running_loop().create_future()
            comm.info["waiting"][rid] = fut
            comm.send({"op": "put-data", "rid": rid, "data": d})
            await asyncio.wait_for(fut, 60)
        await asyncio.gather(*[one(a, d) for a, d in plan.items()])

    def forget(self, address: str) -> None:
        """A worker is gone: drop its connection, so a fetch waiting on it retries elsewhere."""
        peer = self.peers.pop(address, None)
        if peer is not None:
            peer.abort()

    def close(self) -> None:
        for c in self.peers.values():
            c.close()
