"""delayed/compute semantics, the same on every scheduler.

Every test takes the ``scheduler`` fixture (tests/conftest.py), so each runs
on sync, threads, processes and distributed.  Calls are counted through a
file (one line appended per call) so counting works across processes.
"""
from __future__ import annotations

import operator
import os

import numpy as np
import pytest

import shoal
from shoal import delayed


def inc(x):
    return x + 1


def add(x, y):
    return x + y


def divmod_(a, b):
    return a // b, a % b


def boom(x):
    raise ZeroDivisionError(f"no luck with {x}")


class Point:
    def __init__(self, x, y):
        self.x = x
        self.y = y

    def norm2(self, scale=1):
        return (self.x ** 2 + self.y ** 2) * scale


def counted(path, x):
    with open(path, "a") as f:
        f.write(f"{x}\n")
    return x * 10


def _calls(path):
    if not os.path.exists(path):
        return []
    with open(path) as f:
        return [line.strip() for line in f]


def test_call_and_decorator(scheduler):
    x = delayed(inc)(1)
    y = delayed(inc)(2)
    z = delayed(add)(x, y)
    assert z.compute(scheduler=scheduler) == 5

    @delayed
    def mul(a, b):
        return a * b

    assert mul(z, 3).compute(scheduler=scheduler) == 15
    assert shoal.compute(z, mul(x, y), scheduler=scheduler) == (5, 6)


def test_pure_keys_are_deterministic(scheduler):
    a = delayed(inc, pure=True)(1)
    b = delayed(inc, pure=True)(1)
    c = delayed(inc, pure=True)(2)
    assert a.key == b.key != c.key
    assert delayed(inc)(1).key != delayed(inc)(1).key  # impure by default
    assert shoal.compute(a, b, c, scheduler=scheduler) == (2, 2, 3)


def test_key_names(scheduler):
    d = delayed(inc)(1, dask_key_name="my-key")
    assert d.key == "my-key"
    assert d.compute(scheduler=scheduler) == 2
    assert delayed(inc, name="step")(1).key.startswith("step-")


def test_nout_unpacks(scheduler):
    q, r = delayed(divmod_, nout=2)(17, 5)
    assert shoal.compute(q, r, scheduler=scheduler) == (3, 2)
    assert len(delayed(divmod_, nout=2)(1, 1)) == 2


def test_attribute_item_method_and_operators(scheduler):
    p = delayed(Point)(3, 4)
    assert p.x.compute(scheduler=scheduler) == 3
    assert p.norm2(scale=2).compute(scheduler=scheduler) == 50
    lst = delayed(list)(range(5))
    assert lst[2].compute(scheduler=scheduler) == 2
    assert lst[1:3].compute(scheduler=scheduler) == [1, 2]
    a, b = delayed(inc)(1), delayed(inc)(4)
    exprs = [a + b, a - b, a * b, b / a, b // a, b % a, a ** 2, -a, abs(-b), 1 + a, 10 - b, a < b,
             a == 2, (a & 3), 7 ^ b]
    expected = [7, -3, 10, 2.5, 2, 1, 4, -2, 5, 3, 5, True, True, 2 & 3, 7 ^ 5]
    assert list(shoal.compute(*exprs, scheduler=scheduler)) == expected


def test_nested_containers_in_args(scheduler):
    xs = [delayed(inc)(i) for i in range(3)]
    total = delayed(sum)(xs)
    assert total.compute(scheduler=scheduler) == 6
    d = delayed(lambda m: m["a"] + sum(m["b"]) + len(m["c"]))({"a": xs[0], "b": (xs[1], 5), "c": {xs[2]}})
    assert d.compute(scheduler=scheduler) == 1 + 2 + 5 + 1
    nested = delayed(lambda t: t[0][1] + t[1])(([0, xs[2]], xs[1]))
    assert nested.compute(scheduler=scheduler) == 5


def test_nested_containers_in_compute_args(scheduler):
    """Section 6.1: compute(*list_of_lists) keeps the structure."""
    out = [[delayed(inc)(i * 10 + j) for j in range(3)] for i in range(2)]
    res = shoal.compute(*out, scheduler=scheduler)
    assert res == ([1, 2, 3], [11, 12, 13])
    res2 = shoal.compute({"a": out[0][0], "b": (out[1][2], 7)}, "plain", 3, scheduler=scheduler)
    assert res2 == ({"a": 1, "b": (13, 7)}, "plain", 3)


