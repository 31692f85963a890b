"""How a partitioned right/outer merge labels missing values in object key columns.

pandas builds the shared key column of a ``right`` or ``outer`` merge from
the left keys, filling the rows that have no left row with the right keys.
When *some* row of the whole result has a left row, that fill goes through
``Index.where``, which first infers a dtype for the whole right key column:
all strings or missing infers strings, so ``None`` (and ``pd.NA``) become
``NaN``; datetime objects infer datetimes, so ``None`` becomes ``NaT``.
When *no* row has a left row the right keys are copied as they are.

Both conditions are about the whole result, not one partition, so a
partitioned merge with object keys cannot decide them alone: each pair of
partitions reports a small summary (does a left row survive? one value of
each kind among the right keys), the summaries are combined, and each
partition's merge labels its right-only rows from that.  Only
``right``/``outer`` merges on object key columns take this path.
"""
from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

_IND = "__shoal_merge_side__"
_RKEY = "__shoal_right_key_{}__"


def object_fill_keys(kw: dict, left_meta: pd.DataFrame, right_meta: pd.DataFrame) -> list:
    """The key columns whose right-only rows pandas labels from the whole result (else [])."""
    if kw.get("how") not in ("right", "outer") or kw.get("left_index") or kw.get("right_index"):
        return []
    lk, rk = _join_keys(kw, left_meta, right_meta)
    out = []
    for a, b in zip(lk, rk):
        if isinstance(a, str) and a == b and a in left_meta.columns and b in right_meta.columns \
                and left_meta[a].dtype == object and right_meta[b].dtype == object:
            out.append(a)
    return out


def _join_keys(kw: dict, left: pd.DataFrame, right: pd.DataFrame) -> tuple:
    on = kw.get("on")
    if on is not None:
        lk = rk = on if isinstance(on, list) else [on]
    else:
        lk, rk = kw.get("left_on"), kw.get("right_on")
        if lk is None or rk is None:
            lk = rk = [c for c in left.columns if c in right.columns]
    return (lk if isinstance(lk, list) else [lk]), (rk if isinstance(rk, list) else [rk])


def _signature(v: Any) -> tuple:
    """What pandas' type inference of an object array sees in one value."""
    missing = v is None or v is pd.NA or v is pd.NaT or (isinstance(v, float) and v != v)
    return type(v), missing, str(getattr(v, "tz", None)), getattr(v, "unit", None), getattr(v, "freqstr", None)


def _representatives(values: Any) -> list:
    """One value of each kind in ``values``: the array infers the same dtype as all of them."""
    seen: dict = {}
    for v in pd.unique(np.asarray(values, dtype=object)):
        seen.setdefault(_signature(v), v)
    return list(seen.values())


def summarize(left: pd.DataFrame, right: pd.DataFrame, kw: dict, keys: list) -> tuple:
    """What one pair of partitions says about the whole result: (a row with a left row, a left row
    without a right row, one value of each kind among each key's right values)."""
    lk, rk = _join_keys(kw, left, right)
    if len(left) and len(right):
        lkeys = left[lk].drop_duplicates()
        rkeys = right[rk].drop_duplicates()
        side = pd.merge(lkeys, rkeys, left_on=lk, right_on=rk, how="left", indicator=_IND)[_IND]
        matched, left_alone = bool((side == "both").any()), bool((side == "left_only").any())
    else:
        matched, left_alone = False, len(left) > 0
    has_left = matched or (kw["how"] == "outer" and len(left) > 0)
    return has_left, kw["how"] == "outer" and left_alone, tuple(_representatives(right[k]) for k in keys)


def combine(parts: list) -> tuple:
    """The summaries of every partition pair as one: (a left row anywhere, one example array per key)."""
    has_left = any(p[0] for p in parts)
    fill = [np.nan] if any(p[1] for p in parts) else []  # pandas fills a right key with NaN on left-only rows
    nkeys = len(parts[0][2]) if parts else 0
    examples = []
    for i in range(nkeys):
        examples.append(_representatives([v for p in parts for v in p[2][i]] + fill))
    return has_left, tuple(examples)


def _as_pandas_fills(values: np.ndarray, examples: list) -> np.ndarray:
    """``values`` as pandas fills them into an object key column: ``Index.where`` with the whole
    right key column, which it infers as a Series (strings, datetimes, ...) first.  ``examples``
    hold one value of each kind in that column, so they infer as the whole column does."""
    other = np.concatenate([np.asarray(examples, dtype=object), values])
    n = len(other)
    filled = pd.Index(np.full(n, np.nan, dtype=object)).where(np.zeros(n, dtype=bool), other)
    return filled.to_numpy(dtype=object)[len(examples):]


def merge_labelled(left: pd.DataFrame, right: pd.DataFrame, kw: dict, keys: list, whole: tuple) -> pd.DataFrame:
    """``pd.merge`` of one pair of partitions, its right-only key values labelled as the whole result's."""
    has_left, examples = whole
    user_ind = kw.get("indicator")
    ind = user_ind if isinstance(user_ind, str) else ("_merge" if user_ind else _IND)
    copies = {_RKEY.format(i): right[k] for i, k in enumerate(keys)}
    out = pd.merge(left, right.assign(**copies), **dict(kw, indicator=ind))
    only_right = (out[ind] == "right_only").to_numpy()
    if only_right.any():
        for i, k in enumerate(keys):
            vals = out[k].to_numpy(dtype=object, copy=True)
            fill = out[_RKEY.format(i)].to_numpy(dtype=object)[only_right]
            # with no left row anywhere pandas copies the right keys as they are
            vals[only_right] = _as_pandas_fills(fill, examples[i]) if has_left else fill
            out[k] = pd.Series(vals, index=out.index, dtype=object)
    return out.drop(columns=list(copies) + ([] if user_ind else [ind]))
