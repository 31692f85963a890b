"""Files behind the text readers: path expansion, compression, byte ranges.

A compressed file is inflated whole (its codec cannot seek), and the most
recently inflated files are kept in ``inflate_cache`` (an LRU keyed by path,
size and modification time) so a second ``compute`` over the same files does
not inflate them again.  A plain file is read as a byte range that starts at
the first line beginning at or after ``offset`` and ends at the end of the
line holding byte ``offset + length - 1``: every line lands in exactly one
range.
"""
from __future__ import annotations

import bz2
import gzip
import io
import lzma
import os
import re
import threading
import zipfile
from collections import OrderedDict
from typing import Any

import fsspec

__all__ = ["infer_compression", "expand_paths", "open_stream", "read_block", "inflate_cache", "InflateCache",
           "parse_blocksize"]


def parse_blocksize(value: Any, default: int) -> int | None:
    """``blocksize`` as bytes: an int, a string such as ``"64MB"``, ``None`` or ``"default"``."""
    if value is None:
        return None
    if isinstance(value, str) and value == "default":
        return default
    from shoal.utils import parse_bytes

    n = parse_bytes(value, "blocksize", "64MB")
    if n <= 0:
        raise ValueError(f"blocksize={value!r}: a block needs at least one byte; pass None for one partition per file")
    return n


_EXT = {".zip": "zip", ".bz2": "bz2", ".gz": "gzip", ".gzip": "gzip", ".xz": "xz", ".lzma": "xz", ".zst": "zstd", ".zstd": "zstd"}


def _zstd_decompress(data: bytes) -> bytes:
    import zstandard

    return zstandard.ZstdDecompressor().decompressobj().decompress(data)


def _unzip(data: bytes) -> bytes:
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        names = [n for n in z.namelist() if not n.endswith("/")]
        if len(names) != 1:
            raise ValueError(f"a zipped CSV must hold exactly one file, this one holds {names}")
        return z.read(names[0])


_INFLATE = {"bz2": bz2.decompress, "gzip": gzip.decompress, "xz": lzma.decompress, "zstd": _zstd_decompress,
            "zip": _unzip}


def open_stream(f: Any, compression: str) -> Any:
    """A file object that inflates ``f`` as it is read (for sampling a file's start)."""
    if compression == "bz2":
        return bz2.BZ2File(f)
    if compression == "gzip":
        return gzip.GzipFile(fileobj=f)
    if compression == "xz":
        return lzma.LZMAFile(f)
    if compression == "zstd":
        import zstandard

        return zstandard.ZstdDecompressor().stream_reader(f)
    z = zipfile.ZipFile(f)
    return z.open([n for n in z.namelist() if not n.endswith("/")][0])


def infer_compression(path: str, compression: Any) -> str | None:
    """The codec of ``path``: from its extension for ``'infer'``, else the one named (or None)."""
    if compression == "infer":
        return _EXT.get(os.path.splitext(path)[1].lower())
    if compression in (None, "none", False):
        return None
    if compression == "gz":
        return "gzip"
    if compression not in _INFLATE:
        raise ValueError(f"compression={compression!r} is not supported; use 'infer', 'bz2', 'gzip', 'xz', 'zstd', 'zip' or None")
    return compression


def expand_paths(urlpath: Any, what: str = "read_csv", storage_options: dict | None = None) -> tuple[Any, list[str]]:
    """The filesystem and sorted list of files matching a path, glob or list."""
    paths = [urlpath] if isinstance(urlpath, (str, os.PathLike)) else list(urlpath)
    if not paths:
        raise ValueError(f"{what}: got an empty list of paths; pass at least one file name or glob")
    paths = [os.fspath(p) for p in paths]
    so = storage_options or {}
    fs: Any = None  # the first path's filesystem
    out: list[str] = []
    for p in paths:
        fs_p, _, found = fsspec.get_fs_token_paths(p, storage_options=so)
        fs = fs_p if fs is None else fs
        if not found or not all(fs_p.exists(f) for f in found[:1]):
            raise FileNotFoundError(
                f"{what}: no files match {p!r}; check the path (and the glob pattern, e.g. 'data/*.csv.bz2') "
                f"from the current directory {os.getcwd()!r}"
            )
        out.extend(sorted(found, key=natural_key) if has_magic(p) else found)
    return fs, out


def has_magic(path: str) -> bool:
    """Whether ``path`` is a glob pattern."""
    return any(ch in path for ch in "*?[")


def natural_key(path: str) -> list:
    """Sort key that puts ``part_9`` before ``part_10`` (numbers compare as numbers)."""
    return [int(t) if t.isdigit() else t for t in re.split(r"(\d+)", path)]


class InflateCache:
    """The most recently inflated compressed files, up to a byte budget (LRU).

    Inflating bz2 costs ~30 MB/s per core, far more than parsing; the
    tutorial's pattern (``compute`` one result, then another on the same
    files) would pay it twice.  Entries are keyed by path, size and
    modification time, so a rewritten file is read again.  The budget is
    ``shoal.config`` key ``dataframe.inflate-cache-bytes`` (default
    ``DEFAULT_INFLATE_CACHE``; 0 turns the cache off); ``clear()`` empties it.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._items: OrderedDict = OrderedDict()
        self.nbytes = 0

    def get(self, key: tuple) -> bytes | None:
        """The inflated bytes for ``key``, or None (a hit becomes the most recent entry)."""
        with self._lock:
            data = self._items.get(key)
            if data is not None:
                self._items.move_to_end(key)
            return data

    def put(self, key: tuple, data: bytes, budget: int) -> None:
        """Keep ``data``, dropping the least recent entries to stay within ``budget`` bytes."""
        if len(data) > budget:
            return
        with self._lock:
            if key in self._items:
                return
            self._items[key] = data
            self.nbytes += len(data)
            while self.nbytes > budget and self._items:
                _, old = self._items.popitem(last=False)
                self.nbytes -= len(old)

    def clear(self) -> None:
        """Forget every entry."""
        with self._lock:
            self._items.clear()
            self.nbytes = 0


#: Default byte budget of the inflated-file cache.
DEFAULT_INFLATE_CACHE = 256 * 2**20
inflate_cache = InflateCache()


def _file_key(fs: Any, path: str) -> tuple | None:
    try:
        info = fs.info(path)
    except Exception:
        return None
    return (path, info.get("size"), info.get("mtime") or info.get("LastModified") or info.get("created"))


def read_block(fs: Any, path: str, offset: int, length: int | None, compression: str | None) -> bytes:
    """The lines of ``path`` starting in ``[offset, offset + length)`` (all of it for ``length=None``);
    a compressed file is inflated whole (through ``inflate_cache``)."""
    if compression is not None:
        from shoal import config

        budget = int(config.get("dataframe.inflate-cache-bytes", DEFAULT_INFLATE_CACHE) or 0)
        key = _file_key(fs, path) if budget > 0 else None
        if key is not None:
            data = inflate_cache.get(key)
            if data is not None:
                return data
        with fs.open(path, "rb") as f:
            raw = f.read()
        data = _INFLATE[compression](raw)
        if key is not None:
            inflate_cache.put(key, data, budget)
        return data
    with fs.open(path, "rb") as f:
        if length is None:
            return f.read()
        start = offset
        if offset > 0:
            f.seek(offset - 1)
            # skip to the first line that starts at or after offset
            chunk = f.read(1)
            if chunk != b"\n":
                f.readline()
            start = f.tell()
        if start >= offset + length:
            return b""
        data = f.read(offset + length - start)
        if data and not data.endswith(b"\n"):
            data += f.readline()
        return data


