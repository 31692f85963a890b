"""Draw task graphs with graphviz: functions as circles, data as boxes.

Every ``Task`` node of the graph becomes two graphviz nodes: a circle
labelled with the function's name (the work) and a box for its output (the
data), joined by an edge.  A dependency ``a`` of task ``b`` is an edge from
``a``'s box to ``b``'s circle.  ``Ref`` aliases and literal values are boxes
only.  Box labels are the key's group name (``inc`` for ``inc-ab12...``) or,
for tuple keys such as ``("x-ab12", 0, 3)``, the block index ``(0, 3)``.

The output format follows the file name's extension (svg, png, pdf, jpeg,
dot); a name without extension gets ``.png``, as in Dask.  The ``dot``
format is the graph's source text and needs no ``dot`` program; the others
run Graphviz's ``dot``, and a missing program raises an error that says how
to install it.
"""
from __future__ import annotations

import hashlib
import os
from typing import Any, Hashable, Mapping

from shoal.utils import key_split
from shoal.core.task import Ref, Task
from shoal.diagnostics.notebook import in_notebook as _in_notebook

__all__ = ["draw", "to_graphviz", "GraphvizNotInstalled", "FORMATS"]

#: Extensions understood as output formats.
FORMATS = ("svg", "png", "pdf", "jpeg", "jpg", "gif", "dot", "bmp", "tiff")

_INSTALL_HINT = (
    "Graphviz's `dot` program is needed to render task graphs as images. Install it with "
    "`apt-get install graphviz` (Debian/Ubuntu), `brew install graphviz` (macOS) or "
    "`conda install python-graphviz`, and the Python bindings with `pip install graphviz`. "
    "Without it you can still write the graph's source: visualize(filename='graph.dot')."
)


class GraphvizNotInstalled(RuntimeError):
    """Graphviz (the ``dot`` program or the Python package) is missing."""


def _import_graphviz():
    try:
        import graphviz
    except ImportError as e:  # pragma: no cover - the package is a declared extra
        raise GraphvizNotInstalled(
            "the `graphviz` Python package is not installed; "
            "`pip install graphviz` (or `pip install shoal[diagnostics]`). " + _INSTALL_HINT
        ) from e
    return graphviz


def _node_id(key: Hashable, prefix: str) -> str:
    # graphviz ids must be plain strings; hash the key so any key shape works
    return prefix + hashlib.blake2b(repr(key).encode(), digest_size=8).hexdigest()


def _func_label(func: Any) -> str:
    inner = getattr(func, "func", None)  # functools.partial and similar wrappers
    if inner is not None and callable(inner) and not hasattr(func, "__name__"):
        func = inner
    name = getattr(func, "__name__", None) or type(func).__name__
    return "lambda" if name == "<lambda>" else name


def _data_label(key: Hashable) -> str:
    if type(key) is tuple and len(key) > 1:
        return "(" + ", ".join(str(i) for i in key[1:]) + ")"
    return key_split(key)


def _execution_order(graph: Mapping, deps: Mapping) -> dict:
    """``{key: rank}`` from ``shoal.core.order`` when present, else a plain topological order."""
    try:
        from shoal.core.order import order  # type: ignore[import-not-found]
    except ImportError:
        order = None
    if order is not None:
        return dict(order(graph, deps))
    # Kahn's algorithm; deterministic by the graph's insertion order
    remaining = {k: len(deps.get(k, ())) for k in graph}
    users: dict = {k: [] for k in graph}
    for k in graph:
        for d in deps.get(k, ()):
            if d in users:
                users[d].append(k)
            else:
                remaining[k] -= 1
    ready = [k for k, n in remaining.items() if n == 0]
    ranks: dict = {}
    while ready:
        k = ready.pop()
        ranks[k] = len(ranks)
        for u in users[k]:
            remaining[u] -= 1
            if remaining[u] == 0:
                ready.append(u)
    return ranks


def _ramp(frac: float) -> str:
    """Blue (first) -> yellow -> red (last) as a hex colour."""
    frac = min(max(frac, 0.0), 1.0)
    stops = [(0.19, 0.21, 0.58), (0.27, 0.46, 0.71), (0.99, 0.87, 0.45), (0.84, 0.19, 0.15)]
    pos = frac * (len(stops) - 1)
    i = min(int(pos), len(stops) - 2)
    t = pos - i
    rgb = [a + (b - a) * t for a, b in zip(stops[i], stops[i + 1])]
    return "#" + "".join(f"{int(round(c * 255)):02x}" for c in rgb)


