"""``Semaphore``: at most ``max_leases`` holders at once, across the cluster.

>>> sem = Semaphore(max_leases=2, name="database")
>>> def query(x):
...     with sem:                  # at most two tasks talk to the database at once
...         return run_query(x)

Leases live on the scheduler (``scheduler/coordination.py``); a client that disconnects
gives its leases back.
"""
from __future__ import annotations

import uuid
from typing import Any

from shoal.distributed.coordination.base import Primitive, to_timeout


class Semaphore(Primitive):
    kind = "lease"

    def __init__(self, max_leases: int = 1, name: str | None = None, client: Any = None):
        if int(max_leases) < 1:
            raise ValueError(f"max_leases={max_leases}: a semaphore needs at least one lease")
        super().__init__(name, client)
        self.max_leases = int(max_leases)
        self._leases: list = []

    def acquire(self, timeout: Any = None) -> bool:
        """Take a lease; False after ``timeout`` seconds without one."""
        lease = uuid.uuid4().hex
        if self._call("acquire", to_timeout(timeout), lease=lease, max_leases=self.max_leases):
            self._leases.append(lease)
            return True
        return False

    def release(self) -> bool:
        """Give back the lease this object took most recently."""
        if not self._leases:
            raise RuntimeError(f"{self!r}: release() without a lease taken by this object")
        return self._call("release", lease=self._leases.pop())

    def get_value(self) -> int:
        """Leases held now (by anyone)."""
        return int(self._call("value"))

    def __enter__(self) -> "Semaphore":
        self.acquire()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.release()

    def __reduce__(self):
        return (type(self), (self.max_leases, self.name))
