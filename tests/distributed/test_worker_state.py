"""The worker state machine driven directly (no threads, no sockets)."""
from __future__ import annotations

import pytest

from shoal.distributed.worker.state import SHORT_PREFETCH, InvalidTransition, WorkerState


def kinds(out, kind):
    return [i for i in out if i[0] == kind]


def test_local_task_executes_one_per_thread_in_priority_order():
    w = WorkerState(nthreads=1)
    assert w.compute("b", b"", "f", None, prio=2) == [("execute", "b")]
    assert w.compute("a", b"", "f", None, prio=1) == []
    assert w.compute("c", b"", "f", None, prio=0) == []
    out = w.finished("b", 8, 0.5)
    assert out[0] == ("send", {"op": "task-finished", "key": "b", "nbytes": 8, "duration": 0.5})
    assert ("execute", "c") in out  # highest priority (lowest number) next


def test_known_tiny_tasks_are_prefetched_in_bulk():
    w = WorkerState(nthreads=1)
    w.compute("t0", b"", "tiny", None, 0)
    for i in range(1, 1000):
        w.compute(f"t{i}", b"", "tiny", None, i)
    out = w.finished("t0", 8, 1e-6)
    assert len(kinds(out, "execute")) == 1 + SHORT_PREFETCH
    # slow groups are never prefetched
    w2 = WorkerState(nthreads=1)
    w2.compute("s0", b"", "slow", None, 0)
    for i in range(1, 10):
        w2.compute(f"s{i}", b"", "slow", None, i)
    assert len(kinds(w2.finished("s0", 8, 2.0), "execute")) == 1


def test_remote_inputs_fetched_once_per_peer_and_released_after_use():
    w = WorkerState(nthreads=2)
    out = w.compute("x", b"", "f", [("a", ["p1"], 8), ("b", ["p1"], 8), ("c", ["p2"], 8)], 0)
    fetches = sorted(kinds(out, "fetch"))
    assert fetches == [("fetch", "p1", ["a", "b"]), ("fetch", "p2", ["c"])]
    out2 = w.compute("y", b"", "f", [("a", ["p1"], 8)], 1)  # a already in flight: no second fetch
    assert kinds(out2, "fetch") == []
    out = w.fetched("p1", ["a", "b"], [])
    assert out == [("send", {"op": "add-replicas", "keys": ["a", "b"]}), ("execute", "y")]
    out = w.fetched("p2", ["c"], [])
    assert out == [("send", {"op": "add-replicas", "keys": ["c"]}), ("execute", "x")]
    # fetched inputs stay as replicas (no refetch for later tasks) until the scheduler frees them
    assert not kinds(w.finished("x", 8, 0.1), "drop")
    w.compute("z", b"", "f", [("a", ["p1"], 8)], 2)
    assert not kinds(w.finished("y", 8, 0.1), "fetch")
    assert w.free(["b", "c"]) == [("drop", "b"), ("drop", "c")]
    w.finished("z", 8, 0.1)
    assert w.free(["a"]) == [("drop", "a")]


def test_missing_input_reported_to_scheduler():
    w = WorkerState(nthreads=1)
    w.compute("x", b"", "f", [("a", ["dead"], 8)], 0)
    out = w.fetched("dead", [], ["a"])
    assert ("send", {"op": "missing-data", "key": "x", "dep": "a", "holder": "dead"}) in out
    assert "x" not in w.tasks


def test_free_while_executing_drops_result():
    w = WorkerState(nthreads=1)
    w.compute("x", b"", "f", None, 0)
    assert w.free(["x"]) == []
    out = w.finished("x", 8, 0.1)
    assert ("drop", "x") in out and not kinds(out, "send")


def test_paused_worker_starts_nothing():
    w = WorkerState(nthreads=1)
    w.set_paused(True)
    assert w.compute("x", b"", "f", None, 0) == []
    assert w.set_paused(False) == [("execute", "x")]


def test_bad_transition_is_named():
    w = WorkerState(nthreads=1)
    w.compute("x", b"", "f", None, 0)
    with pytest.raises(InvalidTransition, match="'x' cannot go from 'executing' to 'ready'"):
        w._move(w.tasks["x"], "ready", "oops")


