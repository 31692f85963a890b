"""Track a set of distributed futures for ``progress``.

The tracker polls the futures' states from a background thread (a future's
state is a local attribute the client keeps up to date, so a poll costs no
network round trip) and keeps per-group counts (group = ``key_split(key)``).
A poll is O(futures not yet finished): finished ones are dropped from the
watch list, so a long run polls less and less.
"""
from __future__ import annotations

import threading
import time
from typing import Any

from shoal.base import key_split

__all__ = ["DistributedProgress", "future_status"]

_DONE = {"finished", "memory", "done", "lost-but-done"}
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


class DistributedProgress:
    """Per-group done/total counts for ``futures``; ``wait()`` until done or erred."""

    def __init__(self, futures: list, poll: float = 0.05):
        self.poll = poll
        uniq = {}
        for f in futures:
            uniq.setdefault(f.key, f)
        self.futures = list(uniq.values())
        self.total: dict[str, int] = {}
        self.done: dict[str, int] = {}
        for f in self.futures:
            g = key_split(f.key)
            self.total[g] = self.total.get(g, 0) + 1
            self.done.setdefault(g, 0)
        self._pending = list(self.futures)
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
                if st == "finished":
                    g = key_split(f.key)
                    self.done[g] += 1
                elif st == "error":
                    self.errored = True
                    still.append(f)
                else:
                    still.append(f)
            self._pending = still
            return self.errored or not still

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
