"""The Client's bookkeeping of futures: per-key states, reference counts, waiting.

Every ``Future`` of a key shares one ``_KeyState`` (status, error, callbacks);
the Client counts references per key under one lock.  When the last future
of a key is dropped the key goes into a release batch that is sent to the
scheduler once per IO-loop turn, however many futures were dropped, so
freeing a million futures costs one message, not a million.  Waiting
threads sleep on the Client's condition variable, which the IO loop
notifies as key states change.
"""
from __future__ import annotations

import time
from typing import Any

from shoal.distributed.futures import Future, _KeyState

_DONE = ("finished", "error", "cancelled", "lost")


class FutureRefs:
    """Mixin of ``Client``: uses its ``_keys``, ``_refs``, ``_ref_lock``, ``_cond``,
    ``_post``, ``_loop``, ``_comm`` and ``status``."""

    _keys: dict
    _refs: dict
    status: str

    def _key_state(self, key: Any) -> _KeyState:
        st = self._keys.get(key)
        if st is None:
            st = self._keys[key] = _KeyState()
        return st

    def _inc_ref(self, key: Any) -> None:
        with self._ref_lock:
            refs = self._refs
            refs[key] = refs.get(key, 0) + 1

    def _acquire(self, keys: list) -> list:
        """Count one reference to each key (one lock for all); their states, in order.

        Called as keys are (re)submitted: a key whose earlier run was cancelled
        or lost is pending again, since the scheduler is about to run it anew."""
        refs, states = self._refs, self._keys
        out = []
        with self._ref_lock:
            for k in keys:
                refs[k] = refs.get(k, 0) + 1
                st = states.get(k)
                if st is None:
                    st = states[k] = _KeyState()
                elif st.status == "cancelled" or st.status == "lost":
                    st.status = "pending"
                    st.exception = st.traceback = st.blame = None
                out.append(st)
        return out

    def _futures(self, keys: list) -> list:
        return [Future(k, self, st, True) for k, st in zip(keys, self._acquire(keys))]

    def _release(self, keys: list) -> None:
        """Drop one reference to each key; tell the scheduler once about those now unused."""
        refs = self._refs
        with self._ref_lock:
            gone = []
            for k in keys:
                n = refs.get(k, 0) - 1
                if n > 0:
                    refs[k] = n
                else:
                    refs.pop(k, None)
                    self._keys.pop(k, None)
                    gone.append(("r", k))
            if not gone or self.status != "running":
                return
            self._post(gone)

    def _dec_ref(self, key: Any) -> None:
        with self._ref_lock:
            n = self._refs.get(key, 0) - 1
            if n > 0:
                self._refs[key] = n
                return
            self._refs.pop(key, None)
            self._keys.pop(key, None)
            if self.status != "running":
                return
            self._post([("r", key)])

    def _add_callback(self, fut: Future, fn: Any) -> None:
        def add():
            st = fut._state
            if st.callbacks is None:
                st.callbacks = []
            st.callbacks.append((fn, fut))
            if st.status in _DONE:
                self._run_callbacks([(fut.key, st)])
        self._loop.call(add)

    def _wait_keys(self, keys: list, timeout: float | None) -> None:
        states = [self._key_state(k) for k in keys]
        deadline = None if timeout is None else time.monotonic() + timeout
        i = 0
        n = len(states)
        with self._cond:
            while i < n:
                if states[i].status in _DONE:
                    i += 1
                    continue
                if deadline is not None:
                    left = deadline - time.monotonic()
                    if left <= 0:
                        raise TimeoutError(f"{n - i} of {n} futures not finished after {timeout}s")
                    self._cond.wait(left)
                else:
                    self._cond.wait(1.0)

    def _wait_futures(self, futures: list, timeout: float | None, return_when: str) -> None:
        if return_when == "ALL_COMPLETED":
            self._wait_keys([f.key for f in futures], timeout)
            return
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._cond:
            while True:
                if return_when == "FIRST_COMPLETED" and any(f.done() for f in futures):
                    return
                if return_when == "FIRST_EXCEPTION" and (any(f.status == "error" for f in futures)
                                                         or all(f.done() for f in futures)):
                    return
                left = None if deadline is None else deadline - time.monotonic()
                if left is not None and left <= 0:
                    return
                self._cond.wait(left if left is not None else 1.0)

