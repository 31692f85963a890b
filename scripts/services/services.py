"""Python face of the service scripts, for test fixtures and by-hand use.

Each ``start_*`` runs the matching shell script in this folder with a fresh
base folder under /tmp (mode 755: the munge user must reach its socket)
and returns a small record; ``stop()`` on that record runs the script's
``stop`` and removes the folder.  The scripts keep every PID they start and
stop exactly those, so a crashed test run can be cleaned up by hand with
``scripts/services/<name>.sh stop BASE``.

    python scripts/services/services.py slurm 3     # start, print, wait for Enter, stop
"""
from __future__ import annotations

import dataclasses
import os
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))


class ServiceError(RuntimeError):
    """A service script failed; the message carries its stderr."""


def _script(name: str, *args: str, timeout: float = 120, env: dict | None = None) -> str:
    path = os.path.join(HERE, name)
    proc = subprocess.run(["bash", path, *args], capture_output=True, text=True, timeout=timeout,
                          stdin=subprocess.DEVNULL, env={**os.environ, **(env or {})})
    if proc.returncode != 0:
        raise ServiceError(f"{name} {' '.join(args)} failed (exit {proc.returncode}):\n"
                           f"{proc.stderr.strip() or proc.stdout.strip()}")
    return proc.stdout


def new_base(prefix: str) -> str:
    base = tempfile.mkdtemp(prefix=f"shoal-{prefix}-", dir="/tmp")
    os.chmod(base, 0o755)
    return base


@dataclasses.dataclass
class Slurm:
    """A private SLURM cluster: export ``conf`` as SLURM_CONF to use it."""

    base: str
    conf: str
    nodes: list[str]

    @property
    def env(self) -> dict[str, str]:
        return {**os.environ, "SLURM_CONF": self.conf}

    def stop(self) -> None:
        try:
            _script("slurm.sh", "stop", self.base)
        finally:
            shutil.rmtree(self.base, ignore_errors=True)


def start_slurm(nodes: int = 1, cpus_per_node: int = 4) -> Slurm:
    base = new_base("slurm")
    try:
        out = _script("slurm.sh", "start", base, str(nodes), env={"CPUS_PER_NODE": str(cpus_per_node)})
    except Exception:
        _script("slurm.sh", "stop", base)
        shutil.rmtree(base, ignore_errors=True)
        raise
    conf = out.strip().splitlines()[-1].split("=", 1)[1]
    with open(os.path.join(base, "slurm", "nodes")) as f:
        names = f.read().split()
    return Slurm(base, conf, names)


@dataclasses.dataclass
class SSHHosts:
    """sshd servers sharing one client config (``ssh -F config HOST``).

    ``hosts`` are the addresses to give ssh; ``netns`` maps an address to its
    network namespace (absent for loopback).
    """

    base: str
    config: str
    hosts: list[str]
    netns: dict[str, str]

    def ssh(self, host: str, command: str, timeout: float = 30) -> subprocess.CompletedProcess:
        return subprocess.run(["ssh", "-n", "-F", self.config, host, command], capture_output=True,
                              text=True, timeout=timeout)

    def stop(self) -> None:
        try:
            _script("sshd.sh", "stop", self.base)
        finally:
            try:
                if self.netns:
                    _script("netns.sh", "stop", self.base)
            finally:
                shutil.rmtree(self.base, ignore_errors=True)


def start_sshd_loopback() -> SSHHosts:
    base = new_base("sshd")
    try:
        out = _script("sshd.sh", "start", base, "lo")
    except Exception:
        _script("sshd.sh", "stop", base)
        shutil.rmtree(base, ignore_errors=True)
        raise
    config = out.splitlines()[0].split("=", 1)[1]
    return SSHHosts(base, config, ["127.0.0.1"], {})


def start_netns_hosts(n: int = 3) -> SSHHosts:
    """``n`` namespaces (10.200.S.11, ...), each with its own sshd on port 22."""
    base = new_base("netns")
    hosts: list[str] = []
    netns: dict[str, str] = {}
    info = SSHHosts(base, os.path.join(base, "ssh", "ssh_config"), hosts, netns)
    try:
        out = _script("netns.sh", "start", base, str(n))
        for line in out.strip().splitlines():
            ns, addr = line.split()
            netns[addr] = ns
            hosts.append(addr)
            _script("sshd.sh", "start", base, ns, addr, "22", ns)
    except Exception:
        info.stop()
        raise
    return info


if __name__ == "__main__":  # pragma: no cover - by-hand use
    kind = sys.argv[1] if len(sys.argv) > 1 else "slurm"
    arg = int(sys.argv[2]) if len(sys.argv) > 2 else (1 if kind == "slurm" else 3)
    svc = {"slurm": lambda: start_slurm(arg), "sshd": start_sshd_loopback,
           "netns": lambda: start_netns_hosts(arg)}[kind]()
    print(svc)
    try:
        input("running; press Enter to stop ")
    finally:
        svc.stop()
