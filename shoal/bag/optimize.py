"""Share one read between several consumers of the same bag partition.

``db.compute(obama, obama.count(), wiki.count())`` builds three tasks per
file, each reading the file (a bag's tasks are fused pipelines, see
``shoal.bag.pipeline``).  This pass, run by ``compute`` before scheduling,
finds pipeline tasks that read the same source partition (same
``src_token``) and replaces them with one ``run_shared`` task that reads
once, computes every shared chain prefix once, and returns the consumers'
results as a tuple; each original key becomes a ``pick`` from that tuple.

Only the small per-consumer results leave the worker: with the processes
scheduler no partition of lines ever crosses a process boundary.

A task whose ops depend on other keys (a lazy ``Item`` argument) is left
alone: merging it could create a cycle (``b.map(f, b.count())``).
"""
from __future__ import annotations

from collections import defaultdict

from shoal.bag.pipeline import pick, run_pipeline, run_shared
from shoal.core.graph import cull
from shoal.core.task import Ref, Task, _scan
from shoal.core.tokenize import tokenize

__all__ = ["share_sources"]


def share_sources(graph: dict, keys: list) -> dict:
    """Merge pipeline tasks of ``graph`` that read the same source partition."""
    graph, _ = cull(graph, keys)
    groups: dict = defaultdict(list)
    for k, node in graph.items():
        if type(node) is Task and node.func is run_pipeline and not node.kwargs:
            label, tok, f, a, ops, final, fargs = node.args
            src_deps: set = set()
            _scan(a, src_deps)
            if node.deps != frozenset(src_deps):
                continue
            try:
                groups[(tok, f)].append(k)
            except TypeError:  # an unhashable token: leave it alone
                continue
    merged = {}
    for (tok, f), ks in groups.items():
        if len(ks) < 2:
            continue
        first = graph[ks[0]]
        label, _, _, a, _, _, _ = first.args
        consumers = []
        for k in ks:
            _, _, _, _, ops, final, fargs = graph[k].args
            consumers.append((ops, final, fargs))
        skey = (f"shared-read-{tokenize(sorted(map(str, ks)))}", label[1])
        merged[skey] = Task(run_shared, label, f, a, consumers)
        for j, k in enumerate(ks):
            merged[k] = Task(pick, Ref(skey), j)
    if merged:
        graph = dict(graph)
        graph.update(merged)
    return graph
