"""sbatch refusing a job surfaces as an exception carrying SLURM's own message."""
from __future__ import annotations

import subprocess

import pytest

from shoal.jobqueue import JobSubmissionError, SLURMCluster


def _queue() -> list[str]:
    return subprocess.run(["squeue", "-h", "-o", "%i"], capture_output=True, text=True, check=True).stdout.split()


def test_bad_partition(slurm):
    with SLURMCluster(cores=1, memory="100MB", queue="no-such-partition") as cluster:
        with pytest.raises(JobSubmissionError, match="(?i)invalid partition") as err:
            cluster.scale(jobs=1)
        assert "#SBATCH -p no-such-partition" in str(err.value)   # the script is shown too
        assert cluster.workers == {}
    assert _queue() == []


def test_memory_no_node_has(slurm):
    with SLURMCluster(cores=1, memory="100 TB") as cluster:
        with pytest.raises(JobSubmissionError, match="(?i)memory|node configuration"):
            cluster.scale(1)
    assert _queue() == []


def test_bad_memory_string_fails_before_submitting(slurm):
    with pytest.raises(ValueError, match=r"memory='24 GBs' is not a (memory )?size.*e.g. memory='24 GB'"):
        SLURMCluster(cores=1, memory="24 GBs")


def test_adapt_checks_the_job_before_it_starts(slurm):
    with SLURMCluster(cores=1, memory="100MB", queue="no-such-partition") as cluster:
        with pytest.raises(JobSubmissionError, match="(?i)invalid partition"):
            cluster.adapt(maximum=2)
        assert cluster._adaptive is None
    assert _queue() == []
