"""Local-scheduler diagnostics driven by real computations.

The progress bar is checked by capturing its output; profilers by comparing
what they recorded with the graph that ran; plots by parsing the files.
"""
from __future__ import annotations

import io
import re
import time

import numpy as np
import pytest

import shoal
from shoal.diagnostics import (CacheProfiler, Profiler, ProgressBar, ResourceProfiler,
                               visualize)

LOCAL = ["sync", "threads", "processes"]


def slow_inc(x):
    time.sleep(0.01)
    return x + 1


def total(xs):
    return sum(xs)


def boom(x):
    raise ValueError("boom")


def _graph(n=12):
    incs = [shoal.delayed(slow_inc)(i) for i in range(n)]
    return shoal.delayed(total)(incs)


def _final_line(text: str) -> str:
    assert text.endswith("\n"), "the bar must finish its line"
    return text.rstrip("\n").split("\r")[-1]


@pytest.mark.parametrize("scheduler", LOCAL)
def test_progressbar_counts_groups_and_finishes(scheduler):
    buf = io.StringIO()
    with ProgressBar(out=buf, dt=0.02):
        (res,) = shoal.compute(_graph(12), scheduler=scheduler)
    assert res == sum(range(1, 13))
    last = _final_line(buf.getvalue())
    assert "100% Completed" in last and "[" + "#" * 40 + "]" in last
    assert "slow_inc 12/12" in last and "total 1/1" in last
    assert re.search(r"\| \d+\.\d\d s \|", last)  # elapsed time
    assert buf.getvalue().count("\n") == 1


def test_progressbar_shows_partial_progress_while_running():
    buf = io.StringIO()
    with ProgressBar(out=buf, dt=0.01):
        shoal.compute(_graph(30), scheduler="sync")
    frames = buf.getvalue().rstrip("\n").split("\r")[1:]
    pcts = [int(re.search(r"(\d+)% ", f).group(1)) for f in frames]
    assert len(frames) >= 3 and min(pcts) < 100 and pcts == sorted(pcts)


def test_progressbar_register_and_unregister():
    buf = io.StringIO()
    pbar = ProgressBar(out=buf, dt=0.05)
    pbar.register()
    try:
        shoal.compute(_graph(3), scheduler="threads")
        shoal.compute(_graph(4), scheduler="sync")
    finally:
        pbar.unregister()
    shoal.compute(_graph(5), scheduler="sync")
    lines = [ln.split("\r")[-1] for ln in buf.getvalue().split("\n") if ln]
    assert len(lines) == 2
    assert "slow_inc 3/3" in lines[0] and "slow_inc 4/4" in lines[1]


@pytest.mark.parametrize("scheduler", ["sync", "threads"])
def test_progressbar_finishes_cleanly_on_error(scheduler):
    import threading

    buf = io.StringIO()
    before = threading.active_count()
    x = shoal.delayed(boom)(shoal.delayed(slow_inc)(1))
    with pytest.raises(ValueError, match="boom"):
        with ProgressBar(out=buf, dt=0.02):
            x.compute(scheduler=scheduler)
    last = _final_line(buf.getvalue())
    assert "Errored" in last and "boom 0/1" in last
    time.sleep(0.05)
    assert threading.active_count() <= before  # the redraw thread is gone


def test_progressbar_finishes_cleanly_on_ctrl_c():
    def interrupt(x):
        raise KeyboardInterrupt

    buf = io.StringIO()
    with pytest.raises(KeyboardInterrupt):
        with ProgressBar(out=buf, dt=0.02):
            shoal.delayed(interrupt)(1).compute(scheduler="sync")
    assert "Cancelled" in _final_line(buf.getvalue())


@pytest.mark.parametrize("scheduler", ["threads", "processes"])
def test_profiler_records_every_task(scheduler, tmp_path):
    x = _graph(8)
    with Profiler() as prof:
        x.compute(scheduler=scheduler)
    keys = {str(r.key) for r in prof.results}
    assert len(prof.results) == 9 and len(keys) == 9
    for r in prof.results:
        assert r.start_time <= r.end_time
    tot = next(r for r in prof.results if str(r.key).startswith("total"))
    assert all(r.end_time <= tot.end_time for r in prof.results)
    assert min(r.end_time - r.start_time for r in prof.results if "slow_inc" in str(r.key)) > 0.005
    out = prof.visualize(filename=str(tmp_path / "prof.html"))
    html = open(out).read()
    assert html.count('class="task compute"') == 9
    assert "http://" not in html.replace("http://www.w3.org/2000/svg", "")  # self-contained


def test_resource_and_cache_profilers_and_combined_plots(tmp_path):
    def make(i):
        time.sleep(0.1)  # long enough for several samples on a busy machine
        return np.ones(10_000) * i

    def sum_all(arrs):
        return float(sum(a.sum() for a in arrs))

    parts = [shoal.delayed(make)(i) for i in range(6)]
    x = shoal.delayed(sum_all)(parts)
    with Profiler() as prof, ResourceProfiler(dt=0.02) as rprof, CacheProfiler() as cprof:
        assert x.compute(scheduler="threads") == 10_000 * sum(range(6))
    assert len(rprof.results) >= 3
    assert all(r.mem > 10 for r in rprof.results)  # MB: a Python process with numpy
    byk = {str(r.key).split("-")[0]: r for r in cprof.results}
    made = [r for r in cprof.results if str(r.key).startswith("make")]
    assert len(made) == 6 and all(r.metric == 80_000 for r in made)
    # each part is held until sum_all has run, and freed then
    s = byk["sum_all"]
    assert all(r.cache_time <= r.free_time <= s.free_time + 1e-3 for r in made)
    html = visualize([prof, rprof, cprof], filename=str(tmp_path / "all.html"))
    page = open(html).read()
    for sid in ("profiler", "resource-memory", "resource-cpu", "cache"):
        assert f'<section id="{sid}">' in page
    png = visualize([prof, rprof, cprof], filename=str(tmp_path / "all.png"))
    assert open(png, "rb").read(4) == b"\x89PNG"


@pytest.mark.parametrize("scheduler", ["threads", "processes"])
def test_progressbar_ctrl_c_while_running(scheduler):
    import _thread
    import threading

    def slow(x):
        time.sleep(0.1)
        return x

    buf = io.StringIO()

    def press_ctrl_c():  # once some tasks are done
        deadline = time.monotonic() + 20
        while not re.search(r"slow [1-9]\d*/40", buf.getvalue()) and time.monotonic() < deadline:
            time.sleep(0.01)
        _thread.interrupt_main()

    presser = threading.Thread(target=press_ctrl_c)
    presser.start()
    t0 = time.monotonic()
    try:
        with pytest.raises(KeyboardInterrupt):
            with ProgressBar(out=buf, dt=0.02):
                shoal.compute(*[shoal.delayed(slow)(i) for i in range(40)], scheduler=scheduler,
                              num_workers=2)
    finally:
        presser.join()
    assert time.monotonic() - t0 < 2.0 + (3.0 if scheduler == "processes" else 0)  # prompt
    last = _final_line(buf.getvalue())
    assert "Cancelled" in last and "slow 40/40" not in last
