"""Disk-backed shuffle: partitions larger than memory move through files.

The graph has ``n_in + n_out + 2`` tasks instead of ``n_in * n_out``::

    init ─┬─> transfer 0 ─┐
          ├─> transfer 1 ─┼─> barrier ─┬─> unpack 0
          └─> ...        ─┘    (init) ─┴─> unpack 1 ...

* ``init`` makes a fresh private directory per run (``mkdtemp``) and returns
  a small ``ShuffleDir`` handle.
* ``transfer i`` splits input partition ``i`` by output partition and writes
  the pieces, one after another, to ``in-<i>`` in that directory (written
  under a temporary name and renamed, so a rerun replaces rather than adds
  rows).  The file starts with a table of ``(offset, length)`` per output
  partition, so a reader seeks straight to its piece.  Only the input, its
  reordered copy and the piece being encoded are in memory at any time; the
  result is the file's path.
* ``barrier`` gathers the paths (small strings) once every transfer is done.
* ``unpack j`` reads piece ``j`` of every file in input order, so the rows
  come out exactly as the in-memory task shuffle orders them, one output
  partition at a time.

Pieces are Arrow IPC streams (``pyarrow``); when the split hands over one
reordered frame and its bounds, that frame is converted once and its table
sliced.  ``dataframe.shuffle.compression`` (``"lz4"`` or ``"zstd"``) compresses
pieces big enough for it to pay; it is off by default, as on a local disk
the page cache absorbs the writes and compressing costs more CPU time than it
saves in IO.
Frames Arrow cannot carry faithfully (object columns of mixed values or with
missing values, dtypes that do not round-trip) are pickled instead, so the
result never differs from the in-memory shuffle.

Cleanup: the directory is removed once every output partition has been read
(each reader leaves a marker; whoever completes the set removes it).  Runs
that end early (an error, or only some outputs requested) are covered by the
handle: in the process that drives a local run, the ``init`` result is kept
alive by every ``unpack`` task, and the directory is removed when that
handle is dropped, which happens when the run finishes or fails.
"""
from __future__ import annotations

import io
import os
import pickle
import shutil
import struct
import sys
import tempfile
import threading
import uuid
import weakref
from typing import Any, Callable

import numpy as np
import pandas as pd

from shoal import config

__all__ = ["ShuffleDir", "PieceEncoder", "disk_shuffle_layer", "encode_frame", "decode_frame", "describe_active"]

_MAGIC = b"SHOALSH1"
_HEADER = struct.Struct("<8sq")  # magic, number of output partitions
_ENTRY = struct.Struct("<qq")  # offset, length of one piece
_COMPRESS_MIN_BYTES = 64 * 1024  # below this, codec overhead outweighs the saving


# -- what is running now, for memory warnings ------------------------------------

_active: dict = {}  # thread id -> description of the shuffle step it runs


def _mib(n: float) -> str:
    return f"{n / 2**20:.1f} MiB"


def describe_active() -> str:
    """The shuffle steps running in this process with their sizes ('' if none).

    A worker near its memory limit adds this to its warning, so the log
    says which operation holds the memory.
    """
    items = list(_active.values())
    return "; ".join(items)


class _Activity:
    def __init__(self, text: str):
        self.text = text

    def __enter__(self) -> "_Activity":
        _active[threading.get_ident()] = self.text
        return self

    def update(self, text: str) -> None:
        self.text = text
        _active[threading.get_ident()] = text

    def __exit__(self, *exc: Any) -> None:
        _active.pop(threading.get_ident(), None)


# -- the per-run directory -----------------------------------------------------

_owned: "weakref.WeakValueDictionary[str, ShuffleDir]" = weakref.WeakValueDictionary()


def _root_pid() -> int | None:
    """The process that holds a local run's results, or None on a distributed worker."""
    if "shoal.distributed.worker.server" in sys.modules:
        if getattr(sys.modules["shoal.distributed.worker.server"], "_current_worker", None) is not None:
            return None
    main = sys.modules.get("__main__")
    spec = getattr(main, "__spec__", None)
    if spec is not None and spec.name == "shoal.local.worker":
        return os.getppid()  # a ``processes`` worker: the engine is the parent
    return os.getpid()


