"""SLURMCluster on a real SLURM: jobs start workers that compute; scale and adapt
move the number of jobs (checked with squeue); close leaves no job and no process.

Sizes are small (2 worker processes per job instead of the tutorial's 16): the
logic that keeps a multi-process job one unit is the same.
"""
from __future__ import annotations

import os
import subprocess
import threading
import time

from shoal.distributed import Client
from shoal.jobqueue import SLURMCluster
from tests.deploy.conftest import wait_no_processes


def squeue(env=None) -> dict[str, tuple[str, str]]:
    """job id -> (state, node) of every job SLURM lists."""
    out = subprocess.run(["squeue", "-h", "-o", "%i %T %N"], capture_output=True, text=True, check=True,
                         env=env).stdout
    return {p[0]: (p[1], p[2] if len(p) > 2 else "") for p in (line.split() for line in out.splitlines())}


def wait_until(pred, timeout, what):
    end = time.monotonic() + timeout
    while not pred():
        assert time.monotonic() < end, f"timed out waiting for {what}"
        time.sleep(0.1)


class QueueSampler:
    """Samples squeue in the background: which job ids existed, and how many at most at once."""

    def __init__(self, env=None, period=0.2):
        self.env, self.period = env, period
        self.seen: set[str] = set()
        self.max_live = 0
        self.samples: list[tuple[float, int]] = []
        self._stop = threading.Event()
        self._t = threading.Thread(target=self._run, daemon=True)
        self._t.start()

    def _run(self):
        while not self._stop.wait(self.period):
            live = [j for j, (st, _) in squeue(self.env).items() if st in ("PENDING", "RUNNING", "CONFIGURING")]
            self.seen |= set(live)
            self.max_live = max(self.max_live, len(live))
            self.samples.append((time.monotonic(), len(live)))

    def stop(self):
        self._stop.set()
        self._t.join()


def _cluster(tmp_path, **kw):
    args = dict(cores=2, processes=2, memory="1GB", walltime="00:10:00", log_directory=str(tmp_path / "logs"),
                death_timeout=20)
    args.update(kw)
    return SLURMCluster(**args)


def test_scale_compute_and_close(slurm, tmp_path):
    cluster = _cluster(tmp_path, interface="lo")      # scheduler and workers on lo's address
    token = cluster.security.token
    try:
        assert "#SBATCH --cpus-per-task=2" in cluster.job_script()
        cluster.scale(4)                                  # 4 workers = 2 jobs of 2 processes
        assert set(squeue()) == set(cluster.workers) and len(cluster.workers) == 2
        cluster.wait_for_workers(4, timeout=60)
        assert cluster.scheduler_address.startswith("tcp://127.0.0.1:")
        assert all(a.startswith("tcp://127.0.0.1:") for a in cluster.scheduler_info()["workers"])
        jobs = sorted(cluster.workers)
        assert cluster.worker_names() == sorted(f"shoal-worker-{j}-{i}" for j in jobs for i in (0, 1))
        with Client(cluster, set_as_default=False) as client:
            assert sum(client.gather(client.map(lambda x: x * x, range(200)))) == sum(x * x for x in range(200))
            cluster.scale(jobs=1)                         # the newest job goes, as a whole
            assert set(squeue()) <= set(jobs) and list(cluster.workers) == jobs[:1]
            wait_until(lambda: jobs[1] not in squeue(), 30, "the cancelled job to leave squeue")
            wait_until(lambda: len(cluster.worker_names()) == 2, 30, "its two workers to leave")
            assert {cluster.job_of_worker(n) for n in cluster.worker_names()} == {jobs[0]}
            cluster.scale(2)                              # 2 workers: still one job
            assert list(cluster.workers) == jobs[:1]
            assert client.submit(lambda: 6 * 7).result(timeout=30) == 42
    finally:
        cluster.close()
    assert squeue() == {}
    assert wait_no_processes(token) == []


