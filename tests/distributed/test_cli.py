"""`shoal scheduler` and `shoal worker` as real processes (the section 5.4/5.5 pattern)."""
from __future__ import annotations

import json
import os
import signal
import stat
import subprocess
import sys
import time

import pytest

from shoal.distributed import Client, Security
from tests.conftest import stop_process as _stop

PY = sys.executable


def _wait_for(path, timeout=30):
    deadline = time.time() + timeout
    while not os.path.exists(path):
        assert time.time() < deadline, f"{path} never appeared"
        time.sleep(0.05)


@pytest.fixture
def scheduler(tmp_path):
    sf = str(tmp_path / "sched.json")
    tf = str(tmp_path / "token")
    proc = subprocess.Popen([PY, "-m", "shoal", "scheduler", "--port", "0", "--host", "127.0.0.1",
                             "--scheduler-file", sf, "--token-file", tf, "--dashboard-address", "none",
                             "--worker-ttl", "3"],
                            stderr=subprocess.PIPE, text=True)
    try:
        _wait_for(sf)
        time.sleep(0.1)
        yield proc, sf, tf
    finally:
        _stop(proc)


def test_scheduler_writes_private_token_and_workers_join(scheduler):
    proc, sf, tf = scheduler
    for path in (sf, tf):
        assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    info = json.load(open(sf))
    assert info["address"].startswith("tcp://127.0.0.1:")
    assert open(tf).read().strip() == info["token"]
    env = dict(os.environ, SHOAL_TOKEN=info["token"])
    # the srun pattern: address on the command line, token from the environment
    worker = subprocess.Popen([PY, "-m", "shoal", "worker", info["address"], "--nworkers", "2",
                               "--nthreads", "1", "--name", "w", "--memory-limit", "1GB"],
                              env=env, stderr=subprocess.PIPE, text=True)
    try:
        with Client(info["address"], security=Security(token=info["token"]), set_as_default=False) as c:
            c.wait_for_workers(2, timeout=60)
            assert c.gather(c.map(abs, range(-50, 0))) == list(range(50, 0, -1))
        assert _stop(worker) == 0  # SIGTERM: clean exit
        err = worker.stderr.read()
        assert "workers stopped" in err
        assert err.split("\n")[0][:4].isdigit()  # timestamped log lines
    finally:
        _stop(worker, signal.SIGKILL)


def test_client_shutdown_stops_scheduler_and_remote_workers(scheduler):
    proc, sf, tf = scheduler
    worker = subprocess.Popen([PY, "-m", "shoal", "worker", "--scheduler-file", sf, "--nthreads", "1"],
                              stderr=subprocess.DEVNULL)
    try:
        with Client(scheduler_file=sf, set_as_default=False) as c:
            c.wait_for_workers(1, timeout=60)
            assert c.submit(sum, [1, 2]).result(timeout=30) == 3
            c.shutdown()
        assert proc.wait(20) == 0
        assert worker.wait(20) == 0
    finally:
        _stop(worker, signal.SIGKILL)


@pytest.mark.parametrize("fault", ["killed", "frozen"])
def test_worker_exits_after_death_timeout_when_scheduler_vanishes(scheduler, fault):
    proc, sf, tf = scheduler
    worker = subprocess.Popen([PY, "-m", "shoal", "worker", "--scheduler-file", sf, "--nthreads", "1",
                               "--death-timeout", "2"], stderr=subprocess.DEVNULL)
    try:
        with Client(scheduler_file=sf, set_as_default=False) as c:
            c.wait_for_workers(1, timeout=60)
        t = time.time()
        if fault == "killed":
            proc.kill()
            proc.wait()
        else:
            proc.send_signal(signal.SIGSTOP)  # alive, connection open, but silent
        try:
            # killed: the connection closes; frozen: heartbeats go unanswered for the silence
            # limit (10 heartbeats, 5 s) first. Then reconnecting gives up after 2 s.
            assert worker.wait(60) != 0
            assert time.time() - t < (15 if fault == "killed" else 30)
        finally:
            if fault == "frozen":
                proc.send_signal(signal.SIGCONT)
    finally:
        _stop(worker, signal.SIGKILL)


def test_sigterm_stops_a_worker_still_connecting():
    import socket

    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()  # no scheduler there: the worker keeps trying for --death-timeout
    env = dict(os.environ, SHOAL_TOKEN="t" * 32)
    worker = subprocess.Popen([PY, "-m", "shoal", "worker", f"tcp://127.0.0.1:{port}", "--death-timeout", "30"],
                              env=env, stderr=subprocess.DEVNULL)
    try:
        time.sleep(2)
        worker.send_signal(signal.SIGTERM)
        t = time.time()
        assert worker.wait(20) == 0
        assert time.time() - t < 10  # at once, not after the death timeout
    finally:
        _stop(worker, signal.SIGKILL)


def test_worker_without_token_is_refused(scheduler, tmp_path):
    proc, sf, tf = scheduler
    info = json.load(open(sf))
    env = {k: v for k, v in os.environ.items() if k != "SHOAL_TOKEN"}
    env["HOME"] = str(tmp_path)  # no default token file either
    r = subprocess.run([PY, "-m", "shoal", "worker", info["address"], "--token-file", str(tmp_path / "none")],
                       env=env, capture_output=True, text=True, timeout=60)
    assert r.returncode == 2 and "no token" in r.stderr


def test_private_files_are_never_written_through_a_planted_symlink(tmp_path):
    from shoal.distributed.cli import _write_private

    target = tmp_path / "sched.json"
    stolen = tmp_path / "elsewhere"
    (tmp_path / "sched.json.tmp").symlink_to(stolen)  # the old fixed temporary name
    _write_private(str(target), "secret")
    assert target.read_text() == "secret" and (target.stat().st_mode & 0o777) == 0o600
    assert not stolen.exists()
