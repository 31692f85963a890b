"""TCP/TLS connections carrying batched, framed messages (asyncio).

Data flow for one connection::

    send(msg) -> outgoing list -> (one call_soon per loop turn) -> pickle the
    whole list -> frames -> transport.writelines      [no per-message syscalls]

    a frame of _BIG_WRITE bytes or more is written in _SLICE pieces, each only
    once the transport's buffer is empty (write limits high=low=0 make asyncio
    report that through pause/resume_writing), so a large array goes from its
    own memory to the socket instead of being copied whole into asyncio's
    write buffer first; later messages queue behind it, keeping order.

    socket -> BufferedProtocol.get_buffer (64 KiB scratch, or a dedicated
    bytearray for a large payload, read into directly) -> frames (memoryview
    slices, no copies) -> on_messages(comm, [msg, ...])

The first exchange is the msgpack handshake of ``protocol.auth``; until it
succeeds incoming payloads are at most ``HANDSHAKE_MAX`` bytes and are only
ever parsed as msgpack.  Any framing, header or unpickling error closes this
one connection with a log line; listeners keep serving everyone else.
"""
from __future__ import annotations

import asyncio
import collections
import logging
from typing import Any, Callable

from shoal import config
from shoal.distributed.protocol import auth
from shoal.distributed.exceptions import NotShoalPeer, ProtocolError, VersionMismatch
from shoal.distributed.protocol.frames import HANDSHAKE_MAX, PREFIX, pack_frames, unpack_frames
from shoal.distributed.protocol.serialize import dumps_messages, loads_messages

logger = logging.getLogger("shoal.distributed.comm")

_SCRATCH = 1 << 16
_BIG_WRITE = 1 << 20
_SLICE = 1 << 20
HANDSHAKE_TIMEOUT = 10.0


def max_payload() -> int:
    return int(config.get("distributed.comm.max-frame-bytes", 4 << 30))


def parse_address(address: str, default_port: int = 8786) -> tuple[str, str, int]:
    """``'tcp://h:p'`` -> ``('tcp', 'h', p)``; accepts ``h:p``, ``:p``, ``tls://h:p``."""
    if not isinstance(address, str):
        raise TypeError(f"an address is a string like 'tcp://127.0.0.1:8786', got {address!r}")
    scheme = "tcp"
    rest = address
    if "://" in address:
        scheme, rest = address.split("://", 1)
    if scheme not in ("tcp", "tls"):
        raise ValueError(f"address {address!r} has scheme {scheme!r}; use tcp:// or tls://")
    if rest.startswith("["):  # [ipv6]:port
        host, _, port = rest[1:].partition("]")
        port = port.lstrip(":")
    elif rest.count(":") == 1:
        host, port = rest.split(":")
    else:
        host, port = rest, ""
    return scheme, host, int(port) if port else default_port


