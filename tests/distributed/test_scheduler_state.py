"""The scheduler state machine driven directly: events in, instructions out, no sockets."""
from __future__ import annotations

import pickle

import pytest

from shoal.distributed.protocol.serialize import deserialize
from shoal.distributed.scheduler.state import (
    ERRED, MEMORY, PROCESSING, QUEUED, RELEASED, WAITING, InvalidTransition, KilledWorker, SchedulerState,
)


def msgs(instrs, kind="w", op=None):
    return [(t, m) for k, t, m in instrs if k == kind and (op is None or m["op"] == op)]


def graph(state, cid, spec):
    """spec: {key: [deps]}; every key gets a dummy spec and function id."""
    keys = list(spec)
    return state.update_graph(cid, keys, [b"s"] * len(keys), ["f"] * len(keys),
                              [spec[k] or None for k in keys], wanted=[keys[-1]], funcs={"f": b"F"})


def test_chain_runs_in_order_and_frees_inputs():
    s = SchedulerState(validate=True)
    s.add_client("c")
    assert s.add_worker("w1", "w1", 1, now=0.0) == []
    out = graph(s, "c", {"a": [], "b": ["a"], "c": ["b"]})
    comp = msgs(out, op="compute")
    assert [m["key"] for _, m in comp] == ["a"]
    assert comp[0][1]["func"] == b"F"  # function shipped once per worker
    assert s.tasks["b"].state == WAITING and s.tasks["c"].state == WAITING
    out = s.task_finished("w1", "a", 8, 0.001)
    comp = msgs(out, op="compute")
    assert [m["key"] for _, m in comp] == ["b"]
    assert "func" not in comp[0][1]
    assert comp[0][1]["deps"] == [("a", ["w1"], 8)]
    out = s.task_finished("w1", "b", 8, 0.001)
    # a is no longer needed by anyone: freed on its worker, kept as lineage
    assert ("w1", {"op": "free", "keys": ["a"]}) in msgs(out)
    assert s.tasks["a"].state == RELEASED
    out = s.task_finished("w1", "c", 8, 0.001)
    assert msgs(out, "c") == [("c", {"op": "key-in-memory", "key": "c", "nbytes": 8})]
    assert s.tasks["c"].state == MEMORY
    out = s.release_keys("c", ["c"])
    assert ("w1", {"op": "free", "keys": ["c"]}) in msgs(out)
    assert s.tasks == {}  # everything forgotten
    assert s.counts == [0] * 6


def test_root_tasks_are_queued_until_threads_free():
    s = SchedulerState(validate=True)
    s.add_client("c")
    s.add_worker("w1", "w1", 2, now=0.0)
    keys = [f"x{i}" for i in range(10)]
    out = s.update_graph("c", keys, [b"s"] * 10, ["f"] * 10, [None] * 10, wanted=keys, funcs={"f": b"F"})
    assert len(msgs(out, op="compute")) == 2  # duration unknown: one per thread
    assert s.counts[QUEUED] == 8
    out = s.task_finished("w1", "x0", 1, 1e-5)
    assert len(msgs(out, op="compute")) == 1
    # once the group is known to be tiny it is handed out in depth (batched)
    out = s.task_finished("w1", "x1", 1, 1e-5)
    assert len(msgs(out, op="compute")) > 1
    assert s.counts[QUEUED] == 0


def test_locality_prefers_worker_holding_inputs():
    s = SchedulerState(validate=True)
    s.add_client("c")
    s.add_worker("w1", "w1", 1, now=0.0)
    s.add_worker("w2", "w2", 1, now=0.0)
    s.update_graph("c", ["big"], [b"s"], ["f"], [None], wanted=["big"], funcs={"f": b"F"})
    holder = s.tasks["big"].processing_on.address
    s.task_finished(holder, "big", 10**9, 0.001)
    out = s.update_graph("c", ["use"], [b"s"], ["f"], [["big"]], wanted=["use"])
    (target, m), = msgs(out, op="compute")
    assert target == holder


