"""The collection protocol, and compute/persist/visualize over any collections.

A *collection* is any object whose type defines:

``__shoal_graph__(self) -> Mapping``
    its task graph (a dict, or a ``LayeredGraph`` sharing parents' layers);
``__shoal_keys__(self) -> list``
    the keys of its outputs, as a (possibly nested) list, or a single key;
``__shoal_postcompute__(self) -> (func, extra_args)``
    ``func(results, *extra_args)`` turns the values of its keys (same nesting
    as ``__shoal_keys__``) into the user-facing result;
``__shoal_postpersist__(self) -> (func, extra_args)``
    ``func(graph, *extra_args)`` rebuilds the collection from a graph whose
    keys already hold their values (or futures);
``__shoal_scheduler__``  (class attribute, optional)
    default scheduler name for this collection ("threads", "processes");
``__shoal_optimize__(graph, keys) -> graph``  (staticmethod, optional)
    collection-specific rewrite applied before scheduling.

``compute`` finds collections in arbitrarily nested lists/tuples/dicts/sets,
merges their graphs once (shared sub-graphs run once), culls once, fuses
linear chains, runs the result on one scheduler and rebuilds the caller's
structure.  Non-lazy arguments pass through unchanged.
"""
from __future__ import annotations

import threading
from typing import Any, Callable

from shoal import config
from shoal.core.graph import cull, flatten_keys, merge_graphs
from shoal.local.registry import get_function, validate_scheduler_name

__all__ = [
    "is_lazy",
    "is_shoal_collection",
    "is_dask_collection",
    "optimize",
    "annotate",
    "compute",
    "persist",
    "visualize",
    "get_scheduler",
    "get",
    "set_default_client",
    "get_default_client",
    "collections_to_graph",
    "Collection",
]

_client_lock = threading.Lock()
_default_client: Any = None


def set_default_client(client: Any) -> None:
    """Register (or, with None, clear) the Client that ``compute`` uses by default."""
    global _default_client
    with _client_lock:
        _default_client = client


def get_default_client() -> Any:
    """The Client that ``compute`` uses by default, or None."""
    return _default_client


def is_lazy(obj: Any) -> bool:
    """True for shoal collections (Delayed, Array, DataFrame, Bag, ...)."""
    return hasattr(type(obj), "__shoal_graph__") and not isinstance(obj, type)


#: The same test under the names users of other libraries look for.
is_shoal_collection = is_lazy
is_dask_collection = is_lazy


def optimize(*args: Any, traverse: bool = True, **kwargs: Any) -> tuple:
    """Collections ready to compute, in the structure they were given.

    shoal culls and fuses every graph when it is computed (and a graph
    shared by several collections is merged then), so there is nothing to
    gain by rewriting them ahead of time: the collections come back as they
    are, equivalent and still lazy.  Provided so that code calling
    ``dask.optimize(a, b)`` before computing runs unchanged.
    """
    return args


def _find(obj: Any, out: list) -> bool:
    """Append collections inside ``obj`` (any nesting) to ``out``."""
    if is_lazy(obj):
        out.append(obj)
        return True
    t = type(obj)
    if t in (list, tuple, set, frozenset):
        found = False
        for o in obj:
            found = _find(o, out) or found
        return found
    if t is dict:
        found = False
        for v in obj.values():
            found = _find(v, out) or found
        return found
    return False


def _rebuild(obj: Any, results: dict) -> Any:
    if is_lazy(obj):
        return results[id(obj)]
    t = type(obj)
    if t in (list, tuple, set, frozenset):
        return t(_rebuild(o, results) for o in obj)
    if t is dict:
        return {k: _rebuild(v, results) for k, v in obj.items()}
    return obj


