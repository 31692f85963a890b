"""``to_csv``: one file per partition, or every partition appended in order to one file."""
from __future__ import annotations

import os
from typing import Any, Callable

import fsspec
import pandas as pd

from shoal.dataframe.io._files import infer_compression

__all__ = ["to_csv"]


def _open(path: str, mode: str, compression: Any, encoding: str | None, storage_options: dict | None) -> Any:
    comp = infer_compression(path, "infer" if compression == "infer" else compression)
    return fsspec.open(path, mode, compression=comp, encoding=encoding or "utf-8", newline="",
                       **(storage_options or {}))


def _write_part(df: pd.DataFrame, path: str, mode: str, open_kw: dict, kwargs: dict) -> str:
    with _open(path, mode, **open_kw) as f:
        df.to_csv(f, **kwargs)
    return path


def _write_single(parts: list, path: str, mode: str, open_kw: dict, kwargs: dict) -> str:
    # appends keep one handle for every partition: a compressed file stays one stream
    with _open(path, mode, **open_kw) as f:
        for i, p in enumerate(parts):
            kw = dict(kwargs)
            if i > 0:
                kw["header"] = False
            p.to_csv(f, **kw)
    return path


def output_paths(filename: Any, n: int, name_function: Callable | None, what: str = "to_csv") -> list[str]:
    """One file name per partition: a list as given, ``'*'`` replaced by ``name_function(i)``, or
    numbered ``*.part`` files in a directory (created).  ``what`` names the writer in errors."""
    if isinstance(filename, (list, tuple)):
        if len(filename) != n:
            raise ValueError(f"{what}: got {len(filename)} file names for {n} partitions; give one per partition")
        return [os.fspath(p) for p in filename]
    filename = os.fspath(filename)
    if "*" not in filename:
        # a directory: one numbered file per partition inside it
        fs, _, _ = fsspec.get_fs_token_paths(filename)
        fs.makedirs(filename, exist_ok=True)
        filename = filename.rstrip("/") + "/*.part"
    if filename.count("*") != 1:
        raise ValueError(f"{what}: {filename!r} must hold exactly one '*' (replaced by the partition's name)")
    name_function = name_function or str
    names = [str(name_function(i)) for i in range(n)]
    if len(set(names)) != n:
        raise ValueError(f"{what}: name_function gave the same name to two partitions; files would be overwritten")
    parent = os.path.dirname(filename)
    if parent and "://" not in filename:
        os.makedirs(parent, exist_ok=True)
    return [filename.replace("*", s) for s in names]


def to_csv(df: Any, filename: Any, single_file: bool = False, encoding: str = "utf-8", mode: str = "wt",
           name_function: Callable | None = None, compression: Any = "infer", compute: bool = True,
           storage_options: dict | None = None, header_first_partition_only: bool | None = None,
           compute_kwargs: dict | None = None, scheduler: Any = None, **kwargs: Any) -> Any:
    """Write a DataFrame or Series to CSV files (``pandas.DataFrame.to_csv`` keywords pass through).

    ``filename``: ``'out/part-*.csv'`` (``*`` becomes the partition number, or
    ``name_function(i)``), a directory (``out/0.part``...), or a list with one
    name per partition.  ``single_file=True`` writes every partition in order
    to ``filename`` (with ``name_function`` it raises ValueError).
    ``header_first_partition_only=True`` writes the header only in the first
    file (the default in single-file mode, where False raises ValueError).
    ``mode='a'`` appends, ``'x'`` refuses to overwrite an existing file.
    Compression is inferred from the file extension (``.gz``, ``.bz2``,
    ``.xz``...), or set with ``compression=``.

    Returns the list of file names written; with ``compute=False`` a list of
    lazy ``Delayed`` writes (one for single-file mode) to compute later.
    """
    from shoal import base
    from shoal.delayed import delayed

    if single_file and name_function is not None:
        raise ValueError("to_csv: name_function= names one file per partition; it cannot be used with "
                         "single_file=True")
    if header_first_partition_only is None:
        header_first_partition_only = single_file
    elif not header_first_partition_only and single_file:
        raise ValueError("to_csv: header_first_partition_only=False would repeat the header inside a single file")
    mode = mode if "b" not in mode else mode.replace("b", "")
    mode = mode if "t" in mode else mode + "t"
    open_kw = {"compression": compression, "encoding": encoding, "storage_options": storage_options}
    compute_kwargs = dict(compute_kwargs or {})
    if scheduler is not None:
        compute_kwargs.setdefault("scheduler", scheduler)
    parts = df.to_delayed()
    if single_file:
        filename = os.fspath(filename)
        writes = [delayed(_write_single, pure=False)(parts, filename, mode, open_kw, kwargs)]
    else:
        paths = output_paths(filename, len(parts), name_function)
        writes = []
        for i, (p, path) in enumerate(zip(parts, paths)):
            kw = dict(kwargs)
            if i > 0 and header_first_partition_only:
                kw["header"] = False
            writes.append(delayed(_write_part, pure=False)(p, path, mode, open_kw, kw))
    if not compute:
        return writes
    return list(base.compute(*writes, **compute_kwargs))