def test_worker_death_recomputes_lost_data_and_reschedules():
    s = SchedulerState(validate=True)
    s.add_client("c")
    s.add_worker("w1", "w1", 1, now=0.0)
    graph(s, "c", {"a": [], "b": ["a"]})
    s.task_finished("w1", "a", 8, 0.01)
    assert s.tasks["b"].state == PROCESSING
    s.add_worker("w2", "w2", 1, now=0.0)
    out = s.remove_worker("w1", "killed")
    # a (only on w1) must be recomputed first; b waits for it
    assert [m["key"] for _, m in msgs(out, op="compute")] == ["a"]
    assert msgs(out, op="compute")[0][0] == "w2"
    assert s.tasks["b"].state == WAITING
    out = s.task_finished("w2", "a", 8, 0.01)
    assert [m["key"] for _, m in msgs(out, op="compute")] == ["b"]
    out = s.task_finished("w2", "b", 8, 0.01)
    assert msgs(out, "c")[0][1]["op"] == "key-in-memory"


def test_task_killing_workers_errs_naming_it():
    s = SchedulerState(allowed_failures=2, validate=True)
    s.add_client("c")
    graph(s, "c", {"bad": []})
    for i in range(2):
        s.add_worker(f"w{i}", None, 1, now=0.0)
        assert s.tasks["bad"].state == PROCESSING
        out = s.remove_worker(f"w{i}", "segfault")
    assert s.tasks["bad"].state == ERRED
    (cid, m), = msgs(out, "c")
    exc = deserialize(m["exception"])
    assert isinstance(exc, KilledWorker) and "'bad'" in str(exc)


def test_error_propagates_to_dependents_and_retries():
    s = SchedulerState(validate=True)
    s.add_client("c")
    s.add_worker("w", None, 1, now=0.0)
    s.update_graph("c", ["a", "b"], [b"s", b"s"], ["f", "f"], [None, ["a"]], wanted=["b"],
                   funcs={"f": b"F"}, retries=1)
    out = s.task_erred("w", "a", pickle.dumps(ValueError("x")), "tb")
    assert [m["key"] for _, m in msgs(out, op="compute")] == ["a"]  # retried once
    out = s.task_erred("w", "a", pickle.dumps(ValueError("x")), "tb")
    assert s.tasks["a"].state == ERRED and s.tasks["b"].state == ERRED
    (cid, m), = msgs(out, "c")
    assert m["key"] == "b" and m["blame"] == "a"


def test_missing_dependency_errs_clearly():
    s = SchedulerState(validate=True)
    s.add_client("c")
    out = s.update_graph("c", ["b"], [b"s"], ["f"], [["nope"]], wanted=["b"], funcs={"f": b"F"})
    (cid, m), = msgs(out, "c")
    assert "nope" in str(deserialize(m["exception"]))


def test_bad_transition_names_event_state_and_key():
    s = SchedulerState(validate=True)
    s.add_client("c")
    graph(s, "c", {"k": []})  # no workers: queued
    ts = s.tasks["k"]
    assert ts.state == QUEUED
    with pytest.raises(InvalidTransition, match=r"event 'oops': task 'k' cannot go from 'queued' to 'queued'"):
        s._move(ts, QUEUED, "oops")


def test_stale_and_duplicate_reports_are_harmless():
    s = SchedulerState(validate=True)
    s.add_client("c")
    s.add_worker("w", None, 1, now=0.0)
    graph(s, "c", {"k": []})
    s.task_finished("w", "k", 1, 0.0)
    assert s.task_finished("w", "k", 1, 0.0) == []      # duplicate: keep the data
    assert s.tasks["k"].state == MEMORY
    # a result nobody asked for is freed on the worker that reports it
    assert s.task_finished("w", "zzz", 1, 0.0) == [("w", "w", {"op": "free", "keys": ["zzz"]})]
    assert s.task_erred("w", "k", b"", None) == []        # not processing any more
    assert s.task_finished("nobody", "k", 1, 0.0) == []   # unknown worker


def test_heartbeat_staleness_uses_given_clock():
    s = SchedulerState(validate=True)
    s.add_worker("w", None, 1, now=100.0)
    assert s.stale_workers(104.0, 5.0) == []
    assert s.stale_workers(106.0, 5.0) == ["w"]
    s.heartbeat("w", 105.0)
    assert s.stale_workers(106.0, 5.0) == []


