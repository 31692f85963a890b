"""Every bag operation against the same computation in plain Python."""
from __future__ import annotations

import functools
import heapq
import math
import operator
import statistics
from collections import Counter

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import shoal
import shoal.bag as db

ints = st.lists(st.integers(-50, 50), max_size=40)
nparts = st.integers(1, 6)


def parts_of(b):
    """The partitions of a bag as lists (sync scheduler)."""
    return list(shoal.compute(*b.to_delayed(), scheduler="sync"))


@settings(max_examples=40, deadline=None)
@given(xs=ints, n=nparts)
def test_elementwise_chain(xs, n):
    b = db.from_sequence(xs, npartitions=n)
    got = (b.map(lambda x: x * 3).filter(lambda x: x % 2 == 0).remove(lambda x: x > 90)
           .map(lambda x: (x, -x)).pluck(1).compute(scheduler="sync"))
    assert got == [-(x * 3) for x in xs if (x * 3) % 2 == 0 and not x * 3 > 90]


@settings(max_examples=40, deadline=None)
@given(xs=ints, n=nparts)
def test_reductions(xs, n):
    b = db.from_sequence(xs, npartitions=n)
    res = shoal.compute(b.count(), b.sum(), b.any(), b.all(), b.fold(operator.add, initial=0),
                        b.reduction(len, sum), scheduler="sync")
    assert res == (len(xs), sum(xs), any(xs), all(xs), sum(xs), len(xs))
    if xs:
        mn, mx, mean, var, std = shoal.compute(b.min(), b.max(), b.mean(), b.var(), b.std(),
                                               scheduler="sync")
        assert (mn, mx) == (min(xs), max(xs))
        assert math.isclose(mean, statistics.fmean(xs), abs_tol=1e-9)
        assert math.isclose(var, statistics.pvariance(xs), abs_tol=1e-9)
        assert math.isclose(std, statistics.pstdev(xs), abs_tol=1e-9)
        if len(xs) > 1:
            var1 = b.var(ddof=1).compute(scheduler="sync")
            assert math.isclose(var1, statistics.variance(xs), abs_tol=1e-9)
        assert b.fold(max).compute(scheduler="sync") == max(xs)


@settings(max_examples=40, deadline=None)
@given(xs=st.lists(st.integers(0, 8), max_size=40), n=nparts, k=st.integers(1, 5))
def test_bag_valued_reductions(xs, n, k):
    b = db.from_sequence(xs, npartitions=n)
    assert dict(b.frequencies().compute(scheduler="sync")) == dict(Counter(xs))
    assert sorted(b.distinct().compute(scheduler="sync")) == sorted(set(xs))
    assert b.topk(k).compute(scheduler="sync") == heapq.nlargest(k, xs)
    assert b.topk(k, key=lambda x: -x).compute(scheduler="sync") == heapq.nsmallest(k, xs)
    groups = dict(b.groupby(lambda x: x % 3).compute(scheduler="sync"))
    expect = {}
    for x in xs:
        expect.setdefault(x % 3, []).append(x)
    assert {g: sorted(v) for g, v in groups.items()} == {g: sorted(v) for g, v in expect.items()}
    folded = dict(b.foldby(lambda x: x % 3, operator.add, 0).compute(scheduler="sync"))
    assert folded == {g: sum(v) for g, v in expect.items()}


def test_frequencies_sorted_and_distinct_key():
    b = db.from_sequence(list("abracadabra"), npartitions=3)
    assert b.frequencies(sort=True).compute(scheduler="sync")[:2] == [("a", 5), ("b", 2)] or \
        b.frequencies(sort=True).compute(scheduler="sync")[:2] == [("a", 5), ("r", 2)]
    words = db.from_sequence(["apple", "avocado", "banana", "blueberry", "cherry"], npartitions=2)
    firsts = words.distinct(key=lambda w: w[0]).compute(scheduler="sync")
    assert sorted(w[0] for w in firsts) == ["a", "b", "c"]


