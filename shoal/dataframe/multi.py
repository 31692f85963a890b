"""``merge``/``join`` and ``concat``.

Merge strategies, cheapest first:

1. *broadcast*: one side is a pandas frame, or has one partition (or
   ``broadcast=True``), and the join keeps only the other side's unmatched
   rows (inner; left when the small side is on the right; right when it is
   on the left): the small side is sent whole to every partition of the big
   one; no rows move.
2. *aligned index join*: both sides are joined on their indexes and have
   the same known divisions (after repartitioning onto their union).
3. *hash shuffle*: both sides are shuffled on their keys into the same
   number of partitions, then merged partition by partition.
"""
from __future__ import annotations

from typing import Any

import pandas as pd

from shoal.core.graph import LayeredGraph
from shoal.core.task import Ref, Task
from shoal.core.tokenize import tokenize
from shoal.dataframe import core
from shoal.dataframe.io.convert import from_pandas
from shoal.dataframe import merge_keys
from shoal.dataframe.mapping import align_partitions, map_partitions
from shoal.dataframe.optimize import register_columns
from shoal.dataframe.shuffle import INDEX, shuffle
from shoal.dataframe.utils import emulate

__all__ = ["merge", "concat"]


def merge_parts(left: pd.DataFrame, right: pd.DataFrame, kwargs: dict) -> pd.DataFrame:
    return pd.merge(left, right, **kwargs)


def _as_list(x: Any) -> list:
    if x is None:
        return []
    return list(x) if isinstance(x, (list, tuple)) else [x]


@register_columns(merge_parts)
@register_columns(merge_keys.merge_labelled)
def _merge_cols(task: Any, need: Any) -> dict:
    """Each side needs its join keys plus every needed output column under
    its own name or with a suffix stripped (so overlapping names, and hence
    suffixing, stay as they were)."""
    left, right, kw = task.args[:3]
    if need is None or kw.get("left_index") or kw.get("right_index") or kw.get("indicator"):
        return {}
    on = _as_list(kw.get("on"))
    lkeys = on or _as_list(kw.get("left_on"))
    rkeys = on or _as_list(kw.get("right_on"))
    if not lkeys or not rkeys:
        return {}  # keys inferred from common columns: keep everything
    names = set(need)
    for sfx in kw.get("suffixes") or ():
        if sfx:
            names |= {n[: -len(sfx)] for n in need if isinstance(n, str) and n.endswith(sfx)}
    out = {}
    if type(left) is Ref:
        out[left.key] = frozenset(names | set(lkeys))
    if type(right) is Ref:
        out[right.key] = frozenset(names | set(rkeys))
    return out


@register_columns(merge_keys.summarize)
def _summary_cols(task: Any, need: Any) -> dict:
    """A summary reads the join keys of both sides."""
    left, right, kw, keys = task.args
    lk = _as_list(kw.get("on")) or _as_list(kw.get("left_on"))
    rk = _as_list(kw.get("on")) or _as_list(kw.get("right_on"))
    if not lk or not rk:
        return {}
    out = {}
    if type(left) is Ref:
        out[left.key] = frozenset(lk)
    if type(right) is Ref:
        out[right.key] = frozenset(rk)
    return out


def merge(left: Any, right: Any, how: str = "inner", on: Any = None, left_on: Any = None, right_on: Any = None,
          left_index: bool = False, right_index: bool = False, suffixes: tuple = ("_x", "_y"),
          npartitions: int | None = None, broadcast: bool | None = None, indicator: bool = False, **kwargs: Any) -> Any:
    """Database-style join of two collections (or a collection and a pandas frame)."""
    if how not in ("inner", "left", "right", "outer", "leftsemi"):
        raise ValueError(f"merge(how={how!r}) is not supported; use 'inner', 'left', 'right' or 'outer'")
    kw = dict(how=how, on=on, left_on=left_on, right_on=right_on, left_index=left_index,
              right_index=right_index, suffixes=suffixes, indicator=indicator, **kwargs)
    if isinstance(left, pd.DataFrame) and isinstance(right, pd.DataFrame):
        return pd.merge(left, right, **kw)
    if isinstance(left, (pd.DataFrame, pd.Series)):
        left = from_pandas(left, npartitions=1)
    if isinstance(right, (pd.DataFrame, pd.Series)):
        right_small = right
    else:
        right_small = None
    meta = emulate(pd.merge, left._meta, right._meta if right_small is None else right_small.iloc[:0], **kw)

    # 1. broadcast the small side
    right_n = 1 if right_small is not None else right.npartitions
    if broadcast is not False and how in ("inner", "left") and (right_small is not None or right_n == 1 or broadcast):
        small = right_small if right_small is not None else right
        if right_small is None and right_n > 1:
            small = right.repartition(npartitions=1)
        return _broadcast(left, small, kw, meta, small_on_right=True)
    fill_keys = merge_keys.object_fill_keys(kw, left._meta, right._meta if right_small is None else right_small)
    if broadcast is not False and how in ("inner", "right") and left.npartitions == 1 and right_small is None:
        if fill_keys:
            return _labelled(left, right, kw, meta, fill_keys, left_whole=True)
        return _broadcast(right, left, kw, meta, small_on_right=False)
    if right_small is not None:
        right = from_pandas(right_small, npartitions=1)

    # 2. index-aligned join with known divisions
    if left_index and right_index and left.known_divisions and right.known_divisions:
        l2, r2 = align_partitions(left, right)
        return map_partitions(merge_parts, l2, r2, kw, meta=meta, token="merge-aligned", align=False)

    # 3. hash shuffle both sides
    lkey = INDEX if left_index else (left_on if left_on is not None else on)
    rkey = INDEX if right_index else (right_on if right_on is not None else on)
    if lkey is None or rkey is None:
        common = [c for c in left._meta.columns if c in right._meta.columns]
        lkey = rkey = common
    if isinstance(lkey, str) and lkey != INDEX:
        lkey = [lkey]
    if isinstance(rkey, str) and rkey != INDEX:
        rkey = [rkey]
    _check_key_dtypes(left, right, lkey, rkey)
    k = npartitions or max(left.npartitions, right.npartitions)
    ls = shuffle(left, lkey, npartitions=k)
    rs = shuffle(right, rkey, npartitions=k)
    if fill_keys:
        return _labelled(ls, rs, kw, meta, fill_keys, left_whole=False)
    return map_partitions(merge_parts, ls, rs, kw, meta=meta, token="merge", align=False,
                          divisions=[None] * (k + 1))


