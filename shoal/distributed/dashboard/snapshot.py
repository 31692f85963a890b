"""Read the scheduler's state into the dashboard's one JSON shape.

The scheduler server exposes a JSON-able snapshot (task groups, workers,
and a bounded buffer of recent task-stream events).  This module is the only
place that knows where those live on the server, and turns them into::

    {"time": epoch seconds,
     "groups": {name: {"waiting", "queued", "processing", "memory", "erred",
                       "released", "total", "duration", "nbytes"}},
     "workers": [{"address", "name", "nthreads", "cpu", "memory_managed",
                  "memory_unmanaged", "memory_spilled", "memory_limit",
                  "processing", "in_memory", "executing", "last_seen", "shuffle"}],
     "stream": [{"seq", "worker", "thread", "key", "group", "start", "stop",
                 "kind"}],          # kind: compute | transfer | spill | error
     "stream_seq": total number of events ever recorded}

so the pages, the SSE feed and ``performance_report`` need not change when
the scheduler's internals do.

Per-group state counts: when the scheduler's snapshot has only global counts
(its task groups carry finished counts and durations), the counts are taken
by one pass over the task table.  That pass is the only O(tasks) step, so it
is *throttled by its own measured cost*: it runs again only after
``cost / SCAN_DUTY`` seconds (at most ``SCAN_DUTY`` = 1% of the scheduler's
loop), and the last counts are reused in between.  Groups are the
scheduler's task groups (one per function).  ``done`` is monotone: a group's
finished count (kept by the scheduler across releases) minus what is still
held in memory shows as ``released``.
"""
from __future__ import annotations

import time
import weakref
from typing import Any

__all__ = ["read_snapshot", "stream_since", "scheduler_token", "graph_view", "EventLog", "server_events"]

_STATES = ("waiting", "queued", "processing", "memory", "erred", "released")
SCAN_DUTY = 0.01
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
    if isinstance(w.get("metrics"), dict):  # heartbeat metrics sit beside the scheduler's view
        w = {**w["metrics"], **{k: v for k, v in w.items() if k != "metrics"}}
    mem = w.get("memory", {})
    if not isinstance(mem, dict):
        mem = {"managed": mem}
    out = {
        "address": w.get("address", address),
        "name": str(w.get("name", address)),
        "nthreads": int(_num(w, "nthreads", "ncores", default=1)),
        "cpu": float(_num(w, "cpu", "cpu_percent")),
        "memory_managed": int(_num(mem, "managed", "managed_in_memory")
                              or _num(w, "memory_managed", "managed", "nbytes")),
        "memory_unmanaged": int(_num(mem, "unmanaged") or _num(w, "memory_unmanaged", "unmanaged")),
        "memory_spilled": int(_num(mem, "spilled", "managed_spilled")
                              or _num(w, "memory_spilled", "spilled")),
        "memory_limit": int(_num(w, "memory_limit", "limit") or _num(mem, "limit")),
        "memory_rss": int(_num(mem, "rss", "process") or _num(w, "memory_rss", "rss")),
        "processing": int(_num(w, "processing", "n_processing")),
        "in_memory": int(_num(w, "in_memory", "n_memory", "n_keys", "has_what")),
        "executing": int(_num(w, "executing", "n_executing")),
        "last_seen": float(_num(w, "last_seen")),
        "host": w.get("host", ""),
        "pid": w.get("pid"),
        "shuffle": str(w.get("shuffle") or ""),  # running shuffle steps and their sizes
    }
    if not out["memory_unmanaged"] and out["memory_rss"]:
        out["memory_unmanaged"] = max(out["memory_rss"] - out["memory_managed"], 0)
    return out


_group_cache: dict[str, str] = {}


def group_of(key: Any) -> str:
    """``key_split(key)``, memoised on the part before a trailing token.

    ``inc-8cc800ac...`` and ``inc-90aa43bb...`` share the head ``inc``; when
    the last dash-part is token-like the group depends on the head only, so
    one ``key_split`` per head serves every key of a task group.
    """
    from shoal.utils import is_token_like, key_split

    s = key[0] if type(key) is tuple else key
    if type(s) is not str:
        return key_split(key)
    head, sep, tail = s.rpartition("-")
    if sep and is_token_like(tail):
        g = _group_cache.get(head)
        if g is None:
            g = key_split(s)
            if g == s:  # no name part (the key starts with a token): the group is the whole key
                return g
            if len(_group_cache) > 10000:
                _group_cache.clear()
            _group_cache[head] = g
        return g
    return key_split(key)


