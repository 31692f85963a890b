"""``Pub`` and ``Sub``: publish messages on a topic; every subscriber gets each one.

>>> sub = Sub("progress")            # subscribe first: earlier messages are not kept
>>> Pub("progress").put({"done": 3})
>>> sub.get(timeout=5)
{'done': 3}

Messages pass through the scheduler (``Topics``), pickled by the publisher;
a subscription ends when its ``Sub`` is closed or garbage collected, or its
client disconnects.  Messages are plain values (Futures are not kept alive).
"""
from __future__ import annotations

import pickle
import uuid
from typing import Any, Iterator

import cloudpickle

from shoal.distributed.coordination.base import Primitive, to_timeout


class Pub(Primitive):
    kind = "pubsub"

    def put(self, msg: Any) -> None:
        """Send ``msg`` to every current subscriber (returns at once)."""
        self._tell("put", data=cloudpickle.dumps(msg))

    def __reduce__(self):
        return (Pub, (self.name,))


class Sub(Primitive):
    kind = "pubsub"

    def __init__(self, name: str, client: Any = None):
        super().__init__(name, client)
        self.sid = uuid.uuid4().hex
        self._call("subscribe", sid=self.sid)
        self._open = True

    def get(self, timeout: Any = None) -> Any:
        """The next message, waiting up to ``timeout`` seconds (``TimeoutError``)."""
        return pickle.loads(self._call("get", to_timeout(timeout), sid=self.sid))

    def __iter__(self) -> Iterator:
        while True:
            yield self.get()

    def close(self) -> None:
        if self._open:
            self._open = False
            try:
                self._tell("unsubscribe", sid=self.sid)
            except Exception:
                pass  # the client is closed: the scheduler ended the subscription with it

    def __del__(self) -> None:
        self.close()

    def __reduce__(self):
        return (Sub, (self.name,))
