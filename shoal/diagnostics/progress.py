"""Progress bars: ``ProgressBar`` for the local schedulers, ``progress`` for the distributed one.

Both draw the same one-line text bar::

    [#################         ] |  65% Completed |  2.1 s | inc 40/40, add 12/30

with per-group counts (group = ``key_split(key)``) and elapsed time.  A
background thread redraws it every ``dt`` seconds with ``\\r`` so the line
updates in place; the last drawing ends with a newline.  On an error the
last line says ``Errored`` and on Ctrl-C ``Cancelled``, and the thread is
always stopped: the bar never leaves a half-drawn line or a live thread.

In Jupyter (when ipywidgets is importable and a kernel is running)
``progress`` shows a widget with one bar per group instead of text.
"""
from __future__ import annotations

import sys
import threading
import time
from typing import IO, Any, Callable, Iterable, Mapping

from shoal.utils import key_split
from shoal.diagnostics.notebook import in_notebook as _in_notebook
from shoal.local.callbacks import Callback

__all__ = ["ProgressBar", "progress", "format_bar", "format_time"]


def format_time(t: float) -> str:
    """``0.42 s``, ``12.3 s``, ``2m 05s``, ``1h 02m``."""
    if t < 10:
        return f"{t:.2f} s"
    if t < 60:
        return f"{t:.1f} s"
    m, s = divmod(int(t), 60)
    if m < 60:
        return f"{m}m {s:02d}s"
    h, m = divmod(m, 60)
    return f"{h}h {m:02d}m"


def format_bar(done: Mapping[str, int], total: Mapping[str, int], elapsed: float, *,
               width: int = 40, status: str = "Completed", max_groups: int | None = 6) -> str:
    """The one-line bar for ``done``/``total`` counts per group."""
    n_total = sum(total.values())
    n_done = sum(done.get(g, 0) for g in total)
    frac = n_done / n_total if n_total else 1.0
    filled = int(width * frac)
    groups = list(total)
    shown = groups if max_groups is None else groups[:max_groups]
    per = ", ".join(f"{g} {done.get(g, 0)}/{total[g]}" for g in shown)
    if len(shown) < len(groups):
        per += f", +{len(groups) - len(shown)} more"
    return (f"[{'#' * filled}{' ' * (width - filled)}] | {frac * 100:3.0f}% {status} | "
            f"{format_time(elapsed)} | {per}")


class _TextBar:
    """The redraw loop shared by the local and the distributed bars."""

    def __init__(self, snapshot: Callable[[], tuple[dict, dict]], out: IO[str] | None,
                 dt: float, width: int, minimum: float):
        self.snapshot = snapshot
        self.out = out
        self.dt = dt
        self.width = width
        self.minimum = minimum
        self.t0 = time.monotonic()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._drawn = False
        self._lock = threading.Lock()
        self.last_line = ""

    def start(self) -> None:
        self.t0 = time.monotonic()
        self._stop.clear()
        self._thread = threading.Thread(target=self._loop, name="shoal-progress", daemon=True)
        self._thread.start()

    def _loop(self) -> None:
        while not self._stop.wait(self.dt):
            if time.monotonic() - self.t0 >= self.minimum:
                self.draw()

    def _stream(self) -> IO[str]:
        return self.out if self.out is not None else sys.stdout

    def draw(self, status: str = "Completed", final: bool = False) -> None:
        done, total = self.snapshot()
        line = format_bar(done, total, time.monotonic() - self.t0, width=self.width,
                          status=status, max_groups=None if final else 6)
        with self._lock:
            pad = " " * max(len(self.last_line) - len(line), 0)
            s = self._stream()
            s.write("\r" + line + pad + ("\n" if final else ""))
            s.flush()
            self._drawn = True
            self.last_line = line

    def stop(self, status: str = "Completed") -> None:
        """Stop the thread and draw the last line (once)."""
        if self._thread is None:
            return
        self._stop.set()
        if self._thread is not threading.current_thread():
            self._thread.join(timeout=5)
        self._thread = None
        if self._drawn or time.monotonic() - self.t0 >= self.minimum:
            self.draw(status, final=True)