def test_per_event_cost_does_not_scan_all_tasks():
    """Finishing one task touches only its neighbours, whatever the graph size."""
    import time

    def per_task(n):
        s = SchedulerState()  # validate=False: its checks scan every task by design
        s.add_client("c")
        keys = [f"k{i}" for i in range(n)]
        s.update_graph("c", keys, [b"s"] * n, ["f"] * n, [None] * n, wanted=keys, funcs={"f": b"F"})
        s.add_worker("w", None, 1, now=0.0)
        t = time.perf_counter()
        for _ in range(2000):
            (ts,) = list(s.workers["w"].processing)[:1] or [None]
            s.task_finished("w", ts.key, 1, 0.5)
        return time.perf_counter() - t

    # best of three for each size: a busy machine slows single runs, never the best one by 5x
    small = min(per_task(3000) for _ in range(3))
    big = min(per_task(60000) for _ in range(3))
    assert big < small * 5  # O(1) per event: 20x more tasks, not 20x slower


def _piled_on_holder(n=10):
    """Two 1-thread workers; ``n`` tasks all needing ``x``, which only w1 holds."""
    s = SchedulerState(validate=True)
    s.add_client("c")
    s.add_worker("w1", "w1", 1, now=0.0)
    s.add_worker("w2", "w2", 1, now=0.0)
    s.update_graph("c", ["x"], [b"s"], ["f"], [None], wanted=["x"], funcs={"f": b"F"})
    holder = s.tasks["x"].processing_on.address
    other = "w2" if holder == "w1" else "w1"
    s.task_finished(holder, "x", 1000, 0.001)
    keys = [f"y{i}" for i in range(n)]
    s.update_graph("c", keys, [b"s"] * n, ["g"] * n, [["x"]] * n, wanted=keys, funcs={"g": b"G"})
    return s, holder, other, keys


def test_stealing_moves_unstarted_work_to_an_idle_worker():
    s, holder, other, keys = _piled_on_holder()
    on = lambda w: [ts.key for ts in s.workers[w].processing]  # noqa: E731
    assert len(on(holder)) == 9  # no worker had room: they queue behind the data
    (k_other,) = on(other)
    # the other worker drains: it asks for work at once, enough to even out the wait
    out = s.task_finished(other, k_other, 8, 0.3)
    ((victim, m),) = msgs(out, op="steal")
    assert victim == holder and len(m["keys"]) == 4
    # the last tasks the victim would run are the ones asked for
    prios = sorted((s.tasks[k].priority for k in on(holder)), reverse=True)
    assert sorted((s.tasks[k].priority for k in m["keys"]), reverse=True) == prios[:4]
    assert msgs(s.balance(), op="steal") == []  # already asked: no second request
    out = s.steal_response(holder, m["keys"], [], m["sid"])
    comps = msgs(out, op="compute")
    assert {t for t, _ in comps} == {other} and {c["key"] for _, c in comps} == set(m["keys"])
    assert comps[0][1]["deps"] == [("x", [holder], 1000)]  # the thief fetches the input
    assert sorted(on(other)) == sorted(m["keys"]) and len(on(holder)) == 5
    assert s.n_stolen == 4 and not s.stealing
    assert s.balance() == []  # balanced now


def test_refused_or_overtaken_steals_leave_tasks_where_they_are():
    s, holder, other, keys = _piled_on_holder()
    (k_other,) = [ts.key for ts in s.workers[other].processing]
    ((_, m),) = msgs(s.task_finished(other, k_other, 8, 0.3), op="steal")
    asked = m["keys"]
    # the victim had started them: they stay, and may be asked for again later
    assert s.steal_response(holder, [], asked, m["sid"]) == []
    assert all(s.tasks[k].processing_on is s.workers[holder] for k in asked) and not s.stealing
    ((_, m),) = msgs(s.balance(), op="steal")
    assert sorted(m["keys"]) == sorted(asked)
    # one finished on the victim before the answer came: the late "given" changes nothing for it
    done = asked[0]
    s.task_finished(holder, done, 8, 0.3)
    assert s.tasks[done].state == MEMORY
    out = s.steal_response(holder, asked, [], m["sid"])
    assert done not in [c["key"] for _, c in msgs(out, op="compute")]
    assert s.tasks[done].who_has == [s.workers[holder]]
    assert s.n_stolen == 3


