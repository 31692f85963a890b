"""Terminal and notebook views of clients and clusters.

Two layers:

* ``client_info`` / ``cluster_info`` read a client or cluster once into a
  plain dict (scheduler address, status, dashboard link, the scheduler's
  worker table, extra labelled rows).  The numbers come from the scheduler's
  existing ``snapshot`` answer (``Client.scheduler_info`` or
  ``Cluster.scheduler_info``); nothing here opens a connection of its own.
  A closed or unreachable client/cluster gives a dict that says so instead
  of raising: a ``repr`` must never fail.
* ``info_text`` / ``info_html`` are pure functions of that dict, so they are
  tested without any cluster.  Every value written into HTML is escaped.

The info dict::

    {"kind": "Client", "name": ..., "address": "tcp://...", "status": "running",
     "dashboard": "http://...?token=..." | None,
     "workers": {address: {"name", "nthreads", "memory_limit", "nbytes", ...}} | None,
     "error": "why the workers are unknown" | None,
     "rows": [(label, value), ...],          # extra rows (job-queue resources)
     "job_script": str | None,
     "cluster": <a cluster info dict> | None}  # a Client's own cluster
"""
from __future__ import annotations

import html
from typing import Any

from shoal.utils import format_bytes

__all__ = ["client_info", "cluster_info", "job_rows", "summary", "info_text", "info_html"]

#: how many workers the HTML lists one by one (the rest are counted)
MAX_WORKER_ROWS = 50
#: seconds a view waits for the scheduler before showing "unavailable"
VIEW_TIMEOUT = 5.0


# ---- reading a client or cluster -------------------------------------------
def client_info(client: Any) -> dict:
    """The view dict of a ``Client`` (one snapshot request when it is running)."""
    info: dict = {"kind": "Client", "name": getattr(client, "id", None),
                  "address": getattr(client, "scheduler_address", None),
                  "status": getattr(client, "status", "unknown"), "dashboard": None,
                  "workers": None, "error": None, "rows": [], "job_script": None, "cluster": None}
    try:
        info["dashboard"] = client.dashboard_link
    except Exception:
        pass
    snap = None
    if info["status"] == "running" and _on_io_thread():
        info["error"] = "not asked from the IO thread"
    elif info["status"] == "running":
        try:
            snap = client._request({"op": "snapshot"}, timeout=VIEW_TIMEOUT)
            info["workers"] = dict(snap.get("workers", {}))
        except Exception as e:  # a view shows the failure rather than raising it
            info["error"] = _describe(e)
    cluster = getattr(client, "cluster", None)
    if cluster is not None:
        try:
            view = getattr(cluster, "_view_info", None)
            info["cluster"] = view(snap) if view is not None else cluster_info(cluster, snapshot=snap)
        except Exception as e:
            info["cluster"] = {"kind": type(cluster).__name__, "status": "unknown", "error": _describe(e)}
    return info


def cluster_info(cluster: Any, snapshot: dict | None = None, rows: list | None = None,
                 job_script: str | None = None) -> dict:
    """The view dict of a ``Cluster``; ``snapshot`` reuses an answer already read."""
    closed = bool(getattr(cluster, "_closed", False))
    address = getattr(cluster, "_scheduler_address", None)
    status = "closed" if closed else ("running" if address else "not started")
    info: dict = {"kind": type(cluster).__name__, "name": getattr(cluster, "name", None),
                  "address": address, "status": status, "dashboard": None, "workers": None,
                  "error": None, "rows": list(rows or []), "job_script": job_script, "cluster": None}
    try:
        info["dashboard"] = cluster.dashboard_link
    except Exception:
        pass
    if status == "running" and snapshot is None and _on_io_thread():
        info["error"] = "not asked from the IO thread"
    elif status == "running":
        try:
            snap = snapshot if snapshot is not None else cluster.scheduler_info()
            info["workers"] = dict(snap.get("workers", {}))
        except Exception as e:
            info["error"] = _describe(e)
    return info


def job_rows(cluster: Any) -> list:
    """Rows describing a job-queue cluster: its jobs and each job's resources.

    Job states come from the batch system's listing when it answers, else
    from what this cluster last saw (a view never drops or submits jobs).
    """
    spec = cluster.spec
    jobs = list(getattr(cluster, "workers", {}))
    states: dict | None = None
    if jobs and not getattr(cluster, "_closed", False):
        try:
            states = cluster._job_states()
        except Exception:
            states = None
    if states is None:
        states = dict(getattr(cluster, "_states", {}))
    running = sum(1 for j in jobs if states.get(j) == "running")
    pending = len(jobs) - running
    # the batch system is the one the job script is written for (SLURMScript -> SLURM)
    kind = type(cluster.writer).__name__
    rows = [
        ("Job kind", kind[:-6] if kind.endswith("Script") and len(kind) > 6 else kind),
        ("Jobs running", running),
        ("Jobs pending", pending),
        ("Workers per job", spec.processes),
        ("Cores per job", spec.cores),
        ("Memory per job", format_bytes(spec.memory)),
        ("Threads per worker", spec.threads_per_process),
        ("Memory per worker", format_bytes(spec.memory_per_process)),
    ]
    if spec.queue:
        rows.append(("Queue", spec.queue))
    if spec.walltime:
        w = int(spec.walltime)
        rows.append(("Walltime", f"{w // 3600:02d}:{w % 3600 // 60:02d}:{w % 60:02d}"))
    if spec.account:
        rows.append(("Account", spec.account))
    return rows


def _on_io_thread() -> bool:
    """True on the IO loop's own thread, where waiting for the scheduler would stall it."""
    import threading

    from shoal.distributed.utils import _loop_thread

    return _loop_thread is not None and threading.current_thread() is _loop_thread.thread


