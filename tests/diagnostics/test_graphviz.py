"""Task-graph pictures for the tutorial's section 3.3 graph, in every format."""
from __future__ import annotations

import os
import re

import pytest

import shoal as dask
from shoal.diagnostics.graphviz import GraphvizNotInstalled, draw, to_graphviz
from tests.conftest import require


def inc(x):
    return x + 1


def add(x, y):
    return x + y


@pytest.fixture
def z():
    x = dask.delayed(inc)(1)
    y = dask.delayed(inc)(2)
    return dask.delayed(add)(x, y)


def _svg_nodes(svg: str) -> list[tuple[str, str]]:
    """(shape, label) per node of a dot-rendered SVG: ellipse -> circle, polygon -> box."""
    out = []
    for block in re.findall(r'<g id="node\d+" class="node">(.*?)</g>', svg, re.S):
        shape = "circle" if "<ellipse" in block else "box" if "<polygon" in block else "?"
        label = re.findall(r"<text[^>]*>([^<]*)</text>", block)
        out.append((shape, label[0] if label else ""))
    return out


def test_svg_functions_are_circles_data_are_boxes(z, tmp_path):
    require("dot")
    fn = tmp_path / "task_graph.svg"
    z.visualize(filename=str(fn))
    svg = fn.read_text()
    assert svg.lstrip().startswith("<?xml") and "<svg" in svg
    nodes = sorted(_svg_nodes(svg))
    assert nodes == sorted([("circle", "inc"), ("circle", "inc"), ("circle", "add"),
                            ("box", "inc"), ("box", "inc"), ("box", "add")])
    # 3 function->output edges + 2 dependency edges
    assert svg.count('class="edge"') == 5


def test_png_and_pdf_by_extension(z, tmp_path):
    require("dot")
    png = tmp_path / "g.png"
    pdf = tmp_path / "g.pdf"
    dask.visualize(z, filename=str(png))
    z.visualize(filename=str(pdf))
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert pdf.read_bytes()[:5] == b"%PDF-"
    assert os.path.getsize(png) > 500


def test_default_name_is_png(z, tmp_path, monkeypatch):
    require("dot")
    monkeypatch.chdir(tmp_path)
    z.visualize()
    assert (tmp_path / "mydask.png").read_bytes()[:4] == b"\x89PNG"


def test_dot_source_has_shapes_labels_and_edges(z, tmp_path):
    fn = tmp_path / "g.dot"
    g = z.visualize(filename=str(fn))
    src = fn.read_text()
    assert src == g.source
    assert src.count("shape=circle") == 3 and src.count("shape=box") == 3
    assert src.count("label=inc") == 4 and src.count("label=add") == 2
    assert src.count("->") == 5
    assert "rankdir=BT" in src


def test_color_by_order_fills_every_node(z, tmp_path):
    g = z.visualize(filename=None, color="order")
    fills = re.findall(r'fillcolor="(#[0-9a-f]{6})"', g.source)
    assert len(fills) == 6
    # the two leaves run before the sum: the final task has the last colour
    add_fill = re.search(r'label=add[^\]]*fillcolor="(#[0-9a-f]{6})"', g.source).group(1)
    from shoal.diagnostics.graphviz import _ramp

    assert add_fill == _ramp(1.0)
    inc_fills = set(re.findall(r'label=inc[^\]]*fillcolor="(#[0-9a-f]{6})"', g.source))
    assert add_fill not in inc_fills and len(inc_fills) == 2
    with pytest.raises(ValueError, match="color='order'"):
        z.visualize(filename=None, color="rainbow")


def test_tuple_keys_and_literals_and_aliases():
    from shoal.core.task import Ref, Task

    graph = {("x-abcdef12", 0): 1, ("x-abcdef12", 1): 2,
             "s-abcdef1234": Task(add, Ref(("x-abcdef12", 0)), Ref(("x-abcdef12", 1))),
             "out": Ref("s-abcdef1234")}
    g = to_graphviz(graph, keys=["out"])
    src = g.source
    assert 'label="(0)"' in src and 'label="(1)"' in src
    assert src.count("shape=circle") == 1 and src.count("shape=box") == 4
    assert "peripheries=2" in src  # the requested output is marked
    assert src.count("->") == 4


def test_missing_dot_explains_how_to_install(z, tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))  # no `dot` anywhere on PATH
    with pytest.raises(GraphvizNotInstalled, match="apt-get install graphviz"):
        z.visualize(filename=str(tmp_path / "g.svg"))
    # the source format needs no program
    z.visualize(filename=str(tmp_path / "g.dot"))


def test_bad_format_teaches(z, tmp_path):
    with pytest.raises(ValueError, match="filename='graph.svg'"):
        draw({"a": 1}, {"a": frozenset()}, ["a"], filename=str(tmp_path / "g"), format="xyz")
