"""Adaptive scaling where a batch job is the unit: a pure policy plus its driver.

The trap (docs/tutorial.md, section 9.1): with 16 worker processes per
SLURM job, a policy that reasons about single workers retires some
processes of a job, does not count pending jobs, and ends up submitting and
cancelling jobs in a loop.  Here the decision is
made in *jobs*, by a pure object (no clock, no SLURM, no sockets; the
tests drive it step by step):

    desired workers (from the scheduler's load)
        -> desired jobs = ceil(desired / workers_per_job), clamped to
           [minimum jobs, maximum jobs]
        -> compare with current jobs, counting PENDING jobs as capacity
        -> actions: Submit(n) at once; Cancel(job) only after `wait_count`
           consecutive decisions that all wanted fewer jobs (hysteresis),
           pending jobs first, then running jobs none of whose workers is
           busy.  A busy job is never cancelled; a job is never split.

Rules that follow from this:

* no loop: a job is cancelled only after the load has asked for fewer jobs
  `wait_count` times in a row, and never while any of its workers is busy
  (running tasks, or holding results a client still holds futures for:
  losing those would make the scheduler recompute them, and that load
  would submit a new job);
* no over-submission: a job submitted but still queued counts as capacity;
* walltime: a job that ended (walltime, node failure) is no longer current,
  so while work remains the next decision submits its replacement.

``desired_workers()`` turns a scheduler snapshot into the desired worker
count; ``AdaptiveDriver`` is the thread that calls the policy every
``interval`` seconds and applies its actions through the cluster.
"""
from __future__ import annotations

import dataclasses
import logging
import math
import threading
from typing import Any, Callable, Sequence

logger = logging.getLogger("shoal.distributed.deploy.adaptive")

__all__ = ["JobView", "Submit", "Cancel", "AdaptivePolicy", "desired_workers", "AdaptiveDriver"]


@dataclasses.dataclass(frozen=True)
class JobView:
    """What the policy knows of one live job."""

    job_id: str
    pending: bool = False          # queued, not running yet
    busy: bool = False             # any of its workers runs tasks or holds results still wanted
    workers: tuple[str, ...] = ()  # names of its workers the scheduler knows


@dataclasses.dataclass(frozen=True)
class Submit:
    n: int


@dataclasses.dataclass(frozen=True)
class Cancel:
    job_id: str


class AdaptivePolicy:
    """Decide job submissions and cancellations from the desired worker count.

    ``minimum``/``maximum`` count worker processes (as in ``adapt(maximum=32)``);
    ``minimum_jobs``/``maximum_jobs`` count jobs.  Both may be given: the
    tighter bound wins.  ``maximum`` is rounded DOWN to whole jobs so the
    cluster never runs more workers than allowed.
    """

    def __init__(self, workers_per_job: int, *, minimum: int = 0, maximum: int | None = None,
                 minimum_jobs: int | None = None, maximum_jobs: int | None = None,
                 wait_count: int = 3):
        if workers_per_job < 1:
            raise ValueError(f"workers_per_job={workers_per_job} must be >= 1")
        if wait_count < 1:
            raise ValueError(f"wait_count={wait_count} must be >= 1 (decisions wanting fewer jobs "
                             "before one is cancelled), e.g. wait_count=3")
        self.workers_per_job = workers_per_job
        self.wait_count = wait_count
        lo = math.ceil(max(0, minimum) / workers_per_job)
        if minimum_jobs is not None:
            lo = max(lo, minimum_jobs)
        hi: float = math.inf
        if maximum is not None:
            if maximum < workers_per_job:
                raise ValueError(
                    f"adapt(maximum={maximum}) is less than one job of {workers_per_job} worker "
                    f"processes, so no job could ever start; use adapt(maximum={workers_per_job}) "
                    f"or more, or give maximum_jobs="
                )
            hi = maximum // workers_per_job
        if maximum_jobs is not None:
            hi = min(hi, maximum_jobs)
        if hi < lo:
            raise ValueError(f"adapt bounds are empty: at least {lo} job(s) but at most {hi} "
                             f"(minimum={minimum}, maximum={maximum}, minimum_jobs={minimum_jobs}, "
                             f"maximum_jobs={maximum_jobs}, {workers_per_job} workers per job)")
        self.min_jobs = lo
        self.max_jobs = hi
        self._down = 0   # consecutive decisions that wanted fewer jobs

    def target_jobs(self, desired_workers: int) -> int:
        want = math.ceil(max(0, desired_workers) / self.workers_per_job)
        return int(min(self.max_jobs, max(self.min_jobs, want)))

    def decide(self, desired_workers: int, jobs: Sequence[JobView]) -> list[Submit | Cancel]:
        target = self.target_jobs(desired_workers)
        current = len(jobs)
        if target > current:
            self._down = 0
            return [Submit(target - current)]
        if target == current:
            self._down = 0
            return []
        self._down += 1
        if self._down < self.wait_count:
            return []
        # Cancel what costs nothing: queued jobs (newest first), then idle running jobs.
        excess = current - target
        order = [j for j in reversed(jobs) if j.pending] + [j for j in reversed(jobs) if not j.pending and not j.busy]
        actions: list[Submit | Cancel] = [Cancel(j.job_id) for j in order[:excess]]
        if len(actions) == excess:
            self._down = 0
        return actions


def desired_workers(info: dict, threads_per_worker: int = 1) -> int:
    """Workers the current load could keep busy: one thread per unfinished task.

    ``info`` is the scheduler's snapshot; ``n_tasks_pending`` counts tasks
    not finished yet (waiting, queued or running).
    """
    if "n_tasks_pending" in info:
        todo = int(info["n_tasks_pending"])
    else:
        todo = int(info.get("n_tasks", 0)) - int(info.get("n_finished", 0))
    return math.ceil(max(0, todo) / max(1, threads_per_worker))


class AdaptiveDriver:
    """Background thread: every ``interval`` s, observe, decide, act.

    ``observe() -> (desired_workers, jobs)``; ``submit(n)``; ``cancel(job_id)``.
    Errors in one step are logged and the next step tries again, except the
    ``fatal`` ones: they are kept in ``self.error`` and stop the loop.
    """

    def __init__(self, policy: AdaptivePolicy, observe: Callable[[], tuple[int, Sequence[JobView]]],
                 submit: Callable[[int], Any], cancel: Callable[[str], Any], interval: float = 1.0,
                 fatal: tuple[type[BaseException], ...] = ()):
        self.policy = policy
        self.interval = interval
        self.fatal = fatal           # errors that stop adapting (e.g. the batch system refuses the job)
        self.error: BaseException | None = None
        self._observe, self._submit, self._cancel = observe, submit, cancel
        self._stop = threading.Event()
        self.history: list[tuple[int, int, list]] = []   # (desired, n_jobs, actions): for inspection
        self._thread = threading.Thread(target=self._run, name="shoal-adapt", daemon=True)
        self._thread.start()

    def step(self) -> list[Submit | Cancel]:
        desired, jobs = self._observe()
        actions = self.policy.decide(desired, jobs)
        self.history.append((desired, len(jobs), actions))
        del self.history[:-1000]
        for a in actions:
            if isinstance(a, Submit):
                self._submit(a.n)
            else:
                self._cancel(a.job_id)
        return actions

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                self.step()
            except ReferenceError:
                return
            except self.fatal as e:
                self.error = e
                logger.error("adaptive scaling stopped: %s", e)
                return
            except Exception:
                logger.exception("adaptive scaling step failed; trying again in %ss", self.interval)

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not threading.current_thread():
            self._thread.join(timeout=10 * self.interval + 5)
