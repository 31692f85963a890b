"""Self-contained charts as inline SVG, and the HTML page that holds them.

Profiler plots and the distributed performance report must open anywhere,
with no network and no JavaScript library, so they are drawn here as plain
SVG strings: a *task stream* (one row per worker thread, one rectangle per
task coloured by its group, hover for details) and *line charts* sharing the
same time axis.  ``html_page`` wraps sections into one HTML file.

Colours are chosen per task group from a fixed palette, by a stable hash
(``group_color``) or, within one plot or report, one distinct colour per
group (``distinct_colors``).
"""
from __future__ import annotations

import hashlib
import html
from typing import Iterable, Sequence

__all__ = ["PALETTE", "group_color", "distinct_colors", "task_stream_svg", "line_chart_svg", "legend_html",
           "html_page", "table_html"]

PALETTE = [
    "#1f77b4", "#ff7f0e", "#2ca02c", "#9467bd", "#8c564b", "#e377c2", "#17becf",
    "#bcbd22", "#393b79", "#637939", "#8c6d31", "#843c39", "#7b4173", "#3182bd",
    "#e6550d", "#31a354", "#756bb1", "#636363",
]
ERROR_COLOR = "#7f0000"
TRANSFER_COLOR = "#d9534f"
SPILL_COLOR = "#555555"


def group_color(group: str) -> str:
    """Stable colour of a task group (same in every plot and the dashboard)."""
    h = int.from_bytes(hashlib.blake2b(group.encode(), digest_size=4).digest(), "big")
    return PALETTE[h % len(PALETTE)]


def _esc(s: object) -> str:
    return html.escape(str(s), quote=True)


def _ticks(t0: float, t1: float, n: int = 6) -> list[float]:
    span = max(t1 - t0, 1e-9)
    raw = span / n
    mag = 10 ** int(f"{raw:e}".split("e")[1])
    step = next(m * mag for m in (1, 2, 5, 10) if m * mag >= raw)
    first = (t0 // step) * step
    out = []
    t = first
    while t <= t1 + 1e-12:
        if t >= t0 - 1e-12:
            out.append(round(t, 9))
        t += step
    return out


def _fmt_s(t: float) -> str:
    if t == 0:
        return "0 s"
    if abs(t) < 1:
        return f"{t * 1000:.0f} ms"
    return f"{t:.3g} s"


def distinct_colors(groups: Iterable[str]) -> dict[str, str]:
    """A different palette colour per group (sorted by name), for one plot or report."""
    return {g: PALETTE[i % len(PALETTE)] for i, g in enumerate(sorted(set(groups)))}


def task_stream_svg(events: Iterable[dict], *, width: int = 900, row_height: int = 18,
                    t0: float | None = None, t1: float | None = None,
                    title: str = "Task stream", colors: dict | None = None) -> str:
    """One row per worker thread, one rectangle per event.

    Each event is a dict with ``row`` (worker/thread label), ``start``,
    ``stop`` (seconds), ``group`` and optionally ``key`` and ``kind``
    (``compute`` default, ``transfer``, ``spill``, ``error``).
    """
    evs = list(events)
    rows: list[str] = []
    seen: set = set()
    for e in evs:
        if e["row"] not in seen:
            seen.add(e["row"])
            rows.append(e["row"])
    rows.sort(key=lambda r: (str(r).rsplit("#", 1)[0], len(str(r)), str(r)))
    if t0 is None:
        t0 = min((e["start"] for e in evs), default=0.0)
    if t1 is None:
        t1 = max((e["stop"] for e in evs), default=t0 + 1.0)
    t1 = max(t1, t0 + 1e-6)
    left, right, top, bottom = 140, 10, 24, 28
    plot_w = width - left - right
    height = top + bottom + row_height * max(len(rows), 1)
    sx = plot_w / (t1 - t0)
    index = {r: i for i, r in enumerate(rows)}
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" class="task-stream" width="{width}" '
             f'height="{height}" viewBox="0 0 {width} {height}" font-family="sans-serif" font-size="11">',
             f'<text x="{left}" y="14" font-size="13" font-weight="bold">{_esc(title)}</text>']
    for r, i in index.items():
        y = top + i * row_height
        parts.append(f'<text x="{left - 6}" y="{y + row_height * 0.7:.1f}" text-anchor="end">{_esc(r)}</text>')
        parts.append(f'<line x1="{left}" x2="{width - right}" y1="{y + row_height}" '
                     f'y2="{y + row_height}" stroke="#eee"/>')
    for e in evs:
        kind = e.get("kind", "compute")
        color = {"transfer": TRANSFER_COLOR, "spill": SPILL_COLOR, "error": ERROR_COLOR}.get(
            kind, (colors or {}).get(e.get("group")) or group_color(str(e.get("group", ""))))
        x = left + (e["start"] - t0) * sx
        w = max((e["stop"] - e["start"]) * sx, 0.8)
        y = top + index[e["row"]] * row_height + 2
        h = row_height - 4 if kind == "compute" else (row_height - 4) / 2
        tip = f'{e.get("key", e.get("group", ""))} ({kind}) {_fmt_s(e["stop"] - e["start"])}'
        parts.append(f'<rect class="task {kind}" data-group="{_esc(e.get("group", ""))}" x="{x:.2f}" '
                     f'y="{y:.1f}" width="{w:.2f}" height="{h:.1f}" fill="{color}">'
                     f'<title>{_esc(tip)}</title></rect>')
    parts.append(_time_axis(left, width - right, height - bottom, t0, t1, sx))
    parts.append("</svg>")
    return "".join(parts)


