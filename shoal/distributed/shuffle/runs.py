"""Which peer-to-peer shuffle runs exist, for the scheduler (pure: no IO).

A shuffle (named by its output's name, the same on every worker) runs as
one *run* at a time: a run id and the workers taking part, fixed when the
run starts.  Output partition ``j`` is kept by ``workers[j % n]``.  Each
input's transfer reports itself done *to a run*; a run is complete when
every input is done in it.

A run is dropped when one of its workers leaves (its shards are gone with
it) or when a reader finds its data missing.  The next request starts a
fresh run with the workers present then, so a transfer that finished in a
dropped run no longer counts: the scheduler recomputes it (see
``shoal.distributed.scheduler.shuffle``).  Rows are never counted twice because a run's data are
kept per input and replaced, not appended, when that input is sent again.
"""
from __future__ import annotations

import itertools
from typing import Any

__all__ = ["Run", "ShuffleRuns"]


class Run:
    """One attempt at a shuffle: its workers and the inputs done in it."""

    __slots__ = ("id", "token", "n_in", "nout", "workers", "done", "dropped", "keys", "complete_before_drop")

    def __init__(self, id: int, token: str, n_in: int, nout: int, workers: tuple, keys: dict):
        self.id = id
        self.token = token
        self.n_in = n_in
        self.nout = nout
        self.workers = workers
        self.done: set = set()
        self.dropped = False
        self.complete_before_drop = False
        self.keys = keys  # "transfer" (a name: keys (name, i)), "barrier" (a key), "output" (a name)

    def owner(self, j: int) -> str:
        return self.workers[j % len(self.workers)]

    @property
    def complete(self) -> bool:
        return not self.dropped and len(self.done) == self.n_in

    def transfer_key(self, i: int) -> tuple:
        return (self.keys["transfer"], i)

    def output_key(self, j: int) -> tuple:
        return (self.keys["output"], j)

    def info(self) -> dict:
        return {"id": self.id, "workers": list(self.workers), "n_in": self.n_in, "nout": self.nout}


class ShuffleRuns:
    """The current run of every shuffle; see the module docstring."""

    def __init__(self) -> None:
        self.current: dict[str, Run] = {}
        self._ids = itertools.count(1)

    def get(self, token: str, n_in: int, nout: int, keys: dict, workers: list) -> tuple[Run, bool]:
        """The live run of ``token``, or a new one over ``workers``; and whether it is new."""
        run = self.current.get(token)
        if run is not None and not run.dropped:
            if (run.n_in, run.nout) != (n_in, nout):
                raise ValueError(f"shuffle {token!r} was started with {run.n_in} inputs and {run.nout} outputs, "
                                 f"now asked for {n_in} and {nout}")
            return run, False
        if not workers:
            raise RuntimeError(f"shuffle {token!r} cannot start: the cluster has no workers")
        run = Run(next(self._ids), token, n_in, nout, tuple(sorted(workers)), dict(keys))
        self.current[token] = run
        return run, True

    def mark_done(self, token: str, run_id: int, i: int) -> bool:
        """Input ``i`` delivered everything in run ``run_id``; False if that run is no longer live."""
        run = self.current.get(token)
        if run is None or run.id != run_id or run.dropped:
            return False
        if not 0 <= i < run.n_in:
            raise ValueError(f"shuffle {token!r} has {run.n_in} inputs; input {i} reported done")
        run.done.add(i)
        return True

    def drop(self, token: str, run_id: int | None = None) -> Run | None:
        """Drop the live run of ``token`` (only if it is ``run_id``, when given)."""
        run = self.current.get(token)
        if run is None or run.dropped or (run_id is not None and run.id != run_id):
            return None
        run.dropped = True
        return run

    def worker_removed(self, address: str) -> list:
        """Runs that lose their data with ``address``: dropped, and returned."""
        out = []
        for token, run in self.current.items():
            if not run.dropped and address in run.workers:
                run.complete_before_drop = run.complete
                run.dropped = True
                out.append(run)
        return out

    def forget(self, token: str) -> Run | None:
        return self.current.pop(token, None)

    def tokens(self) -> list:
        return list(self.current)

    def get_run(self, token: str) -> Any:
        return self.current.get(token)
