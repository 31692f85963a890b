"""The worker process's IO shell around the pure ``WorkerState``.

* One connection to the scheduler (instructions in, batched reports out), a
  listener for peers and clients (``get-data``, ``put-data``).
* ``nthreads`` executor threads take tasks from a queue.  A finished task is
  appended to a list and the loop is woken once per batch
  (``call_soon_threadsafe`` only when no wake-up is pending), so a thousand
  tiny tasks cost a handful of loop wake-ups, not a thousand futures.
* Every task runs between ``set_task(key, seed)`` and ``clear_task()``.
* Memory: results live in a ``SpillBuffer``; past ``target`` of the memory
  limit the least recently used spill to disk, past ``pause`` no new task
  starts (the nanny restarts the process past ``terminate``).
* If the scheduler connection is lost the worker tries to reconnect for
  ``death_timeout`` seconds, then exits.
"""
from __future__ import annotations

import asyncio
import collections
import logging
import os
import queue
import shutil
import tempfile
import threading
import time
import traceback as tb_mod
from typing import Any

from shoal import config
from shoal.core.context import clear_task, set_task
from shoal.core.task import resolve
from shoal.distributed.comm.tcp import Comm, connect, listen
from shoal.distributed.protocol.serialize import deserialize, loads_function, serialize, unserialisable
from shoal.distributed.shuffle import memory_check, shuffle_activity
from shoal.distributed.worker.shuffle import ShuffleWorkerExtension
from shoal.distributed.worker.spill import SpillBuffer
from shoal.distributed.worker.state import EXECUTING, WorkerState

logger = logging.getLogger("shoal.distributed.worker")

RESTART_EXIT_CODE = 75   # "please restart me" for the nanny
SCHEDULER_GONE_EXIT_CODE = 3  # scheduler unreachable past death_timeout: do not restart
_current_worker: "WorkerServer | None" = None


def get_worker() -> "WorkerServer":
    """The worker running the current task (inside a task only)."""
    if _current_worker is None:
        raise ValueError("get_worker() works only inside a task running on a shoal worker")
    return _current_worker


class _Stop:
    pass


class _LogRecords(logging.Handler):
    """Keeps the worker's recent log records for ``Client.get_worker_logs``."""

    def __init__(self, records: collections.deque):
        super().__init__()
        self.records = records

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self.records.append((record.levelname, self.format(record)))
        except Exception:
            pass


