"""Actors: a stateful object living on one worker, its methods called remotely.

>>> counter = client.submit(Counter, actor=True).result()   # an Actor proxy
>>> counter.increment().result()                             # runs on the worker holding it
1
>>> counter.n                                                # attributes are read remotely
1

``submit(Class, actor=True)`` runs a task that builds the instance on a
worker and keeps it there (``worker.actors``); the task's result is a small
``Actor`` proxy naming the class, the key and that worker.  A method call
goes straight to that worker (no scheduler round trip) and returns an
``ActorFuture``; the worker runs actor methods one at a time on a thread of
their own, so an actor needs no locks and tasks keep their threads.  The
actor lives as long as the future of its task.
"""
from __future__ import annotations

import asyncio
import concurrent.futures
from typing import Any

import cloudpickle

from shoal.distributed.protocol.serialize import deserialize, serialize


_get_client: Any = None   # shoal.distributed.client registers its get_client here


def register_client_getter(fn: Any) -> None:
    """How an Actor proxy finds its Client (the client module, a floor above, registers it)."""
    global _get_client
    _get_client = fn


def create_actor(cls: type, *args: Any, **kwargs: Any) -> "Actor":
    """Task body of ``submit(cls, actor=True)``: build and keep the instance on this worker."""
    from shoal.core.context import current_task_key
    from shoal.distributed.worker.server import get_worker

    w = get_worker()
    key = current_task_key()
    w.actors[key] = cls(*args, **kwargs)
    return Actor(cls, key, w.address)


class ActorFuture:
    """The result of an actor method call: ``result(timeout)`` waits for it."""

    def __init__(self, fut: concurrent.futures.Future):
        self._fut = fut

    def result(self, timeout: float | None = None) -> Any:
        ok, payload = self._fut.result(timeout)
        value = deserialize(payload)
        if not ok:
            raise value
        return value

    def done(self) -> bool:
        return self._fut.done()

    def __repr__(self) -> str:
        return f"<ActorFuture: {'finished' if self.done() else 'pending'}>"


class Actor:
    """Proxy of an actor held by ``address``; see the module docstring."""

    def __init__(self, cls: type, key: Any, address: str, client: Any = None):
        self._cls = cls
        self._key = key
        self._address = address
        self._client = client

    def __reduce__(self):
        # the class by value: one defined in a script is not importable on the other side
        return (_rebuild_actor, (cloudpickle.dumps(self._cls), self._key, self._address))

    def __repr__(self) -> str:
        return f"<Actor: {self._cls.__name__}, key={self._key!r}, worker={self._address}>"

    def __dir__(self) -> list:
        return sorted(set(dir(type(self))) | {n for n in dir(self._cls) if not n.startswith("_")})

    @property
    def client(self) -> Any:
        if self._client is None:
            if _get_client is None:
                raise RuntimeError("actors need shoal.distributed imported (it provides their Client)")
            self._client = _get_client()
        return self._client

    def _send(self, what: str, name: str, args: tuple = (), kwargs: dict | None = None) -> concurrent.futures.Future:
        client = self.client
        msg = {"op": "actor", "what": what, "key": self._key, "name": name,
               "args": serialize((args, kwargs or {}))}
        return asyncio.run_coroutine_threadsafe(_ask(client, self._address, msg), client._loop.loop)

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        attr = getattr(self._cls, name, None)
        if callable(attr):
            def call(*args: Any, **kwargs: Any) -> ActorFuture:
                return ActorFuture(self._send("call", name, args, kwargs))
            call.__name__ = name
            call.__doc__ = getattr(attr, "__doc__", None)
            return call
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            return ActorFuture(self._send("get", name)).result()
        # an event loop (e.g. the worker's, sizing this proxy) must not block on a remote read
        raise AttributeError(f"{name!r}: actor attributes are read remotely, not from inside an event loop")

    def __setattr__(self, name: str, value: Any) -> None:
        if name.startswith("_"):
            object.__setattr__(self, name, value)
        else:
            ActorFuture(self._send("set", name, (value,))).result()


async def _ask(client: Any, address: str, msg: dict) -> tuple:
    """Send one actor request to the worker holding it; ``(ok, serialised result)``."""
    reply = await client.transfers.ask_worker(address, msg)
    if reply is None:
        return False, serialize(ConnectionError(f"the worker {address} holding the actor went away"))
    return reply["ok"], reply["result"]


def _rebuild_actor(cls: bytes, key: Any, address: str) -> Actor:
    return Actor(cloudpickle.loads(cls), key, address)
