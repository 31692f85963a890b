"""Text files in and out of bags: ``read_text`` and ``to_textfiles``.

Reading is built for throughput.  A partition is read as large decompressed
chunks (``CHUNK`` bytes), each decoded once and split into lines by one C
call (``str.splitlines``), never line by line through ``TextIOWrapper``.
gzip goes through ISA-L (``isal``) when it is installed, about 2-3x faster
than zlib; other codecs (bz2, xz, zstd, ...) go through fsspec's registry.

Line endings follow Python's text mode: with ``linedelimiter=None`` a line
ends at ``\\n``, ``\\r\\n`` or ``\\r`` and each line keeps one ``\\n`` at its
end; with ``linedelimiter="X"`` lines are split on ``X`` only and keep it.

``blocksize`` cuts uncompressed files into byte ranges; a line belongs to
the block holding its first byte, so blocks never split or repeat a line.
Compressed files cannot be cut (their byte offsets are not line offsets),
so asking for ``blocksize`` on them raises an error that says so.
"""
from __future__ import annotations

import codecs
import itertools
import os
from typing import Any, Iterable, Iterator, List

import fsspec
from fsspec.core import get_fs_token_paths
from fsspec.utils import infer_compression

from shoal.utils import parse_bytes

__all__ = ["read_text", "to_textfiles", "read_lines", "read_files", "NoFilesFound"]


class NoFilesFound(FileNotFoundError, ValueError):
    """No file matches the paths given to a reader (a ``ValueError`` too, as Dask raises)."""

#: Decompressed bytes handled per step: large enough that per-chunk Python
#: costs vanish, small enough that a partition never needs all its text at once.
CHUNK = 8 << 20

_EXOTIC_ASCII = ("\x0b", "\x0c", "\x1c", "\x1d", "\x1e")
_EXOTIC_UNICODE = ("\x85", "\u2028", "\u2029")

# -- splitting text into lines -------------------------------------------------

def _split_universal(text: str, final: bool) -> tuple[list, str]:
    """Lines of ``text`` in text-mode semantics, and the unfinished tail."""
    if "\r" in text:
        if not final and text.endswith("\r"):
            # a "\r\n" may straddle the chunk boundary: decide next time
            keep = "\r"
            text = text[:-1]
        else:
            keep = ""
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    else:
        keep = ""
    exotic = any(c in text for c in _EXOTIC_ASCII) or (
        not text.isascii() and any(c in text for c in _EXOTIC_UNICODE))
    if not exotic:
        lines = text.splitlines(True)
    else:  # splitlines would also break on these; split on "\n" only
        parts = text.split("\n")
        lines = [p + "\n" for p in parts[:-1]]
        if parts[-1]:
            lines.append(parts[-1])
    if lines and not final and not lines[-1].endswith("\n"):
        return lines[:-1], lines[-1] + keep
    return lines, keep


def _split_custom(text: str, delim: str, final: bool) -> tuple[list, str]:
    parts = text.split(delim)
    lines = [p + delim for p in parts[:-1]]
    tail = parts[-1]
    if final:
        if tail:
            lines.append(tail)
        return lines, ""
    return lines, tail


def _iter_line_chunks(chunks: Iterable[bytes], encoding: str, errors: str,
                      delim: str | None) -> Iterator[list]:
    """Lists of lines from an iterable of raw byte chunks."""
    dec = codecs.getincrementaldecoder(encoding)(errors)
    carry = ""
    for raw in chunks:
        text = dec.decode(raw)
        if carry:
            text = carry + text
        if delim is None:
            lines, carry = _split_universal(text, False)
        else:
            lines, carry = _split_custom(text, delim, False)
        if lines:
            yield lines
    text = carry + dec.decode(b"", final=True)
    if text:
        lines, _ = _split_universal(text, True) if delim is None else _split_custom(text, delim, True)
        if lines:
            yield lines


