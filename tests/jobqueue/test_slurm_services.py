"""The test SLURM cluster itself: jobs run, several nodes answer, teardown is clean."""
from __future__ import annotations

import subprocess
import time


def _squeue_ids(env=None) -> set[str]:
    out = subprocess.run(["squeue", "-h", "-o", "%i"], capture_output=True, text=True, check=True, env=env)
    return set(out.stdout.split())


def test_batch_job_runs_and_writes_output(slurm, tmp_path):
    out = tmp_path / "job.out"
    sub = subprocess.run(["sbatch", "--parsable", "-o", str(out), "--wrap", "echo $((6 * 7)) $SLURM_JOB_ID"],
                         capture_output=True, text=True, check=True)
    job = sub.stdout.strip().split(";")[0]
    deadline = time.time() + 60
    while time.time() < deadline and (job in _squeue_ids() or not out.exists()):
        time.sleep(0.2)
    assert out.read_text().split() == ["42", job]


def test_several_nodes_run_one_step_each(slurm_multinode):
    r = subprocess.run(["srun", "-N", "3", "sh", "-c", "echo $SLURMD_NODENAME"], capture_output=True,
                       text=True, timeout=60, env=slurm_multinode.env)
    assert r.returncode == 0, r.stderr
    assert sorted(r.stdout.split()) == ["node1", "node2", "node3"] == sorted(slurm_multinode.nodes)
