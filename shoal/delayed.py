"""``delayed``: wrap functions and values so calls build a task graph.

A ``Delayed`` is one key of a graph.  Calling a delayed function creates a
new ``Delayed`` whose node is a ``Task`` with ``Ref`` s to its arguments'
keys; attribute access, indexing, method calls and Python operators do the
same.  Each ``Delayed`` keeps only its own node and references to the
objects it depends on, so building n tasks costs O(n) and ``compute`` of
thousands of them merges their graphs in one pass.

Large concrete arguments (arrays, frames, buffers of ``LIFT_BYTES`` or
more) are *lifted* into a graph node of their own the first time they are
seen, keyed by identity: every task that receives the same object refers to
that one node, so it is never hashed per task and the process and
distributed schedulers ship it once per worker (the tutorial's section 6.4).
A one-time warning suggests writing ``x = delayed(x)`` to say so explicitly.
"""
from __future__ import annotations

import functools
import operator
import types
import uuid
import warnings
import weakref
from typing import Any, Callable, Hashable

from shoal import config
from shoal.base import Collection, is_lazy
from shoal.core.graph import LayeredGraph, flatten_keys
from shoal.core.task import Ref, Task
from shoal.core.tokenize import tokenize
from shoal.utils import funcname

__all__ = ["delayed", "Delayed", "LIFT_BYTES"]

#: Concrete arguments at least this large are put in the graph once and
#: shared by reference; smaller ones are cheaper to embed in each task.
LIFT_BYTES = 1 << 20

_lifted: dict[int, tuple] = {}  # id -> (weakref, key, Delayed leaf)
_warned_lift = False




def _nbytes(x: Any) -> int:
    n = getattr(x, "nbytes", None)
    if isinstance(n, int):
        return n
    if isinstance(x, (bytes, bytearray)):
        return len(x)
    usage = getattr(x, "memory_usage", None)  # pandas frames and series have no .nbytes
    if usage is not None and type(x).__module__.startswith("pandas"):
        try:
            n = usage(index=True)
            return int(n.sum()) if hasattr(n, "sum") else int(n)
        except Exception:
            return 0
    return 0


class _Deps:
    """Collects the keys and parent collections while unpacking arguments."""

    __slots__ = ("parents",)

    def __init__(self) -> None:
        self.parents: list = []


def _forget_lifted(ident: int, _ref: Any) -> None:
    if _lifted is not None:  # None only while the interpreter shuts down
        _lifted.pop(ident, None)


def _lift(obj: Any, deps: _Deps) -> Ref:
    """Put a large concrete object in the graph once; return a Ref to it."""
    global _warned_lift
    entry = _lifted.get(id(obj))
    if entry is not None and entry[0]() is obj:
        leaf = entry[2]
    else:
        key = f"{type(obj).__name__}-{uuid.uuid4().hex}"
        leaf = Delayed(key, {key: obj})
        try:
            ref = weakref.ref(obj, functools.partial(_forget_lifted, id(obj)))
        except TypeError:  # not weak-referenceable: keep no cache entry
            ref = None
        if ref is not None:
            _lifted[id(obj)] = (ref, key, leaf)
        if not _warned_lift:
            _warned_lift = True
            warnings.warn(
                f"a large {type(obj).__name__} ({_nbytes(obj) / 1e6:.0f} MB) was passed straight "
                "into a delayed call. shoal puts it in the graph once and shares it, but say so "
                "explicitly to make it one node everywhere: `x = delayed(x)` and then "
                "`delayed(f)(x, i)`.",
                UserWarning,
                stacklevel=4,
            )
    deps.parents.append(leaf)
    return Ref(leaf.key)


_ITERATORS = (type(iter([])), type(iter(())), type(iter(set())))


