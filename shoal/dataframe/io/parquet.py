"""``read_parquet`` / ``to_parquet`` with pyarrow.

One partition per row group of every file.  ``columns=`` reads only those
columns (and the projection pass narrows it further); ``filters=`` (pyarrow's
DNF list, e.g. ``[('year', '>=', 2000)]``) skips row groups whose statistics
rule them out when the graph is built, and filters rows when reading.

The index stored by pandas (``to_parquet`` writes it by default) becomes
the index again; ``calculate_divisions=True`` reads the row groups' min/max
statistics of that index to set known divisions.  Categorical columns come
back categorical, with categories unknown until computed (each file may
hold other ones).  Directories written with ``partition_on=`` (hive style,
``year=2024/``) are read back with those columns as categoricals.
"""
from __future__ import annotations

import os
from typing import Any

import pandas as pd

from shoal.core.graph import LayeredGraph
from shoal.core.task import Task
from shoal.core.tokenize import tokenize
from shoal.dataframe.core import new_collection
from shoal.dataframe.optimize import register_reader

__all__ = ["read_parquet", "to_parquet"]


def _expr(filters: Any) -> Any:
    if not filters:
        return None
    import pyarrow.parquet as pq

    return pq.filters_to_expression(filters)


def _local_fs() -> Any:
    import pyarrow.fs

    return pyarrow.fs.LocalFileSystem()


def _hive_values(root: str | None, path: str) -> dict:
    """``{'year': '2024'}`` for ``root/year=2024/part.0.parquet``."""
    if root is None:
        return {}
    rel = os.path.relpath(os.path.dirname(path), root)
    out = {}
    for seg in rel.split(os.sep):
        if "=" in seg:
            k, v = seg.split("=", 1)
            out[k] = v
    return out


def read_parquet_part(source: tuple, columns: list | None, spec: tuple) -> pd.DataFrame:
    """One row group: ``source`` = (path, row group or None, hive values)."""
    import pyarrow.dataset as ds

    path, rg, hive = source
    all_columns, index_cols, hive_cats, file_filters, as_category = spec
    fmt = ds.ParquetFileFormat()
    frag = fmt.make_fragment(path, _local_fs(), row_groups=[rg] if rg is not None else None)
    cols = all_columns if columns is None else [c for c in all_columns if c in set(columns)]
    file_cols = [c for c in cols if c not in hive_cats]
    read_cols = file_cols + [c for c in index_cols if c not in file_cols]
    table = frag.to_table(schema=frag.physical_schema, columns=read_cols, filter=_expr(file_filters))
    df = table.to_pandas()  # restores a stored index from pandas' metadata
    if index_cols and all(c in df.columns for c in index_cols):
        df = df.set_index(index_cols)
    elif not index_cols and not isinstance(df.index, pd.RangeIndex):
        df = df.reset_index()  # index=False: the stored index is a column like any other
    for c in cols:
        if c in hive_cats:
            df[c] = pd.Categorical([hive[c]] * len(df), categories=hive_cats[c])
        elif c in as_category and not isinstance(df[c].dtype, pd.CategoricalDtype):
            df[c] = df[c].astype("category")
    return df[cols]


register_reader(read_parquet_part, 1)


def _files(path: Any) -> tuple[list[str], str | None]:
    from shoal.dataframe.io._files import expand_paths

    if isinstance(path, (str, os.PathLike)) and os.path.isdir(path):
        root = os.fspath(path)
        found = []
        for d, dirs, files in os.walk(root):
            dirs.sort()
            found += [os.path.join(d, f) for f in sorted(files)
                      if not f.startswith((".", "_")) and (f.endswith(".parquet") or f.endswith(".parq"))]
        if not found:
            raise FileNotFoundError(f"read_parquet: no *.parquet files under {root!r}")
        return found, root
    _, paths = expand_paths(path, "read_parquet")
    return paths, None


