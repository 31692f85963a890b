"""SSHCluster over real sshd: loopback and network namespaces acting as separate hosts."""
from __future__ import annotations

import getpass
import subprocess
import sys
import uuid

import pytest

from shoal.distributed.deploy.ssh import SSHCluster
from shoal.distributed import Client
from shoal.distributed.comm.security import Security
from tests.deploy.conftest import processes_with_token, wait_no_processes


def _square_sum(client, n):
    futs = client.map(lambda x: x * x, range(n))
    return sum(client.gather(futs))


def test_loopback_cluster_computes_and_close_leaves_nothing(sshd_loopback):
    token = uuid.uuid4().hex
    user = getpass.getuser()
    cluster = SSHCluster(["127.0.0.1", f"{user}@127.0.0.1", "localhost"],       # user@host works too
                         connect_options={"config_file": sshd_loopback.config},
                         worker_options={"nthreads": 1, "nworkers": 1}, remote_python=sys.executable,
                         security=Security(token=token), close_when_clients_leave=False)
    try:
        workers = cluster.scheduler_info()["workers"]
        assert sorted(w["name"] for w in workers.values()) == ["ssh-0", "ssh-1"]
        # scheduler + 2 worker commands + 2 worker processes (plus their guards) are running
        assert len(processes_with_token(token)) >= 5
        with Client(cluster, set_as_default=False) as client:
            assert _square_sum(client, 50) == sum(x * x for x in range(50))
        assert not cluster.closed   # close_when_clients_leave=False: the cluster outlives its client
    finally:
        cluster.close()
    assert wait_no_processes(token) == []


def test_closing_the_client_stops_the_cluster(sshd_loopback):
    token = uuid.uuid4().hex
    cluster = SSHCluster(["127.0.0.1", "127.0.0.1"], connect_options={"config_file": sshd_loopback.config},
                         remote_python=sys.executable, security=Security(token=token))
    client = Client(cluster, set_as_default=False)
    assert client.submit(lambda: 6 * 7).result(timeout=30) == 42
    client.close()
    assert cluster.closed
    assert wait_no_processes(token) == []


def test_namespaces_as_hosts(netns_hosts):
    """Scheduler on host 1, workers on hosts 2 and 3 (two on 3): each listens on its own address."""
    token = uuid.uuid4().hex
    h1, h2, h3 = netns_hosts.hosts
    cluster = SSHCluster([h1, h2, h3, h3], connect_options={"config_file": netns_hosts.config},
                         remote_python=sys.executable, security=Security(token=token),
                         worker_options={"nthreads": 1})
    try:
        assert cluster.scheduler_address.startswith(f"tcp://{h1}:")
        workers = cluster.scheduler_info()["workers"]
        hosts = sorted(addr.split("://")[1].rsplit(":", 1)[0] for addr in workers)
        assert hosts == [h2, h3, h3]
        # each process runs inside its host's namespace
        for host in (h1, h2, h3):
            pids = subprocess.run(["ip", "netns", "pids", netns_hosts.netns[host]], capture_output=True,
                                  text=True, check=True).stdout.split()
            mine = {pid for pid, _ in processes_with_token(token)}
            assert mine & {int(p) for p in pids}, f"nothing of ours on {host}"
        with Client(cluster, set_as_default=False) as client:
            import socket

            futs = client.map(lambda i: (i, socket.gethostbyname(socket.gethostname())), range(30))
            assert sorted(i for i, _ in client.gather(futs)) == list(range(30))
            assert _square_sum(client, 100) == sum(x * x for x in range(100))
    finally:
        cluster.close()
    assert wait_no_processes(token) == []
    for ns in netns_hosts.netns.values():
        left = subprocess.run(["ip", "netns", "pids", ns], capture_output=True, text=True).stdout.split()
        names = [open(f"/proc/{p}/comm").read().strip() for p in left if _exists(p)]
        assert all(n == "sshd" for n in names), (ns, names)


def _exists(pid: str) -> bool:
    try:
        open(f"/proc/{pid}/comm").close()
        return True
    except OSError:
        return False


def test_bad_arguments_explain_the_fix():
    with pytest.raises(ValueError, match="at least one worker host"):
        SSHCluster(["only-one"])
    with pytest.raises(TypeError, match="worker_options has unknown keys"):
        SSHCluster(["a", "b"], worker_options={"threads": 2})


def test_unreachable_host_fails_with_ssh_own_message(sshd_loopback, tmp_path):
    token = uuid.uuid4().hex
    with pytest.raises(RuntimeError, match="(?i)connection refused|connect to host"):
        SSHCluster(["127.0.0.1", "127.0.0.1"], connect_options={"config_file": sshd_loopback.config, "port": 1},
                   security=Security(token=token))
    assert wait_no_processes(token) == []


def test_namespace_hosts_by_interface(netns_hosts):
    """``interface`` in both option sets: each process finds its own host's address on eth0."""
    token = uuid.uuid4().hex
    h1, h2, _ = netns_hosts.hosts
    cluster = SSHCluster([h1, h2], connect_options={"config_file": netns_hosts.config},
                         remote_python=sys.executable, security=Security(token=token),
                         scheduler_options={"interface": "eth0"},
                         worker_options={"nthreads": 1, "interface": "eth0"})
    try:
        assert cluster.scheduler_address.startswith(f"tcp://{h1}:")
        workers = list(cluster.scheduler_info()["workers"])
        assert [w.split("://")[1].rsplit(":", 1)[0] for w in workers] == [h2]
        with Client(cluster, set_as_default=False) as client:
            assert _square_sum(client, 20) == sum(x * x for x in range(20))
    finally:
        cluster.close()
    assert wait_no_processes(token) == []