def _unpack(obj: Any, deps: _Deps) -> Any:
    """Replace lazy objects inside ``obj`` by Refs, noting them in ``deps``.

    Lists, tuples, sets and dict values keep Refs in place (``Task``
    resolves them).  Containers ``Task`` cannot rebuild (dicts with lazy
    keys, slices, namedtuples, dataclasses) become a node of their own
    that rebuilds them, and an iterator over a list, tuple or set is read
    into that container first.
    """
    if isinstance(obj, Delayed):
        deps.parents.append(obj)
        return Ref(obj._key)
    if is_lazy(obj):
        d = _finalize(obj)
        deps.parents.append(d)
        return Ref(d._key)
    t = type(obj)
    if t in _ITERATORS:
        obj = (list, tuple, set)[_ITERATORS.index(t)](obj)
        t = type(obj)
    if t is list or t is tuple or t is set or t is frozenset:
        if not obj:
            return obj
        items = [_unpack(o, deps) for o in obj]
        if all(a is b for a, b in zip(items, obj)):
            return obj
        if t is list:
            return items
        if t is tuple:
            return tuple(items)
        return _rebuild_node(t, [items], deps)  # set elements: hashed after they are known
    if t is dict:
        if not obj:
            return obj
        n = len(deps.parents)
        keys = [_unpack(k, deps) for k in obj]
        if len(deps.parents) > n:  # a lazy key: build the dict from pairs once known
            pairs = [[k, _unpack(v, deps)] for k, v in zip(keys, obj.values())]
            return _rebuild_node(dict, [pairs], deps)
        vals = {k: _unpack(v, deps) for k, v in obj.items()}
        if all(vals[k] is obj[k] for k in obj):
            return obj
        return vals
    if t is slice:
        parts = [_unpack(x, deps) for x in (obj.start, obj.stop, obj.step)]
        if all(a is b for a, b in zip(parts, (obj.start, obj.stop, obj.step))):
            return obj
        return _rebuild_node(slice, parts, deps)
    if isinstance(obj, tuple) and hasattr(t, "_fields"):  # a namedtuple
        items = [_unpack(o, deps) for o in obj]
        if all(a is b for a, b in zip(items, obj)):
            return obj
        return _rebuild_node(t, items, deps)
    if hasattr(t, "__dataclass_fields__") and not isinstance(obj, type):
        return _unpack_dataclass(obj, deps)
    if _nbytes(obj) >= LIFT_BYTES:
        return _lift(obj, deps)
    return obj


def _unpack_dataclass(obj: Any, deps: _Deps) -> Any:
    import dataclasses

    values = {f.name: getattr(obj, f.name) for f in dataclasses.fields(obj) if hasattr(obj, f.name)}
    unpacked = {k: _unpack(v, deps) for k, v in values.items()}
    if all(unpacked[k] is values[k] for k in values):
        return obj
    try:
        dataclasses.replace(obj, **values)  # can the class be rebuilt from its fields?
    except (TypeError, ValueError) as e:
        name = type(obj).__name__
        if isinstance(e, ValueError) or "init=False" in str(e):
            raise ValueError(
                f"cannot rebuild the {name} instance holding lazy values: fields declared with "
                "`init=False` are not supported when set; compute the value first or pass the "
                "lazy values to a delayed function that builds the dataclass"
            ) from e
        raise TypeError(
            f"cannot rebuild the {name} instance holding lazy values: a custom __init__ is not "
            "supported; pass the lazy values to a delayed function that builds it instead"
        ) from e
    return _rebuild_node(_build_dataclass, [type(obj), unpacked], deps)


def _build_dataclass(cls: type, fields: dict) -> Any:
    return cls(**fields)


def _rebuild_node(func: Callable, args: list, deps: _Deps) -> Ref:
    """A node of its own computing ``func(*args)`` (args holding Refs); its Ref."""
    key = f"{funcname(func)}-{uuid.uuid4().hex}"
    node = Delayed(key, {key: Task(func, *args)})
    deps.parents.append(node)
    return Ref(key)


def _finalize(coll: Any) -> "Delayed":
    """A Delayed holding a collection's computed result (e.g. an array in a call)."""
    func, extra = coll.__shoal_postcompute__()
    keys = coll.__shoal_keys__()
    key = f"finalize-{tokenize(_graph_id(coll), keys)}"

    def refs(k: Any) -> Any:
        return [refs(i) for i in k] if type(k) is list else Ref(k)

    node = Task(func, refs(keys), *extra)
    return Delayed(key, {key: node}, (coll,))


def _graph_id(coll: Any) -> Any:
    return tuple(map(str, flatten_keys(coll.__shoal_keys__())))


_impure_count = [0, 0]  # [seed epoch, calls made under it]


