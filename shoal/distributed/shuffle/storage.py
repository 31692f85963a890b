"""One worker's share of a peer-to-peer shuffle run, kept on its local disk.

A run's directory holds what this worker received, one file per message:
``in-<i>-<m>`` is message ``m`` from input partition ``i`` and carries the
encoded pieces of several output partitions, indexed by a small table::

    magic, count | (output j, offset, length) * count | piece bytes ...

Files are written under a temporary name and renamed, so a resent message
(the transfer ran again) replaces the earlier copy instead of adding rows.
The last message from an input says how many it sent (``nparts``); an
output can be read only when every input has delivered its last message,
so a reader either sees all the rows of a run or raises ``Incomplete``.
"""
from __future__ import annotations

import os
import shutil
import struct
import threading
import uuid

import numpy as np

__all__ = ["RunStore", "Incomplete"]

_MAGIC = b"SHOALP2P"
_HEADER = struct.Struct("<8sq")
_ENTRY = np.dtype([("j", "<i8"), ("off", "<i8"), ("len", "<i8")])


class Incomplete(RuntimeError):
    """Some input of the run has not delivered all its pieces here."""


class RunStore:
    """The files of one run on one worker; thread-safe for concurrent writers and readers."""

    def __init__(self, path: str):
        self.path = path
        os.makedirs(path, exist_ok=True)
        self.nparts: dict = {}   # input i -> messages it sent, once its last one arrived
        self.meta: bytes | None = None
        self.nbytes = 0          # bytes written (reported in memory warnings and tests)
        self._lock = threading.Lock()

    def write(self, i: int, m: int, parts: list, meta: bytes | None, nparts: int | None) -> None:
        """Store message ``m`` of input ``i``: ``parts`` is ``[(j, bytes)]``; ``nparts`` on the last one."""
        entries = np.zeros(len(parts), dtype=_ENTRY)
        pos = _HEADER.size + entries.nbytes
        for n, (j, blob) in enumerate(parts):
            entries[n] = (j, pos, len(blob))
            pos += len(blob)
        final = os.path.join(self.path, f"in-{i}-{m}")
        tmp = os.path.join(self.path, f".tmp-{uuid.uuid4().hex}")
        with open(tmp, "wb") as f:
            f.write(_HEADER.pack(_MAGIC, len(parts)))
            f.write(entries.tobytes())
            for _j, blob in parts:
                f.write(blob)
        os.replace(tmp, final)
        with self._lock:
            self.nbytes += pos
            if meta is not None and self.meta is None:
                self.meta = meta
            if nparts is not None:
                self.nparts[i] = nparts

    def read(self, j: int, n_in: int) -> list:
        """Every piece of output ``j``, in input order (raises ``Incomplete`` if an input is missing)."""
        with self._lock:
            counts = dict(self.nparts)
        missing = [i for i in range(n_in) if i not in counts]
        if missing:
            raise Incomplete(f"inputs {missing[:10]} of {n_in} have not delivered their pieces to {self.path}")
        blobs = []
        for i in range(n_in):
            for m in range(counts[i]):
                blobs.extend(_read_pieces(os.path.join(self.path, f"in-{i}-{m}"), j))
        return blobs

    def remove(self) -> None:
        shutil.rmtree(self.path, ignore_errors=True)


def _read_pieces(path: str, j: int) -> list:
    try:
        f = open(path, "rb")
    except FileNotFoundError:
        raise Incomplete(f"shuffle file {path} is gone (its run was dropped)") from None
    with f:
        magic, count = _HEADER.unpack(f.read(_HEADER.size))
        if magic != _MAGIC:
            raise ValueError(f"{path} is not a shoal shuffle file; it is damaged")
        entries = np.frombuffer(f.read(count * _ENTRY.itemsize), dtype=_ENTRY)
        out = []
        for e in entries[entries["j"] == j]:
            f.seek(int(e["off"]))
            out.append(f.read(int(e["len"])))
        return out
