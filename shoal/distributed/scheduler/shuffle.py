"""The scheduler's side of peer-to-peer shuffles: runs, completion and recovery.

Workers ask (``{"op": "shuffle", "action": ..., "rid": ...}``, answered by
``shuffle-reply``):

* ``get-run``: the live run of a shuffle, started over the workers present
  now if there is none;
* ``done``: input ``i`` delivered all its shards in run ``id`` (refused if
  that run was dropped meanwhile: the transfer sends again);
* ``wait``: block until the live run is complete, then return it; the
  barrier and every output task ask this, so no output is read from a run
  that lacks an input;
* ``restart``: a reader found a complete run's data missing: drop it.

Recovery needs no special path.  When a run is dropped (a worker of it
left), every worker is told (``shuffle-drop``) and deletes its shards; when
the next run starts, the scheduler *invalidates* the transfers that
finished in an older run (and the barrier, if it finished): their values
stood for shards that are gone, so the state machine recomputes them like
any lost value, from their lineage.  Transfers still running notice the
dropped run when a send fails or their ``done`` is refused, and send again.

Output ``j`` is placed on its run's owner (a worker restriction set when the
run completes, lifted when it is dropped), so it is read from local disk.
A run is kept while any task of its shuffle is known to the scheduler (an
output held by a client may have to be recomputed from its shards); once
they are all forgotten the workers are told to delete it (checked every few
seconds, and whenever a shuffle starts).
"""
from __future__ import annotations

import asyncio
import logging
from typing import Any

from shoal import config
from shoal.distributed.scheduler.model import ERRED, MEMORY, PROCESSING
from shoal.distributed.shuffle.runs import Run, ShuffleRuns

logger = logging.getLogger("shoal.distributed.shuffle")

__all__ = ["ShuffleSchedulerExtension"]