class Comm(asyncio.BufferedProtocol):
    """One framed, authenticated, batching connection."""

    def __init__(self, name: str = ""):
        self.name = name
        self.transport: Any = None
        self.peer = "?"
        self.loop = asyncio.get_running_loop()
        self.closed = False
        self.authenticated = False
        self._scratch = bytearray(_SCRATCH)
        self._n = 0
        self._big: bytearray | None = None
        self._big_n = 0
        self._limit = HANDSHAKE_MAX
        self._hs: collections.deque = collections.deque()
        self._hs_waiter: asyncio.Future | None = None
        self._hs_error: Exception | None = None  # why the connection failed before authenticating
        self._on_messages: Callable | None = None
        self._out: list = []
        self._flush_pending = False
        self._wq: collections.deque = collections.deque()  # writes waiting behind a large frame
        self._paused = False
        self._close_when_drained = False
        self._close_callbacks: list = []
        self.closed_future: asyncio.Future = self.loop.create_future()
        self.info: dict = {}  # free slot for servers (client id, worker address)

    # ---- asyncio protocol -------------------------------------------
    def connection_made(self, transport: Any) -> None:
        self.transport = transport
        if transport.get_extra_info("sslcontext") is None:
            # plain TCP: pause_writing as soon as anything is buffered (TLS copies to encrypt anyway)
            transport.set_write_buffer_limits(high=0)
        peer = transport.get_extra_info("peername")
        self.peer = f"{peer[0]}:{peer[1]}" if peer else "?"

    def connection_lost(self, exc: Exception | None) -> None:
        self._wq.clear()  # nothing more can be sent: let large buffers go
        self._mark_closed()

    def pause_writing(self) -> None:
        self._paused = True

    def resume_writing(self) -> None:
        self._paused = False
        self._pump()

    def get_buffer(self, sizehint: int) -> memoryview:
        if self._big is not None:
            return memoryview(self._big)[self._big_n:]
        if self._n == len(self._scratch):
            self._scratch.extend(bytes(len(self._scratch)))
        return memoryview(self._scratch)[self._n:]

    def buffer_updated(self, nbytes: int) -> None:
        try:
            if self._big is not None:
                self._big_n += nbytes
                if self._big_n == len(self._big):
                    big, self._big = self._big, None
                    self._deliver(memoryview(big))
                return
            self._n += nbytes
            self._parse()
        except Exception as e:
            self._fail(e)

    def _parse(self) -> None:
        buf = self._scratch
        pos = 0
        n = self._n
        while n - pos >= 8 and not self.closed:
            (length,) = PREFIX.unpack_from(buf, pos)
            if length > self._limit:
                if not self.authenticated:
                    raise NotShoalPeer(
                        f"{self.peer} does not speak shoal's protocol: its first bytes "
                        f"{bytes(buf[pos:min(n, pos + 24)])!r} are not a shoal handshake. Another program "
                        "listens on that port (a Dask scheduler also uses 8786, or a web server); "
                        "check the address, e.g. in the scheduler file or `shoal scheduler` output")
                raise ProtocolError(f"frame of {length} bytes exceeds the limit of {self._limit}")
            start = pos + 8
            if n - start >= length:
                self._deliver(memoryview(bytearray(buf[start:start + length])))
                pos = start + length
                continue
            if length > _SCRATCH // 2:
                # a large payload: read the rest straight into its own buffer
                big = bytearray(length)
                have = n - start
                big[:have] = buf[start:n]
                self._big, self._big_n = big, have
                pos = n
            break
        if pos:
            rest = n - pos
            buf[:rest] = buf[pos:n]
            self._n = rest
            if len(buf) > _SCRATCH and rest < _SCRATCH:
                del buf[_SCRATCH:]

    def _deliver(self, payload: memoryview) -> None:
        if not self.authenticated:
            self._hs.append(bytes(payload))
            w = self._hs_waiter
            if w is not None and not w.done():
                w.set_result(None)
            return
        frames = unpack_frames(payload)
        msgs = loads_messages(frames)
        handler = self._on_messages
        if handler is not None:
            try:
                handler(self, msgs)
            except Exception:
                logger.exception("error handling messages from %s", self.peer)

    def _fail(self, exc: Exception) -> None:
        if not self.authenticated and self._hs_error is None:
            self._hs_error = exc  # the handshake raises it rather than "connection closed"
        logger.warning("closing connection %s from %s: %s: %s", self.name, self.peer, type(exc).__name__, exc)
        self.abort()

    # ---- sending -------------------------------------------------------
    def send(self, msg: dict) -> None:
        """Queue ``msg``; all messages queued in one loop turn go as one frame."""
        if self.closed:
            return
        self._out.append(msg)
        if not self._flush_pending:
            self._flush_pending = True
            self.loop.call_soon(self._flush)

    def send_many(self, msgs: list) -> None:
        if self.closed or not msgs:
            return
        self._out.extend(msgs)
        if not self._flush_pending:
            self._flush_pending = True
            self.loop.call_soon(self._flush)

    def _flush(self) -> None:
        self._flush_pending = False
        msgs, self._out = self._out, []
        if self.closed or not msgs:
            return
        try:
            frames = dumps_messages(msgs)
        except Exception:
            logger.exception("could not serialise %d messages for %s", len(msgs), self.peer)
            return
        bufs = pack_frames(frames)
        if len(bufs) == 1:
            self._write(bufs[0])  # the common small batch: one write
            return
        small: list = []
        size = 0
        for b in bufs:
            mv = memoryview(b)
            n = mv.nbytes
            if n < _BIG_WRITE:
                small.append(b)
                size += n
                if size >= _BIG_WRITE:  # join small frames in bounded pieces, never one huge copy
                    self._write(b"".join(small))
                    small, size = [], 0
                continue
            if small:
                self._write(b"".join(small))
                small, size = [], 0
            self._wq.append(mv.cast("B") if mv.format != "B" or mv.ndim != 1 else mv)
        if small:
            self._write(b"".join(small))
        self._pump()

    def _write(self, b: Any) -> None:
        if self._wq or self._paused:
            self._wq.append(memoryview(b))  # sliced later without copying
        else:
            self.transport.write(b)

    def _pump(self) -> None:
        """Write queued buffers, a slice at a time, while the transport keeps up."""
        wq = self._wq
        tr = self.transport
        if tr is None:
            return
        while wq and not self._paused and not tr.is_closing():
            b = wq[0]
            if len(b) > _SLICE:
                wq[0] = b[_SLICE:]
                b = b[:_SLICE]
            else:
                wq.popleft()
            tr.write(b)
        if not wq and self._close_when_drained:
            self._close_when_drained = False
            # not from inside resume_writing: asyncio is still finishing its write there
            self.loop.call_soon(self._close_transport)

    def _close_transport(self) -> None:
        if self.transport is not None and not self.transport.is_closing():
            self.transport.close()

    def _send_raw(self, payload: bytes) -> None:
        self._write(PREFIX.pack(len(payload)) + payload)

    # ---- handshake -----------------------------------------------------
    async def _next_hs(self, op: str, timeout: float = HANDSHAKE_TIMEOUT) -> dict:
        while not self._hs:
            if self.closed:
                if self._hs_error is not None:
                    raise self._hs_error
                raise ConnectionError(f"connection to {self.peer} closed during the handshake")
            self._hs_waiter = self.loop.create_future()
            done, _ = await asyncio.wait([self._hs_waiter, self.closed_future], timeout=timeout,
                                         return_when=asyncio.FIRST_COMPLETED)
            if not done:
                raise TimeoutError(f"handshake with {self.peer} timed out")
        return auth.decode(self._hs.popleft(), op)

    async def server_handshake(self, token: str) -> None:
        s_nonce = auth.new_nonce()
        self._send_raw(auth.encode({"op": "hello", "v": auth.PROTOCOL_VERSION, "nonce": s_nonce}))
        msg = await self._next_hs("auth")
        c_nonce = msg["nonce"]
        import hmac as _hmac

        if not _hmac.compare_digest(msg["mac"], auth.mac(token, b"client", s_nonce, c_nonce)):
            self._send_raw(auth.encode({"op": "denied", "reason": "wrong token"}))
            raise PermissionError("client presented a wrong token")
        self._authenticate()
        self._send_raw(auth.encode({"op": "welcome", "mac": auth.mac(token, b"server", c_nonce, s_nonce)}))

    async def client_handshake(self, token: str, timeout: float = HANDSHAKE_TIMEOUT) -> None:
        """Authenticate to a server; ``NotShoalPeer`` when something else answers.

        A shoal server greets first, at once: a peer silent for ``timeout``
        seconds, or whose first message is not a shoal greeting, is not one.
        """
        import hmac as _hmac

        try:
            msg = await self._next_hs("hello", timeout)
        except TimeoutError:
            raise NotShoalPeer(
                f"{self.peer} accepted the connection but sent no shoal greeting within {timeout:.3g}s: "
                "it is not a shoal scheduler or worker (another program, e.g. a web server, listens "
                "there) or it is too busy to answer; check the address") from None
        except VersionMismatch:
            raise
        except ProtocolError as e:
            if isinstance(e, NotShoalPeer):
                raise
            raise NotShoalPeer(f"{self.peer} does not speak shoal's protocol ({e}): another program "
                               "listens on that port; check the address") from None
        s_nonce = msg["nonce"]
        c_nonce = auth.new_nonce()
        self._send_raw(auth.encode({"op": "auth", "v": auth.PROTOCOL_VERSION, "nonce": c_nonce,
                                    "mac": auth.mac(token, b"client", s_nonce, c_nonce)}))
        msg = await self._next_hs("welcome")
        if not _hmac.compare_digest(msg["mac"], auth.mac(token, b"server", c_nonce, s_nonce)):
            raise PermissionError("the server does not know the token (wrong server or token)")
        self._authenticate()

    def _authenticate(self) -> None:
        self._limit = max_payload()
        self.authenticated = True

    def start(self, on_messages: Callable) -> None:
        """Begin delivering message batches to ``on_messages(comm, msgs)``."""
        self._on_messages = on_messages
        pending = list(self._hs)
        self._hs.clear()
        for p in pending:  # messages that arrived right behind the handshake
            try:
                self._deliver(memoryview(bytearray(p)))
            except Exception as e:
                self._fail(e)
                return

    # ---- closing -------------------------------------------------------
    def on_close(self, cb: Callable) -> None:
        if self.closed:
            self.loop.call_soon(cb, self)
        else:
            self._close_callbacks.append(cb)

    def _mark_closed(self) -> None:
        if self.closed:
            return
        self.closed = True
        if not self.closed_future.done():
            self.closed_future.set_result(None)
        w = self._hs_waiter
        if w is not None and not w.done():
            w.set_result(None)
        cbs, self._close_callbacks = self._close_callbacks, []
        for cb in cbs:
            try:
                cb(self)
            except Exception:
                logger.exception("close callback failed for %s", self.peer)

    def close(self) -> None:
        """Flush queued messages, then close."""
        if self.closed:
            return
        if self._out:
            self._flush()
        if self.transport is not None:
            if self._wq:
                self._close_when_drained = True  # _pump closes it after the last slice
            else:
                self.transport.close()
        self._mark_closed()

    def abort(self) -> None:
        if self.transport is not None:
            self.transport.abort()
        self._mark_closed()

    def __repr__(self) -> str:
        return f"<Comm {self.name} peer={self.peer} {'closed' if self.closed else 'open'}>"


