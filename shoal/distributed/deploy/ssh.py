"""``SSHCluster``: a scheduler and workers on hosts reached over SSH, with no orphans.

    cluster = SSHCluster(["sched-host", "w1", "w1", "w2"],
                         connect_options={"username": "me"},
                         worker_options={"nthreads": 2}, remote_python="/opt/venv/bin/python")
    client = Client(cluster)

The first host runs the scheduler; each further entry is one worker unit
(``worker_options['nworkers']`` processes), so a repeated host gets more
workers.  Every remote command runs under the guard of
``shoal.distributed.deploy.remote``: it dies with its SSH session.  So whichever way
the cluster ends -- ``cluster.close()``, the last client disconnecting
(``close_when_clients_leave``, on by default), the Python process being
killed, or the connection being lost (heartbeats stop) -- no scheduler or
worker process is left on any host.

The token: the scheduler and workers get it over the SSH channel (never on
a command line).  By default it is the user's default token (the file
named by config ``distributed.security.token-file``, ``~/.shoal/token``),
created if missing, so ``Client("tcp://sched-host:8786")`` works on the
submit host as in the tutorial; pass ``security=`` to use another.
"""
from __future__ import annotations

import logging
import os
import re
import sys
import threading
import time
from typing import Any, Callable, Mapping, Sequence

from shoal import config
from shoal.distributed.deploy.remote import RemoteProcess, SSHOptions, stop_all
from shoal.distributed.comm.security import Security, new_token
from shoal.distributed.deploy.cluster import Cluster

logger = logging.getLogger("shoal.distributed.deploy.ssh")

__all__ = ["SSHCluster", "default_token"]

_LISTEN_RE = re.compile(r"listening at ((?:tcp|tls)://\S+)")


