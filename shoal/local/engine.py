"""TEMPORARY minimal engine (sync only); replaced by the shared local engine."""
from __future__ import annotations

from shoal.core.context import clear_task, set_task
from shoal.core.task import run_node


def get_sync(graph, keys, dependencies=None, seed=None, **kwargs):
    results: dict = {}

    def visit(k):
        stack = [k]
        while stack:
            key = stack[-1]
            if key in results:
                stack.pop()
                continue
            from shoal.core.task import deps_of
            missing = [d for d in deps_of(graph[key]) if d not in results]
            if missing:
                stack.extend(missing)
                continue
            set_task(key, seed)
            try:
                results[key] = run_node(graph[key], results)
            finally:
                clear_task()
            stack.pop()

    for k in keys:
        visit(k)
    return [results[k] for k in keys]


get_threads = get_sync
get_processes = get_sync
