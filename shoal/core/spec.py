"""Graphs written by hand: the classic task spec, validation, and result packing.

Collections build graphs of ``Task``/``Ref`` nodes (``shoal.core.task``).
Users may also write graphs by hand in the classic encoding that Dask
documents::

    {"a": 1,
     "b": (operator.add, "a", 10),      # a tuple whose first item is callable is a task
     "c": (sum, ["a", "b"]),            # lists are walked, keys inside are replaced
     "d": (max, (len, "c"), 3),         # tasks nest
     "e": "b"}                          # a key alone is an alias

Inside a task an argument is a reference when it *is a key of the graph*
(a string, a tuple such as ``("x", 0)``, ...); any other value, including a
string that is not a key, is passed as it is.  Tuples that are neither a
task nor a key, dicts and sets are passed unchanged, as in Dask.

``prepare_get(graph, keys)`` is the one entry every scheduler's ``get``
calls for a graph it did not build itself (``shoal.get``,
``shoal.threaded.get``, ``shoal.multiprocessing.get``,
``shoal.local.get_sync`` and the distributed ``Client.get``).  It converts
classic nodes, checks keys, culls to what ``keys`` need and rejects
cycles, all before anything runs, so every scheduler fails the same way
with the same message:

* a requested key or a dependency missing from the graph -> ``MissingKeyError``
  (a ``KeyError`` and a ``ValueError``);
* a key that is not a str, bytes, int, float or tuple of those -> ``BadKeyError``
  (a ``TypeError``);
* a dependency cycle -> ``CycleError`` (a ``RuntimeError`` and a ``ValueError``).

``pack_results(keys, values)`` gives back the caller's key structure: one
key gives one value, a list of keys a tuple (nested lists nested tuples).

Cost: one pass over the needed nodes, each node's arguments walked once.
"""
from __future__ import annotations

from typing import Any, Callable, Hashable, Mapping

from shoal.core.graph import cull, flatten_keys
from shoal.core.task import Ref, Task

__all__ = [
    "GraphError",
    "MissingKeyError",
    "BadKeyError",
    "CycleError",
    "convert_graph",
    "convert_node",
    "check_key",
    "check_acyclic",
    "prepare_get",
    "pack_results",
]


class GraphError(Exception):
    """Base of the errors a malformed graph raises before anything runs."""


class MissingKeyError(GraphError, KeyError, ValueError):
    """A requested key, or a key a task depends on, is not in the graph."""

    def __str__(self) -> str:  # KeyError would quote the whole message
        return str(self.args[0]) if self.args else ""


class BadKeyError(GraphError, TypeError):
    """A key of a type no scheduler can use as a key."""


class CycleError(GraphError, RuntimeError, ValueError):
    """Tasks depend, directly or through others, on their own result."""


_KEY_ATOMS = (str, bytes, int, float)


def check_key(key: Any) -> None:
    """Raise ``BadKeyError`` unless ``key`` is a str/bytes/int/float or a tuple of keys."""
    if type(key) is str:
        return
    if isinstance(key, _KEY_ATOMS) and not isinstance(key, bool):
        return
    if isinstance(key, tuple) and _tuple_ok(key):
        return
    raise BadKeyError(
        f"{key!r} ({type(key).__name__}) cannot be a graph key: keys are strings, bytes, "
        "numbers or tuples of those, e.g. 'total' or ('chunk', 0)"
    )


def _tuple_ok(key: tuple) -> bool:
    for part in key:
        if type(part) is tuple:
            if not _tuple_ok(part):
                return False
        elif not isinstance(part, _KEY_ATOMS):
            return False
    return True


# --------------------------------------------------------------------------
# classic nodes -> Task / Ref


class _Call:
    """A nested task inside an argument: ``func(*args)`` evaluated in place."""

    __slots__ = ("func", "args")

    def __init__(self, func: Callable, args: list):
        self.func = func
        self.args = args

    def __reduce__(self):
        return (_Call, (self.func, self.args))


def _evaluate(expr: Any, values: dict) -> Any:
    t = type(expr)
    if t is Ref:
        return values[expr.key]
    if t is _Call:
        return expr.func(*[_evaluate(a, values) for a in expr.args])
    if t is list:
        return [_evaluate(a, values) for a in expr]
    return expr


def _run_expression(expr: "_Call", values: dict) -> Any:
    """Task body of a classic node holding nested calls; ``values`` maps key -> value.

    ``expr`` is always a ``_Call``, which ``Task`` does not look into, so the
    references inside it are resolved here, from ``values``, and nowhere else.
    """
    return _evaluate(expr, values)


def _identity(x: Any) -> Any:
    return x


def _is_key_in(a: Any, graph: Mapping) -> bool:
    t = type(a)
    if t is str or t is tuple or t is int or t is bytes or t is float:
        try:
            return a in graph
        except TypeError:  # a tuple holding something unhashable
            return False
    return False