def _norm_event(e: Any, seq: int) -> dict:
    if isinstance(e, (tuple, list)):  # (worker, thread, key, group, start, stop, kind)
        names = ("worker", "thread", "key", "group", "start", "stop", "kind")
        e = dict(zip(names, e))
    key = e.get("key", "")
    group = e.get("group")
    if group is None:
        group = group_of(key)
    return {
        "seq": int(e.get("seq", seq)),
        "worker": str(e.get("worker", "")),
        "thread": e.get("thread", 0),
        "key": str(key),
        "group": str(group),
        "start": float(e.get("start") or e.get("stop") or 0.0),
        "stop": float(e.get("stop") or e.get("start") or 0.0),
        "kind": e.get("kind") or ("error" if e.get("state") in ("erred", "error") else "compute"),
    }


def _has_group_states(groups: Any) -> bool:
    if not groups:
        return False
    first = next(iter(groups.values())) if isinstance(groups, dict) else groups[0]
    return isinstance(first, dict) and ("states" in first or "processing" in first)


class EventLog:
    """Sequence numbers and thread lanes for a scheduler's task-event deque.

    The scheduler appends ``(key, worker, start, stop, state)`` tuples to a
    bounded deque.  ``take_new`` walks it from the newest end back to the
    newest tuple seen last time (identity, so O(new events)) and returns the
    new raw tuples; it is the only part that must run on the scheduler's
    loop.  ``add`` numbers them and places each on a *lane* of its worker:
    the first lane whose last task ended before this one started.  Lanes
    stand for the worker's threads (tasks never overlap on one thread), so
    the task stream has one row per thread without workers reporting
    thread ids.

    ``add(raw, limit=n)`` keeps a sample of about ``n`` of them (whole time
    slices, see ``_sample``): at 20,000 tasks/s a live page cannot show every
    task anyway, and
    the cost per update stays bounded (the dashboard's share of the
    scheduler's loop stays O(1) per task).  Each consumer (a dashboard, a report)
    keeps its own log.
    """

    def __init__(self, maxlen: int = 10000):
        self.seq = 0
        self.seen = 0  # raw events taken, sampled or not
        self.last: Any = None
        self.buffer: list[dict] = []
        self.maxlen = maxlen
        self.lanes: dict[str, list[float]] = {}
        #: threads per worker address: no more lanes than threads (clock skew
        #: between hosts could otherwise open a lane per overlapping task)
        self.nthreads: dict[str, int] = {}
        self.worker_seq: dict[str, int] = {}

    def take_worker_events(self, workers_raw: Any) -> list:
        """New transfer/spill events that workers report with their heartbeats.

        Each worker sends its recent ``(seq, kind, label, start, stop)``
        events with every heartbeat; the ones with a sequence number above
        the last seen for that worker are new.
        """
        out = []
        items = workers_raw.items() if isinstance(workers_raw, dict) else (
            (w.get("address"), w) for w in workers_raw)
        for addr, w in items:
            metrics = w.get("metrics") if isinstance(w, dict) else None
            evs = (metrics or {}).get("stream") or (w.get("stream") if isinstance(w, dict) else None)
            if not evs:
                continue
            last = self.worker_seq.get(addr, 0)
            for seq, kind, label, start, stop in evs:
                if seq > last:
                    out.append((label, addr, start, stop, kind))
                    last = seq
            self.worker_seq[addr] = last
        return out

    def take_new(self, events: Any) -> list:
        new = []
        last = self.last
        for e in reversed(events):
            if e is last:
                break
            new.append(e)
        if new:
            self.last = new[0]
            new.reverse()
        return new

    def add(self, raw: list, limit: int | None = None) -> list[dict]:
        """Number and place ``raw`` events (a sample of ``limit``); returns the added ones."""
        self.seen += len(raw)
        if limit is not None and len(raw) > limit:
            raw = _sample(raw, limit)
        now = time.time()
        added = [self._add(e, now) for e in raw]
        if len(self.buffer) > self.maxlen:
            del self.buffer[: len(self.buffer) - self.maxlen]
        return added

    def update(self, events: Any, limit: int | None = None) -> list[dict]:
        return self.add(self.take_new(events), limit)

    def _add(self, e: Any, now: float) -> dict:
        if isinstance(e, dict):
            ev = _norm_event(e, self.seq)
        else:
            key, worker, start, stop, state = (tuple(e) + (None,) * 5)[:5]
            stop = stop if stop is not None else now
            start = start if start is not None else stop
            kind = "error" if state in ("erred", "error") else (
                state if state in ("transfer", "spill") else "compute")
            # transfers and spills are drawn in their own colours: grouped by kind
            group = kind if kind in ("transfer", "spill") else group_of(key)
            ev = {"seq": self.seq, "worker": str(worker), "thread": 0, "key": str(key),
                  "group": group, "start": float(start), "stop": float(stop), "kind": kind}
        ev["seq"] = self.seq
        self.seq += 1
        if ev["kind"] == "compute" or ev["kind"] == "error":
            lanes = self.lanes.setdefault(ev["worker"], [])
            for i, end in enumerate(lanes):
                if end <= ev["start"] + 1e-4:
                    lanes[i] = ev["stop"]
                    ev["thread"] = i
                    break
            else:
                if len(lanes) < self.nthreads.get(ev["worker"], 1 << 30):
                    lanes.append(ev["stop"])
                    ev["thread"] = len(lanes) - 1
                else:  # every thread busy: the one that frees first
                    i = min(range(len(lanes)), key=lanes.__getitem__)
                    lanes[i] = max(lanes[i], ev["stop"])
                    ev["thread"] = i
        self.buffer.append(ev)
        return ev


