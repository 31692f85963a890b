"""``Variable``: one value shared by every client and task of a cluster.

>>> v = Variable("stop")
>>> v.set(False)
>>> v.get()          # in any task or client: waits until a value is set

Futures in the value stay alive while it is set (held by the scheduler).
"""
from __future__ import annotations

import asyncio
from typing import Any

from shoal.distributed.coordination import portable
from shoal.distributed.coordination.base import Primitive, to_timeout
from shoal.distributed.coordination.extension import wait_until


class Variable(Primitive):
    kind = "variable"

    def set(self, value: Any, timeout: Any = None) -> None:
        data, keys = portable.dumps(value)
        self._call("set", to_timeout(timeout), data=data, keys=keys)

    def get(self, timeout: Any = None) -> Any:
        """The value, waiting up to ``timeout`` seconds for one to be set (``TimeoutError``)."""
        data, keys = self._call("get", to_timeout(timeout))
        return portable.loads(data, keys, self.client)

    def delete(self) -> None:
        """Forget the value (and release the Futures it held)."""
        self._call("delete")

    def __reduce__(self):
        return (Variable, (self.name,))


class _V:
    __slots__ = ("value", "cond", "users")

    def __init__(self) -> None:
        self.value: tuple | None = None   # (data, keys, hold id)
        self.cond = asyncio.Condition()
        self.users = 0


class VariableStates:
    def __init__(self, ext: Any):
        self.ext = ext
        self.vars: dict = {}

    async def handle(self, action: str, cid: str, msg: dict) -> Any:
        name = msg["name"]
        v = self.vars.get(name)
        if v is None:
            v = self.vars[name] = _V()
        v.users += 1
        try:
            async with v.cond:
                if action == "set":
                    old, v.value = v.value, (msg["data"], msg["keys"], self.ext.hold(msg["keys"]))
                    if old is not None:
                        self.ext.drop(old[2])
                    v.cond.notify_all()
                    return None
                if action == "get":
                    await wait_until(v.cond, lambda: v.value is not None, msg.get("timeout"),
                                     f"get of variable {name!r}")
                    data, keys, _ = v.value
                    self.ext.give(cid, keys)
                    return data, keys
                if action == "delete":
                    if v.value is not None:
                        self.ext.drop(v.value[2])
                        v.value = None
                    return None
            raise ValueError(f"unknown variable action {action!r}")
        finally:
            v.users -= 1
            if v.value is None and not v.users and self.vars.get(name) is v:
                del self.vars[name]

    def client_gone(self, cid: str) -> None:
        pass
