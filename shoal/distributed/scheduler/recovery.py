"""Losing workers and values, for the scheduler state machine (pure: no IO, no clock).

Rules
-----
* A worker that leaves or dies (``remove_worker``): values only it held are
  lost; its assigned tasks are rescheduled.  If it *died* while running a task,
  that task is suspicious; a task suspicious ``allowed_failures`` times errs
  with ``KilledWorker`` naming it instead of killing yet another worker.
* A lost value (``_lose``) is recomputed from its lineage when a client future
  or a waiting dependent still needs it; its dependents wait one more input.
  Scattered data has no lineage: its futures err, saying to scatter again.
* An error (``_fail``) reaches every dependent transitively, each carrying the
  original exception, traceback and the key to blame.
* A worker that cannot fetch an input from its holder (``missing_data``) makes
  the scheduler forget that copy, recompute it if it was the last, and
  reschedule the task that needed it.
"""
from __future__ import annotations

from typing import Any

from shoal.distributed.protocol.serialize import serialize
from shoal.distributed.scheduler.model import (
    ERRED, MEMORY, PROCESSING, QUEUED, RELEASED, WAITING, KilledWorker, TaskState,
)


class Recovery:
    """Mixin of ``SchedulerState``: uses its ``tasks``, ``workers``, ``out``,
    ``allowed_failures`` and its placing and bookkeeping helpers."""

    tasks: dict
    workers: dict
    out: list
    allowed_failures: int

    def stale_workers(self, now: float, timeout: float) -> list:
        """Addresses of workers silent for longer than ``timeout`` seconds."""
        return [a for a, ws in self.workers.items() if now - ws.last_seen > timeout]

    def remove_worker(self, address: str, reason: str = "", died: bool = True) -> list:
        """A worker left or died: reschedule its work, recompute what only it held."""
        ws = self.workers.pop(address, None)
        if ws is None:
            return []
        ws.status = "closed"
        lost = []
        for ts in ws.has_what:
            if ts.who_has:
                try:
                    ts.who_has.remove(ws)
                except ValueError:
                    pass
            if not ts.who_has:
                lost.append(ts)
        ws.has_what = set()
        lost = [ts for ts in sorted(lost, key=lambda t: t.priority) if self._lose_mark(ts)]
        for ts in lost:
            self._lose_recompute(ts)
        for ts in sorted(ws.processing, key=lambda t: t.priority):  # copy: _unassign mutates
            if ts.state != PROCESSING:
                continue
            self._unassign(ts)
            if ts.extra is None:
                ts.extra = {}
            n = ts.extra.get("suspicious", 0) + (1 if died else 0)
            ts.extra["suspicious"] = n
            if died and n >= self.allowed_failures:
                ts.extra["exception"] = serialize(KilledWorker(
                    f"task {ts.key!r} was running on {n} workers that died ({address} was the last: "
                    f"{reason or 'lost'}); it may crash its worker (segfault, out of memory). "
                    "Raise distributed.scheduler.allowed-failures to retry it more often."))
                ts.extra["blame"] = ts.key
                ts.extra["traceback"] = None
                self._fail(ts, "killed-worker")
            else:
                self._reschedule(ts, "worker-lost")
        self._fill_all()
        return self._take()

    def _fail(self, ts: TaskState, event: str) -> None:
        """Mark ``ts`` erred (its ``extra`` already holds exception, traceback
        and blame): tell its waiters, err its dependents, free unneeded inputs."""
        self._move(ts, ERRED, event)
        for d in ts.deps:
            d.nwaiters -= 1
        self._notify_erred(ts)
        self._err_from_dependents(ts)
        for d in ts.deps:
            self._maybe_release(d)

    def _err_from_dependents(self, ts: TaskState) -> None:
        stack = list(ts.dependents or ())
        while stack:
            t = stack.pop()
            if t.state in (WAITING, QUEUED, PROCESSING, RELEASED) and t.key in self.tasks:
                was = t.state
                if was == PROCESSING:
                    ws = self._unassign(t)
                    self.out.append(("w", ws.address, {"op": "free", "keys": [t.key]}))
                if was != RELEASED:
                    for d in t.deps:
                        d.nwaiters -= 1
                        self._maybe_release(d)  # an input only this dependent needed is freed
                t.extra = t.extra or {}
                t.extra.update(exception=ts.extra["exception"], traceback=ts.extra.get("traceback"),
                               blame=ts.extra.get("blame"))
                self._move(t, ERRED, "dependency-erred")
                self._notify_erred(t)
                stack.extend(t.dependents or ())

    def _reschedule(self, ts: TaskState, event: str) -> None:
        """Re-place a task whose worker went away (its inputs may be gone too)."""
        missing = [d for d in ts.deps if d.state != MEMORY]
        if missing:
            ts.nwaiting = len(missing)
            self._move(ts, WAITING, event)
            for d in missing:
                if d.state == RELEASED:
                    self._compute(d, event)
        else:
            self._make_ready(ts, event)

    def invalidate(self, keys: list) -> list:
        """Values of ``keys`` in memory no longer hold: free every copy, recompute them where needed.

        Used when a value stands for state outside the scheduler that is gone
        (a shuffle run's shards): tasks still waiting for it wait again.
        """
        lost = [ts for ts in map(self.tasks.get, keys)
                if ts is not None and ts.state == MEMORY and not (ts.spec is None and ts.fid is None)]
        # tasks running with the stale value start again once it is recomputed; their
        # workers hear of it before the value is freed, so none starts with it missing
        running = {t for ts in lost for t in ts.dependents or () if t.state == PROCESSING}
        for t in sorted(running, key=lambda t: t.priority):
            ws = self._unassign(t)
            self.out.append(("w", ws.address, {"op": "free", "keys": [t.key]}))
        for ts in lost:
            self._free_data(ts)
            self._lose_mark(ts)
        for t in sorted(running, key=lambda t: t.priority):
            self._reschedule(t, "input-lost")
        for ts in lost:
            self._lose_recompute(ts)
        self._fill_all()
        return self._take()

    def _lose(self, ts: TaskState) -> None:
        """The last copy of a value is gone: recompute it if anyone needs it."""
        if self._lose_mark(ts):
            self._lose_recompute(ts)

    def _lose_mark(self, ts: TaskState) -> bool:
        """First half of ``_lose``: the value is released and its dependents wait for it.
        A worker's death marks all its values first, so no recompute is placed while
        another of its values still looks held (by nobody)."""
        if ts.state != MEMORY:
            return False
        self._move(ts, RELEASED, "free")
        ts.who_has = None
        if ts.spec is None and ts.fid is None:
            return True
        # dependents waiting for it now wait one more input
        for t in ts.dependents or ():
            if t.state == WAITING:
                t.nwaiting += 1
            elif t.state == QUEUED:
                t.nwaiting = 1
                self._move(t, WAITING, "input-lost")
        return True

    def _lose_recompute(self, ts: TaskState) -> None:
        if ts.state != RELEASED:
            return
        if ts.spec is None and ts.fid is None:
            self._no_lineage(ts)
        elif ts.wanted or ts.nwaiters:
            self._compute(ts, "recompute")

    def _no_lineage(self, ts: TaskState, why: str = "was lost with its worker") -> None:
        """A released value without a spec (scattered data) is needed: its futures
        and dependents err, honestly, saying how to get it back."""
        ts.extra = ts.extra or {}
        ts.extra["exception"] = serialize(KilledWorker(
            f"scattered data {ts.key!r} {why} and cannot be recomputed; "
            "scatter it again (or scatter with broadcast=True to keep copies)"))
        ts.extra["blame"] = ts.key
        ts.extra["traceback"] = None
        self._move(ts, ERRED, "lost")
        self._notify_erred(ts)
        self._err_from_dependents(ts)

    def missing_data(self, address: str, key: Any, dep_key: Any, holder: str) -> list:
        """A worker could not fetch ``dep_key`` from ``holder`` for ``key``."""
        dep = self.tasks.get(dep_key)
        hws = self.workers.get(holder)
        if dep is not None and dep.state == MEMORY and hws is not None and hws in dep.who_has:
            dep.who_has.remove(hws)
            hws.has_what.discard(dep)
            hws.nbytes -= dep.nbytes
            # the holder may still have it (a passing network error): it is not counted any more
            self.out.append(("w", hws.address, {"op": "free", "keys": [dep_key]}))
            if not dep.who_has:
                self._lose(dep)
        ts = self.tasks.get(key)
        ws = self.workers.get(address)
        if ts is not None and ts.state == PROCESSING and ts.processing_on is ws:
            self._unassign(ts)
            self._reschedule(ts, "input-lost")
            if ws is not None:
                self._fill(ws)
        return self._take()

