"""The test sshd servers: key login over loopback and between namespaces."""
from __future__ import annotations


def test_loopback_key_login(sshd_loopback):
    r = sshd_loopback.ssh("127.0.0.1", "echo $((6 * 7))")
    assert r.returncode == 0, r.stderr
    assert r.stdout.split() == ["42"]
    r = sshd_loopback.ssh("localhost", "true")
    assert r.returncode == 0, r.stderr


def test_namespaces_are_separate_hosts(netns_hosts):
    addrs = []
    for host in netns_hosts.hosts:
        r = netns_hosts.ssh(host, "ip -o -4 addr show dev eth0; echo $SSH_CONNECTION")
        assert r.returncode == 0, r.stderr
        assert f"inet {host}/24" in r.stdout
        addrs.append(r.stdout.split()[-2])  # server address as seen by sshd
    assert addrs == netns_hosts.hosts