def to_graphviz(graph: Mapping, deps: Mapping | None = None, keys: list | None = None, *,
                color: str | None = None, rankdir: str = "BT",
                graph_attr: dict | None = None, node_attr: dict | None = None,
                edge_attr: dict | None = None, function_attributes: dict | None = None,
                data_attributes: dict | None = None, **kwargs: Any):
    """Build a ``graphviz.Digraph`` for ``graph`` (no rendering)."""
    graphviz = _import_graphviz()
    if deps is None:
        from shoal.core.graph import dependencies

        deps = dependencies(graph)
    if color not in (None, "order"):
        raise ValueError(f"color={color!r} is not supported; use color='order' or color=None")
    g_attr = {"rankdir": rankdir}
    g_attr.update(graph_attr or {})
    g_attr.update({k: str(v) for k, v in kwargs.items()})
    g = graphviz.Digraph(graph_attr=g_attr, node_attr=node_attr or {}, edge_attr=edge_attr or {})
    function_attributes = function_attributes or {}
    data_attributes = data_attributes or {}
    outputs = set(keys or ())

    ranks = _execution_order(graph, deps) if color == "order" else {}
    n = max(len(ranks) - 1, 1)

    def style(key: Hashable) -> dict:
        if key not in ranks:
            return {}
        c = _ramp(ranks[key] / n)
        return {"style": "filled", "fillcolor": c, "color": c}

    for key, node in graph.items():
        data_id = _node_id(key, "d")
        data = {"shape": "box", "label": _data_label(key)}
        if key in outputs:
            data["peripheries"] = "2"  # requested outputs get a double border
        data.update(style(key))
        data.update(data_attributes.get(key, {}))
        g.node(data_id, **data)
        if type(node) is Task:
            func_id = _node_id(key, "f")
            fattrs = {"shape": "circle", "label": _func_label(node.func)}
            fattrs.update(style(key))
            fattrs.update(function_attributes.get(key, {}))
            g.node(func_id, **fattrs)
            g.edge(func_id, data_id)
            target = func_id
        else:
            target = data_id
        for d in deps.get(key, ()) if type(node) in (Task, Ref) else ():
            if d in graph:
                g.edge(_node_id(d, "d"), target)
    return g


def _split_filename(filename: str, format: str | None) -> tuple[str, str]:
    """``(path to write, graphviz format)`` for a user's filename/format."""
    base, ext = os.path.splitext(filename)
    ext = ext[1:].lower()
    if format is None:
        format = ext if ext in FORMATS else "png"
    format = format.lower()
    fmt = "jpeg" if format == "jpg" else format
    if fmt not in FORMATS:
        raise ValueError(
            f"format={format!r} is not supported; expected one of {', '.join(FORMATS)} "
            "(or a filename ending in one of them, e.g. filename='graph.svg')"
        )
    if ext == format or (ext in ("jpg", "jpeg") and fmt == "jpeg"):
        return filename, fmt
    return f"{filename}.{format}", fmt


def draw(graph: Mapping, deps: Mapping | None = None, keys: list | None = None,
         filename: str | None = "mydask", format: str | None = None,
         color: str | None = None, **kwargs: Any) -> Any:
    """Render ``graph`` to ``filename`` and return the graphviz object.

    ``filename=None`` renders nothing and returns the ``graphviz.Digraph``.
    In a Jupyter notebook an ``IPython.display`` image is returned instead so
    that the picture shows inline.
    """
    g = to_graphviz(graph, deps, keys, color=color, **kwargs)
    if filename is None:
        return g
    path, fmt = _split_filename(os.fspath(filename), format)
    if fmt == "dot":
        with open(path, "w") as f:
            f.write(g.source)
    else:
        graphviz = _import_graphviz()
        try:
            data = g.pipe(format=fmt)
        except graphviz.ExecutableNotFound as e:
            raise GraphvizNotInstalled(_INSTALL_HINT) from e
        with open(path, "wb") as f:
            f.write(data)
    if _in_notebook():
        from IPython import display  # type: ignore[import-not-found]

        if fmt == "svg":
            return display.SVG(filename=path)
        if fmt in ("png", "jpeg", "gif"):
            return display.Image(filename=path)
    return g
