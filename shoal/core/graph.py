"""Pure graph algorithms: merging collection graphs, dependencies, culling.

Collections hold their graphs as *layers* (``LayeredGraph``): one dict per
operation, keyed by the operation's name.  Building a new collection adds a
layer and shares its parents' layers by reference, so an n-step pipeline
costs O(n) to build, and merging several collections in ``compute`` is a
union of layer dicts: a layer two collections share (one ``read_csv`` under
two results) appears, and runs, once.
"""
from __future__ import annotations

from typing import Any, Hashable, Iterable, Mapping

from shoal.core.task import deps_of

__all__ = ["LayeredGraph", "merge_graphs", "dependencies", "dependents", "cull", "flatten_keys"]


class LayeredGraph(Mapping):
    """A read-only mapping made of named layers (each a ``dict`` of nodes).

    ``layers`` maps a layer name to its dict.  Lookup is a scan over the
    layers, so hot paths should call ``to_dict()`` once (compute does).
    """

    __slots__ = ("layers", "_flat")

    def __init__(self, layers: Mapping[str, Mapping]):
        self.layers = dict(layers)
        self._flat: dict | None = None

    @classmethod
    def from_collections(cls, name: str, layer: Mapping, parents: Iterable[Any] = ()) -> "LayeredGraph":
        """New graph: ``layer`` under ``name`` plus every parent's layers."""
        layers: dict = {}
        for p in parents:
            g = p.__shoal_graph__() if hasattr(p, "__shoal_graph__") else p
            if isinstance(g, LayeredGraph):
                layers.update(g.layers)
            else:
                layers[f"_anon-{id(g)}"] = g
        layers[name] = layer
        return cls(layers)

    def to_dict(self) -> dict:
        if self._flat is None:
            flat: dict = {}
            for layer in self.layers.values():
                flat.update(layer)
            self._flat = flat
        return self._flat

    def __getitem__(self, key):
        return self.to_dict()[key]

    def __iter__(self):
        return iter(self.to_dict())

    def __len__(self) -> int:
        return len(self.to_dict())

    def __repr__(self) -> str:
        return f"LayeredGraph({len(self.layers)} layers)"


def merge_graphs(graphs: Iterable[Mapping]) -> dict:
    """One dict holding every node of ``graphs``, shared layers once."""
    layers: dict = {}
    plain: list = []
    for g in graphs:
        if isinstance(g, LayeredGraph):
            layers.update(g.layers)
        else:
            plain.append(g)
    out: dict = {}
    for layer in layers.values():
        out.update(layer)
    for g in plain:
        out.update(g)
    return out


def flatten_keys(keys: Any) -> list:
    """Keys of a nested-list key structure, in order."""
    out: list = []
    stack = [keys]
    while stack:
        k = stack.pop()
        if type(k) is list:
            stack.extend(reversed(k))
        else:
            out.append(k)
    return out


def dependencies(graph: Mapping) -> dict:
    """``{key: frozenset(dep keys)}`` for every key of ``graph``."""
    return {k: deps_of(v) for k, v in graph.items()}


def dependents(deps: Mapping) -> dict:
    """Reverse of ``dependencies``: ``{key: set(keys that need it)}``."""
    out: dict = {k: set() for k in deps}
    for k, ds in deps.items():
        for d in ds:
            out[d].add(k)
    return out


def cull(graph: Mapping, keys: Iterable[Hashable]) -> tuple[dict, dict]:
    """Keep only what ``keys`` need.  Returns ``(graph, dependencies)``.

    One pass over the needed part of the graph; raises a KeyError naming the
    missing key and the key that wanted it when a reference dangles.
    """
    out: dict = {}
    deps: dict = {}
    stack = list(keys)
    seen = set(stack)
    for k in stack:
        if k not in graph:
            raise KeyError(f"key {k!r} was requested but is not in the graph")
    while stack:
        k = stack.pop()
        node = graph[k]
        out[k] = node
        ds = deps_of(node)
        deps[k] = ds
        for d in ds:
            if d not in seen:
                if d not in graph:
                    raise KeyError(
                        f"task {k!r} depends on {d!r}, which is not in the graph; add a node "
                        f"for {d!r} or pass its value instead of a reference"
                    )
                seen.add(d)
                stack.append(d)
    return out, deps