def _check_key_dtypes(left: Any, right: Any, lkey: Any, rkey: Any) -> None:
    """Hashes of int and float keys differ; insist on matching dtypes so no rows are lost."""
    if lkey == INDEX or rkey == INDEX:
        return
    for a, b in zip(lkey, rkey):
        da, db = left._meta[a].dtype, right._meta[b].dtype
        texty = pd.api.types.is_string_dtype(da) and pd.api.types.is_string_dtype(db)
        if da != db and not texty:
            raise TypeError(
                f"merge keys {a!r} ({da}) and {b!r} ({db}) have different dtypes, so equal values could "
                f"hash to different partitions; cast one first, e.g. right = right.astype({{{b!r}: '{da}'}})"
            )


def _labelled(left: Any, right: Any, kw: dict, meta: Any, keys: list, left_whole: bool) -> Any:
    """Partition pairs merged with object keys labelled as pandas labels the whole result
    (``shoal.dataframe.merge_keys``): a summary per pair, one combined flag, then the merges.
    ``left_whole``: ``left`` has one partition, paired with every partition of ``right``."""
    name = "merge-" + tokenize(left, right, kw, keys)
    sname, wname = "merge-summary-" + name[6:], "merge-whole-" + name[6:]
    layer: dict = {}
    n = right.npartitions
    for i in range(n):
        a, b = Ref((left._name, 0 if left_whole else i)), Ref((right._name, i))
        layer[(sname, i)] = Task(merge_keys.summarize, a, b, kw, keys)
    layer[(wname, 0)] = Task(merge_keys.combine, [Ref((sname, i)) for i in range(n)])
    for i in range(n):
        a, b = Ref((left._name, 0 if left_whole else i)), Ref((right._name, i))
        layer[(name, i)] = Task(merge_keys.merge_labelled, a, b, kw, keys, Ref((wname, 0)))
    graph = LayeredGraph.from_collections(name, layer, [left, right])
    return core.new_collection(graph, name, meta, [None] * (n + 1))


def _broadcast(big: Any, small: Any, kw: dict, meta: Any, small_on_right: bool) -> Any:
    if isinstance(small, pd.DataFrame):
        sname = "merge-small-" + tokenize(small)
        sgraph = LayeredGraph({sname: {sname: small}})
        sref = Ref(sname)
        parents = [big]
        extra_layers = sgraph.layers
    else:
        sref = Ref((small._name, 0))
        parents = [big, small]
        extra_layers = {}
    name = "merge-broadcast-" + tokenize(big, small if not isinstance(small, pd.DataFrame) else sname, kw)
    layer = {}
    for i in range(big.npartitions):
        a, b = (Ref((big._name, i)), sref) if small_on_right else (sref, Ref((big._name, i)))
        layer[(name, i)] = Task(merge_parts, a, b, kw)
    graph = LayeredGraph.from_collections(name, layer, parents)
    graph.layers.update(extra_layers)
    divs = big.divisions if (kw.get("left_index") and kw.get("right_index")) else [None] * (big.npartitions + 1)
    return core.new_collection(graph, name, meta, divs)


