"""Remote commands under the guard: however the SSH session ends, nothing is left running."""
from __future__ import annotations

import subprocess
import time
import uuid

import psutil
import pytest

from shoal.distributed.deploy.remote import RemoteProcess, SSHOptions


def _marked(marker: str) -> list[psutil.Process]:
    out = []
    for p in psutil.process_iter(["cmdline"]):
        try:
            if any(marker in part for part in (p.info["cmdline"] or [])):
                out.append(p)
        except psutil.Error:
            pass
    return out


def _cmdline(pid: int) -> list:
    """A live process's command line; [] for one that has ended (gone, or a zombie not yet reaped)."""
    try:
        return psutil.Process(pid).cmdline()
    except (psutil.NoSuchProcess, psutil.ZombieProcess):
        return []


def _wait_gone(marker: str, timeout: float = 15.0) -> list:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        left = _marked(marker)
        if not left:
            return []
        time.sleep(0.1)
    return [(p.pid, p.cmdline()) for p in _marked(marker)]



def test_stop_kills_the_whole_remote_tree(sshd_loopback):
    marker = f"m{uuid.uuid4().hex[:8]}"   # carried in each shell's argv, so psutil can find them
    cmd = ["sh", "-c", f": {marker}; echo ready; sleep 900 & sh -c 'sleep 901 & wait' & (setsid sh -c 'sleep 902; : {marker}' &); wait"]
    p = RemoteProcess("127.0.0.1", cmd, ssh=SSHOptions({"config_file": sshd_loopback.config}))
    p.wait_for(lambda line: line == "ready", 20)
    time.sleep(0.3)
    assert len(_marked(marker)) >= 2        # the command and its escaped grandchild
    rc = p.stop()
    assert rc is not None and rc != 0
    assert _wait_gone(marker) == []
    assert any("ssh session closed" in line for line in p.lines)


def test_exit_status_and_secret_env_travel_over_the_channel(sshd_loopback):
    secret = uuid.uuid4().hex
    p = RemoteProcess("127.0.0.1", ["sh", "-c", 'echo "token=$SHOAL_TOKEN"; exit 3'],
                      ssh=SSHOptions({"config_file": sshd_loopback.config}), env={"SHOAL_TOKEN": secret})
    assert p.proc.wait(20) == 3
    p.stop()
    assert f"token={secret}" in p.lines
    assert secret not in " ".join(p.proc.args)   # never on a command line


def test_killed_ssh_client_leaves_no_orphans(sshd_loopback):
    marker = f"m{uuid.uuid4().hex[:8]}"
    cmd = ["sh", "-c", f": {marker}; echo ready; sleep 900 & (setsid sh -c 'sleep 903; : {marker}' &); wait"]
    p = RemoteProcess("127.0.0.1", cmd, ssh=SSHOptions({"config_file": sshd_loopback.config}))
    p.wait_for(lambda line: line == "ready", 20)
    p.proc.kill()                             # the connection is lost, not closed politely
    p.proc.wait(10)
    assert _wait_gone(marker) == []


def test_cut_link_is_noticed_by_the_heartbeat(netns_hosts):
    host = netns_hosts.hosts[1]
    ns = netns_hosts.netns[host]
    marker = f"m{uuid.uuid4().hex[:8]}"
    cmd = ["sh", "-c", f": {marker}; echo ready; sleep 900 & wait"]
    p = RemoteProcess(host, cmd, ssh=SSHOptions({"config_file": netns_hosts.config}), heartbeat=0.5, timeout=3)
    try:
        p.wait_for(lambda line: line == "ready", 20)
        subprocess.run(["ip", "-n", ns, "link", "set", "eth0", "down"], check=True)
        t0 = time.monotonic()
        # the processes live in the cut-off host's namespace: look there
        assert _wait_gone(marker, timeout=20) == []
        assert time.monotonic() - t0 < 15
        in_ns = subprocess.run(["ip", "netns", "pids", ns], capture_output=True, text=True).stdout.split()
        assert all(marker not in " ".join(_cmdline(int(pid))) for pid in in_ns)
    finally:
        subprocess.run(["ip", "-n", ns, "link", "set", "eth0", "up"], check=True)
        p.proc.kill()
        p.proc.wait(10)


def test_unknown_connect_option_is_rejected():
    with pytest.raises(TypeError, match="unknown keys.*'prot'"):
        SSHOptions({"prot": 22})
    args = SSHOptions({"port": 2222, "username": "me", "identity_file": "/k", "known_hosts": "/kh",
                       "options": {"Compression": "yes"}}).argv("h")
    assert args[-1] == "h"
    assert ["-p", "2222"] == args[args.index("-p"):args.index("-p") + 2]
    assert "UserKnownHostsFile=/kh" in args and "Compression=yes" in args and "/k" in args
