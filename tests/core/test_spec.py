"""Hand-written graphs in the classic tuple spec, on every local scheduler."""
from __future__ import annotations

import operator
from operator import add

import pytest

import shoal
import shoal.local
import shoal.multiprocessing
import shoal.threaded
from shoal.core.spec import (BadKeyError, CycleError, MissingKeyError, convert_graph, pack_results,
                             prepare_get)
from shoal.core.task import Ref, Task


def inc(x):
    return x + 1


GETS = [
    pytest.param(shoal.get, id="shoal.get"),
    pytest.param(shoal.local.get_sync, id="sync"),
    pytest.param(shoal.threaded.get, id="threads"),
    pytest.param(shoal.multiprocessing.get, id="processes"),
]


@pytest.mark.parametrize("get", GETS)
def test_classic_spec_values_and_shapes(get):
    d = {"a": 1, "b": (operator.add, "a", 10), "c": (sum, ["a", "b"])}
    assert get(d, "b") == 11
    assert get(d, "c") == 12
    assert get(d, ["a", "c"]) == (1, 12)
    assert get(d, [["a"], ["b", "c"]]) == ((1,), (11, 12))
    nested = {"x": 1, "y": (inc, "x"), "z": (add, (inc, "x"), "y"), "w": (max, [(inc, "z"), 0])}
    assert get(nested, ["z", "w"]) == (4, 5)
    top = {"a": [1, 2, 3], "b": "a", "c": [1, (inc, 1)], "f": [[[(sum, "a"), "c"], (sum, "b")], 2]}
    assert get(top, ["b", "c", "f"]) == ([1, 2, 3], [1, 2], [[[6, [1, 2]], 6], 2])


@pytest.mark.parametrize("get", GETS)
def test_tuple_keys_strings_and_unhashables(get):
    d = {("x", 0): 5, ("x", 1): 6, "s": (add, ("x", 0), ("x", 1)),
         "lit": (operator.concat, "not-a-key", "!"), "u": (len, {1, 2})}
    assert get(d, ["s", "lit", "u"]) == (11, "not-a-key!", 2)
    assert get(d, ("x", 1)) == 6  # a tuple key is one key, not a list of keys


@pytest.mark.parametrize("get", GETS)
def test_malformed_graphs_raise_at_once(get):
    with pytest.raises(KeyError, match="'nope' was requested"):
        get({"a": 1}, ["a", ["nope"]])
    with pytest.raises(CycleError, match="cycle: 'a' -> 'b' -> 'a'"):
        get({"a": (inc, "b"), "b": (inc, "a"), "c": 1}, "a")
    with pytest.raises(ValueError, match="depends on 'gone'"):
        get({"a": Task(inc, Ref("gone"))}, "a")
    with pytest.raises(BadKeyError):
        get({"a": 1}, [None])


def test_error_types_match_what_callers_catch():
    assert issubclass(MissingKeyError, KeyError) and issubclass(MissingKeyError, ValueError)
    assert issubclass(CycleError, RuntimeError) and issubclass(CycleError, ValueError)
    assert issubclass(BadKeyError, TypeError)
    with pytest.raises(MissingKeyError) as info:
        prepare_get({"total": 1}, "totl")
    assert "did you mean 'total'" in str(info.value)


def test_long_chains_and_cache():
    d = {f"x{i + 1}": (inc, f"x{i}") for i in range(20000)}
    d["x0"] = 0
    assert shoal.local.get_sync(d, "x20000") == 20000
    assert shoal.local.get_sync({"y": (inc, "x")}, "y", cache={"x": 1}) == 2


def test_converted_nodes_are_plain_tasks_and_refs():
    g = convert_graph({"a": 1, "b": (add, "a", 2), "c": "b", "d": (sum, ["a", "b"]), "e": "text"})
    assert g["a"] == 1 and g["e"] == "text"
    assert g["c"] == Ref("b")
    assert type(g["b"]) is Task and g["b"].deps == {"a"}
    assert g["d"].deps == {"a", "b"}
    graph, deps, flat = prepare_get(g | {"unused": (inc, "zzz")}, ["d"])
    assert set(graph) == {"a", "b", "d"} and flat == ["d"]


def test_pack_results_shapes():
    assert pack_results("a", [1]) == 1
    assert pack_results(["a", ["b", "c"]], {"a": 1, "b": 2, "c": 3}) == (1, (2, 3))


def test_delayed_graph_merged_with_a_raw_dict():
    x = shoal.delayed(inc)(1)
    graph = dict(x.__shoal_graph__())
    key = x.__shoal_keys__()
    graph["double"] = (operator.mul, key, 2)
    assert shoal.threaded.get(graph, "double") == 4
    assert shoal.get(graph, ["double", key]) == (4, 2)


def test_collections_graphs_are_not_reinterpreted():
    # a literal tuple with a callable first, made by a collection, stays a value
    value = (abs, -1)
    out = shoal.delayed(lambda t: t)(value).compute(scheduler="sync")
    assert out == value
