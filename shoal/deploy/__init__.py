"""Deployments on machines you reach over SSH, and the adaptive policy for job-based clusters.

``SSHCluster`` (used as ``Client(SSHCluster([...]))``) and the ``shoal ssh``
command start a scheduler and workers on other hosts; ``adaptive`` holds the
pure scaling policy that SLURM/PBS/SGE clusters use.
"""
from __future__ import annotations

__all__ = ["SSHCluster", "AdaptivePolicy"]


def __getattr__(name: str):
    if name == "SSHCluster":
        from shoal.deploy.ssh import SSHCluster

        return SSHCluster
    if name == "AdaptivePolicy":
        from shoal.deploy.adaptive import AdaptivePolicy

        return AdaptivePolicy
    raise AttributeError(f"module 'shoal.deploy' has no attribute {name!r}")
