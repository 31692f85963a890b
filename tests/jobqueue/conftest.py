"""Session fixtures: a real SLURM cluster (munge + slurmctld + slurmd) on this host.

Started through scripts/services (one node, or several slurmd daemons for
multi-node tests) and stopped at the end of the session; SLURM_CONF is set
for the session so sbatch/squeue/scancel (and SLURMCluster) talk to it.
"""
from __future__ import annotations

import os
import sys

import pytest

from tests.conftest import require

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "scripts", "services"))
import services  # noqa: E402


@pytest.fixture(scope="session")
def slurm():
    """A one-node SLURM cluster (4 CPUs declared); yields services.Slurm."""
    for prog in ("slurmctld", "slurmd", "munged", "sbatch"):
        require(prog)
    cluster = services.start_slurm(nodes=1)
    old = os.environ.get("SLURM_CONF")
    os.environ["SLURM_CONF"] = cluster.conf
    try:
        yield cluster
    finally:
        if old is None:
            os.environ.pop("SLURM_CONF", None)
        else:
            os.environ["SLURM_CONF"] = old
        cluster.stop()


@pytest.fixture(scope="session")
def slurm_multinode():
    """Three slurmd daemons (node1..node3) on this host under one controller.

    Use ``env=cluster.env`` for SLURM commands: SLURM_CONF in os.environ
    points at the one-node cluster when both fixtures are active.
    """
    for prog in ("slurmctld", "slurmd", "munged", "sbatch"):
        require(prog)
    cluster = services.start_slurm(nodes=3, cpus_per_node=2)
    try:
        yield cluster
    finally:
        cluster.stop()
