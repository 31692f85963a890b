"""The dashboard's HTTP server, running inside the scheduler's asyncio loop.

Pages (``/status``, ``/workers``, ``/graph``, ``/info/worker/<address>``)
are static HTML with inline CSS and JavaScript (no build step, no network
needed).  Live data flows over one server-sent-events stream, ``/api/events``,
which pushes an aggregate update every ``interval`` seconds (0.5 s): task
group counts, worker memory/CPU and only the task-stream events the page has
not seen yet (at most ``STREAM_BATCH`` per update).  The page therefore
stays responsive with 100,000 tasks in flight: it receives aggregates, keeps
a bounded window of events and draws on a canvas.

Cost to the scheduler: nothing while no page is open (an idle listening
socket).  With pages open, one snapshot per interval is shared by every
open page (a snapshot is O(groups + workers + new events)).

Authentication: when the scheduler requires a token, every request must
carry it, either as ``?token=...`` (``client.dashboard_link`` includes it)
or as the ``shoal-dashboard-token`` cookie that a first valid request sets.

Host: by default the interface the scheduler listens on (every interface
when the scheduler listens on all); the token keeps it private either way.

Port: ``address`` like ``":8787"`` or ``"127.0.0.1:8787"``; when the port
is taken the server binds a free one and logs it.  The socket is bound
synchronously in ``serve`` so ``dashboard.port`` is known at once.
"""
from __future__ import annotations

import asyncio
import hmac
import json
import logging
import socket
import time
from typing import Any

from aiohttp import web

from shoal.distributed.dashboard import assets
from shoal.distributed.dashboard.snapshot import (EventLog, graph_view, read_snapshot,
                                                  scheduler_token, stream_since)

logger = logging.getLogger("shoal.distributed.dashboard")

__all__ = ["Dashboard", "serve", "DEFAULT_PORT"]

DEFAULT_PORT = 8787
#: most task-stream events sent in one update; the page keeps a window of them
STREAM_BATCH = 2000
#: most new task-stream events taken per update (an even sample beyond it):
#: bounds the feed's cost on the scheduler's loop however fast tasks finish
STREAM_SAMPLE = 500
COOKIE = "shoal-dashboard-token"


def _parse_address(address: Any, default_host: str) -> tuple[str, int]:
    if address is None or address is True:
        return default_host, DEFAULT_PORT
    if isinstance(address, int):
        return default_host, address
    s = str(address)
    for prefix in ("http://", "https://", "tcp://"):
        if s.startswith(prefix):
            s = s[len(prefix):]
    host, sep, port = s.rpartition(":")
    if not sep:
        host, port = "", s
    host = host.strip("[]") or default_host
    try:
        return host, int(port or DEFAULT_PORT)
    except ValueError:
        raise ValueError(
            f"dashboard_address={address!r} is not understood; expected ':8787', "
            "'127.0.0.1:8787', a port number, or None to disable the dashboard"
        ) from None