def _make_key(name: str, func: Any, args: tuple, kwargs: dict, pure: bool | None) -> str:
    if pure is None:
        pure = config.get("delayed_pure", False)
    if pure:
        return f"{name}-{tokenize(func, args, kwargs)}"
    seed = config.get("random_seed", None)
    if seed is not None:
        # numbered, so a seeded script gets the same keys (and streams) every run
        epoch = config.seed_epoch()
        if _impure_count[0] != epoch:
            _impure_count[:] = [epoch, 0]
        _impure_count[1] += 1
        return f"{name}-{tokenize(seed, _impure_count[1], func, args, kwargs)}"
    return f"{name}-{uuid.uuid4().hex}"


def _call(func: Any, args: tuple, kwargs: dict, *, name: str | None, pure: bool | None,
          nout: int | None, key: Hashable | None, parents: tuple = ()) -> "Delayed":
    deps = _Deps()
    deps.parents.extend(parents)
    fn = _unpack(func, deps) if parents or isinstance(func, Delayed) else func
    a = tuple(_unpack(x, deps) for x in args) if args else ()
    kw = _unpack(kwargs, deps) if kwargs else {}
    if key is None:
        key = _make_key(name or funcname(func), func, args, kwargs, pure)
    if type(fn) is Ref:
        node = Task(_apply, fn, list(a), kw) if kw else Task(_apply, fn, list(a))
    else:
        node = Task(fn, *a, **kw)
    return Delayed(key, {key: node}, tuple(deps.parents), length=nout)


def _apply(func: Callable, args: list, kwargs: dict | None = None) -> Any:
    return func(*args, **(kwargs or {}))


class Delayed(Collection):
    """A lazy value: one key of a task graph.

    Build with ``delayed(f)(x)`` or ``@delayed``; run with ``.compute()`` or
    ``shoal.compute(a, b, ...)``.
    """

    __slots__ = ("_key", "_layer", "_parents", "_length", "__weakref__")
    __shoal_scheduler__ = "threads"

    def __init__(self, key: Hashable, layer: dict, parents: tuple = (), length: int | None = None):
        object.__setattr__(self, "_key", key)
        object.__setattr__(self, "_layer", layer)
        object.__setattr__(self, "_parents", parents)
        object.__setattr__(self, "_length", length)

    # -- collection protocol ------------------------------------------------
    def __shoal_graph__(self) -> LayeredGraph:
        layers: dict = {}
        stack: list = [self]
        seen: set = set()
        while stack:
            d = stack.pop()
            if id(d) in seen:
                continue
            seen.add(id(d))
            if isinstance(d, Delayed):
                layers[d._key] = d._layer
                stack.extend(d._parents)
            else:
                g = d.__shoal_graph__()
                if isinstance(g, LayeredGraph):
                    layers.update(g.layers)
                else:
                    layers[f"_coll-{id(g)}"] = g
        return LayeredGraph(layers)

    def __shoal_keys__(self) -> Hashable:
        return self._key

    def __shoal_postcompute__(self):
        return _identity, ()

    def __shoal_postpersist__(self):
        return _rebuild_delayed, (self._key,)

    def __shoal_tokenize__(self) -> Hashable:
        return self._key

    def __reduce__(self):
        return (Delayed, (self._key, self._layer, self._parents, self._length))

    # -- public API ---------------------------------------------------------
    @property
    def key(self) -> Hashable:
        """The graph key of this value."""
        return self._key

    # compute, persist, visualize, dask and graph come from Collection

    def __repr__(self) -> str:
        return f"Delayed({self._key!r})"

    def __hash__(self) -> int:
        return hash(self._key)

    def __dir__(self):
        return list(super().__dir__()) + ["key", "dask", "compute", "persist", "visualize"]

    # -- misuse that deserves a teaching error ------------------------------
    def __bool__(self) -> bool:
        raise TypeError(
            f"the truth value of a Delayed ({self._key!r}) is not known until it is computed. "
            "Compute it first (`if x.compute(): ...`), or keep the branch lazy inside a "
            "delayed function."
        )

    def __iter__(self):
        if self._length is None:
            raise TypeError(
                f"Delayed {self._key!r} has no known length, so it cannot be unpacked or iterated. "
                "Pass nout= when wrapping the function, e.g. `a, b = delayed(f, nout=2)(x)`."
            )
        for i in range(self._length):
            yield self[i]

    def __len__(self) -> int:
        if self._length is None:
            raise TypeError(
                f"Delayed {self._key!r} has no known length; pass nout= to delayed(), "
                "e.g. delayed(f, nout=3)."
            )
        return self._length

    def __setattr__(self, name: str, value: Any) -> None:
        raise TypeError("Delayed objects are immutable; build a new value with a delayed function")

    def __setitem__(self, index: Any, value: Any) -> None:
        raise TypeError("Delayed objects do not support item assignment; use a delayed function")

    # -- building new tasks ---------------------------------------------------
    def __getattr__(self, attr: str) -> Any:
        if attr.startswith("__") and attr.endswith("__"):
            raise AttributeError(attr)
        if attr.startswith("_"):  # private names are never built lazily (pickle, IPython, ...)
            raise AttributeError(attr)
        if attr == "visualise":
            warnings.warn("Delayed objects have no `visualise` method; `visualize` draws the graph. "
                          "This builds a lazy attribute access instead.", UserWarning, stacklevel=2)
        return DelayedAttr(self, attr)

    def __call__(self, *args: Any, **kwargs: Any) -> "Delayed":
        node = self._layer.get(self._key)
        if not isinstance(node, Task) and self._key in self._layer and not callable(node):
            raise TypeError(
                f"this Delayed wraps a {type(node).__name__}, not a function, so it cannot be "
                "called. You probably wrote delayed(f(x)), which runs f now; write "
                "delayed(f)(x) to make the call lazy."
            )
        pure = kwargs.pop("pure", None)
        key = kwargs.pop("dask_key_name", None)
        key = kwargs.pop("shoal_key", key)
        return _call(self, args, kwargs, name="call", pure=pure, nout=None, key=key, parents=())

    def __getitem__(self, index: Any) -> "Delayed":
        return _call(operator.getitem, (self, index), {}, name="getitem", pure=True, nout=None, key=None)


