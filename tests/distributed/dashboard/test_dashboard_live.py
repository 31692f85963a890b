"""The dashboard, progress bar and performance report on a real LocalCluster.

One cluster (2 worker processes x 2 threads, dashboard on a free port) is
shared by this module.  Chromium opens the dashboard while a computation
runs and checks that the progress reaches completion, the task stream shows
the tasks and the workers table lists every worker; screenshots go to
``artifacts/``.
"""
from __future__ import annotations

import io
import re
import time
import urllib.error
import urllib.request

import pytest

import shoal
from tests.distributed.dashboard.conftest import screenshot

N_TASKS = 300


def slow_inc(x):
    time.sleep(0.004)
    return x + 1


def total(xs):
    return sum(xs)


def fail(x):
    raise ValueError(f"bad input {x}")


@pytest.fixture(scope="module")
def cluster_client():
    from shoal.distributed import Client, LocalCluster

    cluster = LocalCluster(n_workers=2, threads_per_worker=2, dashboard_address=":0")
    client = Client(cluster, set_as_default=False)
    try:
        yield cluster, client
    finally:
        client.close()
        cluster.close()


def _graph(n, offset=0):
    return shoal.delayed(total)([shoal.delayed(slow_inc)(i + offset) for i in range(n)])


def test_dashboard_link_carries_the_token(cluster_client):
    cluster, client = cluster_client
    link = client.dashboard_link
    assert link and re.match(r"http://127\.0\.0\.1:\d+/status\?token=\w+$", link)
    bare = link.split("?")[0]
    with pytest.raises(urllib.error.HTTPError) as e:
        urllib.request.urlopen(bare, timeout=10)
    assert e.value.code == 401
    with urllib.request.urlopen(link, timeout=10) as r:
        assert r.status == 200


def test_dashboard_in_browser_while_computing(cluster_client, page):
    cluster, client = cluster_client
    page.goto(client.dashboard_link)
    page.wait_for_function("document.body.dataset.updates > 0", timeout=15000)
    fut = client.compute(_graph(N_TASKS, offset=1000))
    # progress reaches completion for this computation's groups
    page.wait_for_function(
        """() => { const g = document.querySelector('[data-group="slow_inc"] .counts');
                   return g && g.textContent.startsWith('%d / %d'); }""" % (N_TASKS, N_TASKS),
        timeout=60000)
    assert fut.result() == sum(range(1001, 1001 + N_TASKS))
    page.wait_for_function("(() => { const t = document.getElementById('progress-total');"
                           " return +t.dataset.total > 0 && t.dataset.done === t.dataset.total; })()",
                           timeout=15000)
    # the task stream drew the tasks, one row per worker thread
    stream = page.locator("#task-stream")
    assert int(stream.get_attribute("data-count")) >= N_TASKS
    assert int(stream.get_attribute("data-rows")) >= 2
    mem_rows = page.locator("#memory .mem").count()
    assert mem_rows == 2
    screenshot(page, "dashboard-status")
    # the workers page lists every worker
    page.goto(client.dashboard_link.replace("/status", "/workers"))
    page.wait_for_function("document.querySelectorAll('#workers-table tr.worker').length > 0",
                           timeout=15000)
    listed = sorted(page.locator("#workers-table tr.worker").evaluate_all(
        "rows => rows.map(r => r.dataset.address)"))
    assert listed == sorted(cluster.scheduler.state.workers)
    screenshot(page, "dashboard-workers")
    # a worker's own page, reached from the table's link (the cookie carries the token)
    page.locator("#workers-table tr.worker a").first.click()
    page.wait_for_function("document.querySelectorAll('#worker-info tr').length > 5", timeout=15000)
    assert "nthreads" in page.locator("#worker-info").text_content()
    screenshot(page, "dashboard-worker-info")
    assert page.errors == []


def test_distributed_progress_bar_output(cluster_client):
    from shoal.distributed import progress

    cluster, client = cluster_client
    fut = client.compute(_graph(120, offset=5000))
    buf = io.StringIO()
    progress(fut, out=buf, dt=0.05)
    text = buf.getvalue()
    assert text.endswith("\n")
    last = text.rstrip("\n").split("\r")[-1]
    assert "100% Completed" in last and "slow_inc 120/120" in last and "total 1/1" in last
    assert fut.status == "finished"