class ShuffleDir:
    """Handle to one run's shuffle directory; removes it when the owning copy is dropped.

    The owning copy is the one in the process that drives the run (the
    user's process for sync, threads and processes); copies unpickled
    elsewhere only carry the path.
    """

    def __init__(self, path: str, nout: int, root: int | None):
        self.path = path
        self.nout = nout
        self.root = root
        self._finalizer: Any = None
        if root is not None and root == os.getpid():
            self._own()

    def _own(self) -> None:
        self._finalizer = weakref.finalize(self, shutil.rmtree, self.path, True)
        _owned[self.path] = self

    def __reduce__(self) -> tuple:
        return (_rebuild_dir, (self.path, self.nout, self.root))

    def __repr__(self) -> str:
        return f"ShuffleDir({self.path!r})"


def _rebuild_dir(path: str, nout: int, root: int | None) -> ShuffleDir:
    # one owning object per process and path, so dropping a copy never removes
    # the directory while another copy is still in use
    existing = _owned.get(path)
    if existing is not None:
        return existing
    return ShuffleDir(path, nout, root)


def _base_directory() -> str:
    base = config.get("temporary_directory", None)
    return base or tempfile.gettempdir()


def init_dir(token: str, nout: int) -> ShuffleDir:
    """Make this run's directory (a fresh one per run, so reruns never mix)."""
    path = tempfile.mkdtemp(prefix=f"shoal-shuffle-{token[:8]}-", dir=_base_directory())
    return ShuffleDir(path, nout, _root_pid())


# -- encoding pieces -----------------------------------------------------------

def _arrow_ok(df: pd.DataFrame, table: Any) -> bool:
    """Whether ``table.to_pandas()`` gives ``df`` back exactly."""
    import pyarrow as pa

    for name, dtype in df.dtypes.items():
        if dtype == object:
            col = df[name]
            if isinstance(col, pd.DataFrame):  # duplicate column names
                return False
            field = table.schema.field(table.schema.get_field_index(str(name))) \
                if table.schema.get_field_index(str(name)) >= 0 else None
            if field is None or not (pa.types.is_string(field.type) or pa.types.is_large_string(field.type)):
                return False
            if col.isna().any():  # Arrow would hand None back for NaN
                return False
    if df.index.dtype == object:
        return False
    return True


def _to_arrow(df: pd.DataFrame) -> Any:
    """``df`` as an Arrow table if it comes back from Arrow exactly, else None."""
    try:
        import pyarrow as pa

        table = pa.Table.from_pandas(df, preserve_index=True)  # True: the index is a column, so slices keep it
    except (ImportError, ValueError, TypeError, NotImplementedError):  # pyarrow errors subclass these
        return None
    return table if _arrow_ok(df, table) else None


def _ipc_bytes(table: Any, compression: str | None) -> bytes:
    import pyarrow as pa

    codec = compression if compression and table.nbytes >= _COMPRESS_MIN_BYTES else None
    sink = io.BytesIO()
    sink.write(b"A")
    with pa.ipc.new_stream(sink, table.schema, options=pa.ipc.IpcWriteOptions(compression=codec)) as w:
        w.write_table(table)
    return sink.getvalue()


def encode_frame(df: pd.DataFrame, compression: str | None = None) -> bytes:
    """One piece as bytes: an Arrow IPC stream (tag ``A``) or a pickle (tag ``P``)."""
    table = _to_arrow(df) if isinstance(df, pd.DataFrame) else None
    if table is not None:
        return _ipc_bytes(table, compression)
    return b"P" + pickle.dumps(df, protocol=5)


