"""``b.str``: Python's string methods mapped over a bag of strings."""
from __future__ import annotations

from functools import partial
from typing import Any, Callable

__all__ = ["StringAccessor"]


class StringAccessor:
    """``b.str.<method>(...)``: a ``map`` calling that ``str`` method on each element."""

    def __init__(self, bag: Any):
        self._bag = bag

    def __dir__(self):
        return sorted({n for n in dir(str) if not n.startswith("_")} | {"match"})

    def __getattr__(self, attr: str) -> Callable:
        if attr.startswith("_") or not hasattr(str, attr):
            raise AttributeError(f"str has no method {attr!r}")

        def method(*args: Any, **kwargs: Any) -> Any:
            return self._bag._with_op(f"str-{attr}", "map", _StrMethod(attr), args, kwargs)

        return method

    def match(self, pattern: str) -> Any:
        """Keep the strings matching a shell-style ``pattern`` (``fnmatch``)."""
        import fnmatch

        return self._bag.filter(partial(fnmatch.fnmatch, pat=pattern))


class _StrMethod:
    __slots__ = ("name",)

    def __init__(self, name: str):
        self.name = name

    def __call__(self, s: str, *args: Any, **kwargs: Any) -> Any:
        return getattr(s, self.name)(*args, **kwargs)

    def __reduce__(self):
        return (_StrMethod, (self.name,))

    def __shoal_tokenize__(self) -> str:
        return "str." + self.name

    @property
    def __name__(self) -> str:
        return "str." + self.name