def concat(dfs: list, axis: int = 0, join: str = "outer", interleave_partitions: bool = False,
           ignore_index: bool = False) -> Any:
    """Stack collections: ``axis=0`` puts partitions one after another (columns joined by ``join``:
    'outer' fills missing ones with NaN, 'inner' keeps the shared ones); ``axis=1`` puts them side by
    side, aligned by index.  ``interleave_partitions=True`` merges known divisions into one sorted
    order; ``ignore_index=True`` numbers the rows 0..n-1 (lazily, from the partition lengths).
    """
    if join not in ("outer", "inner"):
        raise ValueError(f"concat(join={join!r}): use 'outer' or 'inner'")
    dfs = [from_pandas(d, npartitions=1) if isinstance(d, (pd.DataFrame, pd.Series)) else d for d in dfs]
    if not dfs:
        raise ValueError("concat needs at least one collection")
    if axis in (1, "columns"):
        out = map_partitions(_concat1, join, *dfs, token="concat-axis1")
        return _renumber(out) if ignore_index else out
    metas = [d._meta for d in dfs]
    meta = pd.concat(metas, join=join)
    if ignore_index:
        meta = meta.reset_index(drop=True)
    known = all(d.known_divisions for d in dfs)
    if interleave_partitions and known and len(dfs) > 1 and not ignore_index:
        return _interleave(dfs, meta, join)
    name = "concat-" + tokenize(dfs, join)
    layer = {}
    i = 0
    for d in dfs:
        for j in range(d.npartitions):
            layer[(name, i)] = Task(_conform, Ref((d._name, j)), meta, join)
            i += 1
    if ignore_index:
        graph = LayeredGraph.from_collections(name, layer, dfs)
        return _renumber(core.new_collection(graph, name, meta, [None] * (i + 1)))
    ordered = known and all(dfs[a].divisions[-1] < dfs[a + 1].divisions[0] for a in range(len(dfs) - 1))
    if ordered:
        divs = []
        for d in dfs:
            divs.extend(d.divisions[:-1])
        divs.append(dfs[-1].divisions[-1])
    else:
        divs = [None] * (i + 1)
    graph = LayeredGraph.from_collections(name, layer, dfs)
    return core.new_collection(graph, name, meta, divs)


def _concat1(join: str, *parts: Any) -> Any:
    return pd.concat(parts, axis=1, join=join)


def _interleave(dfs: list, meta: Any, join: str) -> Any:
    """Collections with known divisions merged onto the union of their divisions (sorted result)."""
    from shoal.dataframe.repartition import repartition_divisions

    divs = sorted(set().union(*[set(d.divisions) for d in dfs]))
    if len(divs) < 2:
        divs = divs * 2
    parts = [repartition_divisions(d, divs) for d in dfs]
    name = "concat-interleave-" + tokenize(dfs, join)
    layer = {}
    for i in range(len(divs) - 1):
        for k, p in enumerate(parts):
            layer[(name + "-piece", i, k)] = Task(_conform, Ref((p._name, i)), meta, join)
        layer[(name, i)] = Task(_concat_sorted, [Ref((name + "-piece", i, k)) for k in range(len(parts))])
    graph = LayeredGraph.from_collections(name, layer, parts)
    return core.new_collection(graph, name, meta, divs)


def _concat_sorted(pieces: list) -> Any:
    nonempty = [p for p in pieces if len(p)]
    if not nonempty:
        return pieces[0]
    return pd.concat(nonempty).sort_index(kind="stable") if len(nonempty) > 1 else nonempty[0]


def _length(part: Any) -> int:
    return len(part)


def _offset(prev: Any, prev_len: Any) -> int:
    return 0 if prev is None else prev + prev_len


def _with_range_index(part: Any, start: int) -> Any:
    part = part.copy(deep=False)
    part.index = pd.RangeIndex(start, start + len(part))
    return part


def _renumber(frame: Any) -> Any:
    """Rows numbered 0..n-1 across partitions: a chain of offsets (one small task per partition)."""
    tok = tokenize(frame, "renumber")
    lname, oname, name = f"len-{tok}", f"offset-{tok}", f"ignore-index-{tok}"
    layer: dict = {}
    for i in range(frame.npartitions):
        layer[(lname, i)] = Task(_length, Ref((frame._name, i)))
        layer[(oname, i)] = (Task(_offset, Ref((oname, i - 1)), Ref((lname, i - 1))) if i
                             else Task(_offset, None, 0))
        layer[(name, i)] = Task(_with_range_index, Ref((frame._name, i)), Ref((oname, i)))
    graph = LayeredGraph.from_collections(name, layer, [frame])
    meta = frame._meta.reset_index(drop=True)
    return core.new_collection(graph, name, meta, [None] * (frame.npartitions + 1))


def _conform(df: Any, meta: Any, join: str) -> Any:
    if isinstance(meta, pd.DataFrame) and isinstance(df, pd.DataFrame):
        if list(df.columns) != list(meta.columns):
            df = df.reindex(columns=meta.columns)
        diff = [c for c in meta.columns if df[c].dtype != meta[c].dtype]
        if diff:
            df = df.astype({c: meta[c].dtype for c in diff}, errors="ignore")
    elif isinstance(meta, pd.DataFrame) and isinstance(df, pd.Series):
        df = df.to_frame().reindex(columns=meta.columns)
    return df
