"""Per-partition halves and aggregation halves of bag reductions and shuffles.

Every reduction is two plain functions: a *partial* that turns one
partition's elements (an iterable) into a small summary, run inside the
partition's fused task, and an *aggregate* that combines the list of
summaries.  Partitions that turn out empty give the ``EMPTY`` marker where
a summary would be meaningless (min of nothing), and aggregates skip it, so
empty partitions never break a reduction.
"""
from __future__ import annotations

import heapq
import itertools
import math
import pickle
import zlib
from collections import Counter
from functools import reduce
from operator import itemgetter
from typing import Any, Callable, Iterable

from shoal.bag.pipeline import no_default


class _Empty:
    def __repr__(self) -> str:
        return "EMPTY"

    def __reduce__(self):
        return (_get_empty, ())


EMPTY = _Empty()


def _get_empty() -> _Empty:
    return EMPTY


def _keyfunc(key: Any) -> Callable | None:
    if key is None or callable(key):
        return key
    if type(key) is list:
        return itemgetter(*key)
    return itemgetter(key)


# -- simple reductions ------------------------------------------------------------

def sum_agg(parts: list) -> Any:
    return sum(parts)


def any_agg(parts: list) -> bool:
    return any(parts)


def all_agg(parts: list) -> bool:
    return all(parts)


def min_part(it: Iterable) -> Any:
    return min(it, default=EMPTY)


def max_part(it: Iterable) -> Any:
    return max(it, default=EMPTY)


def _nonempty(parts: list, what: str) -> list:
    vals = [p for p in parts if p is not EMPTY]
    if not vals:
        raise ValueError(f"{what}() of an empty bag: every partition was empty. "
                         "Check the filters before reducing, or guard with b.count() first")
    return vals


def min_agg(parts: list) -> Any:
    return min(_nonempty(parts, "min"))


def max_agg(parts: list) -> Any:
    return max(_nonempty(parts, "max"))


def moments_part(it: Iterable) -> tuple:
    """``(n, mean, M2)`` of one partition (M2: sum of squared deviations)."""
    xs = it if type(it) is list else list(it)
    n = len(xs)
    if n == 0:
        return (0, 0.0, 0.0)
    mean = math.fsum(xs) / n
    m2 = math.fsum((x - mean) * (x - mean) for x in xs)
    return (n, mean, m2)


def _combine_moments(parts: list) -> tuple:
    n, mean, m2 = 0, 0.0, 0.0
    for nb, mb, m2b in parts:
        if nb == 0:
            continue
        if n == 0:
            n, mean, m2 = nb, mb, m2b
            continue
        tot = n + nb
        delta = mb - mean
        # Chan et al.'s pairwise update: stable for large counts
        mean = mean + delta * nb / tot
        m2 = m2 + m2b + delta * delta * n * nb / tot
        n = tot
    return n, mean, m2


def mean_agg(parts: list) -> float:
    n, mean, _ = _combine_moments(parts)
    if n == 0:
        raise ZeroDivisionError("mean() of an empty bag")
    return mean


def var_agg(parts: list, ddof: int) -> float:
    n, _, m2 = _combine_moments(parts)
    if n - ddof <= 0:
        raise ZeroDivisionError(f"var() needs more than ddof={ddof} elements, the bag has {n}")
    return m2 / (n - ddof)


def std_agg(parts: list, ddof: int) -> float:
    return math.sqrt(var_agg(parts, ddof))


# -- user reductions ----------------------------------------------------------------

def reduction_part(it: Iterable, perpartition: Callable) -> Any:
    return perpartition(it if type(it) is list else list(it))


def reduction_agg(parts: list, aggregate: Callable) -> Any:
    return aggregate(parts)


def fold_part(it: Iterable, binop: Callable, initial: Any) -> Any:
    if initial is no_default:
        it = iter(it)
        first = next(it, EMPTY)
        if first is EMPTY:
            return EMPTY
        return reduce(binop, it, first)
    return reduce(binop, it, initial)


def fold_agg(parts: list, combine: Callable, initial: Any) -> Any:
    """Combine the partitions' totals; ``initial`` starts only those (each partition)."""
    vals = [p for p in parts if p is not EMPTY]
    if not vals and initial is not no_default:
        return initial
    if not vals:
        raise TypeError("fold() of an empty bag with no initial value; pass initial=...")
    return reduce(combine, vals)


# -- bag-valued reductions -----------------------------------------------------------

def frequencies_part(it: Iterable) -> Counter:
    return Counter(it)


def frequencies_agg(parts: list, sort: bool) -> list:
    total: Counter = Counter()
    for c in parts:
        total.update(c)
    if sort:
        return total.most_common()
    return list(total.items())


def distinct_part(it: Iterable, key: Any) -> dict:
    kf = _keyfunc(key)
    if kf is None:
        return dict.fromkeys(it)
    out: dict = {}
    for x in it:
        k = kf(x)
        if k not in out:
            out[k] = x
    return out


def distinct_agg(parts: list, key: Any) -> list:
    out: dict = {}
    if key is None:
        for d in parts:
            out.update(d)
        return list(out)
    for d in parts:
        for k, v in d.items():
            if k not in out:
                out[k] = v
    return list(out.values())


