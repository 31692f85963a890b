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
from shoal.dataframe.io.orc import read_orc, to_orc
from shoal.dataframe.io.sql import read_sql, read_sql_query, read_sql_table, to_sql
from shoal.dataframe.groupby import Aggregation
from shoal.dataframe.multi import concat, merge
from shoal.dataframe.utils import make_meta
from shoal.dataframe import repartition as _repartition_module  # noqa: F401  (before the function below)
from shoal.dataframe.convert_array import from_dask_array
from shoal.dataframe.reshape import get_dummies, isna, melt, pivot_table
from shoal.dataframe.reshape import repartition_frame as repartition


def to_datetime(arg, **kwargs):
    """``pandas.to_datetime`` on every partition of a Series, or of a DataFrame of year/month/day... columns (lazy).

    Pass ``meta=`` when the output type cannot be guessed from a sample date.
    """
    import pandas as pd

    if isinstance(arg, (pd.Series, pd.DataFrame)):
        return pd.to_datetime(arg, **kwargs)
    if not isinstance(arg, (Series, DataFrame)):
        raise NotImplementedError(f"to_datetime takes a shoal (or pandas) Series or DataFrame, not "
                                  f"{type(arg).__name__}; use pandas.to_datetime for single values")
    meta = kwargs.pop("meta", None)
    if meta is None and isinstance(arg, DataFrame):
        # columns such as year/month/day: the made-up rows would not parse, so use a real date
        sample = pd.DataFrame({"year": [2000], "month": [1], "day": [1]})
        meta = pd.Series(pd.to_datetime(sample, **kwargs)).iloc[:0]
        meta.index = arg._meta.index[:0]
    elif meta is None:
        sample = arg._meta_nonempty
        if sample.dtype == object or pd.api.types.is_string_dtype(sample.dtype):
            sample = pd.Series(["2000-01-01"] * len(sample), index=sample.index, name=sample.name)
        meta = pd.Series(pd.to_datetime(sample, **kwargs)).iloc[:0]
    return arg.map_partitions(pd.to_datetime, token="to-datetime", meta=meta, **kwargs)


def to_numeric(arg, errors: str = "raise", **kwargs):
    """``pandas.to_numeric`` on every partition of a Series (lazy).

    Text is declared ``float64`` (integers may come out as int64 where a
    partition has no decimals); pass ``meta=`` to declare another dtype.
    """
    import pandas as pd

    if not isinstance(arg, Series):
        return pd.to_numeric(arg, errors=errors, **kwargs)
    meta = kwargs.pop("meta", None)
    if meta is None:
        # text parses to numbers whose type only the data knows: declare float64, as Dask does
        numeric = pd.api.types.is_numeric_dtype(arg._meta.dtype)
        meta = arg._meta if numeric and not kwargs.get("downcast") else pd.Series([], dtype="float64",
                                                                                 name=arg._meta.name,
                                                                                 index=arg._meta.index)
    return arg.map_partitions(pd.to_numeric, token="to-numeric", errors=errors, meta=meta, **kwargs)

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
    "read_orc",
    "to_orc",
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