def _time_axis(x0: float, x1: float, y: float, t0: float, t1: float, sx: float,
               origin: float | None = None) -> str:
    origin = t0 if origin is None else origin
    out = [f'<line x1="{x0}" x2="{x1}" y1="{y}" y2="{y}" stroke="#333"/>']
    for t in _ticks(t0, t1):
        x = x0 + (t - t0) * sx
        out.append(f'<line x1="{x:.1f}" x2="{x:.1f}" y1="{y}" y2="{y + 4}" stroke="#333"/>'
                   f'<text x="{x:.1f}" y="{y + 16}" text-anchor="middle">{_fmt_s(t - origin)}</text>')
    return "".join(out)


def line_chart_svg(series: Sequence[tuple[str, Sequence[float], Sequence[float]]], *,
                   title: str, unit: str = "", width: int = 900, height: int = 180,
                   t0: float | None = None, t1: float | None = None, step: bool = False) -> str:
    """Lines over a time axis; ``series`` is ``[(label, times, values), ...]``."""
    all_t = [t for _, ts, _ in series for t in ts]
    all_v = [v for _, _, vs in series for v in vs]
    if t0 is None:
        t0 = min(all_t, default=0.0)
    if t1 is None:
        t1 = max(all_t, default=t0 + 1.0)
    t1 = max(t1, t0 + 1e-6)
    vmax = max(all_v, default=1.0) or 1.0
    left, right, top, bottom = 140, 10, 24, 28
    plot_w, plot_h = width - left - right, height - top - bottom
    sx = plot_w / (t1 - t0)
    sy = plot_h / (vmax * 1.05)
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" class="line-chart" width="{width}" '
             f'height="{height}" viewBox="0 0 {width} {height}" font-family="sans-serif" font-size="11">',
             f'<text x="{left}" y="14" font-size="13" font-weight="bold">{_esc(title)}</text>']
    for v in _ticks(0, vmax * 1.05, 4):
        y = top + plot_h - v * sy
        parts.append(f'<line x1="{left}" x2="{width - right}" y1="{y:.1f}" y2="{y:.1f}" stroke="#eee"/>'
                     f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end">{v:g} {_esc(unit)}</text>')
    for i, (label, ts, vs) in enumerate(series):
        color = PALETTE[i % len(PALETTE)]
        pts = []
        prev = None
        for t, v in zip(ts, vs):
            x = left + (t - t0) * sx
            y = top + plot_h - v * sy
            if step and prev is not None:
                pts.append(f"{x:.1f},{prev:.1f}")
            pts.append(f"{x:.1f},{y:.1f}")
            prev = y
        if pts:
            parts.append(f'<polyline class="series" data-label="{_esc(label)}" fill="none" '
                         f'stroke="{color}" stroke-width="1.5" points="{" ".join(pts)}"/>')
        parts.append(f'<text x="{left + 8 + 150 * i}" y="{top + 10}" fill="{color}">{_esc(label)}</text>')
    parts.append(_time_axis(left, width - right, height - bottom, t0, t1, sx))
    parts.append("</svg>")
    return "".join(parts)


def legend_html(groups: Iterable[str], colors: dict | None = None,
                kinds: Iterable[str] = ()) -> str:
    """Swatches for task groups, then for the fixed-colour kinds present (transfer, ...)."""
    colors = colors or {}
    kinds = set(kinds)
    fixed = {"transfer": TRANSFER_COLOR, "spill": SPILL_COLOR, "error": ERROR_COLOR}
    items = "".join(
        f'<span class="legend-item"><span class="swatch" '
        f'style="background:{colors.get(g) or group_color(g)}"></span>{_esc(g)}</span>'
        for g in sorted(set(groups)))
    items += "".join(
        f'<span class="legend-item"><span class="swatch" style="background:{fixed[k]}"></span>'
        f'<i>{k}</i></span>' for k in ("transfer", "spill", "error") if k in kinds)
    return f'<div class="legend">{items}</div>'


def table_html(header: Sequence[str], rows: Iterable[Sequence[object]], cls: str = "") -> str:
    head = "".join(f"<th>{_esc(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{_esc(c)}</td>" for c in r) + "</tr>" for r in rows)
    return f'<table class="{cls}"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'


_CSS = """
body{font-family:sans-serif;margin:20px;color:#222}
h1{font-size:20px}h2{font-size:16px;margin-top:28px}
.legend{margin:6px 0 6px 140px;font-size:12px}
.legend-item{margin-right:12px;white-space:nowrap}
.swatch{display:inline-block;width:10px;height:10px;margin-right:4px}
table{border-collapse:collapse;font-size:13px}
td,th{border:1px solid #ccc;padding:3px 8px;text-align:right}
th{background:#f4f4f4}td:first-child,th:first-child{text-align:left}
.meta{color:#666;font-size:13px}
"""


def html_page(title: str, sections: Iterable[tuple[str, str, str]], meta: str = "") -> str:
    """One self-contained page; ``sections`` is ``[(id, heading, inner_html), ...]``."""
    body = "".join(f'<section id="{_esc(sid)}"><h2>{_esc(h)}</h2>{inner}</section>'
                   for sid, h, inner in sections)
    return (f'<!DOCTYPE html><html><head><meta charset="utf-8"><title>{_esc(title)}</title>'
            f"<style>{_CSS}</style></head><body><h1>{_esc(title)}</h1>"
            f'<div class="meta">{meta}</div>{body}</body></html>')
