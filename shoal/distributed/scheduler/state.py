"""The scheduler's task state machine (pure: events in, instructions out).

Rules
-----
* Every task is in one state: ``released`` (known, not computed: its spec is
  kept so it can be recomputed from lineage), ``waiting`` (some dependency is
  not in memory), ``queued`` (ready, no worker has room yet), ``processing``
  (assigned to one worker), ``memory`` (held by >= 1 worker), ``erred``.
  Forgotten tasks leave ``tasks`` entirely.
* Allowed moves are the rows of ``TRANSITIONS``; any other move raises
  ``InvalidTransition`` naming the event, the state and the key.
* A ready task goes to the worker holding most of its input bytes if that
  worker has room, else to the least loaded worker with room, else to the
  ``queued`` heap (ordered by priority).  A task whose inputs are large
  stays queued on their holder when moving them (at ``BANDWIDTH`` between
  hosts, ``LOCAL_BANDWIDTH`` between processes of one host) would take
  longer than waiting for the holder's current work.  "Room" is ``nthreads`` tasks plus,
  once a task group's duration is known, enough short tasks to cover
  ``SATURATION_S`` seconds: root tasks are only handed out as threads free up
  (no memory flood), while tiny tasks are batched deeply (no idle round trips).
* Reference counts, not scans: ``nwaiting`` (inputs not yet in memory),
  ``nwaiters`` (dependents still needing this value), ``wanted`` (client
  futures).  A value is freed when ``nwaiters == wanted == 0``; a task is
  forgotten when it is also unreferenced by any dependent.  Every event costs
  O(edges touched), never O(all tasks).
* Work stealing lives in ``stealing.WorkStealing``, and what happens when a
  worker or a value is lost in ``recovery.Recovery`` (mixins of this class).
* Nothing here touches sockets or clocks: ``now`` arrives as an argument.

Instructions are tuples ``("w", worker_address, msg)`` or
``("c", client_id, msg)``; the server sends them (batched).
"""
from __future__ import annotations

from itertools import islice
from typing import Any

from shoal import config
from shoal.distributed.protocol.serialize import serialize

from shoal.distributed.scheduler.model import (  # noqa: F401 - re-exported
    ERRED, MAX_DEPTH, MEMORY, PROCESSING, QUEUED, RELEASED, STATE_NAMES, WAITING,
    InvalidTransition, KilledWorker, ReadyQueue, TaskState, WorkerState,
)
from shoal.distributed.scheduler.recovery import Recovery
from shoal.distributed.scheduler.stealing import BANDWIDTH, LOCAL_BANDWIDTH, WorkStealing  # noqa: F401

#: (from, to) -> name of the step; anything else is a bug in the caller
TRANSITIONS = {
    (RELEASED, WAITING): "compute",
    (RELEASED, QUEUED): "compute",
    (RELEASED, PROCESSING): "compute",
    (RELEASED, MEMORY): "scatter",
    (RELEASED, ERRED): "dependency-erred",
    (WAITING, QUEUED): "ready",
    (WAITING, PROCESSING): "ready",
    (WAITING, RELEASED): "cancel",
    (WAITING, ERRED): "dependency-erred",
    (WAITING, MEMORY): "scatter",
    (QUEUED, PROCESSING): "assign",
    (QUEUED, RELEASED): "cancel",
    (QUEUED, WAITING): "input-lost",
    (QUEUED, ERRED): "dependency-erred",
    (QUEUED, MEMORY): "scatter",
    (PROCESSING, MEMORY): "finished",
    (PROCESSING, ERRED): "erred",
    (PROCESSING, QUEUED): "reschedule",
    (PROCESSING, PROCESSING): "reschedule",
    (PROCESSING, WAITING): "input-lost",
    (PROCESSING, RELEASED): "cancel",
    (MEMORY, RELEASED): "free",
    (MEMORY, MEMORY): "replica",
    (ERRED, RELEASED): "retry",
}

SATURATION_S = 0.02   # seconds of known-short work queued per thread
UNKNOWN_DURATION = 0.5

