"""The worker's task state machine (pure: events in, instructions out).

Rules
-----
* A task the scheduler sends (``compute``) is ``fetching`` while some input
  lives on another worker, ``ready`` once every input is local, ``executing``
  on one of ``nthreads`` threads, then ``memory`` or gone (an error is
  reported and the task forgotten: its own, or, while ``fetching``, the
  holder's report that an input cannot be serialised).  ``TRANSITIONS`` lists the legal moves;
  anything else raises ``InvalidTransition`` naming event, state and key.
* Inputs fetched from peers are counted per local task that needs them;
  once fetched they are kept as replicas (reported with ``add-replicas``) so
  later tasks here do not fetch them again; the scheduler frees them.
  Fetches are grouped per peer, one request per peer per event.
* Ready tasks run in priority order (the scheduler's depth-first order): one
  per thread, plus up to ``SHORT_PREFETCH`` queued when their function is
  known (from reported durations) to take under ``SHORT_TASK_S``.
* While ``paused`` (memory pressure) nothing new starts.
* ``steal`` gives up tasks not yet started (fetching or ready) so the
  scheduler can run them elsewhere; executing ones are refused.
* Nothing here does IO or reads a clock.  Instructions are tuples:
  ``("execute", key)``, ``("fetch", peer, [keys])``, ``("send", msg)`` (to the
  scheduler), ``("drop", key)`` (free a value from the data store).
"""
from __future__ import annotations

import heapq
from typing import Any

from shoal.distributed.exceptions import InvalidTransition

FETCHING, READY, EXECUTING, MEMORY = "fetching", "ready", "executing", "memory"
TRANSITIONS = {
    (None, FETCHING): "compute",
    (None, READY): "compute",
    (FETCHING, READY): "inputs-arrived",
    (READY, EXECUTING): "start",
    (EXECUTING, MEMORY): "finished",
}


SHORT_TASK_S = 0.001   # tasks faster than this on average are prefetched
SHORT_PREFETCH = 256    # at most this many queued per worker beyond nthreads


class WTask:
    __slots__ = ("key", "state", "spec", "fid", "deps", "prio", "missing", "holders")

    def __init__(self, key: Any, spec: Any, fid: Any, deps: list, prio: int):
        self.key = key
        self.state = None
        self.spec = spec
        self.fid = fid
        self.deps = deps
        self.prio = prio
        self.missing = 0
        self.holders: dict | None = None


