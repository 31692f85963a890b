"""The generic cluster interface every deployment (local, SSH, SLURM) builds on.

A ``Cluster`` owns one scheduler (started in this process, or elsewhere and
reached by address) and a set of workers it started itself, each known by a
name.  Subclasses implement two hooks:

``_start_worker(name) -> handle``
    start one worker (or one group of worker processes, e.g. a SLURM job)
    that connects to ``self.scheduler_address``; return any handle the
    subclass needs to stop it later.  May block until it is started.
``_stop_worker(name, handle) -> None``
    stop that worker (kill the process, cancel the job).

and may override ``_start_scheduler()`` / ``_stop_scheduler()`` (the default
expects ``self._scheduler_address`` to be set by the subclass).

Everything else -- ``scale(n)``, ``close()``, the context manager,
``adapt()`` and ``adaptive_target()`` -- is written once here.  The contract
is deliberately small and stable:

* ``scale(n)`` starts or stops workers until ``n`` are up (the newest ones
  are stopped first);
* ``close()`` stops every worker this cluster started, then the scheduler if
  this cluster started it; it is idempotent and also runs at interpreter exit;
* ``adapt(minimum=, maximum=, interval=)`` keeps calling
  ``scale(adaptive_target())`` clamped to ``[minimum, maximum]`` from a
  background thread (``self._adaptive``); subclasses or the adaptive module
  may replace ``adaptive_target`` with a smarter policy;
* ``scheduler_info()`` returns the scheduler's JSON-able snapshot (workers,
  task counts), which is what adaptive policies read; it is one request on a
  connection of its own (``request.request_sync``), not a Client.
"""
from __future__ import annotations

import atexit
import logging
import threading
import weakref
from typing import Any

logger = logging.getLogger("shoal.distributed.deploy")

__all__ = ["Cluster"]

_live: "weakref.WeakSet[Cluster]" = weakref.WeakSet()


def _close_all() -> None:
    for c in list(_live):
        try:
            c.close()
        except Exception:  # pragma: no cover - best effort at exit
            pass


atexit.register(_close_all)


