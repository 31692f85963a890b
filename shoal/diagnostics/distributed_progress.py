"""Track a set of distributed futures for ``progress``.

The tracker polls the futures' states from a background thread (a future's
state is a local attribute the client keeps up to date, so a poll costs no
network round trip) and keeps per-group counts (group = ``key_split(key)``).
A poll is O(futures not yet finished): finished ones are dropped from the
watch list, so a long run polls less and less.

When the client's scheduler runs in this process (``LocalCluster``), the
bar counts every task the futures depend on, not only the futures
themselves (``client.compute(x)`` has one output but many tasks): their keys
are collected once from the scheduler's task table, and each poll reads the
states of the ones not yet done on the scheduler's own loop.  Polls are
spaced so they take at most ~2% of that loop (a poll's cost / ``POLL_DUTY``).
"""
from __future__ import annotations

import threading
import time
from typing import Any

from shoal.utils import key_split

__all__ = ["DistributedProgress", "future_status"]

_DONE = {"finished", "memory", "done", "lost-but-done"}
POLL_DUTY = 0.02
_ERR = {"error", "erred", "cancelled", "lost"}


def future_status(f: Any) -> str:
    """'pending', 'finished' or 'error' for any shoal/compatible future."""
    st = getattr(f, "status", None)
    if callable(st):
        st = st()
    if isinstance(st, str):
        if st in _DONE:
            return "finished"
        if st in _ERR:
            return "error"
        return "pending"
    done = getattr(f, "done", None)
    if callable(done) and done():
        try:
            return "error" if f.exception(timeout=0) is not None else "finished"
        except Exception:
            return "error"
    return "pending"


class _SchedulerGraph:
    """The futures' whole task graph, read from an in-process scheduler."""

    def __init__(self, server: Any, runner: Any, futures: list, timeout: float = 2.0):
        self.server = server
        self.runner = runner
        # the client sends its graph asynchronously: wait until the scheduler has it
        keys = [f.key for f in futures]
        deadline = time.monotonic() + timeout
        while True:
            found, walked = self._call(self.server.state.dependency_closure, keys)
            if (found == len(keys) or time.monotonic() > deadline
                    or all(future_status(f) != "pending" for f in futures)):
                break
            time.sleep(0.01)
        self.keys = walked

    def _call(self, fn: Any, *args: Any) -> Any:
        async def go() -> Any:
            return fn(*args)

        return self.runner.run(go(), 30)

    def states(self, keys: list) -> list[str]:
        """'finished' / 'error' / 'pending' per key (a key gone from the table is done)."""
        return self._call(self.server.state.progress_states, keys)


def _scheduler_graph(futures: list) -> "_SchedulerGraph | None":
    clients = {id(getattr(f, "client", None)): getattr(f, "client", None) for f in futures}
    if len(clients) != 1:
        return None
    cluster = getattr(next(iter(clients.values())), "cluster", None)
    server = getattr(cluster, "scheduler", None)
    runner = getattr(cluster, "_loop", None)
    if server is None or not hasattr(getattr(server, "state", None), "progress_states") or not hasattr(runner, "run"):
        return None
    try:
        g = _SchedulerGraph(server, runner, futures)
        return g if g.keys else None  # already done and forgotten: count the futures
    except Exception:  # the scheduler is closing: fall back to the futures
        return None


class DistributedProgress:
    """Per-group done/total counts for ``futures``; ``wait()`` until done or erred."""

    def __init__(self, futures: list, poll: float = 0.05):
        self.poll = poll
        uniq = {}
        for f in futures:
            uniq.setdefault(f.key, f)
        self.futures = list(uniq.values())
        self.graph = _scheduler_graph(self.futures) if self.futures else None
        keys = self.graph.keys if self.graph is not None else list(uniq)
        # group names from the keys, in first-seen order of the futures' graph
        self.total: dict[str, int] = {}
        self.done: dict[str, int] = {}
        self._group: dict = {}
        for k in reversed(keys):
            g = self._group[k] = key_split(k)
            self.total[g] = self.total.get(g, 0) + 1
            self.done.setdefault(g, 0)
        self._pending_keys = list(keys)
        self._pending = list(self.futures)
        self._next_graph_poll = 0.0
        self.errored = False
        self.t0 = time.monotonic()
        self._lock = threading.Lock()
        self._closed = threading.Event()

    def update(self) -> bool:
        """Poll once; True when everything finished or something erred."""
        with self._lock:
            still = []
            for f in self._pending:
                st = future_status(f)
                if st == "error":
                    self.errored = True
                if st != "finished":
                    still.append(f)
                elif self.graph is None:
                    self.done[self._group[f.key]] += 1
            self._pending = still
            if self.graph is not None:
                self._update_graph(final=not still)
            return self.errored or not still

    def _update_graph(self, final: bool) -> None:
        now = time.monotonic()
        if not final and now < self._next_graph_poll:
            return
        t0 = time.perf_counter()
        try:
            states = self.graph.states(self._pending_keys)
        except Exception:
            return
        self._next_graph_poll = now + (time.perf_counter() - t0) / POLL_DUTY
        left = []
        for k, st in zip(self._pending_keys, states):
            if st == "finished" or (final and not self.errored):
                self.done[self._group[k]] += 1
            else:
                left.append(k)
                if st == "error":
                    self.errored = True
        self._pending_keys = left

    def snapshot(self) -> tuple[dict, dict]:
        with self._lock:
            return dict(self.done), dict(self.total)

    def wait(self) -> str:
        """Block until done (``Completed``) or an error (``Errored``)."""
        while not self._closed.is_set():
            if self.update():
                return "Errored" if self.errored else "Completed"
            self._closed.wait(self.poll)
        return "Cancelled"

    def close(self) -> None:
        self._closed.set()
