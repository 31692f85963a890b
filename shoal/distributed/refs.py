"""A Client's table of keys: per-key states, reference counts, waiting.

Every ``Future`` of a key shares one ``_KeyState`` (status, error, callbacks);
the table counts references per key under one lock.  When the last future
of a key is dropped the table hands the key to ``on_released`` (the Client
queues it in a release batch sent once per IO-loop turn, so freeing a
million futures costs one message, not a million).  Waiting threads sleep on
the table's condition variable, which the Client's IO loop notifies as key
states change.
"""
from __future__ import annotations

import threading
import time
from typing import Any, Callable

from shoal.distributed.futures import _KeyState

DONE = ("finished", "error", "cancelled", "lost")


class KeyTable:
    """Key -> ``_KeyState`` and key -> reference count, owned by one Client.

    ``lock`` is re-entrant: a Future dropped by the garbage collector while a
    thread holds it (any allocation may run a collection) takes it again.
    ``on_released(keys)`` runs under ``lock`` with the keys no Future refers
    to any more, so the caller can order their release after messages it
    queued under the same lock.
    """

    def __init__(self, on_released: Callable[[list], None]):
        self.states: dict = {}
        self.counts: dict = {}
        self.lock = threading.RLock()
        self.cond = threading.Condition()
        self._on_released = on_released

    def state(self, key: Any) -> _KeyState:
        st = self.states.get(key)
        if st is None:
            st = self.states[key] = _KeyState()
        return st

    def inc(self, key: Any) -> None:
        with self.lock:
            self.counts[key] = self.counts.get(key, 0) + 1

    def acquire(self, keys: list) -> list:
        """Count one reference to each key (one lock for all); their states, in order.

        Called as keys are (re)submitted: a key whose earlier run was cancelled
        or lost is pending again, since the scheduler is about to run it anew."""
        counts, states = self.counts, self.states
        out = []
        with self.lock:
            for k in keys:
                counts[k] = counts.get(k, 0) + 1
                st = states.get(k)
                if st is None:
                    st = states[k] = _KeyState()
                elif st.status == "cancelled" or st.status == "lost":
                    st.status = "pending"
                    st.exception = st.traceback = st.blame = None
                out.append(st)
        return out

    def release(self, keys: list) -> None:
        """Drop one reference to each key; report those now unused, all at once."""
        counts = self.counts
        with self.lock:
            gone = []
            for k in keys:
                n = counts.get(k, 0) - 1
                if n > 0:
                    counts[k] = n
                else:
                    counts.pop(k, None)
                    self.states.pop(k, None)
                    gone.append(k)
            if gone:
                self._on_released(gone)

    def dec(self, key: Any) -> None:
        self.release([key])

    def notify(self) -> None:
        with self.cond:
            self.cond.notify_all()

    def wait(self, keys: list, timeout: float | None) -> None:
        """Until every key is done; ``TimeoutError`` after ``timeout`` seconds."""
        states = [self.state(k) for k in keys]
        deadline = None if timeout is None else time.monotonic() + timeout
        i = 0
        n = len(states)
        with self.cond:
            while i < n:
                if states[i].status in DONE:
                    i += 1
                    continue
                if deadline is not None:
                    left = deadline - time.monotonic()
                    if left <= 0:
                        raise TimeoutError(f"{n - i} of {n} futures not finished after {timeout}s")
                    self.cond.wait(left)
                else:
                    self.cond.wait(1.0)

    def wait_futures(self, futures: list, timeout: float | None, return_when: str) -> None:
        if return_when == "ALL_COMPLETED":
            self.wait([f.key for f in futures], timeout)
            return
        deadline = None if timeout is None else time.monotonic() + timeout
        with self.cond:
            while True:
                if return_when == "FIRST_COMPLETED" and any(f.done() for f in futures):
                    return
                if return_when == "FIRST_EXCEPTION" and (any(f.status == "error" for f in futures)
                                                         or all(f.done() for f in futures)):
                    return
                left = None if deadline is None else deadline - time.monotonic()
                if left is not None and left <= 0:
                    return
                self.cond.wait(left if left is not None else 1.0)
