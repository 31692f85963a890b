"""Bag methods and semantics Dask users rely on beyond the tutorial."""
from __future__ import annotations

import os
from operator import add

import pytest

import shoal
import shoal.bag as db
from tests.conftest import require_module

SYNC = {"scheduler": "sync"}


def test_unzip_product_join():
    b = db.from_sequence([(1, "a"), (2, "b"), (3, "c")], npartitions=2)
    nums, letters = b.unzip(2)
    assert nums.compute(**SYNC) == [1, 2, 3] and letters.compute(**SYNC) == ["a", "b", "c"]
    x, y = db.from_sequence([1, 2], npartitions=2), db.from_sequence([10, 20, 30], npartitions=3)
    p = x.product(y)
    assert p.npartitions == 6
    assert sorted(p.compute(**SYNC)) == [(i, j) for i in (1, 2) for j in (10, 20, 30)]
    people = db.from_sequence([{"id": 1, "n": "ann"}, {"id": 2, "n": "bob"}, {"id": 3, "n": "cy"}])
    towns = [(1, "paris"), (3, "rome"), (3, "oslo")]
    joined = people.join(towns, on_self="id", on_other=0).compute(**SYNC)
    assert joined == [((1, "paris"), {"id": 1, "n": "ann"}), ((3, "rome"), {"id": 3, "n": "cy"}),
                      ((3, "oslo"), {"id": 3, "n": "cy"})]
    as_bag = people.join(db.from_sequence(towns, npartitions=1), "id", 0).compute(**SYNC)
    assert as_bag == joined
    with pytest.raises(ValueError, match="one partition"):
        people.join(db.from_sequence(towns, npartitions=2), "id", 0)


def test_fold_initial_starts_each_partition_only():
    b = db.from_sequence(range(10), npartitions=3)
    assert b.fold(add, initial=100).compute(**SYNC) == 45 + 300
    assert b.fold(add).compute(**SYNC) == 45


def test_topk_key_with_several_arguments():
    b = db.from_sequence([(1, 10), (2, 9), (3, 8)], npartitions=2)
    assert b.topk(2, key=lambda a, c: c).compute(**SYNC) == [(1, 10), (2, 9)]


def test_item_conversions_and_from_delayed():
    b = db.from_sequence([1, 2, 3, 4], npartitions=2)
    assert int(b.sum()) == 10 and float(b.mean()) == 2.5
    item = db.Item.from_delayed(shoal.delayed(sum)([1, 2]))
    assert item.compute(**SYNC) == 3
    assert b.map(add, item).compute(**SYNC) == [4, 5, 6, 7]


def test_bags_as_keyword_arguments():
    a = db.from_sequence(range(4), npartitions=2)
    c = db.from_sequence(range(10, 14), npartitions=2)
    assert db.map(lambda x=0, y=0: x + y, x=a, y=c).compute(**SYNC) == [10, 12, 14, 16]
    assert a.map_partitions(lambda p, other: [sum(p) + sum(other)], other=c).compute(**SYNC) == [22, 30]
    with pytest.raises(ValueError):
        db.map(add, a.sum(), 1)


def test_take_without_compute_and_bounds():
    b = db.from_sequence(range(10), npartitions=5)
    t = b.take(3, compute=False)
    assert isinstance(t, db.Bag) and t.compute(**SYNC) == [0, 1]
    with pytest.raises(ValueError, match="npartitions=-1"):
        b.take(1, npartitions=6)
    with pytest.raises(ValueError, match="not both"):
        b.repartition(npartitions=2, partition_size="1MiB")


def test_range_has_the_partitions_asked_for():
    for n in (1, 7, 28):
        r = db.range(100, npartitions=n)
        assert r.npartitions == n and r.compute(**SYNC) == list(range(100))


def test_map_of_a_generator_gives_lists():
    b = db.from_sequence([[1, 2], [3]], npartitions=2)
    assert b.map(lambda xs: (x + 1 for x in xs)).compute(**SYNC) == [[2, 3], [4]]


def test_text_output_names_sort_in_partition_order(tmp_path):
    b = db.from_sequence([str(i) for i in range(12)], npartitions=12)
    b.to_textfiles(str(tmp_path), **SYNC)
    names = sorted(os.listdir(tmp_path))
    assert names[0] == "00.part" and names[-1] == "11.part"
    back = db.read_text(str(tmp_path / "*")).map(str.strip).compute(**SYNC)
    assert back == [str(i) for i in range(12)]
    with pytest.raises(TypeError):
        b.to_textfiles(5)
    with pytest.raises(ValueError):  # also a FileNotFoundError
        db.read_text(str(tmp_path / "nothing-*"))


def test_empty_bag_to_dataframe_with_meta_dict():
    require_module("pandas", "pip install 'shoal[dataframe]'")
    df = db.from_sequence([]).to_dataframe(meta={"a": "int64"}).compute(**SYNC)
    assert df.empty and list(df.columns) == ["a"] and str(df["a"].dtype) == "int64"


def test_string_accessor_lists_match():
    b = db.from_sequence(["Ann Smith", "Bob Jones"])
    assert "match" in dir(b.str) and "split" in dir(b.str)
    assert b.str.match("*Smith").compute(**SYNC) == ["Ann Smith"]


def test_blocks_smaller_than_a_long_delimiter(tmp_path):
    text = "abc\ndef\n$$$$\ndog\n\n\r\n$$$$hello"
    path = tmp_path / "delim.txt"
    path.write_text(text)
    whole = db.read_text(str(path), linedelimiter="$$$$").compute(**SYNC)
    assert whole == ["abc\ndef\n$$$$", "\ndog\n\n\r\n$$$$", "hello"]
    for bs in (1, 2, 3, 5, 7, 100):
        assert db.read_text(str(path), linedelimiter="$$$$", blocksize=bs).compute(**SYNC) == whole, bs
