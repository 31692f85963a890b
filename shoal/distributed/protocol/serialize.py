"""Serialisation of messages, user values and functions.

* Messages (dicts of builtins) travel as one pickle (protocol 5) per batch.
  Only authenticated peers' batches are ever unpickled (see ``auth.py``).
* User values are wrapped in ``Serialized`` by the sender: the scheduler
  passes them along without unpickling, and large buffers (numpy, pandas,
  bytes-like) ride as out-of-band pickle-5 buffers, never copied into the
  pickle stream.  A value without buffers is stored as plain ``bytes``.
* Functions are pickled once with cloudpickle (lambdas, closures and
  ``__main__`` functions work) and referred to by a content id, so a graph
  of a million calls to one function ships that function once per worker.
"""
from __future__ import annotations

import hashlib
import pickle
from typing import Any

import cloudpickle

from shoal.distributed.exceptions import SerializationError
from shoal.distributed.protocol.frames import check_header, pack_header

HIGHEST = 5
# buffers smaller than this are cheaper to copy in-band than to frame
_OOB_MIN = 2048


class Serialized:
    """A pickled user value with its out-of-band buffers, opaque to the scheduler."""

    __slots__ = ("data", "buffers")

    def __init__(self, data: bytes, buffers: list):
        self.data = data
        self.buffers = buffers

    @property
    def nbytes(self) -> int:
        return len(self.data) + sum(memoryview(b).nbytes for b in self.buffers)

    def __reduce__(self):
        return (Serialized, (self.data, [pickle.PickleBuffer(b) for b in self.buffers]))


def _dumps(obj: Any, buffers: list | None) -> bytes:
    cb = None if buffers is None else buffers.append
    try:
        return pickle.dumps(obj, protocol=HIGHEST, buffer_callback=cb)
    except Exception:
        if buffers:
            buffers.clear()
        return cloudpickle.dumps(obj, protocol=HIGHEST, buffer_callback=cb)


def serialize(obj: Any) -> "bytes | Serialized":
    """Pickle a user value: ``bytes`` if it has no large buffers, else ``Serialized``."""
    bufs: list = []
    data = _dumps(obj, bufs)
    if not bufs:
        return data
    if sum(b.raw().nbytes for b in bufs) < _OOB_MIN:
        return _dumps(obj, None)  # tiny buffers: one in-band pickle is cheaper
    return Serialized(data, [b.raw() for b in bufs])


def unserialisable(key: Any, where: str, error: BaseException) -> "bytes | Serialized":
    """The serialised ``SerializationError`` sent in place of ``key``'s value."""
    cause: BaseException = error
    try:
        pickle.dumps(cause, protocol=HIGHEST)
    except Exception:  # the pickling error itself will not pickle: keep its text
        cause = RuntimeError(f"{type(error).__name__}: {error}")
    exc = SerializationError(
        f"the result of task {key!r} on worker {where} could not be serialised to send it "
        f"elsewhere ({type(error).__name__}: {error}). Results gathered by the client or used by "
        "tasks on other workers must be picklable (pickle or cloudpickle): return plain data "
        "instead, or create the object inside the task that uses it.")
    exc.__cause__ = cause
    return serialize(exc)


def deserialize(s: Any) -> Any:
    """Inverse of ``serialize``."""
    if type(s) is Serialized:
        return pickle.loads(s.data, buffers=s.buffers)
    return pickle.loads(s)


def nbytes_of(s: Any) -> int:
    return s.nbytes if type(s) is Serialized else len(s)


def dumps_function(func: Any) -> tuple[str, bytes]:
    """``(function id, cloudpickled bytes)``; equal functions get equal ids."""
    data = cloudpickle.dumps(func, protocol=HIGHEST)
    return hashlib.blake2b(data, digest_size=12).hexdigest(), data


def loads_function(data: bytes) -> Any:
    return pickle.loads(data)


def dumps_messages(msgs: list) -> list:
    """Frames for a batch of messages: header, pickle, out-of-band buffers."""
    bufs: list = []
    body = pickle.dumps(msgs, protocol=HIGHEST, buffer_callback=bufs.append)
    if bufs:
        return [pack_header(len(bufs)), body, *[b.raw() for b in bufs]]
    return [pack_header(0), body]


PIN_PAYLOAD = 4 << 20  # payloads above this size are not kept alive by their small buffers


def _unpinned(bufs: list) -> list:
    """Zero-copy views for the big buffers of a payload, copies of its small ones.

    Every buffer is a view of the one received payload, which lives as long as
    any of them: an 8 kB array must not keep an 80 MB message in memory (and
    out of the worker's accounting).  Copies are writable, like the views.
    """
    if not bufs:
        return bufs
    whole = getattr(bufs[0], "obj", None)
    size = memoryview(whole).nbytes if whole is not None else 0
    if size <= PIN_PAYLOAD:
        return bufs
    small = size // 16
    return [bytearray(b) if memoryview(b).nbytes < small else b for b in bufs]


def loads_messages(frames: list) -> list:
    """Inverse of ``dumps_messages``; validates the msgpack header first."""
    check_header(frames[0], len(frames))
    msgs = pickle.loads(frames[1], buffers=_unpinned(frames[2:]))
    if type(msgs) is not list:
        raise TypeError(f"a message batch must be a list, got {type(msgs).__name__}")
    return msgs
