"""Shared data for the dataframe tests: one pandas frame, split with known and unknown divisions."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import shoal.dataframe as ddf


def make_pdf(n: int = 200, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=n)
    x[rng.random(n) < 0.1] = np.nan
    return pd.DataFrame(
        {
            "a": rng.integers(0, 10, n),
            "b": x,
            "c": rng.choice(["apple", "banana", "cherry", "date"], n),
            "d": pd.date_range("2020-01-01", periods=n, freq="7h"),
            "e": rng.integers(-5, 5, n).astype("float64"),
        },
        index=pd.Index(np.arange(n) * 2, name="idx"),
    )


@pytest.fixture
def pdf() -> pd.DataFrame:
    return make_pdf()


@pytest.fixture(params=["known", "unknown"])
def df(request, pdf):
    """The same data in 4 partitions, with known or unknown divisions."""
    d = ddf.from_pandas(pdf, npartitions=4)
    if request.param == "unknown":
        d = d.clear_divisions()
    return d