def test_distributed_progress_finishes_on_error(cluster_client):
    from shoal.distributed import progress

    cluster, client = cluster_client
    futs = [client.submit(slow_inc, i) for i in range(5)] + [client.submit(fail, 1)]
    buf = io.StringIO()
    progress(futs, out=buf, dt=0.05)
    last = buf.getvalue().rstrip("\n").split("\r")[-1]
    assert "Errored" in last and "fail 0/1" in last
    with pytest.raises(ValueError, match="bad input"):
        futs[-1].result()


def test_performance_report_in_browser(cluster_client, page, tmp_path):
    from shoal.distributed import performance_report

    cluster, client = cluster_client
    fn = tmp_path / "report.html"
    with performance_report(filename=str(fn), client=client):
        assert client.compute(_graph(200, offset=9000)).result() == sum(range(9001, 9201))
    page.goto(fn.as_uri())
    headings = page.locator("section h2").all_text_contents()
    assert headings == ["Summary", "Task stream", "Per-group timings", "Worker memory", "Worker CPU"]
    assert page.locator('#task-stream rect.task[data-group="slow_inc"]').count() == 200
    row = page.locator("table.group-timings tr", has_text="slow_inc").first.locator("td").all_text_contents()
    assert row[1] == "200" and float(row[3]) >= 4.0  # mean ms >= the task's sleep
    assert page.locator("table.worker-memory tbody tr").count() == 2
    # `total` gathers inputs made on both workers: the transfer shows in the stream
    assert page.locator("#task-stream rect.task.transfer").count() >= 1
    transfers = page.locator("table.summary tr", has_text="transfers").locator("td").nth(1).text_content()
    assert int(transfers) >= 1
    # the error of an earlier test, still in the scheduler's buffer, is not part of this block
    errors = page.locator("table.summary tr", has_text="errors").locator("td").nth(1).text_content()
    assert int(errors) == 0
    assert "transfer" in page.locator("#task-stream .legend").text_content()
    screenshot(page, "performance-report")
    assert page.errors == []


def test_graph_page_draws_the_live_graph(cluster_client, page):
    cluster, client = cluster_client
    x = client.persist(_graph(40, offset=20000))
    page.goto(client.dashboard_link.replace("/status", "/graph"))
    page.wait_for_function("+(document.getElementById('task-graph').dataset.nodes || 0) > 0",
                           timeout=15000)
    n = int(page.locator("#task-graph").get_attribute("data-nodes"))
    note = page.locator("#graph-note").text_content()
    m = re.fullmatch(r"(\d+) tasks", note)
    # every live task drawn: at least the persisted output, at most the whole graph
    assert m and int(m.group(1)) == n and 1 <= n <= 41
    screenshot(page, "dashboard-graph")
    assert page.errors == []
    del x


