"""The nanny: starts one worker process and restarts it when it dies.

A ``Nanny`` lives in the process that wants workers (LocalCluster, or the
``shoal worker`` command) and supervises one child from a thread:

* the child exits 0 (told to close), or 3 (scheduler gone past its
  death timeout)                          -> the nanny is done;
* the child exits 75 (``client.restart``) -> start a fresh one;
* the child crashes (signal, non-zero)    -> start a fresh one (the scheduler
  has already rescheduled its work);
* the child's memory passes ``terminate`` x memory limit -> kill, restart.

The child holds the read end of a pipe whose write end only the nanny's
process holds; if that process dies (even by SIGKILL) the child reads EOF
and exits at once, so no worker outlives the program that started it.
"""
from __future__ import annotations

import logging
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from typing import Any

from shoal import config
from shoal.distributed.worker.server import RESTART_EXIT_CODE, SCHEDULER_GONE_EXIT_CODE

logger = logging.getLogger("shoal.distributed.nanny")


class Nanny:
    def __init__(self, scheduler_address: str, security: Any, nthreads: int = 1, name: str | None = None,
                 memory_limit: int = 0, local_directory: str | None = None, host: str = "127.0.0.1",
                 death_timeout: float | None = None, resources: dict | None = None,
                 restart: bool = True, env: dict | None = None, contact_address: str | None = None):
        self.scheduler_address = scheduler_address
        self.security = security
        self.nthreads = nthreads
        self.name = name
        self.memory_limit = int(memory_limit or 0)
        self.local_directory = local_directory
        self.host = host
        self.contact_address = contact_address
        self.death_timeout = death_timeout
        self.resources = resources
        self.restart_on_crash = restart
        self.extra_env = env or {}
        self.proc: subprocess.Popen | None = None
        self.restarts = 0
        self._closing = False
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self.done = threading.Event()
        self._child_dir: str | None = None
        self._lifeline: tuple[int, int] | None = None

    def _cmd(self) -> list:
        cmd = [sys.executable, "-m", "shoal.distributed.worker.main", "--scheduler", self.scheduler_address,
               "--nthreads", str(self.nthreads), "--host", self.host,
               "--memory-limit", str(self.memory_limit)]
        if self.contact_address:
            cmd += ["--contact-address", self.contact_address]
        if self.name is not None:
            cmd += ["--name", str(self.name)]
        if self._child_dir:
            cmd += ["--local-directory", self._child_dir]
        if self.death_timeout:
            cmd += ["--death-timeout", str(self.death_timeout)]
        if self.resources:
            import json

            cmd += ["--resources", json.dumps(self.resources)]
        sec = self.security
        if sec is not None and getattr(sec, "tls_cert", None):
            cmd += ["--tls-ca-file", sec.tls_ca_file, "--tls-cert", sec.tls_cert, "--tls-key", sec.tls_key]
        return cmd

    def _spawn(self) -> None:
        # each child works in a directory of its own that the nanny removes when the
        # child is gone, even after a SIGKILL (spilled files included)
        self._remove_child_dir()
        self._child_dir = tempfile.mkdtemp(prefix="shoal-worker-", dir=self.local_directory)
        env = dict(os.environ)
        env.update(self.extra_env)
        if self.security is not None and self.security.token:
            env["SHOAL_TOKEN"] = self.security.token
        # a pipe whose write end only this process holds: when this process dies, for any
        # reason (SIGKILL included), the kernel closes it and the child reads EOF and exits
        if self._lifeline is None:
            self._lifeline = os.pipe()
            os.set_inheritable(self._lifeline[1], False)
        rfd = self._lifeline[0]
        self.proc = subprocess.Popen(self._cmd() + ["--lifeline-fd", str(rfd)], env=env,
                                     stdin=subprocess.DEVNULL, pass_fds=(rfd,))

    def start(self) -> "Nanny":
        self._spawn()
        self._thread = threading.Thread(target=self._watch, name=f"shoal-nanny-{self.name}", daemon=True)
        self._thread.start()
        return self

    @property
    def pid(self) -> int | None:
        return self.proc.pid if self.proc is not None else None

    def _watch(self) -> None:
        terminate = float(config.get("distributed.worker.memory.terminate", 0.95))
        ps = None
        while True:
            proc = self.proc
            try:
                code = proc.wait(timeout=0.5)
            except subprocess.TimeoutExpired:
                code = None
            if code is None:
                if self.memory_limit and terminate:
                    try:
                        import psutil

                        if ps is None or ps.pid != proc.pid:
                            ps = psutil.Process(proc.pid)
                        if ps.memory_info().rss > terminate * self.memory_limit:
                            logger.warning("worker %s passed %.0f%% of its memory limit: restarting it",
                                           self.name, terminate * 100)
                            proc.kill()
                    except Exception:
                        pass
                continue
            with self._lock:
                if (self._closing or code in (0, SCHEDULER_GONE_EXIT_CODE)
                        or (code != RESTART_EXIT_CODE and not self.restart_on_crash)):
                    self._remove_child_dir()
                    self.done.set()
                    return
                if code != RESTART_EXIT_CODE:
                    logger.warning("worker %s died (exit code %s): restarting it", self.name, code)
                self.restarts += 1
                time.sleep(0.05)
                self._spawn()

    def _remove_child_dir(self) -> None:
        if self._child_dir is not None:
            shutil.rmtree(self._child_dir, ignore_errors=True)
            self._child_dir = None

    def close(self, timeout: float = 5.0) -> None:
        """Stop the worker (SIGTERM, then SIGKILL) and stop restarting it."""
        with self._lock:
            self._closing = True
            proc = self.proc
        if proc is None:
            return
        if proc.poll() is None:
            try:
                proc.send_signal(signal.SIGTERM)
                proc.wait(timeout)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
            except ProcessLookupError:
                pass
        if self._thread is not None:
            self._thread.join(timeout=2)
        with self._lock:
            self._remove_child_dir()
            self._close_lifeline()

    def _close_lifeline(self) -> None:
        if self._lifeline is not None:
            for fd in self._lifeline:
                try:
                    os.close(fd)
                except OSError:
                    pass
            self._lifeline = None
