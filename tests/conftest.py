"""Shared fixtures: the scheduler parametrisation and required components.

``SCHEDULERS`` lists every scheduler the semantics suite runs on.  A test
that needs an outside program calls ``require("dot")`` (an optional Python
package: ``require_module("tables", "pip install 'shoal[io]'")``): on a
developer machine a missing component skips the test with the install hint;
under ``CI=true`` it fails, so CI can never pass by skipping.
"""
from __future__ import annotations

import os
import shutil
import signal
import subprocess

import pytest

IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")

SCHEDULERS = ["sync", "threads", "processes", "distributed"]

_HINTS = {
    "dot": "apt-get install graphviz",
    "sshd": "apt-get install openssh-server",
    "slurmctld": "apt-get install slurm-wlm munge",
    "chromium": "apt-get install chromium",
}


def require(program: str) -> str:
    """Path of ``program``; skip (locally) or fail (CI) when it is missing."""
    path = shutil.which(program) or (f"/usr/sbin/{program}" if os.path.exists(f"/usr/sbin/{program}") else None)
    if path:
        return path
    msg = f"{program} is not installed ({_HINTS.get(program, 'install it')})"
    if IN_CI:
        pytest.fail(msg + "; CI=true requires every component", pytrace=False)
    pytest.skip(msg)


def require_module(name: str, install: str):
    """The imported module ``name``; skip (locally) or fail (CI) when it cannot be imported."""
    import importlib

    try:
        return importlib.import_module(name)
    except ImportError as e:
        msg = f"{name} cannot be imported ({e}); {install}"
    if IN_CI:
        pytest.fail(msg + "; CI=true requires every component", pytrace=False)
    pytest.skip(msg)


def stop_process(proc, sig: int = signal.SIGTERM, timeout: float = 15) -> int:
    """Send ``sig`` to a running ``subprocess.Popen``, wait up to ``timeout`` s, then kill it; its exit status."""
    if proc.poll() is None:
        proc.send_signal(sig)
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    return proc.returncode


@pytest.fixture(params=SCHEDULERS)
def scheduler(request):
    """Each scheduler name in turn; 'distributed' runs under a LocalCluster client."""
    name = request.param
    if name == "distributed":
        client = request.getfixturevalue("distributed_client")
        yield "distributed"
        del client
    else:
        yield name


@pytest.fixture(scope="session")
def distributed_client():
    """One LocalCluster + Client (2 workers x 1 thread) shared by the session."""
    from shoal.distributed import Client, LocalCluster

    cluster = LocalCluster(n_workers=2, threads_per_worker=1, dashboard_address=None)
    client = Client(cluster, set_as_default=False)
    try:
        yield client
    finally:
        client.close()
        cluster.close()