def default_token() -> str:
    """SHOAL_TOKEN, else the user's default token file (created with mode 0600 when missing)."""
    if os.environ.get("SHOAL_TOKEN"):
        return os.environ["SHOAL_TOKEN"]
    path = os.path.expanduser(config.get("distributed.security.token-file", "~/.shoal/token"))
    if os.path.exists(path):
        tok = Security.from_file(path).token
        if tok:
            return tok
    tok = new_token()
    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    fd = os.open(path + ".tmp", os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(tok + "\n")
    os.replace(path + ".tmp", path)
    return tok


def _address_of(host: str) -> str:
    """The address part of an ssh destination ('me@node1' -> 'node1'): what processes listen on."""
    return host.rsplit("@", 1)[-1]


def _flags(options: Mapping[str, Any], known: set[str], what: str) -> list[str]:
    unknown = set(options) - known
    if unknown:
        raise TypeError(f"{what} has unknown keys {sorted(unknown)}; known keys are {sorted(known)}")
    out: list[str] = []
    for k, v in options.items():
        if v is None or v is False:
            continue
        out.append("--" + k.replace("_", "-"))
        if v is not True:
            out.append(str(v))
    return out


class SSHCluster(Cluster):
    """Scheduler on ``hosts[0]``, one worker unit per further entry of ``hosts``."""

    WORKER_KEYS = {"nthreads", "nworkers", "memory_limit", "local_directory", "death_timeout",
                   "resources", "log_level", "host", "interface", "contact_address"}
    SCHEDULER_KEYS = {"port", "dashboard_address", "worker_ttl", "log_level", "host", "interface",
                      "contact_address"}

    def __init__(self, hosts: Sequence[str], connect_options: Mapping[str, Any] | Sequence[Mapping[str, Any]] | None = None,
                 worker_options: Mapping[str, Any] | None = None,
                 scheduler_options: Mapping[str, Any] | None = None,
                 remote_python: str | Sequence[str] | None = None, *, security: Security | None = None,
                 name: str | None = None, close_when_clients_leave: bool = True,
                 heartbeat: float = 2.0, heartbeat_timeout: float = 30.0, start_timeout: float = 60.0,
                 on_output: Callable[[str, str], None] | None = None):
        hosts = list(hosts)
        if len(hosts) < 2:
            raise ValueError(f"SSHCluster needs the scheduler's host and at least one worker host, got "
                             f"{hosts!r}; e.g. SSHCluster(['sched-host', 'worker1', 'worker1'])")
        self.hosts = hosts
        n = len(hosts)
        if isinstance(connect_options, Sequence) and not isinstance(connect_options, (str, Mapping)):
            if len(connect_options) != n:
                raise ValueError(f"connect_options is a list of {len(connect_options)}, but there are {n} hosts")
            self._ssh = [SSHOptions(c) for c in connect_options]
        else:
            self._ssh = [SSHOptions(connect_options)] * n
        if remote_python is None or isinstance(remote_python, str):
            # default: the same path as this Python (a shared virtualenv, as on most clusters)
            self._python = [remote_python or sys.executable] * n
        else:
            if len(remote_python) != n:
                raise ValueError(f"remote_python is a list of {len(remote_python)}, but there are {n} hosts")
            self._python = list(remote_python)
        self.worker_options = dict(worker_options or {})
        self.scheduler_options = dict(scheduler_options or {})
        self._worker_flags = _flags(self.worker_options, self.WORKER_KEYS, "worker_options")
        _flags(self.scheduler_options, self.SCHEDULER_KEYS, "scheduler_options")
        self._uses_default_token = security is None or not security.token
        if self._uses_default_token:
            security = (security or Security()).with_token(default_token())
        super().__init__(security=security, name=name or "ssh")
        self.threads_per_worker = int(self.worker_options.get("nthreads") or 1)
        self.processes_per_worker = int(self.worker_options.get("nworkers") or 1)
        self._hb = (heartbeat, heartbeat_timeout)
        self._on_output = on_output or self._log_line
        self._start_timeout = start_timeout
        self.scheduler_process: RemoteProcess | None = None
        self._monitor: Any = None
        self._watch_stop = threading.Event()
        self._close_done = threading.Event()
        self._baseline_clients = 1
        #: read by Client.close(): closing a Client(cluster) closes this cluster too
        self.close_with_client = close_when_clients_leave
        try:
            self._start_scheduler()
            self.scale(len(hosts) - 1)
            self.wait_for_workers((len(hosts) - 1) * self.processes_per_worker, timeout=start_timeout)
            if close_when_clients_leave:
                threading.Thread(target=self._watch_clients, name="shoal-ssh-watch", daemon=True).start()
        except BaseException:
            self.close()
            raise

    @staticmethod
    def _log_line(name: str, line: str) -> None:
        logger.info("[%s] %s", name, line)

    def _remote(self, index: int, argv: list[str], name: str) -> RemoteProcess:
        return RemoteProcess(self.hosts[index], argv, ssh=self._ssh[index], python=self._python[index],
                             env={"SHOAL_TOKEN": self.security.token}, heartbeat=self._hb[0],
                             timeout=self._hb[1], name=name, on_line=self._on_output)

    # ---- hooks -----------------------------------------------------------
    def _start_scheduler(self) -> None:
        opts = dict(self.scheduler_options)
        host = opts.pop("host", None)
        if host is None and not opts.get("interface"):
            host = _address_of(self.hosts[0])    # the address ssh reached: others reach it too
        opts.setdefault("port", 0)
        opts.setdefault("dashboard_address", "none")
        argv = [self._python[0], "-m", "shoal", "scheduler", *(["--host", host] if host else []),
                *_flags(opts, self.SCHEDULER_KEYS, "scheduler_options")]
        if self._uses_default_token:
            # the user's own token: the scheduler host's copy of the file may hold it too
            token_file = os.path.expanduser(config.get("distributed.security.token-file", "~/.shoal/token"))
            argv += ["--token-file", token_file]
        else:
            # a token of this cluster only: never overwrite the user's token file on the
            # scheduler host; use a private temporary file removed when the scheduler ends
            argv = ["sh", "-c", 'f=$(mktemp "${TMPDIR:-/tmp}/shoal-token.XXXXXX") || exit 1; '
                    'trap \'rm -f "$f" "$f.tmp"\' EXIT; trap "exit 143" TERM INT HUP; '
                    '"$@" --token-file "$f"', "sh", *argv]
        proc = self._remote(0, argv, f"scheduler@{self.hosts[0]}")
        self.scheduler_process = proc
        self._scheduler_address = proc.wait_for(
            lambda line: (m := _LISTEN_RE.search(line)) and m.group(1), self._start_timeout)

    def _start_worker(self, name: str) -> Any:
        index = 1 + (self._counter - 1) % (len(self.hosts) - 1)   # round robin over worker entries
        host = self.hosts[index]
        where = [] if {"host", "interface"} & set(self.worker_options) else ["--host", _address_of(host)]
        argv = [self._python[index], "-m", "shoal", "worker", self.scheduler_address, *where,
                "--name", f"{name}", *self._worker_flags]
        return self._remote(index, argv, f"{name}@{host}")

    def _stop_worker(self, name: str, handle: RemoteProcess) -> None:
        handle.stop()

    def _stop_scheduler(self) -> None:
        if self.scheduler_process is not None:
            self.scheduler_process.stop()

    # ---- extras ------------------------------------------------------------
    def scheduler_info(self) -> dict:
        if self._monitor is not None and self._monitor.status == "running":
            return self._monitor.scheduler_info()
        return super().scheduler_info()

    def wait_for_workers(self, n: int, timeout: float = 60.0) -> None:
        from shoal.distributed.client import Client

        if self._monitor is None:
            self._monitor = Client(self.scheduler_address, security=self.security, set_as_default=False,
                                   name="ssh-cluster-monitor")
            # clients the scheduler counts with only us connected (it may count internal ones)
            self._baseline_clients = int(self._monitor.scheduler_info().get("clients", 1))
        deadline = time.monotonic() + timeout
        while True:
            have = len(self._monitor.scheduler_info().get("workers", {}))
            if have >= n:
                return
            dead = [p for p in self.workers.values() if not p.alive]
            if dead:
                raise RuntimeError(f"worker {dead[0].name} exited while starting; its output:\n"
                                   + "\n".join(dead[0].lines[-20:]))
            if time.monotonic() > deadline:
                raise TimeoutError(f"only {have} of {n} workers joined within {timeout}s")
            time.sleep(0.1)

    def _watch_clients(self) -> None:
        """Close once clients have come and all gone (the monitor itself is not counted)."""
        seen = False
        quiet = 0
        while not self._watch_stop.wait(0.25):
            try:
                if self.scheduler_process is not None and not self.scheduler_process.alive:
                    logger.warning("the scheduler on %s exited; stopping the workers", self.hosts[0])
                    break
                info = self._monitor.scheduler_info()
                others = int(info.get("clients", 1)) - self._baseline_clients
                # work done also proves a client came, even one that left between two polls
                if int(info.get("n_finished", 0)) or int(info.get("n_tasks", 0)):
                    seen = True
            except Exception:
                if self._closed:
                    return
                logger.warning("lost the scheduler on %s; stopping the cluster", self.hosts[0])
                break
            if others > 0:
                seen, quiet = True, 0
            elif seen:
                quiet += 1
                if quiet >= 8:   # 2 s without clients: not just a reconnect
                    logger.info("the last client left; stopping the cluster")
                    break
        if not self._closed:
            threading.Thread(target=self.close, name="shoal-ssh-close", daemon=True).start()

    @property
    def closed(self) -> bool:
        return self._closed

    @property
    def dashboard_link(self) -> str | None:
        """The remote scheduler's dashboard URL (with its token), as it told our monitor."""
        monitor = self._monitor
        return monitor.dashboard_link if monitor is not None and not self._closed else None

    def close(self) -> None:
        """Stop every worker session and the scheduler's; the guards kill what runs remotely."""
        with self._lock:
            if self._closed:
                already = True
            else:
                already = False
                self._closed = True
                self._watch_stop.set()
        if already:
            self._close_done.wait(60)   # another thread is closing: return when it is done
            return
        with self._lock:
            if self._adaptive is not None:
                self._adaptive.stop()
                self._adaptive = None
            procs = list(self.workers.values())
            self.workers.clear()
        if self._monitor is not None:
            try:
                self._monitor.close()
            except Exception:
                pass
        try:
            stop_all(procs)
            self._stop_scheduler()
        finally:
            self._close_done.set()
        from shoal.distributed.deploy import cluster as _base

        _base._live.discard(self)

    def processes(self) -> list[RemoteProcess]:
        """The live SSH sessions (scheduler first)."""
        out = [self.scheduler_process] if self.scheduler_process is not None else []
        return out + list(self.workers.values())