class WorkerState:
    """Which tasks to fetch, run, keep and drop; see the module docstring."""

    def __init__(self, nthreads: int):
        self.nthreads = nthreads
        self.tasks: dict = {}          # key -> WTask (not yet finished)
        self.have: set = set()         # keys whose values are in the data store
        self.own: set = set()          # values computed here (the scheduler knows of them)
        self.borrowed: dict = {}       # fetched key -> number of local tasks needing it
        self.fetch_waiters: dict = {}  # key in flight -> [WTask]
        self.ready: list = []          # heap (prio, seq, key)
        self.executing: set = set()
        self.cancelled: set = set()    # executing keys the scheduler no longer wants
        self.paused = False
        self.durations: dict = {}      # fid -> [total seconds, count]
        self._seq = 0

    def _move(self, t: WTask, to: str, event: str) -> None:
        if (t.state, to) not in TRANSITIONS:
            raise InvalidTransition(event, t.state, to, t.key, where="worker")
        t.state = to

    def _start_more(self, out: list) -> None:
        ready = self.ready
        tasks = self.tasks
        while ready and not self.paused:
            n = len(self.executing)
            if n >= self.nthreads:
                # beyond one per thread, queue only tasks known to be tiny, so the
                # threads run them back to back and report them in batches
                if n >= self.nthreads + SHORT_PREFETCH:
                    break
                t = tasks.get(ready[0][2])
                d = self.durations.get(t.fid) if t is not None else None
                if t is not None and (d is None or d[0] > SHORT_TASK_S * d[1]):
                    break
            _, _, key = heapq.heappop(ready)
            t = tasks.get(key)
            if t is None or t.state != READY:
                continue
            self._move(t, EXECUTING, "start")
            self.executing.add(key)
            out.append(("execute", key))

    def _push_ready(self, t: WTask) -> None:
        self._seq += 1
        heapq.heappush(self.ready, (t.prio, self._seq, t.key))

    # ---- events --------------------------------------------------------
    def compute(self, key: Any, spec: Any, fid: Any, deps: list | None, prio: int) -> list:
        """The scheduler assigns ``key``; ``deps`` is ``[(dep_key, holders, nbytes)]``."""
        out: list = []
        if key in self.tasks or key in self.have:
            if key in self.cancelled:
                # cancelled while running, now wanted again: report the running copy's result
                self.cancelled.discard(key)
            if key in self.have:  # already computed here (e.g. after a reschedule)
                out.append(("send", {"op": "task-finished", "key": key, "nbytes": 0, "duration": 0.0}))
            return out
        dkeys = [d[0] for d in deps] if deps else []
        t = WTask(key, spec, fid, dkeys, prio)
        self.tasks[key] = t
        self.cancelled.discard(key)
        requests: dict = {}
        for dkey, holders, _nb in deps or ():
            if dkey in self.have:
                if dkey in self.borrowed:
                    self.borrowed[dkey] += 1
                continue
            if dkey in self.borrowed:  # fetch already in flight for another task
                self.borrowed[dkey] += 1
                self.fetch_waiters[dkey].append(t)
                t.missing += 1
                continue
            if not holders:
                out.append(("send", {"op": "missing-data", "key": key, "dep": dkey, "holder": None}))
                # undo what the inputs before this one registered (their fetches are never sent)
                self._abandon_unsent(t, requests, out)
                return out
            self.borrowed[dkey] = 1
            self.fetch_waiters[dkey] = [t]
            t.missing += 1
            if t.holders is None:
                t.holders = {}
            t.holders[dkey] = holders[0]
            requests.setdefault(holders[0], []).append(dkey)
        if t.missing:
            self._move(t, FETCHING, "compute")
            for peer, keys in requests.items():
                out.append(("fetch", peer, keys))
        else:
            self._move(t, READY, "compute")
            self._push_ready(t)
            self._start_more(out)
        return out

    def fetched(self, peer: str, got: list, missing: list, errors: dict | None = None) -> list:
        """A fetch from ``peer`` finished: ``got`` keys are now stored, ``missing`` are not.

        ``errors`` maps keys ``peer`` holds but could not serialise to the
        (serialised) error saying so: the tasks needing them fail with it, since
        fetching again or recomputing the value would fail the same way.
        """
        out: list = []
        for dkey, exc in (errors or {}).items():
            for t in self.fetch_waiters.pop(dkey, ()):
                if self.tasks.get(t.key) is not t:
                    continue  # abandoned already (freed, or another input failed)
                out.append(("send", {"op": "task-erred", "key": t.key, "exception": exc, "traceback": None}))
                self._abandon(t, out)
            self.borrowed.pop(dkey, None)
        kept = []
        for dkey in got:
            self.have.add(dkey)
            for t in self.fetch_waiters.pop(dkey, ()):
                if t.state != FETCHING:
                    continue
                t.missing -= 1
                if t.missing == 0:
                    self._move(t, READY, "inputs-arrived")
                    self._push_ready(t)
            if dkey not in self.borrowed:  # nobody needs it any more
                if dkey not in self.own:  # (a copy announced earlier stays until the scheduler frees it)
                    self.have.discard(dkey)
                    out.append(("drop", dkey))
            elif dkey not in self.own:
                # keep it as a replica the scheduler knows of: later tasks that
                # need it here do not fetch it again, and it is freed with the original
                self.own.add(dkey)
                kept.append(dkey)
            if self.borrowed.get(dkey) == 0:
                del self.borrowed[dkey]  # a replica asked for by the scheduler: no task holds it
        if kept:
            out.append(("send", {"op": "add-replicas", "keys": kept}))
        for dkey in missing:
            for t in self.fetch_waiters.pop(dkey, ()):
                if self.tasks.get(t.key) is not t:
                    continue  # abandoned (freed or stolen); a newer copy is not this fetch's
                out.append(("send", {"op": "missing-data", "key": t.key, "dep": dkey, "holder": peer}))
                self._abandon(t, out)
            self.borrowed.pop(dkey, None)
        self._start_more(out)
        return out

    def _abandon_unsent(self, t: WTask, requests: dict, out: list) -> None:
        """Forget ``t`` before any of its fetches (``requests``) went out."""
        unsent = {k for keys in requests.values() for k in keys}
        for dkey in unsent:
            waiters = self.fetch_waiters.get(dkey)
            if waiters is not None:
                waiters[:] = [w for w in waiters if w is not t]
                if not waiters:
                    del self.fetch_waiters[dkey]
        self._abandon(t, out)
        for dkey in unsent:
            # nobody fetches it now: a later task must ask for it afresh
            if dkey not in self.fetch_waiters:
                self.borrowed.pop(dkey, None)

    def _release_inputs(self, t: WTask, out: list) -> None:
        for dkey in t.deps:
            n = self.borrowed.get(dkey)
            if n is None:
                continue
            if n <= 1:
                del self.borrowed[dkey]
                if dkey in self.have and dkey not in self.own:
                    self.have.discard(dkey)
                    out.append(("drop", dkey))
            else:
                self.borrowed[dkey] = n - 1

    def _abandon(self, t: WTask, out: list) -> None:
        self.tasks.pop(t.key, None)
        self._release_inputs(t, out)

    def finished(self, key: Any, nbytes: int, duration: float) -> list:
        """A thread finished ``key``; the value is already in the data store."""
        out: list = []
        t = self.tasks.get(key)
        if t is not None and t.state != EXECUTING:
            return out  # a stale report for a newer copy that has not started: not its result
        self.tasks.pop(key, None)
        self.executing.discard(key)
        if t is None or key in self.cancelled:
            self.cancelled.discard(key)
            out.append(("drop", key))
        else:
            d = self.durations.get(t.fid)
            if d is None:
                self.durations[t.fid] = [duration, 1]
            else:
                d[0] += duration
                d[1] += 1
            self._move(t, MEMORY, "finished")
            self.have.add(key)
            self.own.add(key)
            self.borrowed.pop(key, None)
            out.append(("send", {"op": "task-finished", "key": key, "nbytes": nbytes, "duration": duration}))
        if t is not None:
            self._release_inputs(t, out)
        self._start_more(out)
        return out

    def failed(self, key: Any, exception: Any, traceback: Any) -> list:
        out: list = []
        t = self.tasks.get(key)
        if t is not None and t.state != EXECUTING:
            return out
        self.tasks.pop(key, None)
        self.executing.discard(key)
        if t is not None and key not in self.cancelled:
            out.append(("send", {"op": "task-erred", "key": key, "exception": exception, "traceback": traceback}))
        self.cancelled.discard(key)
        if t is not None:
            self._release_inputs(t, out)
        self._start_more(out)
        return out

    def free(self, keys: list) -> list:
        """The scheduler no longer needs these keys here."""
        out: list = []
        for key in keys:
            t = self.tasks.get(key)
            if t is not None:
                if key in self.executing:
                    self.cancelled.add(key)  # its thread cannot be stopped; drop the result
                else:
                    self._abandon(t, out)
                continue
            if key in self.own:
                self.own.discard(key)
                if key not in self.borrowed:
                    self.have.discard(key)
                    out.append(("drop", key))
        return out

    def steal(self, keys: list, sid: Any = None) -> list:
        """The scheduler moves these tasks elsewhere: give up those not yet started.

        The answer echoes the request id ``sid`` so the scheduler can tell it
        from an answer to an older request for the same task."""
        out: list = []
        given, refused = [], []
        for key in keys:
            t = self.tasks.get(key)
            if t is None or t.state == EXECUTING:
                refused.append(key)
            else:
                self._abandon(t, out)
                given.append(key)
        out.append(("send", {"op": "steal-response", "given": given, "refused": refused, "sid": sid}))
        return out

    def change_threads(self, delta: int) -> list:
        """A task seceded from (+1) or rejoined (-1) the thread pool.

        A seceded task blocks on other tasks, so it stops counting against
        ``nthreads`` here and on the scheduler, and ready work may start.
        """
        self.nthreads = max(1, self.nthreads + delta)
        out: list = [("send", {"op": "worker-threads", "delta": delta})]
        self._start_more(out)
        return out

    def acquire_replicas(self, items: list) -> list:
        """Copy values from their holders and keep them (``[(key, holders)]``), e.g.
        before the only holder retires; announced with ``add-replicas`` once here."""
        out: list = []
        requests: dict = {}
        for key, holders in items:
            if key in self.have or key in self.borrowed or not holders:
                continue
            self.borrowed[key] = 0   # in flight; no local task needs it
            self.fetch_waiters[key] = []
            requests.setdefault(holders[0], []).append(key)
        for peer, keys in requests.items():
            out.append(("fetch", peer, keys))
        return out

    def set_paused(self, paused: bool) -> list:
        out: list = []
        self.paused = paused
        self._start_more(out)
        return out

    def scattered(self, keys: list) -> list:
        for k in keys:
            self.have.add(k)
            self.own.add(k)
        return []

    def lost_keys(self, keys: list) -> list:
        """Values vanished from the store (should not happen; be honest about it)."""
        for k in keys:
            self.have.discard(k)
            self.own.discard(k)
        return []