def test_no_stealing_when_balanced_or_inputs_too_big_to_move():
    s = SchedulerState(validate=True)
    s.add_client("c")
    s.add_worker("w1", "w1", 1, now=0.0)
    s.add_worker("w2", "w2", 1, now=0.0)
    keys = [f"r{i}" for i in range(6)]
    s.update_graph("c", keys, [b"s"] * 6, ["f"] * 6, [None] * 6, wanted=keys, funcs={"f": b"F"})
    assert s.balance() == []  # both busy, the rest queued centrally
    s, holder, other, keys = _piled_on_holder()
    s.tasks["x"].nbytes = 10**12  # moving 1 TB takes longer than any wait here
    (k_other,) = [ts.key for ts in s.workers[other].processing]
    assert msgs(s.task_finished(other, k_other, 8, 0.3), op="steal") == []
    assert msgs(s.balance(), op="steal") == []


def test_inputs_move_faster_between_processes_of_one_host():
    s = SchedulerState(validate=True)
    s.add_worker("tcp://10.0.0.1:1", "a", 1)
    s.add_client("c")
    s.update_graph("c", ["x"], [b"s"], ["f"], [None], wanted=["x"], funcs={"f": b"F"})
    s.task_finished("tcp://10.0.0.1:1", "x", 10**9, 0.1)
    s.add_worker("tcp://10.0.0.1:2", "b", 1)
    s.add_worker("tcp://10.0.0.2:1", "c", 1)
    ws = {w.name: w for w in s.workers.values()}
    s.update_graph("c", ["y"], [b"s"], ["f"], [["x"]], wanted=["y"])
    y = s.tasks["y"]
    assert s._move_cost(y, ws["a"]) == 0
    assert s._move_cost(y, ws["b"]) * 10 == pytest.approx(s._move_cost(y, ws["c"]))


def test_paused_worker_gives_away_all_unstarted_work():
    s, holder, other, keys = _piled_on_holder()
    s.set_worker_status(holder, "paused")
    (k_other,) = [ts.key for ts in s.workers[other].processing]
    ((_, m),) = msgs(s.task_finished(other, k_other, 8, 0.3), op="steal")
    assert len(m["keys"]) == 9  # it runs nothing more: everything it has not started may go


def test_a_late_answer_to_an_older_steal_request_changes_nothing():
    s, holder, other, keys = _piled_on_holder()
    (k_other,) = [ts.key for ts in s.workers[other].processing]
    ((_, old),) = msgs(s.task_finished(other, k_other, 8, 0.3), op="steal")
    # the task erred on the victim (retries left) and was placed again, then asked for again
    k = old["keys"][0]
    s.tasks[k].extra = {"retries": 1}
    s.task_erred(holder, k, b"E", None)
    assert s.tasks[k].state == PROCESSING and k not in [t.key for t in s.stealing]
    where = s.tasks[k].processing_on
    s.stealing[s.tasks[k]] = (where, s.workers[other], 999)  # a newer request for it
    # the victim's answer to the OLD request arrives now: it must not cancel the new one
    s.steal_response(holder, [], [k], old["sid"])
    assert s.stealing[s.tasks[k]][2] == 999
    s.steal_response(holder, [k], [], old["sid"])
    assert s.tasks[k].processing_on is where  # not moved by a stale "given"


def test_tasks_whose_inputs_were_lost_are_not_stolen_and_given_ones_are_rescheduled():
    s, holder, other, keys = _piled_on_holder()
    (k_other,) = [ts.key for ts in s.workers[other].processing]
    ((_, m),) = msgs(s.task_finished(other, k_other, 8, 0.3), op="steal")
    # the only copy of x vanishes before the victim answers (it could not be fetched)
    x = s.tasks["x"]
    s.missing_data(other, m["keys"][0], "x", holder)
    assert x.state != MEMORY
    out = s.steal_response(holder, m["keys"], [], m["sid"])  # must not crash
    assert all(s.tasks[k].state in (WAITING, PROCESSING) for k in m["keys"])
    assert not msgs(out, op="compute") or all(c["deps"][0][1] for _, c in msgs(out, op="compute"))
    # nothing that waits on a lost input is asked for
    assert msgs(s.balance(), op="steal") == []