# -- opening and decompressing --------------------------------------------------

def _raw_chunks(f: Any, size: int | None = None, step: int | None = None) -> Iterator[bytes]:
    left = size
    step = step or CHUNK
    while left is None or left > 0:
        n = step if left is None else min(step, left)
        b = f.read(n)
        if not b:
            return
        if left is not None:
            left -= len(b)
        yield b


def _gzip_chunks(f: Any) -> Iterator[bytes]:
    try:
        from isal import isal_zlib as zlib_mod
    except ImportError:  # pragma: no cover - isal is optional
        import zlib as zlib_mod
    d = zlib_mod.decompressobj(31)
    for comp in _raw_chunks(f, None, CHUNK // 4):
        while comp:
            # bounded output: a highly compressed file never inflates all at once
            out = d.decompress(comp, CHUNK)
            if out:
                yield out
            if d.eof:
                # concatenated gzip members (as `cat a.gz b.gz` makes)
                comp = d.unused_data
                d = zlib_mod.decompressobj(31)
            else:
                comp = d.unconsumed_tail
    tail = d.flush()
    if tail:
        yield tail


def _decompressed_chunks(fs: Any, path: str, compression: str | None) -> Iterator[bytes]:
    with fs.open(path, "rb") as f:
        if compression is None:
            yield from _raw_chunks(f)
        elif compression == "gzip":
            yield from _gzip_chunks(f)
        else:
            opener = fsspec.compression.compr[compression]
            with opener(f, mode="rb") as g:
                yield from _raw_chunks(g)


def _find_delim(f: Any, start: int, delim: bytes) -> int:
    """Offset just after the first ``delim`` at or after ``start`` (or EOF)."""
    f.seek(start)
    buf = b""
    pos = start
    while True:
        b = f.read(1 << 16)
        if not b:
            return pos + len(buf)
        buf += b
        i = buf.find(delim)
        if i >= 0:
            return pos + i + len(delim)
        # keep a delimiter-length tail in case it straddles reads
        keep = len(delim) - 1
        pos += len(buf) - keep
        buf = buf[len(buf) - keep:] if keep else b""


def _block_chunks(fs: Any, path: str, offset: int, length: int, delim: bytes) -> Iterator[bytes]:
    with fs.open(path, "rb") as f:
        # a block owns the lines that start inside it; blocks may be shorter than the delimiter
        start = 0 if offset == 0 else _find_delim(f, max(0, offset - len(delim)), delim)
        end = _find_delim(f, max(0, offset + length - len(delim)), delim)
        if end <= start:
            return
        f.seek(start)
        yield from _raw_chunks(f, end - start)


def read_lines(fs: Any, path: str, compression: str | None, offset: int | None,
               length: int | None, encoding: str, errors: str, delim: str | None,
               include_path: bool) -> Iterator:
    """Source of one ``read_text`` partition: the lines of one file or block."""
    if offset is None:
        chunks = _decompressed_chunks(fs, path, compression)
    else:
        bdelim = (delim or "\n").encode(encoding)
        chunks = _block_chunks(fs, path, offset, length, bdelim)
    groups = _iter_line_chunks(chunks, encoding, errors, delim)
    if include_path:
        return itertools.chain.from_iterable([(ln, path) for ln in g] for g in groups)
    return itertools.chain.from_iterable(groups)


def read_files(fs: Any, paths: list, compressions: list, encoding: str, errors: str,
               delim: str | None, include_path: bool) -> Iterator:
    """Source of a partition made of several whole files (``files_per_partition``)."""
    return itertools.chain.from_iterable(
        read_lines(fs, p, c, None, None, encoding, errors, delim, include_path)
        for p, c in zip(paths, compressions))


def _compression_of(path: str, compression: str | None) -> str | None:
    if compression == "infer":
        return infer_compression(path)
    if compression is not None and compression not in fsspec.compression.compr:
        known = ", ".join(repr(c) for c in fsspec.compression.compr if c)
        raise ValueError(f"compression={compression!r} is not known; use 'infer', None or one of {known}")
    return compression


def read_text(urlpath: Any, blocksize: Any = None, compression: str | None = "infer",
              encoding: str = "utf-8", errors: str = "strict", linedelimiter: str | None = None,
              collection: bool = True, storage_options: dict | None = None,
              files_per_partition: int | None = None, include_path: bool = False) -> Any:
    """Read lines from text files into a bag, one partition per file (or block).

    >>> wiki = db.read_text('/data/wikistats/part-0000*gz')
    >>> wiki.filter(find).count().compute()

    ``urlpath`` is a path, a glob, or a list of them (any fsspec protocol).
    Compression is inferred from the extension (gz, bz2, xz, zst).  Each
    element is one line with its line ending; ``include_path=True`` makes
    elements ``(line, path)``.  ``blocksize`` (bytes or "64MiB") splits
    uncompressed files at line boundaries; ``files_per_partition`` groups
    small files.
    """
    from shoal.bag.core import Bag
    from shoal.utils import new_name

    if blocksize is not None and files_per_partition is not None:
        raise ValueError("read_text: blocksize and files_per_partition cannot be used together; "
                         "pick one (blocksize splits big files, files_per_partition groups small ones)")
    patterns = list(urlpath) if isinstance(urlpath, (list, tuple)) else [urlpath]
    if not patterns:
        raise ValueError("read_text got an empty list of paths; pass a path, a glob or a list of paths")
    fs = None
    paths: List[str] = []
    for pat in patterns:
        pat = str(pat)
        fs_i, _, found = get_fs_token_paths(pat, mode="rb", storage_options=storage_options or {})
        has_glob = any(c in pat for c in "*?[")
        if not found or (not has_glob and not fs_i.exists(found[0])):
            raise NoFilesFound(
                f"read_text: no file matches {pat!r}. Check the directory and the pattern "
                f"(a glob such as '/data/part-0000*gz' or an existing file path)")
        fs = fs_i
        if not has_glob and len(found) == 1 and fs_i.isdir(found[0]):
            # a directory: every file below it, in name order
            found = sorted(p for p in fs_i.find(found[0]) if not fs_i.isdir(p))
            if not found:
                raise NoFilesFound(f"read_text: the directory {pat!r} holds no files")
        paths.extend(found)
    comps = [_compression_of(p, compression) for p in paths]
    delim = linedelimiter
    name = new_name("read-text", patterns, blocksize, compression, encoding, errors, delim,
                    files_per_partition, include_path, [fs.ukey(p) for p in paths]
                    if hasattr(fs, "ukey") else paths)
    srcs: list = []
    if files_per_partition is not None:
        n = int(files_per_partition)
        if n < 1:
            raise ValueError(f"files_per_partition must be >= 1, got {files_per_partition!r}")
        for i in range(0, len(paths), n):
            srcs.append((read_files, (fs, paths[i:i + n], comps[i:i + n], encoding, errors, delim,
                                      include_path)))
    elif blocksize is None:
        for p, c in zip(paths, comps):
            srcs.append((read_lines, (fs, p, c, None, None, encoding, errors, delim, include_path)))
    else:
        bs = parse_bytes(blocksize, "blocksize")
        if bs <= 0:
            raise ValueError(f"blocksize must be positive, got {blocksize!r}")
        compressed = [p for p, c in zip(paths, comps) if c is not None]
        if compressed:
            raise ValueError(
                f"read_text: blocksize={blocksize!r} cannot cut compressed files such as "
                f"{compressed[0]!r} (a byte offset inside compressed data is not a line boundary). "
                "Read them whole, one partition per file: "
                f"db.read_text({patterns[0]!r}, blocksize=None)")
        for p in paths:
            size = fs.size(p) or 0
            nblocks = max(1, -(-size // bs))
            for b in range(nblocks):
                srcs.append((read_lines, (fs, p, None, b * bs, bs, encoding, errors, delim,
                                          include_path)))
    bag = Bag.from_sources(name, srcs)
    if not collection:
        return bag.to_delayed()
    return bag


# -- writing ---------------------------------------------------------------------

def write_partition(it: Iterable, path: str, compression: str | None, encoding: str,
                    last_endline: bool, storage_options: dict | None) -> str:
    """Write one partition's strings to ``path``, one element per line."""
    with fsspec.open(path, "wb", compression=compression, **(storage_options or {})) as f:
        buf: list = []
        size = 0
        first = True
        for x in it:
            if not isinstance(x, str):
                raise TypeError(
                    f"to_textfiles writes strings, got a {type(x).__name__}: {x!r}. "
                    "Convert first, e.g. b.map(json.dumps).to_textfiles(...)")
            if not first:
                buf.append("\n")
            first = False
            # elements that already end a line (as read_text gives) are not doubled
            if x.endswith("\n"):
                buf.append(x[:-1])
            else:
                buf.append(x)
            size += len(x)
            if size > CHUNK:
                f.write("".join(buf).encode(encoding))
                buf, size = [], 0
        if last_endline and not first:
            buf.append("\n")
        if buf:
            f.write("".join(buf).encode(encoding))
    return path


def _output_paths(path: Any, n: int, name_function: Any) -> List[str]:
    if not isinstance(path, (str, os.PathLike, list, tuple)):
        raise TypeError(f"to_textfiles path must be a string, a path or a list of them, got "
                        f"{type(path).__name__}: {path!r}")
    if isinstance(path, (list, tuple)):
        if len(path) != n:
            raise ValueError(f"to_textfiles got {len(path)} paths for a bag of {n} partitions; "
                             "give one path per partition or a glob like 'out/*.txt.gz'")
        return [str(p) for p in path]
    path = os.fspath(path)
    if name_function is None:
        # zero-padded so that the files sort in partition order (00, 01, ..., 15)
        width = len(str(max(n - 1, 0)))
        name_function = f"{{:0{width}d}}".format
    if "*" in path:
        if path.count("*") > 1:
            raise ValueError(f"to_textfiles path {path!r} has more than one '*'; use exactly one")
        names = [path.replace("*", name_function(i)) for i in range(n)]
    else:
        names = [f"{path.rstrip('/')}/{name_function(i)}.part" for i in range(n)]
    return names


def to_textfiles(b: Any, path: Any, name_function: Any = None, compression: str | None = "infer",
                 encoding: str = "utf-8", compute: bool = True, storage_options: dict | None = None,
                 last_endline: bool = False, **kwargs: Any) -> Any:
    """Write a bag of strings to text files, one file per partition.

    ``path`` is a glob with one ``*`` (replaced by the partition number, or
    ``name_function(i)``), a directory, or a list of paths.  Compression
    follows the extension (``out/*.txt.gz``).  Returns the paths written, or
    with ``compute=False`` a list of Delayed that write them.
    """
    from shoal.bag.core import Bag

    if not isinstance(b, Bag):
        raise TypeError(f"to_textfiles expects a Bag, got {type(b).__name__}")
    names = _output_paths(path, b.npartitions, name_function)
    first = names[0] if names else ""
    proto, _, _ = first.rpartition("://")
    if not proto or proto == "file":
        import os

        for p in names:
            d = os.path.dirname(p.split("://")[-1])
            if d:
                os.makedirs(d, exist_ok=True)
    comps = [infer_compression(p) if compression == "infer" else compression for p in names]
    items = b._per_partition("to-textfiles", write_partition,
                             [(p, c, encoding, last_endline, storage_options)
                              for p, c in zip(names, comps)])
    if compute:
        from shoal.base import compute as _compute

        return list(_compute(*items, **kwargs))
    return items