def decode_frame(buf: bytes | memoryview) -> pd.DataFrame:
    tag = bytes(buf[:1])
    if tag == b"A":
        import pyarrow as pa

        table = pa.ipc.open_stream(pa.py_buffer(buf[1:])).read_all()
        df = table.to_pandas()
        # pandas may read Arrow strings back as its string dtype: columns that were
        # object (text only: see _arrow_ok) stay object
        for c in (table.schema.pandas_metadata or {}).get("columns", ()):
            name = c.get("name")
            if c.get("numpy_type") == "object" and name in df.columns and df[name].dtype != object:
                df[name] = df[name].astype(object)
        return df
    if tag == b"P":
        return pickle.loads(buf[1:])
    raise ValueError(f"shuffle file piece has an unknown tag {tag!r}; the file is damaged")


def _same_layout(decoded: pd.DataFrame, like: pd.DataFrame) -> bool:
    return (list(decoded.columns) == list(like.columns)
            and list(decoded.dtypes) == list(like.dtypes)
            and decoded.index.dtype == like.index.dtype
            and list(decoded.index.names) == list(like.index.names)
            and type(decoded.index) is type(like.index))


# -- tasks ---------------------------------------------------------------------

def transfer(df: pd.DataFrame, sdir: ShuffleDir, i: int, split_func: Callable, args: tuple) -> str:
    """Split input partition ``i`` and write its pieces to this run's directory.

    ``split_func(df, *args)`` returns the ``k`` pieces (views of one reordered copy).
    """
    k = sdir.nout
    nbytes = int(df.memory_usage(deep=False).sum()) if hasattr(df, "memory_usage") else 0
    with _Activity(f"disk shuffle: splitting input partition {i} ({len(df)} rows, {_mib(nbytes)}) "
                   f"into {k} pieces"):
        return _transfer(df, sdir, i, split_func, args, k)


class PieceEncoder:
    """Piece ``j`` of one split partition as bytes, encoded when asked for.

    Arrow for the whole partition only if an empty frame survives the round
    trip with the same columns, dtypes and index (cheap, and catches dtypes
    Arrow would change); each piece is checked again for its values.  When
    the pieces are slices of one reordered frame, that frame is converted
    once and its table sliced (converting 100s of small frames costs far
    more).  ``meta`` is the empty frame (true dtypes for empty outputs).
    """

    def __init__(self, df: Any, pieces: list, compression: str | None = None):
        self.pieces = pieces
        self.compression = compression
        empty = df.iloc[:0]
        try:
            self.use_arrow = isinstance(df, pd.DataFrame) and _same_layout(decode_frame(encode_frame(empty)), empty)
        except Exception:
            self.use_arrow = False
        whole = getattr(pieces, "whole", None)
        self.table = _to_arrow(whole) if self.use_arrow and whole is not None else None
        self.bounds = getattr(pieces, "bounds", None)
        self.meta = b"P" + pickle.dumps(empty, protocol=5)
        self.n = len(pieces)
        if self.table is not None:
            self.pieces = None  # the table has every row: the reordered pandas copy can go

    def __len__(self) -> int:
        return self.n

    def blob(self, j: int) -> bytes | None:
        """Piece ``j`` encoded, or None if it has no rows."""
        if self.table is not None:
            start, stop = int(self.bounds[j]), int(self.bounds[j + 1])
            return _ipc_bytes(self.table.slice(start, stop - start), self.compression) if stop > start else None
        piece = self.pieces[j]
        if piece is None or not len(piece):
            return None
        if self.use_arrow:
            return encode_frame(piece, self.compression)
        return b"P" + pickle.dumps(piece, protocol=5)


