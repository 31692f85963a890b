"""shoal.utils: one funcname/key_split/new_name and one parser per unit."""
from __future__ import annotations

import operator
from datetime import timedelta
from functools import partial

import numpy as np
import pandas as pd
import pytest

import shoal
import shoal.array as da
import shoal.bag as db
import shoal.dataframe as dd
from shoal.utils import format_bytes, funcname, key_split, new_name, parse_bytes, parse_timedelta


def my_func(x, y=0):
    return x + y


class Adder:
    def __call__(self, x):
        return x + 1


def test_funcname_unwraps_and_keeps_underscores():
    assert funcname(my_func) == "my_func"
    assert funcname(partial(partial(my_func, 1), y=2)) == "my_func"
    assert funcname(lambda x: x) == "lambda"
    assert funcname(Adder()) == "Adder"
    assert funcname(operator.methodcaller("upper")) == "upper"
    assert funcname(np.add) == "add"


def test_key_split():
    assert key_split("my_func-" + "ab12cd34" * 4) == "my_func"
    assert key_split(("map-partitions-" + "0123456789abcdef", 3)) == "map-partitions"
    assert key_split("x-1-2") == "x"
    assert key_split("plain") == "plain"
    assert key_split(b"inc-" + b"deadbeef" * 4) == "inc"


def test_dashboard_group_cache_agrees_with_key_split():
    from shoal.distributed.dashboard.snapshot import group_of

    keys = ["inc-" + "ab12cd34" * 4, "inc-" + "99887766" * 4, ("x-y-7", 0), "12345678-abcdef0123",
            "12345678-99999999", "plain", "a-b-3"]
    for k in keys + keys:  # the second round is served from the cache
        assert group_of(k) == key_split(k), k


def test_new_name_deterministic_with_args_unique_without():
    assert new_name("sum", 1, [2, 3]) == new_name("sum", 1, [2, 3])
    assert new_name("sum", 1) != new_name("sum", 2)
    assert new_name("sum") != new_name("sum")
    assert new_name("sum", 1).startswith("sum-")


@pytest.mark.parametrize("text, n", [
    ("64MB", 64 * 10**6), ("64 mb", 64 * 10**6), ("1.5GiB", int(1.5 * 2**30)), ("512 KiB", 512 * 2**10),
    ("3k", 3000), ("2G", 2 * 10**9), ("100", 100), ("100B", 100), (4e9, 4 * 10**9), (17, 17), ("1e3 kB", 10**6),
])
def test_parse_bytes(text, n):
    assert parse_bytes(text) == n


@pytest.mark.parametrize("bad", ["lots", "", "GB", "12 parsecs", "1,5 GB", "-3GB"])
def test_parse_bytes_rejects_nonsense_with_an_example(bad):
    with pytest.raises(ValueError, match=r"blocksize=.*e\.g\. blocksize='64MB'"):
        parse_bytes(bad, "blocksize")


@pytest.mark.parametrize("bad", [True, None, [1], object()])
def test_parse_bytes_rejects_non_sizes(bad):
    with pytest.raises(TypeError, match="not a size"):
        parse_bytes(bad)


@pytest.mark.parametrize("n", [0, 999, 1000, 1_500_000, 2_500_000_000, 7 * 10**12, 3 * 2**30])
def test_format_bytes_round_trips(n):
    text = format_bytes(n)
    assert abs(parse_bytes(text) - n) <= max(n * 0.01, 1)


@pytest.mark.parametrize("value, seconds", [
    ("500ms", 0.5), ("2s", 2.0), ("1 minute", 60.0), ("1.5h", 5400.0), (3, 3.0), ("3", 3.0),
    (timedelta(minutes=2), 120.0), ("10us", 1e-5), ("1 day", 86400.0),
])
def test_parse_timedelta(value, seconds):
    assert parse_timedelta(value) == pytest.approx(seconds)


def test_parse_timedelta_default_unit_and_errors():
    assert parse_timedelta(250, default="ms") == pytest.approx(0.25)
    assert parse_timedelta("2s", default="ms") == 2.0
    assert parse_timedelta(None) is None
    with pytest.raises(ValueError, match="e.g. timeout='500ms'"):
        parse_timedelta("soon", what="timeout")
    with pytest.raises(ValueError, match="negative"):
        parse_timedelta(-1)
    with pytest.raises(TypeError):
        parse_timedelta(True)


def _groups(collection) -> set:
    return {key_split(k) for k in dict(collection.__shoal_graph__())}


def test_task_group_names_agree_across_collections():
    """The same function gives tasks of the same group name, whoever built them."""
    f = partial(my_func, y=1)
    from_delayed = _groups(shoal.delayed(f)(1))
    from_bag = _groups(db.from_sequence([1, 2, 3], npartitions=2).map_partitions(f))
    arr = da.ones((4,), chunks=2)
    from_array = _groups(arr.map_blocks(f, dtype=arr.dtype))
    ddf = dd.from_pandas(pd.DataFrame({"a": [1, 2, 3, 4]}), npartitions=2)
    from_frame = _groups(ddf.map_partitions(f))
    for groups in (from_delayed, from_bag, from_array, from_frame):
        assert "my_func" in groups, groups


def test_task_group_name_of_a_submitted_future():
    from shoal.distributed import Client

    with Client(processes=False, n_workers=1, threads_per_worker=1, dashboard_address=None) as client:
        fut = client.submit(partial(my_func, y=1), 1)
        assert key_split(fut.key) == "my_func"
        assert fut.result(timeout=30) == 2
