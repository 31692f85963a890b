"""``Bag`` (a partitioned collection of Python objects) and ``Item`` (one lazy value).

How a bag is represented
------------------------
A bag does not keep one graph task per operation.  It keeps, per partition,
a *source* ``(token, func, args)`` and, for the whole bag, a tuple of
elementwise *ops*; ``b.map(f).filter(g)`` only appends to that tuple.  The
graph is produced when asked for (``__shoal_graph__``): one task per
partition, ``run_pipeline(source, ops, final)``, where ``final`` is ``list``
for the bag itself or the per-partition half of a reduction.  So
``read_text(...).filter(find).count()`` is one task per file, and only an
integer leaves the worker (see ``shoal.bag.pipeline``).

Operations that must see other partitions (reductions, ``groupby``,
``repartition``) end the chain: their tasks live in *dependency layers*
(``Bag._layers``) and the next bag reads their outputs through a source
that refers to those keys.  Lazy arguments (``Delayed``, ``Item``) are
``Ref`` s inside the ops, and their layers are added the same way.

``shoal.bag.optimize`` then merges tasks of one ``compute`` that read the
same source partition, so ``db.compute(obama, obama.count(), wiki.count())``
reads every file once.
"""
from __future__ import annotations

import itertools
import random as _random
import uuid
import warnings
from typing import Any, Callable, Hashable, Iterator

from shoal.base import Collection, is_lazy
from shoal.bag import chunk, pipeline
from shoal.bag.pipeline import no_default, run_pipeline
from shoal.core.graph import LayeredGraph
from shoal.core.task import Ref, Task
from shoal.core.tokenize import tokenize
from shoal.utils import funcname, new_name, parse_bytes

__all__ = ["Bag", "Item", "no_default"]






def _layers_of(obj: Any) -> dict:
    g = obj.__shoal_graph__()
    if isinstance(g, LayeredGraph):
        return g.layers
    return {f"_coll-{id(g)}": g}


def _unpack(obj: Any, layers: dict) -> Any:
    """Replace lazy values inside ``obj`` by Refs; collect their graph layers."""
    if isinstance(obj, Bag):
        raise TypeError(
            "a Bag cannot be passed as an extra argument here. To combine two bags "
            "elementwise use b.map(f, other_bag) (equal partitions) or db.zip(a, b); to use a "
            "whole bag's result, reduce it first (e.g. other.count() gives an Item)")
    if isinstance(obj, Item):
        layers.update(obj._layers)
        return Ref(obj.key)
    if is_lazy(obj):
        from shoal.delayed import Delayed, delayed

        d = obj if isinstance(obj, Delayed) else delayed(obj)
        layers.update(_layers_of(d))
        return Ref(d.key)
    t = type(obj)
    if t in (list, tuple, set, frozenset):
        items = [_unpack(o, layers) for o in obj]
        if all(a is b for a, b in zip(items, obj)):
            return obj
        return items if t is list else t(items)
    if t is dict:
        vals = {k: _unpack(v, layers) for k, v in obj.items()}
        if all(vals[k] is obj[k] for k in obj):
            return obj
        return vals
    return obj


def _finalize_bag(parts: list) -> list:
    # partitions that are single values (map_partitions(len)) come back as a list of them
    if parts and (isinstance(parts[0], (str, bytes)) or not hasattr(parts[0], "__iter__")):
        return list(parts)
    return list(itertools.chain.from_iterable(parts))


def _identity(x: Any) -> Any:
    return x


def _rebuild_bag(graph: dict, name: str, n: int) -> "Bag":
    pname = new_name("persisted", name)
    layer = {(pname, i): graph[(name, i)] for i in range(n)}
    srcs = [((pname, i), pipeline.from_value, (Ref((pname, i)),)) for i in range(n)]
    return Bag(pname + "-bag", srcs, (), {pname: layer})


def _rebuild_item(graph: dict, key: Hashable) -> "Item":
    return Item(key, {str(key): {key: graph[key]}})


def bag_optimize(graph: dict, keys: list) -> dict:
    from shoal.bag.optimize import share_sources

    return share_sources(graph, keys)


