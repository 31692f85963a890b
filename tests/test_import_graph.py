"""The package's layering, read from its own imports with ``ast``.

Every module belongs to a *unit*: a top-level module or package of shoal
(``shoal.core``, ``shoal.array``), and inside ``shoal.distributed`` its
subpackages (``shoal.distributed.scheduler``).  Each unit stands on a floor
(``FLOORS``).  The rules:

1. an import (at module level or inside a function) goes to the same floor or
   a lower one;
2. the graph of units has no cycle;
3. the one exception: ``shoal.array``, ``shoal.bag`` and ``shoal.dataframe``
   convert into each other (``to_dataframe``, ``to_dask_array``...), so they
   may import each other *lazily* (inside a function), never at module level.

A new unit must be given a floor here: the test says which.
"""
from __future__ import annotations

import ast
import functools
import os
from collections import defaultdict

import shoal

ROOT = os.path.dirname(shoal.__file__)

FLOORS = {
    "shoal.utils": 0, "shoal.config": 0, "shoal.core": 0,
    "shoal.local": 1,
    "shoal.diagnostics": 2, "shoal.random": 2,
    "shoal.base": 3,
    "shoal.delayed": 4,
    "shoal.array": 5, "shoal.bag": 5, "shoal.dataframe": 5, "shoal.threaded": 5, "shoal.multiprocessing": 5,
    "shoal.datasets": 6,
    # distributed, bottom to top
    "shoal.distributed.utils": 10, "shoal.distributed.protocol": 10, "shoal.distributed.exceptions": 10,
    "shoal.distributed.comm": 11,
    "shoal.distributed.dashboard": 12, "shoal.distributed.shuffle": 12,
    "shoal.distributed.scheduler": 13, "shoal.distributed.worker": 13,
    "shoal.distributed.futures": 14, "shoal.distributed.transfer": 14, "shoal.distributed.refs": 14,
    "shoal.distributed.graphs": 14, "shoal.distributed.portable": 14, "shoal.distributed.actors": 14,
    "shoal.distributed.threads": 14, "shoal.distributed.views": 14,
    "shoal.distributed.client_ops": 15, "shoal.distributed.coordination": 16,
    "shoal.distributed.client": 15, "shoal.distributed.report": 15,
    "shoal.distributed.deploy": 16, "shoal.distributed.cli": 16,
    "shoal.distributed": 17,
    "shoal.jobqueue": 18,
    "shoal": 19, "shoal.cli": 19, "shoal.demo": 19, "shoal.__main__": 19,
}
SIBLINGS = {"shoal.array", "shoal.bag", "shoal.dataframe"}


def unit(module: str) -> str:
    parts = module.split(".")
    if len(parts) >= 3 and parts[1] == "distributed":
        return ".".join(parts[:3])
    return ".".join(parts[:2])


def _modules():
    for dirpath, _, files in os.walk(ROOT):
        for f in files:
            if f.endswith(".py"):
                path = os.path.join(dirpath, f)
                rel = os.path.relpath(path, os.path.dirname(ROOT))[:-3].replace(os.sep, ".")
                is_pkg = f == "__init__.py"
                yield (rel[: -len(".__init__")] if is_pkg else rel), is_pkg, path


def _is_module(name: str) -> bool:
    base = os.path.join(os.path.dirname(ROOT), *name.split("."))
    return os.path.isdir(base) or os.path.exists(base + ".py")


@functools.lru_cache(maxsize=None)
def imports() -> list[tuple[str, str, bool, str]]:
    """``(importing module, imported module, lazy, where)`` for every shoal import."""
    out = []
    for module, is_pkg, path in _modules():
        package = module if is_pkg else module.rpartition(".")[0]
        tree = ast.parse(open(path, encoding="utf-8").read(), path)

        def visit(node, lazy):
            for child in ast.iter_child_nodes(node):
                if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
                    visit(child, True)
                    continue
                if isinstance(child, ast.If) and getattr(child.test, "id", "") == "TYPE_CHECKING":
                    continue  # annotations only
                where = f"{path}:{getattr(child, 'lineno', '?')}"
                if isinstance(child, ast.Import):
                    out.extend((module, a.name, lazy, where) for a in child.names if a.name.startswith("shoal"))
                elif isinstance(child, ast.ImportFrom):
                    if child.level:
                        base = package.split(".")[: len(package.split(".")) - child.level + 1]
                        target = ".".join(base + ([child.module] if child.module else []))
                    else:
                        target = child.module or ""
                    if target == "shoal" or target.startswith("shoal."):
                        for a in child.names:  # ``from pkg import submodule`` imports the submodule
                            sub = f"{target}.{a.name}"
                            out.append((module, sub if _is_module(sub) else target, lazy, where))
                visit(child, lazy)

        visit(tree, False)
    return out


def test_every_unit_has_a_floor():
    units = {unit(m) for m, _, _ in _modules()}
    missing = sorted(units - set(FLOORS))
    assert not missing, f"give these units a floor in FLOORS: {missing}"


def test_no_import_runs_up_a_floor():
    bad = []
    for src, dst, lazy, where in imports():
        a, b = unit(src), unit(dst)
        if a == b or FLOORS.get(b, -1) <= FLOORS.get(a, 99):
            continue
        if lazy and a in SIBLINGS and b in SIBLINGS:
            continue
        bad.append(f"{where}: {src} ({FLOORS.get(a)}) imports {dst} ({FLOORS.get(b)})")
    assert not bad, "imports from a lower floor to a higher one:\n" + "\n".join(bad)


def test_no_cycle_between_units():
    edges = defaultdict(set)
    for src, dst, lazy, _ in imports():
        a, b = unit(src), unit(dst)
        if a != b and not (lazy and a in SIBLINGS and b in SIBLINGS):
            edges[a].add(b)
    WHITE, GREY, BLACK = 0, 1, 2
    colour: dict = defaultdict(int)
    cycles = []

    def dfs(node, path):
        colour[node] = GREY
        for nxt in sorted(edges[node]):
            if colour[nxt] == GREY:
                cycles.append(path[path.index(nxt):] + [nxt] if nxt in path else [node, nxt])
            elif colour[nxt] == WHITE:
                dfs(nxt, path + [nxt])
        colour[node] = BLACK

    for node in sorted(edges):
        if colour[node] == WHITE:
            dfs(node, [node])
    assert not cycles, "import cycles between units: " + "; ".join(" -> ".join(c) for c in cycles)


def test_siblings_import_each_other_only_lazily():
    top = [f"{where}: {src} imports {dst}" for src, dst, lazy, where in imports()
           if not lazy and unit(src) in SIBLINGS and unit(dst) in SIBLINGS and unit(src) != unit(dst)]
    assert not top, "array/bag/dataframe import each other at module level:\n" + "\n".join(top)