def _token_of(security: Any) -> str:
    tok = getattr(security, "token", None)
    if not tok:
        raise PermissionError(
            "no token to authenticate with: pass security=Security(token=...), set SHOAL_TOKEN, "
            "or use --scheduler-file written by `shoal scheduler`"
        )
    return tok


async def connect(address: str, security: Any, name: str = "", timeout: float = 10.0) -> Comm:
    """Open, authenticate and return a Comm (not yet started)."""
    scheme, host, port = parse_address(address)
    loop = asyncio.get_running_loop()
    ctx = security.ssl_context(server=False) if scheme == "tls" else None
    if ctx is None and security is not None and getattr(security, "require_encryption", False):
        raise ValueError(f"this Security requires encryption; use tls://{host}:{port} instead of {address}")
    token = _token_of(security)
    deadline = loop.time() + timeout
    delay = 0.05
    while True:
        # retried until the deadline: refused or reset connections, and handshakes cut short
        # (a scheduler restarting on the same address); a wrong token is final
        try:
            _, comm = await asyncio.wait_for(
                loop.create_connection(lambda: Comm(name), host or "127.0.0.1", port, ssl=ctx),
                timeout=max(0.1, deadline - loop.time()),
            )
            if _self_connected(comm):
                # nobody listens on a local ephemeral port and the kernel connected the
                # socket to itself (TCP simultaneous open): that is "refused"
                comm.abort()
                raise ConnectionRefusedError(f"nothing listens at {host}:{port}")
            try:
                await comm.client_handshake(token, max(0.1, min(HANDSHAKE_TIMEOUT, deadline - loop.time())))
            except BaseException:
                comm.abort()
                raise
            return comm
        except (PermissionError, NotShoalPeer):
            raise
        except (OSError, asyncio.TimeoutError) as e:   # ConnectionError and TimeoutError are OSErrors
            if loop.time() + delay > deadline:
                raise OSError(f"could not connect to {address} within {timeout:.0f}s: {e}") from None
            await asyncio.sleep(delay)
            delay = min(delay * 2, 1.0)


