"""Column projection: readers parse only the columns a computation uses.

``optimize(graph, keys)`` runs before scheduling (it is the dataframe
collections' ``__shoal_optimize__``).  It walks the needed part of the graph
from the outputs back to the readers, computing for every key the set of
columns its consumers read (``None`` = all of them):

* an output key needs all its columns;
* a task whose function has a registered *column rule* says which columns
  it needs from each input given what its consumers need from it (column
  selection needs just the selected ones; a boolean filter passes its
  consumers' needs through to the frame and needs all of the mask; a
  groupby chunk needs the keys and aggregated columns);
* any other task needs all columns of all its inputs (always safe).

Reader tasks (``register_reader``) are then rewritten to read only the
union of what their consumers need.  Keys do not change, so two results of
one ``read_csv`` computed together still read each file once, with the
columns both need.
"""
from __future__ import annotations

from typing import Any, Callable

from shoal.core.task import Ref, Task, deps_of

__all__ = ["optimize", "register_columns", "register_reader"]

# func -> rule(task, needed_out) -> {dep_key: frozenset | None}
_RULES: dict[Callable, Callable] = {}
# reader func -> position of its ``columns`` argument
_READERS: dict[Callable, int] = {}


def register_columns(func: Callable) -> Callable:
    """Decorator: register ``rule`` as the column rule of ``func``."""

    def deco(rule: Callable) -> Callable:
        _RULES[func] = rule
        return rule

    return deco


def register_reader(func: Callable, columns_arg: int) -> None:
    """``func``'s positional argument ``columns_arg`` is the column list it reads."""
    _READERS[func] = columns_arg


def _union(a: frozenset | None, b: frozenset | None) -> frozenset | None:
    if a is None or b is None:
        return None
    return a | b


def _ref_key(x: Any) -> Any:
    return x.key if type(x) is Ref else None


def _rule_for(node: Any, needed: frozenset | None) -> dict | None:
    rule = _RULES.get(node.func)
    if rule is None:
        return None
    try:
        return rule(node, needed)
    except Exception:  # a rule that cannot decide means "all columns"
        return None


def optimize(graph: Any, keys: list) -> dict:
    if not _READERS:
        return graph
    readers = [k for k, v in graph.items() if type(v) is Task and v.func in _READERS]
    if not readers:
        return graph
    # the needed sub-graph and its dependents
    needed_nodes: dict = {}
    stack = list(keys)
    seen = set(stack)
    while stack:
        k = stack.pop()
        node = graph[k]
        needed_nodes[k] = node
        for d in deps_of(node):
            if d not in seen and d in graph:
                seen.add(d)
                stack.append(d)
    ndeps = {k: 0 for k in needed_nodes}
    for k, node in needed_nodes.items():
        for d in deps_of(node):
            if d in ndeps:
                ndeps[d] += 1
    cols: dict = {}
    for k in keys:
        cols[k] = None
    ready = [k for k, n in ndeps.items() if n == 0]
    outputs = set(keys)
    while ready:
        k = ready.pop()
        node = needed_nodes[k]
        need = cols.get(k, frozenset()) if k not in outputs else None
        deps = deps_of(node)
        if deps:
            if type(node) is Ref:
                contrib = {node.key: need}
            elif type(node) is Task:
                contrib = _rule_for(node, need) or {}
            else:
                contrib = {}
            for d in deps:
                c = contrib.get(d, None) if d in contrib else None
                cols[d] = _union(cols[d], c) if d in cols else c
                ndeps[d] -= 1
                if ndeps[d] == 0:
                    ready.append(d)
    out = None
    for k in readers:
        if k not in needed_nodes:
            continue
        need = cols.get(k, None) if k not in outputs else None
        if need is None:
            continue
        node = graph[k]
        pos = _READERS[node.func]
        current = node.args[pos]
        new = sorted(need) if current is None else [c for c in current if c in need]
        if current is not None and len(new) == len(current):
            continue
        if out is None:
            out = dict(graph)
        args = list(node.args)
        args[pos] = new
        out[k] = Task(node.func, *args, **node.kwargs)
    return graph if out is None else out


def labels(key: Any) -> frozenset | None:
    """Column labels named by ``key`` (a label or a list of labels); None if unsure."""
    if isinstance(key, list):
        return frozenset(key)
    if isinstance(key, (str, int, float, tuple)):
        return frozenset([key])
    return None
