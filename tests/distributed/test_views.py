"""Terminal and notebook views of clients and clusters (and the page a notebook shows)."""
from __future__ import annotations

import os
import signal
import subprocess
from html.parser import HTMLParser

from shoal.distributed import views
from tests.deploy.conftest import sshd_loopback  # noqa: F401  (a session fixture: real sshd)
from tests.distributed.dashboard.conftest import browser  # noqa: F401  (headless chromium, one per test)


class ViewParser(HTMLParser):
    """Reads a view back: each summary table as {label: text}, links, worker rows, <pre> text."""

    def __init__(self) -> None:
        super().__init__()
        self.tables: list[dict] = []      # one per class="shoal-summary" table, in order
        self.links: list[str] = []
        self.worker_rows = 0
        self.pre = ""
        self._stack: list[tuple[str, str]] = []
        self._cell: list[str] | None = None
        self._label: str | None = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        self._stack.append((tag, a.get("class") or ""))
        if tag == "table" and a.get("class") == "shoal-summary":
            self.tables.append({})
        if tag in ("th", "td"):
            self._cell = []
        if tag == "a" and a.get("class") == "shoal-dashboard":
            self.links.append(a["href"])
        if tag == "tr" and any(c == "shoal-workers" for _, c in self._stack):
            self.worker_rows += 1

    def handle_endtag(self, tag):
        in_summary = any(t == "table" and c == "shoal-summary" for t, c in self._stack)
        if tag == "th" and self._cell is not None:
            self._label = "".join(self._cell).strip()
        elif tag == "td" and self._cell is not None and in_summary and self._label is not None:
            self.tables[-1][self._label] = "".join(self._cell).strip()
            self._label = None
        if tag in ("th", "td"):
            self._cell = None
        while self._stack:
            t, _ = self._stack.pop()
            if t == tag:
                break

    def handle_data(self, data):
        if self._cell is not None:
            self._cell.append(data)
        if self._stack and self._stack[-1][0] == "pre":
            self.pre += data


def parse(text: str) -> ViewParser:
    p = ViewParser()
    p.feed(text)
    p.close()
    return p


def _info(**kw):
    base = {"kind": "Client", "name": "c1", "address": "tcp://10.0.0.1:8786", "status": "running",
            "dashboard": "http://10.0.0.1:8787/status?token=abc", "error": None, "rows": [],
            "job_script": None, "cluster": None,
            "workers": {f"tcp://10.0.0.{i}:9000": {"name": f"w{i}", "nthreads": 4, "memory_limit": 2 * 10**9,
                                                   "nbytes": 10**6, "processing": i} for i in range(3)}}
    base.update(kw)
    return base


# ---- pure rendering ------------------------------------------------------------
def test_html_and_text_of_an_info_dict():
    p = parse(views.info_html(_info()))
    t = p.tables[0]
    assert (t["Workers"], t["Total threads"], t["Total memory"]) == ("3", "12", "6.00 GB")
    assert t["Scheduler"] == "tcp://10.0.0.1:8786" and t["Status"] == "running"
    assert p.links == ["http://10.0.0.1:8787/status?token=abc"]
    assert p.worker_rows == 1 + 3            # header and one row per worker
    assert views.info_text(_info()) == "<Client: 'tcp://10.0.0.1:8786' processes=3 threads=12, memory=6.00 GB>"
    assert views.info_text(_info(kind="LocalCluster")) == \
        "LocalCluster('tcp://10.0.0.1:8786', workers=3, threads=12, memory=6.00 GB)"


def test_values_are_escaped():
    evil = '<script>alert("x")</script>'
    info = _info(name=evil, dashboard='http://h/"onmouseover="x', rows=[("Queue", evil)], job_script=evil)
    info["workers"]["tcp://10.0.0.0:9000"]["name"] = evil
    text = views.info_html(info)
    assert "<script>" not in text and 'href="http://h/&quot;onmouseover=&quot;x"' in text
    p = parse(text)
    assert p.tables[0]["Name"] == evil and p.tables[0]["Queue"] == evil and p.pre == evil


def test_memory_without_limits_and_long_worker_lists():
    ws = {f"tcp://h:{i}": {"name": i, "nthreads": 1, "memory_limit": 0 if i else 10**9}
          for i in range(views.MAX_WORKER_ROWS + 5)}
    p = parse(views.info_html(_info(workers=ws)))
    assert p.tables[0]["Total memory"] == f"1.00 GB (+{len(ws) - 1} workers without a limit)"
    assert p.worker_rows == 1 + views.MAX_WORKER_ROWS + 1    # header, rows, "... and 5 more"
    none = {a: dict(w, memory_limit=0) for a, w in ws.items()}
    assert parse(views.info_html(_info(workers=none))).tables[0]["Total memory"] == "no limit"


