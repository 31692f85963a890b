"""Every public function and Array method has a docstring; missing numpy names say what to do."""
import inspect

import numpy as np
import pytest

import shoal.array as da
from shoal.array.core import Array


def test_public_functions_have_docstrings():
    missing = [n for n in da.__all__ if callable(getattr(da, n)) and not (getattr(da, n).__doc__ or "").strip()]
    assert missing == []
    for sub in (da.linalg, da.fft):
        for name in dir(sub):
            obj = getattr(sub, name)
            if not name.startswith("_") and callable(obj) and obj.__module__ == sub.__name__:
                assert (obj.__doc__ or "").strip(), f"{sub.__name__}.{name}"
    assert "mean" in da.random.RandomState(5).normal.__doc__
    assert da.mean.__doc__.startswith("shoal.array.mean")
    assert "numpy.mean" in da.mean.__doc__


def test_array_methods_have_docstrings():
    missing = []
    for name in dir(Array):
        if name.startswith("_"):
            continue
        obj = inspect.getattr_static(Array, name)
        func = obj.fget if isinstance(obj, property) else obj
        if callable(func) and not (func.__doc__ or "").strip():
            missing.append(name)
    assert missing == []
    assert "chunks" in Array.rechunk.__doc__


def test_missing_numpy_names_raise_notimplemented_and_attributeerror():
    with pytest.raises(NotImplementedError, match="map_blocks"):
        da.lexsort
    assert not hasattr(da, "lexsort")
    x = da.ones(3, chunks=2)
    with pytest.raises(NotImplementedError, match="map_blocks"):
        x.byteswap
    assert not hasattr(x, "byteswap")
    assert da.newaxis is None and da.float32 is np.float32 and np.isnan(da.nan) and da.pi == np.pi
