"""Read the scheduler's state into the dashboard's one JSON shape.

The scheduler server exposes a JSON-able snapshot (task groups, workers,
and a bounded buffer of recent task-stream events).  This module is the only
place that knows where those live on the server, and turns them into::

    {"time": epoch seconds,
     "groups": {name: {"waiting", "queued", "processing", "memory", "erred",
                       "released", "total", "duration", "nbytes"}},
     "workers": [{"address", "name", "nthreads", "cpu", "memory_managed",
                  "memory_unmanaged", "memory_spilled", "memory_limit",
                  "processing", "in_memory", "executing", "last_seen"}],
     "stream": [{"seq", "worker", "thread", "key", "group", "start", "stop",
                 "kind"}],          # kind: compute | transfer | spill | error
     "stream_seq": total number of events ever recorded}

so the pages, the SSE feed and ``performance_report`` need not change when
the scheduler's internals do.

Per-group state counts: when the scheduler's snapshot has only global counts
(its task groups carry finished counts and durations), the counts are taken
by one pass over the task table.  That pass is the only O(tasks) step, so it
is *throttled by its own measured cost*: it runs again only after
``cost / SCAN_DUTY`` seconds (at most ``SCAN_DUTY`` = 2% of the scheduler's
loop), and the last counts are reused in between.  Groups are the
scheduler's task groups (one per function).  ``done`` is monotone: a group's
finished count (kept by the scheduler across releases) minus what is still
held in memory shows as ``released``.
"""
from __future__ import annotations

import time
import weakref
from typing import Any

__all__ = ["read_snapshot", "stream_since", "scheduler_token", "graph_view"]

_STATES = ("waiting", "queued", "processing", "memory", "erred", "released")
SCAN_DUTY = 0.02
_scans: "weakref.WeakKeyDictionary[Any, tuple[float, float, dict]]" = weakref.WeakKeyDictionary()


def _find_state(server: Any) -> Any:
    """The scheduler's pure state object (has ``tasks``, ``workers``, ``fnames``)."""
    for obj in (server, getattr(server, "state", None), getattr(server, "scheduler", None)):
        if obj is not None and hasattr(obj, "tasks") and hasattr(obj, "fnames"):
            return obj
    return None


def _scan_groups(state: Any) -> dict:
    """``{fid: [released, waiting, queued, processing, memory, erred]}``, throttled."""
    now = time.monotonic()
    prev = _scans.get(state)
    if prev is not None and now < prev[1]:
        return prev[2]
    t0 = time.perf_counter()
    counts: dict = {}
    for ts in list(state.tasks.values()):
        c = counts.get(ts.fid)
        if c is None:
            c = counts[ts.fid] = [0, 0, 0, 0, 0, 0]
        c[ts.state] += 1
    cost = time.perf_counter() - t0
    _scans[state] = (now, now + cost / SCAN_DUTY, counts)
    return counts


def _groups_from_state(state: Any) -> dict:
    names = getattr(state, "fnames", {})
    finished = {fid: d[1] for fid, d in getattr(state, "durations", {}).items()}
    durations = {fid: d[0] for fid, d in getattr(state, "durations", {}).items()}
    counts = _scan_groups(state)
    out: dict = {}
    for fid in set(counts) | set(finished):
        rel, wait, que, proc, mem, err = counts.get(fid, (0, 0, 0, 0, 0, 0))
        done = max(finished.get(fid, 0), mem)
        name = str(names.get(fid, fid))
        g = out.get(name)
        if g is None:
            g = out[name] = {s: 0 for s in _STATES}
            g["duration"] = 0.0
            g["nbytes"] = 0
        g["waiting"] += wait
        g["queued"] += que
        g["processing"] += proc
        g["memory"] += mem
        g["erred"] += err
        g["released"] += done - mem
        g["duration"] += durations.get(fid, 0.0)
    for g in out.values():
        g["total"] = sum(g[s] for s in _STATES)
    return out


def _call(obj: Any, *names: str) -> Any:
    for n in names:
        v = getattr(obj, n, None)
        if v is not None:
            return v() if callable(v) else v
    return None


def _num(d: dict, *names: str, default: float = 0) -> float:
    for n in names:
        v = d.get(n)
        if isinstance(v, (int, float)):
            return v
    return default


def _norm_group(g: dict) -> dict:
    states = g.get("states", g)
    out = {s: int(_num(states, s, "no-worker" if s == "queued" else s)) for s in _STATES}
    if "queued" not in states and "no-worker" in states:
        out["queued"] = int(states["no-worker"])
    out["total"] = int(_num(g, "total", "n_tasks", default=sum(out.values())))
    out["duration"] = float(_num(g, "duration", "compute_time"))
    out["nbytes"] = int(_num(g, "nbytes", "nbytes_total"))
    return out


