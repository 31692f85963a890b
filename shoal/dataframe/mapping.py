"""``map_partitions``: the partition-wise operation everything row-wise uses.

Collections among the arguments are *aligned* first: with equal divisions
(or unknown divisions and equal partition counts) partition ``i`` meets
partition ``i``; with different known divisions both sides are
repartitioned onto the union of their divisions; a one-partition Series or
DataFrame with unknown divisions is not guessed at (an error explains the
fix).  ``Scalar`` arguments are passed by reference to every partition.
"""
from __future__ import annotations

from typing import Any, Callable

from shoal.core.graph import LayeredGraph
from shoal.core.task import Task
from shoal.core.tokenize import tokenize
from shoal.utils import funcname
from shoal.dataframe import core
from shoal.dataframe.utils import emulate, make_meta

__all__ = ["map_partitions", "align_partitions"]


def align_partitions(*args: Any) -> list:
    """Arguments with every collection on the same partitioning."""
    frames = [a for a in args if isinstance(a, core._Frame)]
    if len(frames) < 2:
        return list(args)
    first = frames[0]
    if all(f.divisions == first.divisions for f in frames):
        return list(args)
    if all(f.known_divisions for f in frames):
        divs = sorted(set().union(*[set(f.divisions) for f in frames]))
        from shoal.dataframe.repartition import repartition_divisions

        return [repartition_divisions(a, divs) if isinstance(a, core._Frame) else a for a in args]
    if all(f.npartitions == first.npartitions for f in frames):
        return list(args)
    counts = ", ".join(str(f.npartitions) for f in frames)
    raise ValueError(
        f"cannot align collections with unknown divisions and different partition counts ({counts}); "
        "give them known divisions first (e.g. `df = df.set_index('key')` or "
        "`ddf.from_pandas(pdf, npartitions=n)`), or repartition them to the same count with "
        "`b = b.repartition(npartitions=a.npartitions)` when their rows line up"
    )


def map_partitions(func: Callable, *args: Any, meta: Any = core.no_default, token: str | None = None,
                   divisions: Any = core.no_default, align: bool = True, **kwargs: Any) -> Any:
    """``func`` applied to matching partitions of the collections in ``args``.

    >>> ddf.map_partitions(lambda df: df.assign(z=df.x * 2), df)
    """
    align_dataframes = kwargs.pop("align_dataframes", True)
    if not align_dataframes:
        # no alignment: collections whose partitions do not match the first's go whole to every partition
        firsts = [a for a in args if isinstance(a, core._Frame)]
        n0 = firsts[0].npartitions if firsts else 0
        args = tuple(core._whole(a) if isinstance(a, core._Frame) and a is not firsts[0] and a.npartitions != n0
                     else a for a in args)
        align = False
    if align:
        args = tuple(align_partitions(*args))
    frames = [a for a in args if isinstance(a, core._Frame)]
    if not frames:
        raise TypeError("map_partitions needs at least one DataFrame, Series or Index argument")
    first = frames[0]
    n = first.npartitions
    for f in frames:
        if f.npartitions != n:
            raise ValueError(f"partition counts differ ({n} and {f.npartitions}); repartition first")
    name = f"{token or funcname(func)}-{tokenize(func, args, kwargs)}"
    with_info = _takes_partition_info(func)
    if meta is core.no_default:
        extra = {"partition_info": {"number": 0, "division": first.divisions[0]}} if with_info else {}
        meta = emulate(func, *[core._meta_of(a) for a in args], **kwargs, **extra)
    elif isinstance(meta, (core._Frame, core.Scalar)):
        meta = meta._meta
    elif isinstance(meta, (dict, list, tuple)):
        # columns and dtypes only: the index is the input's
        meta = make_meta(meta, index=first._meta.index if first._meta.ndim else None)
    else:
        meta = make_meta(meta)
    if isinstance(meta, core.np.ndarray):
        return _array_result(func, args, kwargs, meta, name, first)
    scalar_out = not isinstance(meta, (core.pd.DataFrame, core.pd.Series, core.pd.Index))
    layer = {}
    for i in range(n):
        refs = [core._ref_for(a, i) for a in args]
        kw = dict(kwargs, partition_info={"number": i, "division": first.divisions[i]}) if with_info else kwargs
        if scalar_out:
            layer[(name, i)] = Task(_call_as_series, func, refs, kw)
        else:
            layer[(name, i)] = Task(func, *refs, **kw)
    parents = [a for a in args if isinstance(a, (core._Frame, core.Scalar))]
    if divisions is core.no_default:
        divisions = first.divisions
    if scalar_out:
        # a scalar per partition: a Series of one value per partition
        meta = core.pd.Series([], dtype=_scalar_dtype(meta))
        divisions = [None] * (n + 1)
    graph = LayeredGraph.from_collections(name, layer, parents)
    return core.new_collection(graph, name, meta, divisions)


def _array_result(func: Callable, args: tuple, kwargs: dict, meta: Any, name: str, first: Any) -> Any:
    """A function returning numpy arrays per partition: a ``shoal.array`` Array (row chunks unknown)."""
    from shoal.array.core import Array

    n = first.npartitions
    layer = {}
    for i in range(n):
        refs = [core._ref_for(a, i) for a in args]
        key = (name, i) if meta.ndim <= 1 else (name, i) + (0,) * (meta.ndim - 1)
        layer[key] = Task(func, *refs, **kwargs)
    parents = [a for a in args if isinstance(a, (core._Frame, core.Scalar))]
    graph = LayeredGraph.from_collections(name, layer, parents)
    chunks = ((core.np.nan,) * n,) + tuple((s,) for s in meta.shape[1:])
    return Array(graph, name, chunks, meta.dtype)


def _scalar_dtype(x: Any) -> Any:
    if x is None:
        return object
    dtype = getattr(x, "dtype", None)
    if dtype is not None:
        return dtype
    try:
        return core.np.asarray(x).dtype
    except Exception:
        return object


def _takes_partition_info(func: Callable) -> bool:
    """Whether ``func`` has a ``partition_info`` parameter (it then gets ``{'number': i, 'division': d}``)."""
    import inspect

    try:
        return "partition_info" in inspect.signature(func).parameters
    except (TypeError, ValueError):
        return False


def _call_as_series(func: Callable, args: list, kwargs: dict) -> Any:
    return core.pd.Series([func(*args, **kwargs)])