def test_non_lazy_arguments_pass_through(scheduler):
    obj = object()
    res = shoal.compute(1, "s", obj, delayed(inc)(1), scheduler=scheduler)
    assert res[:3] == (1, "s", obj) and res[3] == 2


def test_shared_subgraph_runs_once(scheduler, tmp_path):
    path = str(tmp_path / "calls.txt")
    shared = delayed(counted, pure=True)(path, 7)
    a = delayed(add)(shared, 1)
    b = delayed(add)(shared, 2)
    c = delayed(operator.mul)(shared, 3)
    assert shoal.compute(a, [b, c], scheduler=scheduler) == (71, [72, 210])
    assert _calls(path) == ["7"]
    # the same collection twice in one call also runs once
    d = delayed(counted)(path, 8)
    assert shoal.compute(d, d, scheduler=scheduler) == (80, 80)
    assert _calls(path) == ["7", "8"]


def test_errors_propagate_with_their_type(scheduler):
    x = delayed(inc)(1)
    y = delayed(boom)(x)
    with pytest.raises(ZeroDivisionError, match="no luck with 2"):
        delayed(add)(y, 1).compute(scheduler=scheduler)
    # and the scheduler still works afterwards
    assert delayed(inc)(41).compute(scheduler=scheduler) == 42


def test_teaching_errors(scheduler):
    d = delayed(inc)(1)
    with pytest.raises(TypeError, match="nout"):
        a, b = d
    with pytest.raises(TypeError, match="truth value"):
        bool(d)
    wrong = delayed(inc(1))  # meant delayed(inc)(1)
    with pytest.raises(TypeError, match=r"delayed\(f\)\(x\)"):
        wrong(2)
    assert wrong.compute(scheduler=scheduler) == 2


def test_persist(scheduler, tmp_path):
    path = str(tmp_path / "calls.txt")
    x = delayed(counted)(path, 3)
    px = shoal.persist(x, scheduler=scheduler)[0]
    assert _calls(path) == ["3"]
    assert delayed(inc)(px).compute(scheduler=scheduler) == 31
    assert px.compute(scheduler=scheduler) == 30
    assert _calls(path) == ["3"]  # not recomputed
    assert x.persist(scheduler=scheduler).compute(scheduler=scheduler) == 30


def test_numpy_results_identical_across_schedulers(scheduler):
    arr = np.arange(12.0).reshape(3, 4)
    xd = delayed(arr)
    parts = [delayed(np.sum)(xd[i]) for i in range(3)]
    tot = delayed(sum)(parts)
    assert tot.compute(scheduler=scheduler) == arr.sum()
    (m,) = shoal.compute(delayed(np.dot)(xd, xd.T), scheduler=scheduler)
    np.testing.assert_array_equal(m, arr @ arr.T)


def test_exception_objects_as_values_and_keyboard_safe(scheduler):
    # an exception returned (not raised) is just a value
    v = delayed(lambda: ValueError("as value"))().compute(scheduler=scheduler)
    assert isinstance(v, ValueError) and str(v) == "as value"


def test_lambdas_and_closures(scheduler):
    k = 5
    f = lambda x: x + k  # noqa: E731

    def outer(n):
        def inner(x):
            return x * n
        return inner

    res = shoal.compute(delayed(f)(1), delayed(outer(3))(4), scheduler=scheduler)
    assert res == (6, 12)


def test_config_set_scheduler(scheduler):
    with shoal.config.set(scheduler=scheduler):
        assert delayed(inc)(1).compute() == 2


def test_calling_a_delayed_function_value_and_nout_as_an_argument(scheduler):
    def make_adder(n):
        return lambda x: x + n

    def needs_nout(nout):
        return nout * 2

    assert delayed(make_adder)(1)(2).compute(scheduler=scheduler) == 3
    assert delayed(needs_nout)(nout=3).compute(scheduler=scheduler) == 6
