"""The client side of the coordination primitives: one request shape, naming, pickling.

Every primitive is a name plus a kind; its state lives on the scheduler
(``shoal.distributed.scheduler.coordination``), so every client and every task on any worker that uses
the same name shares it.  A primitive pickles as its name (and settings),
so it can be passed to tasks; inside a task it talks through that worker's
client (``get_client``).
"""
from __future__ import annotations

from typing import Any

from shoal.distributed.exceptions import remote_error
from shoal.utils import new_name

#: seconds added to a request's own timeout while waiting for the scheduler's answer
_REPLY_MARGIN = 10.0


class Primitive:
    """Base of Lock, Semaphore, Queue, Variable, Event, Pub and Sub."""

    kind = ""

    def __init__(self, name: str | None = None, client: Any = None):
        self.name = name or new_name(self.kind)  # unique: no arguments to hash
        self._client = client

    @property
    def client(self) -> Any:
        if self._client is None:
            from shoal.distributed.client import get_client

            self._client = get_client()
        return self._client

    def _call(self, action: str, timeout: float | None = None, **fields: Any) -> Any:
        """Ask the scheduler; wait up to ``timeout`` (+ a margin for the reply)."""
        msg = {"op": "coord", "kind": self.kind, "action": action, "name": self.name,
               "timeout": timeout, **fields}
        wait = None if timeout is None else timeout + _REPLY_MARGIN
        ok, value = self.client._request(msg, timeout=wait)
        if not ok:
            raise remote_error(value)
        return value

    def _tell(self, action: str, **fields: Any) -> None:
        """Send without waiting for an answer (order kept with later requests)."""
        self.client._send({"op": "coord", "kind": self.kind, "action": action, "name": self.name, **fields})

    def __repr__(self) -> str:
        return f"<{type(self).__name__}: {self.name}>"


def to_timeout(timeout: Any) -> float | None:
    """Seconds from a number, a string such as ``"200ms"``/``"1s"``, or None (wait forever)."""
    if timeout is None:
        return None
    if isinstance(timeout, str):
        from shoal.utils import parse_timedelta

        return float(parse_timedelta(timeout))
    t = float(timeout)
    if t < 0:
        raise ValueError(f"timeout={timeout!r}: give seconds >= 0, or None to wait forever")
    return t
