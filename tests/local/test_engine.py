"""The shared engine: sync/threads specifics, release of intermediates, callbacks, executors."""
from __future__ import annotations

import gc
import threading
import time
import weakref
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor

import pytest

import shoal
from shoal import delayed
from shoal.core.task import Ref, Task
from shoal.local.callbacks import Callback
from shoal.local.engine import executor_get, get_sync, get_threads

LOCAL = ["sync", "threads", "processes"]


def inc(x):
    return x + 1


def add(a, b):
    return a + b


class Blob:
    """Counts live instances in this process."""

    live = 0
    peak = 0
    lock = threading.Lock()

    def __init__(self, v):
        self.v = v
        with Blob.lock:
            Blob.live += 1
            Blob.peak = max(Blob.peak, Blob.live)

    def __del__(self):
        with Blob.lock:
            Blob.live -= 1


def make_blob(i):
    return Blob(i)


def blob_val(b):
    return b.v


def test_sync_raises_the_original_exception_object():
    err = ValueError("original")

    def bad(x):
        raise err

    with pytest.raises(ValueError) as info:
        delayed(bad)(delayed(inc)(1)).compute(scheduler="sync")
    assert info.value is err
    # the traceback reaches the failing frame, so pdb.post_mortem lands in it
    tb = info.value.__traceback__
    while tb.tb_next:
        tb = tb.tb_next
    assert tb.tb_frame.f_code.co_name == "bad"


def test_threads_raise_the_original_exception_object():
    err = ValueError("original")

    def bad(x):
        raise err

    with pytest.raises(ValueError) as info:
        delayed(bad)(1).compute(scheduler="threads")
    assert info.value is err


@pytest.mark.parametrize("scheduler", ["sync", "threads"])
def test_intermediates_released_after_last_use(scheduler):
    Blob.live = Blob.peak = 0
    # 200 independent blob -> value chains; only the values are outputs
    vals = [delayed(blob_val)(delayed(make_blob)(i)) for i in range(200)]
    with shoal.config.set({"optimization.fuse.active": False}):
        out = shoal.compute(*vals, scheduler=scheduler)
    assert list(out) == list(range(200))
    gc.collect()
    assert Blob.live == 0
    assert Blob.peak <= 20, f"{Blob.peak} intermediates alive at once"


def test_engine_does_not_keep_results_alive():
    g = {"a": Task(make_blob, 1), "b": Task(blob_val, Ref("a"))}
    seen = []

    class Spy(Callback):
        def posttask(self, key, result, graph, state, worker_id):
            if key == "a":
                seen.append(weakref.ref(result))

    with Spy():
        assert get_threads(g, ["b"]) == (1,)
    gc.collect()
    assert seen and seen[0]() is None


@pytest.mark.parametrize("scheduler", LOCAL)
def test_callbacks_see_every_task_in_order(scheduler):
    events = []

    class Rec(Callback):
        def start(self, graph):
            events.append(("start", len(graph)))

        def start_state(self, graph, state):
            events.append(("start_state", state["num_tasks"]))

        def pretask(self, key, graph, state):
            events.append(("pre", key))

        def posttask(self, key, result, graph, state, worker_id):
            assert key in state["finished"]
            events.append(("post", key, result))

        def finish(self, graph, state, errored):
            events.append(("finish", errored, len(state["finished"])))

    xs = [delayed(inc)(i) for i in range(5)]
    tot = delayed(sum)(xs)
    with Rec():
        assert tot.compute(scheduler=scheduler) == 15
    assert events[0] == ("start", 6) and events[1] == ("start_state", 6)
    assert events[-1] == ("finish", False, 6)
    pre = [e[1] for e in events if e[0] == "pre"]
    post = {e[1]: e[2] for e in events if e[0] == "post"}
    assert sorted(map(str, pre)) == sorted(map(str, post)) and len(post) == 6
    assert post[tot.key] == 15
    for e in events:  # every pretask comes before its posttask
        if e[0] == "post":
            assert events.index(("pre", e[1])) < events.index(e)


def test_callbacks_register_and_argument_and_error_flag():
    calls = []
    cb = Callback(posttask=lambda key, result, graph, state, wid: calls.append(key),
                  finish=lambda graph, state, errored: calls.append(("errored", errored)))
    cb.register()
    try:
        delayed(inc)(1).compute(scheduler="sync")
    finally:
        cb.unregister()
    assert calls[-1] == ("errored", False) and len(calls) == 2
    delayed(inc)(1).compute(scheduler="sync")
    assert len(calls) == 2  # unregistered
    with pytest.raises(ZeroDivisionError):
        delayed(lambda: 1 / 0)().compute(scheduler="threads", callbacks=[cb])
    assert calls[-1] == ("errored", True)


@pytest.mark.parametrize("make", [lambda: ThreadPoolExecutor(2), lambda: ProcessPoolExecutor(2)])
def test_executor_get_runs_on_any_executor(make):
    ex = make()
    try:
        xs = [delayed(inc)(i) for i in range(30)]
        tot = delayed(sum)(xs)
        square = delayed(lambda v: v * v)(tot)  # a lambda works on a process pool too
        assert shoal.compute(square, xs[3], scheduler=ex) == (465 ** 2, 4)
        assert executor_get(ex)({"a": 1, "b": Task(inc, Ref("a"))}, ["b"]) == (2,)
    finally:
        ex.shutdown()


