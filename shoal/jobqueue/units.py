"""Memory sizes and wall-clock limits as batch systems want them.

Users write memory the way the tutorial does (``'24 GB'``, ``'1.5GiB'``,
``'500MB'``); every batch system wants its own spelling.  Everything is
parsed to bytes / seconds once, with an error that shows a correct call,
and formatted per system by the job-script writers.  Decimal units (kB, MB,
GB, TB, and the bare letters K, M, G, T) are powers of 1000, binary ones
(KiB, MiB, GiB, TiB) powers of 1024, as in Dask.
"""
from __future__ import annotations

import re

from shoal.utils import format_bytes, parse_bytes, parse_timedelta

__all__ = ["parse_memory", "format_bytes", "parse_walltime", "format_walltime", "parse_interval"]

def parse_memory(value: str | int | float, what: str = "memory") -> int:
    """Bytes in ``value`` ('24 GB', '1.5GiB', 4e9), which must be more than zero."""
    n = parse_bytes(value, what, example="24 GB")
    if n <= 0:
        raise ValueError(f"{what}={value!r} must be more than zero, e.g. {what}='24 GB'")
    return n


_WALL_RE = re.compile(r"^(?:(\d+)-)?(\d+)(?::(\d+))?(?::(\d+))?$")


def parse_walltime(value: str | int) -> int:
    """Seconds in a SLURM-style limit: 'MM', 'MM:SS', 'HH:MM:SS', 'D-HH[:MM[:SS]]'."""
    if isinstance(value, int) and not isinstance(value, bool):
        if value <= 0:
            raise ValueError(f"walltime={value!r} must be positive (minutes), e.g. walltime='3:00:00'")
        return value * 60
    m = _WALL_RE.match(str(value).strip()) if isinstance(value, str) else None
    if m is None:
        raise ValueError(f"walltime={value!r} is not a time limit; expected 'HH:MM:SS' "
                         f"(or 'MM', 'MM:SS', 'D-HH:MM:SS'), e.g. walltime='3:00:00'")
    days, a, b, c = m.groups()
    parts = [int(x) for x in (a, b, c) if x is not None]
    if days is not None:  # D-HH, D-HH:MM, D-HH:MM:SS
        parts += [0] * (3 - len(parts))
        h, mi, s = parts
        total = int(days) * 86400 + h * 3600 + mi * 60 + s
    elif len(parts) == 1:
        total = parts[0] * 60
    elif len(parts) == 2:
        total = parts[0] * 60 + parts[1]
    else:
        total = parts[0] * 3600 + parts[1] * 60 + parts[2]
    if total <= 0:
        raise ValueError(f"walltime={value!r} must be more than zero, e.g. walltime='3:00:00'")
    return total


def format_walltime(seconds: int) -> str:
    """'HH:MM:SS' (hours may exceed 24): understood by SLURM, PBS and SGE."""
    h, rem = divmod(int(seconds), 3600)
    m, s = divmod(rem, 60)
    return f"{h:02d}:{m:02d}:{s:02d}"


def parse_interval(value: str | float | int, what: str = "interval") -> float:
    """Seconds in 1.5, '500ms', '2s', '1m' (as Dask's adapt(interval='1s') takes); more than zero."""
    seconds = parse_timedelta(value, what=what)
    if seconds <= 0:
        raise ValueError(f"{what}={value!r} must be more than zero, e.g. {what}=1.0")
    return seconds
