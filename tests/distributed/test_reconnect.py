"""A busy worker survives its scheduler being killed and restarted on the same address.

Between the kill and the restart the port is held by a listener that
accepts and drops every connection (what a scheduler that is going down, or
not serving yet, looks like): the worker keeps retrying connect and
handshake until its death-timeout instead of giving up at the first cut
handshake, then rejoins, and its old work is forgotten, not reported.
"""
from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import time

from shoal.distributed import Client, Security
from tests.conftest import stop_process

PY = sys.executable
TOKEN = "reconnect-test-token"


def _scheduler(port: int, tmp_path) -> tuple[subprocess.Popen, int]:
    """A scheduler on ``port`` (0: any free one); returns it and the port it listens on."""
    sf = tmp_path / f"sched-{time.monotonic_ns()}.json"
    proc = subprocess.Popen([PY, "-m", "shoal", "scheduler", "--host", "127.0.0.1", "--port", str(port),
                             "--dashboard-address", "none", "--token-file", str(tmp_path / "token"),
                             "--scheduler-file", str(sf)],
                            env=dict(os.environ, SHOAL_TOKEN=TOKEN), stdout=subprocess.DEVNULL,
                            stderr=open(tmp_path / "scheduler.log", "a"))
    deadline = time.monotonic() + 60
    while not sf.exists():
        assert proc.poll() is None, (tmp_path / "scheduler.log").read_text()
        assert time.monotonic() < deadline, "the scheduler did not start"
        time.sleep(0.05)
    time.sleep(0.1)
    return proc, int(json.loads(sf.read_text())["address"].rsplit(":", 1)[1])


def _stop(proc: subprocess.Popen) -> None:
    stop_process(proc, timeout=10)


class _Dropper:
    """Accept every connection on ``port`` and close it at once, until stopped."""

    def __init__(self, port: int):
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", port))
        self.sock.listen(64)
        self.sock.settimeout(0.1)
        self.dropped = 0
        self._stop = threading.Event()
        self._t = threading.Thread(target=self._run, daemon=True)
        self._t.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                c, _ = self.sock.accept()
            except OSError:
                continue
            c.close()
            self.dropped += 1

    def stop(self) -> None:
        self._stop.set()
        self._t.join()
        self.sock.close()


def test_busy_worker_rejoins_a_restarted_scheduler(tmp_path):
    sec = Security(token=TOKEN)
    sched, port = _scheduler(0, tmp_path)
    address = f"tcp://127.0.0.1:{port}"
    worker = subprocess.Popen([PY, "-m", "shoal", "worker", address, "--nthreads", "2", "--death-timeout", "30"],
                              env=dict(os.environ, SHOAL_TOKEN=TOKEN), stderr=subprocess.PIPE, text=True)
    dropper = None
    try:
        with Client(address, security=sec, set_as_default=False) as c:
            c.wait_for_workers(1, 30)
            busy = c.submit(time.sleep, 10, pure=False)   # the worker is busy when the scheduler dies
            deadline = time.monotonic() + 10
            while not c.scheduler_info()["workers"] or \
                    not next(iter(c.scheduler_info()["workers"].values()))["processing"]:
                assert time.monotonic() < deadline
                time.sleep(0.05)
            sched.kill()
            sched.wait()
            del busy
        dropper = _Dropper(port)
        time.sleep(2.0)
        assert worker.poll() is None, "the worker gave up while the scheduler was restarting"
        assert dropper.dropped > 0          # it did keep trying
        dropper.stop()
        dropper = None
        sched, _ = _scheduler(port, tmp_path)
        with Client(address, security=sec, set_as_default=False) as c:
            c.wait_for_workers(1, 30)
            assert c.submit(sum, [1, 2, 3]).result(30) == 6
            # the task of the dead session is not reported to the new scheduler
            assert c.scheduler_info()["n_tasks"] <= 1
    finally:
        if dropper is not None:
            dropper.stop()
        _stop(worker)
        _stop(sched)
