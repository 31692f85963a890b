"""``Lock`` and ``MultiLock``: mutual exclusion across every client and worker of a cluster.

>>> lock = Lock("database")          # the same name is the same lock everywhere
>>> with lock:
...     write_to_database()

The state is the scheduler's (``Leases`` in ``scheduler/coordination.py``): a lock held by a client whose
process dies is released when its connection closes.
"""
from __future__ import annotations

import uuid
from typing import Any

from shoal.distributed.coordination.base import Primitive, to_timeout


class Lock(Primitive):
    """A distributed lock named ``name`` (a fresh name when None)."""

    kind = "lease"

    def __init__(self, name: str | None = None, client: Any = None):
        super().__init__(name, client)
        self._lease: str | None = None

    def acquire(self, blocking: bool = True, timeout: Any = None) -> bool:
        """Take the lock; False if ``blocking=False`` and it is taken, or after ``timeout`` seconds."""
        if self._lease is not None:
            raise RuntimeError(f"{self!r} is already held by this Lock object; release() it first")
        t = to_timeout(timeout)
        if not blocking and t is not None:
            raise ValueError("timeout= only makes sense with blocking=True")
        lease = uuid.uuid4().hex
        if self._call("acquire", t, lease=lease, blocking=blocking, max_leases=1):
            self._lease = lease
            return True
        return False

    def release(self) -> None:
        if self._lease is None:
            raise RuntimeError(f"{self!r} is not held by this Lock object: acquire() it first")
        lease, self._lease = self._lease, None
        self._call("release", lease=lease)

    def locked(self) -> bool:
        """Whether anyone holds the lock now."""
        return bool(self._call("value"))

    def __enter__(self) -> "Lock":
        self.acquire()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.release()

    def __reduce__(self):
        return (type(self), (self.name,))


class MultiLock(Primitive):
    """Several named locks taken together (all of them, or any ``num_locks``): no deadlock
    from two clients taking the same locks in different orders.

    >>> with MultiLock(names=["a", "b"]):
    ...     move_between(a, b)
    """

    kind = "lease"

    def __init__(self, names: list | None = None, num_locks: int | None = None, client: Any = None):
        names = list(names or [])
        super().__init__("|".join(map(str, names)) or None, client)
        self.names = names
        if num_locks is not None and not 0 < num_locks <= len(names):
            raise ValueError(f"num_locks={num_locks} must be between 1 and len(names)={len(names)}")
        self.num_locks = num_locks if num_locks is not None else len(names)
        self._lease: str | None = None

    def acquire(self, blocking: bool = True, timeout: Any = None, num_locks: int | None = None) -> bool:
        if self._lease is not None:
            raise RuntimeError(f"{self!r} is already held by this MultiLock object; release() it first")
        if not self.names:
            return True
        lease = uuid.uuid4().hex
        if self._call("acquire", to_timeout(timeout), lease=lease, names=self.names, blocking=blocking,
                      need=num_locks or self.num_locks, max_leases=1):
            self._lease = lease
            return True
        return False

    def release(self) -> None:
        if not self.names:
            return
        if self._lease is None:
            raise RuntimeError(f"{self!r} is not held by this MultiLock object: acquire() it first")
        lease, self._lease = self._lease, None
        self._call("release", lease=lease, names=self.names)

    def __enter__(self) -> "MultiLock":
        self.acquire()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.release()

    def __reduce__(self):
        return (type(self), (self.names, self.num_locks))
