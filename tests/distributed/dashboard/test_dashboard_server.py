"""Dashboard server behaviour that needs no cluster: port choice, token, pages, feed."""
from __future__ import annotations

import asyncio
import json
import logging
import socket
import time

import aiohttp
import pytest

from shoal.distributed.dashboard import serve
from shoal.distributed.dashboard.snapshot import EventLog, read_snapshot
from shoal.distributed.scheduler.state import SchedulerState


class _Server:
    """A scheduler server's dashboard-facing surface over a real SchedulerState."""

    def __init__(self, token=None):
        import collections

        self.state = SchedulerState()
        self.events = collections.deque(maxlen=100)
        self.address = "tcp://127.0.0.1:1"
        self.dashboard_link = None
        self.security = type("S", (), {"token": token})()
        self.stopped = asyncio.Event()

    def snapshot(self):
        return self.state.snapshot()


def _run(coro):
    # a thread of its own: playwright's sync API may hold a loop in the main thread
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(1) as ex:
        return ex.submit(asyncio.run, asyncio.wait_for(coro, 30)).result()


def test_port_taken_picks_a_free_one_and_logs(caplog):
    busy = socket.socket()
    busy.bind(("127.0.0.1", 0))
    busy.listen(1)
    port = busy.getsockname()[1]

    async def main():
        srv = _Server()
        with caplog.at_level(logging.WARNING, logger="shoal.distributed.dashboard"):
            dash = await serve(srv, f":{port}")
        try:
            assert dash.port != port and dash.port > 0
            assert srv.dashboard_link == dash.link() and str(dash.port) in srv.dashboard_link
            async with aiohttp.ClientSession() as s:
                async with s.get(f"http://127.0.0.1:{dash.port}/health") as r:
                    assert r.status == 200
        finally:
            srv.stopped.set()  # the dashboard closes with its scheduler
            await asyncio.sleep(0.2)
        with pytest.raises(OSError):
            socket.create_connection(("127.0.0.1", dash.port), timeout=1).close()

    try:
        _run(main())
    finally:
        busy.close()
    assert f"dashboard port {port} is taken" in caplog.text


def test_token_required_then_cookie():
    async def main():
        srv = _Server(token="s3cret-token")
        dash = await serve(srv, ":0")
        base = f"http://127.0.0.1:{dash.port}"
        try:
            assert dash.link().endswith("/status?token=s3cret-token")
            # unsafe=True: keep cookies from an IP-address host, as browsers do
            async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as s:
                for path in ("/status", "/api/snapshot", "/workers?token=wrong"):
                    async with s.get(base + path) as r:
                        assert r.status == 401
                        assert "dashboard_link" in await r.text()
                async with s.get(base + "/status?token=s3cret-token") as r:
                    assert r.status == 200 and "task-stream" in await r.text()
                # the cookie set by the first visit opens the other pages
                async with s.get(base + "/api/snapshot") as r:
                    assert r.status == 200
                    snap = await r.json()
                    assert snap["workers"] == [] and snap["stream"] == []
        finally:
            await dash.close()

    _run(main())


def test_event_feed_pushes_aggregates_and_new_events_only():
    async def main():
        srv = _Server()
        srv.state.add_worker("tcp://127.0.0.1:7", "w0", 2, 0)
        dash = await serve(srv, ":0", interval=0.1)
        t = time.time()
        srv.events.extend([("inc-1", "tcp://127.0.0.1:7", t, t + 0.1, "memory"),
                           ("inc-2", "tcp://127.0.0.1:7", t + 0.05, t + 0.2, "memory")])
        msgs = []
        try:
            async with aiohttp.ClientSession() as s:
                async with s.get(f"http://127.0.0.1:{dash.port}/api/events") as r:
                    assert r.headers["Content-Type"].startswith("text/event-stream")
                    t0 = time.monotonic()
                    async for line in r.content:
                        if line.startswith(b"data: "):
                            msgs.append((time.monotonic() - t0, json.loads(line[6:])))
                            if len(msgs) == 1:
                                srv.events.append(("add-3", "tcp://127.0.0.1:7", t + 0.3, t + 0.4, "erred"))
                            if len(msgs) == 4:
                                break
        finally:
            await dash.close()
        first, later = msgs[0][1], [m for _, m in msgs[1:]]
        assert [e["key"] for e in first["stream"]] == ["inc-1", "inc-2"]
        # overlapping tasks on one worker go to two lanes (threads)
        assert [e["thread"] for e in first["stream"]] == [0, 1]
        assert [e["key"] for m in later for e in m["stream"]] == ["add-3"]
        assert [e["kind"] for m in later for e in m["stream"]] == ["error"]
        assert first["workers"][0]["name"] == "w0" and first["workers"][0]["nthreads"] == 2
        assert msgs[-1][0] < 2.0  # pushed several times a second

    _run(main())


