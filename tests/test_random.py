"""Parallel random streams: reproducible per task, independent between tasks."""
from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

import shoal
from shoal.random import MT19937, is_random_function, streams, task_rng, task_seed_sequence


def draw(i, n=4):
    return task_rng().normal(size=n)


def graph(p=8):
    return [shoal.delayed(draw)(i) for i in range(p)]


def as_matrix(results):
    return np.vstack(results)


def test_same_seed_same_numbers_on_every_scheduler(scheduler):
    tasks = graph()
    ref = as_matrix(shoal.compute(*tasks, scheduler="sync", seed=7))
    got = as_matrix(shoal.compute(*tasks, scheduler=scheduler, seed=7))
    np.testing.assert_array_equal(ref, got)


def test_number_of_workers_does_not_matter():
    tasks = graph(12)
    one = as_matrix(shoal.compute(*tasks, scheduler="threads", num_workers=1, seed=3))
    two = as_matrix(shoal.compute(*tasks, scheduler="threads", num_workers=2, seed=3))
    np.testing.assert_array_equal(one, two)


def test_different_seeds_differ_and_tasks_never_share_a_stream():
    tasks = graph(64)
    a = as_matrix(shoal.compute(*tasks, scheduler="sync", seed=1))
    b = as_matrix(shoal.compute(*tasks, scheduler="sync", seed=2))
    assert not np.array_equal(a, b)
    first_draws = a[:, 0]
    assert len(set(first_draws.tolist())) == len(first_draws)


def test_config_seed_gives_reproducible_keys_across_graph_builds():
    with shoal.config.set(random_seed=11):
        first = as_matrix(shoal.compute(*graph(), scheduler="sync"))
    with shoal.config.set(random_seed=11):
        second = as_matrix(shoal.compute(*graph(), scheduler="sync"))
    np.testing.assert_array_equal(first, second)


def test_unseeded_tasks_still_independent():
    a = as_matrix(shoal.compute(*graph(16), scheduler="sync"))
    assert len(set(a[:, 0].tolist())) == 16


def test_retry_restarts_the_stream():
    from shoal.core import context

    context.set_task(("k", 1), 5)
    first = task_rng().random(3)
    context.set_task(("k", 1), 5)
    again = task_rng().random(3)
    context.clear_task()
    np.testing.assert_array_equal(first, again)


def test_streams_uncorrelated():
    gens = streams(2024, 64)
    data = np.vstack([g.standard_normal(100_000) for g in gens])
    corr = np.corrcoef(data)
    off = corr[~np.eye(64, dtype=bool)]
    # sd of a sample correlation of independent normals is 1/sqrt(n) ~ 0.0032
    assert np.abs(off).max() < 6 / np.sqrt(100_000)
    assert abs(off.mean()) < 1e-3


def test_default_rng_spawn_matches_streams():
    a = [g.random() for g in shoal.random.default_rng(5).spawn(3)]
    assert len(set(a)) == 3


def test_task_seed_sequence_depends_only_on_seed_and_key():
    s1 = task_seed_sequence(("x", 1), 9).generate_state(4)
    s2 = task_seed_sequence(("x", 1), 9).generate_state(4)
    s3 = task_seed_sequence(("x", 2), 9).generate_state(4)
    assert (s1 == s2).all() and not (s1 == s3).all()


def test_bad_seed_teaches():
    with pytest.raises(TypeError, match="seed=42"):
        task_seed_sequence("k", 1.5)


def calc_mean_jump(i, n, rng):
    rng.jump(i)
    return float(np.mean(rng.generator.normal(size=n)))


def calc_mean_numpy(i, n, seed):
    gen = np.random.Generator(np.random.MT19937(seed).jumped(i))
    return float(np.mean(gen.normal(size=n)))


def test_tutorial_mt19937_jump_example(scheduler):
    rng = MT19937(1)
    tasks = [shoal.delayed(calc_mean_jump)(i, 1000, rng) for i in range(5)]
    numpy_tasks = [shoal.delayed(calc_mean_numpy)(i, 1000, 1) for i in range(5)]
    got = shoal.compute(*tasks, scheduler=scheduler)
    expected = shoal.compute(*numpy_tasks, scheduler=scheduler)
    assert list(got) == list(expected)
    assert len(set(got)) == 5


def test_unseeded_processes_do_not_share_global_state():
    def legacy_draw(i):
        return float(np.random.random())

    tasks = [shoal.delayed(legacy_draw)(i) for i in range(8)]
    out = shoal.compute(*tasks, scheduler="processes", num_workers=2)
    assert len(set(out)) == 8


def test_separate_interpreters_get_different_global_state():
    code = "import shoal, numpy as np; print(np.random.random())"
    outs = {subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                           check=True).stdout for _ in range(2)}
    assert len(outs) == 2


def test_is_random_function():
    def calc_mean(i, n):
        data = np.random.normal(size=n)
        return data.mean()

    def with_task_rng(i):
        return task_rng().random()

    assert is_random_function(calc_mean)
    assert is_random_function(with_task_rng)
    assert is_random_function(np.random.normal)
    assert not is_random_function(lambda x: x + 1)
    assert not is_random_function(sum)


def slow_draw(i):
    import time

    time.sleep(0.02)
    return task_rng().normal(size=4)


@pytest.mark.parametrize("n_workers", [1, 2])
def test_distributed_same_numbers_with_1_or_2_workers_and_a_killed_worker(n_workers):
    import os
    import signal
    import time

    from shoal.distributed import Client, LocalCluster

    tasks = [shoal.delayed(slow_draw)(i) for i in range(60)]
    expected = as_matrix(shoal.compute(*tasks, scheduler="sync", seed=5))
    with LocalCluster(n_workers=n_workers, threads_per_worker=1, dashboard_address=None) as cluster, \
            Client(cluster, set_as_default=False) as c:
        np.testing.assert_array_equal(as_matrix(c.gather(c.compute(tasks, seed=5))), expected)
        # again, with a worker killed while the tasks run: lost tasks re-run with the same streams
        futs = c.compute(tasks, seed=5)
        time.sleep(0.3)
        os.kill(cluster.worker_pids()[0], signal.SIGKILL)
        np.testing.assert_array_equal(as_matrix(c.gather(futs)), expected)
