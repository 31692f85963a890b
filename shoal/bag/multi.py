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


def _split_bags(args: tuple, kwargs: dict) -> tuple:
    """Bags in ``args``/``kwargs`` and where each argument takes its value from."""
    bags: list = []
    pos: dict = {}

    def slot(b: Bag) -> int:
        if id(b) not in pos:
            pos[id(b)] = len(bags)
            bags.append(b)
        return pos[id(b)]

    slots = [slot(a) if isinstance(a, Bag) else None for a in args]
    kwslots = {k: slot(v) for k, v in kwargs.items() if isinstance(v, Bag)}
    plain = tuple(None if isinstance(a, Bag) else a for a in args)
    plain_kw = {k: v for k, v in kwargs.items() if not isinstance(v, Bag)}
    return tuple(bags), slots, kwslots, plain, plain_kw


def zip_map(func: Callable, args: tuple, kwargs: dict) -> Bag:
    bags, slots, kwslots, plain, plain_kw = _split_bags(args, kwargs)
    n, layers = _zip_layers(bags, ())
    plain_t = _unpack(plain, layers)
    kw = _unpack(plain_kw, layers)
    nodes = [Task(chunk.zip_map, func, [Ref((b.name, i)) for b in bags], slots, plain_t, kw, kwslots)
             for i in range(n)]
    return bags[0]._materialised(funcname(func), nodes, layers)


def _call_partitions(func: Callable, parts: list, slots: list, args: tuple, kwargs: dict,
                     kwslots: dict | None = None) -> Any:
    call_args = [parts[s] if s is not None else a for s, a in zip(slots, args)]
    if kwslots:
        kwargs = dict(kwargs)
        for name, s in kwslots.items():
            kwargs[name] = parts[s]
    out = func(*call_args, **kwargs)
    if isinstance(out, (str, bytes)) or not hasattr(out, "__iter__"):
        return out  # one value for the partition, as map_partitions(len) gives
    return list(out)


def zip_partitions(func: Callable, args: tuple, kwargs: dict) -> Bag:
    bags, slots, kwslots, plain, plain_kw = _split_bags(args, kwargs)
    n, layers = _zip_layers(bags, ())
    plain_t = _unpack(plain, layers)
    kw = _unpack(plain_kw, layers)
    nodes = [Task(_call_partitions, func, [Ref((b.name, i)) for b in bags], slots, plain_t, kw, kwslots)
             for i in range(n)]
    return bags[0]._materialised(funcname(func), nodes, layers)