class WorkerServer:
    def __init__(self, scheduler_address: str, security: Any, nthreads: int = 1, name: Any = None,
                 memory_limit: int = 0, local_directory: str | None = None, host: str = "127.0.0.1",
                 death_timeout: float | None = None, resources: dict | None = None,
                 heartbeat_interval: float | None = None, contact_address: str | None = None):
        self.scheduler_address = scheduler_address
        self.contact_address = contact_address
        self.security = security
        self.nthreads = max(1, int(nthreads))
        self.name = name
        self.memory_limit = int(memory_limit or 0)
        self.host = host
        self.death_timeout = death_timeout
        self.resources = resources or {}
        self.heartbeat_interval = float(heartbeat_interval if heartbeat_interval is not None
                                        else config.get("distributed.worker.heartbeat-interval", 0.5))
        # a directory of its own (inside --local-directory when given), removed on close
        self.local_directory = tempfile.mkdtemp(prefix="shoal-worker-", dir=local_directory)
        target = config.get("distributed.worker.memory.target", 0.6)
        self.spill_fraction = config.get("distributed.worker.memory.spill", 0.7)
        self.pause_fraction = config.get("distributed.worker.memory.pause", 0.8)
        self.data = SpillBuffer(os.path.join(self.local_directory, "spill"),
                                int(self.memory_limit * target) if self.memory_limit and target else None)
        self.state = WorkerState(self.nthreads)
        self.funcs: dict = {}
        self.scomm: Comm | None = None
        self.listener: Any = None
        self.address: str | None = None
        self._queue: queue.SimpleQueue = queue.SimpleQueue()
        self._epoch = 0  # scheduler sessions: results of an older one are dropped
        self._last_heard = time.monotonic()
        self._done: list = []
        self._done_lock = threading.Lock()
        self._wake_pending = False
        self._threads: list = []
        self._peer_comms: dict = {}
        self._peer_connecting: dict = {}  # address -> task connecting to it
        self._peer_rid = 0
        self._peer_waiting: dict = {}
        self._bg: list = []
        self.plugins: dict = {}    # name -> worker plugin (see plugins.py)
        self.actors: dict = {}     # key -> actor instance (see shoal/distributed/actors.py)
        self.shuffle = ShuffleWorkerExtension(self)  # peer-to-peer shuffle shards
        self._actor_pool: Any = None
        self.log_records: collections.deque = collections.deque(maxlen=1000)
        self._log_handler: Any = None
        # recent transfers and spills for the dashboard's task stream: sent with
        # each heartbeat as (seq, kind, label, start, stop); readers dedupe by seq
        self._stream: collections.deque = collections.deque(maxlen=200)
        self._stream_seq = 0
        self.exit_code = 0
        self._closing = False
        self.finished: asyncio.Event | None = None
        self.loop: asyncio.AbstractEventLoop | None = None

    # ---- life cycle ----------------------------------------------------
    async def start(self) -> "WorkerServer":
        global _current_worker
        _current_worker = self
        self.loop = asyncio.get_running_loop()
        self.finished = asyncio.Event()
        self._log_handler = _LogRecords(self.log_records)
        logging.getLogger("shoal").addHandler(self._log_handler)
        scheme = self.scheduler_address.split("://")[0] if "://" in self.scheduler_address else "tcp"
        contact = self.contact_address
        if not contact and self.host in ("", "0.0.0.0"):
            # every interface: advertise the one that leads to the scheduler
            from shoal.distributed.comm.addressing import address_towards
            from shoal.distributed.comm.tcp import parse_address

            contact = address_towards(parse_address(self.scheduler_address)[1])
        self.listener = await listen(f"{scheme}://{self.host}:0", self._on_peer, self.security, name="worker",
                                     contact_address=contact)
        self.address = self.listener.address
        for i in range(self.nthreads):
            self._add_thread()
        await self._connect()
        self._bg.append(self.loop.create_task(self._heartbeats()))
        self._bg.append(self.loop.create_task(self._memory_monitor()))
        logger.info("worker %s (%d threads) connected to %s", self.address, self.nthreads, self.scheduler_address)
        return self

    def _add_thread(self) -> None:
        t = threading.Thread(target=self._executor_loop, name=f"shoal-exec-{len(self._threads)}", daemon=True)
        t.start()
        self._threads.append(t)

    async def _connect(self) -> None:
        timeout = self.death_timeout if self.death_timeout else 60.0
        comm = await connect(self.scheduler_address, self.security, name="worker->scheduler", timeout=timeout)
        self.scomm = comm
        self._last_heard = time.monotonic()
        comm.start(self._on_scheduler)
        comm.on_close(self._scheduler_lost)
        comm.send({"op": "register-worker", "address": self.address, "name": self.name,
                   "nthreads": self.nthreads, "memory_limit": self.memory_limit,
                   "resources": self.resources})

    def _scheduler_lost(self, comm: Comm) -> None:
        if self._closing or comm is not self.scomm:
            return
        logger.warning("lost the connection to the scheduler %s", self.scheduler_address)
        self.loop.create_task(self._reconnect())

    async def _reconnect(self) -> None:
        # a fresh registration: the scheduler forgot us, so forget everything too
        self.data.clear()
        self.state = WorkerState(self.nthreads)
        self._epoch += 1
        while True:  # tasks queued for the old session are not run
            try:
                item = self._queue.get_nowait()
            except Exception:
                break
            if item is _Stop:
                self._queue.put(item)
                break
        try:
            await self._connect()
        except Exception as e:
            logger.error("scheduler did not come back within %ss (%s): exiting",
                         self.death_timeout or 60, e)
            await self.close(SCHEDULER_GONE_EXIT_CODE)

    async def close(self, code: int = 0) -> None:
        if self._closing:
            return
        self._closing = True
        self.exit_code = code
        for t in self._bg:
            t.cancel()
        if self.plugins:
            from shoal.distributed.worker import plugins

            await plugins.teardown_all(self)
        self.actors.clear()
        self.shuffle.close()
        if self._actor_pool is not None:
            self._actor_pool.shutdown(wait=False)
        if self.scomm is not None and not self.scomm.closed:
            self.scomm.send({"op": "worker-status", "status": "closing"})
            self.scomm._flush()
            self.scomm.close()
        if self.listener is not None:
            self.listener.close()
        for c in self._peer_comms.values():
            c.close()
        for _ in self._threads:
            self._queue.put(_Stop)
        self.data.clear()
        shutil.rmtree(self.local_directory, ignore_errors=True)
        logging.getLogger("shoal").removeHandler(self._log_handler)
        global _current_worker
        if _current_worker is self:
            _current_worker = None  # get_worker()/get_client() must not find a closed worker
        self.finished.set()

    # ---- scheduler messages -------------------------------------------
    def _on_scheduler(self, comm: Comm, msgs: list) -> None:
        self._last_heard = time.monotonic()
        st = self.state
        out: list = []
        for msg in msgs:
            op = msg["op"]
            if op == "compute":
                func = msg.get("func")
                if func is not None:
                    self.funcs[msg["fid"]] = func  # unpickled lazily, in a thread
                out.extend(st.compute(msg["key"], msg["spec"], msg["fid"], msg.get("deps"), msg["prio"]))
            elif op == "free":
                out.extend(st.free(msg["keys"]))
            elif op == "steal":
                out.extend(st.steal(msg["keys"], msg.get("sid")))
            elif op == "heartbeat-ack" or op == "registered":
                pass
            elif op == "worker-gone":
                peer = self._peer_comms.pop(msg["address"], None)
                if peer is not None:
                    peer.abort()  # pending fetches from it fail at once
            elif op == "run":
                self.loop.create_task(self._run_function(msg))
            elif op == "plugin-add" or op == "plugin-remove":
                self.loop.create_task(self._plugin(msg))
            elif op == "acquire-replicas":
                out.extend(st.acquire_replicas(msg["items"]))
            elif op == "shuffle-reply" or op == "shuffle-drop":
                self.shuffle.on_scheduler(msg)
            elif op == "close":
                self.loop.create_task(self.close(0))
            elif op == "restart":
                self.loop.create_task(self.close(RESTART_EXIT_CODE))
            else:
                logger.warning("unknown scheduler message %r", op)
        if out:
            self._do(out)

    def _do(self, instrs: list) -> None:
        send = self.scomm.send
        for ins in instrs:
            kind = ins[0]
            if kind == "execute":
                t = self.state.tasks[ins[1]]
                self._queue.put((t.key, t.spec, t.fid, self._epoch))
            elif kind == "send":
                send(ins[1])
            elif kind == "drop":
                try:
                    del self.data[ins[1]]
                except KeyError:
                    pass
                if self.actors:
                    self.actors.pop(ins[1], None)  # an actor lives as long as its task's value
            elif kind == "fetch":
                self.loop.create_task(self._fetch(ins[1], ins[2]))

    # ---- execution -----------------------------------------------------
    def _executor_loop(self) -> None:
        """Run queued tasks; report finished ones in batches (one loop wake-up per batch)."""
        q = self._queue
        data = self.data
        funcs = self.funcs
        batch: list = []
        while True:
            try:
                item = q.get_nowait()
            except Exception:  # queue empty: publish what we have, then block
                if batch:
                    self._publish(batch)
                    batch = []
                item = q.get()
            if item is _Stop:
                if batch:
                    self._publish(batch)
                return
            key, spec, fid, epoch = item
            start = time.time()
            try:
                if fid is None:
                    result = deserialize(spec)
                else:
                    func = funcs[fid]
                    if type(func) is bytes:
                        func = funcs[fid] = loads_function(func)
                    spec = deserialize(spec)
                    seed = spec[2] if len(spec) > 2 else None
                    set_task(key, seed)
                    try:
                        args, kwargs = spec[0], spec[1]
                        args = resolve(args, data)
                        if kwargs:
                            kwargs = resolve(kwargs, data)
                        result = func(*args, **kwargs)
                    finally:
                        clear_task()
                ok = True
            except BaseException as e:  # noqa: BLE001 - reported to the client
                ok = False
                result = (e, tb_mod.format_exc())
            stop = time.time()
            batch.append((key, ok, result, start, stop, epoch))
            # this thread must not pin the last result (or its inputs) until its next task
            result = args = kwargs = spec = None
            # long tasks report at once; tiny ones are grouped (bounded latency)
            if stop - batch[0][3] > 0.005 or len(batch) >= 1000:
                self._publish(batch)
                batch = []

    def _publish(self, batch: list) -> None:
        with self._done_lock:
            self._done.extend(batch)
            wake = not self._wake_pending
            self._wake_pending = True
        if wake:
            self.loop.call_soon_threadsafe(self._drain)

    def _drain(self) -> None:
        with self._done_lock:
            done, self._done = self._done, []
            self._wake_pending = False
        st = self.state
        out: list = []
        for key, ok, result, start, stop, epoch in done:
            if epoch != self._epoch:
                continue  # run for a scheduler session that is gone: its state was forgotten
            if ok:
                t = st.tasks.get(key)
                if t is not None and t.state == EXECUTING and key not in st.cancelled:
                    self.data[key] = result
                    err = self._unkeepable(key)
                    if err is not None:  # dropped: failing beats a kill/restart/recompute loop
                        out.extend(st.failed(key, serialize(err), f"{type(err).__name__}: {err}"))
                        continue
                instrs = st.finished(key, self.data.nbytes(key), stop - start)
                for ins in instrs:
                    if ins[0] == "send" and ins[1].get("op") == "task-finished":
                        ins[1]["start"], ins[1]["stop"] = start, stop
                out.extend(instrs)
            else:
                exc, text = result
                try:
                    sexc = serialize(exc)
                except Exception:
                    sexc = serialize(RuntimeError(f"{type(exc).__name__}: {exc} (exception not picklable)"))
                out.extend(st.failed(key, sexc, text))
        self._do(out)

    def _unkeepable(self, key: Any) -> MemoryError | None:
        """A MemoryError (and the value dropped) when ``key``'s new result cannot be kept.

        Past the pause threshold everything that can be spilled is spilled; if the
        process is still past it and this result is one that cannot be pickled, keeping
        it would end in the nanny's kill, a restart and the same computation again.
        """
        if not self.memory_limit or not self.pause_fraction:
            return None
        import psutil

        limit = self.pause_fraction * self.memory_limit
        proc = psutil.Process()
        if proc.memory_info().rss <= limit:
            return None
        self.data.evict_until(0)
        rss = proc.memory_info().rss
        if rss <= limit or key not in self.data.unspillable:
            return None
        del self.data[key]
        return MemoryError(
            f"the result of {key!r} cannot be kept on worker {self.address}: it cannot be pickled, so it "
            f"cannot be spilled to disk, and with it in memory the process holds {rss / 2**20:.0f} MiB, past "
            f"{self.pause_fraction:.0%} of its {self.memory_limit / 2**20:.0f} MiB memory limit. Return a "
            "picklable or smaller result, or give the workers more memory (memory_limit=)")

    # ---- data transfer -------------------------------------------------
    def _on_peer(self, comm: Comm) -> None:
        comm.start(self._peer_message)

    def _peer_message(self, comm: Comm, msgs: list) -> None:
        for msg in msgs:
            op = msg.get("op")
            if op == "get-data":
                data = {}
                missing = []
                errors = {}
                for k in msg["keys"]:
                    if k in self.data:
                        try:
                            data[k] = serialize(self.data[k])
                        except Exception as e:
                            # not "missing": the value is here, refetching or
                            # recomputing it would fail the same way forever
                            errors[k] = unserialisable(k, self.address, e)
                            logger.warning("cannot serialise %r for %s: %s", k, comm.peer, e)
                    else:
                        missing.append(k)
                reply = {"op": "data", "rid": msg["rid"], "data": data, "missing": missing}
                if errors:
                    reply["errors"] = errors
                comm.send(reply)
            elif op == "put-data":
                for k, v in msg["data"].items():
                    self.data[k] = deserialize(v)
                self._do(self.state.scattered(list(msg["data"])))
                comm.send({"op": "data", "rid": msg["rid"], "data": {}, "missing": []})
            elif op == "actor":
                self.loop.create_task(self._actor_request(comm, msg))
            elif op == "shuffle-push" or op == "shuffle-fetch":
                self.shuffle.on_peer(comm, msg)
            elif op == "data":
                fut = self._peer_waiting.pop(msg["rid"], None)
                if fut is not None and not fut.done():
                    fut.set_result(msg)
            else:
                logger.warning("closing %s: unknown peer message %r", comm.peer, op)
                comm.abort()
                return

    async def _actor_request(self, comm: Comm, msg: dict) -> None:
        from shoal.distributed.worker.actor_calls import run_on_worker

        if self._actor_pool is None:
            import concurrent.futures

            # one thread for every actor here: an actor's methods never run at the same time
            self._actor_pool = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="shoal-actor")
        ok, result = await self.loop.run_in_executor(self._actor_pool, run_on_worker, self, msg)
        comm.send({"op": "actor-result", "rid": msg["rid"], "ok": ok, "result": result})

    async def _peer(self, address: str) -> Comm:
        """One connection per peer: concurrent fetches wait for the same connect."""
        comm = self._peer_comms.get(address)
        if comm is not None and not comm.closed:
            return comm
        pending = self._peer_connecting.get(address)
        if pending is None:
            pending = self._peer_connecting[address] = self.loop.create_task(self._connect_peer(address))
        return await asyncio.shield(pending)

    async def _connect_peer(self, address: str) -> Comm:
        try:
            comm = await connect(address, self.security, name="worker->peer", timeout=5.0)
            comm.start(self._peer_message)
            self._peer_comms[address] = comm
            return comm
        finally:
            self._peer_connecting.pop(address, None)

    async def peer_request(self, address: str, msg: dict, timeout: float) -> dict:
        """Send ``msg`` to a peer and wait for its ``data`` reply (errs if it closes or times out)."""
        comm = await self._peer(address)
        self._peer_rid += 1
        rid = msg["rid"] = self._peer_rid
        fut = self.loop.create_future()
        self._peer_waiting[rid] = fut
        comm.send(msg)
        try:
            done, _ = await asyncio.wait([fut, comm.closed_future], timeout=timeout,
                                         return_when=asyncio.FIRST_COMPLETED)
        finally:
            self._peer_waiting.pop(rid, None)
        if fut not in done:
            raise ConnectionError(f"peer {address} closed or timed out")
        return fut.result()

    async def _fetch(self, peer: str, keys: list) -> None:
        try:
            t_fetch = time.time()
            msg = await self.peer_request(peer, {"op": "get-data", "keys": keys}, 60)
            values: dict = {}
            errors = dict(msg.get("errors") or {})
            for k, v in msg["data"].items():
                try:
                    values[k] = deserialize(v)
                except Exception as e:  # fetching again would fail the same way: say why
                    errors[k] = serialize(RuntimeError(
                        f"could not unpickle {k!r} fetched from {peer}: {type(e).__name__}: {e} "
                        "(is everything it needs importable on every worker?)"))
            for k, value in values.items():
                self.data[k] = value
            got = list(values)
            self._stream_event("transfer", got, t_fetch, time.time())
            self._do(self.state.fetched(peer, got, list(msg["missing"]), errors or None))
        except Exception as e:
            logger.info("fetch of %d keys from %s failed: %s", len(keys), peer, e)
            bad = self._peer_comms.pop(peer, None)
            if bad is not None:
                bad.abort()
            self._do(self.state.fetched(peer, [], keys))

    # ---- misc ----------------------------------------------------------
    async def _plugin(self, msg: dict) -> None:
        from shoal.distributed.worker import plugins

        try:
            if msg["op"] == "plugin-add":
                res = await plugins.add(self, msg["name"], msg["plugin"])
            else:
                res = await plugins.remove(self, msg["name"])
            ok, payload = True, serialize(res)
        except Exception as e:
            logger.exception("worker plugin %r failed", msg["name"])
            ok, payload = False, serialize(e)
        self.scomm.send({"op": "run-result", "rid": msg.get("rid"), "ok": ok, "result": payload})

    async def _run_function(self, msg: dict) -> None:
        try:
            func = loads_function(msg["func"])
            res = func(dask_worker=self) if _wants_worker(func) else func()
            if asyncio.iscoroutine(res):
                res = await res
            ok, payload = True, serialize(res)
        except Exception as e:
            ok, payload = False, serialize(e)
        self.scomm.send({"op": "run-result", "rid": msg["rid"], "ok": ok, "result": payload})

    def _stream_event(self, kind: str, keys: list, start: float, stop: float) -> None:
        if keys:
            self._stream_seq += 1
            label = str(keys[0]) if len(keys) == 1 else f"{keys[0]!s} +{len(keys) - 1}"
            self._stream.append((self._stream_seq, kind, label, start, stop))

    async def _heartbeats(self) -> None:
        import psutil

        proc = psutil.Process()
        last_t, last_spilled = time.time(), self.data.spilled_bytes
        while True:
            await asyncio.sleep(self.heartbeat_interval)
            now, spilled = time.time(), self.data.spilled_bytes
            if spilled > last_spilled:  # spilled since the last beat (also by SpillBuffer itself)
                self._stream_event("spill", [f"{spilled - last_spilled} bytes to disk"], last_t, now)
            last_t, last_spilled = now, spilled
            silence = max(float(self.death_timeout or 60.0), 10 * self.heartbeat_interval)
            if self.scomm is not None and not self.scomm.closed \
                    and time.monotonic() - self._last_heard > silence:
                # every heartbeat is acknowledged: a scheduler this quiet is frozen or cut off
                logger.warning("no word from the scheduler for %.0fs: dropping the connection", silence)
                self.scomm.abort()
                continue
            if self.scomm is not None and not self.scomm.closed:
                self.scomm.send({"op": "heartbeat", "metrics": {
                    "rss": proc.memory_info().rss, "managed": self.data.fast_bytes,
                    "cpu": proc.cpu_percent(), "pid": os.getpid(),
                    "spilled": self.data.spilled_bytes, "executing": len(self.state.executing),
                    "ready": len(self.state.ready), "stream": list(self._stream)[-50:],
                    "shuffle": "; ".join(filter(None, (shuffle_activity(), self.shuffle.describe())))}})

    async def _memory_monitor(self) -> None:
        if not self.memory_limit:
            return
        import psutil

        proc = psutil.Process()
        while True:
            await asyncio.sleep(0.1)
            rss = proc.memory_info().rss
            frac = rss / self.memory_limit
            memory_check(rss, self.memory_limit, self.spill_fraction)  # names a shuffle step holding memory
            if frac > self.spill_fraction and self.data.fast_bytes:
                # spill until the process is back under target or nothing is left
                self.data.evict_until(max(0, self.data.fast_bytes - (rss - int(self.spill_fraction * self.memory_limit))))
            paused = frac > self.pause_fraction
            if paused != self.state.paused:
                logger.warning("memory at %.0f%% of the limit: %s", 100 * frac, "pausing" if paused else "resuming")
                self._do(self.state.set_paused(paused))
                self.scomm.send({"op": "worker-status", "status": "paused" if paused else "running"})

    def secede(self) -> None:
        """Called from a task thread that will block on other tasks: add a thread."""
        self.loop.call_soon_threadsafe(self._grow)

    def _grow(self) -> None:
        self._add_thread()
        self._do(self.state.change_threads(+1))

    def rejoin(self) -> None:
        """Called from a seceded task thread that stops blocking: give its thread back."""
        def shrink():
            self._queue.put(_Stop)
            self._do(self.state.change_threads(-1))
        self.loop.call_soon_threadsafe(shrink)


def _wants_worker(func: Any) -> bool:
    """Whether ``func`` takes a ``dask_worker`` argument (``Client.run`` passes the worker)."""
    import inspect

    try:
        return "dask_worker" in inspect.signature(func).parameters
    except (TypeError, ValueError):
        return False


def _reseed_numpy() -> None:
    try:
        import numpy as np
    except ImportError:
        return
    np.random.seed(int.from_bytes(os.urandom(4), "little"))


async def run_worker(**kwargs: Any) -> int:
    _reseed_numpy()
    w = WorkerServer(**kwargs)
    await w.start()
    await w.finished.wait()
    await asyncio.sleep(0.05)  # let the last frames leave
    return w.exit_code