class ProgressBar(Callback):
    """A text progress bar for computations on the local schedulers.

    >>> with ProgressBar():
    ...     x.compute()
    [########################################] | 100% Completed | 1.02 s | inc 8/8, add 1/1

    or ``pbar = ProgressBar(); pbar.register()`` for every computation until
    ``pbar.unregister()``.  ``out`` is the stream (default ``sys.stdout``),
    ``dt`` the redraw period, ``minimum`` the time before anything is shown.
    """

    def __init__(self, minimum: float = 0.0, width: int = 40, dt: float = 0.1,
                 out: IO[str] | None = None):
        super().__init__()
        self.minimum = minimum
        self.width = width
        self.dt = dt
        self._out = out
        self._total: dict[str, int] = {}
        self._done: dict[str, int] = {}
        self._bar: _TextBar | None = None
        self.last_duration = 0.0

    def _snapshot(self) -> tuple[dict, dict]:
        return dict(self._done), self._total

    def start(self, graph: Mapping) -> None:
        total: dict[str, int] = {}
        for k in graph:
            g = key_split(k)
            total[g] = total.get(g, 0) + 1
        self._total = total
        self._done = {g: 0 for g in total}
        self._bar = _TextBar(self._snapshot, self._out, self.dt, self.width, self.minimum)
        self._bar.start()

    def posttask(self, key: Any, result: Any, graph: Any, state: Any, worker_id: Any) -> None:
        g = key_split(key)
        # single writer (the engine's scheduling thread); readers copy the dict
        self._done[g] = self._done.get(g, 0) + 1

    def finish(self, graph: Any, state: Any, errored: bool) -> None:
        self._close("Errored" if errored else "Completed")

    def _close(self, status: str) -> None:
        bar, self._bar = self._bar, None
        if bar is not None:
            self.last_duration = time.monotonic() - bar.t0
            if status == "Errored" and isinstance(sys.exc_info()[1], KeyboardInterrupt):
                status = "Cancelled"
            bar.stop(status)

    def __exit__(self, *exc: Any) -> None:
        # a scheduler that died without calling finish still gets its line closed
        if self._bar is not None:
            self._close("Cancelled" if exc and exc[0] is KeyboardInterrupt else
                        "Errored" if exc and exc[0] is not None else "Completed")
        return super().__exit__(*exc)


def progress(*futures: Any, notebook: bool | None = None, multi: bool = True,
             complete: bool = True, out: IO[str] | None = None, dt: float = 0.1,
             width: int = 40, minimum: float = 0.0) -> None:
    """Show the progress of distributed futures or persisted collections.

    ``progress(futures)``, ``progress(x_persisted)``, or several at once.  In
    a terminal it blocks until they all finish (or one errs) and draws a
    text bar with per-group counts; in Jupyter it shows a widget and returns
    at once while the widget updates.
    """
    from shoal.diagnostics.distributed_progress import DistributedProgress

    tracker = DistributedProgress(_collect_futures(futures))
    if notebook is None:
        notebook = _in_notebook()
    if notebook:
        try:
            from shoal.diagnostics.widget import ProgressWidget
        except ImportError:
            notebook = False
        else:
            ProgressWidget(tracker, dt=max(dt, 0.1)).show()
            return
    bar = _TextBar(tracker.snapshot, out, dt, width, minimum)
    bar.start()
    status = "Completed"
    try:
        status = tracker.wait()
    except KeyboardInterrupt:
        status = "Cancelled"
        raise
    finally:
        tracker.close()
        bar.stop(status)


def _collect_futures(objs: Iterable[Any]) -> list:
    """Futures inside lists, dicts, persisted collections (their graph values)."""
    out: list = []

    def visit(o: Any) -> None:
        if hasattr(o, "key") and hasattr(o, "status") and hasattr(o, "result"):
            out.append(o)
        elif isinstance(o, (list, tuple, set, frozenset)):
            for x in o:
                visit(x)
        elif isinstance(o, dict):
            for x in o.values():
                visit(x)
        elif hasattr(type(o), "__shoal_graph__"):
            for x in dict(o.__shoal_graph__()).values():
                visit(x)

    for o in objs:
        visit(o)
    return out