def test_closed_and_unreachable_views():
    closed = _info(status="closed", workers=None)
    assert views.info_text(closed) == "<Client: 'tcp://10.0.0.1:8786' closed>"
    assert views.info_text(dict(closed, kind="SSHCluster")) == "SSHCluster('tcp://10.0.0.1:8786', closed)"
    t = parse(views.info_html(closed)).tables[0]
    assert t["Status"] == "closed" and "Workers" not in t and t["Dashboard"] == "-"
    lost = _info(workers=None, error="TimeoutError: no answer in 5s")
    assert "workers unknown (TimeoutError: no answer in 5s)" in views.info_text(lost)
    assert parse(views.info_html(lost)).tables[0]["Workers"] == "unknown (TimeoutError: no answer in 5s)"


def test_a_cluster_that_never_started_still_renders():
    from shoal.distributed.deploy.cluster import Cluster

    c = Cluster(name="bare")
    try:
        assert repr(c) == "Cluster(not started)"
        t = parse(c._repr_html_()).tables[0]
        assert (t["Name"], t["Scheduler"], t["Status"]) == ("bare", "not started", "not started")
    finally:
        c.close()


# ---- real clusters ---------------------------------------------------------------
def test_local_cluster_and_client_views():
    from shoal.distributed import Client, LocalCluster

    cluster = LocalCluster(n_workers=2, threads_per_worker=1, memory_limit="1GB", dashboard_address=":0")
    try:
        client = Client(cluster, set_as_default=False)
        try:
            assert len(cluster.worker_pids()) == 2            # worker processes, not threads
            link = client.dashboard_link
            assert link and "token=" in link
            for obj in (cluster, client):
                p = parse(obj._repr_html_())
                t = p.tables[0]
                assert (t["Workers"], t["Total threads"], t["Total memory"]) == ("2", "2", "2.00 GB")
                assert t["Scheduler"] == cluster.scheduler_address and t["Status"] == "running"
                assert p.links[0] == link
                assert p.worker_rows == 1 + 2
            assert repr(client) == f"<Client: {cluster.scheduler_address!r} processes=2 threads=2, memory=2.00 GB>"
            assert repr(cluster) == f"LocalCluster({cluster.scheduler_address!r}, workers=2, threads=2, memory=2.00 GB)"
            # the client's page also summarises its cluster (from the same snapshot)
            inner = parse(client._repr_html_()).tables[1]
            assert inner["Name"] == "local" and inner["Workers"] == "2"
            client.close()
            assert repr(client) == f"<Client: {cluster.scheduler_address!r} closed>"
            assert parse(client._repr_html_()).tables[0]["Status"] == "closed"
        finally:
            client.close()
    finally:
        cluster.close()
    assert repr(cluster) == f"LocalCluster({cluster.scheduler_address!r}, closed)"
    t = parse(cluster._repr_html_()).tables[0]
    assert t["Status"] == "closed" and "Workers" not in t


def test_job_queue_cluster_view_with_a_worker_started_by_its_job_script(tmp_path):
    """The job script run by bash stands for SLURM starting job 41; the queue listing is
    given (job 41 running, 42 waiting) so the counts do not depend on a live SLURM."""
    from shoal.jobqueue import SLURMCluster

    class ListedSLURMCluster(SLURMCluster):
        def _job_states(self):
            return {"41": "running", "42": "pending", "7": "running"}   # 7: another cluster's job

    cluster = ListedSLURMCluster(cores=2, processes=2, memory="2GB", name="sim", queue="debug",
                                 walltime="01:30:00", host="127.0.0.1")
    proc = None
    try:
        script = tmp_path / "job.sh"
        script.write_text(cluster.job_script())
        env = dict(os.environ, SLURM_JOB_ID="41", SHOAL_TOKEN=cluster.security.token)
        proc = subprocess.Popen(["bash", str(script)], env=env, stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL, start_new_session=True)
        cluster.workers.update({"41": "41", "42": "42"})          # as submitted by scale(jobs=2)
        cluster.wait_for_workers(2, timeout=60)
        text = cluster._repr_html_()
        p = parse(text)
        t = p.tables[0]
        assert (t["Workers"], t["Total threads"], t["Total memory"]) == ("2", "2", "2.00 GB")
        assert (t["Job kind"], t["Jobs running"], t["Jobs pending"]) == ("SLURM", "1", "1")
        assert (t["Workers per job"], t["Cores per job"], t["Memory per job"]) == ("2", "2", "2.00 GB")
        assert (t["Threads per worker"], t["Memory per worker"]) == ("1", "1.00 GB")
        assert (t["Queue"], t["Walltime"]) == ("debug", "01:30:00")
        assert "#SBATCH -p debug" in p.pre and cluster.scheduler_address in p.pre
        assert cluster.security.token not in text                # the token never shows
        assert p.worker_rows == 1 + 2
        assert repr(cluster).endswith("workers=2, threads=2, memory=2.00 GB, running_jobs=1, pending_jobs=1)")
        cluster.workers.clear()                                  # nothing to cancel in SLURM
    finally:
        if proc is not None:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(5)
        cluster.workers.clear()
        cluster.close()
    assert repr(cluster).endswith(", closed)")
    assert parse(cluster._repr_html_()).tables[0]["Jobs running"] == "0"


