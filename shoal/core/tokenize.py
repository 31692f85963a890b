"""Deterministic tokens: equal inputs give equal tokens, in any process.

``tokenize(*args, **kwargs)`` returns a 32-hex-digit digest.  Each value is
first *normalised* into a tree of plain, hashable-as-bytes pieces (str,
bytes, numbers, tuples) by a type-dispatched ``normalize_token``, then the
tree's canonical encoding is hashed.  Rules:

* builtins by value; dicts and sets order-independently;
* numpy arrays and pandas objects by content (dtype, shape, strides-free
  bytes); large buffers are hashed with xxhash when installed (several GB/s)
  or blake2b otherwise, instead of being encoded;
* functions by module + qualified name when importable, else by their code,
  defaults and closure (lambdas and closures from ``__main__`` included);
* objects may define ``__shoal_tokenize__()``; dataclasses by fields;
* anything else with no deterministic content gets a fresh random token, so
  two different objects are never confused.
"""
from __future__ import annotations

import dataclasses
import collections
import datetime
import decimal
import enum
import functools
import hashlib
import pathlib
import threading
import types
import uuid
from typing import Any, Callable

__all__ = ["tokenize", "normalize_token", "register"]

try:  # optional, much faster for big buffers
    import xxhash

    def _hash_buffer(buf: memoryview) -> str:
        return xxhash.xxh3_128_hexdigest(buf)
except ImportError:  # pragma: no cover - depends on the environment

    def _hash_buffer(buf: memoryview) -> str:
        return hashlib.blake2b(buf, digest_size=16).hexdigest()


_dispatch: dict[type, Callable[[Any], Any]] = {}
_lazy_registered = False


def register(*types_: type) -> Callable:
    """Decorator: ``@register(MyType)`` adds a normaliser for ``MyType``."""

    def deco(fn: Callable) -> Callable:
        for t in types_:
            _dispatch[t] = fn
        return fn

    return deco


def _identity(x: Any) -> Any:
    return x


_IDENTITY_TYPES = (int, float, str, bytes, bool, type(None), complex)
for _t in _IDENTITY_TYPES:
    _dispatch[_t] = _identity


@register(tuple, list)
def _norm_seq(x):
    return (type(x).__name__, tuple(normalize_token(i) for i in x))


@register(dict)
def _norm_dict(x):
    items = [(normalize_token(k), normalize_token(v)) for k, v in x.items()]
    if type(x) is dict:
        return ("dict", tuple(sorted(items, key=repr)))
    # subclasses (OrderedDict, defaultdict, Counter, ...): their type, and order where it counts
    extra = normalize_token(x.default_factory) if isinstance(x, collections.defaultdict) else None
    return ("dict-subclass", type(x).__module__, type(x).__qualname__, extra, tuple(items))


@register(set, frozenset)
def _norm_set(x):
    return (type(x).__name__, tuple(sorted((normalize_token(i) for i in x), key=repr)))


@register(slice)
def _norm_slice(x):
    return ("slice", normalize_token(x.start), normalize_token(x.stop), normalize_token(x.step))


@register(range)
def _norm_range(x):
    return ("range", x.start, x.stop, x.step)


@register(bytearray, memoryview)
def _norm_bytes_like(x):
    return ("buffer", _hash_buffer(memoryview(x).cast("B")))


@register(datetime.date, datetime.datetime, datetime.timedelta, datetime.time, decimal.Decimal,
          pathlib.PurePath, uuid.UUID)
def _norm_str_like(x):
    return (type(x).__name__, str(x))


@register(type)
def _norm_type(x):
    return ("type", x.__module__, x.__qualname__)


_in_progress = threading.local()


def _norm_function(f: Any) -> Any:
    mod = getattr(f, "__module__", None)
    qual = getattr(f, "__qualname__", None)
    if mod and qual and mod != "__main__" and "<" not in qual:
        return ("fn", mod, qual)
    code = getattr(f, "__code__", None)
    if code is None:
        return _random_token(f)
    active = getattr(_in_progress, "ids", None)
    if active is None:
        active = _in_progress.ids = set()
    if id(f) in active:  # a closure that refers to itself (recursion)
        return ("recursive", qual)
    active.add(id(f))
    try:
        closure = ()
        if f.__closure__:
            try:
                closure = tuple(normalize_token(c.cell_contents) for c in f.__closure__)
            except ValueError:  # empty cell
                closure = ("<empty>",)
        return (
            "code", qual, code.co_code, _norm_consts(code.co_consts), code.co_names,
            normalize_token(f.__defaults__), normalize_token(f.__kwdefaults__), closure,
            _norm_globals(f, code),
        )
    finally:
        active.discard(id(f))


