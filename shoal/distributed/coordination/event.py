"""``Event``: a flag every client and task of a cluster can set, clear and wait for.

>>> ev = Event("go")
>>> def task():
...     ev.wait(timeout=10)      # blocks until someone calls ev.set()
"""
from __future__ import annotations

from typing import Any

from shoal.distributed.coordination.base import Primitive, to_timeout


class Event(Primitive):
    kind = "event"

    def set(self) -> None:
        self._call("set")

    def clear(self) -> None:
        self._call("clear")

    def is_set(self) -> bool:
        return bool(self._call("is_set"))

    def wait(self, timeout: Any = None) -> bool:
        """True once the event is set; False after ``timeout`` seconds without it."""
        return bool(self._call("wait", to_timeout(timeout)))

    def __reduce__(self):
        return (Event, (self.name,))
