"""Text and HTML views of a collection's structure (no data is computed).

Like Dask's "DataFrame Structure": one column per column of the frame,
one row per division (the first holds the dtypes, the others ``...``),
then the name of the graph and its number of layers.
"""
from __future__ import annotations

import html
from typing import Any

import pandas as pd

__all__ = ["structure_frame", "frame_repr", "frame_repr_html"]


def structure_frame(coll: Any) -> pd.DataFrame:
    """A small pandas frame standing for ``coll``: dtypes in the first row, ``...`` below."""
    meta = coll._meta
    if isinstance(meta, pd.DataFrame):
        cols = list(meta.columns)
        dtypes = [str(t) for t in meta.dtypes]
    else:
        cols = [meta.name]
        dtypes = [str(meta.dtype)]
    n = coll.npartitions
    divs = list(coll.divisions) if coll.known_divisions else [""] * (n + 1)
    rows = [dtypes] + [["..."] * len(cols) for _ in range(n)]
    index = pd.Index([str(d) for d in divs], name="npartitions=%d" % n)
    return pd.DataFrame(rows, index=index, columns=cols)


def _footer(coll: Any) -> str:
    return f"shoal Name: {coll._name}, {len(coll.dask.layers)} graph layers"


def frame_repr(coll: Any, kind: str) -> str:
    """``repr`` of a DataFrame or Series collection."""
    table = structure_frame(coll)
    if kind == "Series":
        body = table.iloc[:, 0].to_string()
        name = coll._meta.name
        return f"shoal Series Structure:\n{body}\nName: {name}, dtype: {coll._meta.dtype}\n{_footer(coll)}"
    return f"shoal DataFrame Structure:\n{table.to_string()}\n{_footer(coll)}"


def frame_repr_html(coll: Any) -> str:
    """HTML table of the structure (for notebooks)."""
    table = structure_frame(coll).to_html(escape=True)
    return (f"<div><strong>shoal DataFrame Structure:</strong></div>\n{table}\n"
            f"<div>{html.escape(_footer(coll))}</div>")
