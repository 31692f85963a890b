"""``read_sql_table`` / ``read_sql_query`` / ``read_sql`` / ``to_sql`` through SQLAlchemy.

A query is split into partitions by ranges of one indexed column
(``index_col``): partition ``i`` holds ``divisions[i] <= index_col <
divisions[i+1]`` (the last range is closed).  Divisions are given, or
spread evenly between the column's minimum and maximum (numbers and
datetimes; ``npartitions=`` or ``bytes_per_chunk=`` sets how many).  Rows
whose ``index_col`` is NULL fall in no range, so a NULL there raises when
the graph is built instead of losing rows.  ``con`` is a URI string
(``'sqlite:///path.db'``): every task opens its own engine, since
connections cannot travel to other processes.
"""
from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from shoal.core.graph import LayeredGraph
from shoal.core.task import Task
from shoal.core.tokenize import tokenize
from shoal.dataframe.core import new_collection
from shoal.dataframe.utils import make_meta

__all__ = ["read_sql_table", "read_sql_query", "read_sql", "to_sql"]


def _sa() -> Any:
    try:
        import sqlalchemy as sa
    except ImportError as e:
        raise ImportError("read_sql/to_sql need SQLAlchemy: pip install sqlalchemy (or shoal[io])") from e
    return sa


def _engine(con: Any, engine_kwargs: dict | None) -> Any:
    if not isinstance(con, str):
        raise TypeError(f"con must be a database URI string such as 'sqlite:///data.db', got {type(con).__name__}; "
                        "connection objects cannot be sent to the workers that run the queries")
    return _sa().create_engine(con, **(engine_kwargs or {}))


def _read_part(query: Any, con: str, index_col: str, meta: pd.DataFrame, engine_kwargs: dict | None,
               kwargs: dict) -> pd.DataFrame:
    engine = _engine(con, engine_kwargs)
    try:
        with engine.connect() as conn:
            df = pd.read_sql(query, conn, index_col=index_col, **kwargs)
    finally:
        engine.dispose()
    if len(df) == 0:
        return meta.copy()
    if list(df.columns) != list(meta.columns):
        raise ValueError(f"read_sql: a partition returned columns {list(df.columns)}, expected {list(meta.columns)}")
    casts = {c: meta[c].dtype for c in df.columns if df[c].dtype != meta[c].dtype}
    if casts:
        try:
            df = df.astype(casts)
        except (TypeError, ValueError) as e:
            raise ValueError(f"read_sql: a partition's columns do not convert to the dtypes of the first rows "
                             f"({casts}): {e}; pass meta= with the right dtypes") from e
    return df


def _spread(lo: Any, hi: Any, n: int, dtype: Any) -> list:
    if pd.api.types.is_datetime64_any_dtype(dtype) or isinstance(lo, pd.Timestamp):
        return list(pd.date_range(pd.Timestamp(lo), pd.Timestamp(hi), periods=n + 1))
    if pd.api.types.is_integer_dtype(dtype):
        return sorted(set(int(x) for x in np.linspace(lo, hi, n + 1).round()))
    if pd.api.types.is_float_dtype(dtype):
        return list(np.linspace(lo, hi, n + 1))
    raise TypeError(f"read_sql: cannot spread partitions over an index column of dtype {dtype}; "
                    f"pass divisions= explicitly")


def read_sql_query(sql: Any, con: str, index_col: str, divisions: Any = None, npartitions: int | None = None,
                   limits: Any = None, bytes_per_chunk: Any = "256 MiB", head_rows: int = 5, meta: Any = None,
                   engine_kwargs: dict | None = None, **kwargs: Any) -> Any:
    """Lazily read a SQLAlchemy ``Select`` into a DataFrame indexed by ``index_col``.

    ``sql``: a SQLAlchemy selectable (``sa.select(t.c.a, t.c.b)``; a plain
    string cannot be split, wrap it in ``sa.text(...).columns(...)`` or use
    ``read_sql_table``).  ``con``: a URI string.  Partitions are ranges of
    ``index_col``: ``divisions=`` gives their bounds; else ``npartitions=``
    ranges (or enough ranges of ``bytes_per_chunk`` each, estimated from
    ``head_rows`` rows) are spread between ``limits=(lo, hi)`` or the
    column's min and max.  ``meta=`` gives the dtypes (else the first
    ``head_rows`` rows are read).  Every partition runs its own query;
    other keywords go to ``pandas.read_sql``.
    """
    sa = _sa()
    if isinstance(sql, str):
        raise TypeError("read_sql_query needs a SQLAlchemy selectable (e.g. sa.select(...)) so it can add a range "
                        "condition per partition; for a whole table use read_sql_table")
    if index_col is None:
        raise ValueError("read_sql_query: index_col= is required (partitions are ranges of that column)")
    if divisions is not None and npartitions is not None:
        raise TypeError("read_sql: pass divisions= or npartitions=, not both")
    sub = sql.subquery()
    if index_col not in sub.c:
        raise KeyError(f"read_sql: index_col {index_col!r} is not a column of the query; it has {list(sub.c.keys())}")
    col = sub.c[index_col]
    engine = _engine(con, engine_kwargs)
    try:
        with engine.connect() as conn:
            if meta is None:
                head = pd.read_sql(sa.select(*sub.c).limit(head_rows), conn, index_col=index_col, **kwargs)
                meta = head.iloc[:0]
            else:
                head = None
                meta = make_meta(meta)
            if divisions is None:
                if limits is None:
                    lo, hi = conn.execute(sa.select(sa.func.min(col), sa.func.max(col))).one()
                else:
                    lo, hi = limits
                if npartitions is None:
                    count = conn.execute(sa.select(sa.func.count()).select_from(sub)).scalar()
                    if head is not None and len(head):
                        per_row = head.memory_usage(deep=True, index=True).sum() / len(head)
                    else:
                        per_row = 100
                    from shoal.utils import parse_bytes

                    npartitions = max(1, int(np.ceil(count * per_row / parse_bytes(bytes_per_chunk,
                                                                                    "bytes_per_chunk"))))
            nulls = conn.execute(sa.select(sa.func.count()).select_from(sub).where(col.is_(None))).scalar()
    finally:
        engine.dispose()
    if nulls:
        raise ValueError(f"read_sql: {nulls} rows have NULL in index_col {index_col!r}; they would belong to no "
                         f"partition. Filter them out in the query or pick another index_col")
    if divisions is None:
        if lo is None:  # an empty result: one empty partition
            divisions = [None, None]
        else:
            if isinstance(lo, str):
                raise TypeError(f"read_sql: index_col {index_col!r} holds strings; partitions cannot be spread "
                                f"between {lo!r} and {hi!r}: pass divisions= explicitly")
            divisions = _spread(lo, hi, npartitions, meta.index.dtype) if lo != hi else [lo, hi]
    divisions = list(divisions)
    if divisions[0] is None:
        queries = [sa.select(*sub.c)]
    else:
        queries = []
        for i, (a, b) in enumerate(zip(divisions[:-1], divisions[1:])):
            last = i == len(divisions) - 2
            cond = sa.and_(col >= a, col <= b) if last else sa.and_(col >= a, col < b)
            queries.append(sa.select(*sub.c).where(cond))
    token = "read-sql-" + tokenize(con, [str(q) for q in queries], [repr(d) for d in divisions], index_col, meta,
                                   kwargs)
    layer = {(token, i): Task(_read_part, q, con, index_col, meta, engine_kwargs, kwargs)
             for i, q in enumerate(queries)}
    return new_collection(LayeredGraph({token: layer}), token, meta, divisions)


