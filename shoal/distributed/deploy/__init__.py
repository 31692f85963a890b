"""Every way to start a scheduler and workers, in one place.

``cluster``   the generic ``Cluster`` base every deployment builds on
``local``     ``LocalCluster``: scheduler and workers on this machine
``ssh``       ``SSHCluster`` (and ``ssh_cli``, the ``shoal ssh`` command) for hosts reached over SSH
``remote``    the guard every remote command runs under, so nothing outlives its SSH session
``adaptive``  the pure scaling policy that job-based clusters (``shoal.jobqueue``) follow
``request``   one-shot requests to a scheduler (connect, authenticate, ask, close)

Which address a scheduler or worker advertises is decided in
``shoal.distributed.comm.addressing``.
"""
from __future__ import annotations

from typing import Any

from shoal.distributed.deploy.cluster import Cluster

__all__ = ["Cluster", "LocalCluster", "SSHCluster", "AdaptivePolicy"]

_LAZY = {
    "LocalCluster": "shoal.distributed.deploy.local",
    "SSHCluster": "shoal.distributed.deploy.ssh",
    "AdaptivePolicy": "shoal.distributed.deploy.adaptive",
}


def __getattr__(name: str) -> Any:
    mod = _LAZY.get(name)
    if mod is None:
        raise AttributeError(f"module 'shoal.distributed.deploy' has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(mod), name)