_PLAIN = (int, float, complex, str, bytes, bool, type(None))


def _norm_globals(f: Any, code: Any) -> tuple:
    """The globals a ``__main__`` function or lambda reads, so that ``K = 10`` after
    ``K = 1`` gives the function a new token (and a pure task a new key).  Plain
    values by value; modules, functions and classes by name or code; anything
    else by identity, which is cheap (a big array is not hashed on every call)
    and stays the same while the object lives."""
    g = getattr(f, "__globals__", None)
    if not g:
        return ()
    out = []
    for name in code.co_names:
        if name not in g:
            continue  # an attribute name or a builtin
        v = g[name]
        if isinstance(v, _PLAIN) or (isinstance(v, tuple) and len(v) < 64 and all(isinstance(i, _PLAIN) for i in v)):
            out.append((name, normalize_token(v)))
        elif isinstance(v, types.ModuleType):
            out.append((name, "module", v.__name__))
        elif isinstance(v, (type, types.FunctionType, types.BuiltinFunctionType, functools.partial)):
            out.append((name, normalize_token(v)))
        else:
            out.append((name, "object", type(v).__qualname__, id(v)))
    return tuple(out)


def _norm_consts(consts: tuple) -> tuple:
    out = []
    for c in consts:
        if isinstance(c, types.CodeType):
            out.append(("code", c.co_code, _norm_consts(c.co_consts), c.co_names))
        else:
            out.append(normalize_token(c))
    return tuple(out)


@register(functools.partial)
def _norm_partial(p):
    return ("partial", normalize_token(p.func), normalize_token(p.args), normalize_token(p.keywords))


@register(types.MethodType)
def _norm_method(m):
    return ("method", m.__func__.__name__, normalize_token(m.__self__))


_dispatch[types.FunctionType] = _norm_function
_dispatch[types.BuiltinFunctionType] = lambda f: ("builtin", getattr(f, "__module__", None),
                                                  f.__qualname__, id(f.__self__) if not
                                                  isinstance(f.__self__, types.ModuleType)
                                                  and f.__self__ is not None else None)


def _random_token(x: Any) -> str:
    return "__random__" + uuid.uuid4().hex


def _register_lazy() -> None:
    """Normalisers for numpy/pandas, registered on first use (keeps import light)."""
    global _lazy_registered
    _lazy_registered = True
    import sys

    if "numpy" in sys.modules:
        _register_numpy()
    if "pandas" in sys.modules:
        _register_pandas()


def _register_numpy() -> None:
    import numpy as np

    def norm_array(a: Any) -> Any:
        if a.dtype.hasobject:
            try:
                return ("ndarray-obj", a.shape, normalize_token(a.ravel().tolist()))
            except Exception:
                return _random_token(a)
        if not a.flags.c_contiguous and not a.flags.f_contiguous:
            a = np.ascontiguousarray(a)
        # 0-d arrays cannot change itemsize by view(); hash them as length-1
        flat = a.reshape(1) if a.ndim == 0 else a
        data = flat.view(np.uint8).reshape(-1) if a.flags.c_contiguous else flat.T.view(np.uint8).reshape(-1)
        return ("ndarray", str(a.dtype), a.shape, bool(a.flags.f_contiguous and not a.flags.c_contiguous),
                _hash_buffer(memoryview(data)))

    def norm_masked(a: Any) -> Any:
        return ("masked", norm_array(np.asarray(a.data)), norm_array(np.ma.getmaskarray(a)),
                normalize_token(a.fill_value))

    _dispatch[np.ndarray] = norm_array
    _dispatch[np.ma.MaskedArray] = norm_masked
    _dispatch[np.dtype] = lambda d: ("dtype", str(d))
    for t in (np.generic,):
        _dispatch[t] = lambda x: ("npscalar", str(x.dtype), x.tobytes())
    _dispatch[np.random.Generator] = lambda g: ("Generator", normalize_token(g.bit_generator.state))
    _dispatch[np.random.RandomState] = lambda r: ("RandomState", normalize_token(
        [(k, v) for k, v in r.get_state(legacy=False).items()]))
    if hasattr(np, "ufunc"):
        _dispatch[np.ufunc] = lambda u: ("ufunc", u.__name__)