def test_steal_gives_up_unstarted_tasks_only():
    w = WorkerState(nthreads=1)
    assert w.compute("a", b"", "f", None, prio=0) == [("execute", "a")]
    w.compute("b", b"", "f", None, prio=1)
    w.compute("c", b"", "f", [("x", ["peer"], 8)], prio=2)  # still fetching its input
    out = w.steal(["a", "b", "c", "gone"], sid=7)
    assert out[-1] == ("send", {"op": "steal-response", "given": ["b", "c"], "refused": ["a", "gone"],
                                "sid": 7})
    assert set(w.tasks) == {"a"} and "x" not in w.borrowed
    # the fetch for c arrives after the steal: nothing runs, the value is dropped
    out = w.fetched("peer", ["x"], [])
    assert ("drop", "x") in out and kinds(out, "execute") == []
    out = w.finished("a", 8, 0.1)
    assert kinds(out, "execute") == []  # b was given away, never runs here


def test_cancelled_while_running_then_wanted_again_reports_its_result():
    w = WorkerState(nthreads=1)
    assert w.compute("a", b"", "f", None, prio=0) == [("execute", "a")]
    w.free(["a"])              # cancelled while running: its result would be dropped
    assert w.compute("a", b"", "f", None, prio=0) == []  # wanted again: the running copy counts
    out = w.finished("a", 8, 0.1)
    assert out[0] == ("send", {"op": "task-finished", "key": "a", "nbytes": 8, "duration": 0.1})


def test_a_failed_fetch_for_a_stolen_task_spares_its_newer_copy():
    w = WorkerState(nthreads=1)
    w.compute("c", b"", "f", [("x", ["peer"], 8)], prio=0)
    w.steal(["c"])
    w.compute("c", b"", "f", [("x", ["peer"], 8)], prio=0)  # sent back here later
    out = w.fetched("peer", [], ["x"])
    sends = [m for k, m in out if k == "send"]
    assert [m["op"] for m in sends] == ["missing-data"] and "c" not in w.tasks  # the new copy reports once


def test_a_task_given_up_for_a_missing_input_leaves_no_fetch_behind():
    w = WorkerState(nthreads=1)
    out = w.compute("r", b"", "f", [("s", ["w3"], 8), ("gone", [], 8)], prio=0)
    assert [m["op"] for k, m in out if k == "send"] == ["missing-data"] and kinds(out, "fetch") == []
    # the next task needing "s" must fetch it, not wait for a fetch that was never sent
    out = w.compute("r", b"", "f", [("s", ["w3"], 8), ("l", ["w2"], 8)], prio=0)
    assert sorted(p for _, p, _ in kinds(out, "fetch")) == ["w2", "w3"]


def test_an_announced_copy_is_kept_when_a_second_fetch_of_it_lands():
    w = WorkerState(nthreads=1)
    w.compute("a", b"", "f", [("x", ["peer"], 8)], prio=0)
    w.steal(["a"])                                         # first fetch still in flight
    w.compute("b", b"", "f", [("x", ["peer"], 8)], prio=1)  # fetches x again
    out = w.fetched("peer", ["x"], [])                     # the first lands: b runs, x kept
    assert ("execute", "b") in out
    w.finished("b", 8, 0.1)
    out = w.fetched("peer", ["x"], [])                     # the second lands
    assert ("drop", "x") not in out and "x" in w.have


def test_a_stale_finish_for_a_copy_that_has_not_started_is_ignored():
    w = WorkerState(nthreads=1)
    w.compute("a", b"", "f", None, prio=0)                  # executing
    w.compute("k", b"", "f", [("x", ["peer"], 8)], prio=1)  # fetching
    assert w.finished("k", 8, 0.1) == []                    # not its result
    assert w.tasks["k"].state == "fetching"


def test_secede_adds_a_thread_and_starts_ready_work_rejoin_gives_it_back():
    w = WorkerState(nthreads=1)
    assert w.compute("blocker", b"", "slow", None, 0) == [("execute", "blocker")]
    assert w.compute("next", b"", "slow", None, 1) == []
    out = w.change_threads(+1)  # "blocker" seceded: it waits on other tasks
    assert out == [("send", {"op": "worker-threads", "delta": 1}), ("execute", "next")]
    assert w.nthreads == 2
    assert w.change_threads(-1) == [("send", {"op": "worker-threads", "delta": -1})]
    assert w.nthreads == 1
    w.change_threads(-1)
    assert w.nthreads == 1  # never below one thread