def topk_part(it: Iterable, k: int, key: Any) -> list:
    return heapq.nlargest(k, it, key=_keyfunc(key))


def topk_agg(parts: list, k: int, key: Any) -> list:
    return heapq.nlargest(k, itertools.chain.from_iterable(parts), key=_keyfunc(key))


def foldby_part(it: Iterable, key: Any, binop: Callable, initial: Any) -> dict:
    kf = _keyfunc(key)
    out: dict = {}
    if initial is no_default:
        for x in it:
            k = kf(x)
            out[k] = binop(out[k], x) if k in out else x
    else:
        for x in it:
            k = kf(x)
            out[k] = binop(out[k] if k in out else initial, x)
    return out


def foldby_agg(parts: list, combine: Callable, initial: Any) -> list:
    out: dict = {}
    for d in parts:
        for k, v in d.items():
            if k in out:
                out[k] = combine(out[k], v)
            elif initial is not no_default:
                out[k] = combine(initial, v)
            else:
                out[k] = v
    return list(out.items())


def take_agg(parts: list, k: int) -> tuple:
    return tuple(itertools.islice(itertools.chain.from_iterable(parts), k))


def concat_agg(parts: list) -> list:
    return list(itertools.chain.from_iterable(parts))


# -- groupby shuffle ------------------------------------------------------------------

def stable_hash(k: Any) -> int:
    """A hash equal in every process (``hash(str)`` is salted per process)."""
    t = type(k)
    if t is str:
        return zlib.crc32(k.encode("utf-8", "surrogatepass"))
    if t is int or t is bool:
        return k & 0x7FFFFFFFFFFFFFFF
    if t is float:
        return hash(k) & 0x7FFFFFFFFFFFFFFF  # float hashing is not salted
    if k is None:
        return 0
    if t is bytes:
        return zlib.crc32(k)
    if t is tuple:
        h = 0x345678
        for x in k:
            h = (h * 1000003) ^ stable_hash(x)
            h &= 0x7FFFFFFFFFFFFFFF
        return h
    if t is frozenset:
        return sum(stable_hash(x) for x in k) & 0x7FFFFFFFFFFFFFFF
    return zlib.crc32(pickle.dumps(k, protocol=4))


def group_split(it: Iterable, grouper: Any, nout: int) -> list:
    """One partition's elements as ``nout`` dicts ``{key: [elements]}`` by key hash."""
    kf = _keyfunc(grouper)
    buckets: list = [{} for _ in range(nout)]
    if nout == 1:
        d = buckets[0]
        for x in it:
            k = kf(x)
            lst = d.get(k)
            if lst is None:
                d[k] = [x]
            else:
                lst.append(x)
        return buckets
    for x in it:
        k = kf(x)
        d = buckets[stable_hash(k) % nout]
        lst = d.get(k)
        if lst is None:
            d[k] = [x]
        else:
            lst.append(x)
    return buckets


def group_merge(pieces: list) -> list:
    out: dict = {}
    for d in pieces:
        for k, vs in d.items():
            lst = out.get(k)
            if lst is None:
                out[k] = list(vs)
            else:
                lst.extend(vs)
    return list(out.items())


def split_piece(part: list, j: int, k: int) -> list:
    """The ``j``-th of ``k`` near-equal consecutive slices of ``part``."""
    n = len(part)
    return part[j * n // k:(j + 1) * n // k]


def zip_map(func: Callable, parts: list, slots: list, args: tuple, kwargs: dict,
            kwslots: dict | None = None) -> list:
    """Elementwise ``func`` over partitions zipped together (``b.map(f, other_bag)``).

    ``slots[i]`` is the index in ``parts`` for argument ``i``, or None for a
    broadcast argument taken from ``args[i]``; ``kwslots`` maps keyword
    names to the index in ``parts`` of the bag that keyword takes from.
    """
    n = len(parts[0]) if parts else 0
    for p in parts:
        if len(p) != n:
            raise ValueError(
                f"map over several bags needs partitions of equal length, got {len(p)} and {n} "
                "elements; repartition the bags the same way first")
    out = []
    for row in zip(*parts):
        call_args = [row[s] if s is not None else a for s, a in zip(slots, args)]
        if kwslots:
            kw = dict(kwargs)
            for name, s in kwslots.items():
                kw[name] = row[s]
            out.append(func(*call_args, **kw))
        else:
            out.append(func(*call_args, **kwargs))
    return out


class StarKey:
    """A key function called with an element's fields: ``key(*x)``."""

    __slots__ = ("func",)

    def __init__(self, func: Callable):
        self.func = func

    def __call__(self, x: Any) -> Any:
        return self.func(*x)

    def __reduce__(self):
        return (StarKey, (self.func,))


def product_part(left: list, right: list) -> list:
    """Every ``(x, y)`` pair of two partitions."""
    return list(itertools.product(left, right))


def join_part(part: list, other: Iterable, on_self: Any, on_other: Any) -> list:
    """``(y, x)`` for ``x`` in ``part`` and ``y`` in ``other`` with equal keys."""
    kother, kself = _keyfunc(on_other), _keyfunc(on_self)
    index: dict = {}
    for y in other:
        index.setdefault(kother(y), []).append(y)
    out = []
    for x in part:
        for y in index.get(kself(x), ()):
            out.append((y, x))
    return out