def get_scheduler(scheduler: Any = None, collections: list | None = None) -> Callable:
    """The ``get`` function to run a graph with.

    Priority: the ``scheduler=`` argument, then ``config.set(scheduler=...)``,
    then an open distributed ``Client``, then the collections' own default
    (threads for delayed and arrays, processes for bags).
    """
    if scheduler is None:
        scheduler = config.get("scheduler", None)
    if scheduler is None and _default_client is not None:
        return _default_client.get
    if scheduler is None:
        names = {getattr(type(c), "__shoal_scheduler__", "threads") for c in collections or ()}
        if len(names) > 1:
            raise ValueError(
                "compute was called on collections whose default schedulers differ "
                f"({', '.join(sorted(names))}); choose one, e.g. "
                "shoal.compute(x, y, scheduler='threads') or config.set(scheduler='processes')"
            )
        scheduler = names.pop() if names else "threads"
    if callable(scheduler) and not hasattr(scheduler, "get"):
        return scheduler
    if isinstance(scheduler, str):
        canon = validate_scheduler_name(scheduler)
        if canon == "distributed":
            client = _default_client
            if client is None:  # an open Client made with set_as_default=False
                import sys

                mod = sys.modules.get("shoal.distributed.client")
                client = mod.current_client() if mod is not None else None
            if client is None:
                raise ValueError(
                    "scheduler='distributed' needs an open Client: start one with "
                    "`from shoal.distributed import Client; client = Client()`"
                )
            return client.get
        return get_function(canon)
    if hasattr(scheduler, "get") and hasattr(scheduler, "submit") and hasattr(scheduler, "gather"):
        return scheduler.get  # a Client
    if hasattr(scheduler, "submit"):
        from shoal.local.engine import executor_get

        return executor_get(scheduler)
    raise TypeError(
        f"scheduler={scheduler!r} is not understood; pass a name such as 'threads', "
        "'processes', 'sync' or 'distributed', a Client, or a concurrent.futures Executor"
    )


def annotate(**annotations: Any) -> Any:
    """Not supported: shoal's graphs carry no per-task annotations.

    Raises NotImplementedError naming what to use instead, so code written
    for ``dask.annotate`` stops at the call rather than silently losing its
    worker restrictions or retries.
    """
    names = ", ".join(f"{k}=" for k in annotations) or "priority=, retries=, workers=, resources="
    raise NotImplementedError(
        f"shoal.annotate({names}) is not supported: shoal's task graphs carry no annotations. "
        "On a cluster pass them per call instead: client.submit(f, x, priority=1, retries=2, "
        "workers=[...], resources={...}) or client.persist(collection, priority=1); the local "
        "schedulers (like Dask's) have no use for them."
    )


def get(graph: Any, keys: Any, scheduler: Any = None, **kwargs: Any) -> Any:
    """Run a hand-written graph and return the values of ``keys``.

    >>> from operator import add
    >>> shoal.get({"a": 1, "b": (add, "a", 10)}, "b")
    11

    ``graph`` may use the classic spec (tuples whose first item is callable
    are tasks, see ``shoal.core.spec``); ``keys`` is one key (its value comes
    back) or a list, possibly nested, of keys (a tuple of that shape comes
    back).  It runs on ``scheduler=``, else the configured scheduler, else
    the default Client, else synchronously in this thread (the default
    scheduler of a raw graph, as ``dask.get``).
    """
    if scheduler is None and config.get("scheduler", None) is None and _default_client is None:
        scheduler = "sync"
    return get_scheduler(scheduler)(graph, keys, **kwargs)


def collections_to_graph(collections: list, optimize_graph: bool = True) -> tuple[dict, dict, list]:
    """Merge, cull and optimise the graphs of ``collections``.

    Returns ``(graph, dependencies, keys)`` with ``keys`` the flat list of
    output keys of every collection, in order, each key once.
    """
    graph = merge_graphs([c.__shoal_graph__() for c in collections])
    keys: list = []
    seen: set = set()
    for c in collections:
        for k in flatten_keys(c.__shoal_keys__()):
            if k not in seen:
                seen.add(k)
                keys.append(k)
    if optimize_graph:
        done: set = set()
        for c in collections:
            opt = getattr(type(c), "__shoal_optimize__", None)
            if opt is not None and opt not in done:
                done.add(opt)
                graph = opt(graph, keys)
    graph, deps = cull(graph, keys)
    if optimize_graph and config.get("optimization.fuse.active", True):
        from shoal.core.optimize import fuse

        graph, deps = fuse(graph, keys, deps)
    return graph, deps, keys


def _pack(keys: Any, values: dict) -> Any:
    if type(keys) is list:
        return [_pack(k, values) for k in keys]
    return values[keys]