def _self_connected(comm: Comm) -> bool:
    t = comm.transport
    if t is None:
        return False
    try:
        return t.get_extra_info("sockname") == t.get_extra_info("peername")
    except Exception:
        return False


class Listener:
    """A listening socket whose authenticated connections go to ``on_comm``.

    ``host`` is what the socket is bound to ('' for every interface);
    ``address`` is what others should connect to: ``contact_address`` when
    given, the bound host when it is a concrete address, else this host's
    routable address (never a loopback name other hosts cannot use).
    """

    def __init__(self, server: Any, scheme: str, host: str, contact_address: str | None = None):
        from shoal.distributed.comm.addressing import advertised_host

        self.server = server
        sock = server.sockets[0]
        self.port = sock.getsockname()[1]
        self.host = host
        self.scheme = scheme
        if contact_address and "://" in contact_address:
            self.address = contact_address
        elif contact_address and ":" in contact_address:
            self.address = f"{scheme}://{contact_address}"
        else:
            self.address = f"{scheme}://{advertised_host(host, None, contact_address)}:{self.port}"

    def close(self) -> None:
        self.server.close()


class RefusalLog:
    """Log refused connections at most once per peer host per ``interval`` seconds, with a count.

    A flood of bad connections (port scanners, a worker with the wrong
    token in a restart loop) would otherwise write one line each.
    """

    def __init__(self, name: str, interval: float = 10.0, max_peers: int = 1024):
        self.name = name
        self.interval = interval
        self.max_peers = max_peers
        self._peers: dict = {}  # host -> [time of last line, refusals not yet logged]

    def refused(self, peer: str, reason: Any, now: float | None = None) -> bool:
        """Count one refusal from ``peer`` ('host:port'); return True when a line was logged."""
        import time as _time

        now = _time.monotonic() if now is None else now
        host = peer.rpartition(":")[0] or peer
        entry = self._peers.get(host)
        if entry is not None and now - entry[0] < self.interval:
            entry[1] += 1
            return False
        suppressed = entry[1] if entry is not None else 0
        if entry is None and len(self._peers) >= self.max_peers:
            # bounded memory under a flood from many hosts: forget quiet ones
            for h in [h for h, e in self._peers.items() if now - e[0] >= self.interval]:
                self._peers.pop(h, None)
        self._peers[host] = [now, 0]
        more = f" (and {suppressed} more refused from {host} in the last {self.interval:.0f}s)" if suppressed else ""
        logger.warning("%s: refused connection from %s: %s%s", self.name, peer, reason, more)
        return True