def _register_pandas() -> None:
    import pandas as pd

    def norm_dtype(d: Any) -> Any:
        if isinstance(d, pd.CategoricalDtype):  # categories and order are part of the values
            return ("category", _pd_values(d.categories) if d.categories is not None else None,
                    bool(d.ordered))
        return str(d)

    def norm_index(i: Any) -> Any:
        if isinstance(i, pd.MultiIndex):
            return ("multiindex", normalize_token(list(i.names)),
                    tuple(norm_index(lv) for lv in i.levels), tuple(normalize_token(c) for c in i.codes))
        return ("index", type(i).__name__, normalize_token(i.name), norm_dtype(i.dtype), _pd_values(i))

    def norm_series(s: Any) -> Any:
        return ("series", normalize_token(s.name), norm_dtype(s.dtype), norm_index(s.index), _pd_values(s))

    def norm_frame(df: Any) -> Any:
        data = [(norm_dtype(df.dtypes.iloc[i]), _pd_values(df.iloc[:, i])) for i in range(df.shape[1])]
        return ("frame", norm_index(df.columns), norm_index(df.index), tuple(data))

    _dispatch[pd.Index] = norm_index
    _dispatch[pd.Series] = norm_series
    _dispatch[pd.DataFrame] = norm_frame
    _dispatch[pd.Timestamp] = lambda t: ("ts", t.value, str(t.tz))
    _dispatch[pd.Timedelta] = lambda t: ("td", t.value)


def _pd_values(obj: Any) -> Any:
    import numpy as np

    try:
        values = obj.array if hasattr(obj, "array") else obj.values
        if hasattr(values, "codes") and hasattr(values, "categories"):  # categorical: codes + categories
            return ("cat", normalize_token(np.asarray(values.codes)), _pd_values(values.categories))
        arr = np.asarray(values)
    except Exception:
        return _random_token(obj)
    if arr.dtype.hasobject:
        items = arr.ravel().tolist()
        if all(type(v) is str for v in items):
            # the common case, fast: every length, then the text (lengths make it unambiguous)
            lengths = np.fromiter(map(len, items), dtype=np.int64, count=len(items))
            text = "".join(items).encode("utf-8", "surrogatepass")
            return ("str", arr.shape, _hash_buffer(memoryview(lengths).cast("B")), _hash_buffer(memoryview(text)))
        # element by element otherwise, like numpy object arrays (a repr elides long
        # arrays, and different objects can share one)
        return ("obj", normalize_token(items))
    return normalize_token(arr)


def normalize_token(x: Any) -> Any:
    """A deterministic, encodable stand-in for ``x``."""
    t = type(x)
    fn = _dispatch.get(t)
    if fn is not None:
        return fn(x)
    method = getattr(x, "__shoal_tokenize__", None)
    if method is not None and not isinstance(x, type):
        return ("custom", t.__module__, t.__qualname__, normalize_token(method()))
    if not _lazy_registered:
        _register_lazy()
    mod = t.__module__ or ""
    if mod.startswith("numpy") and np_missing():
        _register_numpy()
    elif mod.startswith("pandas") and pd_missing():
        _register_pandas()
    for base in t.__mro__:
        fn = _dispatch.get(base)
        if fn is not None:
            _dispatch[t] = fn
            return fn(x)
    if isinstance(x, enum.Enum):
        return ("enum", t.__module__, t.__qualname__, x.name)
    if dataclasses.is_dataclass(x):
        return ("dataclass", t.__module__, t.__qualname__,
                tuple((f.name, normalize_token(getattr(x, f.name))) for f in dataclasses.fields(x)
                      if hasattr(x, f.name)))  # an init=False field may be unset
    if callable(x) and hasattr(x, "__code__"):
        return _norm_function(x)
    if callable(x) and getattr(x, "__module__", None) and getattr(x, "__qualname__", None) \
            and isinstance(x, types.BuiltinFunctionType):
        return ("builtin", x.__module__, x.__qualname__)
    return _random_token(x)


def np_missing() -> bool:
    return not any(t.__name__ == "ndarray" for t in _dispatch)


def pd_missing() -> bool:
    return not any(t.__name__ == "DataFrame" for t in _dispatch)


def _encode(tree: Any, out: list) -> None:
    t = type(tree)
    if t is tuple:
        out.append("(")
        for item in tree:
            _encode(item, out)
            out.append(",")
        out.append(")")
    elif t is bytes:
        out.append("b" + hashlib.blake2b(tree, digest_size=16).hexdigest() if len(tree) > 64 else repr(tree))
    else:
        out.append(t.__name__[:2] + repr(tree))


def tokenize(*args: Any, **kwargs: Any) -> str:
    """Deterministic token of the arguments (32 hex digits)."""
    tree = normalize_token(args)
    if kwargs:
        tree = (tree, normalize_token(kwargs))
    out: list = []
    _encode(tree, out)
    return hashlib.blake2b("".join(out).encode("utf-8", "surrogatepass"), digest_size=16).hexdigest()
