"""Futures: handles to results living on the cluster, plus wait/as_completed.

A ``Future`` is a key plus a reference count held by its ``Client``; when
the last Future for a key is garbage collected the client tells the
scheduler (batched), which frees the value.  Completion state lives in one
``_KeyState`` per key, shared by every Future of that key, and waiting uses
one condition variable per client: no per-future threads or asyncio objects.
"""
from __future__ import annotations

import queue
import threading
from collections import namedtuple
from typing import Any, Iterable, Iterator

from shoal.distributed.exceptions import CancelledError, RemoteTraceback  # noqa: F401 - re-exported
from shoal.distributed.protocol.serialize import deserialize

_collect = threading.local()


def _future_value(key: Any) -> Any:
    from shoal.distributed.worker.server import get_worker

    return get_worker().data[key]


class _KeyState:
    __slots__ = ("status", "exception", "traceback", "callbacks", "nbytes", "blame")

    def __init__(self) -> None:
        self.status = "pending"
        self.exception: Any = None
        self.traceback: Any = None
        self.callbacks: list | None = None
        self.nbytes = 0
        self.blame = None


class Future:
    """A remote result; ``result()`` blocks until it is ready."""

    __slots__ = ("key", "client", "_state", "_released", "__weakref__")

    def __init__(self, key: Any, client: Any, _state: _KeyState | None = None, _acquired: bool = False):
        self.key = key
        self.client = client
        self._released = False
        if _acquired:  # the client already counted this reference (bulk path)
            self._state = _state
            return
        self._state = _state if _state is not None else client.refs.state(key)
        client.refs.inc(key)

    def __del__(self) -> None:
        if self._released:
            return
        try:
            self.client.refs.dec(self.key)
        except Exception:
            pass

    def __repr__(self) -> str:
        return f"<Future: {self.status}, key: {self.key!r}>"

    def __reduce__(self):
        # a Future inside task arguments stands for its value: the client records
        # the key as a dependency of that task, and on the worker (where the
        # value is local by then) unpickling replaces it by the value itself
        found = getattr(_collect, "keys", None)
        if found is not None:
            found.add(self.key)
        return (_future_value, (self.key,))

    @property
    def status(self) -> str:
        return self._state.status

    def done(self) -> bool:
        return self._state.status in ("finished", "error", "cancelled", "lost")

    def cancelled(self) -> bool:
        return self._state.status == "cancelled"

    def _wait(self, timeout: float | None) -> None:
        if not self.done():
            self.client.refs.wait([self.key], timeout)

    def result(self, timeout: float | None = None) -> Any:
        """The value; raises the task's error, or ``TimeoutError`` after ``timeout``
        seconds (waiting for the task and fetching its value together)."""
        return self.client._gather_keys([self.key], timeout=timeout)[0]

    def _exc(self) -> BaseException:
        st = self._state
        exc = deserialize(st.exception) if st.exception is not None else None
        if not isinstance(exc, BaseException):
            exc = RuntimeError(f"task {self.key!r} failed")
        if st.traceback and exc.__cause__ is None:
            exc.__cause__ = RemoteTraceback(st.traceback)
        return exc

    def exception(self, timeout: float | None = None) -> BaseException | None:
        self._wait(timeout)
        return self._exc() if self._state.status == "error" else None

    def traceback(self, timeout: float | None = None) -> str | None:
        """The worker-side traceback text of a failed task (None if it did not fail)."""
        self._wait(timeout)
        return self._state.traceback if self._state.status == "error" else None

    def cancel(self) -> None:
        self.client.cancel([self])

    def release(self) -> None:
        """Drop this future's hold on its value now (once; later calls do nothing)."""
        if not self._released:
            self._released = True
            self.client.refs.dec(self.key)

    def add_done_callback(self, fn: Any) -> None:
        """Call ``fn(future)`` when done, on the client's callback thread (``fn`` may block)."""
        self.client._add_callback(self, fn)