class Item(Collection):
    """One lazy value computed from a bag (``b.count()``, ``b.sum()``, ...).

    ``item.compute()`` gives the value; pass an Item to another bag
    operation (``b.map(f, total)``) and it is computed once and shared.
    """

    __shoal_scheduler__ = "processes"
    __shoal_optimize__ = staticmethod(bag_optimize)

    def __init__(self, key: Hashable, layers: dict):
        self.key = key
        self._layers = layers

    def __shoal_graph__(self) -> LayeredGraph:
        return LayeredGraph(self._layers)

    def __shoal_keys__(self) -> Hashable:
        return self.key

    def __shoal_postcompute__(self):
        return _identity, ()

    def __shoal_postpersist__(self):
        return _rebuild_item, (self.key,)

    def __shoal_tokenize__(self) -> Hashable:
        return self.key

    # compute (processes scheduler by default), persist, visualize, dask and
    # graph come from Collection

    def to_delayed(self, optimize_graph: bool = True) -> Any:
        """A Delayed standing for this item's value."""
        from shoal.delayed import Delayed

        return Delayed(self.key, {}, (self,))

    def apply(self, func: Callable, *args: Any, **kwargs: Any) -> "Item":
        """A new Item: ``func(value, *args, **kwargs)``."""
        layers = dict(self._layers)
        a = _unpack(args, layers)
        kw = _unpack(kwargs, layers)
        key = new_name(funcname(func), self.key, func, args, kwargs)
        layers[key] = {key: Task(func, Ref(self.key), *a, **kw)}
        return Item(key, layers)

    def __repr__(self) -> str:
        return f"Item<{self.key}>"

    def _binop(self, op: Callable, other: Any, reflect: bool = False) -> "Item":
        layers = dict(self._layers)
        o = _unpack(other, layers)
        key = new_name(funcname(op), self.key, other, reflect)
        args = (o, Ref(self.key)) if reflect else (Ref(self.key), o)
        layers[key] = {key: Task(op, *args)}
        return Item(key, layers)

    def __bool__(self) -> bool:
        raise TypeError(f"the value of {self!r} is not known until computed; call .compute() first")

    # explicit conversions ask for the value: compute it, as int(item) does in Dask
    def __int__(self) -> int:
        return int(self.compute())

    def __float__(self) -> float:
        return float(self.compute())

    def __complex__(self) -> complex:
        return complex(self.compute())

    @classmethod
    def from_delayed(cls, value: Any) -> "Item":
        """An Item computing to the value of a ``Delayed`` (or any one-key collection)."""
        from shoal.delayed import Delayed, delayed

        if not is_lazy(value):
            raise TypeError(f"Item.from_delayed expects a Delayed, got a {type(value).__name__}")
        d = value if isinstance(value, Delayed) else delayed(value)
        return cls(d.key, dict(_layers_of(d)))


def _bind_item_operators() -> None:
    """``count + 1``, ``a / b``, ``-x``, ``x > 3``: lazy Items, like Dask's."""
    import operator as op

    for name in ("add", "sub", "mul", "truediv", "floordiv", "mod", "pow", "and_", "or_", "xor"):
        f = getattr(op, name)
        dunder = name.rstrip("_")
        setattr(Item, f"__{dunder}__", lambda self, other, f=f: self._binop(f, other))
        setattr(Item, f"__r{dunder}__", lambda self, other, f=f: self._binop(f, other, True))
    for name in ("lt", "le", "gt", "ge", "eq", "ne"):
        f = getattr(op, name)
        setattr(Item, f"__{name}__", lambda self, other, f=f: self._binop(f, other))
    for name in ("neg", "pos", "abs", "invert"):
        f = getattr(op, name)
        setattr(Item, f"__{name}__", lambda self, f=f: self.apply(f))
    Item.__hash__ = lambda self: hash(self.key)  # __eq__ is lazy


_bind_item_operators()


