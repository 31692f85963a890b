"""Work stealing for the scheduler state machine (pure: no IO, no clock).

``balance()`` (called periodically by the server) finds
workers with idle threads and workers holding more assigned tasks than
threads, and asks the busiest to give up their last-to-run tasks (``steal``)
when moving those tasks' inputs takes less time than they would wait there.
The victim answers with the tasks it had not started (``steal_response``);
only those move, so a task never runs twice because of a steal.

How much moves: tasks are taken from the back of the busiest victims (the
ones they would run last) while that evens out the expected wait of thief
and victim, and only tasks whose inputs reach the thief sooner than they
would start on the victim.  A worker that drains completely asks at once
(from ``task_finished``); ``balance()`` is the periodic sweep for the rest.
"""
from __future__ import annotations

import heapq

from shoal.distributed.scheduler.model import MAX_DEPTH, MEMORY, PROCESSING, TaskState, WorkerState

BANDWIDTH = 100e6      # bytes/s assumed for moving task inputs between hosts
LOCAL_BANDWIDTH = 1e9  # ... and between worker processes on one host (loopback)
MIN_STEAL_WAIT = 0.01  # seconds: a victim's backlog shorter than this is not worth a round trip


class WorkStealing:
    """Mixin of ``SchedulerState``: uses its ``workers``, ``stealing``, ``out``,
    ``_fits``, ``_assign``, ``_unassign``, ``_move``, ``_reschedule``."""

    workers: dict
    stealing: dict             # TaskState -> (victim, thief, request id) while a steal is asked
    out: list
    tasks: dict
    _steal_seq: int
    work_stealing: bool

    def _move_cost(self, ts: TaskState, ws: WorkerState) -> float:
        """Seconds to bring the inputs of ``ts`` that ``ws`` lacks to ``ws``."""
        cost = 0.0
        for d in ts.deps:
            holders = d.who_has
            if holders and ws not in holders:
                cost += d.nbytes / (LOCAL_BANDWIDTH if holders[0].host == ws.host else BANDWIDTH)
        return cost

    def balance(self) -> list:
        """Ask overloaded workers to hand not-yet-started tasks to idle ones."""
        if len(self.workers) < 2 or not self.work_stealing:
            return []
        if self.queued:
            self._fill_all()
        plan = None
        for ws in list(self.workers.values()):
            if ws.status == "running" and len(ws.processing) < ws.nthreads:
                if plan is None:
                    plan = self._steal_plan()
                    if not plan[0]:
                        break
                self._steal_for(ws, plan)
        return self._take()

    def _steal_plan(self, refresh: bool = True) -> tuple:
        """Victims (busiest first) and what is already being asked, computed once per sweep.

        ``refresh`` re-estimates every candidate's backlog (the periodic sweep);
        the drain path skips that, costing O(workers), and refreshes only the
        victims it actually takes from."""
        victims = []
        for ws in self.workers.values():
            if len(ws.processing) > (ws.nthreads if ws.status == "running" else 0):
                if refresh:
                    self._refresh_occupancy(ws)
                if ws.occupancy / ws.nthreads >= MIN_STEAL_WAIT:
                    victims.append(ws)
        victims.sort(key=lambda w: w.occupancy / w.nthreads, reverse=True)
        asked_of: dict = {}       # victim -> [number, seconds] already being asked of it
        asked_for: dict = {}      # thief -> [number, seconds] already on their way to it
        for ts, (victim, thief, _sid) in self.stealing.items():
            est = victim.processing.get(ts, 0.0)
            for d, w in ((asked_of, victim), (asked_for, thief)):
                a = d.get(w)
                if a is None:
                    d[w] = [1, est]
                else:
                    a[0] += 1
                    a[1] += est
        return victims, asked_of, asked_for

    def _refresh_occupancy(self, ws: WorkerState) -> None:
        """Re-estimate a worker's queued work with today's task durations: tasks
        assigned while their group's duration was unknown (or measured on tiny
        inputs) would otherwise hide a long backlog from the thieves."""
        proc = ws.processing
        total = 0.0
        for ts in proc:
            est = self._duration(ts)
            proc[ts] = est
            total += est
        ws.occupancy = total

    def _stealable(self, ts: TaskState, thief: WorkerState) -> bool:
        if ts in self.stealing or not self._fits(ts, thief):
            return False
        for d in ts.deps:
            if d.state != MEMORY:
                return False  # an input was lost: the task is about to be rescheduled anyway
        return True

    def _steal_for(self, thief: WorkerState, plan: tuple | None = None) -> None:
        victims, asked_of, asked_for = plan if plan is not None else self._steal_plan(refresh=False)
        if not victims:
            return
        self._refresh_occupancy(thief)
        mine = asked_for.get(thief, (0, 0.0))
        room = MAX_DEPTH - len(thief.processing) - mine[0]
        load = (thief.occupancy + mine[1]) / thief.nthreads
        for victim in victims:
            if room <= 0:
                break
            if victim is thief:
                continue
            if plan is None:
                self._refresh_occupancy(victim)
            running = victim.status == "running"
            a = asked_of.get(victim)
            if a is None:
                a = asked_of[victim] = [0, 0.0]
            spare = min(room, len(victim.processing) - (victim.nthreads if running else 0) - a[0])
            # a paused worker starts nothing: all it has not started may go
            vload = (victim.occupancy - a[1]) / victim.nthreads if running else float("inf")
            if spare <= 0 or load >= vload:
                continue
            picked = []
            # the victim runs in priority order: its last tasks wait longest
            candidates = heapq.nlargest(spare + a[0] + 16, victim.processing, key=lambda t: t.priority)
            for ts in candidates:
                if len(picked) >= spare:
                    break
                if not self._stealable(ts, thief):
                    continue
                est = victim.processing[ts]
                if load + est / thief.nthreads > vload - est / victim.nthreads:
                    break  # balanced: moving more would only shift the wait
                if self._move_cost(ts, thief) >= vload:
                    continue
                picked.append(ts)
                load += est / thief.nthreads
                vload -= est / victim.nthreads
                a[0] += 1
                a[1] += est
            if picked:
                room -= len(picked)
                self._steal_seq += 1
                sid = self._steal_seq
                for ts in picked:
                    self.stealing[ts] = (victim, thief, sid)
                self.out.append(("w", victim.address,
                                 {"op": "steal", "keys": [ts.key for ts in picked], "sid": sid}))

    def steal_response(self, address: str, given: list, refused: list, sid: int | None = None) -> list:
        """The victim gave up ``given`` (never started) and kept ``refused``.

        Only entries of the request ``sid`` count: an answer that arrives after
        the task moved on (and perhaps was asked for again) changes nothing.
        """
        stealing = self.stealing
        for key in refused:
            ts = self.tasks.get(key)
            entry = stealing.get(ts) if ts is not None else None
            if entry is not None and entry[2] == sid:
                del stealing[ts]
        for key in given:
            ts = self.tasks.get(key)
            entry = stealing.get(ts) if ts is not None else None
            if entry is None or entry[2] != sid:
                continue  # the task moved on meanwhile; the victim dropped its copy
            del stealing[ts]
            victim, thief, _ = entry
            if ts.state != PROCESSING or ts.processing_on is not victim or victim.address != address:
                continue
            self._unassign(ts)
            self.n_stolen += 1
            inputs_ready = all(d.state == MEMORY for d in ts.deps)
            if inputs_ready and self.workers.get(thief.address) is thief and thief.status == "running" \
                    and self._fits(ts, thief):
                self._move(ts, PROCESSING, "steal")
                self._assign(ts, thief)
            else:
                self._reschedule(ts, "steal")
        ws = self.workers.get(address)
        if ws is not None:
            self._fill(ws)  # it may have emptied meanwhile, with work queued that only it fits
        return self._take()