def _norm_worker(w: dict, address: str | None = None) -> dict:
    mem = w.get("memory", {})
    if not isinstance(mem, dict):
        mem = {"managed": mem}
    out = {
        "address": w.get("address", address),
        "name": str(w.get("name", address)),
        "nthreads": int(_num(w, "nthreads", "ncores", default=1)),
        "cpu": float(_num(w, "cpu", "cpu_percent")),
        "memory_managed": int(_num(mem, "managed", "managed_in_memory") or _num(w, "memory_managed", "nbytes")),
        "memory_unmanaged": int(_num(mem, "unmanaged") or _num(w, "memory_unmanaged")),
        "memory_spilled": int(_num(mem, "spilled", "managed_spilled") or _num(w, "memory_spilled")),
        "memory_limit": int(_num(w, "memory_limit", "limit") or _num(mem, "limit")),
        "memory_rss": int(_num(mem, "rss", "process") or _num(w, "memory_rss", "rss")),
        "processing": int(_num(w, "processing", "n_processing")),
        "in_memory": int(_num(w, "in_memory", "n_memory", "has_what")),
        "executing": int(_num(w, "executing", "n_executing")),
        "last_seen": float(_num(w, "last_seen")),
        "host": w.get("host", ""),
        "pid": w.get("pid"),
    }
    if not out["memory_unmanaged"] and out["memory_rss"]:
        out["memory_unmanaged"] = max(out["memory_rss"] - out["memory_managed"], 0)
    return out


def _norm_event(e: Any, seq: int) -> dict:
    if isinstance(e, (tuple, list)):  # (worker, thread, key, group, start, stop, kind)
        names = ("worker", "thread", "key", "group", "start", "stop", "kind")
        e = dict(zip(names, e))
    key = e.get("key", "")
    group = e.get("group")
    if group is None:
        from shoal.base import key_split

        group = key_split(key)
    return {
        "seq": int(e.get("seq", seq)),
        "worker": str(e.get("worker", "")),
        "thread": e.get("thread", 0),
        "key": str(key),
        "group": str(group),
        "start": float(e.get("start", 0.0)),
        "stop": float(e.get("stop", e.get("start", 0.0))),
        "kind": e.get("kind", "compute"),
    }


def _has_group_states(groups: Any) -> bool:
    if not groups:
        return False
    first = next(iter(groups.values())) if isinstance(groups, dict) else groups[0]
    return isinstance(first, dict) and ("states" in first or "processing" in first)


def read_snapshot(server: Any, with_stream: bool = True) -> dict:
    """The normalised snapshot of ``server`` (see the module docstring)."""
    raw = _call(server, "dashboard_snapshot", "snapshot", "identity_snapshot") or {}
    groups_raw = raw.get("groups")
    state = None
    if not _has_group_states(groups_raw):
        state = _find_state(server)
    if state is not None:
        groups_raw = _groups_from_state(state)
    groups_raw = groups_raw or {}
    if isinstance(groups_raw, list):
        groups_raw = {g.get("name", str(i)): g for i, g in enumerate(groups_raw)}
    workers_raw = raw.get("workers", {}) or {}
    if isinstance(workers_raw, dict):
        workers = [_norm_worker(w, a) for a, w in workers_raw.items()]
    else:
        workers = [_norm_worker(w) for w in workers_raw]
    out = {
        "time": float(raw.get("time", time.time())),
        "groups": {str(k): _norm_group(v) for k, v in groups_raw.items()},
        "workers": sorted(workers, key=lambda w: str(w["name"])),
    }
    events = raw.get("stream", raw.get("task_stream", [])) if with_stream else []
    seq0 = int(raw.get("stream_seq", len(events))) - len(events)
    out["stream"] = [_norm_event(e, seq0 + i) for i, e in enumerate(events)]
    out["stream_seq"] = int(raw.get("stream_seq", seq0 + len(events)))
    return out


def stream_since(snapshot: dict, seq: int, limit: int = 2000) -> list[dict]:
    """Events newer than ``seq`` (at most the newest ``limit``)."""
    evs = [e for e in snapshot["stream"] if e["seq"] >= seq]
    return evs[-limit:]


def scheduler_token(server: Any) -> str | None:
    """The token the scheduler requires of its clients, or None when it requires none."""
    for obj in (server, getattr(server, "security", None)):
        if obj is None:
            continue
        for name in ("token", "_token", "auth_token"):
            v = getattr(obj, name, None)
            if isinstance(v, str) and v:
                return v
    return None


def graph_view(server: Any, limit: int = 5000) -> dict:
    """``{"nodes": [[key, group, state]], "edges": [[i, j]], "total": n}`` of live tasks."""
    fn = getattr(server, "dashboard_graph", None) or getattr(server, "graph_snapshot", None)
    if fn is None:
        return {"nodes": [], "edges": [], "total": 0, "available": False}
    raw = fn(limit) if callable(fn) else fn
    return {"nodes": raw.get("nodes", []), "edges": raw.get("edges", []),
            "total": raw.get("total", len(raw.get("nodes", []))), "available": True}
