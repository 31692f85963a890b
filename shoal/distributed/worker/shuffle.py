"""A worker's side of peer-to-peer shuffles: sending, receiving and reading shards.

Shards travel worker to worker outside the task graph (``shuffle-push``),
each answered only once the receiver has written it to its local directory
(``shoal.distributed.shuffle.storage``).  A sender keeps at most a few
messages unanswered, so a slow receiver slows its senders down instead of
filling its own memory (backpressure).  A writer thread pool keeps disk
writes off the event loop.

The shuffle's tasks (``shoal.dataframe.p2p_shuffle``) run in executor
threads and call the blocking methods here (``call``, ``push``, ``wait``,
``read``), which hand the work to the worker's event loop.  A run dropped
by the scheduler (``shuffle-drop``: one of its workers left) is deleted
here, and later messages for it are refused, so nothing of it is read.
"""
from __future__ import annotations

import asyncio
import concurrent.futures
import itertools
import logging
import os
import threading
import time
from typing import Any

from shoal import config
from shoal.distributed.protocol.serialize import deserialize, serialize
from shoal.distributed.shuffle.storage import Incomplete, RunStore

logger = logging.getLogger("shoal.distributed.shuffle")

__all__ = ["ShuffleWorkerExtension", "RunLost", "current"]


class RunLost(RuntimeError):
    """The run a task works for was dropped, or a worker of it cannot be reached."""


def current() -> "ShuffleWorkerExtension | None":
    """This process's worker extension (None outside a shoal worker)."""
    from shoal.distributed.worker import server

    w = server._current_worker
    return getattr(w, "shuffle", None) if w is not None else None