class DelayedFunction(Delayed):
    """A function wrapped by ``delayed``: calling it builds a task.

    It is also a ``Delayed`` whose value is the function itself
    (``delayed(f).compute() is f``; ``delayed(obj).attr`` for a callable
    object), and a descriptor, so ``@delayed`` works on methods.  Its key is
    made on first use: wrapping a function in a loop costs no hashing.
    """

    __slots__ = ("_func", "_name", "_pure", "_nout", "_leaf_key")

    def __init__(self, func: Callable, name: str | None, pure: bool | None, nout: int | None):
        object.__setattr__(self, "_func", func)
        object.__setattr__(self, "_name", name)
        object.__setattr__(self, "_pure", pure)
        object.__setattr__(self, "_nout", nout)
        object.__setattr__(self, "_leaf_key", None)
        object.__setattr__(self, "_parents", ())
        object.__setattr__(self, "_length", None)

    @property
    def _key(self) -> Hashable:  # type: ignore[override]
        k = self._leaf_key
        if k is None:
            try:
                k = f"{funcname(self._func)}-{tokenize(self._func, self._pure)}"
            except Exception:  # an object tokenize cannot read: a unique key instead
                k = f"{funcname(self._func)}-{uuid.uuid4().hex}"
            object.__setattr__(self, "_leaf_key", k)
        return k

    @property
    def _layer(self) -> dict:  # type: ignore[override]
        return {self._key: self._func}

    @property
    def __wrapped__(self) -> Callable:
        return self._func

    @property
    def __name__(self) -> str:  # type: ignore[override]
        return funcname(self._func)

    @property
    def __doc__(self) -> str | None:  # type: ignore[override]
        return getattr(self._func, "__doc__", None)

    def __get__(self, instance: Any, owner: Any = None) -> Any:
        if instance is None:
            return self
        return types.MethodType(self, instance)

    def __call__(self, *args: Any, **kwargs: Any) -> "Delayed":
        pure = kwargs.pop("pure", self._pure)
        key = kwargs.pop("dask_key_name", None)
        key = kwargs.pop("shoal_key", key)
        # like dask, ``nout`` is fixed by delayed(f, nout=...): a ``nout=`` here is f's argument
        return _call(self._func, args, kwargs, name=self._name, pure=pure, nout=self._nout, key=key)

    def __repr__(self) -> str:
        return f"delayed({funcname(self._func)})"

    def __reduce__(self):
        return (DelayedFunction, (self._func, self._name, self._pure, self._nout))


def _identity(x: Any) -> Any:
    return x


def _rebuild_delayed(graph: dict, key: Hashable) -> Delayed:
    return Delayed(key, {key: graph[key]})


