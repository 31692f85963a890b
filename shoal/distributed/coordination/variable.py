"""``Variable``: one value shared by every client and task of a cluster.

>>> v = Variable("stop")
>>> v.set(False)
>>> v.get()          # in any task or client: waits until a value is set

Futures in the value stay alive while it is set (held by the scheduler).
"""
from __future__ import annotations

from typing import Any

from shoal.distributed import portable
from shoal.distributed.coordination.base import Primitive, to_timeout


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