def futures_of(obj: Any) -> list:
    """The Futures inside ``obj``: a Future, a (nested) list/tuple/set/dict of them, or a
    persisted collection (whose graph holds the Futures of its partitions)."""
    if hasattr(type(obj), "__shoal_graph__") and not isinstance(obj, type):
        return [v for v in obj.__shoal_graph__().values() if isinstance(v, Future)]
    return _flatten(obj)


def _flatten(fs: Any) -> list:
    if isinstance(fs, Future):
        return [fs]
    if hasattr(type(fs), "__shoal_graph__") and not isinstance(fs, type):
        return futures_of(fs)  # a persisted collection: wait for / gather its partitions
    if isinstance(fs, dict):
        fs = fs.values()
    elif not isinstance(fs, (list, tuple, set, frozenset)):
        return []  # a plain value: nothing to wait for (gather(5) is 5)
    out = []
    for f in fs:
        if isinstance(f, Future):
            out.append(f)
        elif isinstance(f, (list, tuple, set, dict)):
            out.extend(_flatten(f))
    return out


DoneAndNotDone = namedtuple("DoneAndNotDone", ["done", "not_done"])


def wait(fs: Any, timeout: float | None = None, return_when: str = "ALL_COMPLETED") -> DoneAndNotDone:
    """Block until futures finish (``ALL_COMPLETED``, ``FIRST_COMPLETED`` or ``FIRST_EXCEPTION``)."""
    futures = _flatten(fs)
    if not futures:
        return DoneAndNotDone(set(), set())
    if return_when not in ("ALL_COMPLETED", "FIRST_COMPLETED", "FIRST_EXCEPTION"):
        raise ValueError(f"return_when={return_when!r}; use 'ALL_COMPLETED', 'FIRST_COMPLETED' or 'FIRST_EXCEPTION'")
    client = futures[0].client
    client.refs.wait_futures(futures, timeout, return_when)
    done = {f for f in futures if f.done()}
    return DoneAndNotDone(done, set(futures) - done)


class as_completed:
    """Iterate over futures in the order they finish.

    >>> for future in as_completed(futures):
    ...     print(future.result())
    >>> for future, result in as_completed(futures, with_results=True): ...
    """

    def __init__(self, futures: Iterable = (), with_results: bool = False, raise_errors: bool = True):
        self._queue: queue.SimpleQueue = queue.SimpleQueue()
        self._n = 0
        self._lock = threading.Lock()
        self.with_results = with_results
        self.raise_errors = raise_errors
        for f in futures:
            self.add(f)

    def add(self, future: Future) -> None:
        with self._lock:
            self._n += 1
        future.add_done_callback(self._queue.put)

    def update(self, futures: Iterable) -> None:
        for f in futures:
            self.add(f)

    def count(self) -> int:
        return self._n

    def is_empty(self) -> bool:
        return self._n == 0

    def __iter__(self) -> Iterator:
        return self

    def __next__(self) -> Any:
        with self._lock:
            if self._n == 0:
                raise StopIteration
            self._n -= 1
        f = self._queue.get()
        if self.with_results:
            try:
                return f, f.result()
            except Exception as e:
                if self.raise_errors:
                    raise
                return f, e
        return f

    def next_batch(self, block: bool = True) -> list:
        out = [next(self)] if block and self._n else []
        while self._n:
            try:
                f = self._queue.get_nowait()
            except queue.Empty:
                break
            with self._lock:
                self._n -= 1
            out.append((f, f.result()) if self.with_results else f)
        return out

    def batches(self) -> Iterator:
        while self._n:
            yield self.next_batch()


def fire_and_forget(futures: Any) -> None:
    """Keep computing these futures' tasks even after every Future is dropped."""
    fs = _flatten(futures)
    if fs:
        fs[0].client._fire_and_forget([f.key for f in fs])
