"""Bags combined elementwise or partition-wise: ``b.map(f, other)``, ``db.zip``, ``db.map_partitions``.

The bags must have the same number of partitions; partition ``i`` of the
result is computed from partition ``i`` of every input in one task, with
non-bag arguments (lazy ones included) passed to every call.
"""
from __future__ import annotations

from typing import Any, Callable, Iterable

from shoal.bag import chunk
from shoal.bag.core import Bag, _unpack
from shoal.utils import funcname
from shoal.core.task import Ref, Task

__all__ = ["zip_map", "zip_partitions"]


def _zip_layers(bags: tuple, extra: Iterable) -> tuple[int, dict]:
    n = bags[0].npartitions
    for b in bags:
        if b.npartitions != n:
            raise ValueError(
                f"bags with different numbers of partitions ({n} and {b.npartitions}) cannot be "
                "combined elementwise; repartition one to match: b2.repartition(b1.npartitions)")
    layers: dict = {}
    for b in bags:
        layers.update(b._with_self())
    return n, layers


def zip_map(func: Callable, args: tuple, kwargs: dict) -> Bag:
    bags = tuple(a for a in args if isinstance(a, Bag))
    kw_bags = {k: v for k, v in kwargs.items() if isinstance(v, Bag)}
    if kw_bags:
        raise TypeError("bags as keyword arguments are not supported; pass them positionally: "
                        "b.map(f, other_bag)")
    n, layers = _zip_layers(bags, ())
    slots, plain = [], []
    bag_pos = {id(b): i for i, b in enumerate(bags)}
    for a in args:
        if isinstance(a, Bag):
            slots.append(bag_pos[id(a)])
            plain.append(None)
        else:
            slots.append(None)
            plain.append(a)
    plain_t = _unpack(tuple(plain), layers)
    kw = _unpack(kwargs, layers)
    nodes = [Task(chunk.zip_map, func, [Ref((b.name, i)) for b in bags], slots, plain_t, kw)
             for i in range(n)]
    return bags[0]._materialised(funcname(func), nodes, layers)


def _call_partitions(func: Callable, parts: list, slots: list, args: tuple, kwargs: dict) -> Any:
    call_args = [parts[s] if s is not None else a for s, a in zip(slots, args)]
    return list(func(*call_args, **kwargs))


def zip_partitions(func: Callable, args: tuple, kwargs: dict) -> Bag:
    bags = tuple(a for a in args if isinstance(a, Bag))
    n, layers = _zip_layers(bags, ())
    bag_pos = {id(b): i for i, b in enumerate(bags)}
    slots = [bag_pos[id(a)] if isinstance(a, Bag) else None for a in args]
    plain = _unpack(tuple(None if isinstance(a, Bag) else a for a in args), layers)
    kw = _unpack(kwargs, layers)
    nodes = [Task(_call_partitions, func, [Ref((b.name, i)) for b in bags], slots, plain, kw)
             for i in range(n)]
    return bags[0]._materialised(funcname(func), nodes, layers)