def test_threads_pool_is_reused_and_sized():
    def name(_):
        return threading.current_thread().name

    names = set(shoal.compute(*[delayed(name)(i) for i in range(50)], scheduler="threads", num_workers=2))
    assert names and all(n.startswith("shoal-thread-") for n in names)
    before = {t.ident for t in threading.enumerate() if t.name.startswith("shoal-thread-")}
    shoal.compute(*[delayed(name)(i) for i in range(50)], scheduler="threads", num_workers=2)
    after = {t.ident for t in threading.enumerate() if t.name.startswith("shoal-thread-")}
    assert before == after


def test_threads_actually_run_concurrently():
    barrier = threading.Barrier(2, timeout=10)

    def meet(i):
        barrier.wait()  # deadlocks (and times out) unless two run at once
        return i

    assert shoal.compute(delayed(meet)(1), delayed(meet)(2), scheduler="threads", num_workers=2) == (1, 2)


def test_nested_compute_inside_a_thread_task_does_not_deadlock():
    def inner(i):
        return delayed(inc)(i).compute(scheduler="threads")

    res = shoal.compute(*[delayed(inner)(i) for i in range(6)], scheduler="threads", num_workers=2)
    assert list(res) == list(range(1, 7))


def test_seed_and_task_key_are_set_for_every_task():
    from shoal.core.context import current_seed, current_task_key

    def who(_):
        return current_task_key(), current_seed()

    for sched in LOCAL:
        ds = [delayed(who)(i) for i in range(4)]
        res = shoal.compute(*ds, scheduler=sched, seed=123)
        assert [r[0] for r in res] == [d.key for d in ds] and {r[1] for r in res} == {123}
    assert current_task_key() is None


def test_raw_graph_without_dependencies_is_culled():
    g = {"a": 1, "b": Task(inc, Ref("a")), "unused": Task(lambda: 1 / 0)}
    assert get_sync(g, ["b"]) == (2,)
    assert get_threads(g, ["b", "a"]) == (2, 1)


def test_sync_and_threads_ctrl_c_returns_promptly():
    """KeyboardInterrupt raised inside the engine's wait ends the run at once."""
    import _thread

    def slow(i):
        time.sleep(0.3)
        return i

    timer = threading.Timer(0.2, _thread.interrupt_main)
    timer.start()
    t0 = time.monotonic()
    with pytest.raises(KeyboardInterrupt):
        shoal.compute(*[delayed(slow)(i) for i in range(40)], scheduler="threads", num_workers=2)
    assert time.monotonic() - t0 < 2
    timer.join()
    # and the pool still works
    assert delayed(inc)(1).compute(scheduler="threads") == 2


def test_processes_release_intermediates_in_the_engine():
    held = []

    class Watch(Callback):
        def posttask(self, key, result, graph, state, worker_id):
            held.append(sum(1 for k in state["cache"] if str(k).startswith("make_blob")))

    vals = [delayed(blob_val)(delayed(make_blob)(i)) for i in range(300)]
    with shoal.config.set({"optimization.fuse.active": False}), Watch():
        out = shoal.compute(*vals, scheduler="processes", num_workers=2)
    assert list(out) == list(range(300))
    assert len(held) == 600 and max(held) <= 20


def test_num_workers_one_runs_one_task_at_a_time_on_threads():
    import threading

    lock = threading.Lock()
    state = {"now": 0, "peak": 0}

    def track(i):
        with lock:
            state["now"] += 1
            state["peak"] = max(state["peak"], state["now"])
        time.sleep(0.005)
        with lock:
            state["now"] -= 1
        return i

    shoal.compute(*[delayed(track)(i) for i in range(20)], scheduler="threads", num_workers=4)
    state["peak"] = 0  # the shared pool now has 4 threads
    shoal.compute(*[delayed(track)(i) for i in range(40)], scheduler="threads", num_workers=1)
    assert state["peak"] == 1


def test_dataframe_size_is_known_so_large_frames_are_lifted_and_shared():
    import pandas as pd

    from shoal.delayed import _nbytes

    df = pd.DataFrame({"a": range(100_000)})
    assert _nbytes(df) >= 800_000


def test_threads_use_the_callers_pool_and_contextvars():
    import contextvars
    import threading
    from concurrent.futures import ThreadPoolExecutor
    from multiprocessing.pool import ThreadPool

    import shoal

    def ident():
        time.sleep(0.005)
        return threading.get_ident()

    graph = {("x", i): (ident,) for i in range(12)}
    graph["n"] = (len, (set, list(graph)))
    for make in (ThreadPool, ThreadPoolExecutor):
        with make(3) as pool:
            assert 1 <= get_threads(graph, "n", pool=pool) <= 3
            with shoal.config.set(pool=pool):
                names = get_threads({"t": (lambda: threading.current_thread().name,)}, "t")
                assert not names.startswith("shoal-thread")

    var = contextvars.ContextVar("var", default=0)
    get_threads({"w": (int, 1)}, "w")  # the pool's threads exist before the variable is set
    token = var.set(5)
    try:
        assert get_threads({"v": (var.get,)}, "v") == 5
    finally:
        var.reset(token)
