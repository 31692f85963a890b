"""Workers as batch jobs: ``SLURMCluster``, ``PBSCluster``, ``SGECluster``.

Each class describes ONE job (cores, processes, memory, queue, walltime,
...); ``scale(n)`` / ``scale(jobs=)`` and ``adapt()`` submit and cancel
such jobs, each job being one unit of ``processes`` worker processes.
``job_script()`` shows the script that is submitted.
"""
from __future__ import annotations

__all__ = ["JobQueueCluster", "SLURMCluster", "PBSCluster", "SGECluster", "JobSubmissionError"]

_WHERE = {
    "JobQueueCluster": "shoal.jobqueue.cluster",
    "JobSubmissionError": "shoal.jobqueue.cluster",
    "SLURMCluster": "shoal.jobqueue.cluster",
    "PBSCluster": "shoal.jobqueue.cluster",
    "SGECluster": "shoal.jobqueue.cluster",
}


def __getattr__(name: str):
    if name in _WHERE:
        import importlib

        return getattr(importlib.import_module(_WHERE[name]), name)
    raise AttributeError(f"module 'shoal.jobqueue' has no attribute {name!r}")
