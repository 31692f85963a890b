"""Linear-chain fusion: run ``a -> b -> c`` as one task.

A node ``a`` is folded into its dependent ``b`` when ``b`` is the only task
that needs ``a``, ``a`` is the only thing ``b`` needs, and ``a`` is not an
output key.  A maximal run of such links becomes one ``Task`` under the
chain's *last* key, so the keys a caller asked for never change.  A bag
partition's ``read_text -> filter -> count`` is then one task: only the
count leaves a worker process, and the scheduler pays its per-task cost
once per chain.

The fused node is ``Task(Chain(steps, inputs), Ref(i1), Ref(i2), ...)``
where ``inputs`` are the bottom node's dependencies.  ``Chain`` runs the
steps in order with ``run_node`` (so literals, ``Ref`` aliases and tasks all
keep their meaning), keeps only the previous step's value alive, and tells
``shoal.core.context`` each step's own key so per-task random streams are
the same fused or not.

One pass to count dependents, one pass to walk chains: O(nodes + edges).
"""
from __future__ import annotations

from typing import Any, Hashable, Iterable, Mapping

from shoal.core.context import current_seed, current_task_key, set_task
from shoal.core.task import Ref, Task, deps_of, run_node

__all__ = ["fuse", "Chain"]


class Chain:
    """Callable running fused graph nodes bottom-up; see the module docstring."""

    __slots__ = ("steps", "inputs")

    def __init__(self, steps: list, inputs: tuple):
        self.steps = steps  # [(key, node), ...] bottom first
        self.inputs = inputs  # keys the bottom node reads

    def __call__(self, *values: Any) -> Any:
        seed = current_seed()
        outer = current_task_key()
        local: dict = dict(zip(self.inputs, values))
        value = None
        try:
            for key, node in self.steps:
                set_task(key, seed)
                value = run_node(node, local)
                local = {key: value}  # the next step needs only this one
        finally:
            set_task(outer, seed)
        return value

    @property
    def __name__(self) -> str:
        names = []
        for _, node in self.steps:
            if type(node) is Task:
                names.append(getattr(node.func, "__name__", type(node.func).__name__))
        return "-".join(names) or "chain"

    def __reduce__(self):
        return (Chain, (self.steps, self.inputs))

    def __repr__(self) -> str:
        return f"Chain({[k for k, _ in self.steps]!r})"


def fuse(graph: Mapping, keys: Iterable[Hashable], deps: Mapping | None = None) -> tuple[dict, dict]:
    """Fuse linear chains of ``graph``; returns ``(graph, dependencies)``.

    ``keys`` are the outputs (never fused away); ``deps`` is the
    ``{key: frozenset}`` dict when the caller already has it.
    """
    if deps is None:
        deps = {k: deps_of(v) for k, v in graph.items()}
    outputs = set(keys)
    # the single dependent of each key, or a marker when it has several
    MANY = _MANY
    child: dict = {}
    for k, ds in deps.items():
        for d in ds:
            if d in child:
                child[d] = MANY
            else:
                child[d] = k

    def fusable(k: Hashable) -> bool:
        c = child.get(k, MANY)
        return c is not MANY and k not in outputs and len(deps[c]) == 1

    new_graph: dict = {}
    new_deps: dict = {}
    changed = False
    get = child.get
    for k, node in graph.items():
        c = get(k, MANY)
        if c is not MANY and k not in outputs and len(deps[c]) == 1:
            continue  # folded into the chain that ends above it
        ds = deps[k]
        if len(ds) != 1:
            new_graph[k] = node
            new_deps[k] = ds
            continue
        (d,) = ds
        if not fusable(d):
            new_graph[k] = node
            new_deps[k] = ds
            continue
        # walk down the chain ending at k
        steps = [(k, node)]
        bottom = d
        while True:
            steps.append((bottom, graph[bottom]))
            bds = deps[bottom]
            if len(bds) != 1:
                break
            (nxt,) = bds
            if not fusable(nxt):
                break
            bottom = nxt
        steps.reverse()
        inputs = tuple(deps[bottom])
        new_graph[k] = Task(Chain(steps, inputs), *[Ref(i) for i in inputs])
        new_deps[k] = deps[bottom]
        changed = True
    if not changed:
        return (graph if isinstance(graph, dict) else dict(graph)), (deps if isinstance(deps, dict) else dict(deps))
    return new_graph, new_deps


class _Many:
    __slots__ = ()

    def __repr__(self) -> str:
        return "<many>"


_MANY = _Many()
