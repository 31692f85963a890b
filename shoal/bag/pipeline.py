"""What runs inside a task: a partition source, a chain of element ops, a final step.

A bag partition is never handed from task to task between elementwise
operations.  Instead each partition is described by

* a **source**: ``(token, func, args)`` -- calling ``func(*args)`` yields the
  partition's elements (``read_text`` decompresses and splits a file here;
  ``args`` may hold ``Ref`` s to other keys, such as a delayed value);
* a chain of **ops**: ``(token, kind, func, args, kwargs)`` tuples for
  ``map``, ``filter``, ``starmap``, ``pluck``, ``flatten``, ``map_partitions``
  and ``random_sample``, composed as C-level iterators (``map``/``filter``);
* a **final** step: ``list`` to materialise the partition, or the
  per-partition half of a reduction (count, sum, frequencies, ...).

``run_pipeline`` does all three in one task, so ``read_text -> filter ->
count`` moves only an integer out of the worker.  ``run_shared`` serves
several consumers of the same source in one task (built by
``shoal.bag.optimize``): the source is read once, and a chain prefix that
consumers share (``wiki.filter(find)`` under both ``obama`` and
``obama.count()``) is computed once.

Errors raised inside a partition get a note naming the bag, the partition
and the chain of operations; the original exception and its traceback are
kept as they are.
"""
from __future__ import annotations

import itertools
import random as _random
from collections import deque
from operator import itemgetter
from typing import Any, Callable, Iterable, Iterator

__all__ = ["run_pipeline", "run_shared", "apply_ops", "describe_ops", "pick"]


def _tail_call(f: Callable, args: tuple, kwargs: dict) -> Callable:
    if kwargs:
        return lambda x: f(x, *args, **kwargs)
    return lambda x: f(x, *args)


class _Missing:
    """The "no argument given" marker; one instance in every process."""

    def __repr__(self) -> str:
        return "no_default"

    def __reduce__(self):
        return (_get_missing, ())


no_default = _Missing()


def _get_missing() -> _Missing:
    return no_default


def _plucker(key: Any, default: Any) -> Callable:
    if type(key) is list:
        if default is no_default:
            if len(key) == 1:
                k0 = key[0]
                return lambda x: (x[k0],)
            return itemgetter(*key)

        def pick_many(x: Any) -> tuple:
            out = []
            for k in key:
                try:
                    out.append(x[k])
                except (KeyError, IndexError):
                    out.append(default)
            return tuple(out)

        return pick_many
    if default is no_default:
        return itemgetter(key)

    def pick_one(x: Any) -> Any:
        try:
            return x[key]
        except (KeyError, IndexError):
            return default

    return pick_one


def _as_iterable(result: Any, func: Callable) -> Iterable:
    # a single value (``map_partitions(len)``) stays the partition's value, as in Dask;
    # computing the bag then gives one value per partition
    return result


def _sample(it: Iterable, prob: float, seed: int, index: int) -> Iterator:
    # one stream per (seed, partition): reproducible and independent of scheduling
    rng = _random.Random(seed * 1_000_003 + index)
    r = rng.random
    return (x for x in it if r() < prob)


def apply_ops(it: Iterable, ops: tuple, index: int) -> Iterable:
    """Compose ``ops`` over the iterable ``it`` (lazily where possible)."""
    for op in ops:
        kind = op[1]
        f, args, kwargs = op[2], op[3], op[4]
        if kind == "map":
            it = map(_tail_call(f, args, kwargs) if (args or kwargs) else f, it)
        elif kind == "filter":
            it = filter(_tail_call(f, args, kwargs) if (args or kwargs) else f, it)
        elif kind == "remove":
            it = itertools.filterfalse(_tail_call(f, args, kwargs) if (args or kwargs) else f, it)
        elif kind == "starmap":
            if kwargs:
                it = (f(*x, **kwargs) for x in it)
            else:
                it = itertools.starmap(f, it)
        elif kind == "pluck":
            it = map(_plucker(args[0], args[1]), it)
        elif kind == "flatten":
            it = itertools.chain.from_iterable(it)
        elif kind == "map_partitions":
            part = it if type(it) is list else list(it)
            it = _as_iterable(f(part, *args, **kwargs), f)
        elif kind == "sample":
            it = _sample(it, args[0], args[1], index)
        else:  # pragma: no cover - ops are built by shoal.bag.core only
            raise ValueError(f"unknown bag op {kind!r}")
    return it


