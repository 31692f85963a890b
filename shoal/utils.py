"""Small helpers every layer shares: task names, byte sizes and time spans.

This module sits on the ground floor: it imports only the standard library
and ``shoal.core.tokenize`` (lazily), so any package may use it.

Names.  A task key is ``"<name>-<token>"`` (or a tuple whose first element is
that string).  ``funcname`` gives the ``<name>`` part for a function, the same
whichever collection builds the task, so the *group* of a key
(``key_split``) is the same in delayed, bag, array, dataframe and futures
code: ``partial`` and ``methodcaller`` are unwrapped, lambdas are
``"lambda"``, callable objects are named by their type, and underscores are
kept (``my_func`` stays ``my_func``; ``-`` is the separator of the token).

Units.  ``parse_bytes`` reads ``"64MB"``, ``"1.5 GiB"``, ``4e9``; decimal
(kB, MB, GB: powers of 1000) and binary (KiB, MiB, GiB: powers of 1024)
units both work, as do the bare letters ``k``, ``M``, ``G`` (decimal).
``parse_timedelta`` reads ``"500ms"``, ``"2s"``, ``"1 minute"``, ``3``.
Every parser raises ``ValueError`` with an example of a correct value.
"""
from __future__ import annotations

import operator
import re
import uuid
from datetime import timedelta
from functools import partial
from typing import Any, Hashable

__all__ = [
    "funcname",
    "key_split",
    "is_token_like",
    "new_name",
    "parse_bytes",
    "format_bytes",
    "parse_timedelta",
]


# -- names -------------------------------------------------------------------


def funcname(func: Any) -> str:
    """The name tasks of ``func`` are grouped under: ``funcname(partial(f, 1)) == 'f'``."""
    while isinstance(func, partial):
        func = func.func
    if isinstance(func, operator.methodcaller):
        return func.__reduce__()[1][0]
    name = getattr(func, "__name__", None)
    if not isinstance(name, str):
        name = type(func).__name__
    if name == "<lambda>":
        return "lambda"
    # a '-' would end the name early when the key is split again
    return name.replace("-", "_") or "func"


_HEX_DIGITS = frozenset("0123456789abcdef")


def is_token_like(part: str) -> bool:
    """True for a dash-part of a key that is not part of its name: a hex token of 8+ digits, or a number."""
    return (len(part) >= 8 and _HEX_DIGITS.issuperset(part)) or part.isdigit()


def key_split(key: Hashable) -> str:
    """Group name of a key: ``'inc-ab12cd34...'`` -> ``'inc'``; tuples by their first element."""
    if type(key) is tuple:
        key = key[0] if key else ""
    if isinstance(key, bytes):
        key = key.decode(errors="replace")
    s = str(key)
    out = []
    for part in s.split("-"):
        if is_token_like(part):
            break
        out.append(part)
    return "-".join(out) or s


def new_name(prefix: str, *args: Any, **kwargs: Any) -> str:
    """``prefix-<token>``: deterministic from ``args``/``kwargs`` when given, else unique."""
    if args or kwargs:
        from shoal.core.tokenize import tokenize

        return f"{prefix}-{tokenize(*args, **kwargs)}"
    return f"{prefix}-{uuid.uuid4().hex}"


# -- byte sizes ----------------------------------------------------------------

_BYTE_UNITS = {
    "": 1, "b": 1,
    "k": 10**3, "kb": 10**3, "m": 10**6, "mb": 10**6, "g": 10**9, "gb": 10**9,
    "t": 10**12, "tb": 10**12, "p": 10**15, "pb": 10**15,
    "ki": 2**10, "kib": 2**10, "mi": 2**20, "mib": 2**20, "gi": 2**30, "gib": 2**30,
    "ti": 2**40, "tib": 2**40, "pi": 2**50, "pib": 2**50,
}
_BYTES_RE = re.compile(r"^\s*(\d+(?:\.\d*)?(?:e[+-]?\d+)?|\.\d+)\s*([a-z]*)\s*$")