def _scattered(s, key="d", worker="w1"):
    s.scatter("c", [key], [8], [worker])
    return s.tasks[key]


def test_scattered_data_lost_then_scattered_again_is_in_memory():
    s = SchedulerState(validate=True)
    s.add_client("c")
    s.add_worker("w1", "w1", 1)
    s.add_worker("w2", "w2", 1)
    d = _scattered(s)
    out = s.remove_worker("w1")
    assert d.state == ERRED and msgs(out, "c")[0][1]["op"] == "key-erred"
    s.scatter("c", ["d"], [8], ["w2"])  # as the error says: no crash, back in memory
    assert d.state == MEMORY and d.who_has == [s.workers["w2"]]


def test_released_scattered_input_needed_again_errs_instead_of_running_nothing():
    s = SchedulerState(validate=True)
    s.add_client("c")
    s.add_worker("w1", "w1", 1)
    s.add_worker("w2", "w2", 1)
    _scattered(s, "d", "w1")
    s.update_graph("c", ["y"], [b"s"], ["f"], [["d"]], wanted=["y"], funcs={"f": b"F"})
    s.task_finished(s.tasks["y"].processing_on.address, "y", 8, 0.1)
    holder_y = s.tasks["y"].who_has[0].address
    s.release_keys("c", ["d"])            # d kept only as y's lineage
    out = s.remove_worker(holder_y)       # y lost: recomputing it needs d, which has no lineage
    assert not [m for _, m in msgs(out, op="compute") if m["key"] == "d"]
    assert s.tasks["y"].state == ERRED


def test_scatter_over_a_task_in_flight_frees_its_inputs_later():
    s = SchedulerState(validate=True)
    s.add_client("c")
    s.add_worker("w1", "w1", 1)
    graph(s, "c", {"a": [], "b": ["a"]})
    s.task_finished("w1", "a", 8, 0.1)           # b is processing now
    s.scatter("c", ["b"], [8], ["w1"])           # ... and arrives by scatter instead
    assert s.tasks["a"].nwaiters == 0 and s.tasks["a"].state == RELEASED
    s.release_keys("c", ["b"])
    assert s.tasks == {}


def test_errors_free_the_other_inputs_of_failed_dependents():
    s = SchedulerState(validate=True)
    s.add_client("c")
    s.add_worker("w1", "w1", 1)
    graph(s, "c", {"a": [], "bad": [], "c": ["a", "bad"]})
    s.task_finished("w1", "a", 8, 0.1)
    s.task_erred("w1", "bad", b"E", None)
    assert s.tasks["c"].state == ERRED
    assert s.tasks["a"].state == RELEASED  # nobody needs it any more: freed now, not at release


def test_stealing_off_means_no_steals():
    from shoal import config

    with config.set({"distributed.scheduler.work-stealing": False}):
        s, holder, other, keys = _piled_on_holder()
    (k_other,) = [ts.key for ts in s.workers[other].processing]
    assert msgs(s.task_finished(other, k_other, 8, 0.3), op="steal") == []
    assert s.balance() == []


def test_a_dead_workers_values_are_all_released_before_any_recompute():
    s = SchedulerState(validate=True)
    s.add_client("c")
    s.add_worker("w1", "w1", 1)
    s.update_graph("c", ["a"], [b"s"], ["f"], [None], wanted=["a"], funcs={"f": b"F"})
    s.task_finished("w1", "a", 8, 0.1)
    # l is more urgent than a, so it comes first among the dead worker's values
    s.update_graph("c", ["l"], [b"s"], ["f"], [["a"]], wanted=["l"], priority=1)
    s.task_finished("w1", "l", 8, 0.1)
    assert s.tasks["l"].priority < s.tasks["a"].priority
    s.add_worker("w2", "w2", 1)
    out = s.remove_worker("w1")
    for _, m in msgs(out, op="compute"):
        assert all(holders for _, holders, _ in (m.get("deps") or ())), m  # never an empty holder list
    assert s.tasks["l"].state == WAITING and s.tasks["a"].state == PROCESSING