def describe_ops(ops: tuple) -> str:
    parts = []
    for op in ops:
        f = op[2]
        if f is None:
            parts.append(op[1])
        else:
            f = getattr(f, "func", f)  # functools.partial
            parts.append(f"{op[1]}({getattr(f, '__name__', None) or type(f).__name__})")
    return " -> ".join(parts)


def _annotate(exc: BaseException, label: tuple, ops: tuple, srcname: str) -> None:
    name, index = label
    chain = describe_ops(ops)
    note = (f"shoal.bag: raised while computing partition {index} of bag {name!r} "
            f"({srcname}{' -> ' + chain if chain else ''})")
    notes = getattr(exc, "__notes__", None) or []
    if not any(n.startswith("shoal.bag: raised while computing partition") for n in notes):
        try:
            exc.add_note(note)
        except Exception:  # pragma: no cover - exotic exception types
            pass


def run_pipeline(label: tuple, src_token: Any, src_func: Callable, src_args: tuple, ops: tuple,
                 final: Callable, final_args: tuple = ()) -> Any:
    """Read one partition from its source, apply ``ops``, finish with ``final``.

    ``label`` is ``(bag name, partition index)`` for error messages;
    ``src_token`` names the source so that ``shoal.bag.optimize`` can find
    tasks reading the same partition.
    """
    try:
        it = src_func(*src_args)
        if ops:
            it = apply_ops(it, ops, label[1])
        return final(it, *final_args)
    except BaseException as e:
        _annotate(e, label, ops, getattr(src_func, "__name__", "source"))
        raise


def run_shared(label: tuple, src_func: Callable, src_args: tuple, consumers: list) -> tuple:
    """Serve several consumers ``(ops, final, final_args)`` of one source in one task.

    The source is materialised once; each distinct chain prefix is computed
    once and reused by every consumer that starts with it.
    """
    index = label[1]
    cache: dict = {}
    out = []
    ops: tuple = ()
    try:
        base = src_func(*src_args)
        base = base if type(base) is list else list(base)
        cache[()] = base
        for ops, final, final_args in consumers:
            toks = tuple(op[0] for op in ops)
            # longest cached prefix
            n = len(toks)
            while n > 0 and toks[:n] not in cache:
                n -= 1
            data = cache[toks[:n]]
            for j in range(n, len(ops)):
                data = apply_ops(data, ops[j:j + 1], index)
                data = data if type(data) is list else list(data)
                cache[toks[: j + 1]] = data
            out.append(final(data, *final_args))
    except BaseException as e:
        _annotate(e, label, ops, getattr(src_func, "__name__", "source"))
        raise
    return tuple(out)


def pick(values: tuple, i: int) -> Any:
    return values[i]


# -- sources ------------------------------------------------------------------

def from_value(value: Any) -> Iterable:
    """Source: a partition already computed (by another key)."""
    return value


def from_list(seq: list) -> Iterable:
    """Source: a literal list embedded in the graph."""
    return seq


def from_range(start: int, stop: int, step: int = 1) -> Iterable:
    return range(start, stop, step)


def from_parts(parts: list) -> Iterable:
    """Source: several computed partitions, concatenated."""
    return itertools.chain.from_iterable(parts)


# -- finals (per-partition steps) -------------------------------------------

def to_list(it: Iterable) -> list:
    """The partition as a list; elements that are iterators (``map`` of a generator) become lists."""
    if type(it) is not list:
        if isinstance(it, (str, bytes)) or not hasattr(it, "__iter__"):
            return it  # a partition holding one value (see _as_iterable)
        it = list(it)
    if it and isinstance(it[0], Iterator):
        it = [list(x) if isinstance(x, Iterator) else x for x in it]
    return it


def count(it: Iterable) -> int:
    if type(it) is list:
        return len(it)
    # enumerate + a one-slot deque consumes the iterator at C speed
    d = deque(enumerate(it, 1), maxlen=1)
    return d[0][0] if d else 0


def take(it: Iterable, k: int) -> list:
    return list(itertools.islice(it, k))
