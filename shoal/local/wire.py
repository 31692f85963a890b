"""Messages between the engine and its worker processes.

A message is one pickled object sent over a Unix stream socket as frames::

    !I  number of frames n
    !nQ length of each frame
    frame 0: the pickle stream (cloudpickle, protocol 5)
    frame 1..n-1: out-of-band buffers (numpy/pandas data >= OOB_MIN bytes)

Large buffers never pass through the pickle stream: they are written
straight from the array's memory and read straight into a fresh
``bytearray`` that the unpickled array then uses, so a 160 MB array costs
one copy per hop.  Small messages are joined into one write.

``RemoteTraceback`` carries a worker's formatted traceback; the engine
raises the task's own exception ``from`` it, as concurrent.futures does.
"""
from __future__ import annotations

import io
import pickle
import socket
import struct
from typing import Any

import cloudpickle

__all__ = ["send", "recv_frames", "loads", "dumps", "RemoteTraceback", "OOB_MIN"]

#: Buffers at least this big travel out of band; smaller ones are cheaper inline.
OOB_MIN = 1 << 16
#: Messages below this size are sent with a single write.
JOIN_MAX = 1 << 18

_I = struct.Struct("!I")


class RemoteTraceback(Exception):
    """The traceback text of an exception raised in a worker (a process of the
    local engine or a distributed worker), attached as the task error's ``__cause__``.

    Also ``shoal.distributed.exceptions.RemoteTraceback``: one type for both.
    """

    def __init__(self, tb: str):
        super().__init__(tb)
        self.tb = tb

    @property
    def text(self) -> str:
        return self.tb

    def __str__(self) -> str:
        return "\n\nTraceback in the worker:\n" + self.tb


def dumps(obj: Any) -> list:
    """Frames for ``obj`` (see the module docstring)."""
    bufs: list = []

    def oob(pb: pickle.PickleBuffer) -> bool:
        try:
            m = pb.raw()
        except BufferError:  # not contiguous: keep it in the stream
            return True
        if m.nbytes < OOB_MIN:
            return True
        bufs.append(m)
        return False

    try:
        main = pickle.dumps(obj, protocol=5, buffer_callback=oob)
    except Exception:
        bufs.clear()
        main = cloudpickle.dumps(obj, protocol=5, buffer_callback=oob)
    return [main] + bufs


class _CodePickler(cloudpickle.Pickler):
    """cloudpickle with two per-object costs removed (profiled on 10k tasks).

    cloudpickle's ``dispatch_table`` is a ``ChainMap``, looked up in Python
    (with a ``__missing__`` KeyError) for every object of a non-builtin type;
    here it is a plain dict refreshed from the same sources before each
    message.  Types known to pickle by reference skip ``reducer_override``.
    """

    dispatch_table: dict = {}  # type: ignore[assignment]
    _plain: frozenset = frozenset()

    def reducer_override(self, obj: Any) -> Any:
        if type(obj) in self._plain:
            return NotImplemented
        return super().reducer_override(obj)


def _plain_types() -> frozenset:
    from shoal.core.optimize import Chain
    from shoal.core.task import Ref, Task

    types_ = {Task, Ref, Chain}
    try:
        import numpy as np

        types_.add(np.ndarray)
    except ImportError:  # pragma: no cover
        pass
    return frozenset(types_)


def dumps_code(obj: Any) -> list:
    """Like ``dumps`` but always with cloudpickle (functions from ``__main__``)."""
    bufs: list = []

    def oob(pb: pickle.PickleBuffer) -> bool:
        try:
            m = pb.raw()
        except BufferError:
            return True
        if m.nbytes < OOB_MIN:
            return True
        bufs.append(m)
        return False

    table = _CodePickler.dispatch_table
    table.clear()
    table.update(cloudpickle.Pickler.dispatch_table)  # picks up late copyreg registrations
    if not _CodePickler._plain:
        _CodePickler._plain = _plain_types()
    f = io.BytesIO()
    _CodePickler(f, protocol=5, buffer_callback=oob).dump(obj)
    return [f.getbuffer()] + bufs


def send(sock: socket.socket, frames: list) -> None:
    lengths = [memoryview(f).nbytes for f in frames]
    header = _I.pack(len(frames)) + struct.pack(f"!{len(frames)}Q", *lengths)
    if sum(lengths) <= JOIN_MAX:
        sock.sendall(b"".join([header, *frames]))
    else:
        sock.sendall(header)
        for f in frames:
            sock.sendall(f)


def _recv_exact(sock: socket.socket, n: int) -> bytearray:
    buf = bytearray(n)
    view = memoryview(buf)
    got = 0
    while got < n:
        r = sock.recv_into(view[got:], n - got)
        if not r:
            raise EOFError("connection closed")
        got += r
    return buf


def recv_frames(sock: socket.socket) -> list:
    """Read one message's frames; EOFError when the other side is gone."""
    (n,) = _I.unpack(_recv_exact(sock, 4))
    lengths = struct.unpack(f"!{n}Q", _recv_exact(sock, 8 * n))
    return [_recv_exact(sock, ln) for ln in lengths]


def loads(frames: list) -> Any:
    return pickle.loads(frames[0], buffers=frames[1:])
