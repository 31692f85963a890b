"""Linear-chain fusion: what is fused, what is kept, and that results match."""
from __future__ import annotations

import operator

import pytest

from shoal.core.context import current_task_key
from shoal.core.graph import cull
from shoal.core.optimize import Chain, fuse
from shoal.core.task import Ref, Task
from shoal.local.engine import get_sync


def inc(x):
    return x + 1


def test_linear_chain_becomes_one_task_under_the_last_key():
    g = {"a": 1, "b": Task(inc, Ref("a")), "c": Task(inc, Ref("b")), "d": Task(inc, Ref("c"))}
    g2, deps = fuse(*_culled(g, ["d"]))
    assert list(g2) == ["d"]
    assert isinstance(g2["d"].func, Chain)
    assert deps == {"d": frozenset()}
    assert get_sync(g2, ["d"], dependencies=deps) == [4]


def _culled(g, keys):
    graph, deps = cull(g, keys)
    return graph, keys, deps


def test_outputs_and_shared_nodes_are_not_fused():
    g = {
        "x": 10,
        "a": Task(inc, Ref("x")),
        "b": Task(inc, Ref("a")),   # output: must stay
        "c": Task(inc, Ref("b")),
        "s": Task(inc, Ref("x")),   # x has two dependents: x stays
        "t": Task(operator.add, Ref("c"), Ref("s")),  # two inputs: c, s end chains
    }
    g2, deps = fuse(*_culled(g, ["t", "b"]))
    assert set(g2) == {"x", "b", "c", "s", "t"}  # a folded into b
    assert deps["b"] == {"x"} and deps["c"] == {"b"} and deps["t"] == {"c", "s"}
    assert get_sync(g2, ["t", "b"], dependencies=deps) == list(get_sync(g, ["t", "b"])) == [24, 12]


def test_ref_aliases_inside_chains_and_as_outputs():
    g = {"a": Task(inc, 1), "b": Ref("a"), "c": Task(inc, Ref("b")), "d": Ref("c")}
    g2, deps = fuse(*_culled(g, ["d"]))
    assert list(g2) == ["d"]
    assert get_sync(g2, ["d"], dependencies=deps) == [3]
    # the alias itself requested: it stays, and what it aliases is folded in
    g3, deps3 = fuse(*_culled(g, ["b", "d"]))
    assert set(g3) == {"b", "d"}
    assert get_sync(g3, ["b", "d"], dependencies=deps3) == [2, 3]


def test_chain_steps_see_their_own_keys():
    seen = []

    def note(x):
        seen.append(current_task_key())
        return x

    g = {"a": Task(note, 1), "b": Task(note, Ref("a")), "c": Task(note, Ref("b"))}
    g2, deps = fuse(*_culled(g, ["c"]))
    assert list(g2) == ["c"]
    get_sync(g2, ["c"], dependencies=deps)
    assert seen == ["a", "b", "c"]


def test_long_chain_is_linear_time_and_correct():
    n = 50_000
    g = {("x", 0): 0}
    for i in range(1, n):
        g[("x", i)] = Task(inc, Ref(("x", i - 1)))
    g2, deps = fuse(*_culled(g, [("x", n - 1)]))
    assert len(g2) == 1
    assert get_sync(g2, [("x", n - 1)], dependencies=deps) == [n - 1]


def test_fusion_switch_in_config():
    import shoal

    calls = []

    class Spy:
        pass

    a = shoal.delayed(inc)(1)
    b = shoal.delayed(inc)(a)
    from shoal.base import collections_to_graph

    g, _, _ = collections_to_graph([b])
    assert len(g) == 1
    with shoal.config.set({"optimization.fuse.active": False}):
        g, _, _ = collections_to_graph([b])
    assert len(g) == 2
    assert b.compute(scheduler="sync") == 3
    del calls, Spy


def test_chain_pickles_with_its_steps():
    import pickle

    g = {"a": Task(inc, 1), "b": Task(inc, Ref("a"))}
    g2, deps = fuse(*_culled(g, ["b"]))
    g3 = pickle.loads(pickle.dumps(g2))
    assert get_sync(g3, ["b"], dependencies=deps) == [3]


@pytest.mark.parametrize("n", [1, 3])
def test_no_fusion_leaves_graph_alone(n):
    g = {f"k{i}": Task(inc, i) for i in range(n)}
    g2, deps = fuse(*_culled(g, list(g)))
    assert g2 == g
