"""What a ``groupby`` groups by, resolved once into picklable key specs.

Pandas accepts column labels, Series, index level names or numbers
(``level=``), callables on the index and ``pd.Grouper``, alone or in a list.
Each becomes one spec:

* ``("col", label)``: a column of the frame (left out of the aggregated
  columns, as pandas does; a Series that *is* a column of the grouped frame
  counts as one);
* ``("ser", j, name)``: the ``j``-th extra collection, aligned partition by
  partition with the frame;
* ``("level", level)``: an index level;
* ``("func", f)``: ``f`` applied to every index label;
* ``("grouper", g)``: a ``pd.Grouper`` with a ``freq`` (time bins).

:func:`key_arrays` turns specs into what pandas' ``groupby`` takes, for one
partition (or for a stand-in when working out ``meta``).
"""
from __future__ import annotations

from typing import Any

import pandas as pd

__all__ = ["resolve_keys", "key_arrays", "KeySpec"]

KeySpec = tuple


def resolve_keys(obj: Any, by: Any, level: Any) -> tuple[list, list, bool]:
    """(specs, extra collections, whether ``by`` was a list)."""
    from shoal.dataframe.core import _Frame

    if by is None and level is None:
        raise TypeError("You have to supply one of 'by' and 'level'")
    if by is not None and level is not None:
        raise TypeError("groupby takes 'by' or 'level', not both")
    specs: list = []
    extra: list = []
    if level is not None:
        levels = level if isinstance(level, (list, tuple)) else [level]
        names = list(obj._meta.index.names)
        for lv in levels:
            if isinstance(lv, int) and not (lv in names):
                if not -len(names) <= lv < len(names):
                    raise IndexError(f"level {lv} is out of range: the index has {len(names)} level(s)")
            elif lv not in names:
                raise KeyError(f"level {lv!r} is not an index level; the index levels are {names}")
            specs.append(("level", lv))
        return specs, extra, isinstance(level, (list, tuple))
    is_list = isinstance(by, (list, tuple))
    items = list(by) if is_list else [by]
    if not items:
        raise ValueError("No group keys passed!")
    cols = obj._meta.columns if isinstance(obj._meta, pd.DataFrame) else pd.Index([])
    for b in items:
        if isinstance(b, _Frame):
            if b.ndim != 1:
                raise TypeError("groupby keys must be Series, column labels, levels or callables, not a DataFrame")
            name = b._meta.name
            if name in cols and _same_column(obj, b):
                specs.append(("col", name))
            else:
                specs.append(("ser", len(extra), name))
                extra.append(b)
        elif isinstance(b, pd.Grouper):
            specs.append(_grouper_spec(obj, b))
        elif isinstance(b, (pd.Series, pd.Index)) or (hasattr(b, "__array__") and not isinstance(b, str)):
            raise NotImplementedError("groupby by a pandas Series or array is not supported; make it a column "
                                      "of the frame (df.assign(key=...)) or a shoal Series, and group by that")
        elif callable(b) and not _hashable_in(b, cols):
            specs.append(("func", b))
        elif _hashable_in(b, cols):
            specs.append(("col", b))
        elif b in list(obj._meta.index.names) and b is not None:
            specs.append(("level", b))
        elif isinstance(obj._meta, pd.Series) and b == obj._meta.name:
            raise KeyError(b)
        else:
            raise KeyError(f"groupby keys [{b!r}] are not columns; the columns are {list(cols)}")
    return specs, extra, is_list


def _hashable_in(b: Any, cols: pd.Index) -> bool:
    try:
        return b in cols
    except TypeError:
        return False


def _same_column(obj: Any, s: Any) -> bool:
    """Whether ``s`` holds the same data as the grouped frame's column of that name.

    pandas leaves such a key out of the result (it is the column itself); here
    both are traced back through column selections to the collection they
    were first selected from.
    """
    name = s._meta.name
    return _origin(s.dask, s._name, name, series=True) == _origin(obj.dask, obj._name, name, series=False)


def _origin(graph: Any, name: str, col: Any, series: bool) -> str:
    from shoal.core.task import Ref
    from shoal.dataframe import methods as M

    layers = getattr(graph, "layers", {})
    for _ in range(1000):
        layer = layers.get(name)
        task = layer.get((name, 0)) if isinstance(layer, dict) else None
        if task is None or getattr(task, "func", None) is not M.getitem or not task.args \
                or type(task.args[0]) is not Ref:
            return name
        key = task.args[1] if len(task.args) > 1 else None
        picks = key == col if series else (isinstance(key, list) and col in key)
        if not picks:
            return name
        name = task.args[0].key[0]
        series = False
    return name


def _grouper_spec(obj: Any, g: pd.Grouper) -> tuple:
    freq = getattr(g, "freq", None)
    key = getattr(g, "key", None)
    level = getattr(g, "level", None)
    if freq is None:
        if key is not None:
            return ("col", key)
        if level is not None:
            return ("level", level)
        raise NotImplementedError("pd.Grouper without key, level or freq is not supported")
    off = pd.tseries.frequencies.to_offset(freq)
    origin = getattr(g, "origin", "start_day")
    closed, label = getattr(g, "closed", None), getattr(g, "label", None)
    day = pd.Timedelta("1D")
    fixed = isinstance(off, pd.offsets.Day) and off.n == 1 or (
        isinstance(off, pd.offsets.Tick) and day % pd.Timedelta(off) == pd.Timedelta(0))
    if not fixed \
            or origin not in ("start_day", "epoch") or closed == "right" or label == "right" \
            or getattr(g, "offset", None):
        raise NotImplementedError(
            f"pd.Grouper(freq={freq!r}) is supported for fixed frequencies that divide a day ('h', '15min', 'D'), "
            "left-closed and left-labelled; for others group by a column of bin labels, e.g. "
            "df.assign(month=df.t.dt.to_period('M'))")
    return ("grouper", g)


def key_names(specs: list, obj_meta: Any, extra_metas: list) -> list:
    """Index names pandas gives the groups."""
    out = []
    for sp in specs:
        if sp[0] == "col":
            out.append(sp[1])
        elif sp[0] == "ser":
            out.append(sp[2])
        elif sp[0] == "level":
            lv = sp[1]
            names = list(obj_meta.index.names)
            out.append(names[lv] if isinstance(lv, int) and lv not in names else lv)
        elif sp[0] == "grouper":
            g = sp[1]
            out.append(g.key if g.key is not None else obj_meta.index.name)
        else:
            out.append(None)
    return out


def key_arrays(df: Any, specs: list, extra: tuple) -> list:
    """What ``pandas.groupby`` takes for these specs on partition ``df``."""
    out = []
    for sp in specs:
        kind = sp[0]
        if kind == "col":
            out.append(df[sp[1]])
        elif kind == "ser":
            s = extra[sp[1]]
            out.append(s.rename(sp[2]) if s.name != sp[2] else s)
        elif kind == "level":
            v = df.index.get_level_values(sp[1])
            out.append(pd.Series(v, index=df.index, name=v.name))
        elif kind == "func":
            out.append(pd.Series(df.index.map(sp[1]), index=df.index, name=None))
        else:
            g = sp[1]
            t = df[g.key] if g.key is not None else pd.Series(
                df.index.get_level_values(g.level or 0), index=df.index)
            out.append(pd.Series(pd.DatetimeIndex(t).floor(g.freq), index=df.index,
                                 name=g.key if g.key is not None else t.name))
    return out


def excluded_columns(specs: list) -> list:
    """Columns pandas leaves out of the aggregated ones."""
    return [sp[1] for sp in specs if sp[0] == "col"]
