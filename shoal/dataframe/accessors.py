"""``.str``, ``.dt`` and ``.cat`` accessors: pandas' own, run per partition.

Any attribute of the pandas accessor works: methods (``s.str.upper()``)
become a partition-wise call, properties (``s.dt.year``) a partition-wise
attribute read.  Which is which is read off the meta's accessor.
"""
from __future__ import annotations

from typing import Any

from shoal.dataframe import methods as M

__all__ = ["Accessor"]


class Accessor:
    def __init__(self, series: Any, name: str):
        meta = series._meta
        try:
            getattr(meta, name)
        except AttributeError as e:
            raise AttributeError(
                f"the .{name} accessor needs a Series of {'strings' if name == 'str' else 'datetimes' if name == 'dt' else 'categories'}; "
                f"this one has dtype {meta.dtype} (convert first, e.g. s.astype(str) or ddf.to_datetime)"
            ) from e
        self._series = series
        self._name = name

    def __dir__(self):
        return dir(getattr(self._series._meta, self._name))

    def __getattr__(self, attr: str) -> Any:
        if attr.startswith("_"):
            raise AttributeError(attr)
        acc = getattr(self._series._meta, self._name)
        if not hasattr(acc, attr):
            raise AttributeError(f"pandas' .{self._name} accessor has no attribute {attr!r}")
        if callable(getattr(type(acc), attr, None)):
            def method(*args: Any, **kwargs: Any) -> Any:
                return self._series.map_partitions(M.accessor_call, self._name, attr, *args,
                                                   token=f"{self._name}-{attr}", **kwargs)

            method.__name__ = attr
            return method
        return self._series.map_partitions(M.accessor_attr, self._name, attr, token=f"{self._name}-{attr}")
