"""No worker outlives the program that started it, even when that program is SIGKILLed."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time

import psutil

SCRIPT = textwrap.dedent("""
    import sys, time
    from shoal.distributed import LocalCluster
    cluster = LocalCluster(n_workers=2, threads_per_worker=1, dashboard_address=None, death_timeout=60)
    print(" ".join(str(p) for p in cluster.worker_pids()), flush=True)
    time.sleep(120)
""")


def _alive(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def test_workers_exit_within_a_second_of_their_owner_being_killed():
    owner = subprocess.Popen([sys.executable, "-c", SCRIPT], stdout=subprocess.PIPE, text=True,
                             cwd=os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
    pids: list[int] = []
    try:
        line = owner.stdout.readline()
        pids = [int(p) for p in line.split()]
        assert len(pids) == 2 and all(_alive(p) for p in pids), line
        os.kill(owner.pid, signal.SIGKILL)
        owner.wait(10)
        t0 = time.monotonic()
        while any(_alive(p) for p in pids) and time.monotonic() - t0 < 5:
            time.sleep(0.05)
        took = time.monotonic() - t0
        assert not any(_alive(p) for p in pids), "workers outlived their owner by 5 s"
        assert took < 1.0, f"workers took {took:.2f}s to notice their owner died"
    finally:
        if owner.poll() is None:
            owner.kill()
            owner.wait()
        for p in pids:   # only the processes this test started
            if _alive(p):
                os.kill(p, signal.SIGKILL)


def test_worker_processes_exit_when_the_shoal_worker_command_is_killed():
    from shoal.distributed import LocalCluster

    with LocalCluster(n_workers=0, processes=False, dashboard_address=None) as cluster:
        env = dict(os.environ, SHOAL_TOKEN=cluster.security.token)
        cmd = subprocess.Popen([sys.executable, "-m", "shoal", "worker", cluster.scheduler_address,
                                "--nworkers", "2", "--nthreads", "1", "--death-timeout", "60"],
                               env=env, stderr=subprocess.DEVNULL)
        pids: list[int] = []
        try:
            cluster.wait_for_workers(2, timeout=60)
            pids = [c.pid for c in psutil.Process(cmd.pid).children()]
            assert len(pids) == 2
            os.kill(cmd.pid, signal.SIGKILL)
            cmd.wait(10)
            t0 = time.monotonic()
            while any(_alive(p) for p in pids) and time.monotonic() - t0 < 5:
                time.sleep(0.05)
            assert time.monotonic() - t0 < 1.0, "worker processes outlived the killed `shoal worker`"
        finally:
            if cmd.poll() is None:
                cmd.kill()
                cmd.wait()
            for p in pids:
                if _alive(p):
                    os.kill(p, signal.SIGKILL)