def _transfer(df: pd.DataFrame, sdir: ShuffleDir, i: int, split_func: Callable, args: tuple, k: int) -> str:
    pieces = split_func(df, *args)
    if len(pieces) != k:
        raise ValueError(f"the shuffle's split gave {len(pieces)} pieces for {k} output partitions")
    enc = PieceEncoder(df, pieces, config.get("dataframe.shuffle.compression", None))
    del pieces
    final = os.path.join(sdir.path, f"in-{i}")
    tmp = os.path.join(sdir.path, f".in-{i}-{uuid.uuid4().hex}")
    table = np.zeros((k + 1, 2), dtype=np.int64)
    with open(tmp, "wb") as f:
        f.write(_HEADER.pack(_MAGIC, k))
        f.write(table.tobytes())
        pos = _HEADER.size + table.nbytes
        for j in range(k):
            blob = enc.blob(j)
            if blob is None:
                continue
            f.write(blob)
            table[j] = (pos, len(blob))
            pos += len(blob)
            del blob
        f.write(enc.meta)
        table[k] = (pos, len(enc.meta))
        f.seek(_HEADER.size)
        f.write(table.tobytes())
    os.replace(tmp, final)
    return final


def barrier(*paths: str) -> list:
    """All transfers are done: the files to read, in input order."""
    return list(paths)


def _read_piece(path: str, j: int) -> bytes | None:
    try:
        f = open(path, "rb")
    except FileNotFoundError:
        raise FileNotFoundError(
            f"shuffle file {path} is gone: its directory was removed after every output had been read. "
            "This happens when an output of a disk shuffle is recomputed after the shuffle finished "
            "(e.g. a worker holding it was lost); persist() the shuffled frame, or use shuffle_method='tasks'."
        ) from None
    with f:
        magic, k = _HEADER.unpack(f.read(_HEADER.size))
        if magic != _MAGIC:
            raise ValueError(f"{path} is not a shoal shuffle file")
        f.seek(_HEADER.size + j * _ENTRY.size)
        off, length = _ENTRY.unpack(f.read(_ENTRY.size))
        if length == 0:
            return None
        f.seek(off)
        return f.read(length)


def unpack(sdir: ShuffleDir, paths: list, j: int) -> pd.DataFrame:
    """Output partition ``j``: piece ``j`` of every input, in input order."""
    frames = []
    read = 0
    with _Activity(f"disk shuffle: reading output partition {j} from {len(paths)} files") as act:
        for n, p in enumerate(paths):
            blob = _read_piece(p, j)
            if blob is not None:
                read += len(blob)
                frames.append(decode_frame(blob))
                del blob
                act.update(f"disk shuffle: reading output partition {j}, {n + 1} of {len(paths)} files, "
                           f"{_mib(read)} read so far")
    if not frames:
        meta = _read_piece(paths[0], sdir.nout) if paths else None
        out = decode_frame(meta) if meta is not None else pd.DataFrame()
    elif len(frames) == 1:
        out = frames[0]
    else:
        out = pd.concat(frames)
    del frames
    _mark_done(sdir, j)
    return out


def _mark_done(sdir: ShuffleDir, j: int) -> None:
    """Leave a marker; whoever sees every output read removes the directory."""
    try:
        fd = os.open(os.path.join(sdir.path, f"done-{j}"), os.O_CREAT | os.O_WRONLY, 0o600)
        os.close(fd)
        done = sum(1 for name in os.listdir(sdir.path) if name.startswith("done-"))
    except FileNotFoundError:
        return
    if done >= sdir.nout:
        shutil.rmtree(sdir.path, ignore_errors=True)


def disk_shuffle_layer(frame: Any, split_func: Callable, args: tuple, k: int, name: str, tok: str) -> dict:
    """Tasks of a disk shuffle of ``frame`` into ``k`` partitions named ``(name, j)``.

    ``split_func(df, *args)`` gives the ``k`` pieces of one input partition.
    """
    from shoal.core.task import Ref, Task

    iname = f"{name}-init"
    tname = f"{name}-transfer"
    bname = f"{name}-barrier"
    layer: dict = {iname: Task(init_dir, tok, k)}
    for i in range(frame.npartitions):
        layer[(tname, i)] = Task(transfer, Ref((frame._name, i)), Ref(iname), i, split_func, args)
    layer[bname] = Task(barrier, *[Ref((tname, i)) for i in range(frame.npartitions)])
    for j in range(k):
        layer[(name, j)] = Task(unpack, Ref(iname), Ref(bname), j)
    return layer