def test_a_copy_that_could_not_be_fetched_is_freed_on_its_holder():
    s = SchedulerState(validate=True)
    s.add_client("c")
    s.add_worker("w1", "w1", 1)
    s.add_worker("w2", "w2", 1)
    graph(s, "c", {"a": [], "b": ["a"]})
    holder = s.tasks["a"].processing_on.address
    s.task_finished(holder, "a", 8, 0.1)
    where = s.tasks["b"].processing_on.address
    out = s.missing_data(where, "b", "a", holder)
    assert (holder, {"op": "free", "keys": ["a"]}) in msgs(out)


def test_fire_and_forget_keeps_a_task_until_done_then_releases_it():
    s = SchedulerState(validate=True)
    s.add_client("c")
    s.add_worker("w1", "w1", 1, now=0.0)
    graph(s, "c", {"a": [], "b": ["a"]})
    s.fire_and_forget(["b", "unknown"])
    s.release_keys("c", ["b"])  # the client's future goes; the fire-and-forget hold stays
    assert s.tasks["b"].state == WAITING and s.tasks["b"].wanted == 1
    s.task_finished("w1", "a", 8, 0.001)
    out = s.task_finished("w1", "b", 8, 0.001)
    assert ("w1", {"op": "free", "keys": ["b"]}) in msgs(out)  # done: released at once
    assert msgs(out, "c") == []  # nobody to tell
    assert s.tasks == {} and s.snapshot()["clients"] == 1


def test_fire_and_forget_of_a_finished_key_releases_it_now():
    s = SchedulerState(validate=True)
    s.add_client("c")
    s.add_worker("w1", "w1", 1, now=0.0)
    graph(s, "c", {"a": []})
    s.task_finished("w1", "a", 8, 0.001)
    s.fire_and_forget(["a"])
    s.release_keys("c", ["a"])
    assert s.tasks == {}


def test_validate_reports_a_broken_record():
    s = SchedulerState(validate=True)
    s.add_client("c")
    s.add_worker("w1", "w1", 1, now=0.0)
    graph(s, "c", {"a": [], "b": ["a"]})
    s.tasks["b"].nwaiting = 0  # corrupt: b still waits for a
    with pytest.raises(AssertionError, match="task 'b' in 'waiting'"):
        s.task_finished("w1", "zzz", 1, 0.0)


def test_remove_replicas_never_drops_the_last_copy():
    s = SchedulerState(validate=True)
    s.add_client("c")
    s.add_worker("w1", "w1", 1, now=0.0)
    s.add_worker("w2", "w2", 1, now=0.0)
    graph(s, "c", {"a": []})
    s.task_finished("w1", "a", 100, 0.001)
    assert s.remove_replicas("w1", ["a"]) == []  # the only copy stays
    assert [w.address for w in s.tasks["a"].who_has] == ["w1"]
    s.add_replicas("w2", ["a"])
    out = s.remove_replicas("w1", ["a", "unknown"])
    assert ("w1", {"op": "free", "keys": ["a"]}) in msgs(out)
    assert [w.address for w in s.tasks["a"].who_has] == ["w2"]
    assert s.workers["w1"].nbytes == 0 and s.workers["w2"].nbytes == 100


def test_invalidated_values_are_recomputed_and_their_running_dependents_restart():
    # t0, t1 -> barrier -> out; t0 stands for state outside the scheduler that is gone
    s = SchedulerState(validate=True)
    s.add_client("c")
    s.add_worker("w1", "w1", 2, now=0.0)
    graph(s, "c", {"t0": [], "t1": [], "barrier": ["t0", "t1"]})
    s.task_finished("w1", "t0", 8, 0.01)
    s.task_finished("w1", "t1", 8, 0.01)
    assert s.tasks["barrier"].state == PROCESSING
    out = s.invalidate(["t0", "missing-key"])
    # the running dependent hears first, then the stale copy is freed and recomputed
    frees = [m["keys"] for _, m in msgs(out, op="free")]
    assert frees.index(["barrier"]) < frees.index(["t0"])
    assert [m["key"] for _, m in msgs(out, op="compute")] == ["t0"]
    assert s.tasks["barrier"].state == WAITING and s.tasks["t1"].state == MEMORY
    out = s.task_finished("w1", "t0", 8, 0.01)
    assert [m["key"] for _, m in msgs(out, op="compute")] == ["barrier"]
    assert s.invalidate(["t1"]) and s.tasks["barrier"].state == WAITING  # also while it is re-placed
