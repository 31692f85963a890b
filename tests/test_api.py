"""The public surface: what `import shoal as dask` offers, and the command line."""
from __future__ import annotations

import operator
import subprocess
import sys

import shoal


def test_public_names_are_pinned():
    assert sorted(shoal.__all__) == sorted([
        "__version__", "config", "compute", "persist", "visualize", "delayed", "Delayed",
        "tokenize", "is_lazy", "get", "is_shoal_collection", "is_dask_collection", "optimize", "annotate",
    ])
    for name in shoal.__all__:
        assert hasattr(shoal, name), name


def run_cli(*args):
    return subprocess.run([sys.executable, "-m", "shoal", *args], capture_output=True, text=True, timeout=120)


def test_cli_help_and_version():
    out = run_cli("--help")
    assert out.returncode == 0
    for cmd in ("demo", "scheduler", "worker", "ssh"):
        assert cmd in out.stdout
    ver = run_cli("--version")
    assert ver.returncode == 0 and shoal.__version__ in ver.stdout


def test_cli_unknown_command_is_an_error():
    out = run_cli("frobnicate")
    assert out.returncode == 2
    assert "unknown command" in out.stderr


def test_demo_help_lists_parts_and_sizes():
    out = run_cli("demo", "--help")
    assert out.returncode == 0
    for word in ("delayed", "array", "dataframe", "bag", "small", "medium"):
        assert word in out.stdout


def test_demo_delayed_part_runs():
    out = run_cli("demo", "--parts", "delayed", "--no-progress")
    assert out.returncode == 0, out.stderr
    assert "same numbers on every scheduler: True" in out.stdout
    assert "results" in out.stdout


def test_scheduler_modules_the_tutorial_imports():
    import shoal.multiprocessing
    import shoal.threaded
    from shoal.core.task import Task

    graph = {"a": 1, "b": Task(abs, -2)}
    assert shoal.multiprocessing.get(graph, ["a", "b"]) == (1, 2)
    assert shoal.threaded.get(graph, ["b"]) == (2,)
    # the classic tuple spec gives the value, never the tuple itself
    classic = {"a": 1, "b": (operator.add, "a", 10)}
    assert shoal.multiprocessing.get(classic, "b") == 11
    assert shoal.threaded.get(classic, "b") == 11
    assert shoal.get(classic, ["b", "a"]) == (11, 1)