def _sample(raw: list, limit: int) -> list:
    """About ``limit`` of ``raw``: every event of every k-th 20 ms time slice.

    Whole slices (not every k-th event) are kept so that, within a kept
    slice, tasks running side by side on a worker's threads are all there
    and land on their own lanes; errors, transfers and spills are always kept.
    """
    k = -(-len(raw) // limit)
    out = []
    for e in raw:
        if isinstance(e, dict):
            stop, state = e.get("stop"), e.get("kind") or e.get("state")
        else:
            stop, state = (e[3] if len(e) > 3 else None), (e[4] if len(e) > 4 else None)
        if stop is None or state in ("erred", "error", "transfer", "spill") or int(stop * 50) % k == 0:
            out.append(e)
    return out


def server_events(server: Any) -> Any:
    """The scheduler server's task-event deque, or None when it keeps none."""
    events = getattr(server, "events", None)
    return events if events is not None and hasattr(events, "__reversed__") else None


def read_snapshot(server: Any, with_stream: bool = True, log: EventLog | None = None,
                  stream_limit: int | None = None) -> dict:
    """The normalised snapshot of ``server`` (see the module docstring).

    ``log`` (the caller's own ``EventLog``) turns the server's event deque
    into the ``stream``, sampled to ``stream_limit`` new events per call.
    """
    state = _find_state(server)
    if state is not None and state is not server and server_events(server) is not None:
        # the task stream comes from the event deque: skip the server's copy of it
        raw = _call(state, "snapshot") or {}
    else:
        raw = _call(server, "dashboard_snapshot", "snapshot") or {}
    groups_raw = raw.get("groups")
    if state is not None and not _has_group_states(groups_raw):
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
    events = server_events(server) if with_stream else None
    if events is not None:
        if log is None:
            log = EventLog()
        for w in workers:
            log.nthreads[str(w["address"])] = w["nthreads"]
        log.add(log.take_new(events) + log.take_worker_events(workers_raw), stream_limit)
        out["stream"] = log.buffer
        out["stream_seq"] = log.seq
        return out
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
    """``{"nodes": [[key, group, state]], "edges": [[i, j]], "total": n}`` of live tasks.

    Read from the scheduler's task table: the first ``limit`` tasks (in the
    order they were submitted) and the edges among them.  O(limit + edges).
    """
    fn = getattr(server, "dashboard_graph", None)
    if callable(fn):
        raw = fn(limit)
        return {"nodes": raw.get("nodes", []), "edges": raw.get("edges", []),
                "total": raw.get("total", len(raw.get("nodes", []))), "available": True}
    state = _find_state(server)
    if state is None:
        return {"nodes": [], "edges": [], "total": 0, "available": False}
    return {**state.graph_sketch(limit), "available": True}
