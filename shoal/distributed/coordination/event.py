"""``Event``: a flag every client and task of a cluster can set, clear and wait for.

>>> ev = Event("go")
>>> def task():
...     ev.wait(timeout=10)      # blocks until someone calls ev.set()
"""
from __future__ import annotations

import asyncio
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


class EventStates:
    """Scheduler side; an unset event nobody waits on is forgotten."""

    def __init__(self, ext: Any):
        self.events: dict = {}
        self.waiting: dict = {}

    async def handle(self, action: str, cid: str, msg: dict) -> Any:
        name = msg["name"]
        ev = self.events.get(name)
        if ev is None:
            ev = self.events[name] = asyncio.Event()
        try:
            if action == "set":
                ev.set()
            elif action == "clear":
                ev.clear()
            elif action == "is_set":
                return ev.is_set()
            elif action == "wait":
                self.waiting[name] = self.waiting.get(name, 0) + 1
                try:
                    await asyncio.wait_for(ev.wait(), msg.get("timeout"))
                except (asyncio.TimeoutError, TimeoutError):
                    return False
                finally:
                    self.waiting[name] -= 1
                    if not self.waiting[name]:
                        del self.waiting[name]
                return True
            else:
                raise ValueError(f"unknown event action {action!r}")
            return None
        finally:
            if not ev.is_set() and name not in self.waiting and self.events.get(name) is ev:
                del self.events[name]

    def client_gone(self, cid: str) -> None:
        pass
