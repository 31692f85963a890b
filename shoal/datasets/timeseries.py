"""``timeseries()``: a lazy random DataFrame indexed by time.

Columns ``id`` (int, Poisson around 1000), ``name`` (a first name), ``x``
and ``y`` (uniform in [-1, 1]), one row per ``freq`` from ``start`` to
``end``, one partition per ``partition_freq``.  Each partition is drawn
from its own stream derived from ``seed`` and the partition number, so the
data does not depend on the scheduler and nothing is made until computed.
"""
from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

__all__ = ["timeseries"]

NAMES = ["Alice", "Bob", "Charlie", "Dan", "Edith", "Frank", "George", "Hannah", "Ingrid", "Jerry",
         "Kevin", "Laura", "Michael", "Norbert", "Oliver", "Patricia", "Quinn", "Ray", "Sarah", "Tim",
         "Ursula", "Victor", "Wendy", "Xavier", "Yvonne", "Zelda"]


def _make_part(start: pd.Timestamp, end: pd.Timestamp, freq: str, seed: int, i: int) -> pd.DataFrame:
    idx = pd.date_range(start, end, freq=freq, inclusive="left", name="timestamp")
    rng = np.random.default_rng([seed, i])
    n = len(idx)
    return pd.DataFrame({
        "id": rng.poisson(1000, n).astype("int64"),
        "name": np.array(NAMES, dtype=object)[rng.integers(0, len(NAMES), n)],
        "x": rng.random(n) * 2 - 1,
        "y": rng.random(n) * 2 - 1,
    }, index=idx)


def timeseries(start: Any = "2000-01-01", end: Any = "2000-01-31", freq: str = "1s",
               partition_freq: str = "1D", seed: int = 0) -> Any:
    """A lazy DataFrame of random data with a DatetimeIndex and known divisions."""
    from shoal.core.graph import LayeredGraph
    from shoal.core.task import Task
    from shoal.core.tokenize import tokenize
    from shoal.dataframe.core import new_collection

    start, end = pd.Timestamp(start), pd.Timestamp(end)
    bounds = list(pd.date_range(start, end, freq=partition_freq))
    if not bounds or bounds[0] != start:
        bounds.insert(0, start)
    if bounds[-1] != end:
        bounds.append(end)
    name = "timeseries-" + tokenize(start, end, freq, partition_freq, seed)
    layer = {(name, i): Task(_make_part, bounds[i], bounds[i + 1], freq, seed, i) for i in range(len(bounds) - 1)}
    meta = _make_part(start, start, freq, seed, 0)
    divisions = bounds[:-1] + [end - pd.Timedelta(freq)]
    return new_collection(LayeredGraph({name: layer}), name, meta, divisions)
