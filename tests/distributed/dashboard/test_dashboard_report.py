"""The performance report's HTML: built from events and samples, opened in chromium."""
from __future__ import annotations

import re
import time

from tests.distributed.dashboard.conftest import screenshot
from shoal.distributed.report import build_report


def _events(t0):
    evs = []
    seq = 0
    for w in range(2):
        for th in range(2):
            t = t0
            for i in range(20):
                group = "inc" if i % 2 else "load"
                evs.append({"seq": seq, "worker": f"tcp://127.0.0.1:{9000 + w}", "thread": th,
                            "key": f"{group}-{seq}", "group": group, "start": t, "stop": t + 0.01 * (1 + i % 3),
                            "kind": "compute"})
                t += 0.04
                seq += 1
    evs.append({"seq": seq, "worker": "tcp://127.0.0.1:9000", "thread": 0, "key": "boom-1", "group": "boom",
                "start": t0 + 0.5, "stop": t0 + 0.55, "kind": "error"})
    return evs


def _samples(t0):
    out = []
    for i in range(10):
        out.append((t0 + 0.1 * i, [
            {"address": f"tcp://127.0.0.1:{9000 + w}", "name": f"w{w}", "nthreads": 2, "cpu": 50.0 * w,
             "memory_managed": 1e6 * (i + 1), "memory_unmanaged": 3e7, "memory_spilled": 0,
             "memory_limit": 2e9} for w in range(2)]))
    return out


def test_report_sections_and_numbers():
    t0 = time.time()
    page = build_report(_events(t0), _samples(t0), t0, t0 + 1.0)
    for sid in ("summary", "task-stream", "group-timings", "worker-memory", "worker-cpu"):
        assert f'<section id="{sid}">' in page
    assert page.count('class="task compute"') == 80
    assert page.count('class="task error"') == 1
    # per-group table: 40 inc and 40 load tasks
    rows = dict(re.findall(r"<tr><td>(inc|load)</td><td>(\d+)</td>", page))
    assert rows == {"inc": "40", "load": "40"}
    assert "<script" not in page and "http://" not in page.replace("http://www.w3.org/2000/svg", "")


def test_report_opens_in_browser(page, tmp_path):
    t0 = time.time()
    fn = tmp_path / "report.html"
    fn.write_text(build_report(_events(t0), _samples(t0), t0, t0 + 1.0))
    page.goto(fn.as_uri())
    headings = page.locator("section h2").all_text_contents()
    assert headings == ["Summary", "Task stream", "Per-group timings", "Worker memory", "Worker CPU"]
    assert page.locator("#task-stream rect.task").count() == 81
    assert page.locator("#worker-memory polyline.series").count() == 2
    box = page.locator("#task-stream svg").bounding_box()
    assert box and box["width"] > 500 and box["height"] > 60
    screenshot(page, "performance-report-synthetic")
    assert page.errors == []