def _divisions(paths: list, sources: list, index_col: str) -> list | None:
    """Divisions from the row groups' statistics of ``index_col``, if they are ordered and do not overlap."""
    import pyarrow.parquet as pq

    bounds = []
    cache: dict = {}
    for p, rg, _ in sources:
        if rg is None:
            return None
        md = cache.get(p) or cache.setdefault(p, pq.ParquetFile(p).metadata)
        names = [md.schema.column(j).name for j in range(md.num_columns)]
        if index_col not in names:
            return None
        st = md.row_group(rg).column(names.index(index_col)).statistics
        if st is None or not st.has_min_max:
            return None
        bounds.append((st.min, st.max))
    if not bounds or any(a[1] >= b[0] for a, b in zip(bounds[:-1], bounds[1:])):
        return None
    return [b[0] for b in bounds] + [bounds[-1][1]]


def read_parquet(path: Any, columns: Any = None, filters: Any = None, index: Any = None,
                 calculate_divisions: bool = False, categories: Any = None, engine: str = "auto",
                 **kwargs: Any) -> Any:
    """Lazily read parquet data: a file, a directory (hive ``key=value/`` subdirectories too), a glob or a list.

    One partition per row group.  ``columns=`` (a list, or one name for a
    Series) reads only those columns; ``filters=`` (pyarrow's DNF list such
    as ``[('year', '>=', 2020)]``) skips row groups by their statistics and
    filters rows.  ``index=`` names the column(s) to use as the index
    (default: the index pandas stored; ``index=False``: none, the stored
    index comes back as a column).  ``calculate_divisions=True`` sets known
    divisions from the index's min/max statistics when row groups are
    sorted.  ``categories=[...]`` reads those columns as categoricals;
    ``split_row_groups=False`` makes one partition per file.  A missing
    path raises FileNotFoundError; an unknown column KeyError.
    """
    import pyarrow.dataset as ds
    import pyarrow.parquet as pq

    from shoal.dataframe.api import UNKNOWN_CATEGORIES

    if engine not in ("auto", "pyarrow"):
        raise NotImplementedError(f"read_parquet(engine={engine!r}): shoal reads parquet with pyarrow only")
    split_row_groups = kwargs.pop("split_row_groups", "infer")
    if kwargs.pop("storage_options", None):
        raise NotImplementedError("read_parquet reads local files only; storage_options= is not supported")
    if kwargs:
        raise NotImplementedError(f"read_parquet: keywords {sorted(kwargs)} are not supported; read with pyarrow "
                                  f"directly and use ddf.from_pandas / from_delayed")
    paths, root = _files(path)
    schema = pq.ParquetFile(paths[0]).schema_arrow
    pmeta = schema.pandas_metadata or {}
    stored_index = [c for c in pmeta.get("index_columns", []) if isinstance(c, str)]
    if index is False:
        index_cols: list = []
    elif index is not None:
        index_cols = [index] if isinstance(index, str) else list(index)
    else:
        index_cols = stored_index
    hive_keys = list(_hive_values(root, paths[0]))
    hive_cats = {k: sorted({_hive_values(root, p).get(k) for p in paths} - {None}) for k in hive_keys}
    file_columns = [n for n in schema.names if n not in index_cols]
    all_columns = file_columns + [k for k in hive_keys if k not in file_columns]
    single = isinstance(columns, str)
    if columns is not None:
        columns = [columns] if single else list(columns)
        missing = [c for c in columns if c not in all_columns]
        if missing:
            raise KeyError(f"read_parquet: columns {missing} are not in {paths[0]!r}; it has {all_columns}")
    meta = schema.empty_table().to_pandas(ignore_metadata=True)  # every stored column, index ones too
    typed = schema.empty_table().to_pandas()  # pandas' own dtypes where it recorded them
    for c in typed.columns:
        if c in meta.columns:
            meta[c] = typed[c]
    for k in hive_keys:
        meta[k] = pd.Categorical([], categories=hive_cats[k])
    if index_cols:
        missing = [c for c in index_cols if c not in meta.columns]
        if missing:
            raise KeyError(f"read_parquet: index {missing} is not a column of {paths[0]!r}")
        meta = meta.set_index(index_cols)
        if meta.index.nlevels == 1 and str(meta.index.name).startswith("__index_level_"):
            meta.index.name = None
    meta = meta[columns if columns is not None else all_columns]
    as_category = [] if categories is None else ([categories] if isinstance(categories, str) else list(categories))
    as_category = [c for c in as_category if c in meta.columns]
    for c in meta.columns:
        if (isinstance(meta[c].dtype, pd.CategoricalDtype) or c in as_category) and c not in hive_cats:
            meta[c] = pd.Categorical([], categories=[UNKNOWN_CATEGORIES])
    # filters on hive columns select files; the rest go to the row groups
    hive_filters = [f for f in (filters or []) if isinstance(f, tuple) and f[0] in hive_cats]
    file_filters = [f for f in (filters or []) if not (isinstance(f, tuple) and f[0] in hive_cats)]
    if filters and any(not isinstance(f, tuple) for f in filters):
        if any(any(g[0] in hive_cats for g in f) for f in filters if not isinstance(f, tuple)):
            raise NotImplementedError("read_parquet: OR-groups of filters on partition_on columns are not "
                                      "supported; filter those columns after reading")
        file_filters = filters
    expr = _expr(file_filters)
    sources = []
    fmt = ds.ParquetFileFormat()
    for p in paths:
        hive = _hive_values(root, p)
        if hive_filters and not _hive_match(hive, hive_filters):
            continue
        frag = fmt.make_fragment(p, _local_fs())
        if split_row_groups is False and expr is None:
            sources.append((p, None, hive))
            continue
        pieces = frag.split_by_row_group(expr, schema=frag.physical_schema) if expr is not None \
            else frag.split_by_row_group()
        for piece in pieces:
            for rg in piece.row_groups:
                sources.append((p, rg.id, hive))
    if not sources:
        sources = [(paths[0], None, _hive_values(root, paths[0]))]
    divisions = [None] * (len(sources) + 1)
    if calculate_divisions and len(index_cols) == 1:
        divisions = _divisions(paths, sources, index_cols[0]) or divisions
    spec = (list(meta.columns), index_cols, hive_cats, file_filters, as_category)
    name = "read-parquet-" + tokenize(paths, [os.path.getmtime(p) if os.path.exists(p) else None for p in paths],
                                      sources, spec)
    cols = None if columns is None else list(columns)
    layer = {(name, i): Task(read_parquet_part, src, cols, spec) for i, src in enumerate(sources)}
    out = new_collection(LayeredGraph({name: layer}), name, meta, divisions)
    return out[columns[0]] if single else out


