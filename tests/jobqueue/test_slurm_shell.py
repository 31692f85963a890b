"""SLURM from the shell: the sbatch example of docs/deployment.md, run as written, and
the tutorial's `shoal scheduler & srun shoal worker tcp://${SCHED}:PORT &` pattern."""
from __future__ import annotations

import os
import pathlib
import re
import socket
import subprocess
import sys
import time

import psutil

DOCS = pathlib.Path(__file__).resolve().parents[2] / "docs" / "deployment.md"


def _env(cluster, home):
    bindir = os.path.dirname(sys.executable)
    return {**cluster.env, "PATH": f"{bindir}:{os.environ['PATH']}", "HOME": str(home)}


def _run_job(script: pathlib.Path, env, cwd, timeout=120) -> str:
    job = subprocess.run(["sbatch", "--parsable", str(script)], capture_output=True, text=True, env=env,
                         cwd=cwd, check=True).stdout.strip().split(";")[0]
    end = time.monotonic() + timeout
    while True:
        q = subprocess.run(["squeue", "-h", "-j", job, "-o", "%T"], capture_output=True, text=True, env=env)
        if not q.stdout.strip():
            break
        if time.monotonic() > end:
            subprocess.run(["scancel", job], env=env)
            raise AssertionError(f"job {job} still {q.stdout.strip()} after {timeout}s")
        time.sleep(0.3)
    return job


def _job_processes(job: str) -> list:
    left = []
    for p in psutil.process_iter(["pid"]):
        try:
            if p.environ().get("SLURM_JOB_ID") == job and p.status() != psutil.STATUS_ZOMBIE:
                left.append((p.pid, p.cmdline()))
        except psutil.Error:
            pass
    return left


def test_docs_sbatch_example_runs_as_written(slurm_multinode, tmp_path):
    text = DOCS.read_text()
    blocks = re.findall(r"```bash\n(.*?)```", text, re.S)
    example = [b for b in blocks if "#SBATCH --job-name=shoal-analysis" in b]
    assert len(example) == 1, "docs/deployment.md lost its complete sbatch example"
    script = tmp_path / "analysis.sh"
    script.write_text(example[0])
    env = _env(slurm_multinode, tmp_path)
    job = _run_job(script, env, tmp_path)
    out = (tmp_path / f"shoal-analysis-{job}.out").read_text()
    assert f"sum of squares: {sum(i * i for i in range(1000))}" in out, out
    assert "workers: 4" in out, out
    assert not list(tmp_path.glob("scheduler-*.json"))   # the trap removed the scheduler file
    assert _job_processes(job) == []


def test_tutorial_srun_pattern_with_token_file(slurm, tmp_path):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    script = tmp_path / "tutorial.sh"
    script.write_text(f"""#!/bin/bash
#SBATCH -n 2
#SBATCH -o {tmp_path}/tutorial-%j.out
export SCHED=$(hostname)
shoal scheduler --port {port} --dashboard-address none &
sleep 2
srun shoal worker tcp://${{SCHED}}:{port} --nthreads 1 &
python - <<'EOF'
import os
from shoal.distributed import Client
c = Client(address=os.getenv('SCHED') + ':{port}')      # token from ~/.shoal/token
c.wait_for_workers(2, timeout=60)
print("result:", sum(c.gather(c.map(lambda x: x + 1, range(100)))))
c.shutdown()
EOF
wait
""")
    env = _env(slurm, tmp_path)
    job = _run_job(script, env, tmp_path)
    out = (tmp_path / f"tutorial-{job}.out").read_text()
    assert f"result: {sum(range(1, 101))}" in out, out
    assert (tmp_path / ".shoal" / "token").stat().st_mode & 0o077 == 0   # private token file
    assert _job_processes(job) == []