#: the pseudo-client holding fire-and-forget futures: a key it wants is kept
#: until it is in memory or erred, then released like any other future
FIRE_AND_FORGET = "__fire_and_forget__"


class SchedulerState(Recovery, WorkStealing):
    """All scheduling decisions; see the module docstring for the rules."""

    def __init__(self, allowed_failures: int | None = None, validate: bool = False):
        self.tasks: dict = {}
        self.workers: dict[str, WorkerState] = {}
        self.clients: dict[str, set] = {}
        self.funcs: dict = {}          # fid -> cloudpickled function bytes
        self.fnames: dict = {}         # fid -> function name (task-group name)
        self.durations: dict = {}      # fid -> [total seconds, count]
        self.queued = ReadyQueue()     # by priority; stale entries skipped when popped
        self._seq = 0
        self._generation = 0
        self.allowed_failures = (allowed_failures if allowed_failures is not None
                                 else int(config.get("distributed.scheduler.allowed-failures", 3)))
        self.counts = [0] * len(STATE_NAMES)
        self.n_finished = 0
        self.validate = validate
        self.out: list = []            # instructions produced by the current event
        self.work_stealing = bool(config.get("distributed.scheduler.work-stealing", True))
        self.stealing: dict = {}       # TaskState -> (victim, thief, request id) while a steal is asked
        self._steal_seq = 0
        self.n_stolen = 0
        self._faf_done: list = []      # fire-and-forget keys finished during this event
        self.clients[FIRE_AND_FORGET] = set()

    # ---- helpers -------------------------------------------------------
    def _take(self) -> list:
        """End of an event: settle fire-and-forget keys, check invariants, hand out instructions."""
        while self._faf_done:
            done, self._faf_done = self._faf_done, []
            self._release_for(FIRE_AND_FORGET, done)
        if self.validate:
            self.check_invariants()
        out, self.out = self.out, []
        return out

    def _move(self, ts: TaskState, to: int, event: str) -> None:
        if (ts.state, to) not in TRANSITIONS:
            raise InvalidTransition(event, STATE_NAMES[ts.state], STATE_NAMES[to], ts.key)
        self.counts[ts.state] -= 1
        self.counts[to] += 1
        ts.state = to

    def _duration(self, ts: TaskState) -> float:
        d = self.durations.get(ts.fid)
        return d[0] / d[1] if d else UNKNOWN_DURATION

    def _has_room(self, ws: WorkerState) -> bool:
        if ws.status != "running":
            return False
        n = len(ws.processing)
        if n < ws.nthreads:
            return True
        return n < MAX_DEPTH and ws.occupancy < SATURATION_S * ws.nthreads

    def _fits(self, ts: TaskState, ws: WorkerState) -> bool:
        if not ts.extra:
            return True
        allowed = ts.extra.get("workers")
        if allowed and ws.address not in allowed and ws.name not in allowed:
            return False
        res = ts.extra.get("resources")
        if not res:
            return True
        for name, amount in res.items():
            if ws.resources.get(name, 0) - ws.used.get(name, 0) < amount:
                return False
        return True

    # ---- placing work --------------------------------------------------
    def _decide(self, ts: TaskState) -> WorkerState | None:
        """Worker for a ready task: near its data, unless waiting there costs more."""
        score: dict | None = None
        holder = None
        if ts.deps:
            score = {}
            for d in ts.deps:
                if d.who_has:
                    for ws in d.who_has:
                        score[ws] = score.get(ws, 0) + d.nbytes + 1
            if score:
                holder = max(score, key=score.__getitem__)
                if self._has_room(holder) and self._fits(ts, holder):
                    return holder
        best = None
        load = None
        for ws in self.workers.values():
            if self._has_room(ws) and self._fits(ts, ws):
                l = len(ws.processing) / ws.nthreads
                if best is None or l < load:
                    best, load = ws, l
        if holder is not None and holder.status == "running" and self._fits(ts, holder) \
                and len(holder.processing) < MAX_DEPTH:
            # moving the inputs elsewhere vs. queueing behind the holder's work
            move = self._move_cost(ts, best) if best is not None else 0.0
            if best is None or move > holder.occupancy / holder.nthreads:
                return holder
        return best

    def _make_ready(self, ts: TaskState, event: str) -> None:
        ws = self._decide(ts)
        if ws is None:
            self._move(ts, QUEUED, event)
            self._seq += 1
            self.queued.push(ts)
        else:
            self._move(ts, PROCESSING, event)
            self._assign(ts, ws)

    def _assign(self, ts: TaskState, ws: WorkerState) -> None:
        ts.processing_on = ws
        est = self._duration(ts)
        ws.processing[ts] = est
        ws.occupancy += est
        res = ts.extra.get("resources") if ts.extra else None
        if res:
            for name, amount in res.items():
                ws.used[name] = ws.used.get(name, 0) + amount
        msg = {"op": "compute", "key": ts.key, "spec": ts.spec, "fid": ts.fid, "prio": ts.priority}
        if ts.fid is not None and ts.fid not in ws.fids:
            ws.fids.add(ts.fid)
            msg["func"] = self.funcs[ts.fid]
        if ts.deps:
            msg["deps"] = [(d.key, [w.address for w in d.who_has], d.nbytes) for d in ts.deps]
        self.out.append(("w", ws.address, msg))

    def _unassign(self, ts: TaskState) -> WorkerState:
        ws = ts.processing_on
        ts.processing_on = None
        if self.stealing:
            self.stealing.pop(ts, None)
        est = ws.processing.pop(ts, 0.0)
        ws.occupancy = ws.occupancy - est if len(ws.processing) else 0.0
        res = ts.extra.get("resources") if ts.extra else None
        if res:
            for name, amount in res.items():
                ws.used[name] = ws.used.get(name, 0) - amount
        return ws

    def _fill(self, ws: WorkerState) -> None:
        """Hand queued tasks to ``ws`` while it has room."""
        q = self.queued
        skipped = []
        while q and self._has_room(ws):
            ts = q.pop()
            if ts.state != QUEUED:
                continue  # stale entry: the task moved on
            if not self._fits(ts, ws):
                skipped.append(ts)
                continue
            self._move(ts, PROCESSING, "assign")
            self._assign(ts, ws)
        for ts in skipped:
            q.push(ts)

    def _fill_all(self) -> None:
        if self.queued:
            for ws in list(self.workers.values()):
                self._fill(ws)
                if not self.queued:
                    break

    # ---- computing -----------------------------------------------------
    def _compute(self, ts: TaskState, event: str) -> None:
        """Bring a released task towards memory, recomputing lost inputs first."""
        stack = [ts]
        order = []
        seen = set()
        while stack:
            t = stack.pop()
            if t.state != RELEASED or t in seen:
                continue
            seen.add(t)
            order.append(t)
            for d in t.deps:
                if d.state == RELEASED:
                    stack.append(d)
        # inputs first (reverse discovery order), so nwaiting counts are right
        for t in reversed(order):
            if t.state != RELEASED:
                continue
            if t.spec is None and t.fid is None:
                self._no_lineage(t)  # scattered data, freed or lost: nothing to recompute it from
                continue
            erred = None
            n = 0
            for d in t.deps:
                if d.state == ERRED:
                    erred = d
                elif d.state != MEMORY:
                    n += 1
                d.nwaiters += 1
            if erred is not None:
                for d in t.deps:
                    d.nwaiters -= 1
                self._err_from(t, erred, event)
                continue
            t.nwaiting = n
            if n:
                self._move(t, WAITING, event)
            else:
                self._make_ready(t, event)

    def _err_from(self, ts: TaskState, cause: TaskState, event: str) -> None:
        if ts.extra is None:
            ts.extra = {}
        ts.extra["exception"] = cause.extra["exception"]
        ts.extra["traceback"] = cause.extra.get("traceback")
        ts.extra["blame"] = cause.extra.get("blame", cause.key)
        self._move(ts, ERRED, event)
        self._notify_erred(ts)
        stack = list(ts.dependents or ())
        while stack:
            t = stack.pop()
            if t.state in (WAITING, QUEUED, PROCESSING):
                if t.state == PROCESSING:
                    ws = self._unassign(t)
                    self.out.append(("w", ws.address, {"op": "free", "keys": [t.key]}))
                for d in t.deps:
                    d.nwaiters -= 1
                    self._maybe_release(d)
                if t.extra is None:
                    t.extra = {}
                t.extra["exception"] = ts.extra["exception"]
                t.extra["traceback"] = ts.extra["traceback"]
                t.extra["blame"] = ts.extra["blame"]
                self._move(t, ERRED, event)
                self._notify_erred(t)
                stack.extend(t.dependents or ())

    def _notify_erred(self, ts: TaskState) -> None:
        if ts.wanted:
            msg = {"op": "key-erred", "key": ts.key, "exception": ts.extra["exception"],
                   "traceback": ts.extra.get("traceback"), "blame": ts.extra.get("blame")}
            for cid, wants in self.clients.items():
                if ts in wants:
                    if cid == FIRE_AND_FORGET:
                        self._faf_done.append(ts.key)
                    else:
                        self.out.append(("c", cid, msg))

    def _notify_memory(self, ts: TaskState) -> None:
        if ts.wanted:
            msg = {"op": "key-in-memory", "key": ts.key, "nbytes": ts.nbytes}
            for cid, wants in self.clients.items():
                if ts in wants:
                    if cid == FIRE_AND_FORGET:
                        self._faf_done.append(ts.key)
                    else:
                        self.out.append(("c", cid, msg))

    def _maybe_release(self, ts: TaskState) -> None:
        """Free a value nobody needs any more, and forget what is unreferenced."""
        if ts.nwaiters or ts.wanted:
            return
        if ts.state == MEMORY:
            self._move(ts, RELEASED, "free")
            self._free_data(ts)
        if ts.state in (RELEASED, ERRED) and not ts.dependents:
            self._forget(ts)

    def _free_data(self, ts: TaskState) -> None:
        for ws in ts.who_has or ():
            ws.has_what.discard(ts)
            ws.nbytes -= ts.nbytes
            self.out.append(("w", ws.address, {"op": "free", "keys": [ts.key]}))
        ts.who_has = None

    def _forget(self, ts: TaskState) -> None:
        stack = [ts]
        while stack:
            t = stack.pop()
            if t.key not in self.tasks or t.nwaiters or t.wanted or t.dependents:
                continue
            if t.state not in (RELEASED, ERRED):
                continue
            if t.state == ERRED:
                self._move(t, RELEASED, "retry")
            del self.tasks[t.key]
            self.counts[RELEASED] -= 1
            for d in t.deps:
                if d.dependents:
                    try:
                        d.dependents.remove(t)
                    except ValueError:
                        pass
                if d.state == MEMORY:
                    self._maybe_release(d)
                elif d.state in (RELEASED, ERRED) and not d.dependents:
                    stack.append(d)

    # ---- events: clients ---------------------------------------------
    def add_client(self, cid: str) -> list:
        self.clients.setdefault(cid, set())
        return []

    def remove_client(self, cid: str) -> list:
        wants = self.clients.pop(cid, set())
        for ts in wants:
            ts.wanted -= 1
        for ts in wants:
            self._release_wanted(ts)
        return self._take()

    def update_graph(self, cid: str, keys: list, specs: list, fids: list, deps: list,
                     wanted: list, funcs: dict | None = None, fnames: dict | None = None,
                     priority: int = 0, retries: int = 0, resources: dict | None = None,
                     workers: list | None = None) -> list:
        """New tasks (``keys[i]`` computed by ``specs[i]`` reading ``deps[i]``); ``wanted`` keys get futures."""
        if funcs:
            self.funcs.update(funcs)
        if fnames:
            self.fnames.update(fnames)
        tasks = self.tasks
        self._generation += 1
        base = (-priority << 40) + (self._generation << 24)
        # parallel lists, not a tuple per task: nothing per task is left behind
        # in half-empty memory arenas once this message is processed
        new: list = []
        new_deps: list = []
        for i, key in enumerate(keys):
            if key in tasks:
                continue  # same key (pure call) -> reuse the existing task and result
            ts = TaskState(key, specs[i], fids[i], base + i)
            tasks[key] = ts
            new.append(ts)
            new_deps.append(deps[i])
        self.counts[RELEASED] += len(new)
        bad = []
        for ts, dkeys in zip(new, new_deps):
            if dkeys:
                dl = []
                for dk in dkeys:
                    d = tasks.get(dk)
                    if d is None:
                        bad.append((ts, dk))
                        continue
                    dl.append(d)
                    if d.dependents is None:
                        d.dependents = [ts]
                    else:
                        d.dependents.append(ts)
                ts.deps = tuple(dl)
            if retries or resources or workers:
                ts.extra = {}
                if workers:
                    ts.extra["workers"] = frozenset(workers)
                if retries:
                    ts.extra["retries"] = retries
                if resources:
                    ts.extra["resources"] = dict(resources)
        wants = self.clients.setdefault(cid, set())
        for key in wanted:
            ts = tasks.get(key)
            if ts is not None and ts not in wants:
                wants.add(ts)
                ts.wanted += 1
        for ts, dk in bad:
            ts.extra = ts.extra or {}
            ts.extra["exception"] = serialize(KeyError(
                f"task {ts.key!r} depends on {dk!r}, which is neither in the graph nor held by the "
                "scheduler; include it in the graph or keep a future to it"))
            ts.extra["blame"] = ts.key
            self._move(ts, ERRED, "missing-dependency")  # clients hear of it below
        # compute new wanted tasks (and, through them, everything they need)
        for key in wanted:
            ts = tasks.get(key)
            if ts is None:
                continue
            if ts.state == RELEASED:
                self._compute(ts, "update-graph")
            elif ts.state == MEMORY:
                self._notify_memory(ts)
            elif ts.state == ERRED:
                self._notify_erred(ts)
        # tasks nobody wants and nobody needs (all outputs already existed): drop
        for ts in new:
            if ts.state == RELEASED and not ts.wanted and not ts.nwaiters and not ts.dependents:
                self._forget(ts)
        return self._take()

    def release_keys(self, cid: str, keys: list) -> list:
        """Client ``cid`` dropped its futures to ``keys``."""
        self._release_for(cid, keys)
        return self._take()

    def fire_and_forget(self, keys: list) -> list:
        """Keep ``keys`` computing with no client futures; release each once done."""
        wants = self.clients[FIRE_AND_FORGET]
        for key in keys:
            ts = self.tasks.get(key)
            if ts is None:
                continue
            if ts not in wants:
                wants.add(ts)
                ts.wanted += 1
            if ts.state in (MEMORY, ERRED):
                self._faf_done.append(key)
        return self._take()

    def _release_for(self, cid: str, keys: list) -> None:
        wants = self.clients.get(cid)
        if wants is None:
            return
        for key in keys:
            ts = self.tasks.get(key)
            if ts is not None and ts in wants:
                wants.discard(ts)
                ts.wanted -= 1
                self._release_wanted(ts)

    def _release_wanted(self, ts: TaskState) -> None:
        if ts.wanted or ts.nwaiters or ts.key not in self.tasks:
            return
        if ts.state in (WAITING, QUEUED, PROCESSING):
            self._cancel(ts)
        self._maybe_release(ts)

    def _cancel(self, ts: TaskState) -> None:
        """Stop computing an unwanted task; its inputs may become unneeded too."""
        if ts.state == PROCESSING:
            ws = self._unassign(ts)
            self.out.append(("w", ws.address, {"op": "free", "keys": [ts.key]}))
            self._fill(ws)
        self._move(ts, RELEASED, "cancel")
        for d in ts.deps:
            d.nwaiters -= 1
            if d.state in (WAITING, QUEUED, PROCESSING) and not d.nwaiters and not d.wanted:
                self._cancel(d)
            self._maybe_release(d)

    def scatter(self, cid: str, keys: list, nbytes: list, workers: list) -> list:
        """Data the client put on ``workers`` directly (``client.scatter``)."""
        wants = self.clients.setdefault(cid, set())
        for key, nb in zip(keys, nbytes):
            ts = self.tasks.get(key)
            if ts is None:
                ts = TaskState(key, None, None, 0)
                self.tasks[key] = ts
                self.counts[RELEASED] += 1
            holders = [self.workers[a] for a in workers if a in self.workers]
            if not holders:
                if ts.state == RELEASED and ts.spec is None and ts.fid is None:
                    self._no_lineage(ts, "its worker left while it was being scattered")
                    if ts not in wants:
                        wants.add(ts)
                        ts.wanted += 1
                continue
            if ts.state == ERRED:
                self._move(ts, RELEASED, "retry")  # scattered again, as the error said to
                ts.extra = None
            if ts.state == MEMORY:
                for ws in holders:
                    if ws not in ts.who_has:
                        ts.who_has.append(ws)
                        ws.has_what.add(ts)
                        ws.nbytes += nb
            else:
                if ts.state == PROCESSING:
                    ws0 = self._unassign(ts)
                    self.out.append(("w", ws0.address, {"op": "free", "keys": [ts.key]}))
                if ts.state in (WAITING, QUEUED, PROCESSING):
                    for d in ts.deps:  # its inputs are not needed for it any more
                        d.nwaiters -= 1
                self._move(ts, MEMORY, "scatter")
                ts.nbytes = nb
                ts.who_has = holders
                for ws in holders:
                    ws.has_what.add(ts)
                    ws.nbytes += nb
                self._dependents_ready(ts)
                if ts.deps:
                    for d in ts.deps:
                        self._maybe_release(d)
            if ts not in wants:
                wants.add(ts)
                ts.wanted += 1
            self._notify_memory(ts)
        return self._take()

    # ---- events: workers ---------------------------------------------
    def add_worker(self, address: str, name: Any, nthreads: int, memory_limit: int = 0,
                   resources: dict | None = None, now: float = 0.0) -> list:
        if address in self.workers:
            self.remove_worker(address, "re-registered")
        self.workers[address] = WorkerState(address, name, max(1, nthreads), memory_limit, resources, now)
        self._fill(self.workers[address])
        return self._take()

    def heartbeat(self, address: str, now: float, metrics: dict | None = None) -> list:
        ws = self.workers.get(address)
        if ws is not None:
            ws.last_seen = now
            if metrics:
                ws.metrics = metrics
        return []

    def set_worker_status(self, address: str, status: str) -> list:
        ws = self.workers.get(address)
        if ws is not None:
            ws.status = status
            if status == "running":
                self._fill(ws)
        return self._take()

    def add_replicas(self, address: str, keys: list) -> list:
        """A worker fetched copies of these values and keeps them."""
        ws = self.workers.get(address)
        if ws is None:
            return []
        drop = []
        for key in keys:
            ts = self.tasks.get(key)
            if ts is not None and ts.state == MEMORY:
                if ws not in ts.who_has:
                    ts.who_has.append(ws)
                    ws.has_what.add(ts)
                    ws.nbytes += ts.nbytes
            else:
                drop.append(key)
        if drop:
            self.out.append(("w", address, {"op": "free", "keys": drop}))
        return self._take()

    def remove_replicas(self, address: str, keys: list) -> list:
        """The worker at ``address`` drops its copies of ``keys`` that another worker also holds
        (a value is never left without a holder); it is told to free them."""
        ws = self.workers.get(address)
        if ws is None:
            return []
        freed = []
        for key in keys:
            ts = self.tasks.get(key)
            if ts is None or ts.state != MEMORY or ws not in ts.who_has or len(ts.who_has) < 2:
                continue
            ts.who_has.remove(ws)
            ws.has_what.discard(ts)
            ws.nbytes -= ts.nbytes
            freed.append(key)
        if freed:
            self.out.append(("w", address, {"op": "free", "keys": freed}))
        return self._take()

    def change_threads(self, address: str, delta: int) -> list:
        """A task seceded from (+1) or rejoined (-1) a worker's thread pool."""
        ws = self.workers.get(address)
        if ws is not None:
            ws.nthreads = max(1, ws.nthreads + delta)
            self._fill(ws)
        return self._take()

    # ---- invariants (tests) ------------------------------------------
    def check_invariants(self) -> None:
        """Check every record against the rules; O(all tasks), so only with ``validate=True``.

        Raises ``AssertionError`` naming the task or worker that breaks a rule.
        """
        counts = [0] * len(STATE_NAMES)
        wanted: dict = {}
        for wants in self.clients.values():
            for ts in wants:
                wanted[ts] = wanted.get(ts, 0) + 1
        for key, ts in self.tasks.items():
            counts[ts.state] += 1
            where = f"task {key!r} in {STATE_NAMES[ts.state]!r}"
            assert ts.key == key, where + ": filed under another key"
            assert ts.wanted == wanted.get(ts, 0), \
                f"{where}: wanted={ts.wanted} but {wanted.get(ts, 0)} clients hold it"
            assert ts.nwaiters >= 0 and ts.wanted >= 0, f"{where}: negative reference count"
            if ts.state == PROCESSING:
                ws = ts.processing_on
                assert ws is not None and ts in ws.processing, f"{where}: not on its worker's list"
                assert self.workers.get(ws.address) is ws, f"{where}: assigned to a removed worker"
            else:
                assert ts.processing_on is None, f"{where}: still assigned to {ts.processing_on}"
            if ts.state == MEMORY:
                assert ts.who_has, f"{where}: no worker holds it"
                for ws in ts.who_has:
                    assert ts in ws.has_what, f"{where}: {ws.address} does not list it"
            else:
                assert not ts.who_has, f"{where}: has holders"
            if ts.state == WAITING:
                n = sum(1 for d in ts.deps if d.state != MEMORY)
                assert ts.nwaiting == n and n > 0, f"{where}: nwaiting={ts.nwaiting}, inputs missing={n}"
            for d in ts.deps:
                assert self.tasks.get(d.key) is d, f"{where}: input {d.key!r} was forgotten"
        assert counts == self.counts, f"state counts {self.counts} but tasks hold {counts}"
        for addr, ws in self.workers.items():
            for ts in ws.processing:
                assert ts.state == PROCESSING and ts.processing_on is ws, \
                    f"worker {addr} lists {ts.key!r} as processing but it is {STATE_NAMES[ts.state]!r}"
            for ts in ws.has_what:
                assert ts.who_has and ws in ts.who_has, f"worker {addr} lists {ts.key!r} it does not hold"

    def _dependents_ready(self, ts: TaskState) -> None:
        for t in ts.dependents or ():
            if t.state == WAITING:
                t.nwaiting -= 1
                if t.nwaiting == 0:
                    self._make_ready(t, "ready")

    def task_finished(self, address: str, key: Any, nbytes: int, duration: float) -> list:
        ts = self.tasks.get(key)
        ws = self.workers.get(address)
        if ws is None:
            return []
        if ts is None or ts.state != PROCESSING or ts.processing_on is not ws:
            if ts is not None and ts.state == MEMORY:
                if ws not in ts.who_has:
                    ts.who_has.append(ws)      # a duplicate result is a free replica
                    ws.has_what.add(ts)
                    ws.nbytes += ts.nbytes
            else:
                self.out.append(("w", address, {"op": "free", "keys": [key]}))
            return self._take()
        self._unassign(ts)
        d = self.durations.get(ts.fid)
        if d is None:
            self.durations[ts.fid] = [duration, 1]
        else:
            d[0] += duration
            d[1] += 1
        self._move(ts, MEMORY, "finished")
        self.n_finished += 1
        ts.nbytes = nbytes
        ts.who_has = [ws]
        ws.has_what.add(ts)
        ws.nbytes += nbytes
        for dep in ts.deps:
            dep.nwaiters -= 1
        self._notify_memory(ts)
        self._dependents_ready(ts)
        for dep in ts.deps:
            self._maybe_release(dep)
        self._maybe_release(ts)
        self._fill(ws)
        if not ws.processing and len(self.workers) > 1 and ws.status == "running" and self.work_stealing:
            self._steal_for(ws)  # drained: take work now rather than at the next balance
        return self._take()

    def task_erred(self, address: str, key: Any, exception: Any, traceback: Any) -> list:
        ts = self.tasks.get(key)
        ws = self.workers.get(address)
        if ts is None or ws is None or ts.state != PROCESSING or ts.processing_on is not ws:
            return []
        self._unassign(ts)
        extra = ts.extra if ts.extra is not None else {}
        ts.extra = extra
        if extra.get("retries", 0) > 0:
            extra["retries"] -= 1
            self._reschedule(ts, "retry")
            self._fill(ws)
            return self._take()
        extra["exception"] = exception
        extra["traceback"] = traceback
        extra["blame"] = key
        self._fail(ts, "erred")
        self._fill(ws)
        return self._take()

    # ---- introspection -----------------------------------------------
    def n_pending(self) -> int:
        c = self.counts
        return c[WAITING] + c[QUEUED] + c[PROCESSING]

    def who_has(self, keys: list) -> dict:
        out = {}
        for k in keys:
            ts = self.tasks.get(k)
            out[k] = [w.address for w in ts.who_has] if ts is not None and ts.who_has else []
        return out

    def dependency_closure(self, keys: list) -> tuple[int, list]:
        """How many of ``keys`` the scheduler knows, and those keys with all their inputs."""
        tasks = self.tasks
        stack = [tasks[k] for k in keys if k in tasks]
        found = len(stack)
        seen: set = set()
        out = []
        while stack:
            ts = stack.pop()
            if ts.key in seen:
                continue
            seen.add(ts.key)
            out.append(ts.key)
            stack.extend(ts.deps)
        return found, out

    def progress_states(self, keys: list) -> list[str]:
        """``'finished'``, ``'error'`` or ``'pending'`` per key; a forgotten key is finished."""
        tasks = self.tasks
        out = []
        for k in keys:
            ts = tasks.get(k)
            st = None if ts is None else ts.state
            out.append("finished" if st is None or st in (MEMORY, RELEASED) else
                       "error" if st == ERRED else "pending")
        return out

    def graph_sketch(self, limit: int) -> dict:
        """The first ``limit`` tasks (in submission order) and the edges among them.

        ``{"nodes": [[key, group, state]], "edges": [[i, j]], "total": n}``; O(limit + edges).
        """
        chosen = list(islice(self.tasks.values(), limit))
        index = {id(ts): i for i, ts in enumerate(chosen)}
        nodes = [[str(ts.key), str(self.fnames.get(ts.fid, ts.fid)), STATE_NAMES[ts.state]] for ts in chosen]
        edges = [[index[id(d)], i] for i, ts in enumerate(chosen) for d in ts.deps if id(d) in index]
        return {"nodes": nodes, "edges": edges, "total": len(self.tasks)}

    def snapshot(self) -> dict:
        """JSON-able summary: workers, task counts by state, task groups."""
        groups: dict = {}
        for fid, (tot, n) in self.durations.items():
            groups[self.fnames.get(fid, str(fid))] = {"n_done": n, "mean_duration_s": tot / n}
        return {
            "n_tasks": len(self.tasks),
            "n_tasks_pending": self.n_pending(),
            "n_finished": self.n_finished,
            "states": {STATE_NAMES[i]: c for i, c in enumerate(self.counts)},
            "task_groups": groups,
            "workers": {
                a: {"name": ws.name, "nthreads": ws.nthreads, "memory_limit": ws.memory_limit,
                    "processing": len(ws.processing), "n_keys": len(ws.has_what), "nbytes": ws.nbytes,
                    "status": ws.status, "metrics": ws.metrics, "resources": ws.resources}
                for a, ws in self.workers.items()
            },
            "clients": len(self.clients) - 1,  # not counting the fire-and-forget holder
        }