def _hive_match(hive: dict, filters: list) -> bool:
    import operator

    ops = {"==": operator.eq, "=": operator.eq, "!=": operator.ne, "<": operator.lt, "<=": operator.le,
           ">": operator.gt, ">=": operator.ge, "in": lambda a, b: a in b, "not in": lambda a, b: a not in b}
    for col, op, val in filters:
        have = hive.get(col)
        if op not in ops:
            raise ValueError(f"read_parquet: unknown filter operator {op!r}")
        other = [str(v) for v in val] if op in ("in", "not in") else str(val)
        if not ops[op](have, other):
            return False
    return True


def _write_part(df: pd.DataFrame, path: str, fname: str, write_index: bool, partition_on: list,
                kwargs: dict) -> list:
    import pyarrow as pa
    import pyarrow.parquet as pq

    if write_index and isinstance(df.index, pd.RangeIndex):
        df = df.set_axis(pd.Index(df.index.to_numpy(), name=df.index.name))  # store as a column in every file
    if not partition_on:
        target = os.path.join(path, fname)
        pq.write_table(pa.Table.from_pandas(df, preserve_index=write_index), target, **kwargs)
        return [target]
    out = []
    for keys, piece in df.groupby(partition_on, observed=True, sort=True):
        keys = keys if isinstance(keys, tuple) else (keys,)
        sub = os.path.join(path, *[f"{k}={v}" for k, v in zip(partition_on, keys)])
        os.makedirs(sub, exist_ok=True)
        target = os.path.join(sub, fname)
        table = pa.Table.from_pandas(piece.drop(columns=partition_on), preserve_index=write_index)
        pq.write_table(table, target, **kwargs)
        out.append(target)
    return out