def _bind(host: str, port: int) -> socket.socket:
    """Listening socket on ``port``, or on a free port when that one is taken."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    for p in (port, 0):
        sock = socket.socket(family, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, p))
        except OSError:
            sock.close()
            if p == 0:
                raise
            continue
        sock.listen(128)
        sock.setblocking(False)
        if p != port:
            logger.warning("dashboard port %d is taken; serving the dashboard on port %d instead",
                           port, sock.getsockname()[1])
        return sock
    raise AssertionError("unreachable")


class Dashboard:
    """A running dashboard; ``.port``, ``.link(host)``, ``await .close()``."""

    def __init__(self, scheduler: Any, address: Any = ":8787", *, interval: float = 0.5,
                 token: str | None = None, default_host: str | None = None):
        from shoal import config

        self.scheduler = scheduler
        self.interval = interval
        if token is None and config.get("distributed.dashboard.require-token", True):
            token = scheduler_token(scheduler)
        self.token = token or None
        if default_host is None:  # listen where the scheduler listens (every interface if it does)
            listener = getattr(scheduler, "listener", None)
            bound = getattr(listener, "host", None)
            if isinstance(bound, str):
                default_host = bound or "0.0.0.0"
            else:
                default_host = _host_of(getattr(scheduler, "address", None)) or "127.0.0.1"
        host, port = _parse_address(address, default_host)
        self._sock = _bind(host, port)
        self.host = host
        self.port = self._sock.getsockname()[1]
        self.started = time.time()
        self._runner: web.AppRunner | None = None
        self._cache: tuple[float, dict] | None = None
        self._log = EventLog()
        self._ready: asyncio.Future | None = None
        #: time the scheduler's loop spent building and encoding updates: wall
        #: seconds (includes waits for the GIL held by other threads) and CPU
        #: seconds of the loop's thread
        self.busy_s = 0.0
        self.busy_cpu_s = 0.0
        self.app = self._make_app()

    # ---- public -----------------------------------------------------------
    def link(self, host: str | None = None) -> str:
        # listening on every interface: give the address the scheduler advertises, which
        # other hosts can reach (a host name may resolve to loopback there)
        h = host or (self.host if self.host not in ("0.0.0.0", "::", "")
                     else _host_of(getattr(self.scheduler, "address", None)) or socket.gethostname())
        q = f"?token={self.token}" if self.token else ""
        return f"http://{h}:{self.port}/status{q}"

    async def start(self) -> "Dashboard":
        if self._runner is None:
            self._runner = web.AppRunner(self.app, access_log=None, handle_signals=False,
                                         shutdown_timeout=0.5)
            await self._runner.setup()
            await web.SockSite(self._runner, self._sock).start()
            stopped = getattr(self.scheduler, "stopped", None)
            if isinstance(stopped, asyncio.Event):  # close with the scheduler
                self._watch = asyncio.get_running_loop().create_task(self._close_when(stopped))
        return self

    async def _close_when(self, stopped: asyncio.Event) -> None:
        await stopped.wait()
        await self.close()

    def __await__(self):
        return (self._ready if self._ready is not None else self.start()).__await__()

    async def close(self) -> None:
        if self._runner is not None:
            runner, self._runner = self._runner, None
            await runner.cleanup()
        try:
            self._sock.close()
        except OSError:
            pass

    # ---- data -------------------------------------------------------------
    def snapshot(self) -> dict:
        """One shared snapshot per interval, however many pages are open."""
        now = time.monotonic()
        if self._cache is None or now - self._cache[0] >= self.interval * 0.9:
            self._cache = (now, read_snapshot(self.scheduler, log=self._log,
                                              stream_limit=STREAM_SAMPLE))
        return self._cache[1]

    # ---- HTTP -------------------------------------------------------------
    def _make_app(self) -> web.Application:
        app = web.Application(middlewares=[self._auth])
        r = app.router
        r.add_get("/", self._root)
        r.add_get("/status", self._page("status"))
        r.add_get("/workers", self._page("workers"))
        r.add_get("/graph", self._page("graph"))
        r.add_get("/info/worker/{address:.*}", self._page("worker"))
        r.add_get("/api/snapshot", self._api_snapshot)
        r.add_get("/api/events", self._api_events)
        r.add_get("/api/graph", self._api_graph)
        r.add_get("/health", self._health)
        r.add_get("/favicon.ico", self._health)
        return app

    @web.middleware
    async def _auth(self, request: web.Request, handler: Any) -> web.StreamResponse:
        if not self.token or request.path in ("/health", "/favicon.ico"):
            return await handler(request)
        given = request.query.get("token") or request.cookies.get(COOKIE, "")
        if not hmac.compare_digest(given.encode(), self.token.encode()):
            return web.Response(
                status=401, content_type="text/plain",
                text="This dashboard requires the cluster's token. Open the link printed by "
                     "`client.dashboard_link` (it ends in ?token=...), or add ?token=<token> to "
                     "the URL.\n")
        resp = await handler(request)
        if request.query.get("token") and isinstance(resp, web.Response):
            resp.set_cookie(COOKIE, self.token, httponly=True, samesite="Strict")
        return resp

    async def _root(self, request: web.Request) -> web.Response:
        raise web.HTTPFound("/status" + _qs(request))

    async def _health(self, request: web.Request) -> web.Response:
        return web.Response(text="ok") if request.path == "/health" else web.Response(status=204)

    def _page(self, name: str):
        async def handler(request: web.Request) -> web.Response:
            extra = {"page": name, "interval": self.interval}
            if name == "worker":
                extra["worker"] = request.match_info["address"]
            return web.Response(text=assets.page(name, extra), content_type="text/html")
        return handler

    async def _api_snapshot(self, request: web.Request) -> web.Response:
        return web.json_response(self.snapshot(), dumps=_dumps)

    async def _api_graph(self, request: web.Request) -> web.Response:
        limit = min(int(request.query.get("limit", 5000)), 20000)
        return web.json_response(graph_view(self.scheduler, limit), dumps=_dumps)

    async def _api_events(self, request: web.Request) -> web.StreamResponse:
        resp = web.StreamResponse(headers={"Content-Type": "text/event-stream",
                                           "Cache-Control": "no-cache", "X-Accel-Buffering": "no"})
        await resp.prepare(request)
        seq = -1
        try:
            while True:
                t0, c0 = time.perf_counter(), time.thread_time()
                snap = self.snapshot()
                new = stream_since(snap, seq + 1, STREAM_BATCH)
                if seq < 0:  # a fresh page gets the recent window only
                    new = new[-STREAM_BATCH:]
                if new:
                    seq = new[-1]["seq"]
                msg = {"time": snap["time"], "started": self.started, "groups": snap["groups"],
                       "workers": snap["workers"], "stream": new}
                data = b"data: " + _dumps(msg).encode() + b"\n\n"
                self.busy_s += time.perf_counter() - t0
                self.busy_cpu_s += time.thread_time() - c0
                await resp.write(data)
                await asyncio.sleep(self.interval)
        except (ConnectionResetError, asyncio.CancelledError, RuntimeError):
            pass
        return resp


def _host_of(address: Any) -> str | None:
    if not isinstance(address, str) or "://" not in address:
        return None
    hostport = address.split("://", 1)[1]
    host = hostport.rpartition(":")[0].strip("[]")
    return host or None


def _qs(request: web.Request) -> str:
    return ("?" + request.query_string) if request.query_string else ""


def _dumps(obj: Any) -> str:
    return json.dumps(obj, separators=(",", ":"), default=str)


def serve(scheduler: Any, address: Any = ":8787", **kwargs: Any) -> Dashboard:
    """Start a dashboard for ``scheduler`` on its running event loop.

    Binds the port at once (a free one if ``address``'s is taken) and starts
    serving on the running loop; ``await serve(...)`` waits until it accepts
    connections.  Called without a running loop it only binds: ``await
    dashboard.start()`` later from the loop.
    """
    dash = Dashboard(scheduler, address, **kwargs)
    if hasattr(scheduler, "dashboard_link"):  # the scheduler hands this link to clients
        scheduler.dashboard_link = dash.link()
    scheduler.dashboard = dash
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:
        return dash
    dash._ready = loop.create_task(dash.start())
    return dash
