"""``.str``, ``.dt`` and ``.cat`` accessors: pandas' own, run per partition.

Any attribute of the pandas accessor works: methods (``s.str.upper()``)
become a partition-wise call, properties (``s.dt.year``) a partition-wise
attribute read.  Which is which is read off the meta's accessor.
"""
from __future__ import annotations

from typing import Any

import pandas as pd

from shoal.dataframe import methods as M

__all__ = ["Accessor", "CategoricalAccessor"]


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


class CategoricalAccessor(Accessor):
    """``.cat`` with Dask's extras: categories may be *unknown* (not yet computed) in the meta."""

    @property
    def known(self) -> bool:
        """Whether the categories are known without computing."""
        from shoal.dataframe.api import UNKNOWN_CATEGORIES

        return UNKNOWN_CATEGORIES not in self._series._meta.dtype.categories

    def as_known(self, **kwargs: Any) -> Any:
        """The same Series with its categories computed now (unchanged if already known)."""
        if self.known:
            return self._series
        from shoal.dataframe.api import _set_categories

        cats = self._series.dropna().unique().compute()
        cats = list(pd.unique(pd.Series(cats, dtype=object).dropna()))
        try:
            cats = sorted(cats)
        except TypeError:
            pass
        ordered = self._series._meta.dtype.ordered
        meta = self._series._meta.astype(pd.CategoricalDtype(cats, ordered=ordered))
        return self._series.map_partitions(_set_categories, cats, ordered, meta=meta, token="cat-as-known")

    def as_unknown(self) -> Any:
        """The same Series with its categories marked unknown in the meta (data unchanged)."""
        from shoal.dataframe.api import unknown_categorical_meta
        from shoal.dataframe.core import new_collection

        s = self._series
        return new_collection(s.dask, s._name, unknown_categorical_meta(s._meta), s.divisions)

    @property
    def categories(self) -> Any:
        """The categories (known ones only)."""
        if not self.known:
            raise NotImplementedError("the categories are unknown until computed: use s.cat.as_known() first")
        return self._series._meta.dtype.categories

    @property
    def ordered(self) -> bool:
        return bool(self._series._meta.dtype.ordered)