def read_sql_table(table_name: str, con: str, index_col: str, divisions: Any = None, npartitions: int | None = None,
                   limits: Any = None, columns: Any = None, bytes_per_chunk: Any = "256 MiB", head_rows: int = 5,
                   schema: str | None = None, meta: Any = None, engine_kwargs: dict | None = None,
                   **kwargs: Any) -> Any:
    """Lazily read a database table into a DataFrame indexed by ``index_col``.

    ``con``: a URI string (``'sqlite:///data.db'``).  ``columns=``: the
    columns to read (names or SQLAlchemy column expressions); the index
    column is always read.  Partitioning (``divisions``, ``npartitions``,
    ``limits``, ``bytes_per_chunk``) is that of ``read_sql_query``.  A
    missing table raises ``sqlalchemy.exc.NoSuchTableError``.
    """
    sa = _sa()
    engine = _engine(con, engine_kwargs)
    try:
        table = sa.Table(table_name, sa.MetaData(), autoload_with=engine, schema=schema)
    finally:
        engine.dispose()
    if columns is None:
        cols = list(table.columns)
    else:
        cols = [table.columns[c] if isinstance(c, str) else c for c in columns]
        if index_col not in [getattr(c, "name", None) for c in cols]:
            cols.append(table.columns[index_col])
    return read_sql_query(sa.select(*cols), con, index_col, divisions=divisions, npartitions=npartitions,
                          limits=limits, bytes_per_chunk=bytes_per_chunk, head_rows=head_rows, meta=meta,
                          engine_kwargs=engine_kwargs, **kwargs)


def read_sql(sql: Any, con: str, index_col: str, **kwargs: Any) -> Any:
    """``read_sql_table`` for a table name, ``read_sql_query`` for a SQLAlchemy selectable."""
    if isinstance(sql, str):
        return read_sql_table(sql, con, index_col, **kwargs)
    return read_sql_query(sql, con, index_col, **kwargs)


def _write_part(df: pd.DataFrame, name: str, uri: str, if_exists: str, engine_kwargs: dict | None, kwargs: dict,
                after: Any = None) -> int:
    engine = _engine(uri, engine_kwargs)
    try:
        df.to_sql(name, engine, if_exists=if_exists, **kwargs)
    finally:
        engine.dispose()
    return len(df)


def to_sql(df: Any, name: str, uri: str, schema: str | None = None, if_exists: str = "fail", index: bool = True,
           index_label: Any = None, chunksize: int | None = None, dtype: Any = None, method: Any = None,
           compute: bool = True, parallel: bool = False, engine_kwargs: dict | None = None) -> Any:
    """Write the partitions into a database table (``pandas.DataFrame.to_sql`` semantics).

    ``uri``: a database URI string.  The first partition is written with
    ``if_exists`` (``'fail'``, ``'replace'`` or ``'append'``), the others are
    appended.  With ``parallel=False`` (the default) partitions are written
    one after the other, in order; ``parallel=True`` writes the later ones
    concurrently once the first is in.  Returns None (or the lazy writes
    with ``compute=False``).
    """
    from shoal import base
    from shoal.delayed import delayed

    if if_exists not in ("fail", "replace", "append"):
        raise ValueError(f"to_sql: if_exists must be 'fail', 'replace' or 'append', got {if_exists!r}")
    _engine(uri, engine_kwargs).dispose()
    kw = {"schema": schema, "index": index, "index_label": index_label, "chunksize": chunksize, "dtype": dtype,
          "method": method}
    parts = df.to_delayed()
    write = delayed(_write_part, pure=False)
    first = write(parts[0], name, uri, if_exists, engine_kwargs, kw)
    writes = [first]
    prev = first
    for p in parts[1:]:
        w = write(p, name, uri, "append", engine_kwargs, kw, first if parallel else prev)
        writes.append(w)
        prev = w
    if not compute:
        return writes
    base.compute(*writes)
    return None
