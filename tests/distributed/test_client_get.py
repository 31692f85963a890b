"""``Client.get`` with hand-written graphs: the classic task spec, key shapes, early errors."""
from __future__ import annotations

import operator
import time

import pytest

from shoal.core.spec import BadKeyError, CycleError, MissingKeyError

GRAPH = {
    "a": 1,
    "b": (operator.add, "a", 10),
    "c": (sum, ["a", "b"]),
    ("x", 0): (max, (len, ["a", "b", "c"]), 2),
    "alias": "b",
    "text": (str.upper, "not-a-key"),
}


@pytest.fixture
def c(distributed_client):
    return distributed_client


def test_classic_spec_single_key_and_nested_lists(c):
    assert c.get(GRAPH, "b") == 11
    assert c.get(GRAPH, ("x", 0)) == 3
    assert c.get(GRAPH, "alias") == 11
    assert c.get(GRAPH, "text") == "NOT-A-KEY"  # a string that is not a key is a value
    assert c.get(GRAPH, ["c", ["a", ("x", 0)]]) == [12, [1, 3]]


@pytest.mark.parametrize("graph, keys, err, words", [
    (GRAPH, "missing", MissingKeyError, "'missing'"),
    ({"a": (operator.neg, "b"), "b": (operator.neg, "a")}, "a", CycleError, "cycle"),
    ({"a": 1}, [1j], BadKeyError, "cannot be a graph key"),
])
def test_bad_graphs_raise_at_once(c, graph, keys, err, words):
    t = time.monotonic()
    with pytest.raises(err, match=words):
        c.get(graph, keys)
    assert time.monotonic() - t < 2.0
    assert c.get(GRAPH, "b") == 11  # the client still works
