"""The scheduler's records: one ``TaskState`` per task, one ``WorkerState`` per worker.

Kept small on purpose (``__slots__``, ints for states, shared tuples for
empty dependency lists, rarely used fields in one optional ``extra`` dict):
a submitted million-task graph costs about 0.4 kB per task.
"""
from __future__ import annotations

import collections
import heapq
from typing import Any

from shoal.distributed.exceptions import InvalidTransition, KilledWorker  # noqa: F401 - re-exported

RELEASED, WAITING, QUEUED, PROCESSING, MEMORY, ERRED = range(6)
MAX_DEPTH = 2000      # hard cap of tasks assigned to one worker at once
STATE_NAMES = ("released", "waiting", "queued", "processing", "memory", "erred")


class ReadyQueue:
    """Tasks by priority: a deque while they arrive in order, a heap otherwise.

    Graphs are submitted in priority order, so almost every push is larger
    than the last and costs one deque slot (8 bytes) instead of a heap tuple.
    """

    __slots__ = ("fifo", "heap")

    def __init__(self) -> None:
        self.fifo: collections.deque = collections.deque()
        self.heap: list = []

    def push(self, ts: "TaskState") -> None:
        fifo = self.fifo
        if not fifo or ts.priority > fifo[-1].priority:
            fifo.append(ts)
        else:
            heapq.heappush(self.heap, (ts.priority, ts))

    def pop(self) -> "TaskState":
        fifo, heap = self.fifo, self.heap
        if heap and (not fifo or heap[0][0] < fifo[0].priority):
            return heapq.heappop(heap)[1]
        return fifo.popleft()

    def __len__(self) -> int:
        return len(self.fifo) + len(self.heap)


class TaskState:
    __slots__ = ("key", "state", "spec", "fid", "deps", "dependents", "nwaiting", "nwaiters",
                 "wanted", "who_has", "processing_on", "priority", "nbytes", "extra")

    def __init__(self, key: Any, spec: Any, fid: Any, priority: int):
        self.key = key
        self.state = RELEASED
        self.spec = spec
        self.fid = fid
        self.deps: tuple = ()
        self.dependents: list | None = None
        self.nwaiting = 0
        self.nwaiters = 0
        self.wanted = 0
        self.who_has: list | None = None
        self.processing_on: Any = None
        self.priority = priority
        self.nbytes = 0
        self.extra: dict | None = None

    def __repr__(self) -> str:
        return f"<TaskState {self.key!r} {STATE_NAMES[self.state]}>"

    def __lt__(self, other: "TaskState") -> bool:  # heap ties (a task queued twice)
        return False


class WorkerState:
    __slots__ = ("address", "host", "name", "nthreads", "memory_limit", "processing", "has_what",
                 "occupancy", "last_seen", "status", "fids", "resources", "used", "nbytes", "metrics")

    def __init__(self, address: str, name: Any, nthreads: int, memory_limit: int,
                 resources: dict | None, now: float):
        self.address = address
        self.host = address.split("://")[-1].rsplit(":", 1)[0]
        self.name = name
        self.nthreads = nthreads
        self.memory_limit = memory_limit
        self.processing: dict = {}     # TaskState -> duration estimate it added to occupancy
        self.has_what: set = set()
        self.occupancy = 0.0
        self.last_seen = now
        self.status = "running"
        self.fids: set = set()
        self.resources = dict(resources or {})
        self.used = {k: 0.0 for k in self.resources}
        self.nbytes = 0
        self.metrics: dict = {}

    def __repr__(self) -> str:
        return f"<WorkerState {self.address} processing={len(self.processing)}>"
