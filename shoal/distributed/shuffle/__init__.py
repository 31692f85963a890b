"""Shuffles on a cluster: what a worker reports about them.

The shuffle itself is ``shoal.dataframe.disk_shuffle`` (workers of one
machine share its disk).  ``memory_check`` is called by the worker's memory
monitor: when the process nears its limit while a shuffle step runs, the
log names the step and the sizes, so a user sees which operation holds the
memory and what to change.
"""
from __future__ import annotations

import logging
import sys
import time

__all__ = ["memory_check", "shuffle_activity"]

logger = logging.getLogger("shoal.distributed.shuffle")
_last_warning = [0.0]
WARN_EVERY_S = 5.0


def shuffle_activity() -> str:
    """The shuffle steps running in this process ('' if none, or if no shuffle module is loaded)."""
    mod = sys.modules.get("shoal.dataframe.disk_shuffle")
    return mod.describe_active() if mod is not None else ""


def memory_check(rss: int, limit: int, fraction: float) -> str:
    """Log (at most every few seconds) when ``rss`` passes ``fraction`` of ``limit`` during a shuffle.

    Returns the message logged, or ''.
    """
    if not limit or rss < fraction * limit:
        return ""
    activity = shuffle_activity()
    if not activity:
        return ""
    now = time.monotonic()
    if now - _last_warning[0] < WARN_EVERY_S:
        return ""
    _last_warning[0] = now
    msg = (f"memory at {100 * rss / limit:.0f}% of the limit ({rss / 2**20:.0f} MiB of {limit / 2**20:.0f} MiB) "
           f"during {activity}. If the worker is paused or killed, give it more memory (memory_limit=), "
           "or use more, smaller partitions (repartition(partition_size=...)) so each step holds less")
    logger.warning(msg)
    return msg
