"""Delayed objects as values: pickling, lifting of large arguments, graph access."""
from __future__ import annotations

import importlib
import pickle
import warnings

import numpy as np
import pytest

import shoal
from shoal.delayed import LIFT_BYTES


def test_delayed_pickles_and_still_computes():
    d = shoal.delayed(abs)(-3) + 1
    again = pickle.loads(pickle.dumps(d))
    assert again.key == d.key
    assert again.compute(scheduler="sync") == 4
    attr = pickle.loads(pickle.dumps(shoal.delayed(complex)(1, 2).imag))
    assert attr.compute(scheduler="sync") == 2


def test_large_argument_is_one_graph_node_with_one_warning():
    big = np.ones(LIFT_BYTES // 8 + 1)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        mod = importlib.import_module("shoal.delayed")  # the module; shoal.delayed is the function

        mod._warned_lift = False
        tasks = [shoal.delayed(np.sum)(big, pure=True) for _ in range(5)]
        more = [shoal.delayed(np.mean)(big) for _ in range(5)]
    lift_warnings = [w for w in caught if "delayed(x)" in str(w.message)]
    assert len(lift_warnings) == 1
    graph = dict(shoal.delayed(list)(tasks + more).dask.to_dict())
    data_nodes = [k for k, v in graph.items() if v is big]
    assert len(data_nodes) == 1
    assert shoal.compute(*tasks, scheduler="sync") == (big.size,) * 5


def test_graph_is_exposed():
    x = shoal.delayed(abs)(-1)
    y = x + 1
    g = y.dask
    assert x.key in g and y.key in g
    assert len(g) == 2


def test_calling_a_delayed_value_teaches():
    with pytest.raises(TypeError, match=r"delayed\(f\)\(x\)"):
        shoal.delayed(abs(-3))(1)
