"""A dict of task results that spills least-recently-used values to disk.

Values live in memory until the bytes held pass ``target`` (a byte count);
then the least recently used are pickled to files under ``directory`` until
the total is back under it.  Reading a spilled key loads it back (and makes
it most recent).  Sizes come from ``utils.sizeof`` (numpy/pandas aware).
"""
from __future__ import annotations

import os
import pickle
from collections import OrderedDict
from typing import Any, Iterator, MutableMapping

from shoal.distributed.utils import sizeof


class SpillBuffer(MutableMapping):
    def __init__(self, directory: str, target: int | None):
        self.directory = directory
        self.target = target
        self.fast: OrderedDict = OrderedDict()
        self.sizes: dict = {}
        self.slow: dict = {}          # key -> file path
        self.fast_bytes = 0
        self.spilled_bytes = 0
        self._n = 0

    def __setitem__(self, key: Any, value: Any) -> None:
        if key in self:
            del self[key]
        nb = sizeof(value)
        self.fast[key] = value
        self.sizes[key] = nb
        self.fast_bytes += nb
        if self.target is not None and self.fast_bytes > self.target:
            self.evict_until(self.target)

    def __getitem__(self, key: Any) -> Any:
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
        return key in self.fast or key in self.slow

    def __iter__(self) -> Iterator:
        yield from list(self.fast)
        yield from list(self.slow)

    def __len__(self) -> int:
        return len(self.fast) + len(self.slow)

    def nbytes(self, key: Any) -> int:
        return self.sizes.get(key, 0)

    def evict_one(self) -> int:
        """Spill the least recently used in-memory value; bytes freed (0 if none)."""
        if not self.fast:
            return 0
        key, value = self.fast.popitem(last=False)
        nb = self.sizes[key]
        try:
            os.makedirs(self.directory, exist_ok=True)
            self._n += 1
            path = os.path.join(self.directory, f"spill-{self._n}.pkl")
            with open(path, "wb") as f:
                pickle.dump(value, f, protocol=5)
        except Exception:
            self.fast[key] = value  # unpicklable: keep it in memory
            self.fast.move_to_end(key, last=False)
            return 0
        self.slow[key] = path
        self.fast_bytes -= nb
        self.spilled_bytes += nb
        return nb

    def evict_until(self, target: int) -> None:
        tries = len(self.fast)
        while self.fast_bytes > target and tries > 0:
            tries -= 1
            if not self.evict_one() and self.fast:
                break

    def clear(self) -> None:
        for k in list(self.slow):
            del self[k]
        self.fast.clear()
        self.sizes.clear()
        self.fast_bytes = 0
