"""Bag to DataFrame: one pandas partition per bag partition (``Bag.to_dataframe``).

Each partition's elements become a ``pandas.DataFrame`` inside the
partition's fused task (so ``read_text(...).map(parse).to_dataframe()`` is
one task per file), and ``shoal.dataframe.from_delayed`` wraps the results.
"""
from __future__ import annotations

from typing import Any, Iterable

__all__ = ["to_dataframe"]


def records_to_frame(it: Iterable, columns: Any, dtypes: Any = None) -> Any:
    """A DataFrame from dicts (keys are columns), tuples/lists or scalars.

    ``dtypes`` (``{column: dtype}``) types the columns of an empty partition.
    """
    import pandas as pd

    rows = it if type(it) is list else list(it)
    if not rows and dtypes:
        return pd.DataFrame({c: pd.Series([], dtype=t) for c, t in dtypes.items()})
    if rows and isinstance(rows[0], dict):
        df = pd.DataFrame.from_records(rows)
        if columns is not None:
            df = df.reindex(columns=list(columns))
        return df
    if rows and isinstance(rows[0], (tuple, list)):
        return pd.DataFrame.from_records(rows, columns=list(columns) if columns is not None else None)
    cols = list(columns) if columns is not None else [0]
    if not rows:
        return pd.DataFrame({c: [] for c in cols})
    return pd.DataFrame({cols[0]: rows})


def to_dataframe(bag: Any, meta: Any = None, columns: Any = None) -> Any:
    """A shoal DataFrame with one partition per bag partition (elements are dicts, tuples or scalars)."""
    try:
        import shoal.dataframe as sdd
    except ImportError as e:  # pragma: no cover - pandas is in the dataframe extra
        raise ImportError("Bag.to_dataframe needs shoal.dataframe (pip install 'shoal[dataframe]')") from e
    if meta is None:
        # dtypes from the first elements, as Dask does; checked loosely
        sample = list(bag.take(20, warn=False))
        meta = records_to_frame(sample, columns).iloc[:0]
        verify = False
    else:
        verify = True
        if isinstance(meta, dict) or (isinstance(meta, (list, tuple)) and meta
                                      and all(isinstance(m, tuple) and len(m) == 2 for m in meta)):
            import pandas as pd

            items = list(meta.items()) if isinstance(meta, dict) else list(meta)
            meta = pd.DataFrame({c: pd.Series([], dtype=t) for c, t in items})
        if columns is None and hasattr(meta, "columns"):
            columns = list(meta.columns)
    dtypes = dict(meta.dtypes) if hasattr(meta, "dtypes") and hasattr(meta, "columns") else None
    parts = bag._per_partition("to-dataframe", records_to_frame, [(columns, dtypes)] * bag.npartitions)
    return sdd.from_delayed(parts, meta=meta, verify_meta=verify)
