"""The adaptive policy, driven step by step against a simulated batch system.

The simulation is plain Python: jobs are queued for `start_delay` steps,
then run `processes` workers that each finish one task per step; jobs that
reach `walltime` steps of running end on their own.  The policy sees only
what a real cluster would report (desired workers, live jobs, pending or
not, busy or not) and its actions are applied as sbatch/scancel would.
"""
from __future__ import annotations

import itertools
import time

import pytest

from shoal.distributed.deploy.adaptive import AdaptivePolicy, Cancel, JobView, Submit, desired_workers


class SimBatch:
    def __init__(self, policy, n_tasks, processes, start_delay=2, walltime=None):
        self.policy = policy
        self.remaining = n_tasks
        self.processes = processes
        self.start_delay = start_delay
        self.walltime = walltime
        self.jobs = {}   # id -> {"start": step it starts running, "busy": bool}
        self.ids = itertools.count(1)
        self.submitted = 0
        self.cancelled = []
        self.ended_by_walltime = 0
        self.trace = []  # (step, remaining, n_pending, n_running)

    def running(self, t):
        return [j for j, s in self.jobs.items() if s["start"] <= t]

    def step(self, t):
        if self.walltime is not None:
            for j in list(self.running(t)):
                if t - self.jobs[j]["start"] >= self.walltime:
                    del self.jobs[j]
                    self.ended_by_walltime += 1
        # hand out work for this step, job by job, then the step's tasks finish
        left = self.remaining
        for j in self.jobs:
            got = min(left, self.processes) if self.jobs[j]["start"] <= t else 0
            self.jobs[j]["busy"] = got > 0
            left -= got
        todo_before = self.remaining
        self.remaining = left
        views = [JobView(str(j), pending=s["start"] > t, busy=s["busy"]) for j, s in self.jobs.items()]
        # the scheduler reports tasks not finished at observation time (running ones included)
        for a in self.policy.decide(todo_before, views):
            if isinstance(a, Submit):
                for _ in range(a.n):
                    self.jobs[next(self.ids)] = {"start": t + 1 + self.start_delay, "busy": False}
                    self.submitted += 1
            else:
                j = int(a.job_id)
                assert not self.jobs[j]["busy"], f"step {t}: cancelled busy job {j}"
                del self.jobs[j]
                self.cancelled.append(j)
        run = self.running(t)
        self.trace.append((t, self.remaining, len(self.jobs) - len(run), len(run)))

    def run(self, steps):
        for t in range(steps):
            self.step(t)


def test_tutorial_case_keeps_two_16_worker_jobs_then_releases_them():
    # processes=16, cores=16, adapt(maximum=32), 200 tasks (tutorial section 9.1)
    policy = AdaptivePolicy(16, minimum=0, maximum=32, wait_count=3)
    sim = SimBatch(policy, n_tasks=200, processes=16)
    sim.run(40)
    assert sim.remaining == 0
    assert sim.submitted == 2, "two 16-worker jobs, no series of single jobs"
    assert sorted(sim.cancelled) == [1, 2], "both released once idle"
    # both jobs ran side by side for as long as work remained for both
    busy_steps = [(n_run) for (t, rem, n_pend, n_run) in sim.trace if rem > 32]
    first = busy_steps.index(2)              # once both have left the queue...
    assert first <= 3 and all(n == 2 for n in busy_steps[first:])   # ...both stay
    assert max(p + r for (_, _, p, r) in sim.trace) == 2
    assert sim.trace[-1][2:] == (0, 0)


def test_one_worker_per_job_scales_to_maximum_and_back():
    policy = AdaptivePolicy(1, maximum=32, wait_count=2)
    sim = SimBatch(policy, n_tasks=200, processes=1)
    sim.run(40)
    assert sim.remaining == 0
    assert max(p + r for (_, _, p, r) in sim.trace) == 32
    assert sim.submitted == 32 and len(sim.cancelled) == 32


def test_pending_jobs_count_as_capacity():
    policy = AdaptivePolicy(16, maximum=32)
    sim = SimBatch(policy, n_tasks=10_000, processes=16, start_delay=15)
    sim.run(12)                               # jobs still queued the whole time
    assert sim.submitted == 2
    assert all(r == 0 for (_, _, _, r) in sim.trace)