async def listen(address: str, on_comm: Callable, security: Any, name: str = "",
                 contact_address: str | None = None) -> Listener:
    """Listen on ``address``; each connection is authenticated, then ``on_comm(comm)``.

    ``contact_address`` (``host``, ``host:port`` or a full address) is what
    the listener advertises instead of the address found for this host.
    """
    scheme, host, port = parse_address(address, default_port=0)
    loop = asyncio.get_running_loop()
    ctx = security.ssl_context(server=True) if scheme == "tls" else None
    token = _token_of(security)
    refusals = RefusalLog(name, float(config.get("distributed.comm.refusal-log-interval", 10.0)))

    async def handshake(comm: Comm) -> None:
        try:
            await comm.server_handshake(token)
        except Exception as e:
            refusals.refused(comm.peer, e)
            comm.abort()
            return
        on_comm(comm)

    def factory() -> Comm:
        comm = Comm(name)
        orig = comm.connection_made

        def made(transport: Any) -> None:
            orig(transport)
            loop.create_task(handshake(comm))

        comm.connection_made = made  # type: ignore[method-assign]
        return comm

    server = await loop.create_server(factory, host or "0.0.0.0", port, ssl=ctx, reuse_address=True)
    listener = Listener(server, scheme, host, contact_address)
    listener.refusals = refusals  # type: ignore[attr-defined]
    return listener
