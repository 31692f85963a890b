"""`shoal ssh` as a user runs it: in the background, then Ctrl-C, client leaving, or kill -9."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import uuid

import pytest

from shoal.distributed import Client
from tests.deploy.conftest import processes_with_token, wait_no_processes


def _start(hosts_args, config, tmp_path, *extra, token=None):
    token = token or uuid.uuid4().hex
    sched_file = tmp_path / f"sched-{token[:6]}.json"
    env = {**os.environ, "SHOAL_TOKEN": token,
           "SHOAL_DISTRIBUTED__SECURITY__TOKEN_FILE": str(tmp_path / "token")}
    proc = subprocess.Popen(
        [sys.executable, "-m", "shoal", "ssh", *hosts_args, "--ssh-config", config,
         "--remote-python", sys.executable, "--scheduler-port", "0", "--dashboard-address", "none",
         "--scheduler-file", str(sched_file), "--log-level", "WARNING", *extra],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    deadline = time.monotonic() + 60
    while not sched_file.exists():
        if proc.poll() is not None:
            pytest.fail(f"shoal ssh exited with {proc.returncode}:\n{proc.stdout.read()}")
        if time.monotonic() > deadline:
            proc.kill()
            pytest.fail("shoal ssh did not write its scheduler file within 60 s")
        time.sleep(0.1)
    info = json.loads(sched_file.read_text())
    assert info["token"] == token
    return proc, token, sched_file


def _finish(proc, timeout=30):
    try:
        out, _ = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, _ = proc.communicate()
        pytest.fail(f"shoal ssh did not exit:\n{out}")
    return out


def test_ctrl_c_stops_every_remote_process(sshd_loopback, tmp_path):
    proc, token, sched_file = _start(["--scheduler", "127.0.0.1", "127.0.0.1", "127.0.0.1",
                                      "--nworkers", "2", "--nthreads", "1"], sshd_loopback.config, tmp_path)
    with Client(scheduler_file=str(sched_file), set_as_default=False) as client:
        client.wait_for_workers(4, timeout=60)
        assert sum(client.gather(client.map(lambda x: x + 1, range(20)))) == sum(range(1, 21))
        proc.send_signal(signal.SIGINT)                  # Ctrl-C
        out = _finish(proc)
    assert proc.returncode == 0, out
    assert "every remote process stopped" in out
    assert wait_no_processes(token) == []
    assert not sched_file.exists()


def test_last_client_leaving_stops_the_cluster(sshd_loopback, tmp_path):
    hostfile = tmp_path / "hosts"
    hostfile.write_text("127.0.0.1 localhost  # two workers\n")
    proc, token, sched_file = _start(["--scheduler", "127.0.0.1", "--hostfile", str(hostfile)],
                                     sshd_loopback.config, tmp_path)
    # the tutorial's way: Client(address), the token from the environment
    address = json.loads(sched_file.read_text())["address"]
    os.environ["SHOAL_TOKEN"] = token
    try:
        c = Client(address, set_as_default=False)
        c.wait_for_workers(2, timeout=60)
        assert c.submit(sum, [1, 2, 3]).result(timeout=30) == 6
        c.close()
    finally:
        del os.environ["SHOAL_TOKEN"]
    out = _finish(proc)
    assert "clients left" in out and proc.returncode == 0, out
    assert wait_no_processes(token) == []


def test_kill_9_is_cleaned_up_by_the_heartbeat(sshd_loopback, tmp_path):
    proc, token, sched_file = _start(["--scheduler", "127.0.0.1", "127.0.0.1", "--heartbeat-timeout", "3"],
                                     sshd_loopback.config, tmp_path)
    assert processes_with_token(token)
    proc.kill()                                         # no chance to clean up
    proc.communicate(timeout=10)
    assert wait_no_processes(token, timeout=20) == []


def test_across_namespace_hosts(netns_hosts, tmp_path):
    h1, h2, h3 = netns_hosts.hosts
    proc, token, sched_file = _start(["--scheduler", h1, h2, h3, h3, "--keep-alive"], netns_hosts.config,
                                     tmp_path)
    try:
        with Client(scheduler_file=str(sched_file), set_as_default=False) as client:
            client.wait_for_workers(3, timeout=60)
            hosts = sorted(a.split("://")[1].rsplit(":", 1)[0] for a in client.scheduler_info()["workers"])
            assert hosts == [h2, h3, h3]
            assert sum(client.gather(client.map(lambda x: 2 * x, range(40)))) == 2 * sum(range(40))
        time.sleep(2.5)
        assert proc.poll() is None                      # --keep-alive: still up without clients
    finally:
        proc.send_signal(signal.SIGTERM)
        out = _finish(proc)
    assert proc.returncode == 0, out
    assert wait_no_processes(token) == []


def test_usage_errors():
    r = subprocess.run([sys.executable, "-m", "shoal", "ssh", "--scheduler", "h"], capture_output=True, text=True)
    assert r.returncode == 2 and "no worker hosts" in r.stderr


def test_ctrl_c_while_starting(sshd_loopback, tmp_path):
    token = uuid.uuid4().hex
    env = {**os.environ, "SHOAL_TOKEN": token, "SHOAL_DISTRIBUTED__SECURITY__TOKEN_FILE": str(tmp_path / "token")}
    proc = subprocess.Popen(
        [sys.executable, "-m", "shoal", "ssh", "--scheduler", "127.0.0.1", "127.0.0.1", "127.0.0.1",
         "--ssh-config", sshd_loopback.config, "--scheduler-port", "0", "--dashboard-address", "none"],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    for line in proc.stdout:                  # the scheduler's session is up: start-up is under way
        if line.startswith("[scheduler@"):
            break
    proc.send_signal(signal.SIGINT)
    out = _finish(proc)
    assert proc.returncode == 130, out
    assert "interrupted while starting" in out
    assert wait_no_processes(token) == []
