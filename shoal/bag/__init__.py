"""``shoal.bag``: parallel collections of Python objects (``import shoal.bag as db``).

>>> import shoal.bag as db
>>> wiki = db.read_text('/data/wikistats/part-0000*gz')
>>> wiki.filter(find).count().compute()
>>> obama = wiki.filter(find)
>>> obama, obama_cnt, total_cnt = db.compute(obama, obama.count(), wiki.count())

Bags run on the processes scheduler by default.  Elementwise operations are
fused into one task per partition, and a ``compute`` of several results
over the same files reads each file once.
"""
from __future__ import annotations

from shoal.bag.core import Bag, Item
from shoal.bag.creation import concat, from_delayed, from_sequence, map, map_partitions, range, zip
from shoal.bag.io import read_text, to_textfiles
from shoal.base import compute, persist, visualize

__all__ = [
    "Bag",
    "Item",
    "read_text",
    "to_textfiles",
    "from_sequence",
    "from_delayed",
    "range",
    "concat",
    "zip",
    "map",
    "map_partitions",
    "compute",
    "persist",
    "visualize",
]
