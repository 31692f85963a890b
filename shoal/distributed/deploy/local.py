"""``LocalCluster``: a scheduler in this process plus worker processes on this machine.

The scheduler runs on the process-wide IO loop thread (so a Client in the
same process shares that loop); each worker is a separate process supervised
by a ``Nanny`` thread that restarts it if it crashes.  ``processes=False``
runs the workers on the IO loop instead (threads only, no nanny): quick to
start, but tasks share the GIL with the client.
"""
from __future__ import annotations

import os
import time
from typing import Any

import psutil

from shoal.distributed.client import register_local_cluster
from shoal.distributed.comm.security import Security, new_token
from shoal.distributed.deploy.cluster import Cluster
from shoal.utils import parse_bytes
from shoal.distributed.worker.nanny import Nanny


class LocalCluster(Cluster):
    """A scheduler and ``n_workers`` workers on this machine.

    >>> cluster = LocalCluster(n_workers=4)          # 4 processes
    >>> client = Client(cluster)
    >>> cluster.scale(8); cluster.close()

    Addresses: everything listens on ``host`` (loopback by default, so
    nothing is reachable from other machines); ``interface='eth0'`` uses
    that interface's address instead, ``host='0.0.0.0'`` every interface
    (advertising the address of the default route), and
    ``contact_address`` is what the scheduler advertises when it differs.
    """

    def __init__(self, n_workers: int | None = None, threads_per_worker: int | None = None,
                 processes: bool = True, memory_limit: Any = "auto", scheduler_port: int = 0,
                 dashboard_address: str | None = ":8787", diagnostics_port: Any = None,
                 host: str = "127.0.0.1", security: Security | None = None,
                 worker_ttl: float | None = None, resources: dict | None = None,
                 local_directory: str | None = None, death_timeout: float | None = None,
                 name: str | None = None, interface: str | None = None,
                 contact_address: str | None = None, **kwargs: Any):
        if kwargs:
            raise TypeError(f"LocalCluster got unexpected arguments {sorted(kwargs)}")
        if diagnostics_port is not None:  # the older name, as in the tutorial's section 7
            dashboard_address = diagnostics_port if isinstance(diagnostics_port, str) else f":{diagnostics_port}"
        if security is None or not security.token:
            security = (security or Security()).with_token(new_token())
        super().__init__(security=security, name=name or "local")
        cpus = os.cpu_count() or 1
        if n_workers is None and threads_per_worker is None:
            n_workers, threads_per_worker = (cpus, 1) if processes else (1, cpus)
        elif n_workers is None:
            n_workers = max(1, cpus // threads_per_worker)
        elif threads_per_worker is None:
            threads_per_worker = max(1, cpus // max(1, n_workers))
        self.threads_per_worker = int(threads_per_worker)
        self.processes = processes
        if memory_limit == "auto":
            total = psutil.virtual_memory().total
            self.memory_limit = int(total // max(1, n_workers))
        elif memory_limit in (None, 0, "0"):
            self.memory_limit = 0
        else:
            self.memory_limit = parse_bytes(memory_limit)
        if interface:  # listen (scheduler and workers) on that interface's address
            from shoal.distributed.comm.addressing import interface_address

            host = interface_address(interface)
        self.host = host
        self.resources = resources
        self.local_directory = local_directory
        self.death_timeout = death_timeout
        self._start_local_scheduler(host, scheduler_port, worker_ttl=worker_ttl,
                                    dashboard_address=dashboard_address, contact_address=contact_address)
        try:
            self.scale(n_workers)
            self.wait_for_workers(n_workers)
        except BaseException:
            self.close()
            raise

    # ---- hooks -----------------------------------------------------------
    def _start_worker(self, name: str) -> Any:
        if not self.processes:
            from shoal.distributed.worker.server import WorkerServer

            w = WorkerServer(self.scheduler_address, self.security, nthreads=self.threads_per_worker,
                             name=name, memory_limit=self.memory_limit, host=self.host,
                             local_directory=self.local_directory, resources=self.resources)
            self._loop.run(w.start(), 30)
            return w
        return Nanny(self.scheduler_address, self.security, nthreads=self.threads_per_worker, name=name,
                     memory_limit=self.memory_limit, local_directory=self.local_directory, host=self.host,
                     death_timeout=self.death_timeout, resources=self.resources).start()

    def _stop_worker(self, name: str, handle: Any) -> None:
        if isinstance(handle, Nanny):
            handle.close()
        else:
            self._loop.run(handle.close(0), 10)

    # ---- extras ------------------------------------------------------------
    def wait_for_workers(self, n: int, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while len(self.scheduler.state.workers) < n:
            if time.monotonic() > deadline:
                raise TimeoutError(f"only {len(self.scheduler.state.workers)} of {n} workers started "
                                   f"within {timeout}s; see the worker logs above")
            for h in self.workers.values():
                if isinstance(h, Nanny) and h.done.is_set():
                    raise RuntimeError(f"worker {h.name} exited while starting; see its log above")
            time.sleep(0.02)

    def worker_pids(self) -> list:
        """PIDs of the worker processes (for tests and diagnostics)."""
        return [h.pid for h in self.workers.values() if isinstance(h, Nanny)]


register_local_cluster(LocalCluster)
