"""The process scheduler: start-up, no-guard scripts, crashes, Ctrl-C, shipping data once."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

import shoal
from shoal import delayed
from shoal.local.processes import WorkerDied, get_pool, shutdown_pool
from shoal.local.wire import RemoteTraceback


def inc(x):
    return x + 1


def pid_of(_):
    return os.getpid()


FIRST_CALL = """
import os, subprocess, sys, time
import shoal
from shoal import delayed
from shoal.local.processes import get_pool
# what starting two bare interpreters costs right now (the machine may be busy)
t0 = time.perf_counter()
ps = [subprocess.Popen([sys.executable, "-c", "import shoal"]) for _ in range(2)]
[p.wait() for p in ps]
bare = time.perf_counter() - t0
def f(x):
    return os.getpid()
t0 = time.perf_counter()
pids = set(shoal.compute(*[delayed(f)(i) for i in range(8)], scheduler="processes", num_workers=2))
first = time.perf_counter() - t0
before = {w.pid for w in get_pool().workers}
later = set()
for _ in range(3):
    later |= set(shoal.compute(*[delayed(f)(i) for i in range(20)], scheduler="processes", num_workers=2))
after = {w.pid for w in get_pool().workers}
print("FIRST", first, bare, os.getpid() in pids, len(before), pids <= before, later <= before, before == after)
"""


def test_first_call_is_fast_and_workers_persist(run_python):
    r = run_python("-c", FIRST_CALL)
    assert r.returncode == 0, r.stderr
    line = [x for x in r.stdout.splitlines() if x.startswith("FIRST")][0].split()
    first, bare = float(line[1]), float(line[2])
    # target 0.5 s on an idle machine; on a busy one, compared with what
    # starting two bare interpreters took at the same moment
    assert first < max(1.0, 3 * bare), f"first compute took {first:.2f} s (bare start {bare:.2f} s)"
    assert line[3:] == ["False", "2", "True", "True", "True"]  # in workers, no re-spawn


NO_GUARD = """
import shoal
from shoal import delayed
shoal.config.set(scheduler="processes", num_workers=2)
k = 10
def add_k(x):
    return x + k
def make_mul(n):
    def mul(x):
        return x * n
    return mul
class Box:
    def __init__(self, v):
        self.v = v
sq = lambda x: x * x
out = shoal.compute(*[delayed(add_k)(i) for i in range(4)], delayed(sq)(5),
                    delayed(make_mul(3))(7), delayed(lambda b: b.v)(delayed(Box)(9)))
print("RESULT", list(out))
"""
EXPECT = "RESULT [10, 11, 12, 13, 25, 21, 9]"


def test_script_without_main_guard(run_python, tmp_path):
    script = tmp_path / "noguard.py"
    script.write_text(NO_GUARD)
    r = run_python(str(script), cwd=str(tmp_path))
    assert r.returncode == 0, r.stderr
    assert EXPECT in r.stdout


def test_python_dash_c_and_stdin(run_python):
    r = run_python("-c", NO_GUARD)
    assert r.returncode == 0, r.stderr
    assert EXPECT in r.stdout
    r = run_python("-", input=NO_GUARD)
    assert r.returncode == 0, r.stderr
    assert EXPECT in r.stdout


def fails(x):
    raise KeyError(f"missing {x}")


def test_remote_exception_has_original_type_and_worker_traceback():
    with pytest.raises(KeyError) as info:
        delayed(fails)(delayed(inc)(1)).compute(scheduler="processes")
    cause = info.value.__cause__
    assert isinstance(cause, RemoteTraceback)
    assert "fails" in str(cause) and "missing 2" in str(cause)


def die_exit(x):
    os._exit(7)


def die_kill(x):
    os.kill(os.getpid(), signal.SIGKILL)


def die_segv(x):
    import ctypes

    ctypes.string_at(0)


@pytest.mark.parametrize("fn,words", [(die_exit, "code 7"), (die_kill, "SIGKILL"), (die_segv, "SIGSEGV")])
def test_worker_death_names_the_task_and_pool_recovers(fn, words):
    bad = delayed(fn, name="crasher")(1)
    others = [delayed(inc)(i) for i in range(4)]
    with pytest.raises(WorkerDied) as info:
        shoal.compute(bad, *others, scheduler="processes", num_workers=2)
    msg = str(info.value)
    assert bad.key in msg and words in msg
    assert shoal.compute(*[delayed(inc)(i) for i in range(10)], scheduler="processes") == tuple(range(1, 11))


CTRL_C = """
import os, sys, time
import shoal
from shoal import delayed
from shoal.local.processes import get_pool
def nap(i):
    time.sleep(60)
    return i
