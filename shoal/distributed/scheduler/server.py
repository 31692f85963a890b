"""The scheduler process's IO shell around ``SchedulerState``.

It accepts authenticated connections (workers register, clients register),
feeds each incoming message to the pure state machine and routes the
instructions it returns.  All IO is batched by the comm layer, so a burst of
``task-finished`` messages costs one read and one write per loop turn.
Heartbeats: a worker silent for ``worker_ttl`` seconds is removed (its work
rescheduled, its data recomputed) and its connection closed.
"""
from __future__ import annotations

import asyncio
import collections
import logging
import time
from typing import Any

from shoal import config
from shoal.distributed.comm.security import Security, new_token
from shoal.distributed.comm.tcp import Comm, listen
from shoal.distributed.scheduler.state import SchedulerState

logger = logging.getLogger("shoal.distributed.scheduler")


def _trim_memory() -> None:
    try:
        import ctypes

        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except Exception:  # not glibc: nothing to do
        pass


class SchedulerServer:
    """Serve ``SchedulerState`` over TCP/TLS; run inside an asyncio loop."""

    def __init__(self, address: str = "tcp://127.0.0.1:0", security: Security | None = None,
                 worker_ttl: float | None = None, dashboard_address: str | None = None,
                 contact_address: str | None = None):
        if security is None or not security.token:
            security = (security or Security()).with_token(new_token())
        self.security = security
        self.requested_address = address
        self.contact_address = contact_address  # what to advertise instead of the found address
        self.state = SchedulerState()
        self.worker_ttl = float(worker_ttl if worker_ttl is not None
                                else config.get("distributed.scheduler.worker-ttl", 10.0))
        self.dashboard_address = dashboard_address
        self.dashboard_link: str | None = None
        self.listener: Any = None
        self.address: str | None = None
        self.worker_comms: dict[str, Comm] = {}
        self.client_comms: dict[str, Comm] = {}
        self.events: collections.deque = collections.deque(maxlen=10000)  # task stream
        self._pending_runs: dict = {}
        self._rid = 0
        self._tasks: list = []
        self.stopped: asyncio.Event | None = None
        self._handlers = {
            "task-finished": self._task_finished,
            "task-erred": self._task_erred,
            "missing-data": self._missing_data,
            "heartbeat": self._heartbeat,
            "worker-status": self._worker_status,
            "worker-threads": self._worker_threads,
            "add-replicas": self._add_replicas,
            "steal-response": self._steal_response,
            "run-result": self._run_result,
            "update-graph": self._update_graph,
            "release-keys": self._release_keys,
            "scatter": self._scatter,
            "fire-and-forget": self._fire_and_forget,
            "who-has": self._who_has,
            "workers": self._workers,
            "snapshot": self._snapshot_req,
            "run": self._run,
            "restart": self._restart,
            "shutdown": self._shutdown,
            "register-worker": self._register_worker,
            "register-client": self._register_client,
        }
        from shoal.distributed.scheduler.coordination import CoordinationExtension
        from shoal.distributed.scheduler.queries import ClientQueries
        from shoal.distributed.scheduler.shuffle import ShuffleSchedulerExtension

        self.coordination = CoordinationExtension(self)  # locks, queues, variables, datasets...
        self.queries = ClientQueries(self)               # has-what, retire, run-on-scheduler...
        self.shuffle = ShuffleSchedulerExtension(self)   # peer-to-peer shuffle runs
        self._handlers.update(self.coordination.handlers)
        self._handlers.update(self.queries.handlers)
        self._handlers.update(self.shuffle.handlers)

    # ---- life cycle ----------------------------------------------------
    async def start(self) -> "SchedulerServer":
        self.stopped = asyncio.Event()
        self.listener = await listen(self.requested_address, self._on_comm, self.security, name="scheduler",
                                     contact_address=self.contact_address)
        self.address = self.listener.address
        self._tasks.append(asyncio.get_running_loop().create_task(self._watch_heartbeats()))
        self._tasks.append(asyncio.get_running_loop().create_task(self.shuffle.purge_periodically()))
        if config.get("distributed.scheduler.work-stealing", True):
            interval = float(config.get("distributed.scheduler.work-stealing-interval", 0.1))
            self._tasks.append(asyncio.get_running_loop().create_task(self._balance(interval)))
        if self.dashboard_address is not None:
            await self._start_dashboard()
        logger.info("scheduler at %s", self.address)
        return self

    async def _start_dashboard(self) -> None:
        try:
            from shoal.distributed import dashboard  # built separately; optional
        except ImportError:
            logger.info("dashboard module not available; continuing without it")
            return
        serve = getattr(dashboard, "serve", None)
        if serve is None:
            return
        try:
            res = serve(self, self.dashboard_address)
            if asyncio.iscoroutine(res):
                res = await res
            if isinstance(res, str):
                self.dashboard_link = res
        except Exception:
            logger.exception("could not start the dashboard at %s", self.dashboard_address)

    async def close(self) -> None:
        for t in self._tasks:
            t.cancel()
        if self.listener is not None:
            self.listener.close()
        for comm in list(self.worker_comms.values()) + list(self.client_comms.values()):
            comm.close()
        if self.stopped is not None:
            self.stopped.set()

    # ---- connections ---------------------------------------------------
    def _on_comm(self, comm: Comm) -> None:
        comm.start(self._dispatch)
        comm.on_close(self._on_close)

    def _dispatch(self, comm: Comm, msgs: list) -> None:
        handlers = self._handlers
        for msg in msgs:
            try:
                op = msg["op"]
                h = handlers[op]
            except (TypeError, KeyError):
                logger.warning("closing %s: message %r has no known 'op'", comm.peer, str(msg)[:80])
                comm.abort()
                return
            h(comm, msg)

    def _on_close(self, comm: Comm) -> None:
        addr = comm.info.get("worker")
        if addr is not None and self.worker_comms.get(addr) is comm:
            del self.worker_comms[addr]
            logger.info("worker %s left (connection closed)", addr)
            for rid in [r for r, p in self._pending_runs.items() if addr in p["left"]]:
                self._run_answered(rid, addr)  # a run waiting on it ends without its answer
            self._route(self.state.remove_worker(addr, "connection closed",
                                                 died=not comm.info.get("leaving")))
            self._announce_gone(addr)
        cid = comm.info.get("client")
        if cid is not None and self.client_comms.get(cid) is comm:
            del self.client_comms[cid]
            self._route(self.state.remove_client(cid))
            self.coordination.client_gone(cid)

    def _announce_gone(self, addr: str) -> None:
        """Tell everyone a worker is gone, so transfers from it fail now, not at a timeout."""
        self.shuffle.worker_removed(addr)
        msg = {"op": "worker-gone", "address": addr}
        for comm in list(self.worker_comms.values()) + list(self.client_comms.values()):
            comm.send(msg)

    def _route(self, instrs: list) -> None:
        for kind, target, msg in instrs:
            comm = (self.worker_comms if kind == "w" else self.client_comms).get(target)
            if comm is not None:
                comm.send(msg)

    def _reply(self, comm: Comm, msg: dict, result: Any) -> None:
        comm.send({"op": "reply", "rid": msg.get("rid"), "result": result})

    # ---- workers -------------------------------------------------------
    def _register_worker(self, comm: Comm, msg: dict) -> None:
        addr = msg["address"]
        comm.info["worker"] = addr
        old = self.worker_comms.get(addr)
        if old is not None and old is not comm:
            old.info.pop("worker", None)
            old.abort()
        self.worker_comms[addr] = comm
        logger.info("worker %s registered (%s threads)", addr, msg.get("nthreads"))
        comm.send({"op": "registered"})
        self.queries.worker_joined(comm)
        self._route(self.state.add_worker(addr, msg.get("name"), int(msg.get("nthreads", 1)),
                                          int(msg.get("memory_limit", 0)), msg.get("resources"),
                                          time.monotonic()))

    def _task_finished(self, comm: Comm, msg: dict) -> None:
        addr = comm.info.get("worker")
        if addr is None:
            return
        self.events.append((msg["key"], addr, msg.get("start"), msg.get("stop"), "memory"))
        self._route(self.state.task_finished(addr, msg["key"], msg.get("nbytes", 0), msg.get("duration", 0.0)))

    def _task_erred(self, comm: Comm, msg: dict) -> None:
        addr = comm.info.get("worker")
        if addr is None:
            return
        self.events.append((msg["key"], addr, None, None, "erred"))
        self._route(self.state.task_erred(addr, msg["key"], msg["exception"], msg.get("traceback")))

    def _missing_data(self, comm: Comm, msg: dict) -> None:
        addr = comm.info.get("worker")
        if addr is not None:
            self._route(self.state.missing_data(addr, msg["key"], msg["dep"], msg.get("holder")))

    def _heartbeat(self, comm: Comm, msg: dict) -> None:
        addr = comm.info.get("worker")
        if addr is not None:
            self.state.heartbeat(addr, time.monotonic(), msg.get("metrics"))
            comm.send({"op": "heartbeat-ack"})

    def _worker_status(self, comm: Comm, msg: dict) -> None:
        addr = comm.info.get("worker")
        if addr is not None:
            if msg["status"] == "closing":
                comm.info["leaving"] = True
                return
            self._route(self.state.set_worker_status(addr, msg["status"]))

    def _add_replicas(self, comm: Comm, msg: dict) -> None:
        addr = comm.info.get("worker")
        if addr is not None:
            self._route(self.state.add_replicas(addr, msg["keys"]))

    def _steal_response(self, comm: Comm, msg: dict) -> None:
        addr = comm.info.get("worker")
        if addr is not None:
            self._route(self.state.steal_response(addr, msg["given"], msg["refused"], msg.get("sid")))

    async def _balance(self, interval: float) -> None:
        while True:
            await asyncio.sleep(interval)
            self._route(self.state.balance())

    def _worker_threads(self, comm: Comm, msg: dict) -> None:
        addr = comm.info.get("worker")
        if addr is not None:
            self._route(self.state.change_threads(addr, int(msg["delta"])))

    async def _watch_heartbeats(self) -> None:
        interval = min(1.0, self.worker_ttl / 4)
        while True:
            await asyncio.sleep(interval)
            for addr in self.state.stale_workers(time.monotonic(), self.worker_ttl):
                logger.warning("worker %s silent for over %.1fs: removing it", addr, self.worker_ttl)
                comm = self.worker_comms.pop(addr, None)
                if comm is not None:
                    comm.info.pop("worker", None)
                    comm.abort()
                self._route(self.state.remove_worker(addr, f"no heartbeat for {self.worker_ttl}s"))
                self._announce_gone(addr)

    # ---- clients -------------------------------------------------------
    def _register_client(self, comm: Comm, msg: dict) -> None:
        cid = msg["id"]
        comm.info["client"] = cid
        self.client_comms[cid] = comm
        self.state.add_client(cid)
        self._reply(comm, msg, {"address": self.address, "dashboard": self.dashboard_link,
                                "n_workers": len(self.state.workers)})

    def _client(self, comm: Comm) -> str:
        cid = comm.info.get("client")
        if cid is None:
            raise PermissionError("client message before register-client")
        return cid

    def _update_graph(self, comm: Comm, msg: dict) -> None:
        cid = self._client(comm)
        n = len(msg["keys"])
        self._route(self.state.update_graph(
            cid, msg["keys"], msg["specs"], msg["fids"], msg["deps"], msg["wanted"],
            funcs=msg.get("funcs"), fnames=msg.get("fnames"), priority=msg.get("priority", 0),
            retries=msg.get("retries", 0), resources=msg.get("resources"), workers=msg.get("workers")))
        if n > 100_000:
            # a big graph message has just been freed: give its pages back to the OS
            asyncio.get_running_loop().call_later(0.5, _trim_memory)

    def _release_keys(self, comm: Comm, msg: dict) -> None:
        self._route(self.state.release_keys(self._client(comm), msg["keys"]))

    def _fire_and_forget(self, comm: Comm, msg: dict) -> None:
        self._route(self.state.fire_and_forget(msg["keys"]))

    def _scatter(self, comm: Comm, msg: dict) -> None:
        self._route(self.state.scatter(self._client(comm), msg["keys"], msg["nbytes"], msg["workers"]))
        self._reply(comm, msg, True)

    def _who_has(self, comm: Comm, msg: dict) -> None:
        self._reply(comm, msg, self.state.who_has(msg["keys"]))

    def _workers(self, comm: Comm, msg: dict) -> None:
        self._reply(comm, msg, {a: {"nthreads": w.nthreads, "name": w.name}
                                for a, w in self.state.workers.items()})

    def _snapshot_req(self, comm: Comm, msg: dict) -> None:
        self._reply(comm, msg, self.snapshot())

    def snapshot(self, n_events: int = 200) -> dict:
        """JSON-able view for dashboards: task groups, workers, recent task events."""
        snap = self.state.snapshot()
        snap["address"] = self.address
        snap["task_stream"] = [
            {"key": str(k), "worker": w, "start": s, "stop": e, "state": st}
            for k, w, s, e, st in list(self.events)[-n_events:]
        ]
        return snap

    def _run(self, comm: Comm, msg: dict) -> None:
        self._rid += 1
        rid = self._rid
        targets = list(self.worker_comms)
        if msg.get("workers"):
            targets = [a for a in targets if a in msg["workers"]]
        pending = {"client": comm, "rid": msg["rid"], "left": set(targets), "results": {}}
        if not targets:
            self._reply(comm, msg, {})
            return
        self._pending_runs[rid] = pending
        for a in targets:
            self.worker_comms[a].send({"op": "run", "rid": rid, "func": msg["func"]})

    def _run_result(self, comm: Comm, msg: dict) -> None:
        p = self._pending_runs.get(msg["rid"])
        addr = comm.info.get("worker")
        if p is None or addr is None:
            return
        p["results"][addr] = (msg["ok"], msg["result"])
        self._run_answered(msg["rid"], addr)

    def _run_answered(self, rid: int, addr: str) -> None:
        p = self._pending_runs[rid]
        p["left"].discard(addr)
        if not p["left"]:
            del self._pending_runs[rid]
            if "future" in p:
                if not p["future"].done():
                    p["future"].set_result(p["results"])
            else:
                p["client"].send({"op": "reply", "rid": p["rid"], "result": p["results"]})

    async def run_everywhere(self, msg: dict, workers: list | None = None) -> dict:
        """Send ``msg`` to the workers (all, or those in ``workers``); their
        ``run-result`` answers as ``{address: (ok, serialised result)}``."""
        self._rid += 1
        rid = self._rid
        targets = [a for a in self.worker_comms if workers is None or a in workers]
        if not targets:
            return {}
        fut = asyncio.get_running_loop().create_future()
        self._pending_runs[rid] = {"future": fut, "left": set(targets), "results": {}}
        for a in targets:
            self.worker_comms[a].send({**msg, "rid": rid})
        return await fut

    def _restart(self, comm: Comm, msg: dict) -> None:
        asyncio.get_running_loop().create_task(self._do_restart(comm, msg))

    async def _do_restart(self, comm: Comm, msg: dict) -> None:
        n = len(self.worker_comms)
        clients = list(self.state.clients)
        for c in list(self.worker_comms.values()):
            c.info["leaving"] = True
            c.send({"op": "restart"})
        loop = asyncio.get_running_loop()
        deadline = loop.time() + float(msg.get("timeout", 30))
        while self.worker_comms and loop.time() < deadline:
            await asyncio.sleep(0.05)
        for addr in list(self.worker_comms):
            self.worker_comms.pop(addr).abort()
        old = self.state
        self.state = SchedulerState()
        self.state.funcs, self.state.fnames = old.funcs, old.fnames  # clients do not resend them
        for cid in clients:
            self.state.add_client(cid)
        for c in self.client_comms.values():
            c.send({"op": "restarted"})
        while len(self.worker_comms) < n and loop.time() < deadline:
            await asyncio.sleep(0.05)
        self._reply(comm, msg, len(self.worker_comms))

    def _shutdown(self, comm: Comm, msg: dict) -> None:
        logger.info("shutdown requested by a client: stopping workers and scheduler")
        for c in list(self.worker_comms.values()):
            c.info["leaving"] = True
            c.send({"op": "close"})
        self._reply(comm, msg, True)
        asyncio.get_running_loop().call_later(0.2, lambda: asyncio.ensure_future(self.close()))
