"""Making bags from Python data and lazy values: ``from_sequence``, ``from_delayed``, ``range``, ``concat``, ``zip``."""
from __future__ import annotations

import builtins
import math
from typing import Any, Callable, Iterable

from shoal.bag import pipeline
from shoal.bag.core import Bag, _layers_of
from shoal.utils import new_name
from shoal.bag.multi import zip_map as _zip_map
from shoal.bag.multi import zip_partitions as _zip_partitions
from shoal.base import is_lazy
from shoal.core.task import Ref

__all__ = ["from_sequence", "from_delayed", "range", "concat", "zip", "map", "map_partitions"]


def from_sequence(seq: Iterable, partition_size: int | None = None, npartitions: int | None = None) -> Bag:
    """A bag of the elements of ``seq``, cut into partitions in order.

    With neither argument, aim at about 100 partitions (one element each
    for short sequences), as Dask does.  Do not load big data in the
    client and pass it here: make a bag of file names and ``map`` a loader.
    """
    seq = list(seq)
    n = len(seq)
    if partition_size is not None and npartitions is not None:
        raise ValueError("from_sequence takes partition_size= or npartitions=, not both")
    if npartitions is not None:
        if npartitions < 1:
            raise ValueError(f"npartitions must be >= 1, got {npartitions}")
        partition_size = max(1, math.ceil(n / npartitions))
    elif partition_size is None:
        partition_size = 1 if n <= 100 else math.ceil(n / 100)
    elif partition_size < 1:
        raise ValueError(f"partition_size must be >= 1, got {partition_size}")
    parts = [seq[i:i + partition_size] for i in builtins.range(0, n, partition_size)]
    name = new_name("from-sequence", seq, partition_size)
    return Bag.from_sources(name, [(pipeline.from_list, (p,)) for p in parts])


def range(n: int, npartitions: int) -> Bag:
    """The integers ``0 .. n-1`` in ``npartitions`` partitions (computed in the workers)."""
    if npartitions < 1:
        raise ValueError(f"npartitions must be >= 1, got {npartitions}")
    k = min(npartitions, n) if n > 0 else 1
    bounds = [(i * n // k, (i + 1) * n // k) for i in builtins.range(k)]
    name = new_name("range", n, npartitions)
    return Bag.from_sources(name, [(pipeline.from_range, b) for b in bounds])


def from_delayed(values: Any) -> Bag:
    """A bag with one partition per ``Delayed`` (each computing to a list or iterable)."""
    from shoal.delayed import Delayed, delayed

    if isinstance(values, Delayed) or not isinstance(values, (list, tuple)):
        values = [values]
    layers: dict = {}
    srcs = []
    for v in values:
        if not is_lazy(v):
            raise TypeError(f"from_delayed expects Delayed values, got a {type(v).__name__}; "
                            "wrap data with shoal.delayed(...) or use db.from_sequence")
        d = v if isinstance(v, Delayed) else delayed(v)
        layers.update(_layers_of(d))
        srcs.append((pipeline.from_value, (Ref(d.key),)))
    name = new_name("from-delayed", [str(s[1][0].key) for s in srcs])
    return Bag.from_sources(name, srcs, layers)


def concat(bags: list) -> Bag:
    """One bag holding every partition of ``bags``, in order."""
    bags = list(bags)
    if not bags:
        raise ValueError("concat needs at least one bag")
    layers: dict = {}
    srcs = []
    for b in bags:
        layers.update(b._with_self())
        srcs.extend((pipeline.from_value, (Ref(k),)) for k in b.__shoal_keys__())
    name = new_name("concat", [b.name for b in bags])
    return Bag.from_sources(name, srcs, layers)


def _tuples(*xs: Any) -> tuple:
    return xs


def zip(*bags: Bag) -> Bag:
    """Elementwise tuples of bags with equal partitioning."""
    return _zip_map(_tuples, bags, {})


def map(func: Callable, *args: Any, **kwargs: Any) -> Bag:
    """``func`` over bags elementwise; non-bag arguments are passed to every call."""
    bags = [a for a in args if isinstance(a, Bag)] + [v for v in kwargs.values() if isinstance(v, Bag)]
    if not bags:
        raise ValueError("db.map needs at least one Bag argument, e.g. db.map(f, b)")
    if len(bags) == 1 and args and args[0] is bags[0]:
        return bags[0].map(func, *args[1:], **kwargs)
    return _zip_map(func, args, kwargs)


def map_partitions(func: Callable, *args: Any, **kwargs: Any) -> Bag:
    """``func`` over partitions of bags (zipped); non-bag arguments are passed to every call."""
    bags = [a for a in args if isinstance(a, Bag)] + [v for v in kwargs.values() if isinstance(v, Bag)]
    if not bags:
        raise ValueError("db.map_partitions needs at least one Bag argument, e.g. db.map_partitions(f, b)")
    if len(bags) == 1 and args and args[0] is bags[0]:
        return bags[0].map_partitions(func, *args[1:], **kwargs)
    return _zip_partitions(func, args, kwargs)
