"""Hooks into the local engine, for progress bars, profilers and tracing.

Subclass ``Callback`` and override any of the five methods, or pass plain
functions to its constructor.  Activate it for a block (``with cb:``),
globally (``cb.register()`` / ``cb.unregister()``), or for one call
(``compute(..., callbacks=[cb])``).  The engine looks the active callbacks
up once per run and calls nothing when there are none.

The interface (kept stable; other diagnostics are built on it):

``start(graph)``
    before anything else; ``graph`` is the plain dict that will run.
``start_state(graph, state)``
    once the run's state is built, before the first task.
``pretask(key, graph, state)``
    in the calling process, just before ``key`` is handed to a worker (for
    the process scheduler: when its batch is sent).
``posttask(key, result, graph, state, worker_id)``
    in the calling process, when ``key``'s result has arrived; ``worker_id``
    is the thread or process index that ran it (0 for sync).
``finish(graph, state, errored)``
    at the end, also after an error or Ctrl-C (``errored`` True then).

``state`` is a dict the engine keeps up to date while callbacks are active:

* ``"cache"``: ``{key: value}`` of results held right now;
* ``"dependencies"`` / ``"dependents"``: ``{key: keys}`` of the graph;
* ``"order"``: ``{key: priority}`` (smaller ran earlier);
* ``"num_tasks"``: number of keys in the run;
* ``"ready"``: number of tasks ready to run (an int, updated per event);
* ``"running"``: set of keys handed to workers and not yet finished;
* ``"finished"``: set of keys whose result has arrived;
* ``"released"``: set of keys whose result was already dropped.

Callbacks run on the engine's thread; a slow callback slows the run.
"""
from __future__ import annotations

from typing import Any, Callable, Hashable, Iterable

__all__ = ["Callback", "active_callbacks", "normalize_callbacks"]


class Callback:
    """Base class for engine hooks; see the module docstring."""

    active: set = set()  # globally registered callbacks (class-wide)

    def __init__(self, start: Callable | None = None, start_state: Callable | None = None,
                 pretask: Callable | None = None, posttask: Callable | None = None,
                 finish: Callable | None = None):
        # functions given here shadow the methods for this instance only
        if start is not None:
            self.start = start  # type: ignore[method-assign]
        if start_state is not None:
            self.start_state = start_state  # type: ignore[method-assign]
        if pretask is not None:
            self.pretask = pretask  # type: ignore[method-assign]
        if posttask is not None:
            self.posttask = posttask  # type: ignore[method-assign]
        if finish is not None:
            self.finish = finish  # type: ignore[method-assign]

    # -- hooks (no-ops by default) ---------------------------------------
    def start(self, graph: dict) -> None:
        pass

    def start_state(self, graph: dict, state: dict) -> None:
        pass

    def pretask(self, key: Hashable, graph: dict, state: dict) -> None:
        pass

    def posttask(self, key: Hashable, result: Any, graph: dict, state: dict, worker_id: int) -> None:
        pass

    def finish(self, graph: dict, state: dict, errored: bool) -> None:
        pass

    # -- activation --------------------------------------------------------
    def __enter__(self) -> "Callback":
        self.register()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.unregister()

    def register(self) -> None:
        Callback.active.add(self)

    def unregister(self) -> None:
        Callback.active.discard(self)


def normalize_callbacks(callbacks: Any) -> list:
    """Callback objects from ``callbacks=`` (one, a list, or None)."""
    if callbacks is None:
        return []
    if isinstance(callbacks, Callback):
        return [callbacks]
    out = []
    for c in callbacks:
        if not isinstance(c, Callback):
            raise TypeError(
                f"callbacks= expects shoal.local.callbacks.Callback objects, got {type(c).__name__}; "
                "wrap functions as Callback(posttask=f)"
            )
        out.append(c)
    return out


def active_callbacks(extra: Iterable | None = None) -> list:
    """Registered callbacks plus ``extra``, each once, in a stable order."""
    cbs = list(Callback.active)
    if extra:
        for c in normalize_callbacks(extra):
            if c not in cbs:
                cbs.append(c)
    return cbs
