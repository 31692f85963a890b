"""Synthetic data in real formats: wikistats logs, airline CSVs, timeseries."""
from __future__ import annotations

from typing import Any

__all__ = ["wikistats", "airline", "timeseries"]


def wikistats(*args: Any, **kwargs: Any):
    from shoal.datasets.wikistats import wikistats as f

    return f(*args, **kwargs)


def airline(*args: Any, **kwargs: Any):
    from shoal.datasets.airline import airline as f

    return f(*args, **kwargs)


def timeseries(*args: Any, **kwargs: Any):
    from shoal.datasets.timeseries import timeseries as f

    return f(*args, **kwargs)