def parse_bytes(value: Any, what: str = "size", example: str = "64MB") -> int:
    """Bytes in ``value``: ``'64MB'`` -> 64_000_000, ``'1 GiB'`` -> 2**30, ``1e9`` -> 10**9.

    Raises ``TypeError`` for values that are not sizes (``True``, ``None``) and
    ``ValueError`` for text that is not a number with a known unit, or a
    negative number.
    """
    if isinstance(value, bool) or value is None:
        raise TypeError(f"{what}={value!r} is not a size in bytes; write e.g. {what}='{example}'")
    if isinstance(value, (int, float)):
        n = value
    elif isinstance(value, str):
        m = _BYTES_RE.match(value.lower())
        if m is None or m.group(2) not in _BYTE_UNITS:
            raise ValueError(
                f"{what}={value!r} is not a size: expected a number and a unit "
                f"(B, kB, MB, GB, TB or KiB, MiB, GiB, TiB), e.g. {what}='{example}' or {what}='1.5GiB'"
            )
        n = float(m.group(1)) * _BYTE_UNITS[m.group(2)]
    else:
        raise TypeError(f"{what}={value!r} is not a size in bytes; write e.g. {what}='{example}'")
    if n < 0:
        raise ValueError(f"{what}={value!r} is negative; sizes are at least 0, e.g. {what}='{example}'")
    return int(n)


def format_bytes(n: float, binary: bool = False) -> str:
    """Short spelling that ``parse_bytes`` reads back: ``1_500_000_000`` -> ``'1.50 GB'``.

    ``binary=True`` uses powers of 1024 (``'1.40 GiB'``), as array summaries do.
    """
    base, names = (1024, ("kiB", "MiB", "GiB", "TiB", "PiB")) if binary else (1000, ("kB", "MB", "GB", "TB", "PB"))
    for power in range(len(names), 0, -1):
        size = base ** power
        if abs(n) >= size * 0.9995:
            return f"{n / size:.2f} {names[power - 1]}"
    return f"{int(n)} B"


# -- time spans ------------------------------------------------------------------

_TIME_UNITS = {
    "": None,  # the caller's default unit
    "us": 1e-6, "microsecond": 1e-6, "microseconds": 1e-6,
    "ms": 1e-3, "millisecond": 1e-3, "milliseconds": 1e-3,
    "s": 1.0, "sec": 1.0, "secs": 1.0, "second": 1.0, "seconds": 1.0,
    "m": 60.0, "min": 60.0, "mins": 60.0, "minute": 60.0, "minutes": 60.0,
    "h": 3600.0, "hr": 3600.0, "hour": 3600.0, "hours": 3600.0,
    "d": 86400.0, "day": 86400.0, "days": 86400.0,
    "w": 604800.0, "week": 604800.0, "weeks": 604800.0,
}
_TIME_RE = re.compile(r"^\s*(\d+(?:\.\d*)?(?:e[+-]?\d+)?|\.\d+)\s*([a-z]*)\s*$")


def parse_timedelta(value: Any, default: str = "seconds", what: str = "interval") -> float | None:
    """Seconds in ``value``: ``'500ms'`` -> 0.5, ``'2 minutes'`` -> 120.0, ``3`` -> 3.0.

    Plain numbers are in the ``default`` unit (seconds unless told).  ``None``
    passes through (no limit).  ``timedelta`` objects are accepted.
    """
    if value is None:
        return None
    if isinstance(value, timedelta):
        return value.total_seconds()
    scale = _TIME_UNITS.get(default)
    if scale is None:
        raise ValueError(f"default={default!r} is not a time unit; use e.g. 'seconds' or 'ms'")
    if isinstance(value, bool):
        raise TypeError(f"{what}={value!r} is not a time interval; write e.g. {what}='500ms' or {what}=2")
    if isinstance(value, (int, float)):
        seconds = float(value) * scale
    elif isinstance(value, str):
        m = _TIME_RE.match(value.lower())
        if m is None or m.group(2) not in _TIME_UNITS:
            raise ValueError(f"{what}={value!r} is not a time interval; write e.g. {what}='500ms', '2s' or '1 minute'")
        unit = _TIME_UNITS[m.group(2)]
        seconds = float(m.group(1)) * (scale if unit is None else unit)
    else:
        raise TypeError(f"{what}={value!r} is not a time interval; write e.g. {what}='500ms' or {what}=2")
    if seconds < 0:
        raise ValueError(f"{what}={value!r} is negative; write e.g. {what}='500ms'")
    return seconds

