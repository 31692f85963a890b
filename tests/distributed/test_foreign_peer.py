"""Connecting to a port where another protocol answers fails fast and says so."""
from __future__ import annotations

import http.server
import socket
import struct
import threading
import time

import pytest

from shoal.distributed import Client, Security
from shoal.distributed.exceptions import NotShoalPeer

TOKEN = Security(token="t" * 32)


class _Server:
    """A thread accepting connections and handing each to ``serve(conn)``."""

    def __init__(self, serve):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.port = self.sock.getsockname()[1]
        self.conns: list = []
        self.serve = serve
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.conns.append(conn)
            self.serve(conn)

    def close(self):
        self.sock.close()
        for c in self.conns:
            c.close()
        self.thread.join(5)


def _dask_like(conn):
    # a Dask-style comm greets with a frame count and lengths (little-endian u64s) and msgpack
    conn.sendall(struct.pack("<Q", 1) + struct.pack("<Q", 40) + b"\x82\xa2op\xa9handshake" + b"\0" * 26)


def _ssh_like(conn):
    conn.sendall(b"SSH-2.0-OpenSSH_9.6\r\n")


def _silent(conn):
    pass  # an HTTP server waits for a request that never comes


@pytest.mark.parametrize("serve, words", [
    (_dask_like, "does not speak shoal's protocol"),
    (_ssh_like, "does not speak shoal's protocol"),
    (_silent, "sent no shoal greeting"),
])
def test_foreign_server_is_named_within_the_timeout(serve, words):
    srv = _Server(serve)
    try:
        t = time.monotonic()
        with pytest.raises(NotShoalPeer, match=words) as info:
            Client(f"tcp://127.0.0.1:{srv.port}", security=TOKEN, timeout=3, set_as_default=False)
        assert time.monotonic() - t < 4.5
        assert "not a shoal" in str(info.value) or "does not speak shoal" in str(info.value)
        assert "exceeds the limit" not in str(info.value)
    finally:
        srv.close()


def test_real_http_server_is_not_a_scheduler():
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), http.server.SimpleHTTPRequestHandler)
    th = threading.Thread(target=httpd.serve_forever, daemon=True)
    th.start()
    try:
        t = time.monotonic()
        with pytest.raises(NotShoalPeer, match="not a shoal scheduler"):
            Client(f"tcp://127.0.0.1:{httpd.server_address[1]}", security=TOKEN, timeout=2,
                   set_as_default=False)
        assert time.monotonic() - t < 3.5
    finally:
        httpd.shutdown()
        httpd.server_close()
        th.join(5)
