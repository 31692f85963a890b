"""Partitioned pandas dataframes: ``import shoal.dataframe as ddf``.

>>> air = ddf.read_csv('data/*.csv.bz2', encoding='latin1')
>>> air.DepDelay.max().compute()
>>> sub = air[(air.UniqueCarrier == 'UA') & (air.Origin == 'SFO')]
>>> sub.groupby('Dest').DepDelay.mean().compute()

See ``shoal.dataframe.core`` for the model (partitions, meta, divisions).
"""
from __future__ import annotations

from shoal.dataframe.core import DataFrame, Index, Scalar, Series, map_partitions
from shoal.dataframe.io.convert import from_array, from_delayed, from_dict, from_pandas
from shoal.dataframe.io.csv import DtypeMismatchError, read_csv, read_table, to_csv
from shoal.dataframe.io.parquet import read_parquet, to_parquet
from shoal.dataframe.multi import concat, merge
from shoal.dataframe.utils import make_meta


def to_datetime(arg, **kwargs):
    """``pandas.to_datetime`` on every partition of a Series (lazy)."""
    import pandas as pd

    if not isinstance(arg, Series):
        return pd.to_datetime(arg, **kwargs)
    return arg.map_partitions(pd.to_datetime, token="to-datetime", **kwargs)


def to_numeric(arg, errors: str = "raise", **kwargs):
    """``pandas.to_numeric`` on every partition of a Series (lazy)."""
    import pandas as pd

    if not isinstance(arg, Series):
        return pd.to_numeric(arg, errors=errors, **kwargs)
    return arg.map_partitions(pd.to_numeric, token="to-numeric", errors=errors, **kwargs)

__all__ = [
    "DataFrame",
    "Series",
    "Index",
    "Scalar",
    "map_partitions",
    "read_csv",
    "read_table",
    "to_csv",
    "read_parquet",
    "to_parquet",
    "from_pandas",
    "from_dict",
    "from_array",
    "from_delayed",
    "concat",
    "merge",
    "make_meta",
    "to_datetime",
    "to_numeric",
    "compute",
    "DtypeMismatchError",
]

from shoal.base import compute  # noqa: E402