class ShuffleWorkerExtension:
    def __init__(self, worker: Any):
        self.worker = worker
        self.stores: dict[int, RunStore] = {}
        self.dropped: set = set()
        self._rid = itertools.count(1)
        self._waiting: dict = {}
        self._lock = threading.Lock()
        self._io = concurrent.futures.ThreadPoolExecutor(2, thread_name_prefix="shoal-shuffle-io")

    @property
    def address(self) -> str:
        return self.worker.address

    # ---- blocking calls, from task threads -------------------------------
    def _run(self, coro: Any, timeout: float | None) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self.worker.loop).result(timeout)

    def call(self, action: str, timeout: float = 60.0, **kw: Any) -> Any:
        """Ask the scheduler; returns its answer or raises its error."""
        return self._run(self._ask(action, timeout, kw), timeout + 5)

    def wait(self, spec: dict) -> dict:
        """The shuffle's run once every input is in it (the thread secedes if that takes a while)."""
        timeout = float(config.get("distributed.shuffle.timeout", 300.0)) + 60
        fut = asyncio.run_coroutine_threadsafe(self._ask("wait", timeout, spec), self.worker.loop)
        try:
            return fut.result(0.2)
        except concurrent.futures.TimeoutError:
            pass
        self.worker.secede()  # waiting must not hold a thread the transfers need
        try:
            return fut.result(timeout + 5)
        finally:
            self.worker.rejoin()

    def push(self, run: dict, i: int, m: int, dest: str, parts: list, meta: bytes,
             nparts: int | None) -> concurrent.futures.Future:
        """Send message ``m`` of input ``i`` to ``dest``; the future ends when it is on disk there."""
        if dest == self.address:
            fut: concurrent.futures.Future = concurrent.futures.Future()
            try:
                self._store(run["id"]).write(i, m, parts, meta, nparts)
                fut.set_result(None)
            except Exception as e:
                fut.set_exception(e)
            return fut
        msg = {"op": "shuffle-push", "id": run["id"], "i": i, "m": m, "nparts": nparts,
               "parts": serialize(parts), "meta": meta}
        return asyncio.run_coroutine_threadsafe(self._send(dest, msg), self.worker.loop)

    def read(self, run: dict, j: int) -> tuple[list, bytes | None]:
        """The pieces of output ``j`` in input order and the empty frame, from its owner."""
        owner = run["workers"][j % len(run["workers"])]
        if owner == self.address:
            store = self._store(run["id"])
            try:
                return store.read(j, run["n_in"]), store.meta
            except Incomplete as e:
                raise RunLost(str(e)) from None
        reply = self._run(self._request(owner, {"op": "shuffle-fetch", "id": run["id"], "j": j,
                                                "n_in": run["n_in"]}, 600.0), 620.0)
        return deserialize(reply["blobs"]), reply.get("meta")

    # ---- the event loop's side -------------------------------------------
    async def _ask(self, action: str, timeout: float, kw: dict) -> Any:
        rid = next(self._rid)
        fut = self.worker.loop.create_future()
        self._waiting[rid] = fut
        try:
            scomm = self.worker.scomm
            if scomm is None or scomm.closed:
                raise RunLost("no connection to the scheduler")
            scomm.send({"op": "shuffle", "action": action, "rid": rid, **kw})
            ok, result = await asyncio.wait_for(fut, timeout)
        finally:
            self._waiting.pop(rid, None)
        if not ok:
            raise RuntimeError(f"shuffle {action} failed on the scheduler: {result}")
        return result

    async def _request(self, address: str, msg: dict, timeout: float) -> dict:
        try:
            reply = await self.worker.peer_request(address, msg, timeout)
        except (OSError, ConnectionError, asyncio.TimeoutError) as e:
            raise RunLost(f"worker {address} cannot be reached: {e}") from None
        if not reply.get("ok"):
            err = reply.get("error", "")
            if reply.get("lost"):
                raise RunLost(err)
            raise RuntimeError(f"shuffle request to {address} failed: {err}")
        return reply

    async def _send(self, dest: str, msg: dict) -> None:
        await self._request(dest, msg, 600.0)

    def on_scheduler(self, msg: dict) -> None:
        op = msg["op"]
        if op == "shuffle-reply":
            fut = self._waiting.pop(msg.get("rid"), None)
            if fut is not None and not fut.done():
                fut.set_result((msg["ok"], msg["result"]))
        elif op == "shuffle-drop":
            for rid in msg["ids"]:
                self.dropped.add(rid)
                with self._lock:
                    store = self.stores.pop(rid, None)
                if store is not None:
                    self._io.submit(store.remove)

    def on_peer(self, comm: Any, msg: dict) -> None:
        self.worker.loop.create_task(self._serve(comm, msg))

    async def _serve(self, comm: Any, msg: dict) -> None:
        reply: dict = {"op": "data", "rid": msg.get("rid"), "ok": True}
        loop = self.worker.loop
        try:
            if msg["id"] in self.dropped:
                raise RunLost(f"shuffle run {msg['id']} was dropped (a worker of it left)")
            store = self._store(msg["id"])
            if msg["op"] == "shuffle-push":
                t0 = time.time()
                parts = deserialize(msg["parts"])
                await loop.run_in_executor(self._io, store.write, msg["i"], msg["m"], parts, msg.get("meta"),
                                           msg.get("nparts"))
                self.worker._stream_event("shuffle", [f"shuffle input {msg['i']}"], t0, time.time())
            else:
                blobs = await loop.run_in_executor(self._io, store.read, msg["j"], msg["n_in"])
                reply["blobs"] = serialize(blobs)
                reply["meta"] = store.meta
        except (RunLost, Incomplete) as e:
            reply.update(ok=False, lost=True, error=str(e))
        except Exception as e:  # the sender's task reports it
            logger.exception("shuffle request %s failed", msg.get("op"))
            reply.update(ok=False, error=f"{type(e).__name__}: {e}")
        if not comm.closed:
            comm.send(reply)

    def _store(self, run_id: int) -> RunStore:
        if run_id in self.dropped:
            raise RunLost(f"shuffle run {run_id} was dropped (a worker of it left)")
        with self._lock:
            store = self.stores.get(run_id)
            if store is None:
                store = self.stores[run_id] = RunStore(
                    os.path.join(self.worker.local_directory, f"shuffle-{run_id}"))
            return store

    def describe(self) -> str:
        """Shards held on disk here, for memory warnings ('' if none)."""
        held = sum(s.nbytes for s in list(self.stores.values()))
        return f"p2p shuffle: {held / 2**20:.1f} MiB of shards on disk in {len(self.stores)} runs" if held else ""

    def close(self) -> None:
        self._io.shutdown(wait=False)
