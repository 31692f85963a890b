"""A dict of task results that spills least-recently-used values to disk.

Values live in memory until the bytes held pass ``target`` (a byte count);
then the least recently used are pickled (cloudpickle, so lambdas and classes
of the user's script spill too) to files under ``directory`` until the total
is back under it.  Reading a spilled key loads it back (and makes it most
recent).  Sizes come from ``utils.sizeof`` (numpy/pandas aware).

Task threads read while the event loop writes and evicts, so every method
holds one re-entrant lock.  A value that cannot be pickled at all stays in
memory, is remembered as unspillable and skipped by later evictions (the
rest still spill), and its half-written file is removed.
"""
from __future__ import annotations

import os
import pickle
import threading
from collections import OrderedDict
from typing import Any, Iterator, MutableMapping

import cloudpickle

from shoal.distributed.utils import sizeof


class SpillBuffer(MutableMapping):
    def __init__(self, directory: str, target: int | None):
        self.directory = directory
        self.target = target
        self.fast: OrderedDict = OrderedDict()
        self.sizes: dict = {}
        self.slow: dict = {}          # key -> file path
        self.unspillable: set = set()
        self.fast_bytes = 0
        self.spilled_bytes = 0
        self._n = 0
        self._lock = threading.RLock()

    def __setitem__(self, key: Any, value: Any) -> None:
        nb = sizeof(value)
        with self._lock:
            if key in self:
                del self[key]
            self.fast[key] = value
            self.sizes[key] = nb
            self.fast_bytes += nb
            if self.target is not None and self.fast_bytes > self.target:
                self.evict_until(self.target)

    def __getitem__(self, key: Any) -> Any:
        with self._lock:
            fast = self.fast
            if key in fast:
                fast.move_to_end(key)
                return fast[key]
            path = self.slow[key]
            with open(path, "rb") as f:
                value = pickle.load(f)
            os.unlink(path)
            del self.slow[key]
            nb = self.sizes[key]
            self.spilled_bytes -= nb
            fast[key] = value
            self.fast_bytes += nb
            return value

    def __delitem__(self, key: Any) -> None:
        with self._lock:
            self.unspillable.discard(key)
            if key in self.fast:
                del self.fast[key]
                self.fast_bytes -= self.sizes.pop(key)
            else:
                path = self.slow.pop(key)
                self.spilled_bytes -= self.sizes.pop(key)
                try:
                    os.unlink(path)
                except OSError:
                    pass

    def __contains__(self, key: object) -> bool:
        with self._lock:
            return key in self.fast or key in self.slow

    def __iter__(self) -> Iterator:
        with self._lock:
            keys = list(self.fast) + list(self.slow)
        yield from keys

    def __len__(self) -> int:
        with self._lock:
            return len(self.fast) + len(self.slow)

    def nbytes(self, key: Any) -> int:
        return self.sizes.get(key, 0)

    def evict_one(self) -> int:
        """Spill the least recently used spillable value; bytes freed (0 if none)."""
        with self._lock:
            key = next((k for k in self.fast if k not in self.unspillable), None)
            if key is None:
                return 0
            value = self.fast.pop(key)
            nb = self.sizes[key]
            os.makedirs(self.directory, exist_ok=True)
            self._n += 1
            path = os.path.join(self.directory, f"spill-{self._n}.pkl")
            try:
                with open(path, "wb") as f:
                    cloudpickle.dump(value, f, protocol=5)
            except Exception:
                try:
                    os.unlink(path)
                except OSError:
                    pass
                self.fast[key] = value  # cannot be pickled: it stays in memory, and is not tried again
                self.fast.move_to_end(key, last=False)
                self.unspillable.add(key)
                return 0
            self.slow[key] = path
            self.fast_bytes -= nb
            self.spilled_bytes += nb
            return nb

    def evict_until(self, target: int) -> None:
        with self._lock:
            while self.fast_bytes > target:
                failed = len(self.unspillable)
                if not self.evict_one() and len(self.unspillable) == failed:
                    break  # nothing spillable is left in memory

    def clear(self) -> None:
        with self._lock:
            for k in list(self.slow):
                del self[k]
            self.fast.clear()
            self.sizes.clear()
            self.unspillable.clear()
            self.fast_bytes = 0
