"""Groupby aggregations with ``split_out``: per-group partials moved by a hash shuffle.

Every input partition makes its frame of partials (indexed by group, see
``groupby_agg``); those frames are hash-shuffled on their index into ``k``
partitions (``shoal.dataframe.shuffle``, with the chosen ``shuffle_method``),
so all partials of a group meet in one output partition, which merges and
finalises them on its own.  No partition ever holds more than its share of
the groups, and with ``shuffle_method="disk"`` the partials go through files.

The shuffle keeps input order inside each output partition, so ``first`` and
``last`` still follow partition order.  ``observed=False`` on categorical
keys adds each unobserved group only in the partition its hash belongs to.
Aggregations whose partials are not one frame (``nunique``, a custom
``Aggregation``), time bins, and unobserved groups mixed with
non-categorical keys are left to the callers' other paths.
"""
from __future__ import annotations

import math
from typing import Any

import pandas as pd

from shoal.core.graph import LayeredGraph
from shoal.core.task import Ref, Task
from shoal.core.tokenize import tokenize
from shoal.dataframe import core
from shoal.dataframe.groupby_agg import Plan, groupby_chunk, groupby_finalize

__all__ = ["resolve_split_out", "partials_shuffle_ok", "shuffle_tree"]


def resolve_split_out(split_out: Any, npartitions: int, nkeys: int) -> int:
    """Output partitions for ``split_out``: a number, or True for about one per 15 inputs
    (more with several keys, whose groups are usually more numerous)."""
    if split_out is True:
        per = 15 if nkeys <= 1 else 10 / (nkeys - 1)
        return max(1, math.ceil(npartitions / per))
    if split_out is None or split_out is False:
        return 1
    k = int(split_out)
    if k < 1:
        raise ValueError(f"split_out={split_out!r} must be a positive number of partitions (or True)")
    return k


def partials_shuffle_ok(plan: Plan, partial_meta: Any) -> bool:
    """Whether ``plan``'s partials can be shuffled as one frame and finished partition by partition."""
    if plan.distinct or plan.customs:
        return False
    names = [n for n in partial_meta.index.names if n is not None]
    if len(names) != len(set(names)):  # the index becomes columns to be hashed
        return False
    if plan.fill is None:
        return True
    kind, info = plan.fill
    # an unobserved group is a product of levels; only categorical levels are known everywhere
    return kind == "categories" and all(c is not None for c in info)


def _partials(df: Any, plan: Plan, *extra: Any) -> pd.DataFrame:
    return groupby_chunk(df, plan, *extra)[0]


def _finish_part(partials: pd.DataFrame, plan: Plan, k: int, j: int) -> Any:
    return groupby_finalize([(partials, {})], plan, part=(k, j))


def shuffle_tree(args: list, plan: Plan, meta: Any, partial_meta: Any, k: int, method: Any = None) -> Any:
    """The aggregation of ``args[0]`` (keys from ``args[1:]``) in ``k`` partitions through a shuffle."""
    from shoal.dataframe.mapping import align_partitions
    from shoal.dataframe.shuffle import INDEX, shuffle

    if isinstance(method, bool):  # Dask's shuffle_method=True/False: the configured method
        method = None
    if len(args) > 1:
        args = align_partitions(*args)
    frame = args[0]
    tok = tokenize(args, plan, k)
    pname = f"groupby-partials-{tok}"
    layer = {(pname, i): Task(_partials, Ref((frame._name, i)), plan, *[Ref((a._name, i)) for a in args[1:]])
             for i in range(frame.npartitions)}
    partials = core.new_collection(LayeredGraph.from_collections(pname, layer, args), pname, partial_meta,
                                   [None] * (frame.npartitions + 1))
    moved = shuffle(partials, INDEX, npartitions=k, method=method)
    name = f"groupby-split-agg-{tokenize(moved._name, plan, k)}"
    layer = {(name, j): Task(_finish_part, Ref((moved._name, j)), plan, k, j) for j in range(k)}
    graph = LayeredGraph.from_collections(name, layer, [moved])
    return core.new_collection(graph, name, meta, [None] * (k + 1))


# -- whole-group methods (median, nunique, ...) with observed=False -----------------------
def keep_level_dtypes(res: Any, like: Any) -> Any:
    """``res`` with the index level dtypes of ``like`` (concat makes categorical levels plain)."""
    if not isinstance(res.index, pd.MultiIndex) or not isinstance(like.index, pd.MultiIndex):
        return res
    want = [like.index.get_level_values(i).dtype for i in range(like.index.nlevels)]
    have = [res.index.get_level_values(i) for i in range(res.index.nlevels)]
    if len(want) != len(have) or all(h.dtype == w for h, w in zip(have, want)):
        return res
    res = res.copy(deep=False)
    res.index = pd.MultiIndex.from_arrays([h.astype(w) for h, w in zip(have, want)], names=res.index.names)
    return res


def add_unobserved(out: Any, template: Any, nkeys: int, k: int, j: int, sort: bool) -> Any:
    """``out`` (the observed groups of output partition ``j`` of ``k``) plus the groups of
    ``template`` (pandas' answer on no rows: every unobserved group) that are missing and
    hash to ``j``, so each unobserved group appears in exactly one partition."""
    from shoal.dataframe.shuffle import INDEX, hash_partitions

    idx = template.index
    keys = idx.droplevel(list(range(nkeys, idx.nlevels))) if idx.nlevels > nkeys else idx
    mine = hash_partitions(pd.DataFrame(index=keys), INDEX, k) == j if k > 1 else True
    extra = template[~idx.isin(out.index) & mine]
    if not len(extra):
        return out
    res = keep_level_dtypes(pd.concat([out, extra]) if len(out) else extra, template)
    if sort:
        levels = list(range(min(nkeys, res.index.nlevels)))
        res = res.sort_index(level=levels if res.index.nlevels > 1 else None, sort_remaining=False, kind="stable")
    return res


def _run_with_unobserved(df: pd.DataFrame, spec: dict, method: str, args: tuple, kwargs: dict, name: Any,
                         meta: Any, k: int, j: int) -> Any:
    import warnings

    import numpy as np

    from shoal.dataframe.groupby_apply import partition_groupby, run_method

    out = run_method(df, dict(spec, observed=True), method, args, kwargs, name, True, meta)
    # pandas on no rows of this partition's dtypes (its categories, known or not): every group
    # unobserved, with the value pandas gives an empty group
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore", RuntimeWarning)
        template = getattr(partition_groupby(df.iloc[:0], dict(spec, observed=False)), method)(*args, **kwargs)
    if isinstance(template, pd.Series):
        template = template.rename(name)
    return add_unobserved(out, template, len(spec["specs"]), k, j, spec["sort"])


def with_unobserved(shuffled: Any, spec: dict, method: str, args: tuple, kwargs: dict, name: Any, meta: Any) -> Any:
    """``method`` on every partition of the shuffled frame, observed groups plus the unobserved
    ones whose hash (over the ``k`` partitions) is that partition's."""
    k = shuffled.npartitions
    tok = tokenize(shuffled, spec, method, args, kwargs, name)
    oname = f"groupby-{method}-{tok}"
    layer = {(oname, j): Task(_run_with_unobserved, Ref((shuffled._name, j)), spec, method, args, kwargs, name,
                              meta, k, j) for j in range(k)}
    graph = LayeredGraph.from_collections(oname, layer, [shuffled])
    return core.new_collection(graph, oname, meta, [None] * (k + 1))
