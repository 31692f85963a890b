"""compute() over many collections: one merge, one cull, shared work once."""
from __future__ import annotations

import shoal
import shoal.base as base


def inc(x):
    return x + 1


def test_many_collections_are_culled_once(monkeypatch):
    calls = []
    real_cull = base.cull

    def counting_cull(graph, keys):
        calls.append(len(graph))
        return real_cull(graph, keys)

    monkeypatch.setattr(base, "cull", counting_cull)
    tasks = [shoal.delayed(inc)(i) for i in range(20_000)]
    out = shoal.compute(*tasks, scheduler="sync")
    assert out == tuple(range(1, 20_001))
    assert calls == [20_000]  # one pass over the merged graph, not one per collection


def test_shared_subgraph_runs_once():
    ran = []

    def load(x):
        ran.append(x)
        return x * 10

    data = shoal.delayed(load)(3)
    a = data + 1
    b = data * 2
    assert shoal.compute(a, b, scheduler="threads") == (31, 60)
    assert ran == [3]


def test_non_lazy_arguments_pass_through_and_structure_is_kept():
    d = shoal.delayed(inc)(1)
    out = shoal.compute({"a": [d, 5], "b": (d, "x")}, 7, scheduler="sync")
    assert out == ({"a": [2, 5], "b": (2, "x")}, 7)
