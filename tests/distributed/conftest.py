"""Fixtures for the distributed tests: leak checks on child processes."""
from __future__ import annotations

import time

import psutil
import pytest


def _children() -> dict:
    return {p.pid: p for p in psutil.Process().children(recursive=True)}


@pytest.fixture(autouse=True)
def no_leftover_processes():
    """Every process a test starts is gone when it ends (shared-cluster workers excepted)."""
    before = set(_children())
    yield
    deadline = time.monotonic() + 10
    while True:
        left = {pid: p for pid, p in _children().items() if pid not in before}
        left = {pid: p for pid, p in left.items() if p.is_running() and p.status() != psutil.STATUS_ZOMBIE}
        if not left or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    if left:
        desc = [" ".join(p.cmdline()[:6]) for p in left.values()]
        for p in left.values():
            p.kill()
        pytest.fail(f"test left {len(left)} process(es) running: {desc}")
