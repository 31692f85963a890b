"""Meta helpers: empty and one-row stand-ins for partitions, and type checks.

A collection's *meta* is an empty pandas object with the right columns,
dtypes, index type and name.  New metas are found by running the operation
on the parents' metas (``emulate``); operations that cannot run on empty
input (some ``apply`` calls, string methods on an empty object column) are
retried on a one-row stand-in made from the meta (``meta_nonempty``) and the
result is cut back to zero rows.  ``meta=`` on any operation overrides this.
"""
from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

__all__ = ["make_meta", "meta_nonempty", "emulate", "is_frame", "is_series", "is_index", "PANDAS_TYPES"]

PANDAS_TYPES = (pd.DataFrame, pd.Series, pd.Index)


def is_frame(x: Any) -> bool:
    return isinstance(x, pd.DataFrame)


def is_series(x: Any) -> bool:
    return isinstance(x, pd.Series)


def is_index(x: Any) -> bool:
    return isinstance(x, pd.Index)


def make_meta(x: Any, index: Any = None) -> Any:
    """An empty pandas object shaped like ``x``.

    ``x`` may be a pandas object (cut to zero rows), a dict ``{column: dtype}``,
    a list of ``(column, dtype)`` pairs, a ``(name, dtype)`` tuple for a
    Series, or a dtype / scalar (meta of a scalar result).
    """
    if isinstance(x, PANDAS_TYPES):
        return x.iloc[:0] if not isinstance(x, pd.Index) else x[:0]
    idx = index if index is not None else pd.RangeIndex(0)
    if isinstance(x, dict):
        return pd.DataFrame({k: pd.Series([], dtype=v) for k, v in x.items()}, index=idx[:0])
    if isinstance(x, list) and all(isinstance(i, tuple) and len(i) == 2 for i in x):
        return pd.DataFrame({k: pd.Series([], dtype=v) for k, v in x}, index=idx[:0])
    if isinstance(x, tuple) and len(x) == 2:
        return pd.Series([], dtype=x[1], name=x[0], index=idx[:0])
    if isinstance(x, (np.dtype, str, type)):
        try:
            return np.dtype(x).type(0) if np.dtype(x).kind in "biufc" else x
        except TypeError:
            return x
    return x


def _fake_values(dtype: Any, n: int = 2) -> Any:
    if isinstance(dtype, pd.CategoricalDtype):
        cats = dtype.categories
        if len(cats):
            return pd.Categorical([cats[0]] * n, dtype=dtype)  # the dtype keeps ordered=True
        return pd.Categorical(["a"] * n)
    if isinstance(dtype, pd.DatetimeTZDtype):
        return pd.date_range("2000-01-01", periods=n, tz=dtype.tz)
    kind = getattr(dtype, "kind", "O")
    if str(dtype) in ("string", "str"):
        return pd.array(["foo"] * n, dtype=dtype)
    if isinstance(dtype, pd.api.extensions.ExtensionDtype) and kind in "iuf":
        return pd.array([1] * n, dtype=dtype)
    if kind == "b":
        return np.array([True, False][:n] + [True] * max(0, n - 2))
    if kind in "iu":
        return np.ones(n, dtype=dtype)
    if kind == "f":
        return np.ones(n, dtype=dtype)
    if kind == "c":
        return np.ones(n, dtype=dtype)
    if kind == "M":
        return np.array(["2000-01-01"] * n, dtype=dtype)
    if kind == "m":
        return np.array([1] * n, dtype=dtype)
    return np.array(["foo"] * n, dtype=object)


def _fake_index(idx: pd.Index, n: int = 2) -> pd.Index:
    if isinstance(idx, pd.RangeIndex):
        return pd.RangeIndex(n, name=idx.name)
    if isinstance(idx, pd.DatetimeIndex):
        return pd.date_range("2000-01-01", periods=n, name=idx.name, tz=idx.tz, freq=idx.freq or "D")
    if isinstance(idx, pd.PeriodIndex):
        return pd.period_range("2000-01-01", periods=n, freq=idx.freq, name=idx.name)
    if isinstance(idx, pd.TimedeltaIndex):
        return pd.timedelta_range("1 day", periods=n, name=idx.name, freq=idx.freq or "D")
    if isinstance(idx, pd.MultiIndex):
        return pd.MultiIndex.from_arrays([_fake_values(l.dtype, n) for l in idx.levels], names=idx.names)
    return pd.Index(_fake_values(idx.dtype, n), name=idx.name)


def meta_nonempty(x: Any) -> Any:
    """A two-row stand-in for the empty ``x`` (same columns, dtypes, index type)."""
    if isinstance(x, pd.DataFrame):
        idx = _fake_index(x.index)
        data = {i: _fake_values(dt) for i, dt in enumerate(x.dtypes)}
        out = pd.DataFrame(data, index=idx)
        out.columns = x.columns
        return out
    if isinstance(x, pd.Series):
        return pd.Series(_fake_values(x.dtype), index=_fake_index(x.index), name=x.name)
    if isinstance(x, pd.Index):
        return _fake_index(x)
    return x


def _to_meta_nonempty(a: Any) -> Any:
    if isinstance(a, PANDAS_TYPES):
        return meta_nonempty(a)
    return a


def emulate(func: Any, *args: Any, **kwargs: Any) -> Any:
    """Run ``func`` on metas (empty, then one-row stand-ins) and return an empty result."""
    try:
        out = func(*args, **kwargs)
        if isinstance(out, PANDAS_TYPES) or np.isscalar(out) or out is None:
            return make_meta(out)
        if isinstance(out, np.ndarray):
            return out[:0]
    except Exception:
        pass
    nargs = [_to_meta_nonempty(a) for a in args]
    nkw = {k: _to_meta_nonempty(v) for k, v in kwargs.items()}
    out = func(*nargs, **nkw)
    if isinstance(out, np.ndarray):
        return out[:0]
    return make_meta(out)
