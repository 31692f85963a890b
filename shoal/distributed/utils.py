"""Small shared pieces: the per-process IO loop thread, logging set-up, sizes."""
from __future__ import annotations

import asyncio
import logging
import sys
import threading
from typing import Any, Coroutine

_loop_lock = threading.Lock()
_loop_thread: "LoopThread | None" = None


class LoopThread:
    """One asyncio loop running in a daemon thread; sync code submits to it."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self.thread = threading.Thread(target=self._run, name="shoal-io", daemon=True)
        self.thread.start()
        self._ready.wait()

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)
        self.loop.call_soon(self._ready.set)
        self.loop.run_forever()

    def run(self, coro: Coroutine, timeout: float | None = None) -> Any:
        """Run ``coro`` on the loop and wait for its result from this (other) thread."""
        if threading.current_thread() is self.thread:
            raise RuntimeError("cannot block on the IO loop from inside it")
        fut = asyncio.run_coroutine_threadsafe(coro, self.loop)
        try:
            return fut.result(timeout)
        except TimeoutError:
            fut.cancel()
            raise

    def call(self, fn: Any, *args: Any) -> None:
        self.loop.call_soon_threadsafe(fn, *args)


def io_loop() -> LoopThread:
    """The process-wide IO loop thread (started on first use)."""
    global _loop_thread
    with _loop_lock:
        if _loop_thread is None or not _loop_thread.thread.is_alive():
            _loop_thread = LoopThread()
        return _loop_thread


def setup_logging(level: str = "INFO") -> None:
    """Timestamped log lines on stderr (command-line processes)."""
    root = logging.getLogger("shoal")
    if not any(getattr(h, "_shoal", False) for h in root.handlers):
        h = logging.StreamHandler(sys.stderr)
        h.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        h._shoal = True  # type: ignore[attr-defined]
        root.addHandler(h)
    root.setLevel(level)


def sizeof(obj: Any) -> int:
    """Cheap size estimate of a value in bytes (numpy/pandas aware)."""
    nb = getattr(obj, "nbytes", None)
    if isinstance(nb, int):
        return nb
    mu = getattr(obj, "memory_usage", None)
    if mu is not None:
        try:
            r = mu(deep=True)
            return int(r.sum()) if hasattr(r, "sum") else int(r)
        except Exception:
            pass
    try:
        return sys.getsizeof(obj)
    except Exception:
        return 64

