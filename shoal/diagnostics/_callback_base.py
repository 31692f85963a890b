"""The local schedulers' callback base class, imported from one place.

Every local diagnostic subclasses ``shoal.local.callbacks.Callback`` and
overrides some of ``start(graph)``, ``start_state(graph, state)``,
``pretask(key, graph, state)``, ``posttask(key, result, graph, state,
worker_id)`` and ``finish(graph, state, errored)``; ``with cb:`` activates it
for the computations inside the block and ``cb.register()`` for all of them.
"""
from __future__ import annotations

__all__ = ["Callback"]

try:
    from shoal.local.callbacks import Callback
except ImportError:  # the local engine without callback support: same interface, never called
    class Callback:  # type: ignore[no-redef]
        active: set = set()

        def start(self, graph): pass

        def start_state(self, graph, state): pass

        def pretask(self, key, graph, state): pass

        def posttask(self, key, result, graph, state, worker_id): pass

        def finish(self, graph, state, errored): pass

        def __enter__(self):
            Callback.active.add(self)
            return self

        def __exit__(self, *exc):
            Callback.active.discard(self)

        def register(self):
            Callback.active.add(self)

        def unregister(self):
            Callback.active.discard(self)