def test_foldby_with_combine_and_initials():
    recs = [{"name": n, "amount": a} for n, a in zip("abcabcab", range(8))]
    b = db.from_sequence(recs, npartitions=3)
    got = dict(b.foldby("name", lambda tot, r: tot + r["amount"], 0, operator.add, 0)
               .compute(scheduler="processes"))
    want = {}
    for r in recs:
        want[r["name"]] = want.get(r["name"], 0) + r["amount"]
    assert got == want
    # count per key: binop counts, combine adds the counts
    counts = dict(b.foldby("name", lambda c, _r: c + 1, 0, operator.add).compute(scheduler="sync"))
    assert counts == dict(Counter(r["name"] for r in recs))


def test_groupby_processes_with_more_output_partitions():
    words = [f"w{i % 17}" for i in range(300)]
    b = db.from_sequence(words, npartitions=4)
    g = b.groupby(lambda w: w, npartitions=5)
    assert g.npartitions == 5
    got = dict(g.compute(scheduler="processes"))
    assert {k: len(v) for k, v in got.items()} == dict(Counter(words))


def test_flatten_starmap_map_partitions_pluck():
    b = db.from_sequence([[1, 2], [], [3], [4, 5, 6]], npartitions=2)
    assert b.flatten().compute(scheduler="sync") == [1, 2, 3, 4, 5, 6]
    pairs = db.from_sequence([(1, 2), (3, 4), (5, 6)], npartitions=2)
    assert pairs.starmap(operator.mul).compute(scheduler="sync") == [2, 12, 30]
    assert pairs.starmap(lambda a, b, c=0: a + b + c, c=10).compute(scheduler="sync") == [13, 17, 21]
    assert pairs.map_partitions(lambda p: [sum(a for a, _ in p)]).compute(scheduler="sync") == [4, 5]
    assert pairs.pluck([1, 0]).compute(scheduler="sync") == [(2, 1), (4, 3), (6, 5)]
    dicts = db.from_sequence([{"a": 1}, {"b": 2}])
    assert dicts.pluck("a", default=None).compute(scheduler="sync") == [1, None]
    # a partition function returning one value gives one value per partition
    assert pairs.map_partitions(len).compute(scheduler="sync") == [2, 1]


def test_partial_functions_and_extra_arguments():
    b = db.from_sequence(range(10), npartitions=3)
    assert b.map(functools.partial(operator.add, 100)).compute(scheduler="processes") == list(range(100, 110))
    assert b.map(lambda x, y, z=0: x * y + z, 2, z=1).compute(scheduler="sync") == [2 * x + 1 for x in range(10)]
    assert b.filter(lambda x, m: x % m == 0, 3).compute(scheduler="sync") == [0, 3, 6, 9]


