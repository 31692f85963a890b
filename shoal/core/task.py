"""The one task-graph representation shared by every collection and scheduler.

A *graph* is a plain ``dict`` mapping keys to nodes.  A key is a ``str`` or a
tuple whose first item is a ``str`` (``("array-ab12", 0, 3)``).  A node is one
of three things:

* ``Task(func, *args, **kwargs)`` -- call ``func`` with its arguments, where
  any ``Ref(key)`` found in ``args``/``kwargs`` (also inside lists, tuples,
  dicts and sets, at any depth) is replaced by the result of that key;
* ``Ref(key)`` -- an alias: the node's value is the value of ``key``;
* anything else -- a literal value, returned as it is.

Unlike the classic "tuple whose first element is callable" encoding, nothing
here is ambiguous: a string argument is never mistaken for a key, so building
and running a task never needs to look anything up in the graph.  A task's
dependencies are found once, when the task is built, and a compact plan of
where the references sit is kept so that running it is a handful of
attribute reads: a small, constant cost per task.
"""
from __future__ import annotations

from typing import Any, Callable, Hashable, Iterable, Mapping

Key = Hashable

__all__ = ["Key", "Ref", "Task", "deps_of", "run_node", "is_task", "resolve"]


class Ref:
    """A reference to the result of another key of the graph."""

    __slots__ = ("key",)

    def __init__(self, key: Key):
        self.key = key

    def __repr__(self) -> str:
        return f"Ref({self.key!r})"

    def __eq__(self, other: object) -> bool:
        return type(other) is Ref and other.key == self.key  # type: ignore[attr-defined]

    def __hash__(self) -> int:
        return hash((Ref, self.key))

    def __reduce__(self):
        return (Ref, (self.key,))


_CONTAINERS = (list, tuple, dict, set, frozenset)


def _scan(obj: Any, out: set) -> bool:
    """Add every referenced key inside ``obj`` to ``out``; True if any found."""
    t = type(obj)
    if t is Ref:
        out.add(obj.key)
        return True
    if t is list or t is tuple or t is set or t is frozenset:
        found = False
        for o in obj:
            if _scan(o, out):
                found = True
        return found
    if t is dict:
        found = False
        for v in obj.values():
            if _scan(v, out):
                found = True
        return found
    return False


def resolve(obj: Any, results: Mapping) -> Any:
    """Return ``obj`` with every ``Ref`` replaced by its value in ``results``."""
    t = type(obj)
    if t is Ref:
        return results[obj.key]
    if t is list:
        return [resolve(o, results) for o in obj]
    if t is tuple:
        return tuple([resolve(o, results) for o in obj])
    if t is dict:
        return {k: resolve(v, results) for k, v in obj.items()}
    if t is set:
        return {resolve(o, results) for o in obj}
    if t is frozenset:
        return frozenset(resolve(o, results) for o in obj)
    return obj


class Task:
    """A function call whose arguments may reference other keys.

    ``deps`` is the frozenset of keys this task reads.  ``_plan`` describes
    how to build the arguments: ``None`` when no argument holds a reference
    (call as is), otherwise a tuple of positions of ``args`` that need
    resolving, plus a flag for ``kwargs``.
    """

    __slots__ = ("func", "args", "kwargs", "deps", "_argpos", "_kwresolve")

    def __init__(self, func: Callable, *args: Any, **kwargs: Any):
        if not callable(func):
            raise TypeError(
                f"Task expects a callable first, got {type(func).__name__}: {func!r}. "
                "Write Task(func, arg1, arg2), not Task((func, arg1))."
            )
        self.func = func
        self.args = args
        self.kwargs = kwargs
        deps: set = set()
        pos = []
        for i, a in enumerate(args):
            if _scan(a, deps):
                pos.append(i)
        self._argpos = tuple(pos)
        self._kwresolve = bool(kwargs) and _scan(kwargs, deps)
        self.deps = frozenset(deps)

    @classmethod
    def from_parts(cls, func: Callable, args: tuple, kwargs: dict | None = None) -> "Task":
        """Build from an args tuple and kwargs dict (no star-unpacking cost)."""
        return cls(func, *args, **(kwargs or {}))

    def __call__(self, results: Mapping) -> Any:
        """Run the task, reading dependency values from ``results``."""
        args = self.args
        if self._argpos:
            args = list(args)
            for i in self._argpos:
                args[i] = resolve(args[i], results)
        if self.kwargs:
            kw = resolve(self.kwargs, results) if self._kwresolve else self.kwargs
            return self.func(*args, **kw)
        return self.func(*args)

    def __repr__(self) -> str:
        name = getattr(self.func, "__name__", type(self.func).__name__)
        return f"Task({name}, deps={sorted(map(str, self.deps))})"

    def __reduce__(self):
        return (_rebuild_task, (self.func, self.args, self.kwargs))

    def __eq__(self, other: object) -> bool:
        return (
            type(other) is Task
            and other.func == self.func  # type: ignore[attr-defined]
            and other.args == self.args  # type: ignore[attr-defined]
            and other.kwargs == self.kwargs  # type: ignore[attr-defined]
        )

    __hash__ = object.__hash__


def _rebuild_task(func, args, kwargs):
    return Task(func, *args, **kwargs)


def is_task(node: Any) -> bool:
    return type(node) is Task


def deps_of(node: Any) -> frozenset:
    """Keys a graph node depends on."""
    t = type(node)
    if t is Task:
        return node.deps
    if t is Ref:
        return frozenset((node.key,))
    return frozenset()


def run_node(node: Any, results: Mapping) -> Any:
    """Compute a graph node's value given its dependencies' values."""
    t = type(node)
    if t is Task:
        return node(results)
    if t is Ref:
        return results[node.key]
    return node


def all_deps(graph: Mapping) -> dict:
    """``{key: deps}`` restricted to keys present in ``graph``."""
    return {k: deps_of(v) for k, v in graph.items()}


def iter_keys(keys: Any) -> Iterable:
    """Flatten a nested list structure of keys (as collections return them)."""
    if type(keys) is list:
        for k in keys:
            yield from iter_keys(k)
    else:
        yield keys