class DelayedAttr(Delayed):
    """``d.attr``: a Delayed attribute that can also be called as a method."""

    __slots__ = ("_obj", "_attr")

    def __init__(self, obj: Delayed, attr: str):
        key = f"getattr-{tokenize(obj._key, attr)}"
        Delayed.__init__(self, key, {key: Task(getattr, Ref(obj._key), attr)}, (obj,))
        object.__setattr__(self, "_obj", obj)
        object.__setattr__(self, "_attr", attr)

    def __reduce__(self):
        return (DelayedAttr, (self._obj, self._attr))

    def __call__(self, *args: Any, **kwargs: Any) -> Delayed:
        pure = kwargs.pop("pure", None)
        key = kwargs.pop("dask_key_name", None)
        return _call(_MethodCaller(self._attr), (self._obj,) + args, kwargs,
                     name=self._attr, pure=pure, nout=None, key=key)


class _MethodCaller:
    __slots__ = ("name",)

    def __init__(self, name: str):
        self.name = name

    def __call__(self, obj: Any, *args: Any, **kwargs: Any) -> Any:
        return getattr(obj, self.name)(*args, **kwargs)

    def __reduce__(self):
        return (_MethodCaller, (self.name,))

    def __shoal_tokenize__(self) -> str:
        return self.name

    __name__ = property(lambda self: self.name)  # type: ignore[assignment]


def _bind_operator(op: Callable, name: str, reflected: bool = False) -> None:
    if reflected:
        def method(self: Delayed, other: Any) -> Delayed:
            return _call(op, (other, self), {}, name=name, pure=True, nout=None, key=None)
    else:
        def method(self: Delayed, *others: Any) -> Delayed:
            return _call(op, (self,) + others, {}, name=name, pure=True, nout=None, key=None)
    setattr(Delayed, f"__{'r' + name if reflected else name}__", method)


for _name in ("add", "sub", "mul", "truediv", "floordiv", "mod", "pow", "matmul",
              "and", "or", "xor", "lshift", "rshift"):
    _op = getattr(operator, _name if _name not in ("and", "or") else _name + "_")
    _bind_operator(_op, _name)
    _bind_operator(_op, _name, reflected=True)
for _name in ("lt", "le", "gt", "ge", "eq", "ne", "neg", "pos", "invert", "abs"):
    _bind_operator(getattr(operator, _name), _name)
Delayed.__hash__ = lambda self: hash(self._key)  # __eq__ builds tasks, keep hashable


def delayed(obj: Any = None, name: str | None = None, pure: bool | None = None,
            nout: int | None = None, traverse: bool = True) -> Any:
    """Make a function call, or a value, lazy.

    ``delayed(f)(x, y)`` and ``@delayed def f(...)`` build tasks;
    ``delayed(data)`` makes one graph node of a value (do this for large data
    used by many tasks).  ``pure=True`` gives deterministic keys (same call,
    same key, computed once); ``nout=`` lets the result be unpacked;
    ``name=`` sets the key's prefix (``dask_key_name=`` on a call sets the
    whole key).
    """
    if nout is not None and (type(nout) is not int or nout < 0):
        raise ValueError(f"nout must be None or a non-negative integer, got {nout!r}")
    if obj is None:
        return lambda f: delayed(f, name=name, pure=pure, nout=nout, traverse=traverse)
    if type(obj) is Delayed or isinstance(obj, Delayed):
        return obj
    if isinstance(obj, DelayedFunction):
        return obj
    if is_lazy(obj):
        return _finalize(obj)
    if callable(obj):
        return DelayedFunction(obj, name, pure, nout)
    deps = _Deps()
    if traverse:
        t = type(obj)
        traversable = (t in (list, tuple, dict, set, frozenset, slice) or t in _ITERATORS
                       or isinstance(obj, tuple) or hasattr(t, "__dataclass_fields__"))
        value = _unpack(obj, deps) if traversable else obj
    else:
        value = obj
    if name:
        key = name
    else:
        # like a call: a unique key unless pure (or config delayed_pure), which hashes the value
        key = _make_key(type(obj).__name__, obj, (), {}, pure)
    if deps.parents:
        node: Any = Task(_identity, value)
    else:
        node = value
    return Delayed(key, {key: node}, tuple(deps.parents), length=nout)
