"""Values that travel through the scheduler to another client: Futures kept as Futures.

A value stored in a ``Variable``, a ``Queue`` or a published dataset is
pickled by the client that puts it (the scheduler only ever sees bytes).
Futures inside it are written as their keys, which the scheduler holds while
the value is stored, so the results stay on the cluster; the client that
reads the value gets Futures of its own to the same keys.
"""
from __future__ import annotations

import io
import pickle
from typing import Any

import cloudpickle

from shoal.distributed.futures import Future


class _Pickler(cloudpickle.Pickler):
    def __init__(self, file: Any):
        super().__init__(file, protocol=5)
        self.keys: list = []

    def persistent_id(self, obj: Any) -> Any:
        if type(obj) is Future:
            self.keys.append(obj.key)
            return ("shoal-future", obj.key)
        return None


class _Unpickler(pickle.Unpickler):
    def __init__(self, file: Any, futures: dict):
        super().__init__(file)
        self.futures = futures

    def persistent_load(self, pid: Any) -> Any:
        if type(pid) is tuple and len(pid) == 2 and pid[0] == "shoal-future":
            return self.futures[pid[1]]
        raise pickle.UnpicklingError(f"unknown persistent id {pid!r}")


def dumps(obj: Any) -> tuple[bytes, list]:
    """``(pickle bytes, keys of the Futures inside)``."""
    f = io.BytesIO()
    p = _Pickler(f)
    p.dump(obj)
    return f.getvalue(), list(dict.fromkeys(p.keys))


def loads(data: bytes, keys: list, client: Any) -> Any:
    """Rebuild a value for ``client``; its Futures become ``client``'s (the scheduler
    already counts ``client`` as wanting ``keys``)."""
    futures = dict(zip(keys, client._adopt_keys(keys))) if keys else {}
    return _Unpickler(io.BytesIO(data), futures).load()
