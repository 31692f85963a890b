"""Synthetic data in real formats: wikistats logs, airline CSVs, timeseries.

The generators are imported here, so ``shoal.datasets.wikistats`` is always
the function (importing a submodule of the same name cannot shadow it).
"""
from __future__ import annotations

from shoal.datasets.airline import airline
from shoal.datasets.timeseries import timeseries
from shoal.datasets.wikistats import wikistats

__all__ = ["wikistats", "airline", "timeseries"]
