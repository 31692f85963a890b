"""Top-level helpers: collection test, optimize, scheduler choice for mixed collections."""
from __future__ import annotations

import dataclasses
from typing import NamedTuple

import pytest

import shoal
import shoal.bag as db


def test_is_collection_under_both_names():
    d = shoal.delayed(abs)(-1)
    for check in (shoal.is_lazy, shoal.is_shoal_collection, shoal.is_dask_collection):
        assert check(d) and check(db.from_sequence([1]))
        assert not check(1) and not check(type(d))


def test_optimize_returns_equivalent_collections():
    a = shoal.delayed(abs)(-3)
    b = db.from_sequence([1, 2, 3], npartitions=2).map(lambda x: x * 2)
    a2, b2 = shoal.optimize(a, b)
    assert a2.compute() == 3 and b2.compute() == [2, 4, 6]


def test_mixed_default_schedulers_need_a_choice():
    d = shoal.delayed(abs)(-1)
    b = db.from_sequence([1, 2, 3])
    with pytest.raises(ValueError, match="scheduler="):
        shoal.compute(d, b)
    assert shoal.compute(d, b, scheduler="sync") == (1, [1, 2, 3])


class Pair(NamedTuple):
    a: int
    b: int


@dataclasses.dataclass
class Box:
    x: int
    y: int = 0


def test_delayed_inside_containers_is_computed():
    one = shoal.delayed(1)
    two = one + 1
    out = shoal.delayed({"p": Pair(one, 5), "box": Box(two), one: "key", "s": slice(None, two)})
    assert out.compute() == {"p": Pair(1, 5), "box": Box(2), 1: "key", "s": slice(None, 2)}
    assert shoal.delayed(sum)(iter([one, two])).compute() == 3


def test_delayed_function_is_a_delayed_value():
    def add(x, y):
        """adds"""
        return x + y

    f = shoal.delayed(add, pure=True)
    assert f.compute() is add and f.__doc__ == "adds" and f.__name__ == "add"
    assert f(1, 2).compute() == 3

    class A:
        base = 10

        @shoal.delayed
        def plus(self, x):
            return self.base + x

    assert A().plus(1).compute() == 11


def test_annotate_says_what_to_use_instead():
    with pytest.raises(NotImplementedError, match="client.submit"):
        with shoal.annotate(retries=2):
            pass


def test_delayed_value_keys_private_names_and_nout():
    assert shoal.delayed(1).key != shoal.delayed(1).key
    assert shoal.delayed([1, 2], pure=True).key == shoal.delayed([1, 2], pure=True).key
    with shoal.config.set(delayed_pure=True):
        assert shoal.delayed(1).key == shoal.delayed(1).key
    d = shoal.delayed([1, 2, 3])
    with pytest.raises(AttributeError):
        d._hidden()
    for bad in (-1, True, 1.5):
        with pytest.raises(ValueError):
            shoal.delayed(abs, nout=bad)
    assert len(shoal.delayed(lambda: (), nout=0)()) == 0


def test_submodules_reachable_after_import_shoal():
    import subprocess
    import sys

    code = "import shoal; print(shoal.threaded.get({'a': (abs, -1)}, 'a'), shoal.local.get_sync)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0 and out.stdout.startswith("1 "), out.stderr
