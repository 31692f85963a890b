"""Clusters whose workers are batch jobs: SLURM (tested on a real SLURM), PBS, SGE.

A ``JobQueueCluster`` runs the scheduler in this process (on the shared IO
loop, as LocalCluster does) and submits jobs that start workers connecting
back to it.  The unit of scaling is the JOB: ``scale(32)`` with
``processes=16`` submits 2 jobs; ``adapt()`` runs ``shoal.distributed.deploy.adaptive``'s
policy, which never splits a job, counts queued jobs as capacity and only
cancels idle jobs after ``wait_count`` consecutive decisions.

Job bookkeeping: ``self.workers`` maps job id -> job id (the Cluster base's
"worker unit" is a job).  Jobs that end on their own (walltime, node
failure, a worker crash) are noticed through the batch system's queue
listing and dropped, so adapt submits their replacements while work
remains.  The scheduler's token reaches the jobs through the environment
of sbatch/qsub (exported to the job), never through the script text.
"""
from __future__ import annotations

import getpass
import logging
import math
import os
import subprocess
import time
from typing import Any, Sequence

from shoal.distributed.deploy.adaptive import AdaptiveDriver, AdaptivePolicy, JobView, desired_workers
from shoal.distributed.comm.security import Security, new_token
from shoal.distributed.comm.addressing import interface_address
from shoal.distributed.deploy.cluster import Cluster
from shoal.jobqueue.job import JobSpec, PBSScript, SGEScript, SLURMScript, _Writer, make_spec
from shoal.jobqueue.units import parse_interval

logger = logging.getLogger("shoal.jobqueue")

__all__ = ["JobQueueCluster", "SLURMCluster", "PBSCluster", "SGECluster", "JobSubmissionError"]


class JobSubmissionError(RuntimeError):
    """The batch system refused a job; the message carries its own error text."""