def test_hysteresis_never_starts_and_kills_in_a_loop():
    policy = AdaptivePolicy(16, maximum=32, wait_count=3)
    jobs = [JobView("1"), JobView("2")]
    # a load that flickers between idle and full: no cancellation, no resubmission
    for i in range(31):                      # ends on a busy decision (i=30)
        acts = policy.decide(0 if i % 3 else 32, jobs)
        assert acts == [], (i, acts)
    # a steady idle load: exactly wait_count decisions, then both go (newest first)
    assert policy.decide(0, jobs) == []
    assert policy.decide(0, jobs) == []
    assert policy.decide(0, jobs) == [Cancel("2"), Cancel("1")]


def test_never_cancels_a_busy_job_or_part_of_one():
    policy = AdaptivePolicy(4, maximum=8, wait_count=1)
    jobs = [JobView("a", busy=True), JobView("b", busy=True)]
    assert policy.decide(1, jobs) == []        # wants one job, but both still work
    jobs = [JobView("a", busy=True), JobView("b", busy=False)]
    assert policy.decide(1, jobs) == [Cancel("b")]
    jobs = [JobView("a", busy=False), JobView("b", pending=True)]
    assert policy.decide(1, jobs) == [Cancel("b")]   # a queued job is cancelled first


def test_jobs_ended_by_walltime_are_replaced_while_work_remains():
    policy = AdaptivePolicy(4, maximum=8, wait_count=2)
    sim = SimBatch(policy, n_tasks=300, processes=4, start_delay=1, walltime=6)
    sim.run(80)
    assert sim.remaining == 0
    assert sim.ended_by_walltime >= 4
    assert sim.submitted == sim.ended_by_walltime + len(sim.cancelled)
    assert max(p + r for (_, _, p, r) in sim.trace) <= 2
    assert sim.trace[-1][2:] == (0, 0)


def test_minimum_jobs_kept_when_idle():
    policy = AdaptivePolicy(2, minimum=3, maximum=8, wait_count=1)
    assert policy.min_jobs == 2 and policy.max_jobs == 4
    assert policy.decide(0, []) == [Submit(2)]
    assert policy.decide(0, [JobView("1"), JobView("2")]) == []
    assert policy.decide(100, [JobView("1"), JobView("2")]) == [Submit(2)]
    p = AdaptivePolicy(2, minimum_jobs=1, maximum_jobs=3, maximum=100)
    assert (p.min_jobs, p.max_jobs) == (1, 3)


def test_bounds_that_cannot_work_raise_with_the_fix():
    with pytest.raises(ValueError, match=r"less than one job of 16 .*adapt\(maximum=16\)"):
        AdaptivePolicy(16, maximum=8)
    with pytest.raises(ValueError, match="bounds are empty"):
        AdaptivePolicy(2, minimum_jobs=5, maximum_jobs=2)
    with pytest.raises(ValueError, match="wait_count"):
        AdaptivePolicy(2, wait_count=0)


def test_desired_workers_from_scheduler_counts():
    assert desired_workers({"n_tasks_pending": 200, "n_tasks": 500}) == 200
    assert desired_workers({"n_tasks_pending": 7}, threads_per_worker=2) == 4
    assert desired_workers({"n_tasks": 10, "n_finished": 10}) == 0
    assert desired_workers({"n_tasks": 10, "n_finished": 4}) == 6


def test_driver_applies_actions_and_stops_on_a_fatal_error():
    import threading

    from shoal.distributed.deploy.adaptive import AdaptiveDriver

    class Refused(Exception):
        pass

    jobs: list[JobView] = []
    submitted = threading.Event()
    calls = []

    def submit(n):
        calls.append(n)
        if len(calls) == 1:
            jobs.extend(JobView(str(i)) for i in range(n))
            submitted.set()
        else:
            raise Refused("sbatch: error: invalid partition specified: low")

    policy = AdaptivePolicy(2, maximum=8, wait_count=1)
    load = {"n": 4}
    drv = AdaptiveDriver(policy, lambda: (load["n"], list(jobs)), submit, lambda j: None,
                         interval=0.02, fatal=(Refused,))
    try:
        assert submitted.wait(5)
        assert calls[0] == 2                   # 4 workers = 2 jobs of 2
        load["n"] = 8                          # wants 4 jobs: the next submission is refused
        deadline = time.monotonic() + 5
        while drv.error is None and time.monotonic() < deadline:
            time.sleep(0.02)
        assert isinstance(drv.error, Refused)
        n_calls = len(calls)
        time.sleep(0.2)
        assert len(calls) == n_calls           # stopped: no storm of failing submissions
    finally:
        drv.stop()