def _convert(a: Any, graph: Mapping, deps: set) -> tuple[Any, int]:
    """``(value, kind)``: kind 0 literal as given, 1 ``Ref`` s inside lists, 2 nested calls."""
    t = type(a)
    if t is tuple and a and callable(a[0]):
        return _Call(a[0], [_convert(x, graph, deps)[0] for x in a[1:]]), 2
    if t is list:
        out = []
        kind = 0
        for x in a:
            v, k = _convert(x, graph, deps)
            out.append(v)
            if k > kind:
                kind = k
        return (out, kind) if kind else (a, 0)
    if _is_key_in(a, graph):
        deps.add(a)
        return Ref(a), 1
    return a, 0


def convert_node(key: Hashable, node: Any, graph: Mapping) -> Any:
    """The ``Task``/``Ref``/literal form of one classic node of ``graph``."""
    t = type(node)
    if t is Task or t is Ref:
        return node
    if t is tuple and node and callable(node[0]) or t is list:
        deps: set = set()
        expr, kind = _convert(node, graph, deps)
        if kind == 0:
            return node
        if t is list:
            if kind == 1:
                return Task(list, expr)  # Task resolves the Refs in the list
            expr = _Call(_identity, [expr])
        elif all(type(a) is not _Call and not (type(a) is list and _has_call(a)) for a in expr.args):
            return Task(expr.func, *expr.args)  # references only: a plain Task
        return Task(_run_expression, expr, {d: Ref(d) for d in deps})
    if node != key and _is_key_in(node, graph):
        return Ref(node)
    return node


def _has_call(x: list) -> bool:
    for a in x:
        if type(a) is _Call or type(a) is list and _has_call(a):
            return True
    return False


def convert_graph(graph: Mapping) -> dict:
    """A new dict with every classic node of ``graph`` converted (see module doc)."""
    if type(graph) is not dict:
        graph = dict(graph.to_dict() if hasattr(graph, "to_dict") else graph)
    out = {}
    for k, node in graph.items():
        t = type(node)
        if t is Task or t is Ref or (t is not tuple and t is not list and t is not str and t is not int):
            out[k] = node  # nothing to convert: the common case costs one type check
        else:
            out[k] = convert_node(k, node, graph)
    return out


# --------------------------------------------------------------------------
# keys and validation


def _similar(key: Any, graph: Mapping, n: int = 3) -> str:
    import difflib

    names = [k for k in graph if isinstance(k, str)][:5000]
    close = difflib.get_close_matches(str(key), names, n=n) if isinstance(key, str) else []
    return f"; did you mean {', '.join(map(repr, close))}?" if close else ""


def _cull(graph: Mapping, keys: list) -> tuple[dict, dict]:
    for k in keys:
        check_key(k)
        if k not in graph:
            raise MissingKeyError(
                f"key {k!r} was requested but is not in the graph{_similar(k, graph)} "
                f"(the graph has {len(graph)} keys)"
            )
    try:
        out, deps = cull(graph, keys)
    except KeyError as e:  # a dangling reference, named by ``cull``
        raise MissingKeyError(e.args[0]) from None
    for k in out:
        check_key(k)
    return out, deps


def check_acyclic(deps: Mapping, keys: list) -> None:
    """Raise ``CycleError`` naming the loop if the graph below ``keys`` has a cycle."""
    state: dict = {}  # 1 on the current path, 2 done
    for root in keys:
        if root in state:
            continue
        path = [root]
        iters = [iter(deps[root])]
        state[root] = 1
        while iters:
            for d in iters[-1]:
                s = state.get(d)
                if s is None:
                    state[d] = 1
                    path.append(d)
                    iters.append(iter(deps[d]))
                    break
                if s == 1:
                    loop = path[path.index(d):] + [d]
                    shown = " -> ".join(map(repr, loop[:12])) + (" -> ..." if len(loop) > 12 else "")
                    raise CycleError(
                        f"the graph has a cycle: {shown}; a task cannot depend, directly or "
                        "through other tasks, on its own result"
                    )
            else:
                state[path.pop()] = 2
                iters.pop()


def prepare_get(graph: Mapping, keys: Any, cache: Mapping | None = None) -> tuple[dict, dict, list]:
    """Convert, check and cull a hand-written graph for ``keys``.

    Returns ``(graph, dependencies, flat_keys)``: only the nodes the keys
    need, each a ``Task``/``Ref``/literal, their dependency sets, and the
    requested keys flattened in order.  ``cache`` holds values already known
    (they replace the nodes of those keys).  Raises ``MissingKeyError``,
    ``BadKeyError`` or ``CycleError`` before anything runs.
    """
    flat = flatten_keys(keys)
    if cache:
        graph = dict(graph.to_dict() if hasattr(graph, "to_dict") else graph)
        for k in cache:
            graph[k] = None  # a key like any other while references are found
    converted = convert_graph(graph)
    if cache:
        converted.update(cache)  # known values, taken as they are
    culled, deps = _cull(converted, flat)
    check_acyclic(deps, flat)
    return culled, deps, flat


def pack_results(keys: Any, values: Any) -> Any:
    """Values in the structure of ``keys``: a key -> its value, a list -> a tuple.

    ``values`` is a dict ``{key: value}`` or the list of values of
    ``flatten_keys(keys)`` in order.
    """
    if type(values) is not dict:
        values = dict(zip(flatten_keys(keys), values))
    return _pack(keys, values)


def _pack(keys: Any, values: dict) -> Any:
    if type(keys) is list:
        return tuple([_pack(k, values) for k in keys])
    return values[keys]