class ShuffleSchedulerExtension:
    def __init__(self, server: Any):
        self.server = server
        self.runs = ShuffleRuns()
        self._changed: dict[str, asyncio.Event] = {}
        self.handlers = {"shuffle": self.handle}

    # ---- requests ------------------------------------------------------
    def handle(self, comm: Any, msg: dict) -> None:
        action = msg.get("action")
        if action == "wait":
            asyncio.get_running_loop().create_task(self._answer_wait(comm, msg))
            return
        try:
            if action == "get-run":
                result = (True, self._ensure(msg["token"], msg["n_in"], msg["nout"], msg["keys"]).info())
            elif action == "done":
                ok = self.runs.mark_done(msg["token"], msg["id"], msg["i"])
                if ok:
                    self._wake(msg["token"])
                result = (True, ok)
            elif action == "restart":
                run = self.runs.drop(msg["token"], msg.get("id"))
                if run is not None:
                    logger.warning("shuffle %s: run %d restarts (%s)", run.token, run.id, msg.get("why", ""))
                    self._dropped([run])
                result = (True, None)
            else:
                raise ValueError(f"unknown shuffle request {action!r}")
        except Exception as e:  # answered, never fatal to the scheduler
            result = (False, f"{type(e).__name__}: {e}")
        comm.send({"op": "shuffle-reply", "rid": msg.get("rid"), "ok": result[0], "result": result[1]})

    async def _answer_wait(self, comm: Any, msg: dict) -> None:
        try:
            info = (True, await self._wait(msg["token"], msg["n_in"], msg["nout"], msg["keys"]))
        except Exception as e:
            info = (False, f"{type(e).__name__}: {e}")
        if not comm.closed:
            comm.send({"op": "shuffle-reply", "rid": msg.get("rid"), "ok": info[0], "result": info[1]})

    async def _wait(self, token: str, n_in: int, nout: int, keys: dict) -> dict:
        """The live run once complete; errs when an input erred or nothing moves for the timeout."""
        timeout = float(config.get("distributed.shuffle.timeout", 300.0))
        while True:
            run = self._ensure(token, n_in, nout, keys)
            if run.complete:
                self._place_outputs(run)
                return run.info()
            self._check_inputs(run)
            event = self._changed.setdefault(token, asyncio.Event())
            event.clear()
            try:
                await asyncio.wait_for(event.wait(), timeout)
            except asyncio.TimeoutError:
                missing = sorted(set(range(run.n_in)) - run.done)
                raise TimeoutError(
                    f"shuffle {token!r} made no progress for {timeout:.0f}s: inputs {missing[:10]} "
                    f"of {run.n_in} never finished sending (raise distributed.shuffle.timeout if the "
                    "inputs are slow to compute)") from None

    def _check_inputs(self, run: Run) -> None:
        tasks = self.server.state.tasks
        for i in range(run.n_in):
            ts = tasks.get(run.transfer_key(i))
            if ts is not None and ts.state == ERRED:
                raise RuntimeError(f"input {i} of shuffle {run.token!r} failed; its error is reported "
                                   f"with the task {ts.key!r}")

    def _wake(self, token: str) -> None:
        event = self._changed.get(token)
        if event is not None:
            event.set()

    # ---- runs ----------------------------------------------------------
    def _ensure(self, token: str, n_in: int, nout: int, keys: dict) -> Run:
        """The live run, starting one if needed; values standing for older runs are invalidated."""
        self._purge()
        state = self.server.state
        run, new = self.runs.get(token, n_in, nout, keys, list(state.workers))
        if new:
            logger.info("shuffle %s: run %d over %d workers", token, run.id, len(run.workers))
        if not run.complete:
            stale = [run.transfer_key(i) for i in range(run.n_in) if i not in run.done]
            stale = [k for k in stale if k in state.tasks and state.tasks[k].state == MEMORY]
            barrier = state.tasks.get(run.keys["barrier"])
            if barrier is not None and barrier.state == MEMORY:
                stale.append(barrier.key)
            if stale:
                self.server._route(state.invalidate(stale))
        return run

    def _place_outputs(self, run: Run) -> None:
        """Run output ``j`` where its shards are (a restriction, lifted if the run is dropped)."""
        tasks = self.server.state.tasks
        for j in range(run.nout):
            ts = tasks.get(run.output_key(j))
            if ts is None or ts.state in (MEMORY, PROCESSING):
                continue
            ts.extra = ts.extra or {}
            ts.extra["workers"] = frozenset([run.owner(j)])

    def _unplace_outputs(self, run: Run) -> None:
        tasks = self.server.state.tasks
        for j in range(run.nout):
            ts = tasks.get(run.output_key(j))
            if ts is not None and ts.extra and "workers" in ts.extra:
                del ts.extra["workers"]

    async def purge_periodically(self, interval: float = 2.0) -> None:
        """Free the workers' disks of finished shuffles without waiting for the next one to start."""
        while True:
            await asyncio.sleep(interval)
            try:
                self._purge()
            except Exception:  # never let housekeeping end the loop
                logger.exception("purging finished shuffle runs failed")

    def _purge(self) -> None:
        """Forget runs whose shuffle left the scheduler (every output done and released)."""
        tasks = self.server.state.tasks
        gone = []
        for token in self.runs.tokens():
            run = self.runs.get_run(token)
            if run.keys["barrier"] not in tasks and run.transfer_key(0) not in tasks \
                    and run.output_key(0) not in tasks:
                self.runs.forget(token)
                self._changed.pop(token, None)
                if not run.dropped:
                    gone.append(run)
        if gone:
            self._tell_drop(gone)

    def _dropped(self, runs: list) -> None:
        for run in runs:
            self._unplace_outputs(run)
            self._wake(run.token)
        self._tell_drop(runs)

    def _tell_drop(self, runs: list) -> None:
        msg = {"op": "shuffle-drop", "ids": [r.id for r in runs]}
        for comm in list(self.server.worker_comms.values()):
            comm.send(msg)

    def worker_removed(self, address: str) -> None:
        runs = self.runs.worker_removed(address)
        for run in runs:
            if not run.complete_before_drop:
                logger.warning("shuffle %s: worker %s left during run %d; its shards are lost, the shuffle "
                               "restarts on the workers left", run.token, address, run.id)
        if runs:
            self._dropped(runs)
