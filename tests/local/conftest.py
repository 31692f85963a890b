"""Helpers for tests that run Python in a child process."""
from __future__ import annotations

import os
import subprocess
import sys

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def child_env() -> dict:
    env = dict(os.environ)
    env["PYTHONPATH"] = REPO + os.pathsep + env.get("PYTHONPATH", "")
    return env


@pytest.fixture(name="child_env")
def child_env_fixture() -> dict:
    return child_env()


@pytest.fixture
def run_python():
    """Run ``python <args>`` (optionally with stdin) and return the CompletedProcess."""

    def run(*args: str, input: str | None = None, timeout: float = 120, cwd: str | None = None):
        return subprocess.run([sys.executable, *args], input=input, capture_output=True, text=True,
                              timeout=timeout, env=child_env(), cwd=cwd)

    return run
