"""Docstrings for the numpy-named functions and methods, derived from numpy's own.

A shoal function named like a numpy function (``shoal.array.mean``,
``Array.rechunk`` excepted) that has no docstring of its own gets numpy's,
under a short note on what differs in shoal: the result is a lazy Array,
computed block by block, and ``out=`` is not supported.  Done once at import,
programmatically, so the text always matches the installed numpy.
"""
from __future__ import annotations

import inspect
from typing import Any, Callable

import numpy as np

__all__ = ["fill_docstrings"]


def _note(qualname: str, source: str) -> str:
    return (f"{qualname}: ``{source}`` for shoal arrays.\n\n"
            "This function is lazy: it returns a shoal Array built block by block (call\n"
            "``.compute()`` for the numpy result).  Arguments that need the whole array in\n"
            "memory, and ``out=`` to a numpy array, are not supported; where shoal cannot\n"
            "match numpy it raises an error saying what to do instead.\n\n"
            f"The rest of this text is numpy's documentation of ``{source}``.\n\n")


def _set(obj: Any, doc: str) -> None:
    try:
        obj.__doc__ = doc
    except (AttributeError, TypeError):
        pass


def _fill(obj: Any, qualname: str, twin: Any, source: str) -> None:
    if obj is None or (getattr(obj, "__doc__", None) or "").strip():
        return
    numpy_doc = inspect.getdoc(twin) if twin is not None else None
    if numpy_doc:
        _set(obj, _note(qualname, source) + numpy_doc)


def fill_docstrings(module: Any) -> None:
    """Give every public numpy-named function of ``module`` (shoal.array) a docstring."""
    from shoal.array import fft, linalg, random
    from shoal.array.core import Array

    for name in getattr(module, "__all__", []):
        obj = getattr(module, name, None)
        if callable(obj) and not isinstance(obj, type):
            _fill(obj, f"shoal.array.{name}", getattr(np, name, None), f"numpy.{name}")
    for sub, twin_mod, label in ((linalg, np.linalg, "numpy.linalg"), (fft, np.fft, "numpy.fft")):
        for name in dir(sub):
            obj = getattr(sub, name)
            if name.startswith("_") or not callable(obj) or getattr(obj, "__module__", "") != sub.__name__:
                continue
            _fill(obj, f"{sub.__name__}.{name}", getattr(twin_mod, name, None), f"{label}.{name}")
    for cls in (random.Generator, random.RandomState):
        for name, obj in list(vars(cls).items()):
            if name.startswith("_") or not callable(obj):
                continue
            twin = getattr(np.random.Generator, name, None) or getattr(np.random.RandomState, name, None)
            _fill(obj, f"shoal.array.random.{cls.__name__}.{name}", twin, f"numpy.random.Generator.{name}")
    for name in dir(random):
        obj = getattr(random, name)
        if not name.startswith("_") and callable(obj) and not isinstance(obj, type):
            twin = getattr(np.random.Generator, name, None) or getattr(np.random, name, None)
            if (getattr(obj, "__doc__", "") or "").startswith("``"):
                obj.__doc__ = None  # the one-line placeholder: numpy's text says more
            _fill(obj, f"shoal.array.random.{name}", twin, f"numpy.random.{name}")
    for name in dir(Array):
        if name.startswith("_"):
            continue
        obj = inspect.getattr_static(Array, name)
        func: Callable | None = obj.fget if isinstance(obj, property) else obj
        if not callable(func):
            continue
        twin, source = getattr(np.ndarray, name, None), f"numpy.ndarray.{name}"
        if twin is None:
            twin, source = getattr(np, name, None), f"numpy.{name}"
        _fill(func, f"shoal.array.Array.{name}", twin, source)
