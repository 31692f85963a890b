"""The tutorial's local-scheduler sections (3.1, 3.3, 5.1, 5.2, 6.1, 6.3, 6.4) at reduced size.

Each test is the tutorial's code with ``import shoal as dask``, sizes cut
down, and its result checked against plain numpy/Python.
"""
from __future__ import annotations

import importlib
import gzip
import re
import time

import numpy as np
import pytest

import shoal as dask
from tests.conftest import require


def calc_mean(i, n):
    """calc_mean.py of the tutorial (seeded per replicate so results can be checked)."""
    rng = np.random.default_rng(i)
    data = rng.normal(size=n)
    return [np.mean(data), np.std(data)]


def expected_calc_mean(i, n):
    data = np.random.default_rng(i).normal(size=n)
    return [np.mean(data), np.std(data)]


def test_3_1_delayed_loop_and_comprehension_on_processes():
    with dask.config.set(scheduler="processes", num_workers=2):
        futures = []
        n = 100_000
        p = 6
        for i in range(p):
            futures.append(dask.delayed(calc_mean)(i, n))
        results = dask.compute(*futures)
        futures2 = [dask.delayed(calc_mean)(i, n) for i in range(p)]
        results2 = dask.compute(*futures2)
    expect = [expected_calc_mean(i, n) for i in range(p)]
    assert np.allclose(results, expect) and np.allclose(results2, expect)
    # the scheduler named in compute
    results3 = dask.compute(*futures2, scheduler="processes")
    assert np.allclose(results3, expect)


def test_3_3_task_graph_and_decorator(tmp_path):
    def inc(x):
        return x + 1

    def add(x, y):
        return x + y

    x = dask.delayed(inc)(1)
    y = dask.delayed(inc)(2)
    z = dask.delayed(add)(x, y)
    assert z.compute() == 5
    require("dot")
    out = tmp_path / "task_graph.svg"
    z.visualize(filename=str(out))
    svg = out.read_text()
    assert "<svg" in svg and "inc" in svg and "add" in svg

    @dask.delayed
    def inc2(x):
        return x + 1

    @dask.delayed
    def add2(x, y):
        return x + y

    assert add2(inc2(1), inc2(2)).compute() == 5


@pytest.mark.parametrize("scheduler", ["threads", "processes"])
def test_5_1_and_5_2_threads_and_processes(scheduler):
    """5.1 (threads) and 5.2 (processes): same code, same answers."""
    with dask.config.set(scheduler=scheduler, num_workers=2):
        n = 200_000
        p = 4
        futures = [dask.delayed(calc_mean)(i, n) for i in range(p)]
        t0 = time.time()
        results = dask.compute(*futures)
        assert time.time() - t0 < 60
    assert np.allclose(results, [expected_calc_mean(i, n) for i in range(p)])


@dask.delayed
def calc_mean_vargs2(inputs, nobs):
    import numpy as np

    data = np.random.default_rng(int(inputs[0] * 100 + inputs[1] * 10) + nobs).normal(inputs[0], inputs[1], nobs)
    return [np.mean(data), np.std(data)]


def test_6_1_nested_parallelization_list_of_lists():
    with dask.config.set(scheduler="processes", num_workers=2):
        params = zip([0, 0, 1, 1], [1, 2, 1, 2])
        m = 5
        n = 20_000
        out = list()
        for param in params:
            out_single_param = list()
            for i in range(m):
                out_single_param.append(calc_mean_vargs2(param, n + i))
            out.append(out_single_param)
        output = dask.compute(*out)
    assert isinstance(output, tuple) and len(output) == 4 and all(len(o) == m for o in output)
    for (mu, sd), row in zip([(0, 1), (0, 2), (1, 1), (1, 2)], output):
        for i, (mean, std) in enumerate(row):
            data = np.random.default_rng(int(mu * 100 + sd * 10) + n + i).normal(mu, sd, n + i)
            assert np.isclose(mean, data.mean()) and np.isclose(std, data.std())


def find(line, regex="Obama", language="en"):
    vals = line.split(" ")
    if len(vals) < 6:
        return False
    tmp = re.search(regex, vals[3])
    if tmp is None or (language is not None and vals[2] != language):
        return False
    return True


def test_6_3_one_compute_for_several_bag_results(tmp_path):
    import shoal.bag as db

    rng = np.random.default_rng(0)
    lines_all = []
    for part in range(3):
        lines = []
        for j in range(400):
            lang = "en" if rng.random() < 0.6 else "fr"
            title = "Barack_Obama" if rng.random() < 0.2 else f"Page_{j}"
            lines.append(f"20170101 000000 {lang} {title} {j} {j * 7}")
        with gzip.open(tmp_path / f"part-0000{part}.gz", "wt") as f:
            f.write("\n".join(lines) + "\n")
        lines_all += lines
    with dask.config.set(scheduler="processes", num_workers=2):
        wiki = db.read_text(str(tmp_path / "part-0000*gz"))
        total_cnt = wiki.count()
        obama = wiki.filter(find)
        obama_cnt = obama.count()
        (obama, obama_cnt, total_cnt) = db.compute(obama, obama_cnt, total_cnt)
    expect = [ln for ln in lines_all if find(ln)]
    assert total_cnt == len(lines_all) == 1200
    assert obama_cnt == len(expect) > 0
    assert [o.rstrip("\n") for o in obama] == expect
    assert len(obama[0:5]) == 5


def calc(x, i):
    return np.mean(x)


def test_6_4_delayed_data_is_shipped_once_and_results_match():
    with dask.config.set(scheduler="processes", num_workers=2):
        x = np.random.normal(size=2_000_000)
        xd = dask.delayed(x)  # here we delay the data
        out = [dask.delayed(calc)(xd, i) for i in range(20)]
        t0 = time.time()
        output = dask.compute(*out)
        took = time.time() - t0
    assert output == tuple([np.mean(x)] * 20)
    assert took < 10
    # passing the array straight in works too, and warns once with the fix
    import warnings

    sd = importlib.import_module("shoal.delayed")  # the module; shoal.delayed is the function

    sd._warned_lift = False
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        out2 = [dask.delayed(calc)(x, i) for i in range(5)]
    assert any("delayed(x)" in str(m.message) for m in w)
    assert dask.compute(*out2, scheduler="processes") == tuple([np.mean(x)] * 5)
