"""HTML summary of an Array for notebooks: a table plus a sketch of the block grid."""
from __future__ import annotations

import html
from typing import Any

from shoal.utils import format_bytes


def _bytes(n: Any) -> str:
    try:
        n = float(n)
    except (TypeError, ValueError):
        return "unknown"
    return "unknown" if n != n else format_bytes(n, binary=True)


def _grid_svg(x: Any, size: int = 120) -> str:
    if x.ndim == 0:
        return ""
    rows = x.chunks[0] if x.ndim >= 2 else (1,)
    cols = x.chunks[-1]
    if any(isinstance(c, float) for c in rows + cols):
        return ""
    h_total, w_total = max(sum(rows), 1), max(sum(cols), 1)
    scale = size / max(h_total, w_total)
    w, h = max(w_total * scale, 10), max(h_total * scale, 10)
    lines = []
    y = 0.0
    for r in rows[:100]:
        lines.append(f'<line x1="0" y1="{y:.1f}" x2="{w:.1f}" y2="{y:.1f}" stroke="black" stroke-width="0.5"/>')
        y += r * h / h_total
    x0 = 0.0
    for c in cols[:100]:
        lines.append(f'<line x1="{x0:.1f}" y1="0" x2="{x0:.1f}" y2="{h:.1f}" stroke="black" stroke-width="0.5"/>')
        x0 += c * w / w_total
    return (f'<svg width="{w + 2:.0f}" height="{h + 2:.0f}">'
            f'<rect width="{w:.1f}" height="{h:.1f}" fill="#ecb172" fill-opacity="0.8" stroke="black"/>'
            + "".join(lines) + "</svg>")


def array_html(x: Any) -> str:
    """The ``_repr_html_`` of an Array."""
    chunk_bytes: Any = 1
    for c in x.chunksize:
        chunk_bytes *= c
    chunk_bytes *= x.dtype.itemsize
    rows = [
        ("Bytes", _bytes(x.nbytes), _bytes(chunk_bytes)),
        ("Shape", x.shape, x.chunksize),
        ("Blocks", f"{x.npartitions} blocks ({' x '.join(str(n) for n in x.numblocks) or '1'})", ""),
        ("Task graph", f"{len(x.dask.layers)} layers", ""),
        ("Data type", f"{x.dtype} numpy.ndarray", ""),
    ]
    body = "".join(
        f"<tr><th>{html.escape(str(a))}</th><td>{html.escape(str(b))}</td><td>{html.escape(str(c))}</td></tr>"
        for a, b, c in rows)
    table = (f'<table><thead><tr><td></td><th>Array</th><th>Chunk</th></tr></thead>'
             f"<tbody>{body}</tbody></table>")
    return (f'<table><tr><td>{table}</td><td>{_grid_svg(x)}</td></tr></table>')