def compute(*args: Any, traverse: bool = True, optimize_graph: bool = True,
            scheduler: Any = None, get: Callable | None = None, **kwargs: Any) -> tuple:
    """Compute several lazy objects at once, sharing their common work.

    >>> a, b = shoal.compute(x.sum(), x.mean())
    >>> results = shoal.compute(*[delayed(f)(i) for i in range(10)])

    Arguments may be nested lists/tuples/dicts of collections; the result has
    the same structure.  ``scheduler=`` picks where it runs; other keywords
    (``num_workers=``, ``seed=``) go to the scheduler.
    """
    collections: list = []
    for a in args:
        if traverse:
            _find(a, collections)
        elif is_lazy(a):
            collections.append(a)
    if not collections:
        return args
    # the same object twice must not be computed twice
    uniq = list({id(c): c for c in collections}.values())
    getter = get or get_scheduler(scheduler, uniq)
    graph, deps, keys = collections_to_graph(uniq, optimize_graph)
    if kwargs.get("seed") is None and config.get("random_seed", None) is not None:
        kwargs["seed"] = config.get("random_seed")
    values = getter(graph, keys, dependencies=deps, **kwargs)
    by_key = dict(zip(keys, values))
    results: dict = {}
    for c in uniq:
        func, extra = c.__shoal_postcompute__()
        results[id(c)] = func(_pack(c.__shoal_keys__(), by_key), *extra)
    if traverse:
        return tuple(_rebuild(a, results) for a in args)
    return tuple(results[id(a)] if is_lazy(a) else a for a in args)


def persist(*args: Any, scheduler: Any = None, optimize_graph: bool = True, **kwargs: Any) -> tuple:
    """Compute collections and return new ones backed by the results.

    With a distributed Client the results stay on the workers (as futures);
    with a local scheduler they are held in this process.
    """
    collections = [a for a in args if is_lazy(a)]
    if not collections:
        return args
    getter = get_scheduler(scheduler, collections)
    client = getattr(getter, "__self__", None)
    if client is not None and hasattr(client, "persist") and hasattr(client, "gather"):
        # like the local schedulers, return once the results are in worker memory
        out = client.persist(list(args), optimize_graph=optimize_graph, sync=True, **kwargs)
        return tuple(out)
    graph, deps, keys = collections_to_graph(collections, optimize_graph)
    values = getter(graph, keys, dependencies=deps, **kwargs)
    by_key = dict(zip(keys, values))
    out = []
    for a in args:
        if is_lazy(a):
            wanted = flatten_keys(a.__shoal_keys__())
            func, extra = a.__shoal_postpersist__()
            out.append(func({k: by_key[k] for k in wanted}, *extra))
        else:
            out.append(a)
    return tuple(out)


def visualize(*args: Any, filename: str | None = "mydask", format: str | None = None,
              optimize_graph: bool = False, color: str | None = None, **kwargs: Any) -> Any:
    """Draw the task graph of the given collections with graphviz.

    Functions are drawn as circles and data as boxes.  The format follows the
    file's extension (svg, png, pdf, dot); ``color='order'`` colours nodes by
    execution order.  Needs the ``dot`` program (Debian: apt-get install
    graphviz) and the ``graphviz`` Python package.
    """
    from shoal.diagnostics.graphviz import draw

    collections: list = []
    for a in args:
        _find(a, collections)
    graph, deps, keys = collections_to_graph(collections, optimize_graph)
    return draw(graph, deps, keys, filename=filename, format=format, color=color, **kwargs)


class Collection:
    """The user-facing methods every collection shares, built on the protocol.

    A collection class inherits ``compute``, ``persist``, ``visualize`` and
    the ``dask``/``graph`` properties from here and defines only the
    ``__shoal_*__`` protocol methods.  ``__slots__`` is empty so classes that
    use slots (Array, Delayed) stay free of a per-instance ``__dict__``.
    """

    __slots__ = ()

    def compute(self, **kwargs: Any) -> Any:
        """Run the graph and return the value (see ``shoal.compute``).

        The scheduler defaults to the class's ``__shoal_scheduler__``;
        ``scheduler=`` and scheduler keywords (``num_workers=``, ``seed=``)
        may be given.
        """
        return compute(self, **kwargs)[0]

    def persist(self, **kwargs: Any) -> Any:
        """Compute and return the same kind of collection backed by the results
        (in memory, or on a cluster's workers)."""
        return persist(self, **kwargs)[0]

    def visualize(self, filename: str | None = "mydask", format: str | None = None, **kwargs: Any) -> Any:
        """Draw the task graph with graphviz (see ``shoal.visualize``)."""
        return visualize(self, filename=filename, format=format, **kwargs)

    @property
    def dask(self) -> Any:
        """The task graph behind this collection (also as ``.graph``)."""
        return self.__shoal_graph__()

    graph = dask

