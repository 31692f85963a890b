"""What one batch job is, and the script that starts it on SLURM, PBS or SGE.

A ``JobSpec`` holds one job's resources (validated once, with errors that
show a correct call).  A writer turns it into the batch script: a block of
directives in the system's syntax (``#SBATCH``, ``#PBS``, ``#$``), the
user's prologue lines, then one command that starts all of the job's worker
processes::

    exec <python> -m shoal worker <scheduler> --nworkers P --nthreads C//P \
        --memory-limit M//P --name <name>-$JOB_ID --death-timeout T

Worker processes of job 1234 are therefore named ``<name>-1234-0`` ...
``<name>-1234-<P-1>``: the scheduler's worker list maps back to jobs by
that prefix, which is how scaling treats one job as one unit.  The same
script serves every job (the job id comes from the batch system), and it
never contains the scheduler's token: workers read it from the scheduler
file, or from SHOAL_TOKEN, which sbatch/qsub pass on from the submitting
environment.
"""
from __future__ import annotations

import dataclasses
import shlex
import sys
from typing import Sequence

from shoal.jobqueue.units import format_bytes, format_walltime, parse_memory, parse_walltime

__all__ = ["JobSpec", "make_spec", "SLURMScript", "PBSScript", "SGEScript", "worker_command"]


@dataclasses.dataclass(frozen=True)
class JobSpec:
    """Resources and worker settings of one job (all validated)."""

    cores: int
    processes: int
    memory: int                       # bytes for the whole job
    queue: str | None = None
    walltime: int | None = None       # seconds
    account: str | None = None
    job_extra_directives: tuple[str, ...] = ()
    job_script_prologue: tuple[str, ...] = ()
    local_directory: str | None = None
    log_directory: str | None = None
    interface: str | None = None
    python: str = sys.executable
    name: str = "shoal-worker"
    death_timeout: float = 60.0
    worker_extra_args: tuple[str, ...] = ()

    @property
    def threads_per_process(self) -> int:
        return self.cores // self.processes

    @property
    def memory_per_process(self) -> int:
        return self.memory // self.processes


def _lines(value: str | Sequence[str] | None, what: str) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        return (value,)
    if not all(isinstance(v, str) for v in value):
        raise TypeError(f"{what} must be a list of strings, e.g. {what}=['--exclusive'], got {value!r}")
    return tuple(value)


def make_spec(kind: str, *, cores: int | None = None, processes: int | None = None,
              memory: str | int | None = None, queue: str | None = None,
              walltime: str | int | None = None, account: str | None = None,
              project: str | None = None, job_extra_directives: Sequence[str] | None = None,
              job_script_prologue: Sequence[str] | None = None, local_directory: str | None = None,
              log_directory: str | None = None, interface: str | None = None,
              python: str | None = None, name: str | None = None, death_timeout: float = 60.0,
              worker_extra_args: Sequence[str] | None = None) -> JobSpec:
    """Validate a cluster's job arguments; ``kind`` names the class in errors."""
    if cores is None:
        raise TypeError(f"{kind} needs cores=, the cores of ONE job, e.g. {kind}(cores=16, processes=16, memory='24 GB')")
    if memory is None:
        raise TypeError(f"{kind} needs memory=, the memory of ONE job, e.g. {kind}(cores={cores}, memory='24 GB')")
    if not isinstance(cores, int) or isinstance(cores, bool) or cores < 1:
        raise ValueError(f"cores={cores!r} must be a whole number >= 1, e.g. cores=16")
    processes = 1 if processes is None else processes
    if not isinstance(processes, int) or isinstance(processes, bool) or processes < 1:
        raise ValueError(f"processes={processes!r} must be a whole number >= 1, e.g. processes=16")
    if processes > cores:
        raise ValueError(f"processes={processes} is more than cores={cores}: every worker process needs "
                         f"at least one core; use {kind}(cores={processes}, processes={processes}, ...)")
    if account is not None and project is not None and account != project:
        raise ValueError(f"account={account!r} and project={project!r} differ; project= is another name "
                         f"for account=, give only one")
    mem = parse_memory(memory)
    if mem // processes < 2**20:
        raise ValueError(f"memory={memory!r} leaves less than 1 MiB per worker process "
                         f"({processes} processes); give the memory of the whole job, e.g. memory='24 GB'")
    return JobSpec(
        cores=cores, processes=processes, memory=mem, queue=queue,
        walltime=None if walltime is None else parse_walltime(walltime),
        account=account if account is not None else project,
        job_extra_directives=_lines(job_extra_directives, "job_extra_directives"),
        job_script_prologue=_lines(job_script_prologue, "job_script_prologue"),
        local_directory=local_directory, log_directory=log_directory, interface=interface,
        python=python or sys.executable, name=name or "shoal-worker",
        death_timeout=float(death_timeout),
        worker_extra_args=_lines(worker_extra_args, "worker_extra_args"),
    )


