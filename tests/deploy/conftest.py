"""Session fixtures: real sshd servers with key login.

``sshd_loopback``: one sshd on 127.0.0.1 (free port).  ``netns_hosts``:
three network namespaces acting as separate hosts (10.200.S.11-13), each
running its own sshd on port 22.  Both share nothing with ~/.ssh: the
client key, known_hosts and ports live in a private ssh config file
(``.config``) that the tests pass explicitly (``ssh -F``).
"""
from __future__ import annotations

import os
import sys

import pytest

from tests.conftest import IN_CI, require

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "scripts", "services"))
import services  # noqa: E402


@pytest.fixture(scope="session")
def sshd_loopback():
    require("sshd")
    require("ssh")
    hosts = services.start_sshd_loopback()
    try:
        yield hosts
    finally:
        hosts.stop()


@pytest.fixture(scope="session")
def netns_hosts():
    require("sshd")
    require("ip")
    if os.geteuid() != 0:
        msg = "network namespaces need root"
        if IN_CI:
            pytest.fail(msg + "; CI=true requires every component", pytrace=False)
        pytest.skip(msg)
    hosts = services.start_netns_hosts(3)
    try:
        yield hosts
    finally:
        hosts.stop()


def processes_with_token(token: str) -> list[tuple[int, list[str]]]:
    """(pid, cmdline) of every process on this machine whose environment holds ``token``.

    Every process a deployment starts (guards, schedulers, worker commands,
    nannies' worker processes) carries SHOAL_TOKEN, and the "hosts" of
    these tests (loopback, network namespaces) share one process table, so
    this one scan checks every host at once.
    """
    import psutil

    found = []
    for p in psutil.process_iter(["pid"]):
        try:
            if p.environ().get("SHOAL_TOKEN") == token and p.status() != psutil.STATUS_ZOMBIE:
                found.append((p.pid, p.cmdline()))
        except psutil.Error:
            pass
    return found


def wait_no_processes(token: str, timeout: float = 20.0) -> list:
    import time

    end = time.monotonic() + timeout
    while True:
        left = processes_with_token(token)
        if not left or time.monotonic() > end:
            return left
        time.sleep(0.1)