def test_adapt_keeps_whole_jobs_while_work_remains_then_releases(slurm, tmp_path):
    """The tutorial's case, scaled down: processes=2 per job, adapt(maximum=4), a burst of tasks."""
    cluster = _cluster(tmp_path)
    token = cluster.security.token
    sampler = QueueSampler()
    try:
        driver = cluster.adapt(minimum=0, maximum=4, interval='500ms', scale_down_wait='1.5s')
        assert driver.policy.wait_count == 3          # 1.5 s of checks 0.5 s apart
        with Client(cluster, set_as_default=False) as client:
            def slow(i):
                time.sleep(0.25)
                return i * i
            futs = client.map(slow, range(48))
            time.sleep(1.0)
            wait_until(lambda: len(squeue()) == 2, 30, "two jobs for the burst")
            assert sum(client.gather(futs)) == sum(i * i for i in range(48))
            jobs_during = set(sampler.seen)
            assert len(jobs_during) == 2, f"a series of jobs was submitted: {sorted(jobs_during)}"
            # no work, but the results are still held: the jobs keep them (no cancel-recompute loop)
            time.sleep(2.5)
            assert set(squeue()) == jobs_during
            del futs
            released = time.monotonic()
            # idle now: both jobs are released (after the scale-down wait), none resubmitted
            wait_until(lambda: not squeue(), 30, "idle jobs to be released")
            assert time.monotonic() - released < 10, "idle jobs were kept far past the scale-down wait"
            time.sleep(2.0)
            assert not squeue() and sampler.seen == jobs_during
    finally:
        sampler.stop()
        cluster.close()
    assert sampler.max_live == 2
    assert wait_no_processes(token) == []


def test_adapt_replaces_a_job_that_ended_while_work_remains(slurm, tmp_path):
    """A job that ends on its own (walltime, node failure: here scancel from outside) is replaced."""
    cluster = _cluster(tmp_path)
    token = cluster.security.token
    try:
        cluster.adapt(maximum=2, interval=0.3, wait_count=3)
        with Client(cluster, set_as_default=False) as client:
            def slow(i):
                time.sleep(0.2)
                return i
            futs = client.map(slow, range(60))
            wait_until(lambda: len(cluster.worker_names()) == 2, 60, "the first job's workers")
            first = list(cluster.workers)
            assert len(first) == 1
            subprocess.run(["scancel", first[0]], check=True)
            wait_until(lambda: any(j not in first for j in squeue()), 30, "a replacement job")
            assert sorted(client.gather(futs)) == list(range(60))
            assert len(set(cluster.workers) - set(first)) == 1
    finally:
        cluster.close()
    assert squeue() == {}
    assert wait_no_processes(token) == []


def test_jobs_spread_over_several_nodes(slurm_multinode, tmp_path):
    env = slurm_multinode.env
    cluster = _cluster(tmp_path, job_env={"SLURM_CONF": slurm_multinode.conf})
    token = cluster.security.token
    try:
        cluster.scale(jobs=3)
        cluster.wait_for_workers(6, timeout=60)
        q = squeue(env)
        assert sorted(node for st, node in q.values()) == ["node1", "node2", "node3"]
        with Client(cluster, set_as_default=False) as client:
            out = client.gather(client.map(lambda i: (i, os.environ.get("SLURMD_NODENAME")), range(60)))
            assert sorted(i for i, _ in out) == list(range(60))
            assert {n for _, n in out} <= {"node1", "node2", "node3"}
    finally:
        cluster.close()
    assert squeue(env) == {}
    assert wait_no_processes(token) == []


def test_killed_submitting_process_leaves_no_job(slurm, tmp_path):
    """kill -9 of the Python that holds the scheduler: workers exit after death_timeout, jobs end."""
    import sys

    code = (
        "import time\n"
        "from shoal.jobqueue import SLURMCluster\n"
        f"c = SLURMCluster(cores=2, processes=2, memory='1GB', death_timeout=5, log_directory={str(tmp_path)!r})\n"
        "c.scale(jobs=1); c.wait_for_workers(2, timeout=60)\n"
        "print(c.security.token, list(c.workers)[0], flush=True)\n"
        "time.sleep(600)\n"
    )
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    try:
        token, job = proc.stdout.readline().split()
        assert job in squeue()
    finally:
        proc.kill()
        proc.wait()
    wait_until(lambda: job not in squeue(), 40, "the orphaned job to end by itself")
    assert wait_no_processes(token) == []