class Bag(Collection):
    """A parallel collection of Python objects, in partitions.

    Build one with ``read_text``, ``from_sequence``, ``from_delayed`` or
    ``range``; transform with ``map``, ``filter``, ...; reduce with
    ``count``, ``sum``, ``frequencies``, ...; run with ``.compute()`` (the
    processes scheduler by default, as for Dask bags).
    """

    __shoal_scheduler__ = "processes"
    __shoal_optimize__ = staticmethod(bag_optimize)

    def __init__(self, name: str, srcs: list, ops: tuple = (), layers: dict | None = None):
        self.name = name
        self._srcs = srcs
        self._ops = ops
        self._layers = layers or {}
        self._graph: LayeredGraph | None = None

    @classmethod
    def from_sources(cls, name: str, srcs: list, layers: dict | None = None) -> "Bag":
        """A bag whose partition ``i`` is ``func(*args)`` for ``srcs[i] = (func, args)``."""
        if not srcs:  # an empty bag still has one (empty) partition
            srcs = [(pipeline.from_list, ([],))]
        return cls(name, [((name, i), f, a) for i, (f, a) in enumerate(srcs)], (), layers)

    @property
    def npartitions(self) -> int:
        """Number of partitions."""
        return len(self._srcs)

    # -- collection protocol ------------------------------------------------------
    def _pipeline_task(self, i: int, final: Callable, final_args: tuple = ()) -> Task:
        tok, f, a = self._srcs[i]
        return Task(run_pipeline, (self.name, i), tok, f, a, self._ops, final, final_args)

    def __shoal_graph__(self) -> LayeredGraph:
        if self._graph is None:
            layer = {(self.name, i): self._pipeline_task(i, pipeline.to_list)
                     for i in range(self.npartitions)}
            layers = dict(self._layers)
            layers[self.name] = layer
            self._graph = LayeredGraph(layers)
        return self._graph

    def __shoal_keys__(self) -> list:
        return [(self.name, i) for i in range(self.npartitions)]

    def __shoal_postcompute__(self):
        return _finalize_bag, ()

    def __shoal_postpersist__(self):
        return _rebuild_bag, (self.name, self.npartitions)

    def __shoal_tokenize__(self) -> str:
        return self.name

    def __repr__(self) -> str:
        return f"shoal.bag<{self.name.rsplit('-', 1)[0]}, npartitions={self.npartitions}>"

    def __iter__(self) -> Iterator:
        return iter(self.compute())

    def __bool__(self) -> bool:
        raise TypeError("a Bag has no truth value until computed; use b.any().compute() or "
                        "b.count().compute() > 0")

    # -- running ---------------------------------------------------------------------
    # compute (all elements as a list; processes scheduler by default), persist,
    # visualize, dask and graph come from Collection

    def to_delayed(self, optimize_graph: bool = True) -> list:
        """One ``Delayed`` per partition, each computing to a list."""
        from shoal.delayed import Delayed

        return [Delayed(k, {}, (self,)) for k in self.__shoal_keys__()]

    # -- building blocks ---------------------------------------------------------------
    def _with_op(self, prefix: str, kind: str, func: Any, args: tuple = (), kwargs: dict | None = None,
                 token_args: tuple | None = None) -> "Bag":
        layers = dict(self._layers)
        a = _unpack(tuple(args), layers)
        kw = _unpack(dict(kwargs or {}), layers)
        tok = tokenize(kind, func, args if token_args is None else token_args, kwargs)
        name = f"{prefix}-{tokenize(self.name, tok)}"
        op = (tok, kind, func, a, kw)
        return Bag(name, self._srcs, self._ops + (op,), layers)

    def _partials(self, prefix: str, final: Callable, final_args: tuple = (),
                  npartitions: int | None = None) -> tuple[str, dict]:
        """A layer with the per-partition half of a reduction; ``(name, layer)``."""
        n = self.npartitions if npartitions is None else npartitions
        name = new_name(prefix, self.name, final, final_args, n)
        layer = {(name, i): self._pipeline_task(i, final, final_args) for i in range(n)}
        return name, layer

    def _reduce(self, prefix: str, part: Callable, part_args: tuple, agg: Callable,
                agg_args: tuple = ()) -> tuple[str, dict]:
        pname, player = self._partials(prefix + "-part", part, part_args)
        key = new_name(prefix, pname, agg, agg_args)
        layers = dict(self._layers)
        layers[pname] = player
        refs = [Ref((pname, i)) for i in range(self.npartitions)]
        layers[key] = {key: Task(agg, refs, *agg_args)}
        return key, layers

    def _item(self, prefix: str, part: Callable, part_args: tuple, agg: Callable,
              agg_args: tuple = ()) -> Item:
        key, layers = self._reduce(prefix, part, part_args, agg, agg_args)
        return Item(key, layers)

    def _bag_of_one(self, prefix: str, part: Callable, part_args: tuple, agg: Callable,
                    agg_args: tuple = ()) -> "Bag":
        key, layers = self._reduce(prefix, part, part_args, agg, agg_args)
        name = new_name(prefix + "-out", key)
        return Bag(name, [((name, 0), pipeline.from_value, (Ref(key),))], (), layers)

    def _per_partition(self, prefix: str, final: Callable, final_args_list: list) -> list:
        """One Delayed per partition computing ``final(partition, *final_args_list[i])``."""
        from shoal.delayed import Delayed

        name = new_name(prefix, self.name, final, final_args_list)
        layer = {(name, i): self._pipeline_task(i, final, tuple(fa))
                 for i, fa in enumerate(final_args_list)}
        layers = dict(self._layers)
        layers[name] = layer
        holder = Item((name, 0), layers)
        return [Delayed((name, i), {}, (holder,)) for i in range(len(final_args_list))]

    def _materialised(self, prefix: str, nodes: list, layers: dict) -> "Bag":
        """A bag whose partition ``i`` is the value of graph node ``nodes[i]``."""
        # the nodes hold the operation's arguments; a fresh name avoids tokenizing them
        name = f"{prefix}-{uuid.uuid4().hex}"
        pname = name + "-parts"
        layers = dict(layers)
        layers[pname] = {(pname, i): node for i, node in enumerate(nodes)}
        srcs = [((pname, i), pipeline.from_value, (Ref((pname, i)),)) for i in range(len(nodes))]
        return Bag(name, srcs, (), layers)

    def _with_self(self) -> dict:
        layers = dict(self._layers)
        layers.update(self.__shoal_graph__().layers)
        return layers

    # -- elementwise ----------------------------------------------------------------
    def map(self, func: Callable, *args: Any, **kwargs: Any) -> "Bag":
        """Apply ``func(x, *args, **kwargs)`` to every element.

        Extra arguments may be lazy (``Item``, ``Delayed``: computed once and
        shared) or other bags with the same partitioning (zipped elementwise).
        """
        if any(isinstance(a, Bag) for a in args) or any(isinstance(v, Bag) for v in kwargs.values()):
            from shoal.bag.multi import zip_map  # noqa: F811

            return zip_map(func, (self,) + args, kwargs)
        return self._with_op(funcname(func), "map", func, args, kwargs)

    def starmap(self, func: Callable, **kwargs: Any) -> "Bag":
        """Apply ``func(*x, **kwargs)`` to every element (elements are tuples)."""
        return self._with_op(funcname(func), "starmap", func, (), kwargs)

    def filter(self, predicate: Callable, *args: Any, **kwargs: Any) -> "Bag":
        """Keep the elements for which ``predicate(x, *args, **kwargs)`` is true."""
        return self._with_op("filter-" + funcname(predicate), "filter", predicate, args, kwargs)

    def remove(self, predicate: Callable, *args: Any, **kwargs: Any) -> "Bag":
        """Drop the elements for which ``predicate(x)`` is true."""
        return self._with_op("remove-" + funcname(predicate), "remove", predicate, args, kwargs)

    def map_partitions(self, func: Callable, *args: Any, **kwargs: Any) -> "Bag":
        """Apply ``func(partition_list, *args, **kwargs)``; it returns the new partition."""
        if any(isinstance(a, Bag) for a in args) or any(isinstance(v, Bag) for v in kwargs.values()):
            from shoal.bag.multi import zip_partitions

            return zip_partitions(func, (self,) + args, kwargs)
        return self._with_op(funcname(func), "map_partitions", func, args, kwargs)

    def flatten(self) -> "Bag":
        """Concatenate the elements, which must be iterables, into one bag."""
        return self._with_op("flatten", "flatten", None)

    def pluck(self, key: Any, default: Any = no_default) -> "Bag":
        """``x[key]`` of every element (a list of keys gives tuples)."""
        return self._with_op("pluck", "pluck", None, (key, default))

    def unzip(self, n: int) -> tuple:
        """``n`` bags from a bag of ``n``-tuples: the first fields, the second fields, ..."""
        return tuple(self.pluck(i) for i in range(n))

    def product(self, other: "Bag") -> "Bag":
        """Every pair ``(x, y)`` of an element of this bag and one of ``other``.

        The result has ``self.npartitions * other.npartitions`` partitions.
        """
        if not isinstance(other, Bag):
            raise TypeError(f"product expects another Bag, got a {type(other).__name__}")
        layers = self._with_self()
        layers.update(other._with_self())
        nodes = [Task(chunk.product_part, Ref((self.name, i)), Ref((other.name, j)))
                 for i in range(self.npartitions) for j in range(other.npartitions)]
        return self._materialised("product", nodes, layers)

    def join(self, other: Any, on_self: Any, on_other: Any = None) -> "Bag":
        """``(y, x)`` for every element ``x`` of this bag and ``y`` of ``other`` whose keys match.

        ``other`` is a list (or any iterable), a ``Delayed`` of one, or a Bag
        of one partition; it is held in memory by every task, so it should be
        the small side.  ``on_self``/``on_other`` are functions or indices
        (``on_other`` defaults to ``on_self``).
        """
        if on_other is None:
            on_other = on_self
        if isinstance(other, Bag):
            if other.npartitions != 1:
                raise ValueError(
                    f"join needs the other bag in one partition, it has {other.npartitions}; "
                    "use other.repartition(1) (it must fit in memory)")
            other = Item((other.name, 0), other._with_self())
        elif not is_lazy(other):
            other = list(other)
        return self._with_op("join", "map_partitions", chunk.join_part, (other, on_self, on_other))

    def random_sample(self, prob: float, random_state: Any = None) -> "Bag":
        """Each element kept independently with probability ``prob``.

        The same ``random_state`` (an int or ``random.Random``) gives the same sample.
        """
        if not 0 <= prob <= 1:
            raise ValueError(f"random_sample: prob must be between 0 and 1, got {prob!r}")
        if random_state is None:
            seed = _random.getrandbits(62)
        elif isinstance(random_state, _random.Random):
            seed = random_state.getrandbits(62)
        else:
            seed = int(random_state)
        return self._with_op("random-sample", "sample", None, (prob, seed))

    @property
    def str(self) -> Any:
        """String methods over the elements: ``b.str.lower()``, ``b.str.split(' ')``."""
        from shoal.bag.strings import StringAccessor

        return StringAccessor(self)

    # -- reductions to one value -------------------------------------------------------
    def count(self) -> Item:
        """Number of elements."""
        return self._item("count", pipeline.count, (), chunk.sum_agg)

    def sum(self, split_every: int | None = None) -> Item:
        """Sum of the elements."""
        return self._item("sum", sum, (), chunk.sum_agg)

    def min(self, split_every: int | None = None) -> Item:
        """Smallest element."""
        return self._item("min", chunk.min_part, (), chunk.min_agg)

    def max(self, split_every: int | None = None) -> Item:
        """Largest element."""
        return self._item("max", chunk.max_part, (), chunk.max_agg)

    def any(self, split_every: int | None = None) -> Item:
        """True if any element is truthy."""
        return self._item("any", any, (), chunk.any_agg)

    def all(self, split_every: int | None = None) -> Item:
        """True if every element is truthy (also for an empty bag)."""
        return self._item("all", all, (), chunk.all_agg)

    def mean(self) -> Item:
        """Arithmetic mean of the elements."""
        return self._item("mean", chunk.moments_part, (), chunk.mean_agg)

    def var(self, ddof: int = 0) -> Item:
        """Variance of the elements with ``ddof`` delta degrees of freedom."""
        return self._item("var", chunk.moments_part, (), chunk.var_agg, (ddof,))

    def std(self, ddof: int = 0) -> Item:
        """Standard deviation of the elements with ``ddof`` delta degrees of freedom."""
        return self._item("std", chunk.moments_part, (), chunk.std_agg, (ddof,))

    def reduction(self, perpartition: Callable, aggregate: Callable, split_every: int | None = None,
                  out_type: type = Item, name: str | None = None) -> Any:
        """``aggregate([perpartition(part) for part in partitions])``.

        ``perpartition`` gets each partition as a list; ``out_type=Bag``
        treats the aggregate's result as the elements of a one-partition bag.
        """
        prefix = name or f"reduction-{funcname(perpartition)}"
        if out_type is Bag:
            return self._bag_of_one(prefix, chunk.reduction_part, (perpartition,),
                                    chunk.reduction_agg, (aggregate,))
        return self._item(prefix, chunk.reduction_part, (perpartition,), chunk.reduction_agg, (aggregate,))

    def fold(self, binop: Callable, combine: Callable | None = None, initial: Any = no_default,
             split_every: int | None = None, out_type: type = Item) -> Any:
        """Reduce with ``binop`` inside partitions and ``combine`` (default ``binop``) across them."""
        combine = combine or binop
        if out_type is Bag:
            return self._bag_of_one("fold", chunk.fold_part, (binop, initial), chunk.fold_agg,
                                    (combine, initial))
        return self._item("fold", chunk.fold_part, (binop, initial), chunk.fold_agg, (combine, initial))

    # -- reductions to a bag -------------------------------------------------------------
    def frequencies(self, split_every: int | None = None, sort: bool = False) -> "Bag":
        """``(element, count)`` pairs; ``sort=True`` orders by count, largest first."""
        return self._bag_of_one("frequencies", chunk.frequencies_part, (), chunk.frequencies_agg, (sort,))

    def distinct(self, key: Any = None) -> "Bag":
        """The distinct elements (or the first element per distinct ``key(x)``)."""
        return self._bag_of_one("distinct", chunk.distinct_part, (key,), chunk.distinct_agg, (key,))

    def topk(self, k: int, key: Any = None, split_every: int | None = None) -> "Bag":
        """The ``k`` largest elements (by ``key``, a function or an index), largest first."""
        if callable(key) and _takes_several_arguments(key):
            key = chunk.StarKey(key)  # key(*element), as for tuples of fields
        return self._bag_of_one("topk", chunk.topk_part, (k, key), chunk.topk_agg, (k, key))

    def foldby(self, key: Any, binop: Callable, initial: Any = no_default, combine: Callable | None = None,
               combine_initial: Any = no_default, split_every: int | None = None) -> "Bag":
        """Group by ``key`` and fold each group: ``(key, value)`` pairs, in one pass.

        ``binop(total, x)`` folds elements within a partition (starting from
        ``initial`` when given); ``combine(total1, total2)`` merges partitions'
        totals (default: ``binop``; starting from ``combine_initial`` when given).
        """
        combine = combine or binop
        return self._bag_of_one("foldby", chunk.foldby_part, (key, binop, initial), chunk.foldby_agg,
                                (combine, combine_initial))

    def groupby(self, grouper: Any, npartitions: int | None = None, method: str | None = None,
                shuffle: str | None = None, max_branch: int | None = None) -> "Bag":
        """``(key, [elements])`` pairs, grouped by ``grouper(x)``, shuffled in memory.

        Prefer ``foldby`` when each group is reduced afterwards: it moves
        only per-group totals instead of every element.
        """
        nout = npartitions or self.npartitions
        sname, slayer = self._partials("groupby-split", chunk.group_split, (grouper, nout))
        layers = dict(self._layers)
        layers[sname] = slayer
        pick_name = sname + "-pick"
        layers[pick_name] = {
            (pick_name, i, j): Task(pipeline.pick, Ref((sname, i)), j)
            for i in range(self.npartitions) for j in range(nout)
        }
        nodes = [Task(chunk.group_merge, [Ref((pick_name, i, j)) for i in range(self.npartitions)])
                 for j in range(nout)]
        return self._materialised("groupby", nodes, layers)

    # -- reshaping ---------------------------------------------------------------------
    def repartition(self, npartitions: int | None = None, partition_size: int | None = None) -> "Bag":
        """The same elements, in order, in ``npartitions`` partitions.

        ``partition_size`` (bytes, or a string like ``"64MB"``) instead picks
        the count from the elements' in-memory size, computed first.
        """
        if npartitions is not None and partition_size is not None:
            raise ValueError("repartition takes npartitions= or partition_size=, not both")
        if npartitions is None:
            if partition_size is None:
                raise ValueError("repartition needs npartitions=... (or partition_size=...)")
            return _repartition_by_size(self, partition_size)
        n = int(npartitions)
        if n < 1:
            raise ValueError(f"repartition: npartitions must be >= 1, got {npartitions!r}")
        old = self.npartitions
        layers = self._with_self()
        refs = [Ref((self.name, i)) for i in range(old)]
        if n <= old:
            groups = [refs[j * old // n:(j + 1) * old // n] for j in range(n)]
            nodes = [Task(chunk.concat_agg, g) for g in groups]
        else:
            # split each old partition into near-equal pieces; spread the extra pieces evenly
            pieces = [n // old + (1 if i < n % old else 0) for i in range(old)]
            nodes = [Task(chunk.split_piece, refs[i], j, pieces[i])
                     for i in range(old) for j in range(pieces[i])]
        return self._materialised("repartition", nodes, layers)

    def take(self, k: int, npartitions: int = 1, compute: bool = True, warn: bool = True) -> Any:
        """The first ``k`` elements, reading only the first ``npartitions`` partitions (-1: all).

        Each partition stops reading as soon as it has ``k`` elements.
        """
        if npartitions != -1 and int(npartitions) > self.npartitions:
            raise ValueError(
                f"take(npartitions={npartitions}) asks for more partitions than the bag's "
                f"{self.npartitions}; pass npartitions=-1 to search every partition")
        n = self.npartitions if npartitions == -1 else int(npartitions)
        pname, player = self._partials("take-part", pipeline.take, (k,), npartitions=n)
        key = new_name("take", pname, k)
        layers = dict(self._layers)
        layers[pname] = player
        refs = [Ref((pname, i)) for i in range(n)]
        if not compute:  # a one-partition bag of those elements, gathered by its own task
            return Bag(key, [((key, 0), chunk.take_agg, (refs, k))], (), layers)
        layers[key] = {key: Task(chunk.take_agg, refs, k)}
        out = Item(key, layers).compute()
        if warn and len(out) < k:
            warnings.warn(
                f"take({k}) found only {len(out)} elements in the first {n} partition(s); "
                f"pass npartitions=-1 to search every partition", UserWarning, stacklevel=2)
        return out

    # -- output -------------------------------------------------------------------------
    def to_textfiles(self, path: Any, name_function: Callable | None = None, compression: str | None = "infer",
                     encoding: str = "utf-8", compute: bool = True, storage_options: dict | None = None,
                     last_endline: bool = False, **kwargs: Any) -> Any:
        """Write the bag's strings to one text file per partition (see ``shoal.bag.to_textfiles``)."""
        from shoal.bag.io import to_textfiles

        return to_textfiles(self, path, name_function=name_function, compression=compression,
                            encoding=encoding, compute=compute, storage_options=storage_options,
                            last_endline=last_endline, **kwargs)

    def to_dataframe(self, meta: Any = None, columns: Any = None, optimize_graph: bool = True) -> Any:
        """A ``shoal.dataframe`` DataFrame with one pandas partition per bag partition.

        Elements may be dicts (keys become columns), tuples/lists (with
        ``columns=``) or scalars (one column).
        """
        from shoal.bag.convert import to_dataframe

        return to_dataframe(self, meta=meta, columns=columns)


def _takes_several_arguments(func: Callable) -> bool:
    """True if ``func`` needs more than one positional argument."""
    import inspect

    try:
        params = inspect.signature(func).parameters.values()
    except (TypeError, ValueError):  # builtins without a signature take one value
        return False
    required = [p for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)
                and p.default is p.empty]
    return len(required) > 1


def _partition_nbytes(part: list) -> list:
    import sys

    return [sum(sys.getsizeof(x) for x in part)]


def _repartition_by_size(b: Bag, size: Any) -> Bag:
    """Cut into partitions of about ``size`` bytes of elements (``"100MB"`` or an int)."""

    nbytes = parse_bytes(size)
    if nbytes < 1:
        raise ValueError(f"partition_size must be a positive size such as '64MB', got {size!r}")
    # sizes are known only after computing: measure first, then cut
    total = sum(b.map_partitions(_partition_nbytes).compute())
    return b.repartition(max(1, -(-total // nbytes)))