def _describe(e: BaseException) -> str:
    text = str(e).strip()
    return f"{type(e).__name__}: {text}" if text else type(e).__name__


# ---- pure rendering ----------------------------------------------------------
def summary(workers: dict | None) -> dict:
    """Totals over a worker table: workers, threads, memory limit (None: some without one)."""
    workers = workers or {}
    limits = [int(w.get("memory_limit") or 0) for w in workers.values()]
    return {
        "workers": len(workers),
        "threads": sum(int(w.get("nthreads") or 0) for w in workers.values()),
        "memory": sum(limits),
        "unlimited": sum(1 for m in limits if m <= 0),
        "stored": sum(int(w.get("nbytes") or 0) for w in workers.values()),
    }


def _memory_text(s: dict) -> str:
    if s["workers"] and s["unlimited"] == s["workers"]:
        return "no limit"
    text = format_bytes(s["memory"])
    if s["unlimited"]:
        text += f" (+{s['unlimited']} workers without a limit)"
    return text


def info_text(info: dict) -> str:
    """One-line ``repr`` in Dask's shape.

    A client: ``<Client: 'tcp://...' processes=2 threads=4, memory=8.00 GB>``;
    a cluster: ``LocalCluster('tcp://...', workers=2, threads=4, memory=8.00 GB)``.
    """
    kind = info.get("kind", "Client")
    addr = info.get("address")
    status = info.get("status")
    if status != "running":
        parts = [status or "unknown"]
    elif info.get("workers") is None:
        parts = [f"workers unknown ({info.get('error') or 'no answer'})"]
    else:
        s = summary(info["workers"])
        if kind == "Client":
            parts = [f"processes={s['workers']} threads={s['threads']}", f"memory={_memory_text(s)}"]
        else:
            parts = [f"workers={s['workers']}", f"threads={s['threads']}", f"memory={_memory_text(s)}"]
        for label, value in info.get("rows", []):
            if label in ("Jobs running", "Jobs pending"):
                parts.append(f"{label.split()[1]}_jobs={value}")
    if kind == "Client":
        return f"<Client: {addr!r} {', '.join(parts)}>"
    return f"{kind}({', '.join([repr(addr), *parts] if addr else parts)})"


def _esc(v: Any) -> str:
    return html.escape(str(v), quote=True)


def _table(rows: list, cls: str) -> str:
    body = "".join(f'<tr><th style="text-align:left">{_esc(k)}</th>'
                   f'<td style="text-align:left">{v}</td></tr>' for k, v in rows)
    return f'<table class="{cls}">{body}</table>'


def _workers_html(workers: dict) -> str:
    head = ("<tr><th>Name</th><th>Address</th><th>Threads</th><th>Memory limit</th>"
            "<th>Stored</th><th>Processing</th></tr>")
    rows = []
    ordered = sorted(workers.items(), key=lambda kv: (str(kv[1].get("name")), kv[0]))
    for addr, w in ordered[:MAX_WORKER_ROWS]:
        limit = int(w.get("memory_limit") or 0)
        rows.append("<tr>" + "".join(f"<td>{_esc(v)}</td>" for v in (
            w.get("name"), addr, w.get("nthreads"), format_bytes(limit) if limit > 0 else "no limit",
            format_bytes(int(w.get("nbytes") or 0)), w.get("processing", 0))) + "</tr>")
    more = len(workers) - MAX_WORKER_ROWS
    if more > 0:
        rows.append(f'<tr><td colspan="6">... and {more} more workers</td></tr>')
    return (f'<details class="shoal-workers"><summary>Workers ({len(workers)})</summary>'
            f'<table>{head}{"".join(rows)}</table></details>')


def info_html(info: dict, details: bool = True) -> str:
    """The ``_repr_html_`` of a client or cluster: a summary table, then (``details``)
    the worker list, the job script and a client's cluster."""
    kind = info.get("kind", "Client")
    rows: list = []
    if info.get("name"):
        rows.append(("Name", _esc(info["name"])))
    rows.append(("Scheduler", f"<code>{_esc(info.get('address') or 'not started')}</code>"))
    rows.append(("Status", _esc(info.get("status"))))
    link = info.get("dashboard") if info.get("status") == "running" else None
    if link:
        rows.append(("Dashboard", f'<a class="shoal-dashboard" href="{_esc(link)}" target="_blank">'
                                  f"{_esc(link)}</a>"))
    else:
        rows.append(("Dashboard", "off" if info.get("status") == "running" else "-"))
    workers = info.get("workers")
    if workers is not None:
        s = summary(workers)
        rows += [("Workers", s["workers"]), ("Total threads", s["threads"]),
                 ("Total memory", _esc(_memory_text(s)))]
    elif info.get("status") == "running":
        rows.append(("Workers", _esc(f"unknown ({info.get('error') or 'no answer'})")))
    rows += [(label, _esc(value)) for label, value in info.get("rows", [])]
    parts = [f'<div class="shoal-{_esc(kind.lower())}" style="font-family:sans-serif">',
             f'<h3 style="margin:0.2em 0">{_esc(kind)}</h3>', _table(rows, "shoal-summary")]
    if details and workers:
        parts.append(_workers_html(workers))
    if details and info.get("job_script"):
        parts.append(f'<details class="shoal-job-script"><summary>Job script</summary>'
                     f"<pre>{_esc(info['job_script'])}</pre></details>")
    if details and info.get("cluster") is not None:
        inner = info["cluster"]   # its worker list is the one shown above
        parts.append(f'<details class="shoal-cluster-info"><summary>Cluster: {_esc(inner["kind"])}'
                     f"</summary>{info_html(inner, details=False)}</details>")
    parts.append("</div>")
    return "".join(parts)
