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
from shoal.dataframe.io.csv import CSVParserError, DtypeMismatchError, read_csv, read_fwf, read_table, to_csv
from shoal.dataframe.io.parquet import read_parquet, to_parquet
from shoal.dataframe.io.hdf import read_hdf, to_hdf
from shoal.dataframe.io.json import read_json, to_json
from shoal.dataframe.io.sql import read_sql, read_sql_query, read_sql_table, to_sql
from shoal.dataframe.groupby import Aggregation
from shoal.dataframe.multi import concat, merge
from shoal.dataframe.utils import make_meta
from shoal.dataframe import repartition as _repartition_module  # noqa: F401  (before the function below)
from shoal.dataframe.convert_array import from_dask_array
from shoal.dataframe.reshape import get_dummies, isna, melt, pivot_table
from shoal.dataframe.reshape import repartition_frame as repartition


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

def to_timedelta(arg, unit=None, errors: str = "raise"):
    """``pandas.to_timedelta`` on every partition of a Series (lazy)."""
    import pandas as pd

    if not isinstance(arg, Series):
        return pd.to_timedelta(arg, unit=unit, errors=errors)
    return arg.map_partitions(pd.to_timedelta, token="to-timedelta", unit=unit, errors=errors)


def map_overlap(func, df, before, after, *args, meta=None, **kwargs):
    """``func`` on each partition of ``df`` with ``before``/``after`` rows (or a time span) of its neighbours."""
    from shoal.dataframe.core import no_default

    return df.map_overlap(func, before, after, *args, meta=no_default if meta is None else meta, **kwargs)


__all__ = [
    "Aggregation",
    "DataFrame",
    "Series",
    "Index",
    "Scalar",
    "map_partitions",
    "read_csv",
    "read_table",
    "read_fwf",
    "to_csv",
    "read_parquet",
    "to_parquet",
    "read_hdf",
    "to_hdf",
    "read_json",
    "to_json",
    "read_sql",
    "read_sql_query",
    "read_sql_table",
    "to_sql",
    "from_pandas",
    "from_dict",
    "from_array",
    "from_delayed",
    "concat",
    "merge",
    "make_meta",
    "to_datetime",
    "to_numeric",
    "to_timedelta",
    "from_dask_array",
    "get_dummies",
    "isna",
    "melt",
    "pivot_table",
    "repartition",
    "map_overlap",
    "compute",
    "DtypeMismatchError",
]

from shoal.base import compute  # noqa: E402
