"""numpy's ufuncs as lazy elementwise functions: ``da.sin(x)``, ``da.maximum(x, y)``...

Each wrapper runs numpy directly when no argument is a shoal Array (so
``da.sin(1.0)`` is a float, as in Dask) and otherwise maps the ufunc over
the blocks with broadcasting.  Ufuncs with several outputs (``modf``,
``frexp``, ``divmod``) give a tuple of Arrays.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from shoal.array.blockwise import elemwise
from shoal.array.core import Array

_NAMES = [
    "add", "subtract", "multiply", "divide", "true_divide", "floor_divide", "negative", "positive",
    "power", "float_power", "remainder", "mod", "fmod", "absolute", "fabs", "rint", "sign",
    "heaviside", "conj", "conjugate", "exp", "exp2", "log", "log2", "log10", "expm1", "log1p",
    "logaddexp", "logaddexp2", "sqrt", "square", "cbrt", "reciprocal", "sin", "cos", "tan",
    "arcsin", "arccos", "arctan", "arctan2", "hypot", "sinh", "cosh", "tanh", "arcsinh", "arccosh",
    "arctanh", "deg2rad", "rad2deg", "degrees", "radians", "greater", "greater_equal", "less",
    "less_equal", "not_equal", "equal", "logical_and", "logical_or", "logical_xor", "logical_not",
    "maximum", "minimum", "fmax", "fmin", "isfinite", "isinf", "isnan", "signbit", "copysign",
    "nextafter", "spacing", "ldexp", "floor", "ceil", "trunc", "bitwise_and", "bitwise_or",
    "bitwise_xor", "invert", "bitwise_not", "left_shift", "right_shift", "gcd", "lcm", "isnat",
    "fix", "abs", "real", "imag", "angle", "iscomplex", "isreal", "i0", "sinc",
]
_MULTI = ["modf", "frexp", "divmod"]


class _Nth:
    def __init__(self, ufunc: Any, n: int):
        self.ufunc, self.n = ufunc, n

    def __call__(self, *args: Any) -> Any:
        return self.ufunc(*args)[self.n]

    def __reduce__(self):
        return (_Nth, (self.ufunc, self.n))

    def __shoal_tokenize__(self) -> Any:
        return ("nth", self.ufunc.__name__, self.n)

    @property
    def __name__(self) -> str:
        return self.ufunc.__name__


def multi_output(ufunc: Any, *args: Any, **kwargs: Any) -> tuple:
    return tuple(elemwise(_Nth(ufunc, n), *args, **kwargs) for n in range(ufunc.nout))


def _wrap(name: str) -> Any:
    f = getattr(np, name)

    def func(*args: Any, **kwargs: Any) -> Any:
        if not any(isinstance(a, Array) for a in args):
            return f(*args, **kwargs)
        if name in _MULTI:
            return multi_output(f, *args, **kwargs)
        return elemwise(f, *args, **kwargs)

    func.__name__ = func.__qualname__ = name
    func.__doc__ = f"Lazy ``numpy.{name}`` over shoal Arrays (numpy's own result for non-Arrays)."
    return func


__all__ = []
for _n in _NAMES + _MULTI:
    if hasattr(np, _n):
        globals()[_n] = _wrap(_n)
        __all__.append(_n)
