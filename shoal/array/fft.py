"""``da.fft``: numpy's FFTs along axes that are made single blocks first.

A transform needs a whole axis, so the transformed axes are rechunked to
one block each and the other axes keep their chunks (each task transforms
one stripe).  Output lengths follow numpy (``n=``/``s=``, ``rfft``'s
``n // 2 + 1``).
"""
from __future__ import annotations

from typing import Any

import numpy as np

from shoal.array.blockwise import asanyarray_like, map_blocks
from shoal.array.core import Array

__all__ = ["fft", "ifft", "rfft", "irfft", "hfft", "ihfft", "fft2", "ifft2", "rfft2", "irfft2",
           "fftn", "ifftn", "rfftn", "irfftn", "fftfreq", "rfftfreq", "fftshift", "ifftshift"]


class _FFT:
    def __init__(self, name: str, kwargs: dict):
        self.name, self.kwargs = name, kwargs

    def __call__(self, block: np.ndarray) -> np.ndarray:
        return getattr(np.fft, self.name)(block, **self.kwargs)

    def __reduce__(self):
        return (_FFT, (self.name, self.kwargs))

    def __shoal_tokenize__(self) -> Any:
        return ("fft", self.name, sorted(self.kwargs.items(), key=repr))


def _wrap(name: str, multi: bool):
    def func(a: Any, *args: Any, **kwargs: Any) -> Array:
        a = asanyarray_like(a)
        if not isinstance(a, Array):
            from shoal.array.creation import asarray

            a = asarray(a)
        if multi:
            s = kwargs.get("s", args[0] if args else None)
            axes = kwargs.get("axes", args[1] if len(args) > 1 else None)
            if axes is None:
                axes = tuple(range(-(len(s) if s is not None else (2 if name.endswith("2") else a.ndim)), 0))
            axes = tuple(ax % a.ndim for ax in axes)
            kw = {"s": s, "axes": axes, **{k: v for k, v in kwargs.items() if k not in ("s", "axes")}}
        else:
            n = kwargs.get("n", args[0] if args else None)
            axis = kwargs.get("axis", args[1] if len(args) > 1 else -1) % a.ndim
            axes = (axis,)
            kw = {"n": n, "axis": axis, **{k: v for k, v in kwargs.items() if k not in ("n", "axis")}}
        a = a.rechunk({ax: -1 for ax in axes})
        f = _FFT(name, kw)
        probe = f(np.ones(tuple(a.shape[d] if d in axes else 1 for d in range(a.ndim)), a.dtype))
        chunks = tuple((probe.shape[d],) if d in axes else c for d, c in enumerate(a.chunks))
        return map_blocks(f, a, chunks=chunks, dtype=probe.dtype)

    func.__name__ = func.__qualname__ = name
    func.__doc__ = f"``numpy.fft.{name}`` with the transformed axes as single blocks."
    return func


fft = _wrap("fft", False)
ifft = _wrap("ifft", False)
rfft = _wrap("rfft", False)
irfft = _wrap("irfft", False)
hfft = _wrap("hfft", False)
ihfft = _wrap("ihfft", False)
fft2 = _wrap("fft2", True)
ifft2 = _wrap("ifft2", True)
rfft2 = _wrap("rfft2", True)
irfft2 = _wrap("irfft2", True)
fftn = _wrap("fftn", True)
ifftn = _wrap("ifftn", True)
rfftn = _wrap("rfftn", True)
irfftn = _wrap("irfftn", True)


def fftfreq(n: int, d: float = 1.0, chunks: Any = "auto") -> Array:
    from shoal.array.creation import from_array

    return from_array(np.fft.fftfreq(n, d), chunks=chunks)


def rfftfreq(n: int, d: float = 1.0, chunks: Any = "auto") -> Array:
    from shoal.array.creation import from_array

    return from_array(np.fft.rfftfreq(n, d), chunks=chunks)


def fftshift(x: Any, axes: Any = None) -> Array:
    from shoal.array.arrange import roll

    x = asanyarray_like(x)
    axes = range(x.ndim) if axes is None else np.atleast_1d(axes)
    for ax in axes:
        x = roll(x, x.shape[ax] // 2, int(ax))
    return x


def ifftshift(x: Any, axes: Any = None) -> Array:
    from shoal.array.arrange import roll

    x = asanyarray_like(x)
    axes = range(x.ndim) if axes is None else np.atleast_1d(axes)
    for ax in axes:
        x = roll(x, -(x.shape[ax] // 2), int(ax))
    return x