def test_ssh_cluster_view(sshd_loopback):
    """SSHCluster inherits the Cluster view; its dashboard link is the remote scheduler's."""
    import sys
    import uuid

    from shoal.distributed.comm.security import Security
    from shoal.distributed.deploy.ssh import SSHCluster

    cluster = SSHCluster(["127.0.0.1", "127.0.0.1", "127.0.0.1"],
                         connect_options={"config_file": sshd_loopback.config},
                         worker_options={"nthreads": 2, "memory_limit": "1GB"},
                         scheduler_options={"dashboard_address": ":0"}, remote_python=sys.executable,
                         security=Security(token=uuid.uuid4().hex), close_when_clients_leave=False)
    try:
        p = parse(cluster._repr_html_())
        t = p.tables[0]
        assert (t["Workers"], t["Total threads"], t["Total memory"]) == ("2", "4", "2.00 GB")
        assert t["Scheduler"] == cluster.scheduler_address and t["Name"] == "ssh"
        assert p.links == [cluster.dashboard_link] and "token=" in p.links[0]
        assert repr(cluster) == f"SSHCluster({cluster.scheduler_address!r}, workers=2, threads=4, memory=2.00 GB)"
    finally:
        cluster.close()
    assert repr(cluster) == f"SSHCluster({cluster.scheduler_address!r}, closed)"


# ---- what a notebook shows ----------------------------------------------------------
def test_notebook_page_renders_client_array_and_dataframe(browser, tmp_path):
    import pandas as pd

    import shoal.array as da
    import shoal.dataframe as dd
    from shoal.distributed import Client, LocalCluster

    x = da.ones((1000, 2000), chunks=(250, 500))
    df = dd.from_pandas(pd.DataFrame({"id": range(12), "name": list("abcdefghijkl")}), npartitions=3)
    # worker threads suffice here: the view of worker processes is checked above
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=False, memory_limit="1GB",
                      dashboard_address=":0") as cluster:
        with Client(cluster, set_as_default=False) as client:
            cells = [client._repr_html_(), x._repr_html_(), df._repr_html_()]
    page_html = ("<!doctype html><html><body>" + "".join(
        f'<div class="output" id="out{i}" style="margin:1em;border-left:3px solid #ccc;padding:0.5em">{c}</div>'
        for i, c in enumerate(cells)) + "</body></html>")
    page_file = tmp_path / "notebook.html"
    page_file.write_text(page_html)
    ctx = browser.new_context(viewport={"width": 1000, "height": 800})
    try:
        page = ctx.new_page()
        page.goto(page_file.as_uri())
        client_text = page.text_content("#out0")
        assert "Client" in client_text and "Total threads" in client_text and "2.00 GB" in client_text
        assert page.locator("#out0 a.shoal-dashboard").first.is_visible()   # the cluster's is folded
        array_text = page.text_content("#out1")
        assert "(1000, 2000)" in array_text and "(250, 500)" in array_text and "float64" in array_text
        assert page.locator("#out1 svg line").count() > 0          # the chunk picture
        frame_text = page.text_content("#out2")
        assert "npartitions=3" in frame_text and "int64" in frame_text
        page.click("#out0 summary >> text=Workers")                    # unfold the worker list
        assert page.locator("#out0 details.shoal-workers td", has_text="local-1").is_visible()
        png = tmp_path / "notebook.png"
        page.screenshot(path=str(png), full_page=True)
    finally:
        ctx.close()
    data = png.read_bytes()
    assert len(data) > 1000 and data[:8] == b"\x89PNG\r\n\x1a\n"
