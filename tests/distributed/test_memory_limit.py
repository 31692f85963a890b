"""A result that cannot be spilled and does not fit is an error, not a restart loop."""
from __future__ import annotations

import threading
import time

import numpy as np
import pytest

from shoal.distributed import Client, LocalCluster


class Holder:
    """A large value that cannot be pickled (so cannot be spilled to disk)."""

    def __init__(self, n: int):
        self.a = np.ones(n, dtype=np.uint8)
        self.lock = threading.Lock()


def make(n: int) -> Holder:
    return Holder(n)


def total(h: Holder) -> int:
    return int(h.a.sum())


def test_unspillable_result_past_the_limit_fails_clearly_and_the_worker_carries_on():
    with LocalCluster(n_workers=1, threads_per_worker=1, memory_limit="400MiB", dashboard_address=None) as cl:
        with Client(cl, set_as_default=False) as c:
            t0 = time.monotonic()
            with pytest.raises(MemoryError, match="cannot be pickled, so it cannot be spilled"):
                c.submit(make, 300 * 2**20).result(40)
            assert time.monotonic() - t0 < 40
            assert [h.restarts for h in cl.workers.values()] == [0]     # no kill, no restart
            # the value was dropped: the worker resumes and runs the next task
            assert c.submit(sum, [1, 2]).result(20) == 3
            # a small unpicklable result is kept as before
            small = c.submit(make, 1000)
            assert c.submit(total, small).result(20) == 1000