class JobQueueCluster(Cluster):
    """Base for batch-system clusters; subclasses name their writer and commands."""

    writer: _Writer = SLURMScript()
    submit_command: tuple[str, ...] = ()
    cancel_command: tuple[str, ...] = ()

    def __init__(self, cores: int | None = None, processes: int | None = None,
                 memory: str | int | None = None, queue: str | None = None,
                 walltime: str | int | None = None, account: str | None = None,
                 project: str | None = None, job_extra_directives: Sequence[str] | None = None,
                 job_script_prologue: Sequence[str] | None = None, local_directory: str | None = None,
                 log_directory: str | None = None, interface: str | None = None,
                 python: str | None = None, name: str | None = None, *,
                 death_timeout: float = 60.0, worker_extra_args: Sequence[str] | None = None,
                 scheduler_address: str | None = None, host: str | None = None,
                 scheduler_port: int = 0, dashboard_address: str | None = None,
                 security: Security | None = None, n_workers: int = 0, job_env: dict | None = None,
                 contact_address: str | None = None):
        kind = type(self).__name__
        self.spec: JobSpec = make_spec(
            kind, cores=cores, processes=processes, memory=memory, queue=queue, walltime=walltime,
            account=account, project=project, job_extra_directives=job_extra_directives,
            job_script_prologue=job_script_prologue, local_directory=local_directory,
            log_directory=log_directory, interface=interface, python=python, name=name,
            death_timeout=death_timeout, worker_extra_args=worker_extra_args)
        if log_directory:
            os.makedirs(log_directory, exist_ok=True)
        if scheduler_address is None and (security is None or not security.token):
            security = (security or Security()).with_token(new_token())
        elif security is None:
            security = Security.from_env()
        super().__init__(security=security, name=self.spec.name)
        self.processes_per_worker = self.spec.processes
        self.threads_per_worker = self.spec.threads_per_process
        self.job_env = dict(job_env or {})
        if scheduler_address is not None:
            self._scheduler_address = scheduler_address      # a scheduler started elsewhere
        else:
            if host is None:
                # the interface the workers use, else every interface (advertising the address
                # of the default route, which compute nodes can reach; never a loopback name)
                host = interface_address(interface) if interface else ""
            self._start_local_scheduler(host, scheduler_port, dashboard_address=dashboard_address,
                                        contact_address=contact_address)
        self._states: dict[str, str] = {}   # job id -> last seen state
        if n_workers:
            try:
                self.scale(n_workers)
            except BaseException:
                self.close()
                raise

    # ---- the job script ------------------------------------------------
    def job_script(self) -> str:
        """The batch script every job of this cluster runs."""
        return self.writer.script(self.spec, self.scheduler_address)

    @property
    def processes(self) -> int:
        return self.spec.processes

    # ---- batch-system commands (subclasses may refine) ------------------
    def _run(self, argv: Sequence[str], input: str | None = None, timeout: float = 60) -> str:
        env = dict(os.environ)
        env.update(self.job_env)
        if self.security is not None and self.security.token:
            env["SHOAL_TOKEN"] = self.security.token      # exported to the job, not written in it
        try:
            proc = subprocess.run(list(argv), input=input, capture_output=True, text=True, env=env,
                                  timeout=timeout)
        except FileNotFoundError as e:
            raise JobSubmissionError(f"{argv[0]} not found: is this a {type(self).__name__[:-7]} "
                                     f"submit host? ({e})") from None
        if proc.returncode != 0:
            raise JobSubmissionError(
                f"{' '.join(argv)} failed (exit {proc.returncode}): {proc.stderr.strip() or proc.stdout.strip()}"
            )
        return proc.stdout

    def _submit_one(self) -> str:
        script = self.job_script()
        try:
            out = self._run(self.submit_command, input=script)
        except JobSubmissionError as e:
            raise JobSubmissionError(f"{e}\n\nThe job script was:\n{script}") from None
        return self._parse_job_id(out)

    def _parse_job_id(self, out: str) -> str:
        return out.strip().split(";")[0].split()[-1]

    def _cancel(self, job_ids: Sequence[str]) -> None:
        if job_ids:
            try:
                self._run([*self.cancel_command, *job_ids])
            except JobSubmissionError as e:   # a job that already ended is not an error here
                logger.info("cancel: %s", e)

    def _job_states(self) -> dict[str, str] | None:
        """Live jobs -> 'pending' | 'running'; None when this system's listing is unknown."""
        return None

    def _listed_ids(self) -> set[str] | None:
        """Every job id the queue still lists, in any state (completing ones too)."""
        states = self._job_states()
        return None if states is None else set(states)

    # ---- Cluster hooks -------------------------------------------------
    def _start_worker(self, name: str) -> Any:
        return self._submit_one()

    def _stop_worker(self, name: str, handle: Any) -> None:
        self._cancel([handle])

    # ---- jobs ------------------------------------------------------------
    def refresh(self) -> dict[str, str]:
        """Forget jobs that ended; return live job id -> 'pending' | 'running'."""
        states = self._job_states()
        with self._lock:
            if states is None:   # no listing: assume every submitted job still lives
                return {j: self._states.get(j, "pending") for j in self.workers}
            for j in list(self.workers):
                if j not in states:
                    del self.workers[j]
                    logger.info("job %s ended", j)
            self._states = {j: states[j] for j in self.workers}
            return dict(self._states)

    def _submit_jobs(self, n: int) -> list[str]:
        ids: list[str] = []
        with self._lock:
            if self._closed:     # a last adaptive step racing close(): submit nothing
                return ids
            for _ in range(n):
                j = self._submit_one()
                self.workers[j] = j
                self._states[j] = "pending"
                ids.append(j)
        return ids

    def _cancel_jobs(self, job_ids: Sequence[str]) -> None:
        with self._lock:
            for j in job_ids:
                self.workers.pop(j, None)
                self._states.pop(j, None)
        self._cancel(list(job_ids))

    def scale(self, n: int | None = None, jobs: int | None = None) -> None:
        """Run ``n`` workers (rounded up to whole jobs), or exactly ``jobs`` jobs.

        Stops adaptive scaling, as a manual choice of size replaces it.
        """
        if (n is None) == (jobs is None):
            raise TypeError("scale() needs n (workers) or jobs=, not both: e.g. scale(32) or scale(jobs=2)")
        if jobs is None:
            if n < 0:
                raise ValueError(f"scale(n) needs n >= 0, got {n}")
            jobs = math.ceil(n / self.spec.processes)
        if jobs < 0:
            raise ValueError(f"scale(jobs=) needs jobs >= 0, got {jobs}")
        if self._closed:
            raise RuntimeError(f"{self.name} is closed; start a new cluster to scale it")
        if self._adaptive is not None:
            self._adaptive.stop()
            self._adaptive = None
        live = self.refresh()
        if jobs > len(live):
            self._submit_jobs(jobs - len(live))
        elif jobs < len(live):
            # queued jobs first (newest first), then the newest running ones
            order = [j for j in reversed(list(live)) if live[j] == "pending"]
            order += [j for j in reversed(list(live)) if live[j] != "pending"]
            self._cancel_jobs(order[: len(live) - jobs])

    def adapt(self, minimum: int = 0, maximum: int | None = None, minimum_jobs: int | None = None,
              maximum_jobs: int | None = None, interval: float | str = 1.0,
              wait_count: int | None = None, scale_down_wait: float | str | None = None) -> AdaptiveDriver:
        """Submit and cancel whole jobs following the scheduler's load (see shoal.distributed.deploy.adaptive).

        ``interval`` is seconds (or a string such as ``'500ms'``, ``'2s'``).  A job
        no longer needed is cancelled once fewer jobs have been wanted for
        ``scale_down_wait`` (default ``'3s'``, the config key
        ``jobqueue.adaptive.scale-down-wait``: three checks a second apart, as
        Dask's ``wait_count=3, interval='1s'``); ``wait_count`` counts checks instead.
        """
        interval = parse_interval(interval)
        if wait_count is not None and scale_down_wait is not None:
            raise TypeError("give scale_down_wait= (seconds) or wait_count= (checks), not both")
        if wait_count is None:
            from shoal import config

            wait = parse_interval(scale_down_wait if scale_down_wait is not None
                                  else config.get("jobqueue.adaptive.scale-down-wait", "3s"), "scale_down_wait")
            wait_count = max(1, math.ceil(wait / interval - 1e-9))
        policy = AdaptivePolicy(self.spec.processes, minimum=minimum, maximum=maximum,
                                minimum_jobs=minimum_jobs, maximum_jobs=maximum_jobs, wait_count=wait_count)
        # a job the batch system would refuse fails here, in the caller's thread, not later
        self.validate_job()
        if self._adaptive is not None:
            self._adaptive.stop()
        self._adaptive = AdaptiveDriver(policy, self._observe, self._submit_jobs,
                                        lambda j: self._cancel_jobs([j]), interval=interval,
                                        fatal=(JobSubmissionError,))
        return self._adaptive

    def validate_job(self) -> None:
        """Ask the batch system whether it would accept the job (JobSubmissionError if not)."""

    def _observe(self) -> tuple[int, list[JobView]]:
        live = self.refresh()
        info = self.scheduler_info()
        by_job: dict[str, list[tuple[str, int]]] = {j: [] for j in live}
        for w in info.get("workers", {}).values():
            j = self.job_of_worker(str(w.get("name")))
            if j in by_job:
                # busy: running tasks, or holding results (cancelling it would make the
                # scheduler recompute them, and that load would submit a new job: a loop)
                by_job[j].append((str(w.get("name")), int(w.get("processing", 0)) + int(w.get("n_keys", 0))))
        views = [JobView(j, pending=live[j] == "pending", busy=any(p for _, p in by_job[j]),
                         workers=tuple(n for n, _ in by_job[j])) for j in live]
        return desired_workers(info, self.threads_per_worker), views

    def job_of_worker(self, worker_name: str) -> str | None:
        """The job id in a worker name ``<name>-<jobid>[-<i>]`` of this cluster."""
        prefix = f"{self.spec.name}-"
        if not worker_name.startswith(prefix):
            return None
        rest = worker_name[len(prefix):]
        for j in self.workers:
            if rest == j or rest.startswith(f"{j}-"):
                return j
        return None

    def worker_names(self) -> list[str]:
        return sorted(str(w.get("name")) for w in self.scheduler_info().get("workers", {}).values())

    def wait_for_workers(self, n: int, timeout: float = 120.0) -> None:
        """Block until ``n`` worker processes have joined the scheduler."""
        deadline = time.monotonic() + timeout
        while True:
            have = len(self.scheduler_info().get("workers", {}))
            if have >= n:
                return
            if time.monotonic() > deadline:
                raise TimeoutError(f"only {have} of {n} workers joined within {timeout}s; jobs: "
                                   f"{self.refresh()}; see the job logs"
                                   + (f" in {self.spec.log_directory}" if self.spec.log_directory else ""))
            time.sleep(0.2)

    def close(self, timeout: float = 30.0) -> None:
        """Cancel every job (one command), wait until none is queued, stop the scheduler."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            driver, self._adaptive = self._adaptive, None
        if driver is not None:
            driver.stop()        # outside the lock: a step in flight may be waiting for it
        with self._lock:
            ids = list(self.workers)
            self.workers.clear()
        try:
            self._cancel(ids)
            deadline = time.monotonic() + timeout
            while ids and time.monotonic() < deadline:   # until none is even completing
                listed = self._listed_ids()
                if listed is None or not any(j in listed for j in ids):
                    break
                time.sleep(0.2)
        finally:
            self._stop_scheduler()
            from shoal.distributed.deploy import cluster as _base

            _base._live.discard(self)

    def _view_info(self, snapshot: dict | None = None) -> dict:
        from shoal.distributed import views

        try:
            script = self.job_script()
        except Exception:
            script = None
        return views.cluster_info(self, snapshot=snapshot, rows=views.job_rows(self), job_script=script)


class SLURMCluster(JobQueueCluster):
    """Workers as SLURM jobs (sbatch/squeue/scancel).

    >>> cluster = SLURMCluster(processes=16, cores=16, memory='24 GB', queue='low', walltime='3:00:00')
    >>> cluster.scale(32)            # two jobs of 16 workers
    >>> cluster.adapt(maximum=32)    # or: whole jobs on demand
    """

    writer = SLURMScript()
    submit_command = ("sbatch", "--parsable")
    cancel_command = ("scancel",)

    def _listed_ids(self) -> set[str] | None:
        out = self._run(["squeue", "-h", "-u", getpass.getuser(), "-o", "%i"])
        return set(out.split())

    def _job_states(self) -> dict[str, str] | None:
        out = self._run(["squeue", "-h", "-u", getpass.getuser(), "-o", "%i %T"])
        states = {}
        for line in out.splitlines():
            parts = line.split()
            if len(parts) == 2 and parts[1] in ("PENDING", "CONFIGURING", "REQUEUED", "RESIZING"):
                states[parts[0]] = "pending"
            elif len(parts) == 2 and parts[1] in ("RUNNING", "SUSPENDED"):
                states[parts[0]] = "running"
        return states


    def validate_job(self) -> None:
        """``sbatch --test-only``: SLURM checks partition, memory, time without queueing a job."""
        script = self.job_script()
        try:
            self._run(["sbatch", "--test-only"], input=script)
        except JobSubmissionError as e:
            raise JobSubmissionError(f"{e}\n\nThe job script was:\n{script}") from None


class PBSCluster(JobQueueCluster):
    """Workers as PBS/Torque jobs (qsub/qdel).  Script text tested; no PBS here to run it."""

    writer = PBSScript()
    submit_command = ("qsub",)
    cancel_command = ("qdel",)

    def _parse_job_id(self, out: str) -> str:
        return out.strip().splitlines()[-1].strip()


class SGECluster(JobQueueCluster):
    """Workers as (Son of) Grid Engine jobs (qsub/qdel).  Script text tested; no SGE here to run it."""

    writer = SGEScript()
    submit_command = ("qsub", "-terse")
    cancel_command = ("qdel",)

    def _parse_job_id(self, out: str) -> str:
        return out.strip().splitlines()[-1].split(".")[0]
