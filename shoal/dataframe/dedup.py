"""``drop_duplicates`` spread over partitions by a hash shuffle.

Rows that are equal in the compared columns (``subset``, the whole row, or a
Series' values) hash to the same output partition, so dropping duplicates
partition by partition afterwards is the global answer.  The shuffle keeps
input order inside every output partition (pieces from input 0 come before
pieces from input 1, each in its own row order), so per-partition
``keep="first"``/``"last"`` picks the same row pandas would, and
``keep=False`` sees every copy of a row in one place.

Before the shuffle each partition drops its own duplicates (with
``keep="first"``/``"last"`` that never removes the row that wins globally),
which shrinks what moves.  ``keep=False`` moves every row: a row repeated
inside one partition and seen once more elsewhere must still disappear.
Memory is bounded by the shuffle method (``"disk"`` holds about one
partition per running task).
"""
from __future__ import annotations

from typing import Any

import pandas as pd

__all__ = ["drop_duplicates_shuffled", "subset_list"]

_VALUES = "__values__"  # the column a Series' or Index's values travel in


def subset_list(meta: Any, subset: Any) -> list | None:
    """``subset`` as pandas reads it: one label, or a list-like of labels (None: every column)."""
    if subset is None or not isinstance(meta, pd.DataFrame):
        return None
    if isinstance(subset, tuple) and subset in meta.columns:
        return [subset]
    if isinstance(subset, (str, bytes)) or not pd.api.types.is_list_like(subset):
        return [subset]
    return list(subset)


def _as_rows(x: Any) -> pd.DataFrame:
    if isinstance(x, pd.Index):
        return x.to_frame(index=False, name=_VALUES)
    if isinstance(x, pd.Series):
        return x.to_frame(name=_VALUES)
    return x


def _from_rows(df: pd.DataFrame, like: Any) -> Any:
    col = df[_VALUES]
    if isinstance(like, pd.Index):
        return pd.Index(col, dtype=like.dtype).rename(like.name)
    return col.rename(like.name)


def _dedup(df: pd.DataFrame, on: list, keep: Any) -> pd.DataFrame:
    return df.drop_duplicates(subset=on, keep=keep)


def drop_duplicates_shuffled(frame: Any, subset: Any, keep: Any, npartitions: int, method: Any = None) -> Any:
    """Distinct rows of ``frame`` in ``npartitions`` partitions, moved by the shuffle ``method``.

    ``method``: ``"tasks"``, ``"disk"`` or None for config ``dataframe.shuffle.method``.
    """
    from shoal.dataframe.shuffle import shuffle

    if isinstance(method, bool):  # Dask's shuffle_method=True/False: the configured method
        method = None
    meta = frame._meta
    rows = frame if isinstance(meta, pd.DataFrame) else frame.map_partitions(
        _as_rows, meta=_as_rows(meta), token="as-rows")
    on = subset_list(meta, subset) if isinstance(meta, pd.DataFrame) else [_VALUES]
    if on is None:
        on = list(meta.columns)
    if keep is not False:  # fewer rows to move; the winning copy of every row survives this
        rows = rows.map_partitions(_dedup, on, keep, meta=rows._meta, token="drop-duplicates-chunk")
    moved = shuffle(rows, on, npartitions=npartitions, method=method)
    out = moved.map_partitions(_dedup, on, keep, meta=rows._meta, token="drop-duplicates")
    if not isinstance(meta, pd.DataFrame):
        out = out.map_partitions(_from_rows, meta, meta=meta, token="from-rows")
    return out