def worker_command(spec: JobSpec, scheduler: str, job_id_var: str) -> str:
    """The shell command starting the job's worker processes.

    ``scheduler`` is ``tcp://host:port`` or a path to a scheduler file.
    """
    q = shlex.quote
    if "://" in scheduler:
        target = [q(scheduler)]
    else:
        target = ["--scheduler-file", q(scheduler)]
    args = [q(spec.python), "-m", "shoal", "worker", *target,
            "--nworkers", str(spec.processes), "--nthreads", str(spec.threads_per_process),
            "--memory-limit", q(format_bytes(spec.memory_per_process)),
            # the job id comes from the batch system at run time: leave it unquoted
            "--name", f"{q(spec.name)}-${{{job_id_var}}}",
            "--death-timeout", f"{spec.death_timeout:g}"]
    if spec.local_directory:
        args += ["--local-directory", q(spec.local_directory)]
    if spec.interface:
        # listen on, and advertise, this node's address on that interface (looked up on the node)
        args += ["--interface", q(spec.interface)]
    args += [q(a) for a in spec.worker_extra_args]
    return "exec " + " ".join(args)


class _Writer:
    """Common layout; subclasses give the directives of their system."""

    prefix = "#"
    job_id_var = "JOB_ID"
    # the flags taking the job name, the queue and the account, in that order
    name_flags = ("-N", "-q", "-A")

    def directives(self, spec: JobSpec) -> list[str]:
        raise NotImplementedError

    def _naming(self, spec: JobSpec) -> list[str]:
        """The job-name directive, then queue and account where given."""
        name, queue, account = self.name_flags
        d = [f"{name} {spec.name}"]
        if spec.queue:
            d.append(f"{queue} {spec.queue}")
        if spec.account:
            d.append(f"{account} {spec.account}")
        return d

    def script(self, spec: JobSpec, scheduler: str) -> str:
        lines = ["#!/usr/bin/env bash", ""]
        lines += [f"{self.prefix} {d}" for d in self.directives(spec)]
        lines += [f"{self.prefix} {d}" for d in spec.job_extra_directives]
        lines.append("")
        lines += list(spec.job_script_prologue)
        lines.append(worker_command(spec, scheduler, self.job_id_var))
        return "\n".join(lines) + "\n"


def _mib(n: int) -> int:
    return max(1, n // 2**20)


class SLURMScript(_Writer):
    prefix = "#SBATCH"
    job_id_var = "SLURM_JOB_ID"
    name_flags = ("-J", "-p", "-A")

    def directives(self, spec: JobSpec) -> list[str]:
        d = self._naming(spec)
        d += ["-n 1", f"--cpus-per-task={spec.cores}", f"--mem={_mib(spec.memory)}M"]
        if spec.walltime:
            d.append(f"-t {format_walltime(spec.walltime)}")
        if spec.log_directory:
            d += [f"-o {spec.log_directory}/%x-%j.out", f"-e {spec.log_directory}/%x-%j.err"]
        return d


class PBSScript(_Writer):
    prefix = "#PBS"
    job_id_var = "PBS_JOBID"
    name_flags = ("-N", "-q", "-A")

    def directives(self, spec: JobSpec) -> list[str]:
        d = self._naming(spec)
        d.append(f"-l select=1:ncpus={spec.cores}:mem={_mib(spec.memory)}mb")
        if spec.walltime:
            d.append(f"-l walltime={format_walltime(spec.walltime)}")
        if spec.log_directory:
            d += [f"-o {spec.log_directory}/", f"-e {spec.log_directory}/"]
        return d


class SGEScript(_Writer):
    prefix = "#$"
    job_id_var = "JOB_ID"
    name_flags = ("-N", "-q", "-P")

    def directives(self, spec: JobSpec) -> list[str]:
        d = self._naming(spec)
        if spec.cores > 1:
            d.append(f"-pe smp {spec.cores}")
        # h_vmem is per slot in most SGE set-ups: divide the job's memory by its cores.
        res = [f"h_vmem={_mib(spec.memory // spec.cores)}M"]
        if spec.walltime:
            res.append(f"h_rt={format_walltime(spec.walltime)}")
        d.append("-l " + ",".join(res))
        d.append("-cwd")
        if spec.log_directory:
            d += ["-j y", f"-o {spec.log_directory}/"]
        return d
