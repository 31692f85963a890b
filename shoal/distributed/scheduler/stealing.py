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

from shoal.distributed.scheduler.model import PROCESSING, TaskState, WorkerState

BANDWIDTH = 100e6      # bytes/s assumed for moving task inputs between hosts
LOCAL_BANDWIDTH = 1e9  # ... and between worker processes on one host (loopback)
MIN_STEAL_WAIT = 0.01  # seconds: a victim's backlog shorter than this is not worth a round trip


class WorkStealing:
    """Mixin of ``SchedulerState``: uses its ``workers``, ``stealing``, ``out``,
    ``_fits``, ``_assign``, ``_unassign``, ``_move``, ``_reschedule``."""

    workers: dict
    stealing: dict
    out: list
    tasks: dict

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
        if len(self.workers) < 2:
            return []
        if self.queued:
            self._fill_all()
        for ws in list(self.workers.values()):
            if ws.status == "running" and len(ws.processing) < ws.nthreads:
                self._steal_for(ws)
        return self._take()

    def _steal_for(self, thief: WorkerState) -> None:
        victims = [ws for ws in self.workers.values()
                   if ws is not thief and len(ws.processing) > (ws.nthreads if ws.status == "running" else 0)
                   and ws.occupancy / ws.nthreads >= MIN_STEAL_WAIT]
        if not victims:
            return
        victims.sort(key=lambda w: w.occupancy / w.nthreads, reverse=True)
        asked_of: dict = {}       # victim -> [number, seconds] already being asked of it
        load = thief.occupancy
        for ts, (victim, to) in self.stealing.items():
            est = victim.processing.get(ts, 0.0)
            if to is thief:
                load += est
            a = asked_of.setdefault(victim, [0, 0.0])
            a[0] += 1
            a[1] += est
        load /= thief.nthreads
        for victim in victims:
            a = asked_of.get(victim, (0, 0.0))
            spare = len(victim.processing) - (victim.nthreads if victim.status == "running" else 0) - a[0]
            vload = (victim.occupancy - a[1]) / victim.nthreads
            if victim.status != "running":
                vload = float("inf")  # a paused worker runs nothing: take all it has not started
            picked = []
            # the victim runs in priority order: its last tasks wait longest
            for ts in sorted(victim.processing, key=lambda t: t.priority, reverse=True):
                if spare <= 0:
                    break
                if ts in self.stealing or not self._fits(ts, thief):
                    continue
                est = victim.processing[ts]
                if load + est / thief.nthreads > vload - est / victim.nthreads:
                    break  # balanced: moving more would only shift the wait
                if self._move_cost(ts, thief) >= vload:
                    continue
                picked.append(ts)
                load += est / thief.nthreads
                vload -= est / victim.nthreads
                spare -= 1
            if picked:
                for ts in picked:
                    self.stealing[ts] = (victim, thief)
                self.out.append(("w", victim.address, {"op": "steal", "keys": [ts.key for ts in picked]}))

    def steal_response(self, address: str, given: list, refused: list) -> list:
        """The victim gave up ``given`` (never started) and kept ``refused``."""
        stealing = self.stealing
        for key in refused:
            ts = self.tasks.get(key)
            if ts is not None:
                stealing.pop(ts, None)
        for key in given:
            ts = self.tasks.get(key)
            if ts is None:
                continue
            pair = stealing.pop(ts, None)
            if pair is None or ts.state != PROCESSING or ts.processing_on is not pair[0] \
                    or pair[0].address != address:
                continue  # the task moved on meanwhile; the victim dropped its copy
            self._unassign(ts)
            self.n_stolen += 1
            thief = pair[1]
            if self.workers.get(thief.address) is thief and thief.status == "running" \
                    and self._fits(ts, thief):
                self._move(ts, PROCESSING, "steal")
                self._assign(ts, thief)
            else:
                self._reschedule(ts, "steal")
        return self._take()