def to_parquet(df: Any, path: Any, engine: str = "auto", compression: Any = "snappy", write_index: bool = True,
               partition_on: Any = None, overwrite: bool = False, append: bool = False,
               name_function: Any = None, compute: bool = True, compute_kwargs: dict | None = None,
               **kwargs: Any) -> Any:
    """Write ``path/part.<i>.parquet`` for every partition (pyarrow), index included by default.

    ``write_index=False`` drops the index.  ``partition_on=['col']`` writes
    hive-style subdirectories ``col=value/`` (the column is stored in the
    directory name, and ``read_parquet`` restores it as a categorical).
    ``overwrite=True`` empties ``path`` first; ``append=True`` adds files
    numbered after the ones there (the columns must match; else ValueError).
    ``name_function(i)`` names partition ``i``'s file (default
    ``part.<i>.parquet``).  Returns the files written
    (or the lazy writes with ``compute=False``).
    """
    import shutil

    from shoal import base
    from shoal.delayed import delayed

    if engine not in ("auto", "pyarrow"):
        raise NotImplementedError(f"to_parquet(engine={engine!r}): shoal writes parquet with pyarrow only")
    path = os.fspath(path)
    if overwrite and os.path.isdir(path):
        shutil.rmtree(path)
    os.makedirs(path, exist_ok=True)
    partition_on = [partition_on] if isinstance(partition_on, str) else list(partition_on or [])
    missing = [c for c in partition_on if c not in df.columns]
    if missing:
        raise KeyError(f"to_parquet: partition_on columns {missing} are not in the frame")
    scheduler = kwargs.pop("scheduler", None)
    pq_kwargs = dict(kwargs, compression=compression)
    if overwrite and append:
        raise ValueError("to_parquet: overwrite=True and append=True contradict each other")
    start = 0
    if append:
        existing, _ = _files(path) if any(f.endswith(".parquet") for _, _, fs in os.walk(path) for f in fs) \
            else ([], None)
        if existing:
            import pyarrow.parquet as pq

            old = [n for n in pq.ParquetFile(existing[0]).schema_arrow.names
                   if not n.startswith("__index_level_")]
            new = [c for c in df.columns if c not in partition_on]
            if write_index and df.index.name is not None:
                new = new + [df.index.name]
            if sorted(old) != sorted(new):
                raise ValueError(f"to_parquet(append=True): the data has columns {new}, the files in {path!r} "
                                 f"have {old}")
            start = len(existing)
    if name_function is None:
        names = [f"part.{start + i}.parquet" for i in range(df.npartitions)]
    else:
        names = [str(name_function(start + i)) for i in range(df.npartitions)]
        if len(set(names)) != len(names):
            raise ValueError("to_parquet: name_function gave two partitions the same file name")
    writes = [delayed(_write_part, pure=False)(p, path, names[i], write_index, partition_on, pq_kwargs)
              for i, p in enumerate(df.to_delayed())]
    if not compute:
        return writes
    ckw = dict(compute_kwargs or {})
    if scheduler is not None:
        ckw.setdefault("scheduler", scheduler)
    return [f for files in base.compute(*writes, **ckw) for f in files]