@pytest.mark.parametrize("sched", ["sync", "threads", "processes"])
def test_lazy_extra_arguments(sched):
    b = db.from_sequence(range(10), npartitions=3)
    total = b.sum()
    # an Item argument: computed once, given to every call
    assert b.map(lambda x, t: x / t, total).compute(scheduler=sched) == [x / 45 for x in range(10)]
    d = shoal.delayed(lambda: 7)()
    assert b.map(operator.add, d).sum().compute(scheduler=sched) == 45 + 70
    assert b.filter(lambda x, lim: x < lim, b.count().apply(lambda n: n // 2)).compute(scheduler=sched) == [0, 1, 2, 3, 4]
    # another bag with the same partitions: zipped elementwise
    assert b.map(operator.mul, b).compute(scheduler=sched) == [x * x for x in range(10)]
    assert db.zip(b, b.map(str)).compute(scheduler=sched)[3] == (3, "3")


def test_take_reads_only_what_it_needs(tmp_path):
    b = db.from_sequence(range(100), npartitions=10)
    assert b.take(3) == (0, 1, 2)
    item = b.take(3, compute=False)
    graph, _, _ = shoal.base.collections_to_graph([item], optimize_graph=False)
    # one partition task (plus the final concatenation), not ten
    assert len(graph) == 2
    with pytest.warns(UserWarning, match="npartitions=-1"):
        assert b.take(15) == tuple(range(10))
    assert b.take(15, npartitions=2) == tuple(range(15))
    assert b.take(15, npartitions=-1, warn=False) == tuple(range(15))


def test_take_stops_reading_early(tmp_path):
    p = tmp_path / "big.txt"
    p.write_text("".join(f"{i}\n" for i in range(200_000)))
    calls = []

    def spy(line):
        calls.append(line)
        return line

    with shoal.config.set(scheduler="sync"):
        out = db.read_text(str(p)).map(spy).take(5)
    assert out == tuple(f"{i}\n" for i in range(5))
    # the chain is lazy: the function ran on 5 lines, not 200,000
    assert len(calls) == 5


@settings(max_examples=25, deadline=None)
@given(xs=ints, n=nparts, m=st.integers(1, 9))
def test_repartition_keeps_order(xs, n, m):
    b = db.from_sequence(xs, npartitions=n)
    r = b.repartition(m)
    assert r.npartitions == m
    assert r.compute(scheduler="sync") == xs


def test_random_sample_is_reproducible_and_a_subset():
    b = db.from_sequence(range(1000), npartitions=4)
    s1 = b.random_sample(0.1, random_state=42).compute(scheduler="processes")
    s2 = b.random_sample(0.1, random_state=42).compute(scheduler="sync")
    assert s1 == s2 and set(s1) <= set(range(1000)) and 40 < len(s1) < 200
    assert s1 == sorted(s1)
    assert b.random_sample(0.0).count().compute(scheduler="sync") == 0
    assert b.random_sample(1.0).count().compute(scheduler="sync") == 1000
    with pytest.raises(ValueError, match="between 0 and 1"):
        b.random_sample(1.5)


def test_empty_partitions_everywhere():
    b = db.from_sequence(range(20), npartitions=5).filter(lambda x: x >= 16)
    assert [len(p) for p in parts_of(b)] == [0, 0, 0, 0, 4]
    res = shoal.compute(b.count(), b.sum(), b.min(), b.max(), b.mean(), b.fold(operator.add),
                        b.topk(2), b.frequencies(), b.distinct(), scheduler="processes")
    assert res[:6] == (4, 70, 16, 19, 17.5, 70)
    assert res[6] == [19, 18] and len(res[7]) == 4 and sorted(res[8]) == [16, 17, 18, 19]
    empty = db.from_sequence([], npartitions=3)
    assert empty.npartitions == 1 and empty.compute(scheduler="sync") == []
    assert empty.count().compute(scheduler="sync") == 0
    with pytest.raises(ValueError, match="empty bag"):
        empty.max().compute(scheduler="sync")
    assert db.range(0, 2).compute(scheduler="sync") == []


def test_creation_functions():
    assert db.from_sequence(range(10)).npartitions == 10
    assert db.from_sequence(range(1000)).npartitions == 100
    assert db.from_sequence(range(10), partition_size=4).npartitions == 3
    r = db.range(11, npartitions=3)
    assert r.npartitions == 3 and r.compute(scheduler="sync") == list(range(11))
    ds = [shoal.delayed(list)(range(i)) for i in range(4)]
    fd = db.from_delayed(ds)
    assert fd.npartitions == 4 and fd.compute(scheduler="processes") == [0, 0, 1, 0, 1, 2]
    c = db.concat([db.from_sequence([1, 2]), db.from_sequence([3], npartitions=1)])
    assert c.compute(scheduler="sync") == [1, 2, 3]
    assert db.map(operator.add, db.range(4, 2), db.range(4, 2)).compute(scheduler="sync") == [0, 2, 4, 6]


def test_persist_to_delayed_and_str_accessor():
    b = db.from_sequence(["Ab", "cD", "eF"], npartitions=2)
    p = b.str.lower().persist(scheduler="processes")
    assert p.compute(scheduler="sync") == ["ab", "cd", "ef"]
    assert p.map(len).sum().compute(scheduler="processes") == 6
    d = b.to_delayed()
    assert len(d) == 2 and shoal.compute(*d, scheduler="sync") == (["Ab", "cD"], ["eF"])
    assert list(b) == ["Ab", "cD", "eF"]
    assert b.str.match("*D").compute(scheduler="sync") == ["cD"]
    c = b.count().persist(scheduler="sync")
    assert c.compute() == 3


def _boom(x):
    if x == 7:
        raise ValueError(f"bad element {x}")
    return x


@pytest.mark.parametrize("sched", ["sync", "processes"])
def test_worker_error_names_partition_and_keeps_traceback(sched):
    b = db.from_sequence(range(10), npartitions=3).map(_boom)
    with pytest.raises(ValueError, match="bad element 7") as info:
        b.count().compute(scheduler=sched)
    notes = "\n".join(getattr(info.value, "__notes__", []))
    assert "partition 1 " in notes and "map(_boom)" in notes  # partitions: 0-3, 4-7, 8-9
    # the worker's frames are still there: in the traceback itself or the remote one
    import traceback

    text = "".join(traceback.format_exception(info.value))
    assert "_boom" in text and 'raise ValueError(f"bad element {x}")' in text


def test_repr_bool_and_misuse():
    b = db.from_sequence([1, 2], npartitions=2)
    assert "npartitions=2" in repr(b)
    with pytest.raises(TypeError, match="truth value"):
        bool(b)
    with pytest.raises(TypeError, match="zip"):
        b.filter(lambda x, o: x, b)
    with pytest.raises(ValueError, match="repartition"):
        b.map(operator.add, db.from_sequence([1, 2, 3], npartitions=3))


def test_public_api():
    assert set(db.__all__) >= {"Bag", "Item", "read_text", "from_sequence", "from_delayed", "range",
                               "compute", "to_textfiles", "concat", "zip", "map"}
    for name in db.__all__:
        assert hasattr(db, name)


def test_to_dataframe_matches_pandas():
    import pandas as pd

    recs = [{"name": f"n{i % 4}", "amount": i * 1.5} for i in range(30)]
    b = db.from_sequence(recs, npartitions=4)
    df = b.to_dataframe()
    assert list(df.columns) == ["name", "amount"]
    got = df.compute(scheduler="sync").reset_index(drop=True)
    pd.testing.assert_frame_equal(got, pd.DataFrame(recs))
    assert df.amount.sum().compute(scheduler="processes") == pd.DataFrame(recs).amount.sum()
    tup = db.from_sequence([(i, str(i)) for i in range(6)], npartitions=2).to_dataframe(columns=["x", "s"])
    assert tup.compute(scheduler="sync").x.tolist() == list(range(6))


def test_item_arithmetic_is_lazy():
    b = db.from_sequence(range(10), npartitions=3)
    c, s = b.count(), b.sum()
    mean = s / c
    assert isinstance(mean, db.Item)
    assert shoal.compute(mean, c + 1, 100 - c, -c, c > 5, scheduler="sync") == (4.5, 11, 90, -10, True)
    assert (c * b.max()).compute(scheduler="processes") == 90


def test_visualize_writes_a_picture(tmp_path):
    from tests.conftest import require

    require("dot")
    wiki = db.from_sequence(["a b", "c"], npartitions=2)
    out = tmp_path / "bag.svg"
    wiki.filter(lambda s: " " in s).count().visualize(filename=str(out))
    assert out.exists() and out.read_text().lstrip().startswith(("<?xml", "<svg"))


def test_repartition_by_memory_size():
    xs = [f"{i:0100d}" for i in range(200)]  # about 150 bytes each
    b = db.from_sequence(xs, npartitions=2)
    r = b.repartition(partition_size="3kB")
    assert 8 <= r.npartitions <= 12
    assert r.compute(scheduler="sync") == xs