def test_event_log_is_bounded_and_incremental():
    import collections

    dq = collections.deque(maxlen=50)
    log = EventLog(maxlen=30)
    for i in range(120):
        dq.append((f"x-{i}", "w", float(i), float(i) + 0.5, "memory"))
        if i % 7 == 0:
            log.update(dq)
    log.update(dq)
    assert len(log.buffer) == 30
    assert [e["seq"] for e in log.buffer] == sorted(e["seq"] for e in log.buffer)
    assert log.buffer[-1]["key"] == "x-119"
    assert all(e["thread"] == 0 for e in log.buffer)  # sequential tasks share one lane


def test_group_counts_from_a_large_state_are_cheap():
    srv = _Server()
    st = srv.state
    st.add_worker("tcp://127.0.0.1:7", "w0", 2, 0)
    n = 100_000
    keys = [f"inc-{i}" for i in range(n)]
    st.update_graph("c", keys, [None] * n, ["f1"] * n, [()] * n, keys, funcs={"f1": b""},
                    fnames={"f1": "inc"})
    t = time.perf_counter()
    snap = read_snapshot(srv)
    cost = time.perf_counter() - t
    g = snap["groups"]["inc"]
    assert g["total"] == n and g["processing"] == 2 and g["queued"] == n - 2
    assert cost < 0.25, cost
    t = time.perf_counter()
    read_snapshot(srv)  # throttled: reuses the counts
    assert time.perf_counter() - t < cost / 5 + 0.002


def test_event_log_samples_whole_time_slices():
    import collections

    dq = collections.deque(maxlen=5000)
    # 2 threads on one worker, 1 ms tasks back to back for 2 s; one error
    for i in range(2000):
        for th in range(2):
            dq.append((f"x-{i}-{th}", "w", 1000 + i * 0.001, 1000 + (i + 1) * 0.001, "memory"))
    dq.append(("boom-1", "w", 1000.5, 1000.5005, "erred"))
    log = EventLog()
    log.nthreads["w"] = 2
    added = log.update(dq, limit=400)
    assert log.seen == 4001
    assert 300 <= len(added) <= 600  # about the limit
    assert any(e["kind"] == "error" for e in added)  # errors always kept
    computes = [e for e in added if e["kind"] == "compute"]
    # both threads' tasks of each kept slice are there, each on its own lane
    assert {e["thread"] for e in computes} == {0, 1}
    by_start: dict = {}
    for e in computes:
        by_start.setdefault(e["start"], set()).add(e["thread"])
    assert all(v == {0, 1} for v in by_start.values())
    stops = sorted(e["stop"] for e in computes)
    assert stops[-1] - stops[0] > 1.5  # spread over the whole burst
    assert log.update(dq, limit=400) == []  # nothing new


def test_token_check_can_be_switched_off():
    import shoal

    async def main():
        srv = _Server(token="s3cret-token")
        with shoal.config.set({"distributed.dashboard.require-token": False}):
            dash = await serve(srv, ":0")
        try:
            assert "token" not in dash.link()
            async with aiohttp.ClientSession() as s:
                async with s.get(f"http://127.0.0.1:{dash.port}/api/snapshot") as r:
                    assert r.status == 200
        finally:
            await dash.close()

    _run(main())