class Cluster:
    """Base class: a scheduler plus named workers started through hooks."""

    #: how many threads each worker started by ``_start_worker`` runs; used by
    #: ``adaptive_target``.  Subclasses set it.
    threads_per_worker: int = 1
    #: worker processes per ``_start_worker`` call (a SLURM job may hold several)
    processes_per_worker: int = 1

    def __init__(self, *, security: Any = None, name: str | None = None):
        self.security = security
        self.name = name or type(self).__name__
        self.workers: dict[str, Any] = {}
        self._scheduler_address: str | None = None
        self._dashboard_address: str | None = None
        self._counter = 0
        self._lock = threading.RLock()
        self._closed = False
        self._adaptive: Any = None
        self.scheduler: Any = None  # the SchedulerServer, when it runs in this process
        self._loop: Any = None
        _live.add(self)

    def _start_local_scheduler(self, host: str, port: int, **options: Any) -> None:
        """Run a scheduler in this process on the shared IO loop, listening on ``host:port``.

        ``options`` go to ``SchedulerServer`` (``dashboard_address``,
        ``contact_address``, ...).  ``scheduler_info`` and ``_stop_scheduler``
        then talk to it directly.
        """
        from shoal.distributed.scheduler.server import SchedulerServer
        from shoal.distributed.utils import io_loop

        scheme = "tls" if self.security.has_tls else "tcp"
        self._loop = io_loop()
        self.scheduler = SchedulerServer(f"{scheme}://{host}:{port}", self.security, **options)
        self._loop.run(self.scheduler.start(), 30)
        self._scheduler_address = self.scheduler.address
        self._dashboard_address = self.scheduler.dashboard_link

    # ---- hooks -------------------------------------------------------
    def _start_scheduler(self) -> None:
        """Start the scheduler and set ``self._scheduler_address``."""
        if self._scheduler_address is None:
            raise NotImplementedError(
                f"{type(self).__name__} must start a scheduler in _start_scheduler() "
                "or set self._scheduler_address before workers are started"
            )

    def _stop_scheduler(self) -> None:
        """Stop the scheduler if it runs in this process (else nothing)."""
        if self.scheduler is not None and self._loop is not None:
            try:
                self._loop.run(self.scheduler.close(), 10)
            except Exception:
                logger.exception("closing the scheduler of %s failed", self.name)

    def _start_worker(self, name: str) -> Any:
        raise NotImplementedError(f"{type(self).__name__} must implement _start_worker(name)")

    def _stop_worker(self, name: str, handle: Any) -> None:
        raise NotImplementedError(f"{type(self).__name__} must implement _stop_worker(name, handle)")

    # ---- public interface --------------------------------------------
    @property
    def scheduler_address(self) -> str:
        if self._scheduler_address is None:
            raise RuntimeError(f"{self.name} has no scheduler yet (was it started?)")
        return self._scheduler_address

    @property
    def dashboard_link(self) -> str | None:
        """URL of the dashboard, or None when it was disabled or is unavailable."""
        return self._dashboard_address

    def _next_name(self) -> str:
        name = f"{self.name}-{self._counter}"
        self._counter += 1
        return name

    def scale(self, n: int) -> None:
        """Start or stop workers until ``n`` worker units are running."""
        if n < 0:
            raise ValueError(f"scale(n) needs n >= 0, got {n}")
        with self._lock:
            if self._closed:
                raise RuntimeError(f"{self.name} is closed; start a new cluster to scale it")
            while len(self.workers) < n:
                name = self._next_name()
                self.workers[name] = self._start_worker(name)
            while len(self.workers) > n:
                name = next(reversed(self.workers))
                handle = self.workers.pop(name)
                self._stop_worker(name, handle)

    def scheduler_info(self) -> dict:
        """JSON-able snapshot from the scheduler (workers, task counts)."""
        if self.scheduler is not None and self._loop is not None:
            async def snap() -> dict:
                return self.scheduler.snapshot()
            return self._loop.run(snap(), 10)
        from shoal.distributed.deploy.request import request_sync

        return request_sync(self.scheduler_address, self.security, {"op": "snapshot"})

    def adaptive_target(self, info: dict | None = None) -> int:
        """How many worker units the current load asks for (simple default policy)."""
        info = info if info is not None else self.scheduler_info()
        pending = int(info.get("n_tasks_pending", 0))
        per_unit = max(1, self.threads_per_worker * self.processes_per_worker)
        return -(-pending // per_unit)

    def adapt(self, minimum: int = 0, maximum: int | None = None, interval: float = 1.0) -> Any:
        """Scale between ``minimum`` and ``maximum`` following ``adaptive_target()``."""
        if self._adaptive is not None:
            self._adaptive.stop()
        self._adaptive = _SimpleAdaptive(self, minimum, maximum, interval)
        return self._adaptive

    def close(self) -> None:
        """Stop every worker this cluster started, then its scheduler (idempotent)."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            if self._adaptive is not None:
                self._adaptive.stop()
                self._adaptive = None
            for name in list(reversed(self.workers)):
                handle = self.workers.pop(name)
                try:
                    self._stop_worker(name, handle)
                except Exception:
                    logger.exception("failed to stop worker %s", name)
            self._stop_scheduler()
        _live.discard(self)

    def __enter__(self) -> "Cluster":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def _view_info(self, snapshot: dict | None = None) -> dict:
        from shoal.distributed import views

        return views.cluster_info(self, snapshot=snapshot)

    def __repr__(self) -> str:
        from shoal.distributed import views

        return views.info_text(self._view_info())

    def _repr_html_(self) -> str:
        from shoal.distributed import views

        return views.info_html(self._view_info())


class _SimpleAdaptive:
    """Background thread calling ``cluster.scale(clamp(adaptive_target()))``."""

    def __init__(self, cluster: Cluster, minimum: int, maximum: int | None, interval: float):
        self.cluster = weakref.proxy(cluster)
        self.minimum = minimum
        self.maximum = maximum
        self.interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="shoal-adaptive", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                want = max(self.minimum, self.cluster.adaptive_target())
                if self.maximum is not None:
                    want = min(self.maximum, want)
                self.cluster.scale(want)
            except ReferenceError:
                return
            except Exception:
                logger.exception("adaptive scaling step failed")

    def stop(self) -> None:
        self._stop.set()
