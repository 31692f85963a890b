"""Moving data between a Client and workers directly (gather, scatter, uploads).

Mixed into ``Client``.  ``gather`` asks the scheduler who holds the keys
(one round trip), then fetches from every holder at once over authenticated
connections to the workers, which are kept open for reuse; values never pass
through the scheduler.
"""
from __future__ import annotations

import asyncio
import concurrent.futures
from typing import Any

from shoal.distributed.comm.tcp import Comm, connect
from shoal.distributed.protocol.serialize import deserialize


class DataTransfer:
    """Worker-to-client data paths of ``Client``."""

    async def _fetch(self, keys: list, timeout: float | None = None) -> dict:
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
            who = await self._arequest({"op": "who-has", "keys": left})
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

    async def _arequest(self, msg: dict) -> Any:
        rid = next(self._rid)
        fut: concurrent.futures.Future = concurrent.futures.Future()
        self._replies[rid] = fut
        msg["rid"] = rid
        if self._comm is None or self._comm.closed:
            raise RuntimeError(f"this Client is {self.status}; start a new Client to keep working")
        self._comm.send(msg)
        return await asyncio.wrap_future(fut)

    async def _peer(self, address: str) -> Comm:
        """One connection per worker: concurrent fetches wait for the same connect."""
        comm = self._peers.get(address)
        if comm is not None and not comm.closed:
            return comm
        pending = self._peers_connecting.get(address)
        if pending is None:
            pending = self._peers_connecting[address] = asyncio.get_running_loop().create_task(
                self._connect_peer(address))
        return await asyncio.shield(pending)

    async def _connect_peer(self, address: str) -> Comm:
        try:
            comm = await connect(address, self.security, name="client->worker", timeout=5.0)
            comm.info["waiting"] = {}
            comm.start(self._peer_message)
            self._peers[address] = comm
            return comm
        finally:
            self._peers_connecting.pop(address, None)

    def _peer_message(self, comm: Comm, msgs: list) -> None:
        for msg in msgs:
            f = comm.info["waiting"].pop(msg.get("rid"), None)
            if f is not None and not f.done():
                f.set_result(msg)

    async def _get_from(self, address: str, keys: list) -> tuple:
        """``({key: value}, {key: serialised error})`` from one worker."""
        comm = await self._peer(address)
        rid = next(self._rid)
        fut = asyncio.get_running_loop().create_future()
        comm.info["waiting"][rid] = fut
        comm.send({"op": "get-data", "rid": rid, "keys": keys})
        try:
            done, _ = await asyncio.wait([fut, comm.closed_future], return_when=asyncio.FIRST_COMPLETED)
        finally:
            comm.info["waiting"].pop(rid, None)  # also when cancelled by a timeout
        if fut not in done:
            self._peers.pop(address, None)
            raise ConnectionError(f"worker {address} went away")
        msg = fut.result()
        return {k: deserialize(v) for k, v in msg["data"].items()}, msg.get("errors") or {}

    async def _put(self, plan: dict) -> None:
        async def one(addr, d):
            comm = await self._peer(addr)
            rid = next(self._rid)
            fut = asyncio.get_running_loop().create_future()
            comm.info["waiting"][rid] = fut
            comm.send({"op": "put-data", "rid": rid, "data": d})
            await asyncio.wait_for(fut, 60)
        await asyncio.gather(*[one(a, d) for a, d in plan.items()])
