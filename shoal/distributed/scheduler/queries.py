"""Client requests the scheduler answers beside running graphs.

``has-what`` (keys per worker), ``task-stream`` (recent task events),
``run-on-scheduler`` (a function run in the scheduler process, for
inspection), ``retire-workers`` (close workers without losing their
results: values only they hold are first copied to other workers) and
``rebalance`` (values moved from fuller workers to emptier ones, copy first),
``plugins`` (worker plugins kept here and installed on every worker,
including those that join later).  All state changes go through the
state machine's events; this module only asks and routes.
"""
from __future__ import annotations

import asyncio
import inspect
import logging
from typing import Any

from shoal.distributed.protocol.serialize import deserialize, loads_function, serialize

logger = logging.getLogger("shoal.distributed.scheduler")


class ClientQueries:
    def __init__(self, server: Any):
        self.server = server
        self.plugins: dict = {}     # name -> cloudpickled plugin
        self.handlers = {
            "has-what": self._has_what,
            "task-stream": self._task_stream,
            "run-on-scheduler": self._run_on_scheduler,
            "retire-workers": self._retire_workers,
            "register-plugin": self._register_plugin,
            "unregister-plugin": self._unregister_plugin,
            "replicate": lambda comm, msg: self._spawn(self._replicate(comm, msg)),
            "restart-workers": lambda comm, msg: self._spawn(self._restart_workers(comm, msg)),
            "rebalance": lambda comm, msg: self._spawn(self._rebalance(comm, msg)),
        }

    @staticmethod
    def _spawn(coro: Any) -> None:
        asyncio.get_running_loop().create_task(coro)

    def _has_what(self, comm: Any, msg: dict) -> None:
        workers = self.server.state.workers
        wanted = msg.get("workers") or list(workers)
        self.server._reply(comm, msg, {a: [ts.key for ts in workers[a].has_what] for a in wanted if a in workers})

    def _task_stream(self, comm: Any, msg: dict) -> None:
        events = list(self.server.events)
        start = msg.get("start")
        out = [{"key": k, "worker": w, "startstops": [{"action": "compute", "start": s, "stop": e}]
                if s is not None else [], "status": st}
               for k, w, s, e, st in events if start is None or (s is not None and s >= start)]
        self.server._reply(comm, msg, out)

    def _run_on_scheduler(self, comm: Any, msg: dict) -> None:
        asyncio.get_running_loop().create_task(self._run_here(comm, msg))

    async def _run_here(self, comm: Any, msg: dict) -> None:
        try:
            func = loads_function(msg["func"])
            args, kwargs = deserialize(msg["args"])
            try:
                params = inspect.signature(func).parameters
            except (TypeError, ValueError):
                params = {}
            if "dask_scheduler" in params:
                kwargs["dask_scheduler"] = self.server
            elif "scheduler" in params:
                kwargs["scheduler"] = self.server
            result = func(*args, **kwargs)
            if inspect.isawaitable(result):
                result = await result
            reply = (True, serialize(result))
        except Exception as e:
            try:
                reply = (False, serialize(e))
            except Exception:
                reply = (False, serialize(RuntimeError(f"{type(e).__name__}: {e}")))
        self.server._reply(comm, msg, reply)

    # ---- retiring workers ------------------------------------------------
    def _retire_workers(self, comm: Any, msg: dict) -> None:
        asyncio.get_running_loop().create_task(self._retire(comm, msg))

    async def _retire(self, comm: Any, msg: dict) -> None:
        server = self.server
        st = server.state
        names = msg.get("workers")
        if names is None:
            n = int(msg.get("n") or 0)
            chosen = sorted(st.workers.values(), key=lambda w: w.nbytes)[:n]
        else:
            chosen = [w for w in st.workers.values() if w.address in names or w.name in names]
        addrs = [w.address for w in chosen]
        if len(addrs) >= len(st.workers) and any(ts.who_has for ts in st.tasks.values()):
            server._reply(comm, msg, (False, "cannot retire every worker while they hold results: "
                                             "keep at least one, or release the futures first"))
            return
        for a in addrs:
            server._route(st.set_worker_status(a, "retiring"))  # no new work goes there
        loop = asyncio.get_running_loop()
        deadline = loop.time() + float(msg.get("timeout") or 60)
        asked: set = set()
        while loop.time() < deadline:
            st = server.state
            busy = False
            for a in addrs:
                ws = st.workers.get(a)
                if ws is None:
                    continue
                if ws.processing:
                    busy = True
                sole = [ts for ts in ws.has_what if ts.who_has and all(h.address in addrs for h in ts.who_has)]
                if sole:
                    busy = True
                    keep = [w for w in st.workers.values() if w.address not in addrs and w.status == "running"]
                    if keep:
                        for ts in sole:
                            if ts.key not in asked:
                                asked.add(ts.key)
                                target = min(keep, key=lambda w: w.nbytes)
                                c = server.worker_comms.get(target.address)
                                if c is not None:
                                    c.send({"op": "acquire-replicas", "items": [(ts.key, [a])]})
            if not busy:
                break
            await asyncio.sleep(0.05)
        for a in addrs:
            c = server.worker_comms.get(a)
            if c is not None:
                c.info["leaving"] = True
                c.send({"op": "close"})
        while any(a in server.worker_comms for a in addrs) and loop.time() < deadline + 10:
            await asyncio.sleep(0.05)
        server._reply(comm, msg, (True, addrs))

    async def _replicate(self, comm: Any, msg: dict) -> None:
        server = self.server
        st = server.state
        allowed = msg.get("workers")
        targets = [w for w in st.workers.values() if w.status == "running"
                   and (not allowed or w.address in allowed or w.name in allowed)]
        n = int(msg.get("n") or len(targets))
        if n > len(targets):
            server._reply(comm, msg, (False, f"replicate(n={n}) but only {len(targets)} workers can hold copies"))
            return
        sends: dict = {}
        want: dict = {}
        for k in msg["keys"]:
            ts = st.tasks.get(k)
            if ts is None or not ts.who_has:
                continue
            have = [w.address for w in ts.who_has]
            need = n - sum(1 for t in targets if t.address in have)
            for w in sorted(targets, key=lambda w: w.nbytes):
                if need <= 0:
                    break
                if w.address not in have:
                    sends.setdefault(w.address, []).append((k, have))
                    want.setdefault(k, set()).add(w.address)
                    need -= 1
        for a, items in sends.items():
            c = server.worker_comms.get(a)
            if c is not None:
                c.send({"op": "acquire-replicas", "items": items})
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 60
        while want and loop.time() < deadline:
            await asyncio.sleep(0.02)
            st = server.state
            for k in list(want):
                ts = st.tasks.get(k)
                if ts is None or not ts.who_has or want[k] <= {w.address for w in ts.who_has} \
                        or not want[k] & set(st.workers):
                    del want[k]
        server._reply(comm, msg, (True, None) if not want else
                      (False, f"{len(want)} values were not copied within 60s"))

    async def _rebalance(self, comm: Any, msg: dict) -> None:
        """Move values from workers holding more than the mean bytes to those holding less.

        Each move copies a value to the receiver first and only then drops the
        sender's copy (a state-machine event that never removes a last copy),
        so a worker lost midway costs nothing.
        """
        server = self.server
        st = server.state
        allowed = msg.get("workers")
        pool = [w for w in st.workers.values() if w.status == "running"
                and (not allowed or w.address in allowed or w.name in allowed)]
        keys = set(msg["keys"]) if msg.get("keys") is not None else None
        if len(pool) < 2:
            server._reply(comm, msg, (True, 0))
            return
        mean = sum(w.nbytes for w in pool) / len(pool)
        level = {w.address: w.nbytes for w in pool}
        moves: list = []  # (key, sender, receiver)
        for sender in sorted(pool, key=lambda w: -w.nbytes):
            if level[sender.address] <= mean:
                break
            for ts in sorted(sender.has_what, key=lambda t: -t.nbytes):
                if keys is not None and ts.key not in keys:
                    continue
                receiver = min(pool, key=lambda w: level[w.address])
                if receiver is sender or any(h is receiver for h in ts.who_has) \
                        or level[receiver.address] + ts.nbytes > mean \
                        or level[sender.address] - ts.nbytes < mean:
                    continue
                moves.append((ts.key, sender.address, receiver.address))
                level[sender.address] -= ts.nbytes
                level[receiver.address] += ts.nbytes
        sends: dict = {}
        for key, src, dst in moves:
            sends.setdefault(dst, []).append((key, [src]))
        for dst, items in sends.items():
            c = server.worker_comms.get(dst)
            if c is not None:
                c.send({"op": "acquire-replicas", "items": items})
        loop = asyncio.get_running_loop()
        deadline = loop.time() + float(msg.get("timeout") or 60)
        pending = list(moves)
        moved = 0
        while pending and loop.time() < deadline:
            await asyncio.sleep(0.02)
            st = server.state
            left = []
            for key, src, dst in pending:
                ts = st.tasks.get(key)
                if ts is None or src not in st.workers or dst not in st.workers:
                    continue  # forgotten or a worker left: nothing to move
                if any(w.address == dst for w in ts.who_has):
                    server._route(st.remove_replicas(src, [key]))
                    moved += 1
                else:
                    left.append((key, src, dst))
            pending = left
        server._reply(comm, msg, (True, moved) if not pending else
                      (False, f"{len(pending)} of {len(moves)} values were not moved within the timeout"))

    async def _restart_workers(self, comm: Any, msg: dict) -> None:
        server = self.server
        st = server.state
        names = msg["workers"]
        targets = [a for a, w in st.workers.items() if a in names or w.name in names]
        unknown = [n for n in names if n not in targets and n not in {st.workers[a].name for a in targets}]
        if unknown:
            server._reply(comm, msg, (False, f"no such workers: {unknown}; see client.scheduler_info()['workers']"))
            return
        others = set(server.worker_comms) - set(targets)
        for a in targets:
            c = server.worker_comms.get(a)
            if c is not None:
                c.info["leaving"] = True
                c.send({"op": "restart"})
        loop = asyncio.get_running_loop()
        deadline = loop.time() + float(msg.get("timeout") or 60)
        old = [server.worker_comms[a] for a in targets if a in server.worker_comms]
        while loop.time() < deadline:
            now = server.worker_comms
            if len(now) >= len(others) + len(targets) and not any(c in old for c in now.values()):
                server._reply(comm, msg, (True, sorted(now)))
                return
            await asyncio.sleep(0.05)
        server._reply(comm, msg, (False, f"the restarted workers were not back within {msg.get('timeout')}s: "
                                         "only workers started with a nanny (the default) can restart"))

    # ---- worker plugins ----------------------------------------------------
    def _register_plugin(self, comm: Any, msg: dict) -> None:
        self.plugins[msg["name"]] = msg["plugin"]
        asyncio.get_running_loop().create_task(self._install(comm, msg))

    async def _install(self, comm: Any, msg: dict) -> None:
        res = await self.server.run_everywhere({"op": "plugin-add", "name": msg["name"], "plugin": msg["plugin"]})
        self.server._reply(comm, msg, res)

    def _unregister_plugin(self, comm: Any, msg: dict) -> None:
        self.plugins.pop(msg["name"], None)
        asyncio.get_running_loop().create_task(self._remove(comm, msg))

    async def _remove(self, comm: Any, msg: dict) -> None:
        res = await self.server.run_everywhere({"op": "plugin-remove", "name": msg["name"]})
        self.server._reply(comm, msg, res)

    def worker_joined(self, comm: Any) -> None:
        """A new worker gets every registered plugin before any task."""
        for name, plugin in self.plugins.items():
            comm.send({"op": "plugin-add", "name": name, "plugin": plugin, "rid": None})
