"""Static execution order that keeps memory low.

``order(graph, deps) -> {key: priority}`` gives every key a distinct integer;
schedulers run the ready task with the smallest one first.  The priorities
are a depth-first *post-order* walked from the outputs: before starting a new
output (or a new input of the same output) the walk finishes everything
below the current one.  So a reduction consumes each chunk right after it is
made, its inputs are released, and the next chunk is only made afterwards:
the row-mean of an array far larger than memory holds a few chunks at a
time, on one thread or several.

Inputs of a task are visited in key order (``("x", 0, 1)`` before
``("x", 0, 2)``) so the order is deterministic across runs and processes,
and a node shared by several branches is computed the first time one of
them needs it, right before its first use.

The result's iteration order is the execution sequence itself (a valid
topological order), which the sync scheduler simply follows.

Cost: every node is expanded once and its inputs sorted once,
O(n + e log d) for n nodes, e edges and d the widest fan-in.
"""
from __future__ import annotations

from typing import Any, Hashable, Iterable, Mapping

from shoal.core.task import deps_of

__all__ = ["order", "sort_key"]


def sort_key(k: Hashable) -> Any:
    """Sort keys by name, then by index tuple (``("x", 2)`` before ``("x", 10)``)."""
    if type(k) is tuple:
        return (str(k[0]), k[1:])
    return (str(k), ())


def _sorted(keys: Iterable[Hashable]) -> list:
    keys = list(keys)
    try:
        return sorted(keys)  # all str, or tuples of one kind: fast C comparisons
    except TypeError:
        pass
    try:
        return sorted(keys, key=sort_key)
    except TypeError:  # mixed index types: fall back to their text
        return sorted(keys, key=str)


def order(graph: Mapping, deps: Mapping | None = None,
          keys: Iterable[Hashable] | None = None) -> dict:
    """``{key: priority}``: smaller runs first; iteration order is the sequence.

    ``keys`` are the outputs to walk from (default: every key nothing
    depends on, in key order).  Raises ValueError on a dependency cycle.
    """
    if deps is None:
        deps = {k: deps_of(v) for k, v in graph.items()}
    if keys is None:
        needed: set = set()
        for ds in deps.values():
            needed.update(ds)
        roots = _sorted(k for k in deps if k not in needed)
    else:
        roots = list(keys)
    prio: dict = {}
    entered: set = set()
    n = 0
    for r in roots:
        if r in prio:
            continue
        stack = [r]
        while stack:
            k = stack[-1]
            if k in prio:
                stack.pop()
                continue
            if k in entered:
                # all inputs are done: this is k's turn
                prio[k] = n
                n += 1
                stack.pop()
                continue
            entered.add(k)
            ds = deps[k]
            if not ds:
                prio[k] = n
                n += 1
                stack.pop()
                continue
            pending = [d for d in ds if d not in prio]
            if not pending:
                continue  # re-examined at once, now entered
            for d in pending:
                if d in entered:
                    raise ValueError(
                        f"the graph has a cycle through {d!r} and {k!r}; a task cannot "
                        "depend (directly or indirectly) on its own result"
                    )
            if len(pending) > 1:
                pending = _sorted(pending)
                pending.reverse()  # the smallest key is visited first
            stack.extend(pending)
    return prio
