"""The numpy names users type next to ``da.``: constants, dtypes, ``da.array``,
and a clear error for numpy functions shoal does not provide.

``unsupported(name)`` is the error raised for a numpy name shoal lacks (as a
module attribute or an Array method).  It is both a ``NotImplementedError``
(what the user sees: what to do instead) and an ``AttributeError`` (so
``hasattr`` and duck-typing checks in other libraries keep working).
"""
from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["CONSTANTS", "DTYPES", "NotSupported", "unsupported", "array"]


class NotSupported(NotImplementedError, AttributeError):
    """A numpy name shoal.array does not implement (an AttributeError too, for hasattr)."""


CONSTANTS = {"newaxis": None, "nan": np.nan, "NaN": np.nan, "inf": np.inf, "Inf": np.inf, "pi": np.pi,
             "e": np.e, "euler_gamma": np.euler_gamma}

DTYPES = {n: getattr(np, n) for n in (
    "bool_", "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64", "intp", "uintp",
    "float16", "float32", "float64", "longdouble", "complex64", "complex128", "clongdouble", "str_",
    "bytes_", "object_", "datetime64", "timedelta64", "integer", "floating", "complexfloating",
    "number", "generic", "signedinteger", "unsignedinteger", "inexact", "dtype", "iinfo", "finfo",
    "byte", "ubyte", "short", "ushort", "intc", "uintc", "int_", "uint", "longlong", "ulonglong",
    "half", "single", "double", "csingle", "cdouble") if hasattr(np, n)}


def unsupported(name: str, where: str = "shoal.array") -> NotSupported:
    if where.endswith("Array"):
        return NotSupported(
            f"{where}.{name} is not implemented by shoal. Apply it block by block with "
            f"x.map_blocks(lambda b: b.{name}(...)) when it works per block, or compute first "
            f"(x.compute().{name}(...))")
    return NotSupported(
        f"{where}.{name} is not implemented by shoal. Apply numpy's version block by block with "
        f"x.map_blocks(numpy.{name}, ...) when it works per block, or compute first "
        f"(numpy.{name}(x.compute()))")


def array(object: Any, dtype: Any = None, copy: bool = True, order: Any = None, subok: bool = False,
          ndmin: int = 0, like: Any = None, chunks: Any = "auto") -> Any:
    """A shoal Array from array-like data (numpy's ``array``, plus ``chunks=``).

    A shoal Array comes back as it is (cast to ``dtype`` when given);
    ``ndmin`` prepends length-1 dimensions as numpy does.
    """
    from shoal.array.core import Array
    from shoal.array.creation import asarray

    if isinstance(object, Array):
        out = object if dtype is None else object.astype(dtype)
    else:
        data = np.array(object, dtype=dtype, copy=True if copy is None else copy, order=order or "K",
                        subok=subok)
        out = asarray(data, chunks=chunks)
    while out.ndim < ndmin:
        out = out[None]
    return out