shoal.compute(delayed(abs)(1), delayed(abs)(2), scheduler="processes", num_workers=2)
print("PIDS", " ".join(str(w.pid) for w in get_pool().workers), flush=True)
shoal.compute(*[delayed(nap)(i) for i in range(4)], scheduler="processes", num_workers=2)
"""


def _alive(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(") ")[1][0] != "Z"
    except FileNotFoundError:
        return False


def test_ctrl_c_stops_promptly_and_leaves_no_processes(tmp_path, child_env):
    script = tmp_path / "ctrlc.py"
    script.write_text(CTRL_C)
    proc = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, env=child_env)
    try:
        line = proc.stdout.readline()
        assert line.startswith("PIDS"), proc.stderr.read()
        pids = [int(p) for p in line.split()[1:]]
        time.sleep(1.0)  # the long compute is running
        t0 = time.monotonic()
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=10)
        took = time.monotonic() - t0
        assert took < 5, f"Ctrl-C took {took:.1f} s"
        assert "KeyboardInterrupt" in proc.stderr.read()
        deadline = time.monotonic() + 5
        while any(_alive(p) for p in pids) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not [p for p in pids if _alive(p)], "worker processes outlived the Ctrl-C"
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


class Counted:
    """Appends this process's pid to a file each time it is unpickled."""

    def __init__(self, path, data):
        self.path = path
        self.data = data

    def __reduce__(self):
        return (_rebuild_counted, (self.path, self.data))


def _rebuild_counted(path, data):
    with open(path, "a") as f:
        f.write(f"{os.getpid()}\n")
    return Counted(path, data)


def total_of(c, i):
    return float(c.data.sum()) + i


def test_shared_object_sent_once_per_worker(tmp_path):
    path = str(tmp_path / "loads.txt")
    big = Counted(path, np.ones(500_000))
    bd = delayed(big)
    out = shoal.compute(*[delayed(total_of)(bd, i) for i in range(40)], scheduler="processes", num_workers=2)
    assert list(out) == [500_000.0 + i for i in range(40)]
    with open(path) as f:
        loads = [line.strip() for line in f]
    assert len(loads) == len(set(loads)) <= 2, loads  # each worker got it at most once


def rng_draw(i):
    return os.getpid(), float(np.random.random())


def test_workers_have_different_global_numpy_state():
    shutdown_pool()
    draws = shoal.compute(*[delayed(rng_draw)(i) for i in range(2)], scheduler="processes", num_workers=2)
    draws = shoal.compute(*[delayed(rng_draw)(i) for i in range(40)], scheduler="processes", num_workers=2)
    first_by_pid = {}
    for pid, v in draws:
        first_by_pid.setdefault(pid, v)
    if len(first_by_pid) == 2:
        a, b = first_by_pid.values()
        assert a != b
    assert len({v for _, v in draws}) == len(draws)


def my_key(x):
    from shoal.core.context import current_task_key

    return current_task_key()


def test_task_context_inside_workers():
    ds = [delayed(my_key)(i) for i in range(6)]
    assert list(shoal.compute(*ds, scheduler="processes")) == [d.key for d in ds]


def test_unpicklable_argument_error_teaches():
    import threading

    lock = threading.Lock()
    with pytest.raises(TypeError, match="threads"):
        delayed(lambda lk: 1)(lock).compute(scheduler="processes")
    assert delayed(inc)(1).compute(scheduler="processes") == 2


def test_large_array_roundtrip_out_of_band():
    x = np.random.default_rng(1).random(3_000_000)
    xd = delayed(x)
    y = delayed(lambda a: a * 2)(xd)
    (res,) = shoal.compute(y, scheduler="processes")
    np.testing.assert_array_equal(res, x * 2)


def token_of(v):
    from shoal.core.tokenize import tokenize

    return tokenize(v)


def test_tokens_in_worker_processes_match_the_parent():
    import pandas as pd

    from shoal.core.tokenize import tokenize

    k = 4

    def closure(x):
        return x + k

    values = [np.arange(10.0), pd.DataFrame({"a": [1, 2], "b": ["x", None]}), lambda x: x * 2,
              closure, [1, (2, {"a": np.ones(3)}), {3, 4}]]
    remote = shoal.compute(*[delayed(token_of)(v) for v in values], scheduler="processes")
    assert list(remote) == [tokenize(v) for v in values]