def test_page_stays_responsive_with_100k_tasks_in_flight(page):
    """A real scheduler state with 100,000 queued tasks (4 groups) and a busy
    task stream: updates stay small and the page draws each in milliseconds."""
    import asyncio
    import collections
    import threading

    from shoal.distributed.dashboard import serve
    from shoal.distributed.scheduler.state import SchedulerState

    class Server:  # the scheduler server's dashboard-facing surface
        def __init__(self):
            self.state = SchedulerState()
            self.events = collections.deque(maxlen=10000)
            self.address = "tcp://127.0.0.1:1"
            self.dashboard_link = None

        def snapshot(self):
            return self.state.snapshot()

    srv = Server()
    for i in range(8):
        srv.state.add_worker(f"tcp://127.0.0.1:{7000 + i}", f"w{i}", 4, 0)
    n = 100_000
    keys = [f"{g}-{i:032x}" for i in range(n // 4) for g in ("load", "clean", "fit", "score")]
    fids = [k.split("-")[0] for k in keys]
    srv.state.update_graph("c", keys, [None] * n, fids, [()] * n, keys,
                           funcs={f: b"" for f in set(fids)}, fnames={f: f for f in set(fids)})
    loop = asyncio.new_event_loop()
    stop = threading.Event()

    async def main():
        dash = await serve(srv, ":0", interval=0.25)
        started.append(dash)
        t = 0
        while not stop.is_set():  # 20,000 task events a second on 32 threads
            now = time.time()
            # per thread (i % 32), 62 back-to-back 1.6 ms tasks per 0.1 s
            srv.events.extend((keys[(t + i) % n], f"tcp://127.0.0.1:{7000 + i % 8}",
                               now - 0.1 + (i // 32) * 0.0016, now - 0.1 + (i // 32 + 1) * 0.0016, "memory")
                              for i in range(2000))
            t += 2000
            await asyncio.sleep(0.1)
        await dash.close()

    started: list = []
    th = threading.Thread(target=lambda: loop.run_until_complete(main()), daemon=True)
    th.start()
    try:
        deadline = time.monotonic() + 20
        while not started and time.monotonic() < deadline:
            time.sleep(0.05)
        page.goto(started[0].link())
        page.wait_for_function("document.body.dataset.updates >= 12", timeout=30000)
        body = page.evaluate("({...document.body.dataset})")
        total = page.locator("#progress-total").get_attribute("data-total")
        assert int(total) == n
        assert int(body["lastBytes"]) < 300_000          # aggregates + a bounded event sample
        assert float(body["maxUpdateMs"]) < 250          # every update drawn within a frame or few
        assert int(page.locator("#task-stream").get_attribute("data-rows")) == 32  # 8 workers x 4 threads
        # the page still answers input at once
        t0 = time.monotonic()
        page.evaluate("1 + 1")
        assert time.monotonic() - t0 < 1.0
        screenshot(page, "dashboard-100k-tasks")
        assert page.errors == []
    finally:
        stop.set()
        th.join(timeout=10)
        loop.close()


def sleepy(x):
    time.sleep(0.5)
    return x


def test_distributed_progress_ctrl_c_finishes_the_line(cluster_client):
    import _thread
    import threading

    from shoal.distributed import progress

    cluster, client = cluster_client
    futs = client.map(sleepy, range(8), pure=False)
    buf = io.StringIO()

    def press_ctrl_c():  # once the bar is on screen
        deadline = time.monotonic() + 10
        while "sleepy" not in buf.getvalue() and time.monotonic() < deadline:
            time.sleep(0.02)
        _thread.interrupt_main()

    presser = threading.Thread(target=press_ctrl_c)
    presser.start()
    try:
        with pytest.raises(KeyboardInterrupt):
            progress(futs, out=buf, dt=0.05)
    finally:
        presser.join()
        for f in futs:
            f.cancel()
    text = buf.getvalue()
    assert text.endswith("\n")
    last = text.rstrip("\n").split("\r")[-1]
    assert "Cancelled" in last and "sleepy" in last and "8/8" not in last


def test_progress_widget_tracks_the_graph(cluster_client):
    import ipywidgets  # noqa: F401 - part of the diagnostics extra
    from shoal.diagnostics.distributed_progress import DistributedProgress
    from shoal.diagnostics.widget import ProgressWidget

    cluster, client = cluster_client
    fut = client.compute(_graph(60, offset=30000))
    w = ProgressWidget(DistributedProgress([fut]), dt=0.05)
    assert w.bars["slow_inc"].max == 60 and w.bars["slow_inc"].value < 60
    w.start().join(timeout=60)
    assert w.status == "Completed"
    assert w.bars["slow_inc"].value == 60 and w.bars["slow_inc"].bar_style == "success"
    assert "60 / 60" in w.labels["slow_inc"].value and "Completed" in w.header.value


def test_performance_report_through_a_remote_client(cluster_client, tmp_path):
    from shoal.distributed import Client, performance_report

    cluster, _ = cluster_client
    remote = Client(cluster.scheduler_address, security=cluster.security, set_as_default=False)
    try:
        assert remote.cluster is None  # talks to the scheduler over the network only
        fn = tmp_path / "remote.html"
        with performance_report(filename=str(fn), client=remote):
            assert remote.compute(_graph(100, offset=40000)).result() == sum(range(40001, 40101))
        page = fn.read_text()
        assert page.count('data-group="slow_inc"') == 100
        assert re.search(r"<td>workers</td><td>2</td>", page)
    finally:
        remote.close()
