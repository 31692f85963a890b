"""Distributed computing: a scheduler, workers, Clients and futures.

>>> from shoal.distributed import Client, LocalCluster
>>> cluster = LocalCluster(n_workers=4)
>>> client = Client(cluster)
>>> futures = client.map(f, range(100)); results = client.gather(futures)

Layout: ``protocol/`` (framing, serialisation, handshake), ``comm/``
(connections, Security), ``scheduler/`` and ``worker/`` (pure state machine
+ IO server each, nanny, spill), ``client.py``, ``futures.py``, ``deploy/``
(the Cluster base, LocalCluster, SSHCluster, adaptive policy), ``cli.py`` (``shoal scheduler``/``worker``).
"""
from __future__ import annotations

from typing import Any

from shoal.distributed.client import Client, get_client, get_task_stream, worker_client
from shoal.distributed.comm.security import Security
from shoal.distributed.coordination import Event, Lock, MultiLock, Pub, Queue, Semaphore, Sub, Variable
from shoal.distributed.deploy.cluster import Cluster
from shoal.distributed.deploy.local import LocalCluster
from shoal.distributed.exceptions import CancelledError, KilledWorker
from shoal.distributed.futures import Future, as_completed, fire_and_forget, futures_of, wait
from shoal.distributed.threads import rejoin, secede
from shoal.distributed.worker.server import get_worker

__all__ = [
    "Client",
    "LocalCluster",
    "SSHCluster",
    "Cluster",
    "Future",
    "wait",
    "as_completed",
    "fire_and_forget",
    "futures_of",
    "get_client",
    "get_worker",
    "get_task_stream",
    "worker_client",
    "secede",
    "rejoin",
    "Lock",
    "MultiLock",
    "Semaphore",
    "Queue",
    "Variable",
    "Event",
    "Pub",
    "Sub",
    "Security",
    "KilledWorker",
    "CancelledError",
    "progress",
    "performance_report",
]


def __dir__() -> list:
    # the lazily imported names (progress, performance_report, SSHCluster) too
    return sorted(set(globals()) | set(__all__))


def __getattr__(name: str) -> Any:
    if name == "progress":  # built in shoal.diagnostics; optional here
        from shoal.diagnostics.progress import progress

        return progress
    if name == "SSHCluster":
        from shoal.distributed.deploy.ssh import SSHCluster

        return SSHCluster
    if name == "performance_report":
        from shoal.distributed.report import performance_report

        return performance_report
    raise AttributeError(f"module 'shoal.distributed' has no attribute {name!r}")