ORPHAN = """
import os, time
import shoal
from shoal import delayed
from shoal.local.processes import get_pool
shoal.compute(delayed(abs)(1), delayed(abs)(2), scheduler="processes", num_workers=2)
print("PIDS", " ".join(str(w.pid) for w in get_pool().workers), flush=True)
time.sleep(60)
"""


def test_workers_exit_when_the_parent_is_killed(tmp_path, child_env):
    proc = subprocess.Popen([sys.executable, "-c", ORPHAN], stdout=subprocess.PIPE, text=True, env=child_env)
    try:
        line = proc.stdout.readline()
        pids = [int(p) for p in line.split()[1:]]
        assert len(pids) == 2
        proc.kill()  # no atexit, no cleanup: the workers must notice on their own
        proc.wait(timeout=10)
        deadline = time.monotonic() + 5
        while any(_alive(p) for p in pids) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not [p for p in pids if _alive(p)]
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def nap(i):
    time.sleep(30)
    return i


def test_keyboard_interrupt_in_process_kills_busy_workers_and_recovers():
    import _thread
    import threading

    shoal.compute(delayed(inc)(1), scheduler="processes", num_workers=2)
    busy = {w.pid for w in get_pool().workers}
    timer = threading.Timer(0.5, _thread.interrupt_main)
    timer.start()
    t0 = time.monotonic()
    with pytest.raises(KeyboardInterrupt):
        shoal.compute(*[delayed(nap)(i) for i in range(4)], scheduler="processes", num_workers=2)
    assert time.monotonic() - t0 < 5
    timer.join()
    assert not [p for p in busy if _alive(p)]
    assert shoal.compute(delayed(inc)(1), scheduler="processes") == (2,)


def test_tasks_a_worker_cannot_unpickle_raise_instead_of_hanging(tmp_path, monkeypatch):
    import importlib
    import sys

    shoal.compute(delayed(abs)(-1), scheduler="processes")  # the pool is running
    (tmp_path / "late_module_xyz.py").write_text("class Thing:\n    pass\n")
    monkeypatch.syspath_prepend(str(tmp_path))  # added after the workers started
    mod = importlib.import_module("late_module_xyz")
    try:
        t0 = time.monotonic()
        with pytest.raises(ImportError) as info:  # the worker's own error, with a note
            shoal.compute(delayed(type)(mod.Thing()), scheduler="processes")
        assert any("could not unpickle" in n for n in info.value.__notes__)
        assert time.monotonic() - t0 < 30
        assert shoal.compute(delayed(abs)(-2), scheduler="processes") == (2,)  # still works after
    finally:
        sys.modules.pop("late_module_xyz", None)


class _Marker:
    value = 0


def _mark():
    _Marker.value = 1


def _marker_value(_):
    return _Marker.value


def _failing_init():
    raise RuntimeError("initializer failed on purpose")


def test_initializer_runs_in_its_own_workers_only():
    tasks = [delayed(_marker_value)(i) for i in range(4)]
    pool = get_pool(_mark)
    try:
        assert shoal.compute(tasks, scheduler="processes", initializer=_mark, num_workers=2) == ([1] * 4,)
        with shoal.config.set({"multiprocessing.initializer": _mark}):
            assert shoal.compute(tasks, scheduler="processes", num_workers=2) == ([1] * 4,)
        assert shoal.compute(tasks, scheduler="processes", num_workers=2) == ([0] * 4,)
        with pytest.raises(RuntimeError, match="on purpose"):
            shoal.compute(tasks, scheduler="processes", initializer=_failing_init, num_workers=1)
    finally:
        pool.shutdown()
        get_pool(_failing_init).shutdown()


def test_processes_on_the_callers_pool():
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    import shoal.multiprocessing

    graph = {"a": 1, "b": (pid_of, "a"), "c": (inc, "a")}
    for make in (ProcessPoolExecutor, multiprocessing.get_context("spawn").Pool):
        with make(2) as pool:
            pid, c = shoal.multiprocessing.get(graph, ["b", "c"], pool=pool)
            assert c == 2 and pid != os.getpid()
            assert pid not in {w.pid for w in get_pool().workers}
